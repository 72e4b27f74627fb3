"""The messages that tell officers about a new case: the primary officer's alert and the backup's note.

Written in the officer's language (the first they list, else the union's default). Everything the
worker typed is escaped and cut to a sane length, so an alert is valid HTML and stays under Telegram's
4096 characters. The worker is named by their Telegram first name; a phone number appears only when
the worker gave one in the form.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from babel.dates import format_date

from bot.cases.assignment import Assignment
from bot.cases.notify import CASE_ACTION, evidence_files
from bot.cases.vocabulary import (
    CONTACT_LABELS,
    CONTRACT_LABELS,
    COUNT_LABELS,
    HELP_LABELS,
    KIND_LABELS,
    MONTH_LABELS,
    PROBLEM_LABELS,
    SCHOOL_LABELS,
    THERE_IS_LABELS,
    TIME_LABELS,
    TRADE_LABELS,
    ContactMethod,
    ContactTime,
    Contract,
    HelpKind,
    HouseholdCount,
    Problem,
    SchoolLevel,
    Trade,
    YesNo,
)
from bot.core.i18n import (
    N_,
    NP_,
    OFFICERS,
    Html,
    labelled,
    locale_dir_name,
    money,
    officer_language,
    translate_in,
    translate_plural_in,
)
from storage.models import Attachment, AttachmentIn, Case, CaseKind, Officer, OutboxMessage, Priority

InlineKeyboardJson = dict[str, list[list[dict[str, str]]]]  # {"inline_keyboard": rows of buttons}

MESSAGE_LIMIT = 4096  # Telegram's limit for a message's text
TEXT_LIMIT = 300  # one typed answer in an alert
DESCRIPTION_LIMIT = 1500  # "what happened", the longest free text a form takes


# The actions an alert offers, in button order: (callback action, label). bot/casework.py handles them.
ALERT_ACTIONS: list[list[tuple[str, str]]] = [
    [("take", N_("✋ Take it")), ("reply", N_("↩️ Reply to worker"))],
    [("ask", N_("❓ Ask for information")), ("note", N_("📝 Internal note"))],
    [("resolve", N_("✅ Resolve")), ("reassign", N_("🔀 Reassign"))],
]


# The form's field labels, as officers word them where workers read plainer words (bot/locales/
# glossary.toml): marked here so the catalog keeps both, and found by translate_in(OFFICERS, ...).
OFFICERS_LABELS = (
    NP_("officers", "Who owes"),
    NP_("officers", "Project / site"),
    NP_("officers", "Work done"),
    NP_("officers", "Unpaid for"),
    NP_("officers", "Workers affected"),
    NP_("officers", "What happened"),
    NP_("officers", "Best time"),
    NP_("officers", "Hometown"),
    NP_("officers", "Workplace"),
    NP_("officers", "Working in"),
    NP_("officers", "Message me here in Telegram"),
    # Hardship assistance: what was asked for and the household, in the officers' words.
    NP_("officers", "Hardship grant"),
    NP_("officers", "School grant for my child"),
    NP_("officers", "Help with medical costs"),
    NP_("officers", "Emergency: accident or lost job"),
    NP_("officers", "Help asked for"),
    NP_("officers", "Child's school"),
    NP_("officers", "People earning money"),
    NP_("officers", "People who depend on you"),
    NP_("officers", "Serious illness in the family"),
    NP_("officers", "Disability in the family"),
    NP_("officers", "Monthly family income"),
    NP_("officers", "Nobody"),
    NP_("officers", "1 person"),
    NP_("officers", "2 people"),
    NP_("officers", "3 or more"),
    NP_("officers", "Yes, there is"),
    NP_("officers", "No, nobody"),
)


def action_buttons(case: Case, language: str, rows: list[list[tuple[str, str]]]) -> InlineKeyboardJson:
    """Inline buttons for case actions, as Bot API JSON (the outbox stores plain JSON)."""
    return {
        "inline_keyboard": [
            [
                {
                    "text": translate_in(OFFICERS, language, label),
                    "callback_data": f"{CASE_ACTION}{action}:{case.id}",
                }
                for action, label in row
            ]
            for row in rows
        ]
    }


def alert_messages(
    case: Case,
    assignment: Assignment,
    *,
    attachments: Sequence[AttachmentIn],
    worker_name: str,
    default_language: str,
    key: str = "alert",
) -> list[OutboxMessage]:
    """The primary's alert (with its buttons and then the evidence files) and the backup's note, keyed so
    that queueing them again sends nothing new."""
    primary, backup = assignment.primary, assignment.backup
    if primary is None:
        return []
    language = officer_language(primary, default_language)
    alert = primary_alert(
        case, language, backup=backup, evidence=evidence_count(case, attachments), worker_name=worker_name
    )
    messages = [
        OutboxMessage(
            chat_id=primary.telegram_id,
            params={
                "text": alert,
                "parse_mode": "HTML",
                "reply_markup": action_buttons(case, language, ALERT_ACTIONS),
            },
            dedupe_key=f"{key}:{case.id}:{primary.telegram_id}",
        ),
        *evidence_files(
            case,
            primary.telegram_id,
            _evidence(case, attachments),
            language,
            key=f"{key}-files:{case.id}:{primary.telegram_id}",
        ),
        *_site_location(case, primary.telegram_id, key=f"{key}-location:{case.id}:{primary.telegram_id}"),
    ]
    if backup is not None:
        note = backup_note(case, officer_language(backup, default_language), primary=primary)
        messages.append(
            OutboxMessage(
                chat_id=backup.telegram_id,
                params={"text": note, "parse_mode": "HTML"},
                dedupe_key=f"{key}:{case.id}:{backup.telegram_id}",
            )
        )
    return messages


def _site_location(case: Case, chat_id: int, *, key: str) -> list[OutboxMessage]:
    """The site's location as a map pin, when the worker sent one from the site."""
    location = case.fields.get("location")
    if not isinstance(location, dict) or "latitude" not in location or "longitude" not in location:
        return []
    return [
        OutboxMessage(
            chat_id=chat_id,
            method="sendLocation",
            params={"latitude": location["latitude"], "longitude": location["longitude"]},
            dedupe_key=key,
        )
    ]


_Attachment = TypeVar("_Attachment", bound=AttachmentIn | Attachment)


def _evidence(case: Case, attachments: Sequence[_Attachment]) -> list[_Attachment]:
    voice = case.fields.get("voice_file_id")
    return [attachment for attachment in attachments if attachment.file_id != voice]


def evidence_count(case: Case, attachments: Sequence[AttachmentIn | Attachment]) -> int:
    """Files the worker sent as proof (a legal-aid voice description is the story, not evidence)."""
    return len(_evidence(case, attachments))


def primary_alert(
    case: Case, language: str, *, backup: Officer | None, evidence: int, worker_name: str
) -> str:
    """Everything the primary officer needs to pick the case up."""

    def t(msgid: str, /, **params: object) -> str:
        return translate_in(OFFICERS, language, msgid, **params)

    lines = []
    if case.priority == Priority.HIGH:
        workers = case.fields.get("workers_affected", 2)
        lines.append(
            _bold(t("🔴 Collective case: {count} workers affected. Handle it first.", count=workers))
        )
    elif case.priority == Priority.URGENT and case.kind == CaseKind.ASSISTANCE:
        lines.append(
            _bold(t("🔴 Urgent: an emergency (an accident or a lost job). Contact the worker soon."))
        )
    elif case.priority == Priority.URGENT and case.fields.get("deadline_passed"):
        lines.append(_bold(t("🔴 Urgent: the worker says a time limit has already passed.")))
    elif case.priority == Priority.URGENT:
        lines.append(_bold(t("🔴 Urgent: the worker's deadline is within a week.")))
    lines.append(
        _bold(t("🆕 New case {reference}: {kind}", reference=case.reference, kind=t(KIND_LABELS[case.kind])))
    )
    if backup is not None:
        lines.append(t("You are the primary officer. Backup: {name}.", name=backup.name))
    else:
        lines.append(t("You are the primary officer. There is no backup."))
    lines.append("")
    lines.extend(case_facts(case, language, worker_name=worker_name, evidence=evidence))
    # Every typed answer is cut to TEXT_LIMIT (DESCRIPTION_LIMIT for the story), so this stays well
    # under MESSAGE_LIMIT, which Telegram counts after the HTML is parsed.
    return "\n".join(lines)


def case_facts(case: Case, language: str, *, worker_name: str, evidence: int) -> list[str]:
    """The key facts of a case as HTML lines: what the worker told us, and how many files they sent."""
    facts = {
        CaseKind.WAGES: _wages_facts,
        CaseKind.LEGAL: _legal_facts,
        CaseKind.MEMBERSHIP: _membership_facts,
        CaseKind.ASSISTANCE: _assistance_facts,
    }[case.kind](case.fields, language, worker_name)
    if case.kind != CaseKind.MEMBERSHIP:
        files = (
            translate_plural_in(OFFICERS, language, "{count} file", "{count} files", evidence)
            if evidence
            else translate_in(OFFICERS, language, "none")
        )
        facts.append(_line(language, translate_in(OFFICERS, language, "Evidence"), files))
    return facts


def backup_note(case: Case, language: str, *, primary: Officer) -> str:
    """Short: the backup only needs to know the case exists and who has it."""
    return translate_in(
        OFFICERS,
        language,
        "You are the backup for {reference} ({kind}). Primary officer: {name}. "
        "If they are away, take the case over.",
        reference=case.reference,
        kind=translate_in(OFFICERS, language, KIND_LABELS[case.kind]),
        name=primary.name,
    )


def disclosure_line(fields: dict[str, Any], language: str) -> str:
    """The worker's choice, first among a case's facts: the employer learns who reported only on a yes.

    A hidden worker who reported alone can still be recognised by the details, and the officer is told.
    """
    if fields.get("disclose_identity"):
        return translate_in(
            OFFICERS, language, "The worker agreed that their name and phone may go to the employer."
        )
    line = _bold(translate_in(OFFICERS, language, "⚠️ The employer must NOT learn who reported this."))
    if fields.get("workers_affected") == 1:  # a wages case; legal aid asks no count
        line += "\n" + translate_in(
            OFFICERS,
            language,
            "They reported alone: the site, amount and dates may tell the employer who it was. "
            "Think before showing them outside the union.",
        )
    return line


# -- facts per kind ---------------------------------------------------------------------------------


def _wages_facts(fields: dict[str, Any], language: str, worker_name: str) -> list[str]:
    def t(msgid: str, /, **params: object) -> str:
        return translate_in(OFFICERS, language, msgid, **params)

    site = _text(fields.get("site"))
    if fields.get("location"):
        site = t("{site} (📍 location sent)", site=Html(site)) if site else t("📍 location sent")
    months = fields.get("unpaid_months")
    if fields.get("unpaid_for"):
        unpaid_for = _text(fields["unpaid_for"])
    else:
        unpaid_for = t(MONTH_LABELS[months]) if months in MONTH_LABELS else _text(months)
    workers = int(fields.get("workers_affected", 1))
    affected = (
        t("{count} (collective case)", count=workers) if workers > 1 else t("only the worker who reported")
    )
    return [
        disclosure_line(fields, language),
        _line(language, t("Who owes"), _text(fields.get("employer"))),
        _line(language, t("Project / site"), site),
        _line(language, t("Work done"), _text(fields.get("work"))),
        _line(language, t("Unpaid for"), unpaid_for),
        _line(language, t("Amount owed"), _amount(language, fields.get("amount_owed"))),
        _line(language, t("Workers affected"), affected),
        _line(
            language,
            t("Written contract"),
            _label(language, CONTRACT_LABELS, Contract, fields.get("contract")),
        ),
        _line(language, t("Worker"), t("{name}, in Telegram", name=_clip(worker_name, TEXT_LIMIT))),
    ]


def _legal_facts(fields: dict[str, Any], language: str, worker_name: str) -> list[str]:
    def t(msgid: str, /, **params: object) -> str:
        return translate_in(OFFICERS, language, msgid, **params)

    if fields.get("description"):
        what = _text(fields["description"], DESCRIPTION_LIMIT)
    else:
        what = t("🎤 voice note")
    deadline = fields.get("deadline")
    when = (
        format_date(date.fromisoformat(deadline), "full", locale=locale_dir_name(language))
        if deadline
        else t("a time limit has already passed (no date given)")
        if fields.get("deadline_passed")
        else t("none known")
    )
    lines = [
        # Legal aid does not ask: the default holds, and the employer is not told.
        disclosure_line(fields, language),
        _line(language, t("Problem"), _label(language, PROBLEM_LABELS, Problem, fields.get("problem"))),
        _line(language, t("What happened"), what),
        _line(language, t("Deadline or hearing"), when),
        _line(language, t("Worker"), t("{name}, in Telegram", name=_clip(worker_name, TEXT_LIMIT))),
        _line(
            language,
            t("Contact"),
            _label(language, CONTACT_LABELS, ContactMethod, fields.get("contact_method")),
        ),
    ]
    if fields.get("phone"):  # only there when the worker asked to be called
        lines.append(_line(language, t("Phone"), _text(fields["phone"])))
    lines.append(
        _line(
            language, t("Best time"), _label(language, TIME_LABELS, ContactTime, fields.get("contact_time"))
        )
    )
    return lines


def _membership_facts(fields: dict[str, Any], language: str, worker_name: str) -> list[str]:
    def t(msgid: str, /, **params: object) -> str:
        return translate_in(OFFICERS, language, msgid, **params)

    return [
        _line(language, t("Name"), _text(fields.get("name"))),
        _line(language, t("Phone"), _text(fields.get("phone"))),  # given in the form, for the roster
        _line(language, t("Workplace"), _text(fields.get("employer"))),
        _line(language, t("Work"), _label(language, TRADE_LABELS, Trade, fields.get("trade"))),
        _line(language, t("Hometown"), _text(fields.get("hometown"))),
        _line(language, t("Working in"), _text(fields.get("workplace"))),
        _line(language, t("Worker"), t("{name}, in Telegram", name=_clip(worker_name, TEXT_LIMIT))),
    ]


def federation_line(fields: dict[str, Any], language: str) -> str:
    """The worker's choice, first among an assistance case's facts: whether the application may go to
    the union federation (总工会) when the grant is decided above the township."""
    if fields.get("share_with_federation"):
        return translate_in(
            OFFICERS,
            language,
            "The worker agreed that this application may go to the union federation if it decides.",
        )
    return _bold(
        translate_in(
            OFFICERS,
            language,
            "⚠️ The worker did NOT agree to send this application to the union federation: "
            "it cannot be referred upward.",
        )
    )


def _assistance_facts(fields: dict[str, Any], language: str, worker_name: str) -> list[str]:
    def t(msgid: str, /, **params: object) -> str:
        return translate_in(OFFICERS, language, msgid, **params)

    if fields.get("description"):
        what = _text(fields["description"], DESCRIPTION_LIMIT)
    elif fields.get("voice_file_id"):
        what = t("🎤 voice note")
    else:
        what = t("nothing written")
    lines = [
        federation_line(fields, language),
        _line(
            language, t("Help asked for"), _label(language, HELP_LABELS, HelpKind, fields.get("help_kind"))
        ),
    ]
    if fields.get("school_level"):
        lines.append(
            _line(
                language,
                t("Child's school"),
                _label(language, SCHOOL_LABELS, SchoolLevel, fields.get("school_level")),
            )
        )
    lines += [
        _line(
            language,
            t("People earning money"),
            _label(language, COUNT_LABELS, HouseholdCount, fields.get("earners")),
        ),
        _line(
            language,
            t("People who depend on you"),
            _label(language, COUNT_LABELS, HouseholdCount, fields.get("dependants")),
        ),
        _line(language, t("Serious illness in the family"), _there_is(language, fields.get("illness"))),
        _line(language, t("Disability in the family"), _there_is(language, fields.get("disability"))),
        _line(language, t("Monthly family income"), _amount(language, fields.get("monthly_income"))),
        _line(language, t("What happened"), what),
        _line(language, t("Worker"), t("{name}, in Telegram", name=_clip(worker_name, TEXT_LIMIT))),
    ]
    return lines


# -- helpers ----------------------------------------------------------------------------------------


def _there_is(language: str, value: object) -> str:
    """A stored yes/no household answer, as officers word it (有 / 无)."""
    if value is None:
        return ""
    return translate_in(OFFICERS, language, THERE_IS_LABELS[YesNo.YES if value else YesNo.NO])


def _line(language: str, label: str, value: str) -> str:
    """``label: value``, both already HTML: translated messages, or typed text passed through _text."""
    return labelled(language, f"<b>{label}</b>", value)


def _text(value: object, limit: int = TEXT_LIMIT) -> str:
    """What the worker typed, cut to ``limit`` characters and escaped for HTML."""
    return html.escape(_clip(str(value or ""), limit), quote=False)


def _bold(text: str) -> str:
    return f"<b>{text}</b>"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _amount(language: str, value: object) -> str:
    if value is None:
        return ""
    return money(language, Decimal(str(value)))


def _label(language: str, labels: dict[Any, str], choices: type[Any], value: object) -> str:
    """The translated label of a stored choice; an unknown value is shown as stored, escaped."""
    try:
        return translate_in(OFFICERS, language, labels[choices(value)])
    except (ValueError, KeyError):
        return html.escape(str(value or ""), quote=False)
