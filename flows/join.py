"""Join the union (/join): name, phone, workplace, trade, hometown, where they work now; then submit.

Submitting files a membership case (入会申请) and keeps the answers on the worker's roster entry.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from pydantic import Field as ModelField
from telegram import ReplyKeyboardRemove, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from bot.context import BotContext
from bot.i18n import N_
from flows import forms, phone
from flows.menu import menu_pattern
from storage.models import OPEN_STATUSES, CaseKind, NewCase

NAME, PHONE, EMPLOYER, TRADE, HOMETOWN, WORKPLACE, SUMMARY = range(100, 107)

TRADE_PREFIX = "trade:"


class Trade(StrEnum):
    CONSTRUCTION = "construction"
    MANUFACTURING = "manufacturing"
    MINING = "mining"
    LOGISTICS = "logistics"
    SERVICES = "services"
    DOMESTIC = "domestic"
    AGRICULTURE = "agriculture"
    OTHER = "other"


TRADE_LABELS: dict[Trade, str] = {
    Trade.CONSTRUCTION: N_("Construction"),
    Trade.MANUFACTURING: N_("Factory / manufacturing"),
    Trade.MINING: N_("Mining"),
    Trade.LOGISTICS: N_("Logistics / delivery"),
    Trade.SERVICES: N_("Services (shops, restaurants…)"),
    Trade.DOMESTIC: N_("Domestic work"),
    Trade.AGRICULTURE: N_("Agriculture"),
    Trade.OTHER: N_("Other"),
}


class MembershipFields(BaseModel):
    """What a membership application holds (the union's roster, 联系花名册)."""

    name: str = ModelField(min_length=1, max_length=50)
    phone: str = ModelField(pattern=r"^\+?\d{7,15}$")
    employer: str = ModelField(min_length=1, max_length=100)
    trade: Trade
    hometown: str = ModelField(min_length=1, max_length=50)
    workplace: str = ModelField(min_length=1, max_length=50)


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
    return await ask_name(update, context)


async def ask_name(update: Update, context: BotContext) -> int:
    return await forms.ask(update, context, NAME, context.t("What is your full name?"), ReplyKeyboardRemove())


async def got_name(update: Update, context: BotContext) -> int | None:
    """Name typed."""
    name = await forms.read_text(update, context, limit=50)
    if name is None:
        return None
    forms.answers(context)["name"] = name
    return await forms.next_question(update, context, FORM, ask_phone)


async def ask_phone(update: Update, context: BotContext) -> int:
    return await phone.ask(update, context, PHONE)


async def got_phone(update: Update, context: BotContext) -> int | None:
    """Phone shared as a contact, or typed."""
    number = await phone.read(update, context, PHONE)
    if number is None:
        return None
    forms.answers(context)["phone"] = number
    return await forms.next_question(update, context, FORM, ask_employer)


async def ask_employer(update: Update, context: BotContext) -> int:
    return await forms.ask(
        update, context, EMPLOYER, context.t("Where do you work? The company, site or boss's name.")
    )


async def got_employer(update: Update, context: BotContext) -> int | None:
    employer = await forms.read_text(update, context, limit=100)
    if employer is None:
        return None
    forms.answers(context)["employer"] = employer
    return await forms.next_question(update, context, FORM, ask_trade)


async def ask_trade(update: Update, context: BotContext) -> int:
    markup = forms.choice_buttons(context, TRADE_LABELS, TRADE_PREFIX)
    return await forms.ask(update, context, TRADE, context.t("What kind of work do you do?"), markup)


async def got_trade(update: Update, context: BotContext) -> int | None:
    """Trade chosen."""
    trade = await forms.read_choice(update, context, Trade, TRADE_PREFIX)
    if trade is None:
        return None
    await forms.show_choice(update, context.t("Work: {trade}", trade=context.t(TRADE_LABELS[trade])))
    forms.answers(context)["trade"] = trade.value
    return await forms.next_question(update, context, FORM, ask_hometown)


async def ask_hometown(update: Update, context: BotContext) -> int:
    return await forms.ask(
        update, context, HOMETOWN, context.t("Where is your hometown? (province and county)")
    )


async def got_hometown(update: Update, context: BotContext) -> int | None:
    hometown = await forms.read_text(update, context, limit=50)
    if hometown is None:
        return None
    forms.answers(context)["hometown"] = hometown
    return await forms.next_question(update, context, FORM, ask_workplace)


async def ask_workplace(update: Update, context: BotContext) -> int:
    return await forms.ask(
        update, context, WORKPLACE, context.t("Which township or district do you work in now?")
    )


async def got_workplace(update: Update, context: BotContext) -> int | None:
    workplace = await forms.read_text(update, context, limit=50)
    if workplace is None:
        return None
    forms.answers(context)["workplace"] = workplace
    return await forms.show_summary(update, context, FORM)


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


FORM = forms.Form(
    name="join",
    title=N_("Join the union"),
    fields=[
        forms.Field("name", N_("Name"), NAME, ask_name),
        forms.Field("phone", N_("Phone"), PHONE, ask_phone),
        forms.Field("employer", N_("Workplace"), EMPLOYER, ask_employer),
        forms.Field("trade", N_("Work"), TRADE, ask_trade),
        forms.Field("hometown", N_("Hometown"), HOMETOWN, ask_hometown),
        forms.Field("workplace", N_("Working in"), WORKPLACE, ask_workplace),
    ],
    summary_state=SUMMARY,
    describe=_describe,
)


def conversation() -> ConversationHandler:  # type: ignore[type-arg]
    return ConversationHandler(
        entry_points=[
            CommandHandler("join", start),
            CallbackQueryHandler(start, pattern=menu_pattern("join")),
        ],
        states={
            NAME: forms.text_state(got_name),
            PHONE: [
                MessageHandler(filters.CONTACT | (filters.TEXT & ~filters.COMMAND), got_phone),
                MessageHandler(~filters.COMMAND, forms.hint_text),
            ],
            EMPLOYER: forms.text_state(got_employer),
            TRADE: forms.button_state(CallbackQueryHandler(got_trade, pattern=f"^{TRADE_PREFIX}")),
            HOMETOWN: forms.text_state(got_hometown),
            WORKPLACE: forms.text_state(got_workplace),
            SUMMARY: forms.summary_handlers(FORM, submit),
        },
        fallbacks=forms.fallbacks(FORM),
        name="join",
        persistent=True,
    )
