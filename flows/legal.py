"""Ask for legal aid (/legal): the problem, what happened, any date coming up, documents, how and when
to be contacted; then submit.

Submitting files a legal-aid case (法律援助); a date within a week makes it urgent. Unpaid wages have
their own form, so choosing that problem hands the worker over to it instead.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from babel.dates import format_date
from pydantic import BaseModel, model_validator
from pydantic import Field as ModelField
from telegram import Update
from telegram.ext import CallbackQueryHandler, ConversationHandler

from bot.cases.vocabulary import (
    CONTACT_LABELS,
    PROBLEM_LABELS,
    TIME_LABELS,
    ContactMethod,
    ContactTime,
    Problem,
)
from bot.core.context import BotContext, BotHandler
from bot.core.i18n import N_, Html, labelled, locale_dir_name
from bot.runtime.commands import stale_button
from flows import evidence, forms, phone
from flows.menu import MENU_PREFIX
from flows.phone import normalise_phone
from storage.models import CaseKind, NewCase, Priority

PROBLEM, DESCRIPTION, DEADLINE, DOCUMENTS, CONTACT, PHONE, CONTACT_TIME, SUMMARY = range(300, 308)

PROBLEM_PREFIX = "legal:problem:"
NO_DEADLINE = "legal:deadline:none"
DEADLINE_PASSED = "legal:deadline:passed"
CONTACT_PREFIX = "legal:contact:"
SAVED_PHONE = "legal:phone:saved"
TIME_PREFIX = "legal:time:"

DESCRIPTION_LIMIT = 2000
# A date typed in words ("next Tuesday afternoon, 3 o'clock") fits; longer is a story, not a date.
DEADLINE_TYPED_LIMIT = 100
URGENT_WITHIN = timedelta(days=7)
# A date this far ahead is more likely a typo in the year than a real hearing.
LATEST_AHEAD = timedelta(days=2 * 365)
# A date typed without a year that fell this recently means this year (already past), not next year.
RECENT_PAST = timedelta(days=60)


class DescriptionKind(StrEnum):
    TEXT = "text"
    VOICE = "voice_note"


class LegalFields(BaseModel):
    """What a legal-aid request holds."""

    problem: Problem
    description_kind: DescriptionKind
    description: str | None = ModelField(default=None, min_length=1, max_length=DESCRIPTION_LIMIT)
    # The voice note's file id when the worker told it by voice; the note is also the first attachment.
    voice_file_id: str | None = None
    deadline: date | None = None
    # The worker says a time limit has already run out: an officer should look at once, since some
    # limits can still be argued (a late appeal with a reason, a limit that restarted).
    deadline_passed: bool = False
    contact_method: ContactMethod
    phone: str | None = ModelField(default=None, pattern=r"^\+?\d{7,15}$")
    contact_time: ContactTime

    @model_validator(mode="after")
    def _consistent(self) -> LegalFields:
        if self.problem == Problem.WAGES:
            raise ValueError("unpaid wages are filed with the wages form")
        if (self.description_kind == DescriptionKind.TEXT) != (self.description is not None):
            raise ValueError("a text description needs its text")
        if (self.description_kind == DescriptionKind.VOICE) != (self.voice_file_id is not None):
            raise ValueError("a voice description needs its voice note")
        if (self.contact_method == ContactMethod.PHONE) != (self.phone is not None):
            raise ValueError("a phone number is given exactly when the worker wants a call")
        return self


# -- dates ------------------------------------------------------------------------------------------

# Phones often type full-width digits and punctuation with a Chinese input method.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９／．－", "0123456789/.-")
_YEAR_FIRST = re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)")
_YEAR_LAST = re.compile(r"(?<!\d)(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4})(?!\d)")
_CHINESE_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})\s*月\s*(\d{1,2})(?!\d)")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_NAME_DAY = re.compile(rf"\b{_MONTH}\s*(\d{{1,2}})(?:st|nd|rd|th)?\b")
_DAY_NAME = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s*(?:of\s+)?{_MONTH}")
# Not "1.5个月" or "2.5万": a number with a unit after it is an amount, not a date.
_MONTH_DAY = re.compile(r"(?<![\d.])(\d{1,2})\s*[-/.]\s*(\d{1,2})(?![\d.]|\s*[个個天周週年小万萬千元块塊%])")
_RELATIVE = {"今天": 0, "今日": 0, "today": 0, "明天": 1, "明日": 1, "tomorrow": 1, "后天": 2, "後天": 2}


def parse_date(text: str, today: date) -> date:
    """The date a worker typed, read leniently; ValueError if there is none.

    Numbers without a year are month then day (12/5 and 5.12 as in China: 5 December, 12 May), unless
    the first cannot be a month. Without a year, the date is the next one from 60 days ago on, so a
    hearing last week reads as past (and is refused by the caller), not as next year's.
    """
    clean = text.translate(_FULL_WIDTH).strip().lower()
    if match := _YEAR_FIRST.search(clean):
        year, month, day = (int(g) for g in match.groups())
        return date(year, month, day)
    if match := _YEAR_LAST.search(clean):
        month, day = _month_first(int(match.group(1)), int(match.group(2)))
        return date(int(match.group(3)), month, day)
    if match := _CHINESE_MONTH_DAY.search(clean):
        return _without_year(int(match.group(1)), int(match.group(2)), today)
    if match := _NAME_DAY.search(clean):
        return _without_year(_MONTHS.index(match.group(1)) + 1, int(match.group(2)), today)
    if match := _DAY_NAME.search(clean):
        return _without_year(_MONTHS.index(match.group(2)) + 1, int(match.group(1)), today)
    if match := _MONTH_DAY.search(clean):
        month, day = _month_first(int(match.group(1)), int(match.group(2)))
        return _without_year(month, day, today)
    for word, days in _RELATIVE.items():
        if word in clean:
            return today + timedelta(days=days)
    raise ValueError(f"no date in {text!r}")


def _month_first(first: int, second: int) -> tuple[int, int]:
    """(month, day): month first, unless only the second number can be a month (25/12)."""
    if first > 12 >= second:
        return second, first
    return first, second


def _without_year(month: int, day: int, today: date) -> date:
    earliest = today - RECENT_PAST
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue  # 29 February in a common year, or no such month or day
        if candidate >= earliest:
            return candidate
    raise ValueError(f"no such date: {month}/{day}")


def _today(context: BotContext) -> date:
    """Today where the union is (a worker's "tomorrow" is the union's, not UTC's)."""
    return context.clock.now().astimezone(context.config.union.zone).date()


def _show_date(context: BotContext, day: date) -> str:
    """The date spelt out in the worker's language, with the weekday, so a misread is easy to spot."""
    return format_date(day, "full", locale=locale_dir_name(context.language))


# -- steps ------------------------------------------------------------------------------------------


async def ask_problem(update: Update, context: BotContext) -> int:
    # Unpaid wages only on the first pass: switching forms from the summary would lose every answer.
    editing = forms.draft(context).get("editing")
    labels = {
        problem: label
        for problem, label in PROBLEM_LABELS.items()
        if not (editing and problem == Problem.WAGES)
    }
    markup = forms.choice_buttons(context, labels, PROBLEM_PREFIX)
    return await forms.ask(update, context, PROBLEM, context.t("What is the problem about?"), markup)


async def got_problem(update: Update, context: BotContext) -> int | None:
    """Problem chosen; unpaid wages go to their own form."""
    problem = await forms.read_choice(update, context, Problem, PROBLEM_PREFIX)
    if problem is None:
        return None
    if problem == Problem.WAGES and forms.draft(context).get("editing"):
        # Never offered while editing (it would drop every answer); a forged press is just stale.
        await stale_button(update, context)
        return None
    await forms.show_choice(
        update, context.t("Problem: {problem}", problem=context.t(PROBLEM_LABELS[problem]))
    )
    if problem == Problem.WAGES:
        forms.discard(context)
        markup = forms.buttons([[(context.t("💰 Report unpaid wages"), MENU_PREFIX + "wages")]])
        await forms.say(
            update,
            context,
            context.t(
                "Unpaid wages have their own form, so the union can start recovering them. "
                "Tap below to report them."
            ),
            markup,
        )
        return ConversationHandler.END
    forms.answers(context)["problem"] = problem.value
    return await forms.next_question(update, context, FORM, DESCRIPTION_QUESTION.ask)


def _deadline_button(context: BotContext) -> Any:
    return forms.buttons(
        [
            [(context.t("No date that I know of"), NO_DEADLINE)],
            [(context.t("⏰ A time limit has already passed"), DEADLINE_PASSED)],
        ]
    )


async def ask_deadline(update: Update, context: BotContext) -> int:
    return await forms.ask(
        update,
        context,
        DEADLINE,
        context.t(
            "Is there an important date soon? For example a hearing at arbitration or in court, "
            "or the last day to do something (such as 30 days to appeal).\n"
            "Type the date, for example 12/5 (month/day). Or tap a button."
        ),
        _deadline_button(context),
    )


async def got_deadline_text(update: Update, context: BotContext) -> int | None:
    """A date typed: read leniently, refused if past or implausibly far."""
    text = await forms.read_text(update, context, limit=DEADLINE_TYPED_LIMIT)
    if text is None:
        return None
    today = _today(context)
    try:
        deadline = parse_date(text, today)
    except ValueError:
        return await _ask_deadline_again(update, context, context.t("I could not read a date there."))
    if deadline < today:
        return await _ask_deadline_again(
            update,
            context,
            context.t(
                "That date ({date}) has already passed. If it was the last day for something, tap "
                "“A time limit has already passed”: we will look at it quickly. Or type a later date.",
                date=_show_date(context, deadline),
            ),
        )
    if deadline - today > LATEST_AHEAD:
        return await _ask_deadline_again(
            update,
            context,
            context.t(
                "That date ({date}) is more than two years away. Please check the year.",
                date=_show_date(context, deadline),
            ),
        )
    forms.answers(context)["deadline"] = deadline.isoformat()
    forms.answers(context)["deadline_passed"] = False
    await forms.say(update, context, context.t("Important date: {date}", date=_show_date(context, deadline)))
    return await forms.next_question(update, context, FORM, ask_documents)


async def _ask_deadline_again(update: Update, context: BotContext, reason: str) -> int:
    example = context.t("Please type the date, for example 12/5 (month/day), or tap a button.")
    return await forms.ask(update, context, DEADLINE, Html(f"{reason}\n{example}"), _deadline_button(context))


async def got_no_deadline(update: Update, context: BotContext) -> int:
    """No date known, or a time limit already passed (which makes the request urgent)."""
    query = update.callback_query
    assert query and query.data
    await query.answer()
    passed = query.data == DEADLINE_PASSED
    await query.edit_message_text(
        context.t("Important date: {date}", date=_deadline_words(context, None, passed=passed))
    )
    forms.answers(context)["deadline"] = None
    forms.answers(context)["deadline_passed"] = passed
    return await forms.next_question(update, context, FORM, ask_documents)


def _deadline_words(context: BotContext, deadline: str | None, *, passed: bool) -> str:
    if deadline:
        return _show_date(context, date.fromisoformat(deadline))
    return context.t("a time limit has already passed") if passed else context.t("none that you know of")


async def ask_documents(update: Update, context: BotContext) -> int:
    return await evidence.ask(
        update,
        context,
        DOCUMENTS,
        context.t(
            "Do you have papers about it? "
            "A contract, pay slips, a medical report, a letter, chat screenshots… "
            "Send photos or files (several are fine), then tap Done."
        ),
    )


async def got_contact(update: Update, context: BotContext) -> int | None:
    """Telegram or phone chosen; a phone call needs a number next, even when changing just this answer."""
    method = await CONTACT_QUESTION.take(update, context)
    if method is None:
        return None
    if method == ContactMethod.PHONE:
        return await ask_phone(update, context)
    forms.answers(context).pop("phone", None)
    return await forms.next_question(update, context, FORM, TIME_QUESTION.ask)


async def _saved_phone(update: Update, context: BotContext) -> str | None:
    """The phone on the worker's roster entry (from /join), if any."""
    assert update.effective_user
    worker = await context.storage.get_worker(update.effective_user.id)
    phone = worker.profile.get("phone") if worker else None
    return phone if isinstance(phone, str) and normalise_phone(phone) else None


async def ask_phone(update: Update, context: BotContext) -> int:
    saved = await _saved_phone(update, context)
    if saved:
        markup = forms.buttons([[(context.t("📞 Call {phone}", phone=saved), SAVED_PHONE)]])
        return await forms.ask(
            update,
            context,
            PHONE,
            context.t(
                "Which number should they call? Tap to use {phone}, or type another number.", phone=saved
            ),
            markup,
        )
    return await phone.ask(update, context, PHONE)


async def got_phone(update: Update, context: BotContext) -> int | None:
    """Phone shared as a contact, or typed."""
    number = await phone.read(update, context, PHONE)
    if number is None:
        return None
    return await _phone_chosen(update, context, number)


async def got_saved_phone(update: Update, context: BotContext) -> int | None:
    """The roster phone accepted."""
    query = update.callback_query
    assert query
    await query.answer()
    phone = await _saved_phone(update, context)
    if phone is None:  # removed from the roster since the question was asked
        return await ask_phone(update, context)
    await query.edit_message_text(context.t("Phone number: {phone}", phone=phone))
    return await _phone_chosen(update, context, phone)


async def _phone_chosen(update: Update, context: BotContext, phone: str) -> int:
    answers = forms.answers(context)
    answers["phone"] = phone
    # Changing only the number from the summary also means "call me".
    answers["contact_method"] = ContactMethod.PHONE.value
    return await forms.next_question(update, context, FORM, TIME_QUESTION.ask)


def _fields(answers: dict[str, Any]) -> LegalFields:
    voice = forms.story_voice_note(answers)
    return LegalFields(
        problem=answers["problem"],
        description_kind=DescriptionKind.VOICE if voice else DescriptionKind.TEXT,
        description=answers.get("description"),
        voice_file_id=voice.file_id if voice else None,
        deadline=answers.get("deadline"),
        deadline_passed=bool(answers.get("deadline_passed")),
        contact_method=answers["contact_method"],
        phone=answers.get("phone") if answers["contact_method"] == ContactMethod.PHONE else None,
        contact_time=answers["contact_time"],
    )


async def submit(update: Update, context: BotContext) -> int:
    """File the request (written to SQLite before the worker hears it was received)."""
    assert update.effective_user
    answers = forms.answers(context)
    fields = _fields(answers)
    urgent = fields.deadline_passed or (
        fields.deadline is not None and fields.deadline - _today(context) <= URGENT_WITHIN
    )
    voice = forms.story_voice_note(answers)
    case = await forms.file_case(
        update,
        context,
        NewCase(
            kind=CaseKind.LEGAL,
            worker_id=update.effective_user.id,
            priority=Priority.URGENT if urgent else Priority.NORMAL,
            fields=fields.model_dump(mode="json"),
            attachments=([voice] if voice else []) + evidence.attachments(answers),
        ),
    )
    how = (
        context.t("by phone on {phone}", phone=fields.phone)
        if fields.contact_method == ContactMethod.PHONE
        else context.t("here in Telegram")
    )
    when = context.t(TIME_LABELS[fields.contact_time])
    received = context.t(
        "Received. Your case number is {reference}.\n"
        "What happens next: a union officer or a legal-aid centre will contact you {how} ({when}).",
        reference=case.reference,
        how=Html(how),
        when=when,
    )
    expect = (
        context.t(
            "Your date is close or has passed, so your case is marked urgent: "
            "expect to hear from them within one working day."
        )
        if urgent
        else context.t("Expect to hear from them within two working days.")
    )
    await forms.say(update, context, Html(f"{received}\n{expect}"))
    return ConversationHandler.END


def _describe(context: BotContext, answers: dict[str, Any]) -> list[tuple[str, str]]:
    problem = answers.get("problem")
    deadline = answers.get("deadline")
    method = answers.get("contact_method")
    time = answers.get("contact_time")
    contact: str
    if method == ContactMethod.PHONE:
        contact = labelled(
            context.language, context.t(CONTACT_LABELS[ContactMethod.PHONE]), str(answers.get("phone", ""))
        )
    else:
        contact = context.t(CONTACT_LABELS[ContactMethod(method)]) if method else ""
    return [
        (context.t("Problem"), context.t(PROBLEM_LABELS[Problem(problem)]) if problem else ""),
        (context.t("What happened"), DESCRIPTION_QUESTION.told(context, answers)),
        (
            context.t("Important date"),
            _deadline_words(context, deadline, passed=bool(answers.get("deadline_passed"))),
        ),
        (context.t("Documents"), evidence.describe(context, answers)),
        (context.t("Contact"), contact),
        (context.t("Best time"), context.t(TIME_LABELS[ContactTime(time)]) if time else ""),
    ]


# -- the form: its ordinary questions declared, the special ones written above -----------------------

DESCRIPTION_QUESTION = forms.StoryQuestion(
    "description",
    N_("What happened"),
    DESCRIPTION,
    prompt=N_("What happened? Write it in your own words (when, where, who), or send a voice note."),
    limit=DESCRIPTION_LIMIT,
    voice_file=evidence.attachment_of,
)

CONTACT_QUESTION = forms.ChoiceQuestion(
    "contact_method",
    N_("Contact"),
    CONTACT,
    prompt=N_("How should the union or the legal-aid centre contact you? Choose what is safe for you."),
    labels=CONTACT_LABELS,
    prefix=CONTACT_PREFIX,
    echo=N_("Contact: {method}"),
    per_row=1,
)
TIME_QUESTION = forms.ChoiceQuestion(
    "contact_time",
    N_("Best time"),
    CONTACT_TIME,
    prompt=N_("When is a good time to contact you?"),
    labels=TIME_LABELS,
    prefix=TIME_PREFIX,
    echo=N_("Best time: {time}"),
)

FORM = forms.Form(
    name="legal",
    title=N_("Ask for legal aid"),
    fields=[
        forms.Field("problem", N_("Problem"), PROBLEM, ask_problem),
        DESCRIPTION_QUESTION,
        forms.Field("deadline", N_("Important date"), DEADLINE, ask_deadline),
        forms.Field(evidence.EVIDENCE, N_("Documents"), DOCUMENTS, ask_documents),
        CONTACT_QUESTION,
        # Listed so "Continue the form" after an interruption can ask for the number again.
        forms.Field("phone", N_("Phone"), PHONE, ask_phone),
        TIME_QUESTION,
    ],
    summary_state=SUMMARY,
    describe=_describe,
)


def conversation() -> ConversationHandler[BotContext]:
    return forms.conversation(
        FORM,
        states={
            PROBLEM: forms.button_state(CallbackQueryHandler(got_problem, pattern=f"^{PROBLEM_PREFIX}")),
            DESCRIPTION: DESCRIPTION_QUESTION.handlers(FORM),
            DEADLINE: [
                CallbackQueryHandler(got_no_deadline, pattern=f"^({NO_DEADLINE}|{DEADLINE_PASSED})$"),
                *forms.text_state(got_deadline_text),
            ],
            DOCUMENTS: evidence.state(FORM.step_after(DOCUMENTS)),
            CONTACT: CONTACT_QUESTION.handlers(FORM, got=got_contact),
            PHONE: [
                CallbackQueryHandler(got_saved_phone, pattern=f"^{SAVED_PHONE}$"),
                *phone.state(got_phone),
            ],
            CONTACT_TIME: TIME_QUESTION.handlers(FORM),
        },
        submit=submit,
    )


def handlers() -> list[BotHandler]:
    return [conversation()]
