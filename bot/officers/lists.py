"""Officer and admin commands: /cases, /case, /find, /pending, /reassign, /officers (/stats, /report and
/export are in bot/reporting.py).

Each command checks, when it runs, that the sender is an active officer (or admin where it says so).
Officers see the cases where they are primary or backup; admins see every case.
"""

from __future__ import annotations

import html
import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CommandHandler

from bot.cases import privacy
from bot.cases.access import case_scope, require_case, require_officer
from bot.cases.vocabulary import KIND_LABELS
from bot.core.context import BotContext, BotHandler
from bot.core.i18n import Html, labelled, listing
from bot.officers import casework
from flows import forms
from storage.models import (
    ANONYMOUS_WORKER_ID,
    OPEN_STATUSES,
    Case,
    CaseKind,
    CaseQuery,
    Officer,
    OfficerIn,
    OfficerRole,
    Priority,
)

logger = logging.getLogger(__name__)

LIST_LIMIT = 20  # cases in one list message: each gets a button, and a phone screen is small
QUERY_LIMIT = 500  # cases read for a list; a township union has far fewer open at once
_REFERENCE = re.compile(r"^[A-Za-z]-?\d{1,9}$")


def normalise_reference(text: str) -> str | None:
    """'w123', 'W-123' and 'W-000123' all mean W-000123; None if it is not a reference."""
    text = text.strip()
    if not _REFERENCE.match(text):
        return None
    letter, number = text[0].upper(), int(text[1:].lstrip("-"))
    return f"{letter}-{number:06d}"


def _args(context: BotContext) -> list[str]:
    return list(context.args or [])


def _case_line(context: BotContext, case: Case) -> str:
    flag = "🔴 " if case.priority != Priority.NORMAL else ""
    return (
        f"{flag}<b>{html.escape(case.reference)}</b> · {context.t(KIND_LABELS[case.kind])}"
        f" · {casework.status_name(context, case.status)}"
    )


async def _send_list(update: Update, context: BotContext, title: str, cases: list[Case]) -> None:
    if not cases:
        await forms.say(update, context, title + "\n\n" + context.t("No cases."))
        return
    shown = cases[:LIST_LIMIT]
    lines = [title, "", *(_case_line(context, case) for case in shown)]
    if len(cases) > len(shown):
        lines += [
            "",
            context.t(
                "Showing {shown} of {count}. Narrow it with /find.", shown=len(shown), count=len(cases)
            ),
        ]
    buttons = [
        InlineKeyboardButton(case.reference, callback_data=f"{casework.ACTION}show:{case.id}")
        for case in shown
    ]
    markup = InlineKeyboardMarkup([buttons[i : i + 3] for i in range(0, len(buttons), 3)])
    await forms.say(update, context, Html("\n".join(lines)), markup)


# -- /cases, /case, /find, /pending ------------------------------------------------------------------

_FILTERS = {"open", "overdue", "collective", "all"}


async def list_cases(update: Update, context: BotContext) -> None:
    """/cases [open|overdue|collective|all]: the officer's cases (all is every open case, for admins)."""
    officer = await require_officer(update, context, action="cases")
    if officer is None:
        return
    args = _args(context)
    which = args[0].lower() if args else "open"
    if which not in _FILTERS:
        await forms.say(
            update, context, context.t("Use /cases, /cases overdue, /cases collective or /cases all.")
        )
        return
    query = CaseQuery(officer_id=officer.telegram_id, statuses=OPEN_STATUSES, limit=QUERY_LIMIT)
    title = context.t("Your open cases:")
    if which == "overdue":
        query = query.model_copy(update={"overdue_at": context.clock.now()})
        title = context.t("Your overdue cases:")
    elif which == "collective":
        query = query.model_copy(update={"priority": Priority.HIGH})
        title = context.t("Your collective cases:")
    elif which == "all":
        if officer.role != OfficerRole.ADMIN:
            await forms.say(update, context, context.t("Only union admins can do this."))
            return
        query = query.model_copy(update={"officer_id": None})
        title = context.t("All open cases:")
    await _send_list(update, context, title, await context.storage.find_cases(query))


async def _named_case(update: Update, context: BotContext, officer: Officer, usage: str) -> Case | None:
    """The case the command's first word names, if the officer may see it; else None after saying why."""
    args = _args(context)
    reference = normalise_reference(args[0]) if args else None
    if reference is None:
        await forms.say(update, context, usage)
        return None
    return await require_case(
        update, context, officer, await context.storage.get_case_by_reference(reference)
    )


async def show_case(update: Update, context: BotContext) -> None:
    """/case W-000123: the case card, if the officer may see it."""
    officer = await require_officer(update, context, action="case")
    if officer is None:
        return
    case = await _named_case(
        update, context, officer, context.t("Send the case number, for example /case W-000123.")
    )
    if case is not None:
        await casework.send_case_card(update, context, officer, case, via=privacy.VIEW_COMMAND)


async def find(update: Update, context: BotContext) -> None:
    """/find TEXT: cases whose number or answers contain the text."""
    officer = await require_officer(update, context, action="find")
    if officer is None:
        return
    text = " ".join(_args(context)).strip()
    if len(text) < 2:
        await forms.say(
            update, context, context.t("What should I look for? For example /find 宏达 or /find 138.")
        )
        return
    reference = normalise_reference(text)
    query = CaseQuery(officer_id=case_scope(officer), text=reference or text[:100], limit=QUERY_LIMIT)
    cases = await context.storage.find_cases(query)
    await _send_list(update, context, context.t("Cases with “{text}”:", text=text[:100]), cases)


async def pending(update: Update, context: BotContext) -> None:
    """/pending: membership applications still open."""
    officer = await require_officer(update, context, action="pending")
    if officer is None:
        return
    query = CaseQuery(
        officer_id=case_scope(officer), kind=CaseKind.MEMBERSHIP, statuses=OPEN_STATUSES, limit=QUERY_LIMIT
    )
    await _send_list(
        update,
        context,
        context.t("Membership applications waiting:"),
        await context.storage.find_cases(query),
    )


async def reassign(update: Update, context: BotContext) -> None:
    """/reassign W-000123: admins pick the new officer; an officer's request goes to the admins."""
    officer = await require_officer(update, context, action="reassign")
    if officer is None:
        return
    case = await _named_case(
        update, context, officer, context.t("Send the case number, for example /reassign W-000123.")
    )
    if case is None:
        return
    if officer.role == OfficerRole.ADMIN:
        await casework.offer_reassignment(update, context, case)
    else:
        await casework.ask_admins_to_reassign(context, officer, case)
        await forms.say(
            update,
            context,
            context.t(
                "Only admins can reassign. I have asked them to reassign {reference}.",
                reference=case.reference,
            ),
        )


# -- /audit -----------------------------------------------------------------------------------------

AUDIT_PAGE = 3500  # characters of entries per message; Telegram allows 4096 with the header
AUDIT_FILE_VIEWS = 1000  # the latest openings of the worker's file shown beside a case's events


async def audit(update: Update, context: BotContext) -> None:
    """/audit W-000123 [page]: admins see who viewed, changed and exported a case, and when."""
    admin = await require_officer(update, context, action="audit", admin=True)
    if admin is None:
        return
    args = _args(context)
    reference = normalise_reference(args[0]) if args else None
    page = int(args[1]) if len(args) > 1 and args[1].isdigit() else 1
    if reference is None:
        await forms.say(update, context, context.t("Send the case number, for example /audit W-000123."))
        return
    case = await require_case(update, context, admin, await context.storage.get_case_by_reference(reference))
    if case is None:
        return
    officers = {officer.telegram_id: officer for officer in await context.storage.list_officers()}
    timeline = [
        (
            event.created_at,
            labelled(
                context.language,
                casework.event_who(context, event, officers),
                casework.event_what(context, event),
            ),
        )
        for event in await context.storage.list_case_events(case.id)
    ]
    # The worker's file shows this case's details too, so each opening of it belongs in this trail.
    if case.worker_id != ANONYMOUS_WORKER_ID:
        timeline += [
            (
                view.created_at,
                labelled(
                    context.language,
                    _viewer(context, view.viewer_id, officers),
                    context.t("opened the worker file"),
                ),
            )
            for view in await context.storage.list_worker_file_views(case.worker_id, limit=AUDIT_FILE_VIEWS)
        ]
    timeline.sort(key=lambda entry: entry[0])
    entries = [f"{casework.when(context, moment)} {entry}" for moment, entry in timeline]
    pages = _pages(entries, AUDIT_PAGE)
    page = min(max(page, 1), len(pages))
    lines = [
        context.t(
            "Audit trail of {reference}, page {page} of {pages}:",
            reference=case.reference,
            page=page,
            pages=len(pages),
        ),
        "",
        *pages[page - 1],
    ]
    if page < len(pages):
        lines += [
            "",
            context.t("Next: /audit {reference} {page}", reference=case.reference, page=page + 1),
        ]
    await forms.say(update, context, Html("\n".join(lines)))


def _viewer(context: BotContext, viewer_id: int, officers: dict[int, Officer]) -> str:
    officer = officers.get(viewer_id)
    return html.escape(officer.name, quote=False) if officer else context.t("an officer no longer listed")


def _pages(entries: list[str], budget: int) -> list[list[str]]:
    """Entries in order, cut into pages of at most ``budget`` characters (at least one page)."""
    pages: list[list[str]] = [[]]
    used = 0
    for entry in entries:
        if pages[-1] and used + len(entry) + 1 > budget:
            pages.append([])
            used = 0
        pages[-1].append(entry)
        used += len(entry) + 1
    return pages


# -- /officers ---------------------------------------------------------------------------------------

_SPECIALTIES = {kind.value for kind in CaseKind}


async def officers(update: Update, context: BotContext) -> None:
    """/officers · /officers add ID NAME [wages legal membership] · /officers deactivate|activate ID."""
    admin = await require_officer(update, context, action="officers", admin=True)
    if admin is None:
        return
    args = _args(context)
    if not args:
        await _list_officers(update, context)
        return
    verb = args[0].lower()
    if verb == "add":
        await _add_officer(update, context, admin, args[1:])
    elif verb in ("deactivate", "activate"):
        await _set_active(update, context, admin, args[1:], active=verb == "activate")
    else:
        await forms.say(update, context, _officers_usage(context))


def _officers_usage(context: BotContext) -> str:
    return context.t(
        "Use: /officers — list; /officers add ID NAME wages legal membership — add an officer; "
        "/officers deactivate ID or /officers activate ID — leave and return."
    )


async def _list_officers(update: Update, context: BotContext) -> None:
    storage = context.storage
    workloads = await storage.officer_workloads()
    lines = [context.t("Officers:")]
    for officer in await storage.list_officers():
        load = workloads.get(officer.telegram_id)
        kinds = (
            listing(context.language, (context.t(KIND_LABELS[kind]) for kind in officer.specialties)) or "—"
        )
        state = "" if officer.active else " · " + context.t("inactive")
        role = " · " + context.t("admin") if officer.role == OfficerRole.ADMIN else ""
        lines.append(
            f"• {html.escape(officer.name, quote=False)} ({officer.telegram_id}){role}{state}\n  "
            + context.t("{kinds}; open cases: {count}", kinds=kinds, count=load.open_cases if load else 0)
        )
    await forms.say(update, context, Html("\n".join(lines)))


async def _add_officer(update: Update, context: BotContext, admin: Officer, args: list[str]) -> None:
    if len(args) < 2 or not args[0].isdigit():
        await forms.say(update, context, _officers_usage(context))
        return
    specialties = [word.lower() for word in args[1:] if word.lower() in _SPECIALTIES]
    name = " ".join(word for word in args[1:] if word.lower() not in _SPECIALTIES).strip()[:64]
    if not name:
        await forms.say(update, context, _officers_usage(context))
        return
    telegram_id = int(args[0])
    existing = await context.storage.get_officer(telegram_id)
    officer = await context.storage.upsert_officer(
        OfficerIn(
            telegram_id=telegram_id,
            name=name,
            role=existing.role if existing else OfficerRole.OFFICER,
            specialties=[CaseKind(kind) for kind in specialties],
            regions=existing.regions if existing else [],
            languages=existing.languages if existing else [],
        )
    )
    await context.storage.set_officer_active(telegram_id, True)
    logger.info("An admin added or updated an officer")
    await forms.say(
        update,
        context,
        context.t(
            "{name} is an officer now. They should send /start to the bot once, so it can write to them.",
            name=officer.name,
        ),
    )


async def _set_active(
    update: Update, context: BotContext, admin: Officer, args: list[str], *, active: bool
) -> None:
    if len(args) != 1 or not args[0].isdigit():
        await forms.say(update, context, _officers_usage(context))
        return
    telegram_id = int(args[0])
    if telegram_id == admin.telegram_id and not active:
        await forms.say(update, context, context.t("You cannot deactivate yourself."))
        return
    if await context.storage.get_officer(telegram_id) is None:
        await forms.say(update, context, context.t("There is no officer with that id."))
        return
    officer = await context.storage.set_officer_active(telegram_id, active)
    logger.info("An admin %s an officer", "activated" if active else "deactivated")
    text = (
        context.t("{name} is active again and gets new cases.", name=officer.name)
        if active
        else context.t(
            "{name} is inactive: no new cases, and their backups take over messages. "
            "Reassign their open cases with /reassign.",
            name=officer.name,
        )
    )
    await forms.say(update, context, text)


def handlers() -> list[BotHandler]:
    return [
        CommandHandler("cases", list_cases),
        CommandHandler("case", show_case),
        CommandHandler("find", find),
        CommandHandler("pending", pending),
        CommandHandler("reassign", reassign),
        CommandHandler("officers", officers),
        CommandHandler("audit", audit),
    ]
