"""One file per worker (一人一档) for officers: ``/worker W-000123`` or the case card's button.

Everything the union knows about one worker, in one message: who they are, membership, every case with
its outcome, assistance granted, trainings attended, the hardship plan (帮扶措施) with its review date,
and officers' notes. The plan and notes are set from the file's buttons; whoever sets the plan or its
review date becomes responsible for the review, which their morning digest brings on that day
(bot/sweeps/digests.py).

Access is the rule for cases (bot/cases/access.py): an officer sees the workers of the cases they are
primary or backup on, admins everyone. A file is reached through one of the worker's cases (the
reference typed, or the case id in a button), and every command, press and typed answer checks again.
Every view goes into the audit (storage ``record_worker_file_view``). A forgotten or anonymised worker
has no file: their cases no longer point at them.

The handlers sit in the group before the conversations (flows.PRIVACY_GROUP), so that a plan or note
being typed gives way to any other button the officer presses: the press ends it and goes on to
its own handler (casework, reports, broadcasts) in the conversations' group.
"""

from __future__ import annotations

import calendar
import html
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from telegram import Update
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.cases.access import may_handle, refuse, require_officer
from bot.cases.vocabulary import KIND_LABELS, OUTCOME_LABELS, TRADE_LABELS, Trade
from bot.core.context import BotContext, BotHandler
from bot.core.dates import MONTH_DAY, folded, parse_date
from bot.core.i18n import LANGUAGE_NAMES, OFFICERS, Html, labelled, money, translate_in
from bot.officers import casework
from bot.officers.lists import normalise_reference
from flows import PRIVACY_GROUP, forms
from storage.models import (
    ANONYMOUS_WORKER_ID,
    Case,
    CaseKind,
    Officer,
    Outcome,
    Worker,
    WorkerPlan,
    WorkerTraining,
)

logger = logging.getLogger(__name__)

GROUP = PRIVACY_GROUP  # see the module docstring

PLAN, REVIEW_DATE, NOTE = range(600, 603)

OPEN = casework.WORKER_FILE  # "wf:<case id>": the file of that case's worker
START = "wf:"  # "wf:plan:<case id>", "wf:date:<case id>", "wf:note:<case id>": type a plan, date or note
IN_MONTHS = "wf:in:"  # "wf:in:<case id>:<months>": review in 1, 3 or 6 months

PENDING = "workerfile"  # user_data: what the officer is typing, for which case

PLAN_LIMIT = 1500  # a few concrete measures, not a report
NOTE_LIMIT = 1000
NOTE_SHOWN_LIMIT = 400  # one note as the file shows it
REASON_SHOWN_LIMIT = 100  # why an application was not eligible, on its case line
CASES_SHOWN = 40
NOTES_SHOWN = 10
QUICK_MONTHS = (1, 3, 6)
LATEST_REVIEW_YEARS = 3  # a later review date is a typing mistake
# Telegram counts a message's length in UTF-16 code units, after the HTML is parsed: kept under 4096.
PAGE_LIMIT = 3800

_OPEN_DATA = re.compile(r"^wf:([0-9]{1,18})$")
_START_DATA = re.compile(r"^wf:(plan|date|note):([0-9]{1,18})$")
_MONTHS_DATA = re.compile(r"^wf:in:([0-9]{1,18}):([0-9]{1,2})$")
_MONTH_DAY = re.compile(rf"^{MONTH_DAY}\s*日?$")
_TAG = re.compile(r"<[^>]+>")

# How a file was opened, for the audit.
VIA_COMMAND = "command"
VIA_BUTTON = "button"

_STARTED = {"plan": PLAN, "date": REVIEW_DATE, "note": NOTE}


# -- access ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """A worker's file as one officer may see it, reached through ``case``."""

    officer: Officer
    case: Case
    worker: Worker
    cases: list[Case]  # every case of the worker, newest first


def may_see_worker(officer: Officer, cases: Sequence[Case]) -> bool:
    """The rule for cases, per worker: admins see everyone, an officer the workers of their cases."""
    return any(may_handle(officer, case) for case in cases)


async def _open(update: Update, context: BotContext, case: Case | None, action: str) -> Opened | None:
    """The file reached through ``case``, after every check; None after telling the officer why not."""
    officer = await require_officer(update, context, action=action)
    if officer is None:
        return None
    if case is None:
        await refuse(update, context, context.t("There is no such case."))
        return None
    worker = await context.storage.get_worker(case.worker_id)
    if case.worker_id == ANONYMOUS_WORKER_ID or worker is None:
        await refuse(
            update,
            context,
            context.t(
                "{reference} has no worker file: the worker's details were deleted "
                "(they asked for it, or the retention time is over).",
                reference=case.reference,
            ),
        )
        return None
    cases = await context.storage.list_cases_for_worker(worker.telegram_id)
    if not may_see_worker(officer, cases):
        logger.warning("Refused a worker file: not on any of the worker's cases")
        await refuse(update, context, context.t("This worker is not on any of your cases."))
        return None
    return Opened(officer, case, worker, cases)


async def _opened_by_id(update: Update, context: BotContext, case_id: int, action: str) -> Opened | None:
    return await _open(update, context, await context.storage.get_case(case_id), action)


# -- showing the file ------------------------------------------------------------------------------


async def show_by_reference(update: Update, context: BotContext) -> int:
    """/worker W-000123 (any of the worker's case numbers, any case)."""
    officer = await require_officer(update, context, action="worker")
    if officer is None:
        return ConversationHandler.END
    args = list(context.args or [])
    reference = normalise_reference(args[0]) if len(args) == 1 else None
    if reference is None:
        await forms.say(
            update,
            context,
            context.t(
                "Send one of the worker's case numbers (any kind of case), for example /worker W-000123."
            ),
        )
        return ConversationHandler.END
    case = await context.storage.get_case_by_reference(reference)
    if case is None:
        await forms.say(
            update,
            context,
            context.t(
                "There is no case {reference}. Check the number and send it again.", reference=reference
            ),
        )
        return ConversationHandler.END
    opened = await _open(update, context, case, "worker")
    if opened is not None:
        await send_file(update, context, opened, via=VIA_COMMAND)
    return ConversationHandler.END


async def send_file(update: Update, context: BotContext, opened: Opened, *, via: str) -> None:
    """Record the view, then send the file (in more than one message if it is long), buttons last."""
    await context.storage.record_worker_file_view(
        opened.worker.telegram_id,
        viewer_id=opened.officer.telegram_id,
        viewer_role=opened.officer.role.value,
        via=via,
        case_id=opened.case.id,
    )
    pages = paginate(await file_blocks(context, opened))
    for page in pages[:-1]:
        await forms.say(update, context, Html(page))
    await forms.say(update, context, Html(pages[-1]), _file_buttons(context, opened.case))


def _file_buttons(context: BotContext, case: Case) -> Any:
    t = context.t
    return forms.buttons(
        [
            [
                (t("✏️ Hardship plan"), f"{START}plan:{case.id}"),
                (t("📅 Review date"), f"{START}date:{case.id}"),
            ],
            [(t("🗒 Add a note"), f"{START}note:{case.id}")],
        ]
    )


async def file_blocks(context: BotContext, opened: Opened) -> list[str]:
    """The file as blocks of HTML (see paginate): each line is complete in itself."""
    storage = context.storage
    worker = opened.worker
    officers = {officer.telegram_id: officer for officer in await storage.list_officers()}
    plan = await storage.get_worker_plan(worker.telegram_id)
    notes = await storage.list_worker_notes(worker.telegram_id, limit=NOTES_SHOWN + 1)
    trainings = await storage.list_worker_trainings(worker.telegram_id)
    t = context.t
    name = _worker_name(worker)
    blocks = [
        _bold(t("📁 Worker file: {name}", name=name or "—"))
        + "\n"
        + t("Only for union officers: do not show it outside the union."),
    ]
    blocks.append(_section(t("Who"), _who(context, worker)))
    blocks.append(_section(t("Membership"), [_membership(context, worker, opened.cases)]))
    blocks.append(_cases(context, opened.cases))
    blocks.append(_section(t("Assistance received"), _assistance(context, opened.cases)))
    blocks.append(_section(t("Trainings attended"), _trainings(context, trainings)))
    blocks.append(_section(t("Hardship plan"), _plan(context, plan, officers)))
    blocks.append(_section(t("Officers' notes"), _notes(context, notes, officers)))
    return blocks


def _who(context: BotContext, worker: Worker) -> list[str]:
    profile = worker.profile
    language = context.language

    def label(msgid: str) -> str:
        return translate_in(OFFICERS, language, msgid)

    rows: list[tuple[str, str]] = [
        (label("Name"), _text(profile.get("name"))),
        (label("Name in Telegram"), _text(profile.get("telegram_name"))),
        (label("Phone"), _text(profile.get("phone"))),
        (label("Hometown"), _text(profile.get("hometown"))),
        (label("Working in"), _text(profile.get("workplace"))),
        (label("Workplace"), _text(profile.get("employer"))),
        (label("Work"), _trade(language, profile.get("trade"))),
    ]
    lines: list[str] = [labelled(language, name, value) for name, value in rows if value]
    if not lines:
        lines.append(context.t("No personal details are kept."))
    if worker.language:
        lines.append(labelled(language, label("Language"), LANGUAGE_NAMES.get(worker.language, "—")))
    return lines


def _membership(context: BotContext, worker: Worker, cases: Sequence[Case]) -> str:
    t = context.t
    number = worker.profile.get("member_number")
    if number:
        return t("Member number: {number}", number=str(number))
    applications = [case for case in cases if case.kind == CaseKind.MEMBERSHIP]
    if not applications:
        return t("Not a member, no application.")
    latest = applications[0]  # newest first
    if latest.is_open:
        return t(
            "Applied: {reference}, {status}.",
            reference=latest.reference,
            status=casework.status_name(context, latest.status),
        )
    if latest.outcome == Outcome.MEMBERSHIP_REJECTED:
        return t("Not a member: {reference} was rejected.", reference=latest.reference)
    return t(
        "Not a member: {reference} is {status}.",
        reference=latest.reference,
        status=casework.status_name(context, latest.status),
    )


def _cases(context: BotContext, cases: Sequence[Case]) -> str:
    t = context.t
    shown = cases[:CASES_SHOWN]
    lines = [_bold(t.plural("{count} case", "{count} cases", len(cases)))]
    lines += [_case_line(context, case) for case in shown]
    if len(cases) > len(shown):
        lines.append(t("(Older cases are not shown: /find finds them.)"))
    return "\n".join(lines)


def _case_line(context: BotContext, case: Case) -> str:
    t = context.t
    parts = [
        f"<b>{html.escape(case.reference)}</b>",
        t(KIND_LABELS[case.kind]),
        _day(context, case.created_at),
        casework.status_name(context, case.status),
    ]
    if case.outcome is not None:
        outcome = t(OUTCOME_LABELS[case.outcome])
        amount = case.amount_granted if case.outcome == Outcome.GRANTED else case.amount_recovered
        if amount is not None:
            outcome = labelled(context.language, outcome, money(context.language, amount))
        elif case.outcome == Outcome.NOT_ELIGIBLE and case.decision_reason:
            outcome = labelled(context.language, outcome, _text(case.decision_reason, REASON_SHOWN_LIMIT))
        parts.append(outcome)
    return " · ".join(parts)


def granted(cases: Sequence[Case]) -> list[Case]:
    """Assistance cases granted with an amount, oldest first."""
    found = [
        case
        for case in cases
        if case.kind == CaseKind.ASSISTANCE and case.outcome == Outcome.GRANTED and case.amount_granted
    ]
    return sorted(found, key=lambda case: case.id)


def _assistance(context: BotContext, cases: Sequence[Case]) -> list[str]:
    t = context.t
    grants = granted(cases)
    if not grants:
        return [translate_in(OFFICERS, context.language, "none")]
    lines = [
        " · ".join(
            [
                f"<b>{html.escape(case.reference)}</b>",
                _day(context, case.resolved_at or case.created_at),
                money(context.language, case.amount_granted or Decimal(0)),
            ]
        )
        for case in grants
    ]
    total = sum((case.amount_granted or Decimal(0) for case in grants), Decimal(0))
    lines.append(
        t.plural(
            "In all: {count} grant, {amount}",
            "In all: {count} grants, {amount}",
            len(grants),
            amount=money(context.language, total),
        )
    )
    return lines


def _trainings(context: BotContext, trainings: Sequence[WorkerTraining]) -> list[str]:
    attended = [item for item in trainings if item.signup.attended is True]
    if not attended:
        return [translate_in(OFFICERS, context.language, "none")]
    return [
        _day(context, item.training.starts_at)
        + " · "
        + _text(training_title(item.training.titles, context.language))
        for item in attended
    ]


def training_title(titles: dict[str, str], language: str) -> str:
    """The title in the reader's language, else zh-Hans, else any."""
    return titles.get(language) or titles.get("zh-Hans") or next(iter(titles.values()), "")


def _plan(context: BotContext, plan: WorkerPlan | None, officers: dict[int, Officer]) -> list[str]:
    t = context.t
    language = context.language
    if plan is None:
        return [t("No plan yet.")]
    lines = [html.escape(plan.plan, quote=False) if plan.plan else t("No plan yet.")]
    if plan.review_on is None:
        review = t("not set")
    elif plan.review_on <= _today(context):
        review = t("{date} ⚠️ due", date=plan.review_on.isoformat())
    else:
        review = plan.review_on.isoformat()
    lines.append(labelled(language, t("Review on"), review))
    lines.append(labelled(language, t("Responsible"), _officer_name(context, officers, plan.responsible_id)))
    lines.append(
        t(
            "Last changed by {name} on {date}.",
            name=Html(_officer_name(context, officers, plan.updated_by)),
            date=casework.when(context, plan.updated_at),
        )
    )
    return lines


def _notes(context: BotContext, notes: Sequence[Any], officers: dict[int, Officer]) -> list[str]:
    if not notes:
        return [translate_in(OFFICERS, context.language, "none")]
    shown = notes[:NOTES_SHOWN]
    lines = [
        f"{casework.when(context, note.created_at)} "
        + labelled(
            context.language,
            _officer_name(context, officers, note.author_id),
            _text(note.text, NOTE_SHOWN_LIMIT),
        )
        for note in shown
    ]
    if len(notes) > len(shown):
        lines.append(context.t("(Earlier notes are not shown.)"))
    return lines


# -- pages -----------------------------------------------------------------------------------------


def visible_length(text: str) -> int:
    """What Telegram counts: UTF-16 code units of the text once its HTML is parsed."""
    return len(html.unescape(_TAG.sub("", text)).encode("utf-16-le")) // 2


def paginate(blocks: Sequence[str], limit: int = PAGE_LIMIT) -> list[str]:
    """Blocks joined by blank lines into as few messages as fit under ``limit``. A page break falls
    between blocks, or between the lines of a block too long for one message: no tag spans two lines."""
    pages: list[str] = []
    current = ""

    def add(text: str, separator: str) -> None:
        nonlocal current
        candidate = f"{current}{separator}{text}" if current else text
        if current and visible_length(candidate) > limit:
            pages.append(current)
            candidate = text
        current = candidate

    for block in blocks:
        if visible_length(block) <= limit:
            add(block, "\n\n")
        else:
            for index, line in enumerate(block.split("\n")):
                add(line, "\n\n" if index == 0 else "\n")
    pages.append(current)
    return pages


# -- buttons ---------------------------------------------------------------------------------------


async def on_button(update: Update, context: BotContext) -> int | None:
    """wf:<case id> opens the file; wf:plan|date|note:<case id> asks for it; wf:in:<case id>:<months>."""
    query = update.callback_query
    assert query and query.data
    if match := _OPEN_DATA.match(query.data):
        opened = await _opened_by_id(update, context, int(match.group(1)), "worker-file")
        if opened is None:
            return ConversationHandler.END
        await query.answer()
        await send_file(update, context, opened, via=VIA_BUTTON)
        return ConversationHandler.END
    if match := _START_DATA.match(query.data):
        opened = await _opened_by_id(update, context, int(match.group(2)), "worker-file")
        if opened is None:
            return ConversationHandler.END
        await query.answer()
        return await _start(update, context, opened, match.group(1))
    match = _MONTHS_DATA.match(query.data)
    if match is None or int(match.group(2)) not in QUICK_MONTHS:
        logger.warning("Refused a worker-file button with unknown data")
        await refuse(update, context, context.t("This button is no longer active."))
        return None
    opened = await _opened_by_id(update, context, int(match.group(1)), "worker-file")
    if opened is None:
        return ConversationHandler.END
    await query.answer()
    await query.edit_message_reply_markup(reply_markup=None)
    return await _save_review_date(update, context, opened, add_months(_today(context), int(match.group(2))))


async def _start(update: Update, context: BotContext, opened: Opened, action: str) -> int:
    t = context.t
    name = _worker_name(opened.worker) or opened.case.reference
    # A reply or question started on a case card and left unsent must not go to the worker later,
    # when the officer types something else: the worker file's prompt replaces it.
    assert context.user_data is not None
    context.user_data.pop(casework.PENDING, None)
    _set_pending(context, action, opened.case.id)
    if action == "plan":
        plan = await context.storage.get_worker_plan(opened.worker.telegram_id)
        text = t(
            "Type the hardship plan for {name}: what the union will do, and by when. "
            "Up to {limit} characters. /cancel to stop.",
            name=name,
            limit=PLAN_LIMIT,
        )
        if plan is not None and plan.plan:
            text += "\n" + t("It replaces the plan in the file.")
        await forms.say(update, context, text)
    elif action == "date":
        await _ask_review_date(update, context, opened, name)
    else:
        await forms.say(
            update,
            context,
            t(
                "Type your note about {name}. Only officers see it. Up to {limit} characters. "
                "/cancel to stop.",
                name=name,
                limit=NOTE_LIMIT,
            ),
        )
    return _STARTED[action]


async def _ask_review_date(update: Update, context: BotContext, opened: Opened, name: str) -> None:
    t = context.t
    await forms.say(
        update,
        context,
        t(
            "When should the plan for {name} be looked at again? Type a date, for example 2026-12-31 "
            "or 12-31, or choose. /cancel to stop.",
            name=name,
        ),
        forms.buttons(
            [
                [
                    (
                        t.plural("In {count} month", "In {count} months", months),
                        f"{IN_MONTHS}{opened.case.id}:{months}",
                    )
                    for months in QUICK_MONTHS
                ]
            ]
        ),
    )


# -- typed answers ---------------------------------------------------------------------------------


def _pending(context: BotContext) -> dict[str, Any] | None:
    assert context.user_data is not None
    value = context.user_data.get(PENDING)
    return value if isinstance(value, dict) else None


def _set_pending(context: BotContext, action: str, case_id: int) -> None:
    assert context.user_data is not None
    context.user_data[PENDING] = {"action": action, "case_id": case_id}


def _clear_pending(context: BotContext) -> None:
    assert context.user_data is not None
    context.user_data.pop(PENDING, None)


async def _pending_file(update: Update, context: BotContext, action: str) -> Opened | None:
    """The file the typed answer is for, checked again: rights may have changed since the prompt."""
    pending = _pending(context)
    if pending is None or pending.get("action") != action:
        _clear_pending(context)
        await forms.say(
            update, context, context.t("This is no longer waiting for an answer. Start again from the file.")
        )
        return None
    opened = await _opened_by_id(update, context, int(pending["case_id"]), "worker-file")
    if opened is None:
        _clear_pending(context)
    return opened


async def _typed(update: Update, context: BotContext, limit: int) -> str | None:
    """The officer's text, stripped; None after asking again (empty or too long)."""
    message = update.effective_message
    text = ((message.text if message else None) or "").strip()
    if not text:
        await forms.say(update, context, context.t("Please type it as text."))
        return None
    if len(text) > limit:
        await forms.say(
            update,
            context,
            context.t("That is too long: please keep it under {limit} characters.", limit=limit),
        )
        return None
    return text


async def got_plan(update: Update, context: BotContext) -> int | None:
    text = await _typed(update, context, PLAN_LIMIT)
    if text is None:
        return None
    opened = await _pending_file(update, context, "plan")
    if opened is None:
        return ConversationHandler.END
    plan = await context.storage.set_worker_plan(
        opened.worker.telegram_id,
        updated_by=opened.officer.telegram_id,
        responsible_id=opened.officer.telegram_id,
        plan=text,
    )
    logger.info("Hardship plan set on a worker file")
    name = _worker_name(opened.worker) or opened.case.reference
    if plan.review_on is None:
        await forms.say(update, context, context.t("Plan saved for {name}.", name=name))
        _set_pending(context, "date", opened.case.id)
        await _ask_review_date(update, context, opened, name)
        return REVIEW_DATE
    _clear_pending(context)
    await forms.say(
        update,
        context,
        context.t(
            "Plan saved for {name}. It is to be reviewed on {date}; you are responsible for the review.",
            name=name,
            date=plan.review_on.isoformat(),
        ),
        _reopen_button(context, opened.case),
    )
    return ConversationHandler.END


async def got_review_date(update: Update, context: BotContext) -> int | None:
    message = update.effective_message
    text = ((message.text if message else None) or "").strip()
    today = _today(context)
    day = parse_review_date(text, today)
    if day is None:
        await forms.say(
            update,
            context,
            context.t("Please type a date like 2026-12-31 or 12-31, or choose one of the buttons."),
        )
        return None
    if day < today:
        await forms.say(update, context, context.t("That day has passed. Please give a day from today on."))
        return None
    if day.year > today.year + LATEST_REVIEW_YEARS:
        await forms.say(
            update,
            context,
            context.t.plural(
                "That is too far away. Please give a day within {count} year.",
                "That is too far away. Please give a day within {count} years.",
                LATEST_REVIEW_YEARS,
            ),
        )
        return None
    opened = await _pending_file(update, context, "date")
    if opened is None:
        return ConversationHandler.END
    return await _save_review_date(update, context, opened, day)


async def _save_review_date(update: Update, context: BotContext, opened: Opened, day: date) -> int:
    await context.storage.set_worker_plan(
        opened.worker.telegram_id,
        updated_by=opened.officer.telegram_id,
        responsible_id=opened.officer.telegram_id,
        review_on=day,
    )
    _clear_pending(context)
    logger.info("Review date set on a worker file")
    await forms.say(
        update,
        context,
        context.t(
            "The plan for {name} is to be reviewed on {date}. "
            "It comes up in your morning digest from that day.",
            name=_worker_name(opened.worker) or opened.case.reference,
            date=day.isoformat(),
        ),
        _reopen_button(context, opened.case),
    )
    return ConversationHandler.END


async def got_note(update: Update, context: BotContext) -> int | None:
    text = await _typed(update, context, NOTE_LIMIT)
    if text is None:
        return None
    opened = await _pending_file(update, context, "note")
    if opened is None:
        return ConversationHandler.END
    await context.storage.add_worker_note(
        opened.worker.telegram_id, author_id=opened.officer.telegram_id, text=text
    )
    _clear_pending(context)
    logger.info("Note added to a worker file")
    await forms.say(
        update,
        context,
        context.t(
            "Note saved in the file of {name}. Only officers see it.",
            name=_worker_name(opened.worker) or opened.case.reference,
        ),
        _reopen_button(context, opened.case),
    )
    return ConversationHandler.END


def _reopen_button(context: BotContext, case: Case) -> Any:
    return forms.buttons([[(context.t("📁 Worker file"), f"{OPEN}{case.id}")]])


async def hint_text(update: Update, context: BotContext) -> None:
    """A photo, sticker or file where words are expected."""
    await forms.say(update, context, context.t("Please type it as text."))


async def command_while_typing(update: Update, context: BotContext) -> None:
    await forms.say(
        update,
        context,
        context.t("You are writing in a worker file. Send it first, or /cancel to stop."),
    )


async def cancel(update: Update, context: BotContext) -> int:
    _clear_pending(context)
    await forms.say(update, context, context.t("Cancelled. Nothing was sent or changed."))
    return ConversationHandler.END


async def step_aside(update: Update, context: BotContext) -> int:
    """Another button pressed while a plan, date or note was awaited: that ends here, and the press goes
    on to its own handler (no ApplicationHandlerStop)."""
    _clear_pending(context)
    return ConversationHandler.END


# -- dates -----------------------------------------------------------------------------------------


def _today(context: BotContext) -> date:
    return context.clock.now().astimezone(context.config.union.zone).date()


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it is shorter (Jan 31 → Feb 28)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def parse_review_date(text: str, today: date) -> date | None:
    """2026-12-31, 2026/12/31, 2026年12月31日; 12-31 or 12月31日 is the next such day from ``today``.
    None if it is no date (the caller checks that it is not past)."""
    if full := parse_date(text):
        return full
    match = _MONTH_DAY.match(folded(text))
    if match is None:
        return None
    month, day = int(match.group(1)), int(match.group(2))
    try:
        candidate = date(today.year, month, day)
        return candidate if candidate >= today else date(today.year + 1, month, day)
    except ValueError:  # 13-01, 02-30
        return None


# -- small helpers ---------------------------------------------------------------------------------


def _worker_name(worker: Worker) -> str:
    return str(worker.profile.get("name") or worker.profile.get("telegram_name") or "")


def _officer_name(context: BotContext, officers: dict[int, Officer], officer_id: int | None) -> str:
    officer = officers.get(officer_id) if officer_id is not None else None
    return html.escape(officer.name, quote=False) if officer else context.t("nobody")


def _day(context: BotContext, moment: datetime) -> str:
    return moment.astimezone(context.config.union.zone).strftime("%Y-%m-%d")


def _text(value: object, limit: int = 300) -> str:
    """Typed text, cut to ``limit`` characters and escaped for HTML."""
    text = str(value or "")
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return html.escape(text, quote=False)


def _trade(language: str, value: object) -> str:
    try:
        return translate_in(OFFICERS, language, TRADE_LABELS[Trade(str(value))]) if value else ""
    except ValueError:
        return _text(value)


def _bold(text: str) -> str:
    return f"<b>{text}</b>"


def _section(title: str, lines: Sequence[str]) -> str:
    return "\n".join([_bold(title), *lines])


def _stop(callback: Any) -> Any:
    """Handle the update here and in no other group (see the module docstring)."""

    async def handler(update: Update, context: BotContext) -> None:
        raise ApplicationHandlerStop(await callback(update, context))

    handler.__doc__ = callback.__doc__
    return handler


def handlers() -> list[BotHandler]:
    """One conversation, registered in GROUP (bot/app.py)."""
    typed = filters.TEXT & ~filters.COMMAND
    return [
        ConversationHandler(
            entry_points=[
                CommandHandler("worker", _stop(show_by_reference)),
                CallbackQueryHandler(_stop(on_button), pattern=f"^{START}"),
            ],
            states={
                PLAN: [
                    MessageHandler(typed, _stop(got_plan)),
                    MessageHandler(~filters.COMMAND, _stop(hint_text)),
                ],
                REVIEW_DATE: [
                    MessageHandler(typed, _stop(got_review_date)),
                    MessageHandler(~filters.COMMAND, _stop(hint_text)),
                ],
                NOTE: [
                    MessageHandler(typed, _stop(got_note)),
                    MessageHandler(~filters.COMMAND, _stop(hint_text)),
                ],
            },
            fallbacks=[
                CommandHandler("cancel", _stop(cancel)),
                MessageHandler(filters.COMMAND, _stop(command_while_typing)),
                CallbackQueryHandler(step_aside),
            ],
            # Any worker-file button starts over from that button.
            allow_reentry=True,
            name="workerfile",
            persistent=True,
        )
    ]
