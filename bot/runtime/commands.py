"""Commands every user has (/start, /help, /language, /cancel), the safety nets, and the error handler.

The worker flows in ``flows/`` add their conversations in front of the safety nets, so anything no
flow handles still gets a kind answer instead of silence.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.core.context import BotContext, BotHandler
from bot.core.i18n import LANGUAGE_NAMES, LANGUAGES, N_, NP_, OFFICERS, translate, translate_in
from bot.core.services import Services
from bot.runtime.delivery import FailureKind, failure_of
from storage.models import OfficerRole

logger = logging.getLogger(__name__)

# The application as far as handlers go: bot.app.UnionApplication, which this layer may not import.
BotApplication: TypeAlias = Application[Any, BotContext, Any, Any, Any, Any]

LANGUAGE_PREFIX = "lang:"


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # a message id, translated per language
    admin_only: bool = False  # for officer commands


# The one declared list: drives setMyCommands, /help and the README check in tests/test_docs.py.
COMMANDS: list[Command] = [
    Command("start", N_("Main menu")),
    Command("join", N_("Join the union")),
    Command("wages", N_("Report unpaid wages")),
    Command("legal", N_("Ask for legal aid")),
    Command("assistance", N_("Ask for hardship help")),
    Command("mycases", N_("My cases and messages")),
    Command("training", N_("Trainings: sign up, my trainings")),
    Command("rights", N_("Know your rights")),
    Command("mydata", N_("Get a copy of all your data")),
    Command("forget", N_("Delete all your data")),
    Command("deletemessages", N_("Delete the messages in this chat")),
    Command("help", N_("How to use this bot")),
    Command("language", N_("Change language")),
    Command("unsubscribe", N_("Stop news from the union")),
    Command("subscribe", N_("Get news from the union again")),
    Command("cancel", N_("Stop what you are doing")),
]

# Officers and admins also have these (bot/officers.py); their command menu shows them too.
OFFICER_COMMANDS: list[Command] = [
    Command("cases", NP_("officers", "My cases (open, overdue, collective, all)")),
    Command("case", NP_("officers", "One case by its number, e.g. /case W-000123")),
    Command("find", NP_("officers", "Search cases by name, employer, site or number")),
    Command("worker", NP_("officers", "One worker's file: cases, help, plan, notes, e.g. /worker W-000123")),
    Command("pending", NP_("officers", "Membership applications waiting")),
    Command("reassign", NP_("officers", "Give a case to another officer")),
    Command("stats", NP_("officers", "Open and overdue cases now, this week's figures")),
    Command("report", NP_("officers", "Figures for a week, month, year or two dates, with charts")),
    Command("export", NP_("officers", "Cases or the member roster as a spreadsheet")),
    Command("officers", NP_("officers", "List, add, deactivate officers"), admin_only=True),
    Command("audit", NP_("officers", "Who saw and changed a case, e.g. /audit W-000123"), admin_only=True),
    Command("broadcast", NP_("officers", "Send news to workers"), admin_only=True),
    Command("broadcasts", NP_("officers", "Broadcasts: counts, cancel"), admin_only=True),
    Command("trainings", NP_("officers", "Trainings: sign-ups, who came; admins create and announce")),
]


def add_handlers(application: BotApplication, flow_handlers: Sequence[BotHandler]) -> None:
    """Flows first (an active form gets its own answers), then common commands, then the safety nets."""
    for handler in flow_handlers:
        application.add_handler(handler)
    application.add_handler(CommandHandler("help", show_help))
    application.add_handler(CommandHandler("language", choose_language))
    application.add_handler(CommandHandler("cancel", cancel))
    application.add_handler(CallbackQueryHandler(set_language, pattern=f"^{LANGUAGE_PREFIX}"))
    add_safety_nets(application)
    application.add_error_handler(on_error)


def add_safety_nets(application: BotApplication) -> None:
    """Last handlers of group 0 (one handler per group answers): stale buttons and anything unexpected."""
    application.add_handler(CallbackQueryHandler(stale_button))
    application.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    application.add_handler(MessageHandler(filters.ALL & ~filters.COMMAND, not_understood))


@functools.cache
def language_keyboard() -> InlineKeyboardMarkup:
    """The same for everyone, and Telegram objects are immutable: built once."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(LANGUAGE_NAMES[code], callback_data=f"{LANGUAGE_PREFIX}{code}")]
            for code in LANGUAGES
        ]
    )


async def show_help(update: Update, context: BotContext) -> None:
    """List what the bot can do, in the user's language; officers also see their own commands."""
    assert update.effective_chat
    text = help_text(context)
    officer = await context.storage.get_officer(update.effective_user.id) if update.effective_user else None
    if officer is not None and officer.active:
        admin = officer.role == OfficerRole.ADMIN
        lines = [translate_in("officers", context.language, "For union officers:")]
        lines += [
            f"/{command.name} — {translate_in(OFFICERS, context.language, command.description)}"
            for command in OFFICER_COMMANDS
            if admin or not command.admin_only
        ]
        text += "\n\n" + "\n".join(lines)
    await context.bot.send_message(update.effective_chat.id, text)


def help_text(context: BotContext) -> str:
    lines = [context.t("What you can do:")]
    lines += [f"/{command.name} — {context.t(command.description)}" for command in COMMANDS]
    lines += [
        "",
        context.t(
            "Your data is yours: /mydata sends you a copy, /forget deletes it, "
            "/deletemessages clears this chat on your phone."
        ),
    ]
    return "\n".join(lines)


async def choose_language(update: Update, context: BotContext) -> None:
    """Offer the languages as buttons."""
    assert update.effective_message
    await update.effective_message.reply_text(
        context.t("Please choose your language:"), reply_markup=language_keyboard()
    )


async def set_language(update: Update, context: BotContext) -> None:
    """/language outside onboarding: store the choice and confirm in the new language."""
    query = update.callback_query
    assert query and query.data
    if not await store_language(update, context, query.data.removeprefix(LANGUAGE_PREFIX)):
        await stale_button(update, context)
        return
    message = update.effective_message  # the pressed message, just edited: so not inaccessible
    assert message
    await message.reply_text(help_text(context))


async def store_language(update: Update, context: BotContext, language: str) -> bool:
    """Save a pressed language choice, confirm it in place; False if the button was not a language."""
    query = update.callback_query
    assert query and update.effective_user
    if language not in LANGUAGES:
        return False
    user_id = update.effective_user.id
    await context.storage.ensure_worker(user_id, language=language)
    await context.storage.set_worker_language(user_id, language)
    context.union_app.remember_language(user_id, language)
    await query.answer()
    await query.edit_message_text(context.t("Language set: {language}.", language=LANGUAGE_NAMES[language]))
    await publish_chat_commands(context, user_id, language)
    return True


async def cancel(update: Update, context: BotContext) -> None:
    """Outside a form there is nothing to cancel; say so and show what is possible."""
    assert update.effective_message
    await update.effective_message.reply_text(
        context.t("There is nothing to cancel.") + "\n\n" + help_text(context),
        reply_markup=ReplyKeyboardRemove(),
    )


async def stale_button(update: Update, context: BotContext) -> None:
    """A button from an old message, or forged data: stop the spinner and explain."""
    query = update.callback_query
    assert query
    await query.answer(
        context.t("This button is no longer active. Send /start to see the menu."), show_alert=True
    )


async def unknown_command(update: Update, context: BotContext) -> None:
    assert update.effective_message
    await update.effective_message.reply_text(
        context.t("I don't know that command.") + "\n\n" + help_text(context)
    )


async def not_understood(update: Update, context: BotContext) -> None:
    """Anything sent outside a form: point to the menu, never stay silent."""
    if update.effective_message is None:
        return
    await update.effective_message.reply_text(
        context.t("I did not understand that. Send /start to see the menu, or /help.")
    )


SORRY = N_("Sorry, something went wrong on our side. Your answers are kept. Please try again in a minute.")


async def on_error(update: object, context: BotContext) -> None:
    """Log the failure once (never the update: it holds personal data), tell the person, stop there.

    Nothing may escape from here: an error while handling an error would only reach PTB's own log as
    an uncaught one. And an update that failed is not handed on to later handler groups, where it
    would meet "I don't know that command" (flows/privacy.py runs before the conversations).
    """
    try:
        await _report_error(update, context)
    except Exception:
        logger.exception("The error handler failed too")
    if isinstance(update, Update):
        raise ApplicationHandlerStop


async def _report_error(update: object, context: BotContext) -> None:
    error = context.error
    where = "a scheduled job" if context.job is not None else "handling an update"
    if not isinstance(error, TelegramError):
        logger.error("Error while %s", where, exc_info=error)
    else:
        failure = failure_of(error)
        if failure.kind == FailureKind.PERMANENT:
            # Telegram refused what we sent: a mistake of ours, so the traceback shows where.
            logger.error("Telegram refused %s while %s", failure, where, exc_info=error)
        else:
            logger.warning("Telegram failed %s while %s", failure, where)
        if failure.kind == FailureKind.BLOCKED:
            await _note_blocked(update, context)
            return  # nothing more can reach them
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    query = update.callback_query
    if query is not None and not context.union_app.union_bot.was_answered(query.id):
        await query.answer()  # never raises: answering is a courtesy (bot/botapi.py)
    try:
        await context.bot.send_message(update.effective_chat.id, context.t(SORRY))
    except TelegramError as error:  # the failure above is logged; this is the same trouble again
        logger.info("Could not tell the person either (%s)", failure_of(error))


async def _note_blocked(update: object, context: BotContext) -> None:
    """A worker blocked the bot: broadcasts and news skip them until they come back."""
    user = update.effective_user if isinstance(update, Update) else None
    if user is not None and await context.storage.get_worker(user.id) is not None:
        await context.storage.set_worker_flags(user.id, blocked=True)


def command_list(language: str, *, officer: bool = False, admin: bool = False) -> list[BotCommand]:
    extra = [command for command in OFFICER_COMMANDS if admin or not command.admin_only] if officer else []
    return [BotCommand(command.name, translate(language, command.description)) for command in COMMANDS] + [
        BotCommand(command.name, translate_in(OFFICERS, language, command.description)) for command in extra
    ]


async def publish_commands(application: Services) -> bool:
    """Register the command menu: the default language for everyone, English and Chinese by app language,
    and each active officer's own. False if Telegram failed on the common menus (try again later)."""
    default = application.config.union.default_language
    chinese = default if default.startswith("zh") else "zh-Hans"
    try:
        await application.bot.set_my_commands(command_list(default))
        await application.bot.set_my_commands(command_list("en"), language_code="en")
        await application.bot.set_my_commands(command_list(chinese), language_code="zh")
    except TelegramError as error:
        logger.warning("Could not publish the command menu (%s)", failure_of(error))
        return False
    for officer in await application.storage.list_officers(active_only=True):
        language = next((code for code in officer.languages if code in LANGUAGES), default)
        try:
            await application.bot.set_my_commands(
                command_list(language, officer=True, admin=officer.role == OfficerRole.ADMIN),
                scope=BotCommandScopeChat(officer.telegram_id),
            )
        except TelegramError as error:
            # Until the officer has written to the bot once, Telegram knows no chat with them; their
            # menu is set again when they choose a language.
            logger.warning("Could not set an officer's command menu (%s)", failure_of(error))
    return True


async def publish_chat_commands(context: BotContext, chat_id: int, language: str) -> None:
    """Someone who picked a language sees the command menu in it (an officer's with their commands)."""
    officer = await context.storage.get_officer(chat_id)
    on_duty = officer is not None and officer.active
    commands = command_list(
        language, officer=on_duty, admin=on_duty and officer is not None and officer.role == OfficerRole.ADMIN
    )
    try:
        await context.bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))
    except TelegramError as error:
        # The menu is a convenience: /help lists the same, and it is set again at the next choice.
        logger.warning("Could not set the chat's command menu (%s)", failure_of(error))
