"""Updates from different people are handled at the same time; one person's, strictly in order.

A worker's answers must reach their form in the order they were sent (ConversationHandler assumes one
update at a time per conversation), but there is no reason for worker A to wait while the bot answers
worker B: most of an update's time is spent waiting for Telegram and for SQLite. PTB starts one task per
update in the order Telegram delivered them; here each task first takes its person's lock, and asyncio
locks serve their waiters first come, first served, so one person's updates run one after another in
delivery order while different people's overlap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

MAX_CONCURRENT_UPDATES = 64  # enough to hide Telegram's and SQLite's latency; bounded for memory


class PerUserUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[object, asyncio.Lock] = {}
        self._users: dict[object, int] = {}  # updates holding or waiting for each lock

    @staticmethod
    def key(update: object) -> object:
        """Whose turn an update waits for: its user, else its chat; other updates share one key."""
        if isinstance(update, Update):
            if update.effective_user is not None:
                return ("user", update.effective_user.id)
            if update.effective_chat is not None:
                return ("chat", update.effective_chat.id)
        return ("other",)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = self.key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[key] -= 1
            if not self._users[key]:  # nobody else waits: forget the lock, or they pile up forever
                del self._users[key]
                del self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up: locks are made as people write."""

    async def shutdown(self) -> None:
        """Nothing to free: the application waits for running updates before shutting down."""
