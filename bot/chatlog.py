"""The messages in workers' chats, so the bot can delete them when a worker asks ("protect my phone").

A worker's phone may be seen by the boss or a roommate. Telegram lets a bot delete messages in a private
chat, its own and the person's, for 48 hours after they were sent. So the bot remembers the ids of the
messages in private chats (nothing else: no text) for that long, and :func:`delete_recent` deletes them.

Every message the bot sends goes through :class:`RecordingBot`, whatever sent it (a handler's reply, the
outbox), so no sending path can forget to record; incoming messages are recorded by the application as
each update arrives (bot/app.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot
from telegram.error import TelegramError
from telegram.ext import ExtBot

from storage import Storage
from storage.base import StorageError

logger = logging.getLogger(__name__)

# Telegram's limit for deleting messages in a private chat; a margin keeps us from claiming a message
# was deleted when Telegram's clock already counts it as too old (deleteMessages skips those silently).
DELETE_WINDOW = timedelta(hours=48)
SAFETY_MARGIN = timedelta(minutes=10)
DELETE_BATCH = 100  # deleteMessages takes at most 100 ids

SentListener = Callable[[int, list[int]], Awaitable[None]]


class RecordingBot(ExtBot[None]):
    """The bot, telling a listener about every message it puts into a private chat.

    ``_do_post`` is the one place every Bot API call passes (ExtBot itself overrides it for rate
    limiting), so replies, edits' results and the outbox's stored calls are all seen here.
    """

    # A Bot is frozen once built; only protected attributes may change.
    __slots__ = ("_on_sent",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._on_sent: SentListener | None = None
        super().__init__(*args, **kwargs)

    def listen(self, listener: SentListener) -> None:
        """Call ``listener(chat_id, message_ids)`` after each message the bot puts into a private chat."""
        self._on_sent = listener

    async def _do_post(self, endpoint: str, data: Any, **kwargs: Any) -> Any:
        result = await super()._do_post(endpoint, data, **kwargs)
        if self._on_sent is not None:
            for chat_id, message_ids in _private_messages(result).items():
                try:
                    await self._on_sent(chat_id, message_ids)
                except StorageError:
                    # The message is out; failing to remember it must not fail the handler that sent it.
                    logger.warning("Could not record a sent message id", exc_info=True)
        return result


def _private_messages(result: object) -> dict[int, list[int]]:
    """Message ids by private chat, from a Bot API result (a Message, or a list of them for albums)."""
    found: dict[int, list[int]] = {}
    for item in result if isinstance(result, list) else [result]:
        if not isinstance(item, dict) or "message_id" not in item:
            continue
        chat = item.get("chat")
        if isinstance(chat, dict) and chat.get("type") == "private":
            found.setdefault(int(chat["id"]), []).append(int(item["message_id"]))
    return found


@dataclass(frozen=True)
class Deletion:
    deleted: int  # messages deleted now
    older_remain: bool  # messages older than 48 hours may still be in the chat (the bot cannot delete them)


async def delete_recent(bot: Bot, storage: Storage, chat_id: int, now: datetime) -> Deletion:
    """Delete every remembered message of the chat that Telegram still allows the bot to delete."""
    cutoff = now - DELETE_WINDOW + SAFETY_MARGIN
    remembered = await storage.list_chat_messages(chat_id)
    recent = [message.message_id for message in remembered if message.sent_at >= cutoff]
    deleted = 0
    for start in range(0, len(recent), DELETE_BATCH):
        batch = recent[start : start + DELETE_BATCH]
        try:
            await bot.delete_messages(chat_id, batch)
        except TelegramError as error:
            logger.warning("Could not delete messages in a chat: %s", type(error).__name__)
            continue
        await storage.forget_chat_messages(chat_id, batch)
        deleted += len(batch)
    worker = await storage.get_worker(chat_id)
    talked_before = worker is not None and worker.created_at < cutoff
    older_remain = talked_before or len(recent) < len(remembered) or deleted < len(recent)
    return Deletion(deleted=deleted, older_remain=older_remain)


async def prune(storage: Storage, now: datetime) -> int:
    """Forget ids Telegram no longer lets the bot delete: they are of no use, and they say who talked."""
    return await storage.prune_chat_messages(now - DELETE_WINDOW)
