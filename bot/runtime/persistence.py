"""PTB persistence in the bot's own SQLite database, durable at the end of every update.

PTB batches persistence writes every ``update_interval`` seconds, so a crash would lose the last minute
of answers. Here PTB's ``update_*`` calls only stage changes; :meth:`SQLitePersistence.commit` writes
them together with the id of the update that caused them, in one transaction. The application calls it
after each update (see ``bot.app.UnionApplication``), so ``kill -9`` right after an answer loses
nothing, and a redelivered update is recognised and skipped.
"""

from __future__ import annotations

import asyncio
import json
from copy import deepcopy
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput

from storage import Storage
from storage.models import NewChatMessage, PersistenceChange

ConversationKey = tuple[int | str, ...]
ConversationDict = dict[ConversationKey, object]

USER_DATA = "user_data"
CONVERSATION = "conversation"


class SQLitePersistence(BasePersistence[dict[str, Any], dict[str, Any], dict[str, Any]]):
    """Conversation states and per-user scratch answers, stored through :class:`storage.Storage`.

    Values must be JSON-serialisable: drafts hold plain answers, never Telegram objects.
    """

    def __init__(self, storage: Storage) -> None:
        # Only what the flows use: chat, bot and callback data stay in memory (and are not relied on).
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=False, user_data=True, callback_data=False),
            update_interval=60,
        )
        self._storage = storage
        self._staged: dict[tuple[str, str], PersistenceChange] = {}
        self._waiting_ids: list[int] = []  # updates whose commit is still to be written
        # Bookkeeping written with the next commit, not in transactions of its own (see note_seen).
        self._seen: set[int] = set()
        self._chat_messages: list[NewChatMessage] = []
        self._commit_lock = asyncio.Lock()
        self._committed_user_data: dict[int, dict[str, Any]] = {}

    # -- reads (once, at start) ------------------------------------------------------------------
    async def get_user_data(self) -> dict[int, dict[str, Any]]:
        stored = await self._storage.load_persistence(USER_DATA)
        self._committed_user_data = {int(user_id): data for user_id, data in stored.items()}
        return deepcopy(self._committed_user_data)

    async def get_conversations(self, name: str) -> ConversationDict:
        stored = await self._storage.load_persistence(CONVERSATION)
        conversations: ConversationDict = {}
        for raw_key, state in stored.items():
            conversation_name, key = json.loads(raw_key)
            if conversation_name == name:
                conversations[tuple(key)] = state
        return conversations

    async def get_chat_data(self) -> dict[int, dict[str, Any]]:
        return {}

    async def get_bot_data(self) -> dict[str, Any]:
        return {}

    async def get_callback_data(self) -> Any:
        return None

    # -- writes: staged until commit -------------------------------------------------------------
    async def update_user_data(self, user_id: int, data: dict[str, Any]) -> None:
        # PTB hands over every user who wrote, changed or not; no row and an empty dict are the same.
        if self._committed_user_data.get(user_id, {}) == data:
            return
        json.dumps(data)  # fail here, in the handler's update, if a flow stored something unserialisable
        self._committed_user_data[user_id] = deepcopy(data)
        self._stage(USER_DATA, str(user_id), deepcopy(data) or None)

    async def drop_user_data(self, user_id: int) -> None:
        self._committed_user_data.pop(user_id, None)
        self._stage(USER_DATA, str(user_id), None)

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        self._stage(CONVERSATION, json.dumps([name, list(key)]), new_state)

    async def refresh_user_data(self, user_id: int, user_data: dict[str, Any]) -> None:
        """Nothing to refresh: this process is the only writer of its persistence rows."""

    async def update_chat_data(self, chat_id: int, data: dict[str, Any]) -> None:
        """Chat data is not persisted (see __init__)."""

    async def drop_chat_data(self, chat_id: int) -> None:
        """Chat data is not persisted (see __init__)."""

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[str, Any]) -> None:
        """Chat data is not persisted (see __init__)."""

    async def update_bot_data(self, data: dict[str, Any]) -> None:
        """Bot data is not persisted (see __init__)."""

    async def refresh_bot_data(self, bot_data: dict[str, Any]) -> None:
        """Bot data is not persisted (see __init__)."""

    async def update_callback_data(self, data: Any) -> None:
        """Arbitrary callback data is not used: buttons carry short plain strings."""

    # -- commit ----------------------------------------------------------------------------------
    def _stage(self, kind: str, key: str, value: Any) -> None:
        self._staged[(kind, key)] = PersistenceChange(kind=kind, key=key, value=value)

    def note_seen(self, user_id: int) -> None:
        """The worker wrote to the bot: written with the next commit.

        Every update would otherwise cost extra write transactions, and with one writer these add up
        to the bot's throughput. A crash loses at most the notes since the last commit: a few seconds
        of "last seen" and of message ids kept for deleting, never a worker's answers.
        """
        self._seen.add(user_id)

    def note_chat_messages(self, chat_id: int, message_ids: list[int], *, from_bot: bool) -> None:
        """Message ids to remember (for deleting the chat on request), written with the next commit."""
        self._chat_messages += [
            NewChatMessage(chat_id=chat_id, message_id=message_id, from_bot=from_bot)
            for message_id in message_ids
        ]

    async def commit(self, *, processed_update_id: int | None = None) -> None:
        """Write everything staged, and mark the update processed, in one transaction.

        Group commit: updates are handled concurrently (bot/updates.py), and each waits here for a
        transaction that holds its id and everything staged before it. Whoever gets the lock writes all
        ids waiting at that moment, so a burst costs a few transactions, not one per update.
        """
        if processed_update_id is not None:
            self._waiting_ids.append(processed_update_id)
        async with self._commit_lock:
            if processed_update_id is not None and processed_update_id not in self._waiting_ids:
                return  # the transaction that just finished had it, and what it staged before
            if not (self._staged or self._waiting_ids or self._seen or self._chat_messages):
                return
            ids, self._waiting_ids = self._waiting_ids, []
            seen, self._seen = self._seen, set()
            messages, self._chat_messages = self._chat_messages, []
            changes = list(self._staged.values())
            try:
                await self._storage.save_persistence(
                    changes, processed_update_ids=ids, seen_workers=sorted(seen), chat_messages=messages
                )
            except BaseException:
                # Tried again by the next commit.
                self._waiting_ids = ids + self._waiting_ids
                self._seen |= seen
                self._chat_messages = messages + self._chat_messages
                raise
        # Only forget the staged changes once they are on disk: a failed write is retried next time.
        for change in changes:
            if self._staged.get((change.kind, change.key)) is change:
                del self._staged[(change.kind, change.key)]

    async def flush(self) -> None:
        await self.commit()
