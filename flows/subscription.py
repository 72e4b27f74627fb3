"""A worker's say over union news: /unsubscribe, /subscribe, "I will attend", and blocking the bot.

These are registered before the forms (bot/app.py), so they work in the middle of a form without
touching it.
"""

from __future__ import annotations

import logging
import re

from telegram import ChatMember, Update
from telegram.constants import ChatType
from telegram.ext import CallbackQueryHandler, ChatMemberHandler, CommandHandler

from bot.core.context import BotContext, BotHandler
from bot.core.i18n import translate_in
from bot.runtime.commands import stale_button

logger = logging.getLogger(__name__)

ATTEND = "ba:"  # "ba:<occurrence id>", the "I will attend" button under a broadcast (bot/broadcasts)
PREVIEW_ATTEND = "bp:"  # the same button on an admin's preview: counts nothing

_ATTEND_DATA = re.compile(rf"^{ATTEND}([0-9]{{1,18}})$")


async def unsubscribe(update: Update, context: BotContext) -> None:
    """No more broadcasts; everything else (cases, replies from officers) goes on."""
    assert update.effective_user and update.effective_message
    # No language on a new row: /start must still ask for it.
    await context.storage.ensure_worker(update.effective_user.id)
    await context.storage.set_worker_flags(update.effective_user.id, opted_out=True)
    await update.effective_message.reply_text(
        context.t(
            "Done: you will not get news from the union any more. "
            "Your cases and messages from union officers still reach you. "
            "If you change your mind, send /subscribe."
        )
    )


async def subscribe(update: Update, context: BotContext) -> None:
    """News again (a worker who writes to us has also unblocked the bot)."""
    assert update.effective_user and update.effective_message
    await context.storage.ensure_worker(update.effective_user.id)
    await context.storage.set_worker_flags(update.effective_user.id, opted_out=False, blocked=False)
    worker = await context.storage.get_worker(update.effective_user.id)
    text = context.t("Welcome back: you will get news from the union again. To stop, send /unsubscribe.")
    if worker is not None and worker.consent_at is None:
        text += "\n\n" + context.t("First send /start and agree to how we keep your data.")
    await update.effective_message.reply_text(text)


async def attend(update: Update, context: BotContext) -> None:
    """ "I will attend" under a broadcast: counted once, and only for someone it was sent to."""
    query = update.callback_query
    assert query and query.data and update.effective_user
    match = _ATTEND_DATA.match(query.data)
    added = (
        await context.storage.record_attendance(int(match.group(1)), update.effective_user.id)
        if match
        else None
    )
    if added is None:
        logger.warning("Refused an attend button with unknown data")
        await stale_button(update, context)
        return
    await query.answer(
        context.t("Thank you! We have noted that you will come.")
        if added
        else context.t("You are already on the list. Thank you!"),
        show_alert=True,
    )


async def preview_attend(update: Update, context: BotContext) -> None:
    """The button on an admin's preview: shows what it does, counts nothing."""
    assert update.callback_query
    await update.callback_query.answer(
        translate_in("officers", context.language, "This is only a preview: nothing was counted.")
    )


async def chat_member(update: Update, context: BotContext) -> None:
    """A worker blocked the bot (no more broadcasts) or unblocked it (broadcasts again)."""
    changed = update.my_chat_member
    if changed is None or changed.chat.type != ChatType.PRIVATE:
        return
    worker = await context.storage.get_worker(changed.chat.id)
    if worker is None:
        return
    blocked = changed.new_chat_member.status in (ChatMember.BANNED, ChatMember.LEFT)
    if worker.blocked != blocked:
        await context.storage.set_worker_flags(changed.chat.id, blocked=blocked)


def handlers() -> list[BotHandler]:
    return [
        CommandHandler("unsubscribe", unsubscribe),
        CommandHandler("subscribe", subscribe),
        CallbackQueryHandler(attend, pattern=f"^{ATTEND}"),
        CallbackQueryHandler(preview_attend, pattern=f"^{PREVIEW_ATTEND}"),
        ChatMemberHandler(chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
    ]
