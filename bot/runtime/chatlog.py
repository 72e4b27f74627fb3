"""The messages in workers' chats, so the bot can delete them when a worker asks ("protect my phone").

A worker's phone may be seen by the boss or a roommate. Telegram lets a bot delete messages in a private
chat, its own and the person's, for 48 hours after they were sent. So the bot remembers the ids of the
messages in private chats (nothing else: no text) for that long, and :func:`delete_recent` deletes them.

Every message the bot sends goes through :class:`bot.botapi.UnionBot`, whatever sent it (a handler's
reply, the outbox), which reports it to the application, so no sending path can forget to record;
incoming messages are recorded by the application as each update arrives (bot/app.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from telegram import Bot
from telegram.error import TelegramError

from bot.runtime.delivery import failure_of
from storage import Storage

logger = logging.getLogger(__name__)

# Telegram's limit for deleting messages in a private chat; a margin keeps us from claiming a message
# was deleted when Telegram's clock already counts it as too old (deleteMessages skips those silently).
DELETE_WINDOW = timedelta(hours=48)
SAFETY_MARGIN = timedelta(minutes=10)
DELETE_BATCH = 100  # deleteMessages takes at most 100 ids


@dataclass(frozen=True)
class Deletion:
    deleted: int  # messages deleted now
    failed: int  # messages Telegram did not let the bot delete just now (a failure, not their age)
    older_remain: bool  # messages older than 48 hours may still be in the chat (the bot cannot delete them)


async def delete_recent(bot: Bot, storage: Storage, chat_id: int, now: datetime) -> Deletion:
    """Delete every remembered message of the chat that Telegram still allows the bot to delete.

    A batch Telegram fails on keeps its ids (a timeout may even have deleted it): asking again deletes
    what is left, and Telegram skips what is gone.
    """
    cutoff = now - DELETE_WINDOW + SAFETY_MARGIN
    remembered = await storage.list_chat_messages(chat_id)
    recent = [message.message_id for message in remembered if message.sent_at >= cutoff]
    deleted = failed = 0
    for start in range(0, len(recent), DELETE_BATCH):
        batch = recent[start : start + DELETE_BATCH]
        try:
            await bot.delete_messages(chat_id, batch)
        except TelegramError as error:
            logger.warning("Could not delete %d message(s) in a chat (%s)", len(batch), failure_of(error))
            failed += len(batch)
            continue
        await storage.forget_chat_messages(chat_id, batch)
        deleted += len(batch)
    worker = await storage.get_worker(chat_id)
    talked_before = worker is not None and worker.created_at < cutoff
    older_remain = talked_before or len(recent) < len(remembered)
    return Deletion(deleted=deleted, failed=failed, older_remain=older_remain)


async def prune(storage: Storage, now: datetime) -> int:
    """Forget ids Telegram no longer lets the bot delete: they are of no use, and they say who talked."""
    return await storage.prune_chat_messages(now - DELETE_WINDOW)
