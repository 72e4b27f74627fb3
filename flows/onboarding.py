"""Onboarding (/start): choose a language, read what is stored and agree, then the menu.

Consent is recorded before any flow asks for personal data.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from bot.cases.privacy import CONSENT_VERSION, has_current_consent
from bot.core.context import BotContext
from bot.core.i18n import span
from bot.runtime.commands import LANGUAGE_PREFIX, language_keyboard, store_language
from flows.menu import show_menu

logger = logging.getLogger(__name__)

CHOOSING_LANGUAGE, CONSENTING = range(2)

CONSENT_YES, CONSENT_NO = "consent:yes", "consent:no"


async def start(update: Update, context: BotContext) -> int:
    """Ask what is still missing (language, then consent), else show the menu."""
    assert update.effective_user and update.effective_message
    worker = await context.storage.get_worker(update.effective_user.id)
    if worker is None or worker.language is None:
        await update.effective_message.reply_text(
            context.t(
                "Welcome to {union}. Please choose your language:",
                union=context.config.union.name_in(context.language),
            ),
            reply_markup=language_keyboard(),
        )
        return CHOOSING_LANGUAGE
    if not has_current_consent(worker):
        # Someone who agreed to an older text hears what changed before agreeing again.
        return await _ask_consent(update, context, again=worker.consent_at is not None)
    await show_menu(
        update,
        context,
        context.t("Welcome back to {union}.", union=context.config.union.name_in(context.language)),
    )
    return ConversationHandler.END


async def language_chosen(update: Update, context: BotContext) -> int:
    """Store the language, then explain what is stored and ask for consent."""
    query = update.callback_query
    assert query and query.data
    if not await store_language(update, context, query.data.removeprefix(LANGUAGE_PREFIX)):
        return await tap_a_button(update, context) or CHOOSING_LANGUAGE
    return await _ask_consent(update, context)


async def _ask_consent(update: Update, context: BotContext, *, again: bool = False) -> int:
    assert update.effective_chat
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(context.t("I agree"), callback_data=CONSENT_YES)],
            [InlineKeyboardButton(context.t("No, I do not agree"), callback_data=CONSENT_NO)],
        ]
    )
    if again:
        await context.bot.send_message(
            update.effective_chat.id,
            context.t(
                "We now tell you more exactly who sees your data and what may leave the union. "
                "Please read it again before you go on."
            ),
        )
    await context.bot.send_message(
        update.effective_chat.id,
        context.t(
            "Before we start, please read:\n"
            "• We keep what you tell us in the forms (for example your name, phone, boss, unpaid wages), "
            "the files you send and your messages to the union.\n"
            "• Who sees it: the union officers handling your case, and the union's admins.\n"
            "• To get your wages back, the union may show your case (boss, site, amount, dates) to labour "
            "inspection, arbitration, a court or the boss. Your name and phone go with it only if you say "
            "yes when we ask.\n"
            "• The boss may still guess who reported from those details, most of all if you report alone.\n"
            "• {closed} after a case ends, we keep it without your name.\n"
            "• At any time: /mydata sends you a copy of your data, /forget deletes it.\n\n"
            "Do you agree?",
            closed=span(context.language, context.config.privacy.retain_closed),
        ),
        reply_markup=keyboard,
    )
    return CONSENTING


async def consent_given(update: Update, context: BotContext) -> int:
    """Record consent (time and text version) and show the menu."""
    query = update.callback_query
    assert query and update.effective_user
    await context.storage.record_consent(update.effective_user.id, CONSENT_VERSION)
    await query.answer()
    await query.edit_message_text(context.t("Thank you. You can now use all services."))
    await show_menu(update, context)
    return ConversationHandler.END


async def consent_refused(update: Update, context: BotContext) -> int:
    """Respect the refusal: nothing personal will be asked."""
    query = update.callback_query
    assert query
    await query.answer()
    await query.edit_message_text(
        context.t(
            "That is fine. We will not ask for any personal data. "
            "You can still read about your rights and get union news. Send /start if you change your mind."
        )
    )
    return ConversationHandler.END


async def tap_a_button(update: Update, context: BotContext) -> int | None:
    """Anything typed while a button answer is expected: say so, stay at the same question."""
    if update.callback_query is not None:
        await update.callback_query.answer(
            context.t("This button is no longer active. Send /start to see the menu."), show_alert=True
        )
    elif update.effective_message is not None:
        await update.effective_message.reply_text(context.t("Please tap one of the buttons above."))
    return None


async def cancel(update: Update, context: BotContext) -> int:
    """Leave onboarding; nothing was half-created."""
    assert update.effective_message
    await update.effective_message.reply_text(
        context.t("Stopped. Send /start whenever you are ready."), reply_markup=ReplyKeyboardRemove()
    )
    return ConversationHandler.END


def conversation() -> ConversationHandler[BotContext]:
    return ConversationHandler(
        entry_points=[CommandHandler("start", start)],
        states={
            CHOOSING_LANGUAGE: [
                CallbackQueryHandler(language_chosen, pattern=f"^{LANGUAGE_PREFIX}"),
                MessageHandler(~filters.COMMAND, tap_a_button),
                CallbackQueryHandler(tap_a_button),
            ],
            CONSENTING: [
                CallbackQueryHandler(consent_given, pattern=f"^{CONSENT_YES}$"),
                CallbackQueryHandler(consent_refused, pattern=f"^{CONSENT_NO}$"),
                MessageHandler(~filters.COMMAND, tap_a_button),
                CallbackQueryHandler(tap_a_button),
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel), CommandHandler("start", start)],
        name="onboarding",
        persistent=True,
        allow_reentry=True,
    )
