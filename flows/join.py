"""Join the union (/join): name, phone, workplace, trade, hometown, where they work now; then submit.

Submitting files a membership case (入会申请) and keeps the answers on the worker's roster entry.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic import Field as ModelField
from telegram import ReplyKeyboardRemove, Update
from telegram.ext import ConversationHandler

from bot.cases.vocabulary import TRADE_LABELS, Trade
from bot.core.context import BotContext
from bot.core.i18n import N_
from flows import forms, phone
from storage.models import OPEN_STATUSES, CaseKind, NewCase

NAME, PHONE, EMPLOYER, TRADE, HOMETOWN, WORKPLACE, SUMMARY = range(100, 107)

TRADE_PREFIX = "trade:"

NAME_LIMIT = 50
EMPLOYER_LIMIT = 100
HOMETOWN_LIMIT = 50
WORKPLACE_LIMIT = 50


class MembershipFields(BaseModel):
    """What a membership application holds (the union's roster, 联系花名册)."""

    name: str = ModelField(min_length=1, max_length=NAME_LIMIT)
    phone: str = ModelField(pattern=r"^\+?\d{7,15}$")
    employer: str = ModelField(min_length=1, max_length=EMPLOYER_LIMIT)
    trade: Trade
    hometown: str = ModelField(min_length=1, max_length=HOMETOWN_LIMIT)
    workplace: str = ModelField(min_length=1, max_length=WORKPLACE_LIMIT)


# -- steps ------------------------------------------------------------------------------------------


async def start(update: Update, context: BotContext) -> int:
    """Entry: tell members and pending applicants where they stand; else ask the first question."""
    assert update.effective_user
    if not await forms.begin(update, context, FORM):
        return ConversationHandler.END
    worker = await context.storage.get_worker(update.effective_user.id)
    if worker is not None and worker.profile.get("member_number"):
        forms.discard(context)
        await forms.say(
            update,
            context,
            context.t(
                "You are already a union member (No. {number}).", number=worker.profile["member_number"]
            ),
        )
        return ConversationHandler.END
    for case in await context.storage.list_cases_for_worker(update.effective_user.id):
        if case.kind == CaseKind.MEMBERSHIP and case.status in OPEN_STATUSES:
            forms.discard(context)
            await forms.say(
                update,
                context,
                context.t(
                    "You have already applied ({reference}). We will tell you here when it is approved.",
                    reference=case.reference,
                ),
            )
            return ConversationHandler.END
    return await NAME_QUESTION.ask(update, context)


async def ask_phone(update: Update, context: BotContext) -> int:
    return await phone.ask(update, context, PHONE)


async def got_phone(update: Update, context: BotContext) -> int | None:
    """Phone shared as a contact, or typed."""
    number = await phone.read(update, context, PHONE)
    if number is None:
        return None
    forms.answers(context)["phone"] = number
    return await forms.next_question(update, context, FORM, EMPLOYER_QUESTION.ask)


async def submit(update: Update, context: BotContext) -> int:
    """File the application (written to SQLite before the worker hears it was received)."""
    assert update.effective_user
    fields = MembershipFields.model_validate(forms.answers(context))
    worker_id = update.effective_user.id
    case = await forms.file_case(
        update,
        context,
        NewCase(kind=CaseKind.MEMBERSHIP, worker_id=worker_id, fields=fields.model_dump(mode="json")),
    )
    await context.storage.update_worker_profile(worker_id, fields.model_dump(mode="json"))
    await forms.say(
        update,
        context,
        context.t(
            "Received. Your application number is {reference}.\n"
            "A union officer will check it and tell you here, usually within two working days.",
            reference=case.reference,
        ),
    )
    return ConversationHandler.END


def _describe(context: BotContext, answers: dict[str, Any]) -> list[tuple[str, str]]:
    trade = answers.get("trade")
    return [
        (context.t("Name"), answers.get("name", "")),
        (context.t("Phone"), answers.get("phone", "")),
        (context.t("Workplace"), answers.get("employer", "")),
        (context.t("Work"), context.t(TRADE_LABELS[Trade(trade)]) if trade else ""),
        (context.t("Hometown"), answers.get("hometown", "")),
        (context.t("Working in"), answers.get("workplace", "")),
    ]


# -- the form: its ordinary questions declared, the phone written above -----------------------------

NAME_QUESTION = forms.TextQuestion(
    "name",
    N_("Name"),
    NAME,
    prompt=N_("What is your full name?"),
    limit=NAME_LIMIT,
    # A share-phone or location keyboard left from an earlier form must not linger under the name.
    markup=lambda context: ReplyKeyboardRemove(),
)
EMPLOYER_QUESTION = forms.TextQuestion(
    "employer",
    N_("Workplace"),
    EMPLOYER,
    prompt=N_("Where do you work? The company, site or boss's name."),
    limit=EMPLOYER_LIMIT,
)
TRADE_QUESTION = forms.ChoiceQuestion(
    "trade",
    N_("Work"),
    TRADE,
    prompt=N_("What kind of work do you do?"),
    labels=TRADE_LABELS,
    prefix=TRADE_PREFIX,
    echo=N_("Work: {trade}"),
)
HOMETOWN_QUESTION = forms.TextQuestion(
    "hometown",
    N_("Hometown"),
    HOMETOWN,
    prompt=N_("Where is your hometown? (province and county)"),
    limit=HOMETOWN_LIMIT,
)
WORKPLACE_QUESTION = forms.TextQuestion(
    "workplace",
    N_("Working in"),
    WORKPLACE,
    prompt=N_("Which township or district do you work in now?"),
    limit=WORKPLACE_LIMIT,
)

FORM = forms.Form(
    name="join",
    title=N_("Join the union"),
    fields=[
        NAME_QUESTION,
        forms.Field("phone", N_("Phone"), PHONE, ask_phone),
        EMPLOYER_QUESTION,
        TRADE_QUESTION,
        HOMETOWN_QUESTION,
        WORKPLACE_QUESTION,
    ],
    summary_state=SUMMARY,
    describe=_describe,
)


def conversation() -> ConversationHandler[BotContext]:
    return forms.conversation(
        FORM,
        start=start,
        states={
            NAME: NAME_QUESTION.handlers(FORM),
            PHONE: phone.state(got_phone),
            EMPLOYER: EMPLOYER_QUESTION.handlers(FORM),
            TRADE: TRADE_QUESTION.handlers(FORM),
            HOMETOWN: HOMETOWN_QUESTION.handlers(FORM),
            WORKPLACE: WORKPLACE_QUESTION.handlers(FORM),
        },
        submit=submit,
    )
