"""What a case's news looks like on the other side: messages to the worker and to the officers.

Everything here builds :class:`OutboxMessage` rows; the caller hands them to storage together with the
change they announce, in one transaction, so a change is never recorded without its news or the other
way round. The worker never learns which officer wrote: the bot speaks for the union.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from decimal import Decimal

from bot.core.i18n import N_, NP_, OFFICERS, money, officer_language, translate, translate_in
from storage.models import (
    Attachment,
    AttachmentIn,
    Case,
    CaseStatus,
    Officer,
    OfficerRole,
    OutboxMessage,
    Outcome,
)

CAPTION_LIMIT = 1024  # Telegram's limit for a photo's or document's caption
QUOTE_LIMIT = 3000  # a relayed message; the rest of the 4096 is the header and its markup

# Worker-side buttons; their data is handled by flows/mycases.py.
WORKER_OPEN = "mycase:open:"
WORKER_WRITE = "mycase:write:"

# Officer-side buttons; their data is handled by bot/casework.py.
CASE_ACTION = "oc:"

# How a file is sent again, by the kind of attachment the worker or officer sent.
_SEND_FILE: dict[str, tuple[str, str]] = {
    "photo": ("sendPhoto", "photo"),
    "document": ("sendDocument", "document"),
    "voice": ("sendVoice", "voice"),
    "audio": ("sendAudio", "audio"),
    "video": ("sendVideo", "video"),
    "video_note": ("sendVideoNote", "video_note"),
}
_NO_CAPTION = frozenset({"sendVideoNote"})  # Telegram takes no caption with a round video

STATUS_NEWS: dict[CaseStatus, str] = {
    CaseStatus.ACKNOWLEDGED: N_(
        "📌 {reference}: an officer has taken your case. You will hear from them here."
    ),
    CaseStatus.IN_PROGRESS: N_("📌 {reference}: the officer is working on your case."),
    CaseStatus.CLOSED: N_(
        "{reference} is closed. Thank you. If you need us again, send a new request from the menu."
    ),
    CaseStatus.REOPENED: N_("🔄 {reference} is open again. The officer is looking at it."),
}

# What the worker reads when an officer records how a case ended. Never a bare "resolved": the worker
# hears what happened, and when wages were not (all) recovered, what they can still do and by when,
# so nobody gives up and misses the one-year limit for labour arbitration.
OUTCOME_NEWS: dict[Outcome, str] = {
    Outcome.RECOVERED_FULL: N_(
        "✅ {reference}: the union has finished. All your unpaid wages were recovered."
    ),
    Outcome.RECOVERED_PART: N_(
        "{reference}: the union has finished. Only part of your unpaid wages was recovered."
    ),
    Outcome.NOT_RECOVERED: N_("{reference}: the union has finished, but it could not get your wages back."),
    Outcome.REFERRED_INSPECTION: N_(
        "{reference}: the union has passed your case to the labour inspection office. "
        "It is not over: the officer will tell you the next steps."
    ),
    Outcome.REFERRED_ARBITRATION: N_(
        "{reference}: the union is taking your case to labour arbitration. "
        "It is not over: the officer will tell you the next steps."
    ),
    Outcome.REFERRED_COURT: N_(
        "{reference}: the union is helping you take your case to court. "
        "It is not over: the officer will tell you the next steps."
    ),
    Outcome.REFERRED_LEGAL_AID: N_(
        "{reference}: the union has passed your case to a legal-aid centre. "
        "It is not over: the officer will tell you the next steps."
    ),
    Outcome.ADVICE_GIVEN: N_(
        "✅ {reference}: the officer has given you legal advice, and the union has finished. "
        "If you need more help, write to the officer here."
    ),
    Outcome.MEMBERSHIP_APPROVED: N_(
        "🎉 Welcome to the union! Your application {reference} is approved. Your member number is {number}."
    ),
    Outcome.MEMBERSHIP_REJECTED: N_(
        "Your application {reference} was not approved this time. Write to the officer here to ask why."
    ),
    Outcome.GRANTED: N_(
        "✅ {reference}: your request for hardship help is approved. The union gives you {amount}.\n"
        "What happens next: the union officer will tell you here how and when you get the money."
    ),
    Outcome.NOT_ELIGIBLE: N_(
        "{reference}: your request for hardship help was not approved this time.\nWhy: {reason}"
    ),
    Outcome.REFERRED_UPWARD: N_(
        "{reference}: your request for hardship help has been sent to the union federation, "
        "which decides help like this. It is not over: the officer will tell you here what they decide."
    ),
}


# After "not approved": hardship help is not a one-time door, and the officer can point to other help.
STILL_OTHER_HELP = N_(
    "What you can still do:\n"
    "• If things get harder at home, ask again with /assistance.\n"
    "• Tap “Reply” to ask the officer about other help."
)


STILL_YOUR_RIGHT = N_(
    "You can still claim the rest yourself:\n"
    "• Apply for labour arbitration. It is free.\n"
    "• In general you must apply within 1 year of the day the job ended.\n"
    "Tap “Reply” if you want the officer to help you."
)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def quote(text: str | None, limit: int = QUOTE_LIMIT) -> str:
    """Typed text inside a formatted message: cut to ``limit`` and escaped, so it can never break it."""
    return html.escape(clip(text or "", limit), quote=False)


def _keyboard(rows: list[list[tuple[str, str]]]) -> dict[str, object]:
    """An inline keyboard as the Bot API takes it (outbox rows are plain JSON)."""
    return {
        "inline_keyboard": [[{"text": label, "callback_data": data} for label, data in row] for row in rows]
    }


def worker_buttons(case: Case, language: str, *, reply: bool) -> dict[str, object]:
    rows = []
    if reply:
        rows.append([(translate(language, "✉️ Reply"), f"{WORKER_WRITE}{case.id}")])
    rows.append([(translate(language, "📂 See this case"), f"{WORKER_OPEN}{case.id}")])
    return _keyboard(rows)


def officer_buttons(case: Case, language: str) -> dict[str, object]:
    """Under a relayed worker message: answer at once, or open the case."""
    return _keyboard(
        [
            [
                (translate_in("officers", language, "↩️ Reply to worker"), f"{CASE_ACTION}reply:{case.id}"),
                (translate_in("officers", language, "📂 Open case"), f"{CASE_ACTION}show:{case.id}"),
            ]
        ]
    )


def _text_message(
    chat_id: int, text: str, markup: Mapping[str, object] | None, key: str | None
) -> OutboxMessage:
    params: dict[str, object] = {"text": text, "parse_mode": "HTML"}
    if markup is not None:
        params["reply_markup"] = markup
    return OutboxMessage(chat_id=chat_id, params=params, dedupe_key=key)


def _file_message(
    chat_id: int,
    attachment: AttachmentIn | Attachment,
    caption: str,
    markup: dict[str, object] | None,
    key: str | None,
) -> OutboxMessage:
    method, field = _SEND_FILE.get(attachment.kind, ("sendDocument", "document"))
    params: dict[str, object] = {field: attachment.file_id}
    if method not in _NO_CAPTION:
        params.update(caption=caption, parse_mode="HTML")
    if markup is not None:
        params["reply_markup"] = markup
    return OutboxMessage(chat_id=chat_id, method=method, params=params, dedupe_key=key)


def can_relay(attachment: AttachmentIn | Attachment) -> bool:
    """Locations and contacts are facts on the case, not files to send on."""
    return attachment.kind in _SEND_FILE


# -- to the worker ----------------------------------------------------------------------------------


def status_news(case: Case, new: CaseStatus, language: str, *, key: str) -> list[OutboxMessage]:
    """Tell the worker their case changed status (waiting and resolved have their own messages)."""
    template = STATUS_NEWS.get(new)
    if template is None:
        return []
    text = translate(language, template, reference=case.reference)
    return [_text_message(case.worker_id, text, worker_buttons(case, language, reply=False), key)]


def outcome_news(
    case: Case,
    outcome: Outcome,
    language: str,
    *,
    member_number: str | None,
    amount: Decimal | None,
    key: str,
    granted: Decimal | None = None,
    reason: str | None = None,
) -> list[OutboxMessage]:
    """Tell the worker how their case ended, in plain words: hardship help with the amount granted, or
    why it was not approved."""
    text = translate(
        language,
        OUTCOME_NEWS[outcome],
        reference=case.reference,
        number=member_number or "",
        amount=money(language, granted) if granted is not None else "",
        reason=clip(reason or "", QUOTE_LIMIT),
    )
    if amount is not None and amount > 0:
        text += "\n" + translate(language, "Amount recovered: {amount}", amount=money(language, amount))
    if outcome in (Outcome.RECOVERED_PART, Outcome.NOT_RECOVERED):
        text += "\n\n" + translate(language, STILL_YOUR_RIGHT)
    if outcome == Outcome.NOT_ELIGIBLE:
        text += "\n\n" + translate(language, STILL_OTHER_HELP)
    reply = outcome not in (Outcome.RECOVERED_FULL, Outcome.MEMBERSHIP_APPROVED)
    return [_text_message(case.worker_id, text, worker_buttons(case, language, reply=reply), key)]


def officer_words(
    case: Case,
    language: str,
    *,
    text: str | None,
    attachment: AttachmentIn | None,
    asking: bool,
    key: str,
) -> list[OutboxMessage]:
    """An officer's reply or question, delivered under the case's reference and the union's name."""
    head = (
        translate(
            language, "❓ The union needs more information about {reference}:", reference=case.reference
        )
        if asking
        else translate(language, "💬 Message from the union about {reference}:", reference=case.reference)
    )
    tail = translate(language, "Tap “Reply” to answer.") if asking else ""
    markup = worker_buttons(case, language, reply=True)
    if attachment is not None:
        room = CAPTION_LIMIT - len(head) - len(tail) - 4
        caption = "\n\n".join(part for part in (head, quote(text, room), tail) if part)
        return [_file_message(case.worker_id, attachment, caption, markup, key)]
    body = "\n\n".join(part for part in (head, quote(text), tail) if part)
    return [_text_message(case.worker_id, body, markup, key)]


# -- to the officers --------------------------------------------------------------------------------


def officers_to_tell(case: Case, officers: Sequence[Officer]) -> list[Officer]:
    """Who hears the worker's news: the primary officer, or the backup while the primary is inactive,
    or the admins when neither is there. Nothing a worker sends is left unread."""
    active = {officer.telegram_id: officer for officer in officers if officer.active}
    for officer_id in (case.assignee_id, case.backup_id):
        if officer_id is not None and officer_id in active:
            return [active[officer_id]]
    return [officer for officer in active.values() if officer.role == OfficerRole.ADMIN]


def worker_news_for_officers(
    case: Case,
    officers: Sequence[Officer],
    default_language: str,
    *,
    text: str | None,
    attachment: AttachmentIn | None,
    key: str,
) -> list[OutboxMessage]:
    """The worker's message on a case, for the officers who should read it, each in their language."""
    return [
        message
        for officer in officers_to_tell(case, officers)
        for message in worker_words(
            case,
            officer.telegram_id,
            officer_language(officer, default_language),
            text=text,
            attachment=attachment,
            key=f"{key}:{officer.telegram_id}",
        )
    ]


WITHDRAWN = NP_("officers", "↩️ The worker withdrew {reference}. No more action is needed.")
FORGOTTEN = NP_(
    "officers",
    "↩️ The worker withdrew {reference} and asked the union to delete their data. "
    "Their name, phone, answers and files are deleted; no more action is needed. "
    "Please also delete any copies you made of them.",
)


def withdrawal_news(
    case: Case, officers: Sequence[Officer], default_language: str, *, key: str
) -> list[OutboxMessage]:
    """The worker withdrew: everyone on the case stops working on it."""
    return _to_case_officers(case, officers, default_language, WITHDRAWN, key=key)


def forgotten_news(
    case: Case, officers: Sequence[Officer], default_language: str, *, key: str
) -> list[OutboxMessage]:
    """The worker asked the union to delete their data: their open case is withdrawn, and what the
    officers had of them (name, phone, answers, files) is gone from the bot."""
    return _to_case_officers(case, officers, default_language, FORGOTTEN, key=key)


def _to_case_officers(
    case: Case, officers: Sequence[Officer], default_language: str, template: str, *, key: str
) -> list[OutboxMessage]:
    """A note for each active officer on the case (else whoever hears the worker), in their language."""
    on_case = [officer for officer in officers if officer.telegram_id in case.officers and officer.active]
    return [
        officer_note(
            officer.telegram_id,
            translate_in(
                OFFICERS, officer_language(officer, default_language), template, reference=case.reference
            ),
            key=f"{key}:{officer.telegram_id}",
        )
        for officer in on_case or officers_to_tell(case, officers)
    ]


def worker_words(
    case: Case,
    officer_id: int,
    language: str,
    *,
    text: str | None,
    attachment: AttachmentIn | None,
    key: str,
) -> list[OutboxMessage]:
    """The worker's message (and file) on a case, for one of its officers, with a reply button."""
    head = translate_in(
        "officers", language, "✉️ The worker wrote about {reference}:", reference=case.reference
    )
    markup = officer_buttons(case, language)
    if attachment is not None and can_relay(attachment):
        caption = "\n\n".join(part for part in (head, quote(text, CAPTION_LIMIT - len(head) - 2)) if part)
        return [_file_message(officer_id, attachment, caption, markup, key)]
    body = head + "\n\n" + (quote(text) if text else translate_in("officers", language, "(no text)"))
    return [_text_message(officer_id, body, markup, key)]


def officer_note(
    officer_id: int, text: str, *, key: str, markup: Mapping[str, object] | None = None
) -> OutboxMessage:
    """A short notice to an officer (already translated HTML)."""
    return _text_message(officer_id, text, markup, key)


def evidence_files(
    case: Case, officer_id: int, attachments: Sequence[AttachmentIn | Attachment], language: str, *, key: str
) -> list[OutboxMessage]:
    """The worker's files, sent after the alert so the officer sees them in the chat."""
    files = [attachment for attachment in attachments if can_relay(attachment)]
    return [
        _file_message(
            officer_id,
            attachment,
            translate_in(
                "officers",
                language,
                "{reference} · file {number} of {count}",
                reference=case.reference,
                number=number,
                count=len(files),
            )
            + (f"\n{quote(attachment.caption, 800)}" if attachment.caption else ""),
            None,
            f"{key}:{number}",
        )
        for number, attachment in enumerate(files, start=1)
    ]
