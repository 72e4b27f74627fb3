"""A worker's own data: a copy of it (/mydata), deleting it (/forget), and clearing the chat on their phone
(/deletemessages); the "🔒 Privacy" menu page offers the same.

These work from anywhere, even in the middle of a form: a worker who sees the boss coming must not first
be asked whether to keep a half-filled form. So their handlers run in a group of their own before every
conversation and stop the update there; a form that was open simply continues afterwards.

Deleting messages covers all of the bot's messages in the chat and the worker's own, not only those about
one case: a menu, a question or a "received" tells as much as a case update, and a partly cleared chat
still shows what it was about. Telegram only lets a bot delete messages in a private chat for 48 hours;
the worker is told plainly when older ones remain, and how to delete the chat themselves.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, CallbackQueryHandler, CommandHandler

from bot.cases import privacy
from bot.cases.vocabulary import KIND_LABELS, TRADE_LABELS, Trade
from bot.core.context import BotContext, BotHandler
from bot.core.i18n import LANGUAGE_NAMES, N_, Nn_, Translator, labelled, listing, span
from bot.runtime import chatlog
from bot.runtime.commands import stale_button
from bot.runtime.delivery import FailureKind, failure_of
from flows import assistance, forms, join, legal, wages
from flows.menu import menu_pattern
from flows.mycases import STATUS_LABELS, outcome_lines, what_happened
from flows.training import title_of, when
from storage.models import Attachment, Case, CaseKind, SignupStatus, TrainingStatus, Worker

logger = logging.getLogger(__name__)

PREFIX = "privacy:"
MYDATA = "privacy:mydata"
DELETE = "privacy:delete"
FORGET = "privacy:forget"
FORGET_YES = "privacy:forget:yes"
FORGET_NO = "privacy:forget:no"

FORMS: dict[CaseKind, forms.Form] = {
    CaseKind.MEMBERSHIP: join.FORM,
    CaseKind.WAGES: wages.FORM,
    CaseKind.LEGAL: legal.FORM,
    CaseKind.ASSISTANCE: assistance.FORM,
}

PROFILE_LABELS: dict[str, str] = {
    "name": N_("Name"),
    "telegram_name": N_("Name in Telegram"),
    "phone": N_("Phone"),
    "employer": N_("Workplace"),
    "trade": N_("Work"),
    "hometown": N_("Hometown"),
    "workplace": N_("Working in"),
    "member_number": N_("Member number"),
}

FILE_LABELS: dict[str, str] = {
    "photo": N_("Photo"),
    "document": N_("File"),
    "voice": N_("Voice note"),
    "audio": N_("Audio"),
    "video": N_("Video"),
    "video_note": N_("Round video"),
}

OLDER_REMAIN = N_(
    "Messages older than 48 hours could not be deleted: Telegram does not let a bot delete them. "
    "To remove them too, delete this chat in Telegram (press and hold the chat, then Delete)."
)
NOT_DELETED_TRY_AGAIN = Nn_(
    "{count} message may not have been deleted: Telegram did not answer as it should just now. "
    "Send /deletemessages again in a minute, or delete this chat in Telegram yourself "
    "(press and hold the chat, then Delete).",
    "{count} messages may not have been deleted: Telegram did not answer as it should just now. "
    "Send /deletemessages again in a minute, or delete this chat in Telegram yourself "
    "(press and hold the chat, then Delete).",
)
NOT_DELETED_DELETE_CHAT = Nn_(
    "{count} message may not have been deleted: Telegram did not answer as it should just now. "
    "To remove it, delete this chat in Telegram yourself (press and hold the chat, then Delete).",
    "{count} messages may not have been deleted: Telegram did not answer as it should just now. "
    "To remove them, delete this chat in Telegram yourself (press and hold the chat, then Delete).",
)
MYDATA_CAPTION = N_(
    "Everything we keep about you. Keep this file safe: anyone who sees it learns what you told us."
)
MYDATA_NOT_SENT = N_(
    "Sorry, the file may not have reached you: Telegram did not take it just now. "
    "If you do not see it above, please send /mydata again in a few minutes."
)


def _stop(callback: Any) -> Any:
    """Handle the update here and nowhere else (ApplicationHandlerStop), see the module docstring."""

    async def handler(update: Update, context: BotContext) -> None:
        await callback(update, context)
        raise ApplicationHandlerStop

    handler.__doc__ = callback.__doc__
    return handler


def _when(context: BotContext, moment: datetime, *, time: bool = True) -> str:
    return moment.astimezone(context.config.union.zone).strftime("%Y-%m-%d %H:%M" if time else "%Y-%m-%d")


async def _answer(update: Update) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()


# -- the privacy page ------------------------------------------------------------------------------------


async def show_page(update: Update, context: BotContext) -> None:
    """What is kept and who sees it, with the three things a worker can do about it."""
    await _answer(update)
    rules = context.config.privacy
    text = context.t(
        "🔒 Your data and your safety\n"
        "• Who sees what you tell us: the union officers handling your case, and the union's admins.\n"
        "• To get your wages back, the union may show your case (boss, site, amount, dates) to labour "
        "inspection, arbitration, a court or the boss. Your name and phone go with it only if you said yes.\n"
        "• The boss may still guess who reported from those details, most of all if you reported alone.\n"
        "• {closed} after a case ends, we keep it without your name. "
        "If you do not use the bot for {inactive}, your profile is deleted.\n"
        "• You can get a copy of everything we keep, delete it, "
        "and delete the bot's messages on your phone.",
        closed=span(context.language, rules.retain_closed),
        inactive=span(context.language, rules.retain_inactive_workers),
    )
    # Who else may see a hardship request (flows/assistance.py asks; the officers cannot refer it without).
    text += "\n" + context.t(
        "• A request for hardship help goes to the union federation above the township only if you said yes."
    )
    markup = forms.buttons(
        [
            [(context.t("📄 A copy of my data"), MYDATA)],
            [(context.t("🧹 Delete the messages in this chat"), DELETE)],
            [(context.t("🗑 Delete all my data"), FORGET)],
        ]
    )
    await forms.say(update, context, text, markup)


# -- /mydata ---------------------------------------------------------------------------------------------


async def send_my_data(update: Update, context: BotContext) -> None:
    """Everything stored about the worker, as a text file in their language; recorded as an export."""
    await _answer(update)
    assert update.effective_user and update.effective_chat
    storage = context.storage
    worker = await storage.get_worker(update.effective_user.id)
    if worker is None:
        await forms.say(update, context, context.t("We keep no data about you."))
        return
    cases = await storage.list_cases_for_worker(worker.telegram_id)
    document = await my_data_document(context, worker, cases)
    now = context.clock.now()
    try:
        await context.bot.send_document(
            update.effective_chat.id,
            document=document.encode("utf-8"),
            filename=f"my-data-{_when(context, now, time=False)}.txt",
            caption=context.t(MYDATA_CAPTION),
        )
    except TelegramError as error:
        failure = failure_of(error)
        if failure.kind == FailureKind.BLOCKED:
            raise  # nothing can be told; the error handler marks them (bot/commands.py)
        logger.warning("A worker's copy of their data was not sent (%s)", failure)
        await forms.say(update, context, context.t(MYDATA_NOT_SENT))
        return
    # Recorded once Telegram took the file: the audit trail tells what reached the worker. (A timeout
    # may hide a file that did arrive; the worker is told to look, and asking again is recorded.)
    for case in cases:
        await privacy.record_export(
            storage, case, actor_id=worker.telegram_id, actor_role="worker", what=privacy.EXPORT_MYDATA
        )
    logger.info("A worker's copy of their data was sent (%d case(s))", len(cases))


async def my_data_document(context: BotContext, worker: Worker, cases: list[Case]) -> str:
    """The readable document: the worker, then each case with its answers, history and files."""
    t = context.t
    lines = [
        t("{union}: what we keep about you", union=context.config.union.name_in(context.language)),
        t("Made on {date}", date=_when(context, context.clock.now())),
        "",
        _heading(t("About you")),
        _pair(t.language, t("Telegram user id"), str(worker.telegram_id)),
        _pair(t.language, t("Language"), LANGUAGE_NAMES.get(worker.language or "", "—")),
    ]
    if worker.consent_at is not None:
        consent = t(
            "{date} (text version {version})",
            date=_when(context, worker.consent_at),
            version=worker.consent_version or "—",
        )
    else:
        consent = t("not given")
    lines.append(_pair(t.language, t("Agreed to how we keep data"), consent))
    lines.append(_pair(t.language, t("First contact"), _when(context, worker.created_at)))
    if worker.last_seen_at is not None:
        lines.append(_pair(t.language, t("Last message to the bot"), _when(context, worker.last_seen_at)))
    for key, value in worker.profile.items():
        lines.append(_pair(t.language, _profile_label(t, key), _profile_value(t, key, value)))
    if not cases:
        lines += ["", t("You have no cases.")]
    for case in cases:
        lines += ["", *await _case_lines(context, case)]
    lines += await _training_lines(context, worker)
    lines += [
        "",
        _heading(t("Not in this file")),
        t("Notes the union officers write for each other about your cases."),
        t("Notes and a help plan the union officers may keep about you."),
        t("The files you sent stay with Telegram; the union keeps only a reference to them."),
        "",
        t("To delete your data: /forget. To delete the bot's messages in this chat: /deletemessages."),
    ]
    return "\n".join(lines) + "\n"


# Where a worker stands with a training, in their words.
SIGNUP_WORDS: dict[SignupStatus, str] = {
    SignupStatus.CONFIRMED: N_("you have a seat"),
    SignupStatus.WAITING: N_("on the waiting list"),
    SignupStatus.CANCELLED: N_("you cancelled"),
}
ATTENDANCE_WORDS: dict[bool, str] = {True: N_("you came"), False: N_("marked as not there")}


async def _training_lines(context: BotContext, worker: Worker) -> list[str]:
    """The trainings they signed up for: when, and where they stand."""
    t = context.t
    signed_up = await context.storage.list_worker_trainings(worker.telegram_id)
    if not signed_up:
        return []
    lines = ["", _heading(t("Trainings"))]
    zone = context.config.union.zone
    for item in signed_up:
        words = [t(SIGNUP_WORDS[item.signup.status])]
        if item.training.status == TrainingStatus.CANCELLED:
            words.append(t("called off"))
        if item.signup.attended is not None:
            words.append(t(ATTENDANCE_WORDS[item.signup.attended]))
        parts = [title_of(item.training, t.language), when(item.training, t.language, zone), *words]
        lines.append("  " + " · ".join(parts))
    return lines


def _heading(text: str) -> str:
    return f"== {text} =="


def _pair(language: str, label: str, value: str) -> str:
    return labelled(language, label, value)


def _profile_label(t: Translator, key: str) -> str:
    return t(PROFILE_LABELS[key]) if key in PROFILE_LABELS else key


def _profile_value(t: Translator, key: str, value: object) -> str:
    if key == "trade":
        try:
            return t(TRADE_LABELS[Trade(str(value))])
        except ValueError:
            pass
    return str(value)


async def _case_lines(context: BotContext, case: Case) -> list[str]:
    t = context.t
    storage = context.storage
    events = await storage.list_case_events(case.id, worker_visible_only=True)
    attachments = await storage.list_attachments(case.id)
    lines = [
        _heading(f"{case.reference} · {t(KIND_LABELS[case.kind])}"),
        t("Status: {status}", status=t(STATUS_LABELS[case.status])),
        *outcome_lines(context, case, plain_text=True),
        _pair(t.language, t("Received"), _when(context, case.created_at)),
        "",
        t("What you told us:"),
    ]
    for label, value in FORMS[case.kind].describe(context, _answers(case, attachments)):
        if value:
            lines.append("  " + labelled(context.language, label, value))
    lines += ["", t("What happened:")]
    for event in events:
        lines.append(f"  {_when(context, event.created_at)} — {what_happened(context, event)}")
        if event.note:
            lines += [f"    {line}" for line in event.note.splitlines()]
    if attachments:
        lines += ["", t("Files:")]
        for number, attachment in enumerate(attachments, start=1):
            kind = t(FILE_LABELS[attachment.kind]) if attachment.kind in FILE_LABELS else attachment.kind
            parts = [f"  {number}. {kind}", _when(context, attachment.created_at)]
            parts += [part for part in (attachment.file_name, attachment.caption) if part]
            lines.append(" · ".join(parts))
    return lines


def _answers(case: Case, attachments: list[Attachment]) -> dict[str, Any]:
    """The stored answers as the form's summary reads them (files as the form's evidence list)."""
    voice = case.fields.get("voice_file_id")
    answers = dict(case.fields)
    answers["evidence"] = [{"file_id": a.file_id} for a in attachments if a.file_id != voice]
    if voice:
        answers["voice"] = {"file_id": voice}
    return answers


# -- /deletemessages -------------------------------------------------------------------------------------


async def delete_messages(update: Update, context: BotContext) -> None:
    """Delete the chat's messages, the bot's and the worker's, as far as Telegram allows."""
    await _answer(update)
    assert update.effective_chat
    await context.union_app.write_notes()  # the ids noted since the last commit are deleted too
    deletion = await chatlog.delete_recent(
        context.bot, context.storage, update.effective_chat.id, context.clock.now()
    )
    lines = [
        context.t.plural(
            "Deleted {count} message from this chat.",
            "Deleted {count} messages from this chat.",
            deletion.deleted,
        )
    ]
    if deletion.failed:
        lines.append(context.t.plural(*NOT_DELETED_TRY_AGAIN, deletion.failed))
    if deletion.older_remain:
        lines.append(context.t(OLDER_REMAIN))
    await forms.say(update, context, "\n\n".join(lines))


# -- /forget ---------------------------------------------------------------------------------------------


async def ask_forget(update: Update, context: BotContext) -> None:
    """Say exactly what will go and what stays, and ask; first of all, that open cases stop."""
    assert update.effective_user
    await _answer(update)
    markup = forms.buttons(
        [[(context.t("🗑 Yes, delete my data"), FORGET_YES)], [(context.t("No, keep my data"), FORGET_NO)]]
    )
    cases = await context.storage.list_cases_for_worker(update.effective_user.id)
    still_open = [case.reference for case in cases if case.is_open]
    lines = []
    if still_open:
        lines.append(
            context.t(
                "⚠️ The union will stop working on {references}. Nobody will chase your wages or answer "
                "your request any more.",
                references=listing(context.language, still_open),
            )
        )
    lines.append(
        context.t(
            "Delete all your data?\n"
            "• Your profile (name, phone and the rest), your language and your agreement are deleted.\n"
            "• Your cases stay in the union's records only as the kind of case, dates, amounts and how "
            "it ended: without your name, phone, answers, messages or files.\n"
            "• The messages in this chat from the last 48 hours are deleted too.\n"
            "• You will no longer get union news.\n"
            "This cannot be undone. Send /mydata first if you want a copy."
        )
    )
    await forms.say(update, context, "\n\n".join(lines), markup)


async def forget(update: Update, context: BotContext) -> None:
    """Confirmed: clear the chat while the records still say which messages, then erase the worker."""
    query = update.callback_query
    assert query and update.effective_user and update.effective_chat
    await query.answer()
    t = context.t  # in their language, which is erased with the rest
    user_id = update.effective_user.id
    await context.union_app.write_notes()  # the ids noted since the last commit are deleted too
    deletion = await chatlog.delete_recent(context.bot, context.storage, user_id, context.clock.now())
    forgotten = await privacy.forget(context.union_app, user_id)
    lines = [t("Your data is deleted.")]
    if forgotten.withdrawn:
        lines.append(
            t(
                "Withdrawn: {references}. The officers have been told.",
                references=listing(context.language, forgotten.withdrawn),
            )
        )
    if forgotten.anonymised:
        lines.append(
            t.plural(
                "{count} case stays in the union's records without your details.",
                "{count} cases stay in the union's records without your details.",
                len(forgotten.anonymised),
            )
        )
    lines.append(
        t.plural(
            "Deleted {count} message from this chat.",
            "Deleted {count} messages from this chat.",
            deletion.deleted,
        )
    )
    if deletion.failed:
        # Their ids are forgotten with the rest: only the worker can delete these now.
        lines.append(t.plural(*NOT_DELETED_DELETE_CHAT, deletion.failed))
    if deletion.older_remain:
        lines.append(t(OLDER_REMAIN))
    lines.append(t("You will not get union news any more. Send /start if you want to use the bot again."))
    await context.bot.send_message(update.effective_chat.id, "\n\n".join(lines))


async def keep(update: Update, context: BotContext) -> None:
    """Not deleted."""
    query = update.callback_query
    assert query
    await query.answer()
    await query.edit_message_text(context.t("Nothing was deleted."))


async def on_button(update: Update, context: BotContext) -> None:
    """privacy:… buttons; anything else under the prefix is stale or forged."""
    query = update.callback_query
    assert query
    action = {
        MYDATA: send_my_data,
        DELETE: delete_messages,
        FORGET: ask_forget,
        FORGET_YES: forget,
        FORGET_NO: keep,
    }.get(query.data or "")
    await (action or stale_button)(update, context)


def handlers() -> list[BotHandler]:
    """Registered in flows.PRIVACY_GROUP, before every conversation (bot/app.py)."""
    return [
        CommandHandler("mydata", _stop(send_my_data)),
        CommandHandler("forget", _stop(ask_forget)),
        CommandHandler("deletemessages", _stop(delete_messages)),
        CallbackQueryHandler(_stop(on_button), pattern=f"^{PREFIX}"),
        CallbackQueryHandler(_stop(show_page), pattern=menu_pattern("privacy")),
    ]
