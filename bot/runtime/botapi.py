"""The bot's side of the Bot API: requests a few at a time, and every failed call handled one way.

Requests. Updates are handled concurrently (bot/updates.py), so dozens of replies can be ready to send
at once. Handed straight to httpx, they would each open a connection of their own, and httpcore's pool walks
every connection (probing each socket) whenever a request starts or ends: its cost per request grows
with the number of connections, and a burst spends most of its time in pool bookkeeping (encode/httpcore
PR #1035 describes it). Telegram never needs many at once: it takes about 30 messages a second from a
bot, and answers each in tens of milliseconds. So requests wait their turn here, first come first
served, and the pool stays as small as the number of turns.

Failures. Every Bot API call passes :meth:`UnionBot._do_post`, so what a failure means is decided there
once, with the policy of bot/delivery.py, instead of at each of the bot's many calls:

- a reply that Telegram does not take now for a temporary reason (a timeout, a 5xx, a 429 after the
  rate limiter's own retries) is queued in the outbox and delivered when Telegram takes it, so the
  handler goes on, its state moves forward, and the person still gets every word, in order;
- answering a button press and "typing…"/"uploading…" are courtesies: their failure is logged, never
  raised, so it cannot stop the work behind them;
- "message is not modified" means the screen already shows what we wanted;
- everything else is raised to the caller, with the method recorded on the error for its log line;
- polling's own calls tell :class:`Reachability` whether Telegram answers at all.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bot.core.clock import Clock, SystemClock
from bot.runtime.delivery import Failure, FailureKind, failure_of, note_method
from storage.base import StorageError
from storage.models import OutboxKind, OutboxMessage

logger = logging.getLogger(__name__)


class BoundedRequest(HTTPXRequest):
    """PTB's httpx request, with at most ``max_in_flight`` requests on the wire and as many connections.

    ``[telegram] requests_in_flight`` sets the number for sending (4: Telegram's 30 messages a second
    while it answers within about 130 ms; broadcasts and the outbox send one at a time, so replies keep
    turns of their own). Long polling has a plain request of its own: one call at a time by nature.

    Waiting for a turn has no time limit of its own: a turn comes within one round trip, and a reply
    that failed because the bot was busy would be a message lost. Each request's own timeouts (connect,
    write, read) still apply once it is sent.
    """

    def __init__(self, max_in_flight: int, **kwargs: Any) -> None:
        super().__init__(connection_pool_size=max_in_flight, **kwargs)
        self.max_in_flight = max_in_flight
        self._turns = asyncio.Semaphore(max_in_flight)

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        async with self._turns:
            return await super().do_request(*args, **kwargs)


# Calls that only make the chat feel alive. Their failure must not stop the work they announce.
COURTESY_METHODS = frozenset({"answerCallbackQuery", "sendChatAction"})
# Calls that put something into a chat and can be stored as they are and made again later.
QUEUEABLE_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVoice",
        "sendAudio",
        "sendVideo",
        "sendVideoNote",
        "sendLocation",
        "copyMessage",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
    }
)
# Polling's own calls: whether they are answered says whether Telegram can be reached at all.
CONNECTION_METHODS = frozenset({"getUpdates", "getMe", "deleteWebhook"})
ANSWERED_REMEMBERED = 4096  # button presses whose answer is remembered, for the error handler

SentListener = Callable[[int, list[int]], Awaitable[None]]
ReplyQueue = Callable[[OutboxMessage], Awaitable[int]]

# False while the outbox or a broadcast replays a stored call: they keep their own retries.
_queue_failed_sends: contextvars.ContextVar[bool] = contextvars.ContextVar("queue_failed_sends", default=True)


class Reachability:
    """Whether Telegram answers polling: one WARNING when it stops, one INFO when it answers again.

    An outage otherwise reads as a traceback for every poll that failed.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.down_since: datetime | None = None

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def failed(self, failure: Failure) -> None:
        if self.down_since is None:
            self.down_since = self._clock.now()
            logger.warning("Lost contact with Telegram (%s); trying again until it answers", failure)

    def answered(self) -> None:
        if self.down_since is not None:
            lasted = self._clock.now() - self.down_since
            self.down_since = None
            logger.info("Telegram answers again, after %d s without it", round(lasted.total_seconds()))


class UnionBot(ExtBot[None]):
    """The bot, with every call's failure handled by one policy (see the module docstring).

    It also tells a listener about every message it puts into a private chat (bot/chatlog.py), so no
    sending path can forget to record one, and remembers which button presses it answered.

    A reply queued in the outbox comes back to its caller as ``True`` instead of a ``Message``: nothing
    is in the chat yet. Code that needs the sent message's id must not rely on one being there.
    """

    # A Bot is frozen once built; only protected attributes may change.
    __slots__ = ("_answered", "_held", "_last_updates", "_on_sent", "_queue", "_reachability")

    def __init__(self, *args: Any, clock: Clock | None = None, **kwargs: Any) -> None:
        self._on_sent: SentListener | None = None
        self._queue: ReplyQueue | None = None
        self._held: dict[int, int] = {}  # chat -> replies of it waiting in the outbox
        self._answered: OrderedDict[str, None] = OrderedDict()
        self._last_updates: object = None  # getUpdates' raw answer, in case PTB cannot read it
        self._reachability = Reachability(clock or SystemClock())
        super().__init__(*args, **kwargs)

    @property
    def reachability(self) -> Reachability:
        return self._reachability

    def listen(self, listener: SentListener) -> None:
        """Call ``listener(chat_id, message_ids)`` after each message the bot puts into a private chat."""
        self._on_sent = listener

    def queue_replies_with(self, queue: ReplyQueue) -> None:
        """Where replies go that Telegram did not take now: ``queue(message)`` stores one in the outbox."""
        self._queue = queue

    def release(self, chat_id: int) -> None:
        """The outbox is done with one queued reply of this chat (delivered, or given up)."""
        left = self._held.get(chat_id, 0) - 1
        if left > 0:
            self._held[chat_id] = left
        else:
            self._held.pop(chat_id, None)

    def forget(self, chat_id: int) -> None:
        """The chat's queued replies were dropped with the person's data (/forget): none holds it any more."""
        self._held.pop(chat_id, None)

    def was_answered(self, query_id: str) -> bool:
        return query_id in self._answered

    async def call_stored(self, method: str, params: dict[str, Any]) -> Any:
        """Make a stored call (the outbox's, a broadcast's): a failure is raised, never queued again."""
        with _stored_call():
            return await self.do_api_request(method, api_kwargs=params)

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        """New updates; one PTB cannot read is skipped instead of stopping every update behind it.

        PTB reads a batch all at once, and a batch that fails is neither handled nor confirmed, so it
        would come back at every poll for ever. Here the updates are read again one by one, and an
        unreadable one becomes an empty update with its id: it is confirmed, and nobody's message waits.
        """
        try:
            return await super().get_updates(*args, **kwargs)
        except TelegramError:
            raise
        except Exception:
            raw, self._last_updates = self._last_updates, None
            if not isinstance(raw, list):
                raise
            return tuple(self._readable(item) for item in raw)

    def _readable(self, raw: dict[str, Any]) -> Update:
        try:
            update = Update.de_json(raw, self)
        except Exception as error:
            # Its content is never logged: it is a worker's name and words.
            logger.warning(
                "Update %s could not be read (%s); skipped", raw.get("update_id"), type(error).__name__
            )
            update = Update(update_id=int(raw["update_id"]))
            update.set_bot(self)
        return update

    async def _do_post(self, endpoint: str, data: Any, **kwargs: Any) -> Any:
        chat_id = data.get("chat_id") if isinstance(data, dict) else None
        if isinstance(chat_id, int) and chat_id in self._held and self._may_queue(endpoint, data):
            # An earlier reply to this chat is still waiting: this one waits behind it, in order.
            return await self._enqueue(endpoint, data, chat_id, reason=None)
        try:
            result = await super()._do_post(endpoint, data, **kwargs)
        except TelegramError as error:
            note_method(error, endpoint)
            return await self._failed(endpoint, data, chat_id, error)
        if endpoint in CONNECTION_METHODS:
            self.reachability.answered()
            if endpoint == "getUpdates":
                self._last_updates = result
        elif endpoint == "answerCallbackQuery":
            self._remember_answer(str(data.get("callback_query_id")))
        if self._on_sent is not None:
            await self._record_sent(result)
        return result

    async def _failed(
        self, endpoint: str, data: dict[str, Any], chat_id: object, error: TelegramError
    ) -> Any:
        failure = failure_of(error, endpoint)
        if endpoint in CONNECTION_METHODS:
            self.reachability.failed(failure)
            raise error
        if failure.kind == FailureKind.UNCHANGED:
            logger.debug("%s: the message already shows this", endpoint)
            return True
        if endpoint in COURTESY_METHODS:
            self._log(failure, "A courtesy failed; going on without it")
            return False
        if failure.kind.retried and isinstance(chat_id, int) and self._may_queue(endpoint, data):
            return await self._enqueue(endpoint, data, chat_id, reason=failure)
        raise error

    def _may_queue(self, endpoint: str, data: dict[str, Any]) -> bool:
        # An upload cannot be stored: its caller hears of the failure and tells the person.
        return (
            self._queue is not None
            and endpoint in QUEUEABLE_METHODS
            and _queue_failed_sends.get()
            and not _as_request(data).contains_files
        )

    async def _enqueue(
        self, endpoint: str, data: dict[str, Any], chat_id: int, *, reason: Failure | None
    ) -> Any:
        assert self._queue is not None  # checked by _may_queue
        parameters = _as_request(data).json_parameters
        params = {key: value for key, value in parameters.items() if key != "chat_id"}
        message = OutboxMessage(chat_id=chat_id, method=endpoint, params=params, kind=OutboxKind.REPLY)
        try:
            item = await self._queue(message)
        except StorageError:
            logger.error("%s could not be queued either; it is lost", endpoint, exc_info=True)
            raise
        self._held[chat_id] = self._held.get(chat_id, 0) + 1
        if reason is not None:
            self._log(reason, f"A reply was queued in the outbox as message {item}")
        return True

    def _log(self, failure: Failure, what_happened: str) -> None:
        # While Telegram cannot be reached at all, the outage's own WARNING already says it.
        level = logging.DEBUG if self.reachability.down else logging.WARNING
        logger.log(level, "%s (%s)", what_happened, failure)

    def _remember_answer(self, query_id: str) -> None:
        self._answered[query_id] = None
        if len(self._answered) > ANSWERED_REMEMBERED:
            self._answered.popitem(last=False)

    async def _record_sent(self, result: object) -> None:
        assert self._on_sent is not None
        for chat_id, message_ids in private_messages(result).items():
            try:
                await self._on_sent(chat_id, message_ids)
            except StorageError:
                # The message is out; failing to remember it must not fail the handler that sent it.
                logger.warning("Could not record a sent message id", exc_info=True)


def _as_request(data: dict[str, Any]) -> RequestData:
    """The call's parameters as PTB puts them on the wire (objects as JSON, files as uploads)."""
    # RequestParameter is PTB's own conversion (telegram/_bot.py does the same); it is not exported,
    # and the pin on python-telegram-bot 22 keeps it where it is.
    return RequestData([RequestParameter.from_input(key, value) for key, value in data.items()])


@contextmanager
def _stored_call() -> Iterator[None]:
    token = _queue_failed_sends.set(False)
    try:
        yield
    finally:
        _queue_failed_sends.reset(token)


def private_messages(result: object) -> dict[int, list[int]]:
    """Message ids by private chat, from a Bot API result (a Message, or a list of them for albums)."""
    found: dict[int, list[int]] = {}
    for item in result if isinstance(result, list) else [result]:
        if not isinstance(item, dict) or "message_id" not in item:
            continue
        chat = item.get("chat")
        if isinstance(chat, dict) and chat.get("type") == "private":
            found.setdefault(int(chat["id"]), []).append(int(item["message_id"]))
    return found
