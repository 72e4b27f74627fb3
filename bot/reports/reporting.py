"""/stats, /report and /export: the figures unions report, as text, charts and spreadsheets.

- ``/stats``: a glance, at once: open and overdue cases now, and this week's figures.
- ``/report``: choose a period with a button (this or last week, month, year) or type two dates
  (``/report 2026-01-01 2026-03-31``); the full figures come as text, with a button for the charts
  (pictures, as extra messages: the text stays for people who prefer it).
- ``/export``: cases or the member roster as XLSX or CSV, for the union or for a third party
  (bot/exports.py), chosen with buttons or typed (``/export cases 2026-01-01 2026-03-31``).

Officers see the cases where they are primary or backup, admins every case. Every command and every
press checks the sender again (bot/access.py). Button data carries the whole choice, so a press works
after a restart: ``rp:p:<period>`` shows a report, ``rp:c:<period>`` its charts;
``ex:<c|m>[:<period>[:<x|c>:<u|t>]]`` walks through an export. A period is a named one (``w0`` this
week … ``y1`` last year, bot/reports.py) or ``YYYYMMDD-YYYYMMDD``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine
from datetime import date, datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.cases import privacy
from bot.cases.access import case_scope, refuse, require_officer
from bot.cases.vocabulary import KIND_LABELS
from bot.core.context import BotContext, BotHandler
from bot.core.i18n import N_, Html, labelled, money, span
from bot.reports.exports import Audience, ExportFormat, ExportKind, build_export
from bot.reports.figures import (
    MAX_REPORT_DAYS,
    NAMED_PERIODS,
    BroadcastReach,
    Period,
    PeriodFigures,
    named_period,
    no_broadcast_reach,
    parse_date,
    period_figures,
    period_from_token,
    period_series,
)
from bot.reports.text import report_text
from bot.runtime.delivery import FailureKind, failure_of
from bot.runtime.status import read_status
from flows import forms
from storage.models import OPEN_STATUSES, CaseKind, CaseQuery, Officer, OfficerRole, Priority

logger = logging.getLogger(__name__)

REPORT = "rp:"
EXPORT = "ex:"
QUERY_LIMIT = 100_000  # open cases read for /stats

_REPORT_DATA = re.compile(r"^rp:([pc]):([0-9a-z-]{2,17})$")
_EXPORT_DATA = re.compile(r"^ex:([cmta])(?::([0-9a-z-]{2,17}))?(?::([xc]):([ut]))?$")

PERIOD_LABELS: dict[str, str] = {
    "w0": N_("This week"),
    "w1": N_("Last week"),
    "m0": N_("This month"),
    "m1": N_("Last month"),
    "y0": N_("This year"),
    "y1": N_("Last year"),
}
_WHAT = {
    "c": ExportKind.CASES,
    "m": ExportKind.MEMBERS,
    "t": ExportKind.TRAININGS,
    "a": ExportKind.ATTENDANCE,
}
# Trainings are the union's, not one officer's cases: only admins (who see everything) export them.
_ADMINS_ONLY = frozenset({"t", "a"})
_FORMAT = {"x": ExportFormat.XLSX, "c": ExportFormat.CSV}
_AUDIENCE = {"u": Audience.UNION, "t": Audience.THIRD_PARTY}
_WHAT_WORDS = {"cases": "c", "members": "m", "roster": "m", "trainings": "t", "attendance": "a"}


def _today(context: BotContext) -> date:
    return context.clock.now().astimezone(context.config.union.zone).date()


def _period_buttons(context: BotContext, prefix: str) -> InlineKeyboardMarkup:
    """This/last week, month, year: two to a row."""
    buttons = [
        InlineKeyboardButton(context.t(PERIOD_LABELS[name]), callback_data=f"{prefix}{name}")
        for name in NAMED_PERIODS
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def _typed_period(context: BotContext, args: list[str], *, max_days: int | None) -> Period | str:
    """Two typed dates as a period, or the message that says what is wrong with them."""
    if len(args) != 2:
        return context.t("Please type two dates, for example 2026-01-01 2026-03-31.")
    first, last = parse_date(args[0]), parse_date(args[1])
    if first is None or last is None:
        return context.t("Please type two dates, for example 2026-01-01 2026-03-31.")
    if first > last:
        return context.t("The first date must not be after the second.")
    period = Period(first=first, last=last)
    if max_days is not None and period.days > max_days:
        return context.t(
            "A report covers at most {days} days. For a longer time, export the cases with /export.",
            days=max_days,
        )
    return period


def broadcast_reach_for(context: BotContext, officer: Officer) -> BroadcastReach:
    """How /report counts broadcast reach: workers a broadcast reached in the period. Broadcasts go to
    everyone, not to one officer's cases, so only admins' reports count them."""
    if officer.role != OfficerRole.ADMIN:
        return no_broadcast_reach
    return context.storage.broadcast_reach


async def _figures(context: BotContext, officer: Officer, period: Period) -> PeriodFigures:
    zone = context.config.union.zone
    return await period_figures(
        context.storage,
        context.config.sla,
        period.start(zone),
        period.end(zone),
        now=context.clock.now(),
        officer_id=case_scope(officer),
        zone=zone,
        broadcast_reach=broadcast_reach_for(context, officer),
    )


# -- /stats -------------------------------------------------------------------------------------------


async def stats(update: Update, context: BotContext) -> None:
    """/stats: open and overdue cases now, and this week's figures (the officer's, or everyone's)."""
    officer = await require_officer(update, context, action="stats")
    if officer is None:
        return
    now, scope, t = context.clock.now(), case_scope(officer), context.t
    open_cases = await context.storage.find_cases(
        CaseQuery(officer_id=scope, statuses=OPEN_STATUSES, limit=QUERY_LIMIT)
    )
    overdue = await context.storage.find_cases(
        CaseQuery(officer_id=scope, statuses=OPEN_STATUSES, overdue_at=now, limit=QUERY_LIMIT)
    )
    week = named_period("w0", _today(context))
    figures = await _figures(context, officer, week)
    lines = [
        "<b>" + (t("All cases:") if scope is None else t("Your cases:")) + "</b>",
        t("Open: {count}", count=len(open_cases)),
        *(
            "  · "
            + labelled(
                context.language,
                t(KIND_LABELS[kind]),
                str(sum(1 for case in open_cases if case.kind == kind)),
            )
            for kind in CaseKind
        ),
        t("Collective: {count}", count=sum(1 for case in open_cases if case.priority == Priority.HIGH)),
        t("Overdue: {count}", count=len(overdue)),
        "",
        "<b>"
        + t("This week, {start} to {end}:", start=week.first.isoformat(), end=week.last.isoformat())
        + "</b>",
        t("New cases: {count}", count=figures.new_total),
        t("Resolved: {count}", count=figures.resolved),
        t.plural(
            "Wages recovered: {amount} for {count} worker",
            "Wages recovered: {amount} for {count} workers",
            figures.workers_helped,
            amount=money(context.language, figures.wages_recovered),
        ),
        t("New members: {count}", count=figures.new_members),
        "",
    ]
    if officer.role == OfficerRole.ADMIN:
        lines += [*await _delivery_lines(context, now), ""]
    lines.append(t("Other periods and charts: /report. Spreadsheets: /export."))
    await forms.say(update, context, Html("\n".join(lines)))


async def _delivery_lines(context: BotContext, now: datetime) -> list[str]:
    """For admins: what has not reached its reader yet (the same figures as `union-bot status`)."""
    t, language = context.t, context.language
    status = await read_status(context.storage, context.config, now)
    backlog = status.backlog
    if backlog.oldest_queued_at is None:
        waiting = t("Waiting to be delivered: none")
    else:
        waiting = t(
            "Waiting to be delivered: {count}, the oldest for {duration}",
            count=backlog.waiting,
            duration=span(language, now - backlog.oldest_queued_at),
        )
    lines = ["<b>" + t("Messages to officers and workers:") + "</b>", waiting]
    if backlog.stuck:
        lines.append(
            "⚠️ "
            + t(
                "Stuck, waiting longer than {duration}: {count}",
                duration=span(language, status.stuck_after),
                count=backlog.stuck,
            )
        )
    lines.append(t("Given up in the last 7 days: {count}", count=backlog.given_up))
    return lines


# -- /report ------------------------------------------------------------------------------------------


async def report(update: Update, context: BotContext) -> None:
    """/report: period buttons; /report DATE DATE: that period's report at once."""
    officer = await require_officer(update, context, action="report")
    if officer is None:
        return
    args = list(context.args or [])
    if not args:
        await forms.say(
            update,
            context,
            context.t("Which period? Or type two dates, for example /report 2026-01-01 2026-03-31."),
            _period_buttons(context, f"{REPORT}p:"),
        )
        return
    period = _typed_period(context, args, max_days=MAX_REPORT_DAYS)
    if isinstance(period, str):
        await forms.say(update, context, period)
        return
    text, markup = await _report_message(context, officer, period)
    await forms.say(update, context, text, markup)


async def _report_message(
    context: BotContext, officer: Officer, period: Period
) -> tuple[Html, InlineKeyboardMarkup]:
    figures = await _figures(context, officer, period)
    text = report_text(figures, period, context.language, everyone=case_scope(officer) is None)
    charts = InlineKeyboardButton(context.t("📈 Charts"), callback_data=f"{REPORT}c:{period.token}")
    return Html(text), InlineKeyboardMarkup([[charts]])


async def on_report_button(update: Update, context: BotContext) -> None:
    """rp:p:<period> shows that report in place of the period buttons; rp:c:<period> sends its charts."""
    query = update.callback_query
    assert query and query.data
    officer = await require_officer(update, context, action="report")
    if officer is None:
        return
    match = _REPORT_DATA.match(query.data)
    period = period_from_token(match.group(2), _today(context)) if match else None
    if match is None or period is None or period.days > MAX_REPORT_DAYS:
        logger.warning("Refused a report button with unknown data")
        await refuse(update, context, context.t("This button is no longer active."))
        return
    await query.answer()
    if match.group(1) == "p":
        text, markup = await _report_message(context, officer, period)
        await query.edit_message_text(text, reply_markup=markup)
        return
    await query.edit_message_reply_markup(reply_markup=None)  # the charts come once per press
    assert update.effective_chat
    chat_id = update.effective_chat.id
    _in_background(context, chat_id, _send_charts(context, officer, period, chat_id), name="report:charts")


CHARTS_NOT_SENT = N_(
    "Sorry, the charts could not be sent just now: Telegram did not take them. "
    "Send /report and press 📈 Charts again in a few minutes."
)
EXPORT_NOT_SENT = N_(
    "Sorry, the file could not be sent just now: Telegram did not take it. "
    "It is not recorded as exported. Send /export again in a few minutes."
)


def _in_background(context: BotContext, chat_id: int, work: Coroutine[Any, Any, None], *, name: str) -> None:
    """Draw or write a file while the bot goes on with other updates; a failure gets an apology."""

    async def run() -> None:
        try:
            await work
        except Exception:
            logger.exception("Could not make or send %s", name)
            await _tell(
                context,
                chat_id,
                context.t("Sorry, that did not work on our side. Please try again in a minute."),
            )

    context.application.create_task(run(), name=name)


async def _upload(
    context: BotContext, chat_id: int, send: Coroutine[Any, Any, object], *, apology: str
) -> bool:
    """Send a made file; if Telegram does not take it, say so (and what it means) and return False."""
    try:
        await send
    except TelegramError as error:
        failure = failure_of(error)
        logger.warning("A report or file was not sent (%s)", failure)
        if failure.kind != FailureKind.BLOCKED:  # someone who blocked the bot can be told nothing
            await _tell(context, chat_id, context.t(apology))
        return False
    return True


async def _tell(context: BotContext, chat_id: int, text: str) -> None:
    try:
        await context.bot.send_message(chat_id, text)
    except TelegramError as error:  # the failure is logged already; this is the same trouble again
        logger.info("Could not tell the officer either (%s)", failure_of(error))


async def _send_charts(context: BotContext, officer: Officer, period: Period, chat_id: int) -> None:
    """Draw the three charts in a worker thread (other updates go on meanwhile) and send them."""
    from bot.reports import charts  # matplotlib loads only when someone asks for a chart

    await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_PHOTO)
    zone = context.config.union.zone
    series = await period_series(
        context.storage,
        context.config.sla,
        period,
        now=context.clock.now(),
        zone=zone,
        officer_id=case_scope(officer),
    )
    pictures = await asyncio.to_thread(charts.all_charts, series, context.language)
    caption = context.t(
        "📊 Report, {start} to {end}", start=period.first.isoformat(), end=period.last.isoformat()
    )
    for picture in pictures:
        if not await _upload(
            context,
            chat_id,
            context.bot.send_photo(chat_id, photo=picture, caption=caption),
            apology=CHARTS_NOT_SENT,
        ):
            return


# -- /export ------------------------------------------------------------------------------------------


async def export(update: Update, context: BotContext) -> None:
    """/export [cases|members] [DATE DATE]: what is missing is asked with buttons."""
    officer = await require_officer(update, context, action="export")
    if officer is None:
        return
    args = list(context.args or [])
    if not args:
        await forms.say(update, context, *_choose_what(context, officer))
        return
    what = _WHAT_WORDS.get(args[0].lower())
    if what is None or (what in _ADMINS_ONLY and case_scope(officer) is not None):
        await forms.say(update, context, _export_usage(context, officer))
        return
    if len(args) == 1:
        await forms.say(update, context, *_choose_period(context, what))
        return
    period = _typed_period(context, args[1:], max_days=None)
    if isinstance(period, str):
        await forms.say(update, context, period)
        return
    await forms.say(update, context, *_choose_format(context, what, period))


def _export_usage(context: BotContext, officer: Officer) -> str:
    if case_scope(officer) is None:
        return context.t(
            "Use /export, or /export cases, members, trainings or attendance, with two dates if you like."
        )
    return context.t("Use /export, /export cases or /export members, with two dates if you like.")


def _choose_what(context: BotContext, officer: Officer) -> tuple[str, InlineKeyboardMarkup]:
    rows = [
        [
            InlineKeyboardButton(context.t("📋 Cases"), callback_data=f"{EXPORT}c"),
            InlineKeyboardButton(context.t("👥 Member roster"), callback_data=f"{EXPORT}m"),
        ]
    ]
    if case_scope(officer) is None:
        rows.append(
            [
                InlineKeyboardButton(context.t("🎓 Trainings"), callback_data=f"{EXPORT}t"),
                InlineKeyboardButton(context.t("✅ Training attendance"), callback_data=f"{EXPORT}a"),
            ]
        )
    return context.t("What should I export?"), InlineKeyboardMarkup(rows)


_PERIOD_QUESTIONS = {
    "c": N_("Cases received in which period? Or type /export cases 2026-01-01 2026-03-31."),
    "m": N_("Members who joined in which period? Or type /export members 2026-01-01 2026-03-31."),
    "t": N_("Trainings held in which period? Or type /export trainings 2026-01-01 2026-12-31."),
    "a": N_("Who came to the trainings of which period? Or type /export attendance 2026-01-01 2026-12-31."),
}


def _choose_period(context: BotContext, what: str) -> tuple[str, InlineKeyboardMarkup]:
    return context.t(_PERIOD_QUESTIONS[what]), _period_buttons(context, f"{EXPORT}{what}:")


_FORMAT_QUESTIONS = {
    "m": N_("Members who joined {start} to {end}. Which format?"),
    "t": N_("Trainings held {start} to {end}. Which format?"),
    "a": N_("Who came to the trainings of {start} to {end}. Which format?"),
}


def _choose_format(context: BotContext, what: str, period: Period) -> tuple[str, InlineKeyboardMarkup]:
    t = context.t
    prefix = f"{EXPORT}{what}:{period.token}:"
    dates = {"start": period.first.isoformat(), "end": period.last.isoformat()}
    if what != "c":
        text = t(_FORMAT_QUESTIONS[what], **dates)
        rows = [
            [
                InlineKeyboardButton(t("Excel (.xlsx)"), callback_data=f"{prefix}x:u"),
                InlineKeyboardButton(t("CSV"), callback_data=f"{prefix}c:u"),
            ]
        ]
    else:
        text = "\n\n".join(
            [
                t("Cases received {start} to {end}. Which format, and who is it for?", **dates),
                t(
                    "For the union: everything, with workers' names and phones. "
                    "For a third party (an employer, labour inspection, a court): workers who asked "
                    "that the employer must not learn who reported are not named, and no officer is; "
                    "membership applications are left out. The details of a case stay, so a worker who "
                    "reported alone may still be recognised."
                ),
            ]
        )
        rows = [
            [
                InlineKeyboardButton(t("Excel, for the union"), callback_data=f"{prefix}x:u"),
                InlineKeyboardButton(t("Excel, for a third party"), callback_data=f"{prefix}x:t"),
            ],
            [
                InlineKeyboardButton(t("CSV, for the union"), callback_data=f"{prefix}c:u"),
                InlineKeyboardButton(t("CSV, for a third party"), callback_data=f"{prefix}c:t"),
            ],
        ]
    return text, InlineKeyboardMarkup(rows)


async def on_export_button(update: Update, context: BotContext) -> None:
    """ex:<what>[:<period>[:<format>:<audience>]]: the next question, or the file."""
    query = update.callback_query
    assert query and query.data
    officer = await require_officer(update, context, action="export")
    if officer is None:
        return
    match = _EXPORT_DATA.match(query.data)
    period = period_from_token(match.group(2), _today(context)) if match and match.group(2) else None
    if match is None or (match.group(2) and period is None):
        logger.warning("Refused an export button with unknown data")
        await refuse(update, context, context.t("This button is no longer active."))
        return
    what, fmt, audience = match.group(1), match.group(3), match.group(4)
    if what in _ADMINS_ONLY and case_scope(officer) is not None:
        await refuse(update, context, context.t("Only admins can export the trainings."))
        return
    if period is None:
        text, markup = _choose_period(context, what)
        await query.answer()
        await query.edit_message_text(text, reply_markup=markup)
        return
    if fmt is None:
        text, markup = _choose_format(context, what, period)
        await query.answer()
        await query.edit_message_text(text, reply_markup=markup)
        return
    if what != "c" and audience != "u":
        logger.warning("Refused a third-party export of a union-only list")
        await refuse(update, context, context.t("This button is no longer active."))
        return
    await query.answer(context.t("Preparing the file…"))
    await query.edit_message_reply_markup(reply_markup=None)
    assert update.effective_chat
    chat_id = update.effective_chat.id
    _in_background(
        context,
        chat_id,
        _send_export(context, officer, chat_id, _WHAT[what], period, _FORMAT[fmt], _AUDIENCE[audience]),
        name="export:file",
    )


async def _send_export(
    context: BotContext,
    officer: Officer,
    chat_id: int,
    what: ExportKind,
    period: Period,
    fmt: ExportFormat,
    audience: Audience,
) -> None:
    await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
    exported = await build_export(
        context.storage,
        what=what,
        period=period,
        format=fmt,
        language=context.language,
        zone=context.config.union.zone,
        audience=audience,
        officer_id=case_scope(officer),
    )
    sent = await _upload(
        context,
        chat_id,
        context.bot.send_document(
            chat_id,
            document=exported.content,
            filename=exported.file_name,
            caption=_export_caption(context, officer, what, period, audience, exported.rows),
        ),
        apology=EXPORT_NOT_SENT,
    )
    if not sent:
        return
    # Recorded once the file is in the officer's hands, never for one that did not leave.
    await privacy.record_exports(
        context.storage,
        exported.case_ids,
        actor_id=officer.telegram_id,
        actor_role=officer.role.value,
        third_party=audience == Audience.THIRD_PARTY,
    )
    logger.info("An officer exported %s (%s, %s): %d rows", what, fmt, audience, exported.rows)


def _export_caption(
    context: BotContext, officer: Officer, what: ExportKind, period: Period, audience: Audience, rows: int
) -> str:
    t = context.t
    dates = {"start": period.first.isoformat(), "end": period.last.isoformat(), "count": rows}
    if what == ExportKind.MEMBERS:
        lines = [
            t("👥 Members who joined {start} to {end}: {count}.", **dates),
            t("For the union's own use: it holds members' names and phones."),
        ]
    elif what == ExportKind.TRAININGS:
        lines = [t("🎓 Trainings held {start} to {end}: {count}.", **dates)]
    elif what == ExportKind.ATTENDANCE:
        lines = [
            t("✅ Seats taken at the trainings of {start} to {end}: {count}.", **dates),
            t("For the union's own use: it holds workers' names and phones."),
        ]
    else:
        lines = [t("📋 Cases received {start} to {end}: {count}.", **dates)]
        if audience == Audience.THIRD_PARTY:
            lines.append(
                t(
                    "For a third party: workers who asked not to be named have no name, phone or Telegram "
                    "name in it. The employer, site, amount and dates are still there, and they can point "
                    "to a worker who reported alone: check each row before it leaves the union."
                )
            )
        else:
            lines.append(t("For the union's own use: it holds workers' names and phones."))
    if case_scope(officer) is not None:
        lines.append(t("Only your cases (where you are primary or backup)."))
    return "\n".join(lines)


def handlers() -> list[BotHandler]:
    return [
        CommandHandler("stats", stats),
        CommandHandler("report", report),
        CommandHandler("export", export),
        CallbackQueryHandler(on_report_button, pattern=f"^{REPORT}"),
        CallbackQueryHandler(on_export_button, pattern=f"^{EXPORT}"),
    ]
