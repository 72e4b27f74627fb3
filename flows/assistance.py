"""Ask for hardship help (/assistance, 申请帮扶): what help, the child's school for a school grant, the
household in a few buttons, the monthly income, what happened, papers, and whether the union federation
may see the request; then submit.

Submitting files an assistance case. An emergency (an accident, a lost job) is urgent. The household's
details are the most private thing the bot asks: they are never kept once the worker is forgotten or the
case is anonymised (storage.models.ANONYMOUS_FIELDS), and the federation (总工会) sees the request only
when the worker said yes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, model_validator
from pydantic import Field as ModelField
from telegram import Update
from telegram.ext import ConversationHandler

from bot.cases.vocabulary import (
    COUNT_LABELS,
    HELP_LABELS,
    SCHOOL_LABELS,
    THERE_IS_LABELS,
    HelpKind,
    HouseholdCount,
    SchoolLevel,
    YesNo,
)
from bot.core.context import BotContext, BotHandler
from bot.core.i18n import N_, Html, span
from flows import evidence, forms
from storage.models import CaseKind, NewCase, Priority

(
    HELP,
    SCHOOL,
    EARNERS,
    DEPENDANTS,
    ILLNESS,
    DISABILITY,
    INCOME,
    STORY,
    DOCUMENTS,
    SHARE,
    SUMMARY,
) = range(1100, 1111)

HELP_PREFIX = "assist:help:"
SCHOOL_PREFIX = "assist:school:"
EARNERS_PREFIX = "assist:earn:"
DEPENDANTS_PREFIX = "assist:dep:"
ILLNESS_PREFIX = "assist:ill:"
DISABILITY_PREFIX = "assist:dis:"
NO_INCOME = "assist:income:none"
NO_STORY = "assist:story:skip"
SHARE_PREFIX = "assist:share:"

STORY_LIMIT = 1000  # a few sentences; the officer asks for more in the chat
# A family's monthly income above this is a slip of the finger (an extra zero), not a hardship case.
MAX_INCOME = Decimal(200_000)


class AssistanceFields(BaseModel):
    """What an assistance case holds. The income is the household's a month, in yuan, a decimal string."""

    help_kind: HelpKind
    school_level: SchoolLevel | None = None  # for a school grant: where the child studies
    earners: HouseholdCount  # people in the family who earn money, the worker counted
    dependants: HouseholdCount  # people who depend on the worker
    illness: bool  # someone in the family is seriously ill
    disability: bool  # someone in the family is disabled
    monthly_income: Decimal = ModelField(ge=0, le=MAX_INCOME, decimal_places=2)
    description: str | None = ModelField(default=None, min_length=1, max_length=STORY_LIMIT)
    # The voice note's file id when the worker told it by voice; the note is also the first attachment.
    voice_file_id: str | None = None
    share_with_federation: bool

    @model_validator(mode="after")
    def _consistent(self) -> AssistanceFields:
        if (self.help_kind == HelpKind.EDUCATION) != (self.school_level is not None):
            raise ValueError("a school level is given exactly for a school grant")
        if self.description is not None and self.voice_file_id is not None:
            raise ValueError("what happened is told either in words or in a voice note")
        return self


# -- steps ------------------------------------------------------------------------------------------


async def got_help(update: Update, context: BotContext) -> int | None:
    """Help chosen: a school grant asks where the child studies, even when only this answer changes."""
    kind = await HELP_QUESTION.take(update, context)
    if kind is None:
        return None
    if kind == HelpKind.EDUCATION:
        return await SCHOOL_QUESTION.ask(update, context)
    forms.answers(context).pop("school_level", None)
    return await forms.next_question(update, context, FORM, EARNERS_QUESTION.ask)


async def ask_documents(update: Update, context: BotContext) -> int:
    return await evidence.ask(
        update,
        context,
        DOCUMENTS,
        context.t(
            "Do you have papers that show it? For example a hospital bill, a school notice, "
            "or a letter about losing your job. Send photos or files (several are fine), then tap Done."
        ),
    )


def fields_from(answers: dict[str, Any]) -> AssistanceFields:
    """The answers, validated for storage."""
    voice = forms.story_voice_note(answers)
    help_kind = HelpKind(answers["help_kind"])
    return AssistanceFields(
        help_kind=help_kind,
        school_level=answers.get("school_level") if help_kind == HelpKind.EDUCATION else None,
        earners=answers["earners"],
        dependants=answers["dependants"],
        illness=answers["illness"] == YesNo.YES,
        disability=answers["disability"] == YesNo.YES,
        monthly_income=Decimal(answers["monthly_income"]),
        description=answers.get("description"),
        voice_file_id=voice.file_id if voice else None,
        share_with_federation=answers["share_with_federation"],
    )


async def submit(update: Update, context: BotContext) -> int:
    """File the request (written to SQLite before the worker hears it was received)."""
    assert update.effective_user
    answers = forms.answers(context)
    fields = fields_from(answers)
    emergency = fields.help_kind == HelpKind.EMERGENCY
    voice = forms.story_voice_note(answers)
    case = await forms.file_case(
        update,
        context,
        NewCase(
            kind=CaseKind.ASSISTANCE,
            worker_id=update.effective_user.id,
            priority=Priority.URGENT if emergency else Priority.NORMAL,
            fields=fields.model_dump(mode="json"),
            attachments=([voice] if voice else []) + evidence.attachments(answers),
        ),
    )
    # The time the officers are held to (bot/cases/sla.py): an emergency gets the fastest.
    sla = context.config.sla
    within = span(
        context.language, sla.first_response_collective if emergency else sla.first_response_assistance
    )
    lines = [
        context.t("Received. Your case number is {reference}.", reference=case.reference),
        context.t(
            "What happens next: a union officer will look at it and contact you here, usually within {time}.",
            time=within,
        ),
    ]
    if emergency:
        lines.append(context.t("It is an emergency, so your request is marked urgent."))
    lines.append(
        context.t("You said the union federation may see your request if it decides.")
        if fields.share_with_federation
        else context.t("Only this union will see your request.")
    )
    await forms.say(update, context, Html("\n".join(lines)))
    return ConversationHandler.END


# -- summary (also what /mydata shows of a stored request) ------------------------------------------


def _there_is(context: BotContext, value: object) -> str:
    """A yes/no household answer: "yes"/"no" in a draft, true/false once stored."""
    if value is None:
        return ""
    return context.t(THERE_IS_LABELS[YesNo.YES if value in (True, YesNo.YES) else YesNo.NO])


def _count(context: BotContext, value: object) -> str:
    try:
        return context.t(COUNT_LABELS[HouseholdCount(str(value))])
    except ValueError:
        return ""


def _describe(context: BotContext, answers: dict[str, Any]) -> list[tuple[str, str]]:
    help_kind = answers.get("help_kind")
    income = answers.get("monthly_income")
    described = [
        (context.t("Help asked for"), context.t(HELP_LABELS[HelpKind(help_kind)]) if help_kind else ""),
    ]
    if help_kind == HelpKind.EDUCATION:
        school = answers.get("school_level")
        described.append(
            (context.t("Child's school"), context.t(SCHOOL_LABELS[SchoolLevel(school)]) if school else "")
        )
    described += [
        (context.t("People earning money"), _count(context, answers.get("earners"))),
        (context.t("People who depend on you"), _count(context, answers.get("dependants"))),
        (context.t("Serious illness in the family"), _there_is(context, answers.get("illness"))),
        (context.t("Disability in the family"), _there_is(context, answers.get("disability"))),
        (
            context.t("Monthly family income"),
            INCOME_QUESTION.shown(context, Decimal(income)) if income else "",
        ),
        (context.t("What happened"), STORY_QUESTION.told(context, answers)),
        (context.t("Documents"), evidence.describe(context, answers)),
        (
            context.t("Union federation may see it"),
            SHARE_QUESTION.words(context, answers.get("share_with_federation")),
        ),
    ]
    return described


# -- the form: its ordinary questions declared, the special ones written above -----------------------

HELP_QUESTION = forms.ChoiceQuestion(
    "help_kind",
    N_("Help asked for"),
    HELP,
    prompt=N_("What help do you need?"),
    labels=HELP_LABELS,
    prefix=HELP_PREFIX,
    echo=N_("Help asked for: {help}"),
    per_row=1,
)
SCHOOL_QUESTION = forms.ChoiceQuestion(
    "school_level",
    N_("Child's school"),
    SCHOOL,
    prompt=N_("Which school is your child in?"),
    labels=SCHOOL_LABELS,
    prefix=SCHOOL_PREFIX,
    echo=N_("Child's school: {school}"),
    per_row=1,
)
EARNERS_QUESTION = forms.ChoiceQuestion(
    "earners",
    N_("People earning money"),
    EARNERS,
    prompt=N_("How many people in your family earn money now, counting you?"),
    labels=COUNT_LABELS,
    prefix=EARNERS_PREFIX,
    echo=N_("Earning money: {count}"),
)
DEPENDANTS_QUESTION = forms.ChoiceQuestion(
    "dependants",
    N_("People who depend on you"),
    DEPENDANTS,
    prompt=N_(
        "How many people depend on you? For example children, old parents, or someone who cannot work."
    ),
    labels=COUNT_LABELS,
    prefix=DEPENDANTS_PREFIX,
    echo=N_("Depend on you: {count}"),
)
ILLNESS_QUESTION = forms.ChoiceQuestion(
    "illness",
    N_("Serious illness in the family"),
    ILLNESS,
    prompt=N_("Is anyone in your family seriously ill?"),
    labels=THERE_IS_LABELS,
    prefix=ILLNESS_PREFIX,
    echo=N_("Serious illness in the family: {answer}"),
)
DISABILITY_QUESTION = forms.ChoiceQuestion(
    "disability",
    N_("Disability in the family"),
    DISABILITY,
    prompt=N_("Is anyone in your family disabled?"),
    labels=THERE_IS_LABELS,
    prefix=DISABILITY_PREFIX,
    echo=N_("Disability in the family: {answer}"),
)
INCOME_QUESTION = forms.AmountQuestion(
    "monthly_income",
    N_("Monthly family income"),
    INCOME,
    prompt=N_(
        "How much money does your whole family get in a month, in yuan? "
        "Type the number, for example 3000 or 三千."
    ),
    again=N_(
        "Please type the amount again, for example 3000 or 三千. If there is no income now, tap the button."
    ),
    echo=N_("Family income a month: {amount}"),
    most=MAX_INCOME,
    none=forms.NoAmount(button=N_("No income now"), data=NO_INCOME, words=N_("no income now")),
)
STORY_QUESTION = forms.StoryQuestion(
    "description",
    N_("What happened"),
    STORY,
    prompt=N_(
        "In a few words, what happened? For example: “My wife is in hospital and I had to stop work.” "
        "You can also send a voice note, or tap Skip."
    ),
    limit=STORY_LIMIT,
    voice_file=evidence.attachment_of,
    # Skipped, the household's answers speak for themselves.
    skip=NO_STORY,
)
# Says exactly what goes to the federation, and what a no means.
SHARE_QUESTION = forms.YesNoQuestion(
    "share_with_federation",
    N_("Union federation may see it"),
    SHARE,
    prompt=N_(
        "Some help is decided above the township, by the union federation (总工会) of the county "
        "or city. If that is needed, may the union send them your request?\n"
        "They would get: your name, the help you asked for, your family's situation and income, "
        "what happened, and your papers.\n"
        "If you say no, only this union sees it, and help decided higher up cannot be asked for."
    ),
    labels={YesNo.YES: N_("Yes, the federation may see it"), YesNo.NO: N_("🔒 No, only this union")},
    prefix=SHARE_PREFIX,
    echo=N_("Union federation may see it: {choice}"),
    said={YesNo.YES: N_("yes, they may"), YesNo.NO: N_("no, only this union")},
)

FORM = forms.Form(
    name="assistance",
    title=N_("Ask for hardship help"),
    fields=[
        HELP_QUESTION,
        SCHOOL_QUESTION,
        EARNERS_QUESTION,
        DEPENDANTS_QUESTION,
        ILLNESS_QUESTION,
        DISABILITY_QUESTION,
        INCOME_QUESTION,
        STORY_QUESTION,
        forms.Field(evidence.EVIDENCE, N_("Documents"), DOCUMENTS, ask_documents),
        SHARE_QUESTION,
    ],
    summary_state=SUMMARY,
    describe=_describe,
    intro=N_(
        "Let's ask the union for help: a few short questions about you and your family. "
        "Send /cancel at any time to stop."
    ),
)


def conversation() -> ConversationHandler[BotContext]:
    return forms.conversation(
        FORM,
        states={
            HELP: HELP_QUESTION.handlers(FORM, got=got_help),
            SCHOOL: SCHOOL_QUESTION.handlers(FORM),
            EARNERS: EARNERS_QUESTION.handlers(FORM),
            DEPENDANTS: DEPENDANTS_QUESTION.handlers(FORM),
            ILLNESS: ILLNESS_QUESTION.handlers(FORM),
            DISABILITY: DISABILITY_QUESTION.handlers(FORM),
            INCOME: INCOME_QUESTION.handlers(FORM),
            STORY: STORY_QUESTION.handlers(FORM),
            DOCUMENTS: evidence.state(FORM.step_after(DOCUMENTS)),
            SHARE: SHARE_QUESTION.handlers(FORM),
        },
        submit=submit,
    )


def handlers() -> list[BotHandler]:
    return [conversation()]
