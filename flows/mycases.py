"""My cases (/mycases): the worker's own cases, each case's history, a message to the officer, withdrawing.

Access: every press re-reads the case and checks that it belongs to the worker who pressed, so a forged
or old button never shows or changes anyone else's case. Messages are written to SQLite before the
worker is told "sent"; delivering them to the officer is the outbox's job.
"""

from __future__ import annotations

import html
import logging
import re
from datetime import datetime
from typing import Any

from telegram import Message, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.cases import notify
from bot.cases.vocabulary import KIND_LABELS
from bot.core.context import BotContext, BotHandler
from bot.core.i18n import N_, Html, money
from bot.runtime.commands import choose_language, not_understood, show_help, stale_button
from flows import forms, rights
from flows.evidence import MEDIA, attachment_of
from flows.menu import MENU_PREFIX, menu_pattern, show_menu
from storage.base import StorageError
from storage.models import (
    OPEN_STATUSES,
    AttachmentIn,
    Case,
    CaseEvent,
    CaseStatus,
    NewCaseEvent,
    Outcome,
)

logger = logging.getLogger(__name__)

WRITING, CONFIRMING = range(400, 402)

LIST = "mycase:list"
MENU = "mycase:menu"
OPEN = "mycase:open:"
WRITE = "mycase:write:"
WITHDRAW = "mycase:withdraw:"
YES = "mycase:yes:"
NO = "mycase:no:"

MAX_SHOWN = 10  # cases in the list; more would not fit a small screen
MESSAGE_LIMIT = 2000  # characters in a message to the officer
NOTE_SHOWN = 500  # characters of one note in the timeline (the officer has it in full)
TIMELINE_BUDGET = 3300  # characters of history per message; Telegram allows 4096 in all

# The draft slot is "what the worker is doing now": starting a form replaces it, which is how a message
# typed after that form ends is not mistaken for a message to the officer.
MARKER = "mycases"

# Commands that leave "my cases"; the flows' own commands are caught by their conversations first.
LEAVE_COMMANDS = [command for command in forms.SWITCH_COMMANDS if command != "mycases"]

STATUS_LABELS: dict[CaseStatus, str] = {
    CaseStatus.NEW: N_("received, waiting for an officer"),
    CaseStatus.ACKNOWLEDGED: N_("an officer has it"),
    CaseStatus.IN_PROGRESS: N_("being handled"),
    CaseStatus.WAITING_FOR_WORKER: N_("the officer needs your answer"),
    CaseStatus.RESOLVED: N_("finished"),
    CaseStatus.CLOSED: N_("closed"),
    CaseStatus.WITHDRAWN: N_("withdrawn"),
    CaseStatus.REOPENED: N_("reopened"),
}

# How a case ended, in the worker's words; shown beside "finished" so it never stands alone.
OUTCOME_WORDS: dict[Outcome, str] = {
    Outcome.RECOVERED_FULL: N_("all your unpaid wages were recovered"),
    Outcome.RECOVERED_PART: N_("only part of your unpaid wages was recovered"),
    Outcome.NOT_RECOVERED: N_("your wages could not be recovered"),
    Outcome.REFERRED_INSPECTION: N_("passed to the labour inspection office"),
    Outcome.REFERRED_ARBITRATION: N_("taken to labour arbitration"),
    Outcome.REFERRED_COURT: N_("taken to court"),
    Outcome.REFERRED_LEGAL_AID: N_("passed to a legal-aid centre"),
    Outcome.ADVICE_GIVEN: N_("you were given legal advice"),
    Outcome.MEMBERSHIP_APPROVED: N_("approved: you are a member"),
    Outcome.MEMBERSHIP_REJECTED: N_("not approved"),
    Outcome.GRANTED: N_("approved: the union gives you help"),
    Outcome.NOT_ELIGIBLE: N_("not approved"),
    Outcome.REFERRED_UPWARD: N_("sent to the union federation, which decides"),
}

_CASE_ID = re.compile(r"[0-9]{1,18}")


# -- helpers ----------------------------------------------------------------------------------------


def _marker(context: BotContext) -> dict[str, Any] | None:
    assert context.user_data is not None
    current = context.user_data.get(forms.DRAFT)
    return current if isinstance(current, dict) and current.get("form") == MARKER else None


def _set_marker(context: BotContext, case: Case, step: int) -> None:
    assert context.user_data is not None
    context.user_data[forms.DRAFT] = {
        "form": MARKER,
        "case_id": case.id,
        "status": case.status.value,
        "step": step,
    }


def _clear_marker(context: BotContext) -> None:
    """Forget a message or withdrawal in progress (never a form's draft)."""
    if _marker(context) is not None:
        forms.discard(context)


async def _own_case(update: Update, context: BotContext, prefix: str) -> Case | None:
    """The case a pressed button names, if it exists and is this worker's; else the stale-button answer."""
    query = update.callback_query
    assert query and query.data
    raw = query.data.removeprefix(prefix)
    if not _CASE_ID.fullmatch(raw):
        await stale_button(update, context)
        return None
    return await worker_case(update, context, int(raw))


async def worker_case(update: Update, context: BotContext, case_id: int) -> Case | None:
    """The case, if it is this worker's; else the stale-button answer (old, forged or someone else's)."""
    assert update.effective_user
    case = await context.storage.get_case(case_id)
    if case is None or case.worker_id != update.effective_user.id:
        await stale_button(update, context)
        return None
    return case


def _date(context: BotContext, moment: datetime) -> str:
    return moment.astimezone(context.config.union.zone).strftime("%Y-%m-%d")


def _kind(context: BotContext, case: Case) -> str:
    return context.t(KIND_LABELS[case.kind])


def _status(context: BotContext, status: CaseStatus) -> str:
    return context.t(STATUS_LABELS[status])


def outcome_lines(context: BotContext, case: Case, *, plain_text: bool = False) -> list[str]:
    """How the case ended and what was recovered or granted, once an officer has recorded it (also for
    /mydata, whose file is ``plain_text``: the officer's typed reason goes in as typed, not escaped)."""
    if case.outcome is None:
        return []
    lines = [context.t("How it ended: {outcome}", outcome=context.t(OUTCOME_WORDS[case.outcome]))]
    if case.amount_recovered:
        lines.append(
            context.t("Amount recovered: {amount}", amount=money(context.language, case.amount_recovered))
        )
    if case.amount_granted:
        lines.append(context.t("Help given: {amount}", amount=money(context.language, case.amount_granted)))
    if case.decision_reason:
        reason = Html(case.decision_reason) if plain_text else case.decision_reason
        lines.append(context.t("Why: {reason}", reason=reason))
    return lines


def what_happened(context: BotContext, event: CaseEvent) -> str:
    """One worker-visible event in the worker's words (also used by /mydata)."""
    if event.action == "created":
        return context.t("Request received")
    if event.action == "status_changed" and event.to_status is not None:
        if event.to_status == CaseStatus.WITHDRAWN and event.actor_role == "worker":
            return context.t("You withdrew the case")
        return context.t("Status: {status}", status=_status(context, event.to_status))
    if event.action == "message":
        return (
            context.t("Your message")
            if event.actor_role == "worker"
            else context.t("Message from the officer")
        )
    if event.action == "note":
        return context.t("Note from the officer")
    return context.t("Update")


def _event_block(context: BotContext, event: CaseEvent) -> tuple[int, str]:
    """One timeline entry as HTML, with its visible length (for the message size budget)."""
    head = f"{_date(context, event.created_at)} — {what_happened(context, event)}"
    if not event.note:
        return len(head), head
    note = event.note if len(event.note) <= NOTE_SHOWN else event.note[:NOTE_SHOWN] + "…"
    return len(head) + len(note) + 3, f"{head}\n💬 {html.escape(note, quote=False)}"


async def _show_case(update: Update, context: BotContext, case: Case) -> None:
    """A case's worker-visible history, newest entries kept when it is long, and what can be done."""
    events = await context.storage.list_case_events(case.id, worker_visible_only=True)
    blocks: list[str] = []
    used = 0
    for length, block in (_event_block(context, event) for event in reversed(events)):
        if used + length > TIMELINE_BUDGET and blocks:
            blocks.append(context.t("(Earlier updates are not shown.)"))
            break
        blocks.append(block)
        used += length
    lines = [
        f"<b>{html.escape(case.reference)}</b> · {_kind(context, case)}",
        context.t("Status: {status}", status=_status(context, case.status)),
        *outcome_lines(context, case),
        "",
        *reversed(blocks),
    ]
    rows = [[(context.t("✉️ Send a message to the officer"), f"{WRITE}{case.id}")]]
    if case.status in OPEN_STATUSES:
        rows.append([(context.t("Withdraw this case"), f"{WITHDRAW}{case.id}")])
    rows.append([(context.t("⬅️ Back to my cases"), LIST)])
    await forms.say(update, context, Html("\n".join(lines)), forms.buttons(rows))


async def _fresh_case(context: BotContext, case: Case) -> Case:
    return await context.storage.get_case(case.id) or case


# -- the list and one case --------------------------------------------------------------------------


async def show_list(update: Update, context: BotContext) -> int:
    """/mycases or the menu button: the worker's cases, newest first, one button each."""
    assert update.effective_user
    _clear_marker(context)
    if update.callback_query is not None:
        await update.callback_query.answer()
    cases = await context.storage.list_cases_for_worker(update.effective_user.id)
    if not cases:
        await show_menu(
            update,
            context,
            context.t(
                "You have no cases yet. "
                "When you report unpaid wages or ask for legal aid, you can follow it here."
            ),
        )
        return ConversationHandler.END
    lines = [context.t("Your cases, newest first. Tap one to see what happened and to write to the officer.")]
    rows: list[list[tuple[str, str]]] = []
    for case in cases[:MAX_SHOWN]:
        lines += [
            "",
            f"<b>{html.escape(case.reference)}</b> · {_kind(context, case)}",
            context.t("Status: {status}", status=_status(context, case.status)),
            context.t("Last update: {date}", date=_date(context, case.updated_at)),
        ]
        flag = "❗ " if case.status == CaseStatus.WAITING_FOR_WORKER else ""
        rows.append([(f"{flag}{case.reference} · {_kind(context, case)}", f"{OPEN}{case.id}")])
    if len(cases) > MAX_SHOWN:
        lines += [
            "",
            context.t(
                "Only your {shown} newest cases are shown (of {count}).", shown=MAX_SHOWN, count=len(cases)
            ),
        ]
    rows.append([(context.t("⬅️ Main menu"), MENU)])
    await forms.say(update, context, Html("\n".join(lines)), forms.buttons(rows))
    return ConversationHandler.END


async def open_case(update: Update, context: BotContext) -> int | None:
    """One of the worker's own cases: its history and buttons."""
    case = await _own_case(update, context, OPEN)
    if case is None:
        return None  # a forged or old button changes nothing, not even a message being written
    _clear_marker(context)
    assert update.callback_query
    await update.callback_query.answer()
    await _show_case(update, context, case)
    return ConversationHandler.END


async def main_menu(update: Update, context: BotContext) -> int:
    """The list's way back to the main menu."""
    assert update.callback_query
    _clear_marker(context)
    await update.callback_query.answer()
    await show_menu(update, context)
    return ConversationHandler.END


# -- a message to the officer -----------------------------------------------------------------------


async def start_writing(update: Update, context: BotContext) -> int | None:
    """Ask for the message: words, or one photo, file or voice note."""
    case = await _own_case(update, context, WRITE)
    if case is None:
        return None
    assert update.callback_query
    await update.callback_query.answer()
    _set_marker(context, case, WRITING)
    await forms.say(
        update,
        context,
        context.t(
            "Write your message to the officer about {reference}. "
            "You can also send one photo, file or voice note.",
            reference=case.reference,
        ),
        forms.buttons([[(context.t("✖️ Cancel"), f"{OPEN}{case.id}")]]),
    )
    return WRITING


async def got_message(update: Update, context: BotContext) -> int | None:
    """Store the message (and its file) on the case, then say it was sent and show the case again."""
    marker = _marker(context)
    if marker is None or marker.get("step") != WRITING:
        return await _left_earlier(update, context)
    message = update.effective_message
    assert message and update.effective_user
    item = attachment_of(message)
    if item is None:
        text = await forms.read_text(update, context, limit=MESSAGE_LIMIT)
        if text is None:
            return None  # told why; still writing
    else:
        text = (item.get("caption") or "").strip() or None
    worker_id = update.effective_user.id
    case = await context.storage.get_case(int(marker["case_id"]))
    if case is None or case.worker_id != worker_id:  # cannot happen through buttons; defensive
        _clear_marker(context)
        await not_understood(update, context)
        return ConversationHandler.END
    await _store_message(context, case, message, text, AttachmentIn.model_validate(item) if item else None)
    _remember_album(context, message, case.id)
    if case.status == CaseStatus.WAITING_FOR_WORKER:
        try:
            await context.storage.change_case_status(
                case.id,
                expected=CaseStatus.WAITING_FOR_WORKER,
                new=CaseStatus.IN_PROGRESS,
                actor_id=worker_id,
                actor_role="worker",
                note=None,
                visible_to_worker=True,
            )
        except StorageError:
            logger.info("Case %s changed status before the worker's answer arrived", case.reference)
    _clear_marker(context)
    logger.info("Worker message stored on case %s", case.reference)
    await forms.say(
        update,
        context,
        context.t(
            "Sent. Your message is saved with {reference} and the officer will see it.",
            reference=case.reference,
        ),
    )
    await _show_case(update, context, await _fresh_case(context, case))
    return ConversationHandler.END


async def hint_message(update: Update, context: BotContext) -> int | None:
    """A sticker, location or contact where a message is expected: the question stays."""
    if _marker(context) is None:
        return await _left_earlier(update, context)
    await forms.say(
        update, context, context.t("Please write your message, or send a photo, a file or a voice note.")
    )
    return None


async def _store_message(
    context: BotContext, case: Case, message: Message, text: str | None, attachment: AttachmentIn | None
) -> None:
    """The worker's message and file on the case, and its relay to the officers, in one transaction."""
    officers = await context.storage.list_officers()
    await context.storage.add_case_event(
        NewCaseEvent(
            case_id=case.id,
            actor_id=case.worker_id,
            actor_role="worker",
            action="message",
            note=text,
            visible_to_worker=True,
        ),
        attachments=[attachment] if attachment is not None else [],
        outbox=notify.worker_news_for_officers(
            case,
            officers,
            context.config.union.default_language,
            text=text,
            attachment=attachment,
            # The Telegram message id makes the key unique and a redelivered update harmless.
            key=f"worker-message:{case.id}:{message.message_id}",
        ),
    )
    context.union_app.send_outbox_soon()


# -- withdrawing ------------------------------------------------------------------------------------


async def ask_withdraw(update: Update, context: BotContext) -> int | None:
    """Ask before withdrawing; a case that is no longer open cannot be withdrawn."""
    case = await _own_case(update, context, WITHDRAW)
    if case is None:
        return None
    assert update.callback_query
    await update.callback_query.answer()
    if case.status not in OPEN_STATUSES:
        _clear_marker(context)
        await forms.say(
            update,
            context,
            context.t(
                "This case is {status} now, so it cannot be withdrawn.", status=_status(context, case.status)
            ),
        )
        await _show_case(update, context, case)
        return ConversationHandler.END
    _set_marker(context, case, CONFIRMING)
    markup = forms.buttons(
        [[(context.t("Yes, withdraw"), f"{YES}{case.id}")], [(context.t("No, keep it"), f"{NO}{case.id}")]]
    )
    await forms.say(
        update,
        context,
        context.t("Withdraw {reference}? The union will stop working on it.", reference=case.reference),
        markup,
    )
    return CONFIRMING


async def _confirmed_case(
    update: Update, context: BotContext, prefix: str
) -> tuple[Case, dict[str, Any]] | None:
    """The case the yes/no button is about, if it is the one being confirmed and this worker's."""
    marker = _marker(context)
    case = await _own_case(update, context, prefix)
    if case is None:
        return None
    if marker is None or marker.get("step") != CONFIRMING or marker.get("case_id") != case.id:
        await stale_button(update, context)
        return None
    assert update.callback_query
    await update.callback_query.answer()
    await update.callback_query.edit_message_reply_markup(reply_markup=None)
    _clear_marker(context)
    return case, marker


async def withdraw(update: Update, context: BotContext) -> int | None:
    """Withdraw, unless the status changed since the question (then explain and show it as it is)."""
    assert update.effective_user
    confirmed = await _confirmed_case(update, context, YES)
    if confirmed is None:
        return None
    case, marker = confirmed
    try:
        case = await context.storage.change_case_status(
            case.id,
            expected=CaseStatus(marker["status"]),
            new=CaseStatus.WITHDRAWN,
            actor_id=update.effective_user.id,
            actor_role="worker",
            note=None,
            visible_to_worker=True,
            outbox=notify.withdrawal_news(
                case,
                await context.storage.list_officers(),
                context.config.union.default_language,
                key=f"withdrawn:{case.id}",
            ),
        )
    except StorageError:
        await forms.say(
            update,
            context,
            context.t(
                "{reference} changed in the meantime, so it was not withdrawn. Here is how it stands now.",
                reference=case.reference,
            ),
        )
        await _show_case(update, context, await _fresh_case(context, case))
        return ConversationHandler.END
    context.union_app.send_outbox_soon()
    logger.info("Case %s withdrawn by the worker", case.reference)
    await forms.say(
        update,
        context,
        context.t(
            "{reference} is withdrawn. If you need us again, send a new request from the menu.",
            reference=case.reference,
        ),
    )
    await _show_case(update, context, case)
    return ConversationHandler.END


async def keep(update: Update, context: BotContext) -> int | None:
    """Not withdrawn after all."""
    confirmed = await _confirmed_case(update, context, NO)
    if confirmed is None:
        return None
    case, _ = confirmed
    await forms.say(update, context, context.t("Good, the case stays open."))
    await _show_case(update, context, await _fresh_case(context, case))
    return ConversationHandler.END


async def hint_confirm(update: Update, context: BotContext) -> int | None:
    """Typing or media where yes or no is expected: the question stays."""
    if _marker(context) is None:
        return await _left_earlier(update, context)
    await forms.expect_button(update, context)
    return None


# -- leaving ----------------------------------------------------------------------------------------


async def _left_earlier(update: Update, context: BotContext) -> int:
    """The worker went on to a form since (it replaced the marker): this is not for the officer."""
    await not_understood(update, context)
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    """/cancel while writing or confirming."""
    _clear_marker(context)
    await forms.say(update, context, context.t("Cancelled. Nothing was sent or changed."))
    return ConversationHandler.END


async def leave_for_command(update: Update, context: BotContext) -> int:
    """Another command while writing or confirming: leave "my cases" (nothing to lose) and do it."""
    message = update.effective_message
    assert message and message.text
    command = message.text.split()[0].lstrip("/").split("@")[0].lower()
    _clear_marker(context)
    left = context.t("You left “My cases”. Nothing was sent or changed.")
    if command == "start":
        await show_menu(update, context, left)
        return ConversationHandler.END
    actions = {"help": show_help, "language": choose_language, "rights": rights.show_topics}
    await forms.say(update, context, left)
    action = actions.get(command)
    if action is not None:
        await action(update, context)
    else:
        await forms.say(update, context, context.t("Please send /{command} again.", command=command))
    return ConversationHandler.END


async def leave_for_menu(update: Update, context: BotContext) -> int:
    """A main-menu button while writing or confirming: leave "my cases" and open that item."""
    query = update.callback_query
    assert query and query.data
    item = query.data.removeprefix(MENU_PREFIX)
    _clear_marker(context)
    left = context.t("You left “My cases”. Nothing was sent or changed.")
    if item == "rights":
        await forms.say(update, context, left)
        await rights.show_topics(update, context)
        return ConversationHandler.END
    await query.answer()
    if item in ("help", "language"):
        await forms.say(update, context, left)
        await (show_help if item == "help" else choose_language)(update, context)
    else:  # the forms' buttons are caught by their own conversations first; a menu to press again
        await show_menu(update, context, left)
    return ConversationHandler.END


async def unknown_command(update: Update, context: BotContext) -> None:
    """A command nobody knows: the question stays."""
    await forms.say(
        update,
        context,
        context.t("I don't know that command. Please answer the question above, or send /cancel to stop."),
    )


ALBUM = "mycases_album"  # user_data: the album whose first photo went to a case


def _remember_album(context: BotContext, message: Message, case_id: int) -> None:
    """Telegram sends an album as one message per photo; the rest follow the first to the same case."""
    assert context.user_data is not None
    if message.media_group_id:
        context.user_data[ALBUM] = {"case_id": case_id, "group": message.media_group_id}
    else:
        context.user_data.pop(ALBUM, None)


async def album_part(update: Update, context: BotContext) -> None:
    """A further photo of an album already sent to a case: store it there too; anything else is not ours."""
    message = update.effective_message
    assert message and update.effective_user and context.user_data is not None
    album = context.user_data.get(ALBUM) or {}
    item = attachment_of(message)
    case = await context.storage.get_case(int(album["case_id"])) if album else None
    if (
        item is None
        or not message.media_group_id
        or message.media_group_id != album.get("group")
        or case is None
        or case.worker_id != update.effective_user.id
    ):
        await not_understood(update, context)
        return
    text = (item.get("caption") or "").strip() or None
    await _store_message(context, case, message, text, AttachmentIn.model_validate(item))
    await forms.say(
        update, context, context.t("This one is saved with {reference} too.", reference=case.reference)
    )


def album_handlers() -> list[BotHandler]:
    """Registered after every flow: only media no conversation took reaches it."""
    return [MessageHandler(MEDIA, album_part)]


def handlers() -> list[BotHandler]:
    return [
        ConversationHandler(
            entry_points=[
                CommandHandler("mycases", show_list),
                CallbackQueryHandler(show_list, pattern=menu_pattern("mycases")),
                CallbackQueryHandler(show_list, pattern=f"^{LIST}$"),
                CallbackQueryHandler(main_menu, pattern=f"^{MENU}$"),
                CallbackQueryHandler(open_case, pattern=f"^{OPEN}"),
                CallbackQueryHandler(start_writing, pattern=f"^{WRITE}"),
                CallbackQueryHandler(ask_withdraw, pattern=f"^{WITHDRAW}"),
            ],
            states={
                WRITING: [
                    MessageHandler((filters.TEXT & ~filters.COMMAND) | MEDIA, got_message),
                    MessageHandler(~filters.COMMAND, hint_message),
                ],
                CONFIRMING: [
                    CallbackQueryHandler(withdraw, pattern=f"^{YES}"),
                    CallbackQueryHandler(keep, pattern=f"^{NO}"),
                    MessageHandler(~filters.COMMAND, hint_confirm),
                ],
            },
            fallbacks=[
                CommandHandler("cancel", cancel),
                CommandHandler(LEAVE_COMMANDS, leave_for_command),
                CallbackQueryHandler(leave_for_menu, pattern=f"^{MENU_PREFIX}"),
                MessageHandler(filters.COMMAND, unknown_command),
            ],
            # Every list and case button works from any step: pressing one leaves the step.
            allow_reentry=True,
            name="mycases",
            persistent=True,
        )
    ]
