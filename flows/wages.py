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
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.cases.amounts import (
    AMOUNT_PROBLEMS,
    MAX_AMOUNT,
    MAX_MONTHS,
    MAX_WORKERS,
    AmountError,
    months_from_text,
    parse_amount,
    parse_workers,
)
from bot.cases.vocabulary import CONTRACT_LABELS, MONTH_LABELS, Contract
from bot.core.context import BotContext, BotHandler
from bot.core.i18n import N_, Html, money
from bot.runtime.commands import stale_button
from flows import evidence, forms
from flows.menu import menu_pattern
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
# Room for a number as workers type it ("¥8,500元", "十二个人", "5 people"); anything longer is not one.
AMOUNT_TYPED_LIMIT = 50
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


# -- showing numbers ---------------------------------------------------------------------------------


def show_amount(context: BotContext, amount: Decimal) -> str:
    """8500 → "8500元" / "8,500 yuan"; cents only when there are some."""
    return money(context.language, amount)


# -- steps ------------------------------------------------------------------------------------------


async def start(update: Update, context: BotContext) -> int:
    """Entry: a fresh draft, a word on what comes, then the first question."""
    if not await forms.begin(update, context, FORM):
        return ConversationHandler.END
    await forms.say(
        update,
        context,
        context.t("Let's report the unpaid wages: a few short questions. Send /cancel at any time to stop."),
    )
    return await EMPLOYER_QUESTION.ask(update, context)


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
    return await forms.next_question(update, context, FORM, ask_amount)


async def got_months_text(update: Update, context: BotContext) -> int | None:
    """A length typed in the worker's own words, kept as typed (and as a number when it is one)."""
    text = await forms.read_text(update, context, limit=MONTHS_LIMIT)
    if text is None:
        return None
    answers = forms.answers(context)
    answers["unpaid_for"] = text
    answers["unpaid_months"] = months_from_text(text)
    return await forms.next_question(update, context, FORM, ask_amount)


async def ask_amount(update: Update, context: BotContext) -> int:
    return await forms.ask(
        update,
        context,
        AMOUNT,
        context.t("How much are you owed in total, in yuan? Type the number, for example 8500."),
    )


async def got_amount(update: Update, context: BotContext) -> int | None:
    """Amount typed: read leniently, refused with the reason when it cannot be right."""
    text = await forms.read_text(update, context, limit=AMOUNT_TYPED_LIMIT)
    if text is None:
        return None
    try:
        amount = parse_amount(text)
    except AmountError as error:
        reason = context.t(AMOUNT_PROBLEMS[error.problem], limit=show_amount(context, MAX_AMOUNT))
        example = context.t("Please type the amount again, for example 8500 or 8.5k.")
        return await forms.ask(update, context, AMOUNT, Html(f"{reason}\n{example}"))
    forms.answers(context)["amount_owed"] = str(amount)
    # Echoed, so a misread (8.5千 taken as 8.5) is plain to see before the summary.
    await forms.say(update, context, context.t("Amount owed: {amount}", amount=show_amount(context, amount)))
    return await forms.next_question(update, context, FORM, ask_workers)


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


async def evidence_done(update: Update, context: BotContext) -> int:
    """Done or Skip pressed."""
    return await forms.next_question(update, context, FORM, ask_disclose)


async def ask_disclose(update: Update, context: BotContext) -> int:
    """Say what "yes" gives away (name and phone), and warn a worker reporting alone."""
    rows = [
        [(context.t("🔒 No, keep my name and phone hidden"), DISCLOSE_PREFIX + "no")],
        [(context.t("Yes, the boss may have them"), DISCLOSE_PREFIX + "yes")],
    ]
    lines = [
        context.t(
            "To get your wages back, the union may show your case to the boss, labour inspection or a "
            "court. May your name and phone number go with it?\n"
            "If you say no, we keep them hidden."
        )
    ]
    if forms.answers(context).get("workers_affected", 1) == 1:
        lines.append(
            context.t(
                "You are reporting alone: even without your name, the boss may guess it was you "
                "from the site, the amount and the dates."
            )
        )
    return await forms.ask(update, context, DISCLOSE, "\n\n".join(lines), forms.buttons(rows))


async def got_disclose(update: Update, context: BotContext) -> int | None:
    """Disclosure chosen: the summary."""
    query = update.callback_query
    assert query and query.data
    choice = query.data.removeprefix(DISCLOSE_PREFIX)
    if choice not in ("no", "yes"):
        await stale_button(update, context)
        return None
    await query.answer()
    disclose = choice == "yes"
    await query.edit_message_text(
        context.t("Name and phone for the boss: {choice}", choice=_disclosure(context, disclose))
    )
    forms.answers(context)["disclose_identity"] = disclose
    return await forms.next_question(update, context, FORM, ask_summary)


async def ask_summary(update: Update, context: BotContext) -> int:
    return await forms.show_summary(update, context, FORM)


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


def _disclosure(context: BotContext, disclose: bool) -> str:
    return context.t("yes, they may") if disclose else context.t("no, hidden")


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
    disclose = answers.get("disclose_identity")
    return [
        (context.t("Who owes"), answers.get("employer", "")),
        (context.t("Project / site"), site),
        (context.t("Work done"), answers.get("work", "")),
        (context.t("Unpaid for"), unpaid_for),
        (context.t("Amount owed"), show_amount(context, Decimal(amount)) if amount else ""),
        (context.t("Workers affected"), affected),
        (context.t("Written contract"), context.t(CONTRACT_LABELS[Contract(contract)]) if contract else ""),
        (context.t("Evidence"), evidence.describe(context, answers)),
        (
            context.t("Name and phone for the boss"),
            _disclosure(context, bool(disclose)) if disclose is not None else "",
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
        forms.Field("amount_owed", N_("Amount owed"), AMOUNT, ask_amount),
        forms.Field("workers_affected", N_("Workers affected"), WORKERS, ask_workers),
        CONTRACT_QUESTION,
        forms.Field(evidence.EVIDENCE, N_("Evidence"), PROOF, ask_evidence),
        forms.Field("disclose_identity", N_("Name and phone for the boss"), DISCLOSE, ask_disclose),
    ],
    summary_state=SUMMARY,
    describe=_describe,
)


def conversation() -> ConversationHandler[BotContext]:
    return ConversationHandler(
        entry_points=[
            CommandHandler("wages", start),
            CallbackQueryHandler(start, pattern=menu_pattern("wages")),
        ],
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
            AMOUNT: forms.text_state(got_amount),
            WORKERS: [
                CallbackQueryHandler(got_workers_button, pattern=f"^{WORKERS_JUST_ME}$"),
                *forms.text_state(got_workers_text),
            ],
            CONTRACT: CONTRACT_QUESTION.handlers(FORM),
            PROOF: evidence.state(evidence_done),
            DISCLOSE: forms.button_state(CallbackQueryHandler(got_disclose, pattern=f"^{DISCLOSE_PREFIX}")),
            SUMMARY: forms.summary_handlers(FORM, submit),
        },
        fallbacks=forms.fallbacks(FORM),
        name="wages",
        persistent=True,
    )


def handlers() -> list[BotHandler]:
    return [conversation()]
