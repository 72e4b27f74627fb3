"""Report unpaid wages (/wages, 讨薪): who owes, the site, the work, how long, how much, how many workers,
a contract, evidence, and whether the employer may know who reported; then submit.

Submitting files a wages case. More than one worker affected makes it a collective case (群体性劳资纠纷),
filed with high priority. By default the employer is never told who reported: many workers fear the boss.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, model_validator
from pydantic import Field as ModelField
from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler, filters

from bot.cases.amounts import (
    MAX_AMOUNT,
    MAX_MONTHS,
    MAX_WORKERS,
    months_from_text,
    parse_workers,
)
from bot.cases.vocabulary import CONTRACT_LABELS, MONTH_LABELS, Contract, YesNo
from bot.core.context import BotContext, BotHandler
from bot.core.i18n import N_, Html
from bot.runtime.commands import stale_button
from flows import evidence, forms
from storage.models import CaseKind, NewCase, Priority

(
    EMPLOYER,
    SITE,
    SITE_NAME,
    WORK,
    MONTHS,
    AMOUNT,
    WORKERS,
    CONTRACT,
    PROOF,
    DISCLOSE,
    SUMMARY,
) = range(200, 211)

SITE_SKIP = "wages:site:skip"
MONTHS_PREFIX = "wages:months:"
WORKERS_JUST_ME = "wages:workers:1"
CONTRACT_PREFIX = "wages:contract:"
DISCLOSE_PREFIX = "wages:disclose:"

EMPLOYER_LIMIT = 100
SITE_LIMIT = 200
WORK_LIMIT = 200
MONTHS_LIMIT = 100
# Room for a number of people as workers type it ("十二个人", "5 people"); anything longer is not one.
WORKERS_TYPED_LIMIT = 30


class Location(BaseModel):
    latitude: float = ModelField(ge=-90, le=90)
    longitude: float = ModelField(ge=-180, le=180)


class WagesFields(BaseModel):
    """What a wages case holds. The amount is in the union's currency (yuan), stored as a decimal string."""

    employer: str = ModelField(min_length=1, max_length=EMPLOYER_LIMIT)
    site: str | None = ModelField(default=None, min_length=1, max_length=SITE_LIMIT)
    location: Location | None = None
    work: str = ModelField(min_length=1, max_length=WORK_LIMIT)
    # How long, in the worker's words, and as a number of months when one can be told.
    unpaid_for: str | None = ModelField(default=None, min_length=1, max_length=MONTHS_LIMIT)
    unpaid_months: int | None = ModelField(default=None, ge=1, le=MAX_MONTHS)
    amount_owed: Decimal = ModelField(gt=0, le=MAX_AMOUNT, decimal_places=2)
    workers_affected: int = ModelField(ge=1, le=MAX_WORKERS)
    collective: bool
    contract: Contract
    disclose_identity: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> WagesFields:
        if self.site is None and self.location is None:
            raise ValueError("the site needs a name or a location")
        if self.unpaid_for is None and self.unpaid_months is None:
            raise ValueError("how long the wages are unpaid is missing")
        if self.collective != (self.workers_affected > 1):
            raise ValueError("a collective case is one with more than one worker affected")
        return self


# -- steps ------------------------------------------------------------------------------------------


async def ask_site(update: Update, context: BotContext) -> int:
    # The button sends where the phone is: right only when the worker is at the site, as the label says.
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton(context.t("📍 I am at the site: send my location"), request_location=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    return await forms.ask(
        update,
        context,
        SITE,
        context.t(
            "Which project or work site was it, and where? Type its name and place, or send its location."
        ),
        keyboard,
    )


async def got_site(update: Update, context: BotContext) -> int | None:
    """Site typed (it replaces a location sent before)."""
    site = await forms.read_text(update, context, limit=SITE_LIMIT)
    if site is None:
        return None
    answers = forms.answers(context)
    answers["site"] = site
    answers.pop("location", None)
    await forms.say(update, context, context.t("Project / site: {site}", site=site), ReplyKeyboardRemove())
    # Not the site's name next, as the form's order would have it: a typed site has one.
    return await forms.next_question(update, context, FORM, WORK_QUESTION.ask)


async def got_location(update: Update, context: BotContext) -> int:
    """Location sent: kept, then the site's name (a pin alone is hard for an officer to talk about)."""
    message = update.effective_message
    assert message and message.location
    answers = forms.answers(context)
    answers["location"] = {"latitude": message.location.latitude, "longitude": message.location.longitude}
    answers.pop("site", None)
    await forms.say(update, context, context.t("📍 Location received."), ReplyKeyboardRemove())
    return await ask_site_name(update, context)


async def hint_site(update: Update, context: BotContext) -> None:
    """A sticker, photo or file where the site is wanted."""
    await forms.say(
        update, context, context.t("Please type the site's name and place, or send its location.")
    )


async def ask_site_name(update: Update, context: BotContext) -> int:
    markup = forms.buttons([[(context.t("I don't know its name"), SITE_SKIP)]])
    return await forms.ask(
        update,
        context,
        SITE_NAME,
        context.t("What is the project or site called? Type its name, or tap the button."),
        markup,
    )


async def got_site_name(update: Update, context: BotContext) -> int | None:
    """Site name typed (after a location)."""
    site = await forms.read_text(update, context, limit=SITE_LIMIT)
    if site is None:
        return None
    forms.answers(context)["site"] = site
    return await forms.next_question(update, context, FORM, WORK_QUESTION.ask)


async def got_no_site_name(update: Update, context: BotContext) -> int | None:
    """No name known: the location alone must do."""
    query = update.callback_query
    assert query
    if not forms.answers(context).get("location"):  # stale: without a location there is no site at all
        await stale_button(update, context)
        return None
    await query.answer()
    await query.edit_message_text(context.t("Project / site: the location sent"))
    forms.answers(context).pop("site", None)
    return await forms.next_question(update, context, FORM, WORK_QUESTION.ask)


async def ask_months(update: Update, context: BotContext) -> int:
    labels = [(context.t(label), f"{MONTHS_PREFIX}{months}") for months, label in MONTH_LABELS.items()]
    rows = [labels[0:3], labels[3:]]
    return await forms.ask(
        update,
        context,
        MONTHS,
        context.t("How long have you not been paid? Tap a button, or type it, for example “since March”."),
        forms.buttons(rows),
    )


async def got_months_button(update: Update, context: BotContext) -> int | None:
    """A usual length tapped."""
    query = update.callback_query
    assert query and query.data
    suffix = query.data.removeprefix(MONTHS_PREFIX)
    months = int(suffix) if suffix.isascii() and suffix.isdigit() else None
    if months not in MONTH_LABELS:
        await stale_button(update, context)
        return None
    assert months is not None
    await query.answer()
    await query.edit_message_text(context.t("Unpaid for: {months}", months=context.t(MONTH_LABELS[months])))
    answers = forms.answers(context)
    answers["unpaid_months"] = months
    answers.pop("unpaid_for", None)
    return await forms.next_question(update, context, FORM, AMOUNT_QUESTION.ask)


async def got_months_text(update: Update, context: BotContext) -> int | None:
    """A length typed in the worker's own words, kept as typed (and as a number when it is one)."""
    text = await forms.read_text(update, context, limit=MONTHS_LIMIT)
    if text is None:
        return None
    answers = forms.answers(context)
    answers["unpaid_for"] = text
    answers["unpaid_months"] = months_from_text(text)
    return await forms.next_question(update, context, FORM, AMOUNT_QUESTION.ask)


def _just_me(context: BotContext) -> Any:
    return forms.buttons([[(context.t("Just me"), WORKERS_JUST_ME)]])


async def ask_workers(update: Update, context: BotContext) -> int:
    return await forms.ask(
        update,
        context,
        WORKERS,
        context.t("How many workers are owed wages here, counting you? Tap “Just me”, or type the number."),
        _just_me(context),
    )


async def got_workers_button(update: Update, context: BotContext) -> int:
    """Just the worker."""
    query = update.callback_query
    assert query
    await query.answer()
    await query.edit_message_text(context.t("Workers affected: just me"))
    forms.answers(context)["workers_affected"] = 1
    return await forms.next_question(update, context, FORM, CONTRACT_QUESTION.ask)


async def got_workers_text(update: Update, context: BotContext) -> int | None:
    """A number of workers typed; more than one is a collective case."""
    text = await forms.read_text(update, context, limit=WORKERS_TYPED_LIMIT)
    if text is None:
        return None
    count = parse_workers(text)
    if count is None or not 1 <= count <= MAX_WORKERS:
        reason = (
            context.t("Please type a number of people, for example 5.")
            if count is None
            else context.t("The number must be between 1 and {limit}.", limit=MAX_WORKERS)
        )
        return await forms.ask(update, context, WORKERS, reason, _just_me(context))
    forms.answers(context)["workers_affected"] = count
    if count > 1:
        await forms.say(
            update,
            context,
            context.t("{count} workers were not paid: the union will deal with this first.", count=count),
        )
    return await forms.next_question(update, context, FORM, CONTRACT_QUESTION.ask)


async def ask_evidence(update: Update, context: BotContext) -> int:
    return await evidence.ask(
        update,
        context,
        PROOF,
        context.t(
            "Do you have any proof? Photos of an IOU, pay slips, attendance records, chat screenshots, "
            "a voice note… Send them (several are fine), then tap Done."
        ),
    )


def _reporting_alone(context: BotContext) -> str | None:
    """Under the disclosure question: without a name, a lone worker can still be guessed."""
    if forms.answers(context).get("workers_affected", 1) != 1:
        return None
    return context.t(
        "You are reporting alone: even without your name, the boss may guess it was you "
        "from the site, the amount and the dates."
    )


def fields_from(answers: dict[str, Any]) -> WagesFields:
    """The answers, validated for storage."""
    workers = answers["workers_affected"]
    return WagesFields(
        employer=answers["employer"],
        site=answers.get("site"),
        location=answers.get("location"),
        work=answers["work"],
        unpaid_for=answers.get("unpaid_for"),
        unpaid_months=answers.get("unpaid_months"),
        amount_owed=Decimal(answers["amount_owed"]),
        workers_affected=workers,
        collective=workers > 1,
        contract=answers["contract"],
        disclose_identity=answers.get("disclose_identity", False),
    )


async def submit(update: Update, context: BotContext) -> int:
    """File the case (written to SQLite before the worker hears it was received)."""
    assert update.effective_user
    answers = forms.answers(context)
    fields = fields_from(answers)
    case = await forms.file_case(
        update,
        context,
        NewCase(
            kind=CaseKind.WAGES,
            worker_id=update.effective_user.id,
            priority=Priority.HIGH if fields.collective else Priority.NORMAL,
            fields=fields.model_dump(mode="json"),
            attachments=evidence.attachments(answers),
        ),
    )
    lines = [
        context.t("Received. Your case number is {reference}.", reference=case.reference),
        context.t("What happens next: a union officer will contact you here."),
        context.t("Several workers were not paid, so we will contact you within a few hours.")
        if fields.collective
        else context.t("Expect to hear from us, usually within one working day."),
        context.t("You said the boss may have your name and phone.")
        if fields.disclose_identity
        else context.t("Your name and phone are not given to the boss."),
    ]
    await forms.say(update, context, Html("\n".join(lines)))
    return ConversationHandler.END


# -- summary ----------------------------------------------------------------------------------------


def _describe(context: BotContext, answers: dict[str, Any]) -> list[tuple[str, str]]:
    site = answers.get("site", "")
    if answers.get("location"):
        site = (
            context.t("{site} (📍 location sent)", site=Html(site)) if site else context.t("📍 location sent")
        )
    months = answers.get("unpaid_months")
    unpaid_for = answers.get("unpaid_for") or (
        context.t(MONTH_LABELS[months]) if months in MONTH_LABELS else ""
    )
    amount = answers.get("amount_owed")
    workers = answers.get("workers_affected")
    if workers is None:
        affected = ""
    elif workers > 1:
        affected = context.t("{count} workers", count=workers)
    else:
        affected = context.t("just me")
    contract = answers.get("contract")
    return [
        (context.t("Who owes"), answers.get("employer", "")),
        (context.t("Project / site"), site),
        (context.t("Work done"), answers.get("work", "")),
        (context.t("Unpaid for"), unpaid_for),
        (context.t("Amount owed"), AMOUNT_QUESTION.shown(context, Decimal(amount)) if amount else ""),
        (context.t("Workers affected"), affected),
        (context.t("Written contract"), context.t(CONTRACT_LABELS[Contract(contract)]) if contract else ""),
        (context.t("Evidence"), evidence.describe(context, answers)),
        (
            context.t("Name and phone for the boss"),
            DISCLOSE_QUESTION.words(context, answers.get("disclose_identity")),
        ),
    ]


# -- the form: its ordinary questions declared, the special ones written above -----------------------

EMPLOYER_QUESTION = forms.TextQuestion(
    "employer",
    N_("Who owes"),
    EMPLOYER,
    prompt=N_("Who owes you the wages? Type the name of the company, the contractor or the labour boss."),
    limit=EMPLOYER_LIMIT,
)
WORK_QUESTION = forms.TextQuestion(
    "work",
    N_("Work done"),
    WORK,
    prompt=N_("What work did you do there? For example: bricklaying, welding, cleaning."),
    limit=WORK_LIMIT,
)
AMOUNT_QUESTION = forms.AmountQuestion(
    "amount_owed",
    N_("Amount owed"),
    AMOUNT,
    prompt=N_("How much are you owed in total, in yuan? Type the number, for example 8500."),
    again=N_("Please type the amount again, for example 8500 or 8.5k."),
    echo=N_("Amount owed: {amount}"),
)
CONTRACT_QUESTION = forms.ChoiceQuestion(
    "contract",
    N_("Written contract"),
    CONTRACT,
    prompt=N_("Did you sign a written labour contract?"),
    labels=CONTRACT_LABELS,
    prefix=CONTRACT_PREFIX,
    echo=N_("Written contract: {answer}"),
    per_row=1,
)
# Says what a yes gives away (name and phone); hidden is the first button, as it is the default.
DISCLOSE_QUESTION = forms.YesNoQuestion(
    "disclose_identity",
    N_("Name and phone for the boss"),
    DISCLOSE,
    prompt=N_(
        "To get your wages back, the union may show your case to the boss, labour inspection or a "
        "court. May your name and phone number go with it?\n"
        "If you say no, we keep them hidden."
    ),
    labels={
        YesNo.NO: N_("🔒 No, keep my name and phone hidden"),
        YesNo.YES: N_("Yes, the boss may have them"),
    },
    prefix=DISCLOSE_PREFIX,
    echo=N_("Name and phone for the boss: {choice}"),
    said={YesNo.YES: N_("yes, they may"), YesNo.NO: N_("no, hidden")},
    caution=_reporting_alone,
)

FORM = forms.Form(
    name="wages",
    title=N_("Report unpaid wages"),
    fields=[
        EMPLOYER_QUESTION,
        forms.Field("site", N_("Project / site"), SITE, ask_site),
        # Listed so "Continue the form" after an interruption can ask for the name again.
        forms.Field("site_name", N_("Site name"), SITE_NAME, ask_site_name),
        WORK_QUESTION,
        forms.Field("unpaid_for", N_("Unpaid for"), MONTHS, ask_months),
        AMOUNT_QUESTION,
        forms.Field("workers_affected", N_("Workers affected"), WORKERS, ask_workers),
        CONTRACT_QUESTION,
        forms.Field(evidence.EVIDENCE, N_("Evidence"), PROOF, ask_evidence),
        DISCLOSE_QUESTION,
    ],
    summary_state=SUMMARY,
    describe=_describe,
    intro=N_("Let's report the unpaid wages: a few short questions. Send /cancel at any time to stop."),
)


def conversation() -> ConversationHandler[BotContext]:
    return forms.conversation(
        FORM,
        states={
            EMPLOYER: EMPLOYER_QUESTION.handlers(FORM),
            SITE: [
                MessageHandler(filters.LOCATION, got_location),
                MessageHandler(filters.TEXT & ~filters.COMMAND, got_site),
                MessageHandler(~filters.COMMAND, hint_site),
            ],
            SITE_NAME: [
                CallbackQueryHandler(got_no_site_name, pattern=f"^{SITE_SKIP}$"),
                *forms.text_state(got_site_name),
            ],
            WORK: WORK_QUESTION.handlers(FORM),
            MONTHS: [
                CallbackQueryHandler(got_months_button, pattern=f"^{MONTHS_PREFIX}"),
                *forms.text_state(got_months_text),
            ],
            AMOUNT: AMOUNT_QUESTION.handlers(FORM),
            WORKERS: [
                CallbackQueryHandler(got_workers_button, pattern=f"^{WORKERS_JUST_ME}$"),
                *forms.text_state(got_workers_text),
            ],
            CONTRACT: CONTRACT_QUESTION.handlers(FORM),
            PROOF: evidence.state(FORM.step_after(PROOF)),
            DISCLOSE: DISCLOSE_QUESTION.handlers(FORM),
        },
        submit=submit,
    )


def handlers() -> list[BotHandler]:
    return [conversation()]
