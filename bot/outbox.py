"""Delivering the outbox: messages that must not be lost (officer alerts, replies to workers).

Callers store a message with ``storage.enqueue_outbox`` inside their own handling, then call
:meth:`OutboxDispatcher.wake`. The dispatcher sends what is due and records the result; if Telegram
is down or says "retry after", the message waits in SQLite and is tried again, across restarts too.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.clock import Clock
from storage import Storage
from storage.models import OutboxItem

logger = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(minutes=10)


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off: 5 s, 10 s, 20 s … at most 10 minutes between tries."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)


class OutboxDispatcher:
    def __init__(self, storage: Storage, bot: Bot, clock: Clock, *, batch: int = 50) -> None:
        self._storage = storage
        self._bot = bot
        self._clock = clock
        self._batch = batch
        self._lock = asyncio.Lock()  # one sweep at a time, so nothing is sent twice

    async def send_due(self) -> int:
        """Send every due message once; returns how many were delivered."""
        async with self._lock:
            delivered = 0
            while items := await self._storage.due_outbox(self._clock.now(), limit=self._batch):
                results = [await self._deliver(item) for item in items]
                delivered += sum(results)
                if not all(results):
                    break  # Telegram is struggling: leave the rest for the next sweep
            return delivered

    async def _deliver(self, item: OutboxItem) -> bool:
        try:
            await self._bot.do_api_request(item.method, api_kwargs={"chat_id": item.chat_id, **item.params})
        except RetryAfter as error:
            await self._retry(item, "retry after", timedelta(seconds=float(_seconds(error.retry_after))))
            return False
        except Forbidden:
            # The person blocked the bot: trying again cannot succeed, and must not hammer Telegram.
            await self._storage.mark_outbox_failed(item.id, error="forbidden", retry_at=None)
            if await self._storage.get_worker(item.chat_id) is not None:
                # Broadcasts skip them too, until they unblock the bot (flows/subscription.py).
                await self._storage.set_worker_flags(item.chat_id, blocked=True)
            logger.warning("Outbox message %s undeliverable: the recipient blocked the bot", item.id)
            return True
        except BadRequest as error:
            await self._storage.mark_outbox_failed(
                item.id, error=f"bad request: {error.message}", retry_at=None
            )
            logger.error("Outbox message %s refused by Telegram: %s", item.id, error.message)
            return True
        except (NetworkError, TelegramError) as error:
            await self._retry(item, type(error).__name__, retry_delay(item.attempts + 1))
            return False
        await self._storage.mark_outbox_sent(item.id)
        return True

    async def _retry(self, item: OutboxItem, reason: str, delay: timedelta) -> None:
        await self._storage.mark_outbox_failed(item.id, error=reason, retry_at=self._clock.now() + delay)
        logger.warning("Outbox message %s not sent (%s); next try in %s", item.id, reason, delay)


def _seconds(retry_after: float | timedelta) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else float(retry_after)
