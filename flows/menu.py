"""The main menu: one button per thing a worker can do. Its buttons are the flows' entry points."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler

from bot.core.context import BotContext, BotHandler
from bot.core.i18n import N_, Translator
from bot.runtime.commands import choose_language, show_help

MENU_PREFIX = "menu:"

# (callback data suffix, label); the flows register "menu:<suffix>" as an entry point.
MENU_ITEMS: list[tuple[str, str]] = [
    ("join", N_("🙋 Join the union")),
    ("wages", N_("💰 Report unpaid wages")),
    ("legal", N_("⚖️ Legal aid")),
    ("assistance", N_("🤝 Ask for hardship help")),
    ("mycases", N_("📂 My cases")),
    ("training", N_("🎓 Training")),
    ("rights", N_("📖 Know your rights")),
    ("privacy", N_("🔒 Privacy and my data")),
    ("language", N_("🌐 Language")),
    ("help", N_("❓ Help")),
]


def menu_pattern(item: str) -> str:
    return f"^{MENU_PREFIX}{item}$"


def main_menu_markup(t: Translator) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(t(label), callback_data=MENU_PREFIX + item) for item, label in MENU_ITEMS]
    # Two per row keeps the labels readable on a small phone.
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


async def show_menu(update: Update, context: BotContext, intro: str | None = None) -> None:
    """Send the main menu, with an optional line before it."""
    assert update.effective_chat
    text = context.t("What would you like to do?")
    await context.bot.send_message(
        update.effective_chat.id,
        f"{intro}\n\n{text}" if intro else text,
        reply_markup=main_menu_markup(context.t),
    )


async def _language(update: Update, context: BotContext) -> None:
    assert update.callback_query
    await update.callback_query.answer()
    await choose_language(update, context)


async def _help(update: Update, context: BotContext) -> None:
    assert update.callback_query
    await update.callback_query.answer()
    await show_help(update, context)


def handlers() -> list[BotHandler]:
    """The menu buttons that are not flows."""
    return [
        CallbackQueryHandler(_language, pattern=menu_pattern("language")),
        CallbackQueryHandler(_help, pattern=menu_pattern("help")),
    ]
