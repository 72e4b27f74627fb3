"""An officer working a case: the buttons on alerts and case cards, and what they lead to.

take · reply to worker · ask for information · internal note · resolve · reassign · close · reopen.

Every press and every typed answer re-checks that the sender is an active officer who may handle the
case (bot/access.py): a forwarded or forged button does nothing but a refusal. Every change goes
through storage with the status the officer saw, so two officers pressing at once cannot both win,
and its news for the worker is queued in the same transaction (bot/notify.py).
"""

from __future__ import annotations

import html
import logging
import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.cases import alerts, notify, privacy
from bot.cases.access import refuse, require_case, require_officer
from bot.cases.amounts import (
    AMOUNT_PROBLEMS,
    MAX_AMOUNT,
    MAX_WORKERS,
    AmountError,
    AmountProblem,
    parse_amount,
    parse_workers,
)
from bot.cases.assignment import Assignment, choose_officers
from bot.cases.vocabulary import KIND_LABELS, OUTCOME_LABELS, status_name_in
from bot.core.context import BotContext, BotHandler
from bot.core.i18n import N_, Html, labelled, money, officer_language, translate
from flows import forms
from flows.evidence import attachment_of
from storage.base import CaseChanged, InvalidTransition, StorageError
from storage.models import (
    OUTCOMES,
    RECOVERED,
    AttachmentIn,
    Case,
    CaseEvent,
    CaseKind,
    CaseStatus,
    NewCaseEvent,
    Officer,
    OfficerRole,
    OutboxMessage,
    Outcome,
    Priority,
    Resolution,
    can_move,
)

logger = logging.getLogger(__name__)

WRITING, AMOUNT, WORKERS, MEMBER_NUMBER = range(500, 504)
GRANT_AMOUNT, REASON = range(504, 506)  # resolving hardship assistance: the grant, or why not eligible

ACTION = notify.CASE_ACTION  # "oc:<action>:<case id>"
OUTCOME = "oo:"  # "oo:<case id>:<outcome>"
REASSIGN_TO = "or:"  # "or:<case id>:<officer id>"
WORKERS_DEFAULT = "ow:"  # "ow:<case id>:<count>"
MEMBER_AUTO = "om:"  # "om:<case id>"
WORKER_FILE = "wf:"  # "wf:<case id>": the file of the case's worker (bot/officers/workerfile.py)

PENDING = "casework"  # user_data: what the officer is in the middle of

TEXT_LIMIT = 3000  # a reply, question or note; the worker's message adds a header under 4096
MEMBER_NUMBER_LIMIT = 32
REASON_LIMIT = 500  # why an application is not eligible: the worker reads it in their news
MAX_GRANT = Decimal(100_000)  # one household's hardship grant; more is a slip of the finger
EVENTS_SHOWN = 8  # latest events on a case card

_ACTION_DATA = re.compile(r"^oc:([a-z]+):([0-9]{1,18})$")
_OUTCOME_DATA = re.compile(r"^oo:([0-9]{1,18}):([a-z_]+)$")
_REASSIGN_DATA = re.compile(r"^or:([0-9]{1,18}):([0-9]{1,18})$")
_WORKERS_DATA = re.compile(r"^ow:([0-9]{1,18}):([0-9]{1,6})$")
_MEMBER_DATA = re.compile(r"^om:([0-9]{1,18})$")
_MEMBER_NUMBER = re.compile(r"^[0-9A-Za-z][0-9A-Za-z\-/]*$")

# What each action needs the case to allow: the status it moves to, or None for "open or not".
_NEEDS: dict[str, CaseStatus | None] = {
    "take": CaseStatus.ACKNOWLEDGED,
    "resolve": CaseStatus.RESOLVED,
    "close": CaseStatus.CLOSED,
    "reopen": CaseStatus.REOPENED,
}


# -- small helpers ------------------------------------------------------------------------------------


def _pending(context: BotContext) -> dict[str, Any] | None:
    assert context.user_data is not None
    value = context.user_data.get(PENDING)
    return value if isinstance(value, dict) else None


def _set_pending(context: BotContext, **values: Any) -> None:
    assert context.user_data is not None
    context.user_data[PENDING] = values


def _clear_pending(context: BotContext) -> None:
    assert context.user_data is not None
    context.user_data.pop(PENDING, None)


def _wake_outbox(context: BotContext) -> None:
    context.union_app.send_outbox_soon()


async def _worker_language(context: BotContext, case: Case) -> str:
    worker = await context.storage.get_worker(case.worker_id)
    return (worker.language if worker and worker.language else None) or context.config.union.default_language


def _key(case: Case, what: str, context: BotContext) -> str:
    """A dedupe key unique to this change (the clock's microseconds tell two changes apart)."""
    return f"{what}:{case.id}:{context.clock.now().isoformat()}"


def status_name(context: BotContext, status: CaseStatus) -> str:
    return status_name_in(context.language, status)


async def _pressed_case(
    update: Update, context: BotContext, case_id: int, action: str
) -> tuple[Officer, Case] | None:
    """The acting officer and the case a button names, after the access checks; None if refused."""
    officer = await require_officer(update, context, action=action)
    if officer is None:
        return None
    case = await require_case(update, context, officer, await context.storage.get_case(case_id))
    if case is None:
        return None
    return officer, case


async def _refuse_status(update: Update, context: BotContext, case: Case) -> None:
    await refuse(
        update,
        context,
        context.t(
            "{reference} is {status} now, so this cannot be done.",
            reference=case.reference,
            status=status_name(context, case.status),
        ),
    )


# -- the case card ------------------------------------------------------------------------------------


def card_actions(case: Case) -> list[list[tuple[str, str]]]:
    """The buttons that make sense for the case's status."""
    if case.anonymised_at is not None:
        return [[("note", N_("📝 Internal note"))]]
    if case.status in (CaseStatus.NEW, CaseStatus.REOPENED):
        return alerts.ALERT_ACTIONS
    if case.is_open:
        return [
            [("reply", N_("↩️ Reply to worker")), ("ask", N_("❓ Ask for information"))],
            [("note", N_("📝 Internal note")), ("resolve", N_("✅ Resolve"))],
            [("reassign", N_("🔀 Reassign"))],
        ]
    if case.status == CaseStatus.RESOLVED:
        return [[("close", N_("🗂 Close")), ("reopen", N_("🔄 Reopen"))], [("note", N_("📝 Internal note"))]]
    if case.status == CaseStatus.CLOSED:
        return [[("reopen", N_("🔄 Reopen")), ("note", N_("📝 Internal note"))]]
    return [[("note", N_("📝 Internal note"))]]


async def case_card(context: BotContext, case: Case) -> tuple[str, alerts.InlineKeyboardJson]:
    """Everything about a case for its officers: facts, who has it, the latest events, and buttons."""
    storage = context.storage
    language = context.language
    t = context.t
    officers = {officer.telegram_id: officer for officer in await storage.list_officers()}
    worker = await storage.get_worker(case.worker_id)
    profile = worker.profile if worker is not None else {}
    attachments = await storage.list_attachments(case.id)
    # Views and exports are for /audit; the card's history is the work on the case.
    events = [
        event for event in await storage.list_case_events(case.id) if event.action not in privacy.AUDIT_ONLY
    ]

    def name(officer_id: int | None) -> str:
        officer = officers.get(officer_id) if officer_id is not None else None
        return html.escape(officer.name, quote=False) if officer else t("nobody")

    kind, status = t(KIND_LABELS[case.kind]), status_name(context, case.status)
    lines = [f"<b>{html.escape(case.reference)}</b> · {kind} · {status}"]
    if case.priority == Priority.HIGH:
        lines.append("<b>" + t("🔴 Collective case") + "</b>")
    elif case.priority == Priority.URGENT:
        lines.append("<b>" + t("🔴 Urgent") + "</b>")
    lines.append(
        t(
            "Primary: {primary} · Backup: {backup}",
            primary=Html(name(case.assignee_id)),
            backup=Html(name(case.backup_id)),
        )
    )
    lines.append(t("Received: {date}", date=when(context, case.created_at)))
    if case.anonymised_at is not None:
        lines.append(
            "<b>"
            + t(
                "🕶 Anonymised on {date}: the worker's details, answers and files are deleted.",
                date=when(context, case.anonymised_at),
            )
            + "</b>"
        )
    if case.outcome is not None:
        lines.append(t("Outcome: {outcome}", outcome=t(OUTCOME_LABELS[case.outcome])))
        if case.amount_recovered is not None:
            lines.append(
                t.plural(
                    "Recovered: {amount} for {count} worker",
                    "Recovered: {amount} for {count} workers",
                    case.workers_helped or 0,
                    amount=money(context.language, case.amount_recovered),
                )
            )
        if case.member_number:
            lines.append(t("Member number: {number}", number=case.member_number))
        if case.amount_granted is not None:
            lines.append(t("Granted: {amount}", amount=money(context.language, case.amount_granted)))
        if case.decision_reason:
            lines.append(t("Reason: {reason}", reason=case.decision_reason))
    lines.append("")
    worker_name = str(profile.get("name") or profile.get("telegram_name") or "")
    lines.extend(
        alerts.case_facts(
            case, language, worker_name=worker_name, evidence=alerts.evidence_count(case, attachments)
        )
    )
    shown = events[-EVENTS_SHOWN:]
    if shown:
        lines += ["", "<b>" + t("History") + "</b>"]
        if len(events) > len(shown):
            lines.append(t("(Earlier updates are not shown.)"))
        lines += [_event_line(context, event, officers) for event in shown]
    rows = card_actions(case)
    markup = alerts.action_buttons(case, language, rows)
    if any(notify.can_relay(attachment) for attachment in attachments):
        markup["inline_keyboard"].append(
            [{"text": t("📎 Send me the files"), "callback_data": f"{ACTION}files:{case.id}"}]
        )
    if case.anonymised_at is None:  # an anonymised case's worker has no file
        markup["inline_keyboard"].append(
            [{"text": t("📁 Worker file"), "callback_data": f"{WORKER_FILE}{case.id}"}]
        )
    return "\n".join(lines), markup


def when(context: BotContext, moment: datetime) -> str:
    return moment.astimezone(context.config.union.zone).strftime("%Y-%m-%d %H:%M")


AUDIT_NOTES: dict[str, str] = {
    privacy.VIEW_CARD: N_("viewed the case card"),
    privacy.VIEW_COMMAND: N_("viewed the case card (/case)"),
    privacy.VIEW_FILES: N_("was sent the files"),
    privacy.EXPORT_MYDATA: N_("the worker downloaded their data"),
    privacy.EXPORT_THIRD_PARTY: N_("exported for a third party"),
    "forget": N_("anonymised: the worker asked to delete their data"),
    "retention": N_("anonymised: the retention time is over"),
}


def event_who(context: BotContext, event: CaseEvent, officers: dict[int, Officer]) -> str:
    t = context.t
    if event.actor_role == "worker":
        return t("worker")
    if event.actor_id in officers:
        return html.escape(officers[event.actor_id].name, quote=False)
    return t("system")


def event_what(context: BotContext, event: CaseEvent) -> str:
    """What happened, without the words anyone wrote (HTML)."""
    t = context.t
    if event.action in (privacy.VIEWED, privacy.EXPORTED, privacy.ANONYMISED):
        label = AUDIT_NOTES.get(event.note or "")
        return (
            t(label)
            if label
            else labelled(
                context.language,
                html.escape(event.action, quote=False),
                html.escape(event.note or "", quote=False),
            )
        )
    if event.action == "created":
        what = t("case received")
    elif event.action == "status_changed" and event.to_status is not None:
        what = t("status: {status}", status=status_name(context, event.to_status))
    elif event.action == "message":
        what = t("message to the worker") if event.actor_role != "worker" else t("message from the worker")
    elif event.action == "note":
        what = t("internal note")
    elif event.action == "assigned":
        what = t("reassigned")
    elif event.action == "outcome":
        what = t("outcome recorded")
    else:
        what = html.escape(event.action, quote=False)
    return what


def _event_line(context: BotContext, event: CaseEvent, officers: dict[int, Officer]) -> str:
    who, what = event_who(context, event, officers), event_what(context, event)
    line = f"{when(context, event.created_at)} " + labelled(context.language, who, what)
    if event.note and event.action in ("message", "note", "status_changed"):
        line += f"\n    💬 {notify.quote(event.note, 200)}"
    return line


async def send_case_card(
    update: Update, context: BotContext, officer: Officer, case: Case, *, via: str
) -> None:
    """Show the case card to an officer; the view of its personal fields goes into the audit trail
    (``via``: privacy.VIEW_CARD or privacy.VIEW_COMMAND)."""
    text, markup = await case_card(context, case)
    await privacy.record_view(context.storage, officer, case, via)
    await forms.say(update, context, Html(text), markup)


# -- buttons -----------------------------------------------------------------------------------------


async def on_action(update: Update, context: BotContext) -> int | None:
    """A case button: oc:<action>:<case id>."""
    query = update.callback_query
    assert query and query.data
    match = _ACTION_DATA.match(query.data)
    handler = _ACTIONS.get(match.group(1)) if match else None
    if match is None or handler is None:
        logger.warning("Refused a case button with unknown data")
        await refuse(update, context, context.t("This button is no longer active."))
        return None
    found = await _pressed_case(update, context, int(match.group(2)), match.group(1))
    if found is None:
        return None
    officer, case = found
    if case.anonymised_at is not None and match.group(1) not in ("show", "note"):
        # The worker is gone: nobody to reply to, ask or tell of a reopening.
        await refuse(
            update,
            context,
            context.t(
                "{reference} is anonymised: the worker's details are deleted, so only notes can be added.",
                reference=case.reference,
            ),
        )
        return None
    needed = _NEEDS.get(match.group(1))
    if needed is not None and not can_move(case.status, needed):
        if match.group(1) == "take" and case.is_open:
            await refuse(
                update, context, context.t("{reference} is already taken.", reference=case.reference)
            )
        else:
            await _refuse_status(update, context, case)
        return None
    return await handler(update, context, officer, case)


async def _show(update: Update, context: BotContext, officer: Officer, case: Case) -> int:
    assert update.callback_query
    await update.callback_query.answer()
    await send_case_card(update, context, officer, case, via=privacy.VIEW_CARD)
    return ConversationHandler.END


async def _files(update: Update, context: BotContext, officer: Officer, case: Case) -> int:
    """Send the case's files to the officer who asked, now (not through the outbox: they are waiting)."""
    assert update.callback_query and update.effective_chat
    await update.callback_query.answer()
    messages = notify.evidence_files(
        case,
        officer.telegram_id,
        await context.storage.list_attachments(case.id),
        context.language,
        key="now",
    )
    if messages:
        await privacy.record_view(context.storage, officer, case, privacy.VIEW_FILES)
    for message in messages:
        await context.bot.do_api_request(
            message.method, api_kwargs={"chat_id": message.chat_id, **message.params}
        )
    return ConversationHandler.END


async def _take(update: Update, context: BotContext, officer: Officer, case: Case) -> int | None:
    """The officer takes the case; the backup (or an admin) taking it becomes its primary."""
    assert update.callback_query
    storage = context.storage
    if officer.telegram_id != case.assignee_id:
        new_backup = case.assignee_id if case.assignee_id is not None else case.backup_id
        if new_backup == officer.telegram_id:
            new_backup = None
        case = await storage.reassign_case(
            case.id,
            assignee_id=officer.telegram_id,
            backup_id=new_backup,
            actor_id=officer.telegram_id,
            actor_role=officer.role.value,
        )
    language = await _worker_language(context, case)
    try:
        case = await storage.change_case_status(
            case.id,
            expected=case.status,
            new=CaseStatus.ACKNOWLEDGED,
            actor_id=officer.telegram_id,
            actor_role=officer.role.value,
            outbox=notify.status_news(
                case, CaseStatus.ACKNOWLEDGED, language, key=_key(case, "news", context)
            ),
        )
    except StorageError:
        await _changed_meanwhile(update, context, case)
        return None
    _wake_outbox(context)
    await update.callback_query.answer()
    await forms.say(
        update,
        context,
        context.t("✋ You have taken {reference}. The worker has been told.", reference=case.reference),
    )
    logger.info("Case %s taken", case.reference)
    return ConversationHandler.END


async def _changed_meanwhile(update: Update, context: BotContext, case: Case) -> None:
    fresh = await context.storage.get_case(case.id) or case
    await refuse(
        update,
        context,
        context.t(
            "{reference} changed in the meantime: it is {status} now.",
            reference=fresh.reference,
            status=status_name(context, fresh.status),
        ),
    )


_PROMPTS = {
    "reply": N_(
        "Write your reply to the worker about {reference}. You can also send a photo or a document. "
        "The worker will not see your name or your Telegram account. /cancel to stop."
    ),
    "ask": N_(
        "What do you need to know from the worker about {reference}? Type your question. "
        "The case waits for their answer. /cancel to stop."
    ),
    "note": N_("Type your internal note on {reference}. Only officers see it. /cancel to stop."),
}


async def _start_writing(update: Update, context: BotContext, officer: Officer, case: Case) -> int | None:
    assert update.callback_query and update.callback_query.data
    action = update.callback_query.data.split(":")[1]
    # A question makes the case wait for the worker: only an open case can. A reply may follow up.
    if (action == "ask" and not case.is_open) or (action == "reply" and case.status == CaseStatus.WITHDRAWN):
        await _refuse_status(update, context, case)
        return None
    await update.callback_query.answer()
    _set_pending(context, action=action, case_id=case.id, status=case.status.value)
    await forms.say(update, context, context.t(_PROMPTS[action], reference=case.reference))
    return WRITING


async def got_text(update: Update, context: BotContext) -> int | None:
    """The reply, question or note the officer was asked for."""
    pending = _pending(context)
    message = update.effective_message
    assert message
    if pending is None or pending.get("action") not in _PROMPTS:
        # Another prompt took over meanwhile (a worker file's, bot/officers/workerfile.py): the text was
        # not meant for the worker, and the officer must not think it went to them.
        _clear_pending(context)
        await forms.say(
            update,
            context,
            context.t("Nothing was sent. To write to a worker, press the case's button again."),
        )
        return ConversationHandler.END
    found = await _checked_pending_case(update, context, pending)
    if found is None:
        return ConversationHandler.END
    officer, case = found
    item = attachment_of(message)
    action = pending["action"]
    if item is not None and action != "reply":
        await forms.say(update, context, context.t("Please type it as text."))
        return None
    text = (message.caption if item is not None else message.text) or ""
    text = text.strip()
    if item is None and not text:
        await forms.say(update, context, context.t("Please type it as text."))
        return None
    if len(text) > TEXT_LIMIT:
        await forms.say(
            update,
            context,
            context.t("That is too long: please keep it under {limit} characters.", limit=TEXT_LIMIT),
        )
        return None
    attachment = AttachmentIn.model_validate(item) if item is not None else None
    try:
        await {"reply": _deliver_reply, "ask": _deliver_question, "note": _save_note}[action](
            context, officer, case, text or None, attachment
        )
    except StorageError:
        _clear_pending(context)
        await _changed_meanwhile(update, context, case)
        return ConversationHandler.END
    _clear_pending(context)
    _wake_outbox(context)
    done = {
        "reply": N_("Sent to the worker under {reference}."),
        "ask": N_("Your question is sent. {reference} now waits for the worker."),
        "note": N_("Note saved on {reference}. The worker does not see it."),
    }[action]
    await forms.say(update, context, context.t(done, reference=case.reference))
    return ConversationHandler.END


async def _checked_pending_case(
    update: Update, context: BotContext, pending: dict[str, Any]
) -> tuple[Officer, Case] | None:
    """Access is checked again when the typed answer arrives: rights may have changed meanwhile."""
    found = await _pressed_case(update, context, int(pending["case_id"]), "casework")
    if found is None:
        _clear_pending(context)
    return found


def _officer_event(
    officer: Officer, case: Case, action: str, text: str | None, *, visible_to_worker: bool
) -> NewCaseEvent:
    return NewCaseEvent(
        case_id=case.id,
        actor_id=officer.telegram_id,
        actor_role=officer.role.value,
        action=action,
        note=text,
        visible_to_worker=visible_to_worker,
    )


async def _deliver_reply(
    context: BotContext, officer: Officer, case: Case, text: str | None, attachment: AttachmentIn | None
) -> None:
    storage = context.storage
    if case.status in (CaseStatus.NEW, CaseStatus.ACKNOWLEDGED, CaseStatus.REOPENED):
        # Answering the worker is working on the case.
        case = await storage.change_case_status(
            case.id,
            expected=case.status,
            new=CaseStatus.IN_PROGRESS,
            actor_id=officer.telegram_id,
            actor_role=officer.role.value,
            visible_to_worker=False,
        )
    language = await _worker_language(context, case)
    await storage.add_case_event(
        _officer_event(officer, case, "message", text, visible_to_worker=True),
        attachments=[attachment] if attachment else [],
        outbox=notify.officer_words(
            case, language, text=text, attachment=attachment, asking=False, key=_key(case, "reply", context)
        ),
    )
    logger.info("Officer reply relayed on case %s", case.reference)


async def _deliver_question(
    context: BotContext, officer: Officer, case: Case, text: str | None, attachment: AttachmentIn | None
) -> None:
    language = await _worker_language(context, case)
    news = notify.officer_words(
        case, language, text=text, attachment=None, asking=True, key=_key(case, "ask", context)
    )
    if case.status == CaseStatus.WAITING_FOR_WORKER:  # a second question while still waiting
        await context.storage.add_case_event(
            _officer_event(officer, case, "message", text, visible_to_worker=True),
            outbox=news,
        )
    else:
        await context.storage.change_case_status(
            case.id,
            expected=case.status,
            new=CaseStatus.WAITING_FOR_WORKER,
            actor_id=officer.telegram_id,
            actor_role=officer.role.value,
            note=text,
            visible_to_worker=True,
            outbox=news,
        )
    logger.info("Officer question sent on case %s", case.reference)


async def _save_note(
    context: BotContext, officer: Officer, case: Case, text: str | None, attachment: AttachmentIn | None
) -> None:
    await context.storage.add_case_event(_officer_event(officer, case, "note", text, visible_to_worker=False))


async def hint_writing(update: Update, context: BotContext) -> None:
    """A sticker, location or contact where words are expected."""
    await forms.say(update, context, context.t("Please type it as text."))


async def command_while_writing(update: Update, context: BotContext) -> None:
    pending = _pending(context) or {}
    case = await context.storage.get_case(int(pending["case_id"])) if pending.get("case_id") else None
    await forms.say(
        update,
        context,
        context.t(
            "You are writing about {reference}. Send it first, or /cancel to stop.",
            reference=case.reference if case else "—",
        ),
    )


async def cancel(update: Update, context: BotContext) -> int:
    _clear_pending(context)
    await forms.say(update, context, context.t("Cancelled. Nothing was sent or changed."))
    return ConversationHandler.END


# -- resolving ---------------------------------------------------------------------------------------


async def _choose_outcome(update: Update, context: BotContext, officer: Officer, case: Case) -> int:
    assert update.callback_query
    await update.callback_query.answer()
    rows = [
        [(context.t(OUTCOME_LABELS[outcome]), f"{OUTCOME}{case.id}:{outcome}")] for outcome in _outcomes(case)
    ]
    await forms.say(
        update,
        context,
        context.t("How did {reference} end?", reference=case.reference),
        forms.buttons(rows),
    )
    return ConversationHandler.END


async def on_outcome(update: Update, context: BotContext) -> int | None:
    """oo:<case id>:<outcome>: amounts and member numbers are asked next; other outcomes resolve now."""
    query = update.callback_query
    assert query and query.data
    match = _OUTCOME_DATA.match(query.data)
    if match is None:
        await refuse(update, context, context.t("This button is no longer active."))
        return None
    found = await _pressed_case(update, context, int(match.group(1)), "resolve")
    if found is None:
        return None
    officer, case = found
    try:
        outcome = Outcome(match.group(2))
    except ValueError:
        outcome = None
    if outcome is None or outcome not in _outcomes(case):
        await refuse(update, context, context.t("This button is no longer active."))
        return None
    if not can_move(case.status, CaseStatus.RESOLVED):
        await _refuse_status(update, context, case)
        return None
    await query.answer()
    # The question keeps the chosen answer and loses its buttons, so it cannot be pressed twice.
    await query.edit_message_text(
        context.t("Outcome: {outcome}", outcome=context.t(OUTCOME_LABELS[outcome])) + f" · {case.reference}"
    )
    _set_pending(context, action="resolve", case_id=case.id, status=case.status.value, outcome=outcome.value)
    if outcome in RECOVERED:
        await forms.say(
            update, context, context.t("How much was recovered, in yuan? For example 8500 or 8.5k.")
        )
        return AMOUNT
    if outcome == Outcome.GRANTED:
        await forms.say(update, context, context.t(ASK_GRANT))
        return GRANT_AMOUNT
    if outcome == Outcome.NOT_ELIGIBLE:
        await forms.say(update, context, context.t(ASK_REASON, limit=REASON_LIMIT))
        return REASON
    if outcome == Outcome.MEMBERSHIP_APPROVED:
        suggested = suggested_member_number(case)
        await forms.say(
            update,
            context,
            context.t("Type the new member's number, or use the suggested one."),
            forms.buttons([[(context.t("Use {number}", number=suggested), f"{MEMBER_AUTO}{case.id}")]]),
        )
        return MEMBER_NUMBER
    return await _resolve(update, context, officer, case, Resolution(outcome=outcome))


def _outcomes(case: Case) -> tuple[Outcome, ...]:
    """The outcomes an officer may record: a worker who said no to the union federation seeing their
    hardship request cannot have it referred upward (they were told so when they applied)."""
    if case.kind == CaseKind.ASSISTANCE and not case.fields.get("share_with_federation"):
        return tuple(outcome for outcome in OUTCOMES[case.kind] if outcome != Outcome.REFERRED_UPWARD)
    return OUTCOMES[case.kind]


ASK_GRANT = N_("How much does the union grant, in yuan? For example 2000 or 两千.")
ASK_REASON = N_(
    "Why is the request not eligible? Write a short reason (up to {limit} characters): "
    "the worker reads it, with what else they can do."
)


async def got_grant(update: Update, context: BotContext) -> int | None:
    """The amount granted, read like every amount (Chinese numerals too), within a sensible maximum."""
    pending = await _resolving(update, context)
    if pending is None:
        return ConversationHandler.END
    amount = await _typed_amount(update, context, maximum=MAX_GRANT, ask=context.t(ASK_GRANT))
    if amount is None:
        return None
    found = await _checked_pending_case(update, context, pending)
    if found is None:
        return ConversationHandler.END
    officer, case = found
    resolution = Resolution(outcome=Outcome.GRANTED, amount_granted=amount)
    return await _resolve(update, context, officer, case, resolution, expected=CaseStatus(pending["status"]))


async def _resolving(update: Update, context: BotContext) -> dict[str, Any] | None:
    """The resolution being recorded; when another prompt replaced it meanwhile (a worker file's), the
    officer is told that nothing was recorded, rather than hearing nothing."""
    pending = _pending(context)
    if pending is None or pending.get("action") != "resolve":
        _clear_pending(context)
        await forms.say(
            update, context, context.t("Nothing was recorded. To resolve the case, press its button again.")
        )
        return None
    return pending


async def _typed_amount(update: Update, context: BotContext, *, maximum: Decimal, ask: str) -> Decimal | None:
    """An amount as officers type it (8500, 8.5k, 一万二), up to ``maximum``; None after saying what was
    wrong with it and asking again."""
    message = update.effective_message
    assert message
    try:
        amount = parse_amount(message.text or "")
        if amount > maximum:
            raise AmountError(AmountProblem.TOO_LARGE)
    except AmountError as error:
        await forms.say(
            update,
            context,
            context.t(AMOUNT_PROBLEMS[error.problem], limit=money(context.language, maximum)) + "\n" + ask,
        )
        return None
    return amount


async def got_reason(update: Update, context: BotContext) -> int | None:
    """Why not eligible, as the officer typed it; the worker reads it (escaped) in their news."""
    pending = await _resolving(update, context)
    if pending is None:
        return ConversationHandler.END
    message = update.effective_message
    assert message
    reason = (message.text or "").strip()
    if not reason or len(reason) > REASON_LIMIT:
        await forms.say(update, context, context.t(ASK_REASON, limit=REASON_LIMIT))
        return None
    found = await _checked_pending_case(update, context, pending)
    if found is None:
        return ConversationHandler.END
    officer, case = found
    resolution = Resolution(outcome=Outcome.NOT_ELIGIBLE, reason=reason)
    return await _resolve(update, context, officer, case, resolution, expected=CaseStatus(pending["status"]))


def suggested_member_number(case: Case) -> str:
    """Year and case number: unique, and easy to read out over the phone."""
    return f"{case.created_at.year}-{case.id:05d}"


async def got_amount(update: Update, context: BotContext) -> int | None:
    pending = await _resolving(update, context)
    if pending is None:
        return ConversationHandler.END
    amount = await _typed_amount(
        update,
        context,
        maximum=MAX_AMOUNT,
        ask=context.t("How much was recovered, in yuan? For example 8500 or 8.5k."),
    )
    if amount is None:
        return None
    found = await _checked_pending_case(update, context, pending)
    if found is None:
        return ConversationHandler.END
    _, case = found
    pending["amount"] = str(amount)
    _set_pending(context, **pending)
    affected = int(case.fields.get("workers_affected") or 1)
    await forms.say(
        update,
        context,
        context.t("How many workers got money back? Type a number, or tap the button."),
        forms.buttons(
            [
                [
                    (
                        context.t.plural(
                            "{count} worker, as reported", "{count} workers, as reported", affected
                        ),
                        f"{WORKERS_DEFAULT}{case.id}:{affected}",
                    )
                ]
            ]
        ),
    )
    return WORKERS


async def got_workers(update: Update, context: BotContext) -> int | None:
    pending = _pending(context)
    query = update.callback_query
    if pending is None or pending.get("action") != "resolve" or "amount" not in pending:
        if query is not None:
            await refuse(update, context, context.t("This button is no longer active."))
        return ConversationHandler.END
    if query is not None:
        match = _WORKERS_DATA.match(query.data or "")
        if match is None or int(match.group(1)) != int(pending["case_id"]):
            await refuse(update, context, context.t("This button is no longer active."))
            return None
        count: int | None = int(match.group(2))
        await query.answer()
        await query.edit_message_reply_markup(reply_markup=None)
    else:
        count = parse_workers((update.effective_message.text if update.effective_message else "") or "")
    if count is None or not 1 <= count <= MAX_WORKERS:
        await forms.say(update, context, context.t("Please type a number of workers, like 3."))
        return None
    found = await _checked_pending_case(update, context, pending)
    if found is None:
        return ConversationHandler.END
    officer, case = found
    resolution = Resolution(
        outcome=Outcome(pending["outcome"]), amount_recovered=Decimal(pending["amount"]), workers_helped=count
    )
    return await _resolve(update, context, officer, case, resolution, expected=CaseStatus(pending["status"]))


async def got_member_number(update: Update, context: BotContext) -> int | None:
    pending = _pending(context)
    query = update.callback_query
    if pending is None or pending.get("action") != "resolve":
        if query is not None:
            await refuse(update, context, context.t("This button is no longer active."))
        return ConversationHandler.END
    found = await _checked_pending_case(update, context, pending)
    if found is None:
        return ConversationHandler.END
    officer, case = found
    if query is not None:
        match = _MEMBER_DATA.match(query.data or "")
        if match is None or int(match.group(1)) != case.id:
            await refuse(update, context, context.t("This button is no longer active."))
            return None
        await query.answer()
        await query.edit_message_reply_markup(reply_markup=None)
        number = suggested_member_number(case)
    else:
        number = ((update.effective_message.text if update.effective_message else "") or "").strip()
        if not (len(number) <= MEMBER_NUMBER_LIMIT and _MEMBER_NUMBER.match(number)):
            await forms.say(
                update,
                context,
                context.t(
                    "A member number is letters, digits and dashes, up to {limit} characters.",
                    limit=MEMBER_NUMBER_LIMIT,
                ),
            )
            return None
    resolution = Resolution(outcome=Outcome.MEMBERSHIP_APPROVED, member_number=number)
    return await _resolve(update, context, officer, case, resolution, expected=CaseStatus(pending["status"]))


async def hint_number(update: Update, context: BotContext) -> None:
    await forms.say(update, context, context.t("Please type the number."))


async def _resolve(
    update: Update,
    context: BotContext,
    officer: Officer,
    case: Case,
    resolution: Resolution,
    *,
    expected: CaseStatus | None = None,
) -> int:
    language = await _worker_language(context, case)
    news = notify.outcome_news(
        case,
        resolution.outcome,
        language,
        member_number=resolution.member_number,
        amount=resolution.amount_recovered,
        key=_key(case, "outcome", context),
        granted=resolution.amount_granted,
        reason=resolution.reason,
    )
    _clear_pending(context)
    try:
        case = await context.storage.resolve_case(
            case.id,
            expected=expected or case.status,
            resolution=resolution,
            actor_id=officer.telegram_id,
            actor_role=officer.role.value,
            outbox=news,
        )
    except StorageError:
        await _changed_meanwhile(update, context, case)
        return ConversationHandler.END
    if resolution.outcome == Outcome.MEMBERSHIP_APPROVED:
        await context.storage.update_worker_profile(
            case.worker_id, {"member_number": resolution.member_number}
        )
    _wake_outbox(context)
    logger.info("Case %s resolved: %s", case.reference, resolution.outcome)
    lines = [
        context.t(
            "✅ {reference} is resolved: {outcome}. The worker has been told.",
            reference=case.reference,
            outcome=context.t(OUTCOME_LABELS[resolution.outcome]),
        )
    ]
    # An amount typed as 一万二 is read back, so a misreading is seen before anyone counts on it.
    recorded = (
        resolution.amount_granted if resolution.amount_granted is not None else resolution.amount_recovered
    )
    if recorded is not None:
        lines.append(context.t("Amount recorded: {amount}", amount=money(context.language, recorded)))
    await forms.say(update, context, "\n".join(lines))
    return ConversationHandler.END


# -- close and reopen ---------------------------------------------------------------------------------


async def _move(update: Update, context: BotContext, officer: Officer, case: Case, new: CaseStatus) -> int:
    assert update.callback_query
    language = await _worker_language(context, case)
    try:
        case = await context.storage.change_case_status(
            case.id,
            expected=case.status,
            new=new,
            actor_id=officer.telegram_id,
            actor_role=officer.role.value,
            outbox=notify.status_news(case, new, language, key=_key(case, "news", context)),
        )
    except (CaseChanged, InvalidTransition):
        await _changed_meanwhile(update, context, case)
        return ConversationHandler.END
    _wake_outbox(context)
    await update.callback_query.answer()
    await forms.say(
        update,
        context,
        context.t(
            "{reference} is {status} now.", reference=case.reference, status=status_name(context, case.status)
        ),
    )
    return ConversationHandler.END


async def _close(update: Update, context: BotContext, officer: Officer, case: Case) -> int:
    return await _move(update, context, officer, case, CaseStatus.CLOSED)


async def _reopen(update: Update, context: BotContext, officer: Officer, case: Case) -> int:
    return await _move(update, context, officer, case, CaseStatus.REOPENED)


# -- reassigning -------------------------------------------------------------------------------------


async def _reassign(update: Update, context: BotContext, officer: Officer, case: Case) -> int:
    """Admins choose the new primary officer; an officer's press asks the admins to do it."""
    assert update.callback_query
    await update.callback_query.answer()
    if officer.role != OfficerRole.ADMIN:
        await ask_admins_to_reassign(context, officer, case)
        await forms.say(
            update,
            context,
            context.t(
                "Only admins can reassign. I have asked them to reassign {reference}.",
                reference=case.reference,
            ),
        )
        return ConversationHandler.END
    await offer_reassignment(update, context, case)
    return ConversationHandler.END


async def offer_reassignment(update: Update, context: BotContext, case: Case) -> None:
    candidates = [
        candidate
        for candidate in await context.storage.list_officers(active_only=True)
        if candidate.telegram_id != case.assignee_id
    ]
    if not candidates:
        await forms.say(
            update,
            context,
            context.t("There is no other active officer to give {reference} to.", reference=case.reference),
        )
        return
    # Officers with the case's specialty first: they can do it best.
    candidates.sort(key=lambda candidate: (case.kind not in candidate.specialties, candidate.name))
    rows = [
        [(candidate.name, f"{REASSIGN_TO}{case.id}:{candidate.telegram_id}")] for candidate in candidates[:20]
    ]
    await forms.say(
        update,
        context,
        context.t("Who should handle {reference} now?", reference=case.reference),
        forms.buttons(rows),
    )


async def ask_admins_to_reassign(context: BotContext, officer: Officer, case: Case) -> None:
    default = context.config.union.default_language
    admins = [a for a in await context.storage.list_officers(active_only=True) if a.role == OfficerRole.ADMIN]
    for admin in admins:
        language = officer_language(admin, default)
        text = translate(
            language, "{name} asks to reassign {reference}.", name=officer.name, reference=case.reference
        )
        markup = alerts.action_buttons(
            case, language, [[("reassign", N_("🔀 Reassign")), ("show", N_("📂 Open case"))]]
        )
        await context.storage.enqueue_outbox(
            notify.officer_note(
                admin.telegram_id,
                text,
                key=_key(case, f"reassign-ask:{admin.telegram_id}", context),
                markup=markup,
            )
        )
    _wake_outbox(context)


async def on_reassign_to(update: Update, context: BotContext) -> int | None:
    """or:<case id>:<officer id>, admins only."""
    query = update.callback_query
    assert query and query.data
    officer = await require_officer(update, context, action="reassign", admin=True)
    if officer is None:
        return None
    match = _REASSIGN_DATA.match(query.data)
    case = await context.storage.get_case(int(match.group(1))) if match else None
    chosen = await context.storage.get_officer(int(match.group(2))) if match else None
    if case is None or chosen is None or not chosen.active:
        await refuse(update, context, context.t("This button is no longer active."))
        return None
    await query.answer()
    await query.edit_message_reply_markup(reply_markup=None)
    await reassign(update, context, officer, case, chosen)
    return ConversationHandler.END


async def reassign(update: Update, context: BotContext, admin: Officer, case: Case, chosen: Officer) -> None:
    """Give ``case`` to ``chosen``: the old primary becomes the backup (or the next best officer does)."""
    if chosen.telegram_id == case.assignee_id:
        await forms.say(
            update,
            context,
            context.t("{name} already handles {reference}.", name=chosen.name, reference=case.reference),
        )
        return
    storage = context.storage
    officers = await storage.list_officers(active_only=True)
    backup_id = case.assignee_id
    if backup_id is None or backup_id == chosen.telegram_id:
        others = [o for o in officers if o.telegram_id != chosen.telegram_id]
        pick = choose_officers(others, await storage.officer_workloads(), kind=case.kind).primary
        backup_id = pick.telegram_id if pick else None
    by_id = {o.telegram_id: o for o in officers}
    default = context.config.union.default_language
    worker = await storage.get_worker(case.worker_id)
    profile = worker.profile if worker else {}
    attachments = await storage.list_attachments(case.id)
    outbox: list[OutboxMessage] = alerts.alert_messages(
        case,
        Assignment(chosen, by_id.get(backup_id) if backup_id is not None else None),
        attachments=[AttachmentIn.model_validate(a.model_dump()) for a in attachments],
        worker_name=str(profile.get("telegram_name") or profile.get("name") or ""),
        default_language=default,
        key=_key(case, "reassigned", context),
    )
    previous = by_id.get(case.assignee_id) if case.assignee_id is not None else None
    if previous is not None and previous.telegram_id not in (chosen.telegram_id, backup_id):
        language = officer_language(previous, default)
        outbox.append(
            notify.officer_note(
                previous.telegram_id,
                translate(
                    language,
                    "{reference} was given to {name}. You no longer need to act on it.",
                    reference=case.reference,
                    name=chosen.name,
                ),
                key=_key(case, f"reassigned-from:{previous.telegram_id}", context),
            )
        )
    await storage.reassign_case(
        case.id,
        assignee_id=chosen.telegram_id,
        backup_id=backup_id,
        actor_id=admin.telegram_id,
        actor_role=admin.role.value,
        outbox=outbox,
    )
    _wake_outbox(context)
    logger.info("Case %s reassigned", case.reference)
    await forms.say(
        update,
        context,
        context.t(
            "{reference} now goes to {name}. They have been alerted.",
            reference=case.reference,
            name=chosen.name,
        ),
    )


_ACTIONS = {
    "show": _show,
    "files": _files,
    "take": _take,
    "reply": _start_writing,
    "ask": _start_writing,
    "note": _start_writing,
    "resolve": _choose_outcome,
    "close": _close,
    "reopen": _reopen,
    "reassign": _reassign,
}


def handlers() -> list[BotHandler]:
    """One conversation, so that a typed reply or amount reaches the step that asked for it."""
    typed = filters.TEXT & ~filters.COMMAND
    return [
        ConversationHandler(
            entry_points=[
                CallbackQueryHandler(on_action, pattern=f"^{ACTION}"),
                CallbackQueryHandler(on_outcome, pattern=f"^{OUTCOME}"),
                CallbackQueryHandler(on_reassign_to, pattern=f"^{REASSIGN_TO}"),
            ],
            states={
                WRITING: [
                    MessageHandler(typed | filters.PHOTO | filters.Document.ALL, got_text),
                    MessageHandler(~filters.COMMAND, hint_writing),
                ],
                AMOUNT: [MessageHandler(typed, got_amount), MessageHandler(~filters.COMMAND, hint_number)],
                WORKERS: [
                    MessageHandler(typed, got_workers),
                    CallbackQueryHandler(got_workers, pattern=f"^{WORKERS_DEFAULT}"),
                    MessageHandler(~filters.COMMAND, hint_number),
                ],
                MEMBER_NUMBER: [
                    MessageHandler(typed, got_member_number),
                    CallbackQueryHandler(got_member_number, pattern=f"^{MEMBER_AUTO}"),
                    MessageHandler(~filters.COMMAND, hint_number),
                ],
                GRANT_AMOUNT: [
                    MessageHandler(typed, got_grant),
                    MessageHandler(~filters.COMMAND, hint_number),
                ],
                REASON: [MessageHandler(typed, got_reason), MessageHandler(~filters.COMMAND, hint_writing)],
            },
            fallbacks=[
                CommandHandler("cancel", cancel),
                MessageHandler(filters.COMMAND, command_while_writing),
            ],
            # Any case button starts over from that button, leaving a half-typed answer behind.
            allow_reentry=True,
            name="casework",
            persistent=True,
        ),
        # Outside the conversation (after a restart mid-way, or a stale keyboard): answered, not ignored.
        CallbackQueryHandler(got_workers, pattern=f"^{WORKERS_DEFAULT}"),
        CallbackQueryHandler(got_member_number, pattern=f"^{MEMBER_AUTO}"),
    ]
