"""Asking a worker for a phone number: a "share my number" button, or typed and checked."""

from __future__ import annotations

import re

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import MessageHandler, filters

from bot.core.context import BotContext, BotHandler
from flows import forms

_SEPARATORS = re.compile(r"[\s\-().]")
_CHINA_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")
_INTERNATIONAL = re.compile(r"^\+\d{7,15}$")
# Phones often type full-width digits (０-９) with a Chinese input method.
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９＋", "0123456789+")


def normalise_phone(raw: str) -> str | None:
    """A Chinese mobile (11 digits, optional +86) or an international number with +; else None."""
    compact = _SEPARATORS.sub("", raw.translate(_FULL_WIDTH_DIGITS))
    if match := _CHINA_MOBILE.match(compact):
        return match.group(1)
    if _INTERNATIONAL.match(compact):
        return compact
    return None


async def ask(update: Update, context: BotContext, state: int) -> int:
    """Ask for the number, with a button that shares the phone's own number (no typing needed)."""
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton(context.t("📱 Share my phone number"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    return await forms.ask(
        update, context, state, context.t("Your phone number? Tap the button below, or type it."), keyboard
    )


async def read(update: Update, context: BotContext, state: int) -> str | None:
    """The shared or typed number, confirmed back; None after asking again (the question stays)."""
    message = update.effective_message
    assert message
    raw = message.contact.phone_number if message.contact else (message.text or "")
    phone = normalise_phone(raw)
    if phone is None:
        again = context.t(
            "That does not look like a phone number. Please type it again, for example 13812345678."
        )
        await forms.ask(update, context, state, again)
        return None
    # Its own message: the share-number keyboard must go, and only a plain message can remove it.
    await message.reply_text(
        context.t("Phone number: {phone}", phone=phone), reply_markup=ReplyKeyboardRemove()
    )
    return phone


def state(on_phone: forms.Step) -> list[BotHandler]:
    """Handlers for the phone question: a shared contact or typed text goes to the step, else a hint."""
    return [
        MessageHandler(filters.CONTACT | (filters.TEXT & ~filters.COMMAND), on_phone),
        MessageHandler(~filters.COMMAND, forms.hint_text),
    ]
