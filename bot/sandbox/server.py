"""An offline stand-in for the Telegram Bot API.

CI machines and new contributors cannot reach Telegram, yet the bot must be exercised with the
real python-telegram-bot stack.  ``BotApiSandbox`` is a small HTTP server that speaks the part
of the Bot API the bot uses and answers the way Telegram does - including its refusals - so a
PTB ``Application`` built with ``.base_url(sandbox.base_url).base_file_url(sandbox.file_url)``
runs end to end.  Simulated people (``Person``) send messages, press buttons and read what the
bot showed them.  Only the standard library is used so the sandbox adds no dependencies.

What it refuses, with Telegram's error answers (each refusal is listed in ``refusals``):

- a text over 4096 or a caption over 1024 UTF-16 units after entity parsing; an empty text;
- malformed HTML, MarkdownV2 or Markdown (``formatting``), an unknown parse_mode;
- callback_data outside 1-64 bytes, text buttons in an inline keyboard, unparsable markup (``markup``);
- an edit that changes nothing ("message is not modified"); editing or deleting a message that does
  not exist (or deleting one older than 48 hours); a reply to a missing message;
- a send to an unknown chat ("chat not found") or to a person who blocked the bot (403);
- a second answer to a callback query, or one later than ``callback_answer_window`` seconds;
- a missing required parameter, when given the published spec (``spec_path``); unknown parameters
  are ignored, as Telegram ignores them, and noted in ``unknown_parameters``;
- more sending calls per second than the flood limit (429 with retry_after);
- getUpdates while a webhook is set, or while another getUpdates is running (409).

Deliberately stricter than Telegram in one place: in HTML, an ``&`` that starts no character
reference is refused (Telegram shows it as is), since it nearly always is unescaped user input.

Tests also inject failures that are not rules (``fail``, ``go_down``): any error status, a 429, or
an answer that never comes, for one method, one chat, a while or a number of calls.

This module holds the sandbox's state and its Bot API methods; the parse modes live in
``formatting``, reply markup in ``markup``, request decoding and the HTTP server in
``requests``, stored files in ``files`` and the simulated people in ``people``.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from bot.sandbox.errors import (
    TIMEOUT,
    ApiError,
    Fault,
    FaultStatus,
    bad,
    check_fault_status,
    default_description,
)
from bot.sandbox.files import (
    FILE_KINDS,
    StoredFile,
    audio_json,
    document_json,
    photo_size,
    video_json,
    video_note_json,
    voice_json,
)
from bot.sandbox.formatting import format_text, utf16_len
from bot.sandbox.markup import parse_reply_markup
from bot.sandbox.people import CallbackAnswer, Person, SentMessage, command_entities
from bot.sandbox.requests import Params, Response, Server, Unanswered, json_response

__all__ = ["BotApiSandbox", "CallbackAnswer", "Fault", "Person", "SentMessage"]

logger = logging.getLogger(__name__)

TOKEN_PATTERN = re.compile(r"^(\d+):[A-Za-z0-9_-]{5,}$")
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_ANSWER_LENGTH = 200
DELETE_WINDOW_SECONDS = 48 * 3600
# Telegram documents no deadline for answerCallbackQuery; bot authors observe "query is too old"
# after roughly 10-15 seconds, so the sandbox refuses answers later than this by default.
CALLBACK_ANSWER_WINDOW_SECONDS = 15.0
BOT_FIRST_NAME = "Union Bot"
BOT_USERNAME = "union_sandbox_bot"

_API_PATH = re.compile(r"^/bot([^/]+)/([A-Za-z]+)/?$")
_FILE_PATH = re.compile(r"^/file/bot([^/]+)/(.+)$")
_BOT_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_MEDIA_KINDS = frozenset({"photo", "document", "voice", "sticker", "video", "audio"})
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_CONTENT_KEYS = (
    "text",
    "entities",
    "photo",
    "document",
    "voice",
    "video",
    "audio",
    "video_note",
    "location",
    "sticker",
    "contact",
)
_CAPTION_KEYS = ("caption", "caption_entities")


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------


@dataclass
class StoredMessage:
    data: dict[str, Any]
    from_bot: bool
    kind: str
    parse_mode: str | None = None
    reply_keyboard: list[list[dict[str, Any]]] | None = None
    edits: int = 0
    deleted: bool = False
    seq: int = 0

    def snapshot(self) -> SentMessage:
        data = self.data
        markup = data.get("reply_markup", {})
        inline = [
            [(b["text"], b.get("callback_data", b.get("url"))) for b in row]
            for row in markup.get("inline_keyboard", [])
        ]
        keyboard = None
        if self.reply_keyboard is not None:
            keyboard = [[b["text"] for b in row] for row in self.reply_keyboard]
        return SentMessage(
            message_id=data["message_id"],
            kind=self.kind,
            text=data.get("text", data.get("caption")),
            date=data["date"],
            seq=self.seq,
            parse_mode=self.parse_mode,
            entities=copy.deepcopy(data.get("entities", data.get("caption_entities", []))),
            inline_buttons=inline,
            reply_keyboard=keyboard,
            edits=self.edits,
            deleted=self.deleted,
            raw=copy.deepcopy(data),
        )


@dataclass
class ChatState:
    user: dict[str, Any]
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    reply_keyboard: list[list[dict[str, Any]]] | None = None
    blocked: bool = False
    events: list[tuple[int, str, SentMessage]] = field(default_factory=list)
    callback_answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    presses: list[str] = field(default_factory=list)

    @property
    def id(self) -> int:
        user_id: int = self.user["id"]  # Telegram's User JSON
        return user_id

    def chat_json(self) -> dict[str, Any]:
        chat = {"id": self.id, "type": "private", "first_name": self.user["first_name"]}
        chat.update({k: self.user[k] for k in ("last_name", "username") if k in self.user})
        return chat

    def allocate_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def bot_messages(self) -> list[StoredMessage]:
        return [m for m in self.messages.values() if m.from_bot and not m.deleted]


@dataclass
class _Query:
    chat_id: int
    message_id: int
    pressed_at: float
    answered: bool = False


class _Injected(Exception):
    """An injected fault fails this call; unlike ``ApiError`` it is no refusal by a rule."""

    def __init__(self, method: str, fault: Fault) -> None:
        super().__init__(fault.description)
        self.method = method
        self.fault = fault


Listener = Callable[[int, SentMessage, str], None]
AnswerListener = Callable[[int, CallbackAnswer], None]
FaultListener = Callable[[str, FaultStatus, str], None]


def _load_spec(path: str | os.PathLike[str]) -> dict[str, dict[str, bool]]:
    """Method name -> {parameter: required} from the published Bot API JSON description."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {
        name: {f["name"]: bool(f.get("required")) for f in method.get("fields", [])}
        for name, method in data["methods"].items()
    }


def _scope_key(scope: Any) -> str:
    """Commands are stored per scope; a chat scope and the default scope are different lists."""
    if scope is None:
        return "default"
    if isinstance(scope, str):
        text = scope
        try:
            scope = json.loads(text)
        except ValueError:
            return text
    if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
        raise bad("can't parse BotCommandScope JSON object")
    ids = [str(scope[key]) for key in ("chat_id", "user_id") if key in scope]
    return ":".join([scope["type"], *ids])


def _tell(listeners: Sequence[Callable[..., None]], events: Iterable[tuple[Any, ...]], what: str) -> None:
    """Call every listener with every event; one that fails is logged and the others still run."""
    for event in events:
        for listener in listeners:
            try:
                listener(*event)
            except Exception:
                logger.exception("sandbox %s listener failed", what)


def _is_sending(method: str) -> bool:
    return method.startswith(("send", "edit")) or method in ("copyMessage", "forwardMessage")


# --------------------------------------------------------------------------------------------
# The sandbox
# --------------------------------------------------------------------------------------------


class BotApiSandbox:
    """A local Telegram Bot API server with simulated people; see the module docstring."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        flood_limit: float | None = 30.0,
        clock: Callable[[], float] = time.time,
        spec_path: str | os.PathLike[str] | None = None,
        latency: float = 0.0,
        callback_answer_window: float = CALLBACK_ANSWER_WINDOW_SECONDS,
    ) -> None:
        self._address = (host, port)
        # Seconds added to every answer, like the round trip to Telegram's servers (for benchmarks).
        self._latency = latency
        self._flood_limit = flood_limit
        self._clock = clock
        self._callback_answer_window = callback_answer_window
        self._spec = _load_spec(spec_path) if spec_path is not None else None
        self.unknown_parameters: list[tuple[str, str]] = []
        self._cond = threading.Condition()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._chats: dict[int, ChatState] = {}
        self._people: dict[int, Person] = {}
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self._seq = 0
        self._files: dict[str, StoredFile] = {}
        self._photo_sets: dict[str, list[dict[str, Any]]] = {}
        self._queries: dict[str, _Query] = {}
        self._next_query = 1
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._webhook_url = ""
        self._calls: list[tuple[str, dict[str, Any]]] = []
        self._flood_window: deque[float] = deque()
        self._faults: list[Fault] = []
        self._downtime: Fault | None = None
        self._refusals: list[tuple[str, str]] = []
        self._listeners: list[Listener] = []
        self._answer_listeners: list[AnswerListener] = []
        self._fault_listeners: list[FaultListener] = []
        self._outbox: list[tuple[int, SentMessage, str]] = []
        self._answer_outbox: list[tuple[int, CallbackAnswer]] = []
        self._fault_outbox: list[tuple[str, FaultStatus, str]] = []
        self._bot_id = 1
        self._methods = self._method_table()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> BotApiSandbox:
        self._stopping = False
        self._server = Server(self._address, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="bot-api-sandbox",
            daemon=True,
        )
        self._thread.start()
        logger.info("Bot API sandbox listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> BotApiSandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # -- test controls -----------------------------------------------------------------------

    def set_flood_limit(self, limit: float | None) -> None:
        """Sending calls allowed per second of the clock; None lifts the limit."""
        with self._cond:
            self._flood_limit = limit
            self._flood_window.clear()

    def fail(
        self,
        method: str | None = None,
        status: FaultStatus = 502,
        *,
        description: str | None = None,
        seconds: float | None = None,
        times: int | None = None,
        chat_id: int | None = None,
        retry_after: int = 1,
        delivered: bool = False,
    ) -> Fault:
        """Make calls of ``method`` (any method if None; any letter case) fail with ``status``.

        ``status`` is an HTTP error status (400-599), answered with Telegram's usual description
        unless ``description`` is given (a 429 carries ``retry_after``), or ``"timeout"``: no answer
        at all, the connection is held open until the client gives up (even if the fault ends
        meanwhile: a lost answer stays lost).  The fault ends after
        ``seconds`` of the sandbox clock, after failing ``times`` calls, or on ``clear()`` /
        ``clear_faults()``.  ``chat_id`` limits it to calls for that chat (for answerCallbackQuery:
        the chat of the pressed button).  With ``delivered`` the call is carried out first and only
        its answer is lost, as when Telegram's response never reaches the bot.

        Faults apply to calls that arrive after this, before the method's own rules, the first
        matching one (in the order they were made) winning; ``go_down`` wins over all of them.
        """
        check_fault_status(status)
        if times is not None and times < 1:
            raise ValueError(f"times must be at least 1, not {times}")
        if seconds is not None and seconds <= 0:
            raise ValueError(f"seconds must be positive, not {seconds}")
        name = None if method is None else self._method_name(method)
        with self._cond:
            fault = Fault(
                self._cond,
                method=name,
                status=status,
                description=default_description(status, retry_after) if description is None else description,
                started_at=self._clock(),
                seconds=seconds,
                times=times,
                chat_id=chat_id,
                retry_after=retry_after,
                delivered=delivered,
            )
            self._faults.append(fault)
        logger.info("sandbox will fail calls: %r", fault)
        return fault

    def clear_faults(self) -> None:
        """End every fault made with ``fail()``, and ``go_down()`` too."""
        with self._cond:
            for fault in self._faults:
                fault.clear()
            self._faults.clear()
            self.come_back()

    def go_down(self, seconds: float | None = None) -> None:
        """The whole API is down: every call (and file download) answers 502 Bad Gateway.

        Until ``come_back()`` / ``clear_faults()``, or for ``seconds`` of the sandbox clock.  A long
        poll in progress ends with the outage too, so no update slips through while down.
        """
        with self._cond:
            self._downtime = Fault(
                self._cond,
                method=None,
                status=502,
                description=default_description(502, 1),
                started_at=self._clock(),
                seconds=seconds,
            )
            self._cond.notify_all()

    def come_back(self) -> None:
        """End ``go_down()``."""
        with self._cond:
            if self._downtime is not None:
                self._downtime.clear()
            self._downtime = None

    def inject_raw_update(self, payload: dict[str, Any]) -> int:
        """Queue ``payload`` unchecked as an update's content, e.g. ``{"message": {...}}``; its update_id.

        For updates PTB cannot parse (a message whose "from" has no "first_name"...).  The sandbox
        assigns the update_id (replacing one in the payload), stores nothing in any chat, and filters
        the update by ``allowed_updates`` like any other, by the payload's first key.
        """
        content = {key: value for key, value in payload.items() if key != "update_id"}
        with self._cond:
            return self._queue(copy.deepcopy(content))

    # -- inspection --------------------------------------------------------------------------

    def person(
        self,
        user_id: int,
        first_name: str = "Li",
        language_code: str = "zh-hans",
        last_name: str | None = None,
        username: str | None = None,
    ) -> Person:
        """The simulated person with this id, created with a private chat on first use."""
        with self._cond:
            if user_id not in self._people:
                user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
                user.update({k: v for k, v in (("last_name", last_name), ("username", username)) if v})
                user["language_code"] = language_code
                self._chats[user_id] = ChatState(user)
                self._people[user_id] = Person(self, user_id)
            return self._people[user_id]

    def chat(self, chat_id: int) -> Person:
        """The person behind a private chat (chat id == user id); KeyError if unknown."""
        with self._cond:
            return self._people[chat_id]

    def file_content(self, file_id: str) -> bytes:
        """The bytes of a stored file (an upload from the bot, or what a person sent); KeyError if unknown."""
        with self._cond:
            return self._files[file_id].content

    @property
    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        """Every API call the bot made, as (method, decoded parameters), injected failures included."""
        with self._cond:
            return list(self._calls)

    @property
    def refusals(self) -> list[tuple[str, str]]:
        """(method, description) of every call a rule refused, as Telegram would; not injected faults."""
        with self._cond:
            return list(self._refusals)

    def wait_for_call(self, method: str, *, since: int = 0, timeout: float = 10.0) -> dict[str, Any]:
        """Block until the bot calls ``method`` (at index >= ``since`` in ``calls``); its params.

        Lets a test know e.g. that the bot is already long polling, without sleeping.
        """
        with self._cond:

            def find() -> dict[str, Any] | None:
                return next((p for name, p in self._calls[since:] if name == method), None)

            if not self._cond.wait_for(lambda: find() is not None, timeout=timeout):
                raise TimeoutError(f"the bot did not call {method} within {timeout}s")
            return find() or {}

    def pending_update_count(self) -> int:
        with self._cond:
            return len(self._updates)

    def commands(
        self, scope: str | dict[str, Any] = "default", language_code: str = ""
    ) -> list[dict[str, str]]:
        with self._cond:
            return copy.deepcopy(self._commands.get((_scope_key(scope), language_code), []))

    @property
    def webhook_url(self) -> str:
        with self._cond:
            return self._webhook_url

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(chat_id, message, "new"|"edit"|"delete")`` on every bot message event.

        Listeners run on a server thread, outside the sandbox lock, so they may call back in.
        """
        with self._cond:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with self._cond:
            self._listeners.remove(listener)

    def add_answer_listener(self, listener: AnswerListener) -> None:
        """Call ``listener(chat_id, answer)`` whenever the bot answers a button press.

        Like ``add_listener``: on a server thread, outside the sandbox lock.
        """
        with self._cond:
            self._answer_listeners.append(listener)

    def remove_answer_listener(self, listener: AnswerListener) -> None:
        with self._cond:
            self._answer_listeners.remove(listener)

    def add_fault_listener(self, listener: FaultListener) -> None:
        """Call ``listener(method, status, description)`` whenever an injected fault fails a call.

        ``go_down`` counts as one.  Like ``add_listener``: on a server thread, outside the sandbox lock.
        """
        with self._cond:
            self._fault_listeners.append(listener)

    def remove_fault_listener(self, listener: FaultListener) -> None:
        with self._cond:
            self._fault_listeners.remove(listener)

    # -- HTTP entry point --------------------------------------------------------------------

    def handle_http(self, path: str, query: str, content_type: str, body: bytes) -> Response | Unanswered:
        """Answer one HTTP request: (status, content type, body), or leave it unanswered."""
        path = unquote(path)  # PTB percent-encodes the ':' of the token in file URLs
        if match := _API_PATH.match(path):
            return self._api_request(match.group(1), match.group(2), query, content_type, body)
        if match := _FILE_PATH.match(path):
            return self._download(match.group(1), match.group(2))
        return json_response(404, {"ok": False, "error_code": 404, "description": "Not Found"})

    def _api_request(
        self, token: str, method: str, query: str, content_type: str, body: bytes
    ) -> Response | Unanswered:
        with self._cond:
            answer = self._answer(token, method, query, content_type, body)
            events, self._outbox = self._outbox, []
            answers, self._answer_outbox = self._answer_outbox, []
            faults, self._fault_outbox = self._fault_outbox, []
            listeners = list(self._listeners)
            answer_listeners = list(self._answer_listeners)
            fault_listeners = list(self._fault_listeners)
        if self._latency:
            time.sleep(self._latency)  # outside the lock: each request waits in its own thread
        _tell(listeners, events, "message")
        _tell(answer_listeners, answers, "answer")
        _tell(fault_listeners, faults, "fault")
        return answer

    def _answer(
        self, token: str, method: str, query: str, content_type: str, body: bytes
    ) -> Response | Unanswered:
        """What one API call gets back; under the lock."""
        try:
            result = self._call(token, method, query, content_type, body)
        except _Injected as injected:
            return self._injected_answer(injected.method, injected.fault)
        except ApiError as err:
            self._note_refusal(self._methods.get(method.lower(), (method, None))[0], err)
            return json_response(err.status, err.payload())
        except Exception as exc:  # a sandbox bug must not look like a Telegram answer
            logger.exception("sandbox failed on %s", method)
            return json_response(
                500, {"ok": False, "error_code": 500, "description": f"Internal Server Error: {exc}"}
            )
        return json_response(200, {"ok": True, "result": result})

    def _call(self, token: str, method: str, query: str, content_type: str, body: bytes) -> Any:
        name, handler = self._methods.get(method.lower(), (method, None))
        if (downtime := self._live_downtime()) is not None:
            self._record_call(name, self._params_if_readable(query, content_type, body))
            raise self._failing(name, downtime)
        bot = self._authenticate(token)
        if handler is None:
            if self._spec and any(m.lower() == method.lower() for m in self._spec):
                logger.warning("the sandbox does not implement %s", method)
            raise ApiError(404, "Not Found")
        params = Params.from_request(query, content_type, body)
        self._record_call(name, params)
        fault = self._matching_fault(name, params)
        if fault is None:
            return self._carry_out(name, handler, bot, params)
        if fault.delivered:
            try:
                self._carry_out(name, handler, bot, params)
            except ApiError as err:  # refused by a rule, and then the answer was lost as well
                self._note_refusal(name, err)
        raise self._failing(name, fault)

    def _carry_out(
        self, name: str, handler: Callable[[dict[str, Any], Params], Any], bot: dict[str, Any], p: Params
    ) -> Any:
        """The method's own rules, then the method."""
        self._check_spec(name, p)
        self._check_flood(name)
        return handler(bot, p)

    def _record_call(self, name: str, params: Params) -> None:
        self._calls.append((name, params.loggable()))
        self._cond.notify_all()

    @staticmethod
    def _params_if_readable(query: str, content_type: str, body: bytes) -> Params:
        """While down nothing is parsed for real; a call is still recorded with what can be read."""
        try:
            return Params.from_request(query, content_type, body)
        except ApiError:
            return Params({})

    def _note_refusal(self, method: str, err: ApiError) -> None:
        logger.info("sandbox refused %s: %s", method, err.description)
        self._refusals.append((method, err.description))

    def _authenticate(self, token: str) -> dict[str, Any]:
        match = TOKEN_PATTERN.match(token)
        if not match:
            raise ApiError(401, "Unauthorized")
        self._bot_id = int(match.group(1))
        return self._bot_user()

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self._bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    # -- injected faults ---------------------------------------------------------------------

    def _method_name(self, method: str) -> str:
        """The sandbox's name of a method given in any letter case; ValueError for a typo."""
        name, _ = self._methods.get(method.lower(), (None, None))
        if name is None:
            raise ValueError(f"the sandbox has no method {method!r}")
        return name

    def _live_downtime(self) -> Fault | None:
        """The outage ``go_down()`` made, while it lasts."""
        if self._downtime is not None and self._downtime.expired(self._clock()):
            self._downtime = None
        return self._downtime

    def _matching_fault(self, method: str, params: Params) -> Fault | None:
        now = self._clock()
        self._faults = [f for f in self._faults if not f.expired(now)]
        live = [f for f in self._faults if f.live(now)]
        if not live:
            return None
        chat_id = self._chat_of_call(method, params)
        return next((f for f in live if f.matches(method, chat_id)), None)

    def _chat_of_call(self, method: str, params: Params) -> int | None:
        """The chat a call is about, to scope faults to one person; None if it names none."""
        if method == "answerCallbackQuery":
            query = self._queries.get(params.text("callback_query_id") or "")
            return None if query is None else query.chat_id
        ref = params.value("chat_id")
        if isinstance(ref, str) and ref.startswith("@"):
            chat = self._chat_by_username(ref[1:])
            return None if chat is None else chat.id
        try:
            return int(ref)
        except (TypeError, ValueError):
            return None

    @staticmethod
    def _failing(method: str, fault: Fault) -> _Injected:
        """Count the call as one the fault failed; the exception that carries it to the answer."""
        fault.hit()
        return _Injected(method, fault)

    def _injected_answer(self, method: str, fault: Fault) -> Response | Unanswered:
        logger.info("sandbox fails %s on purpose: %s %s", method, fault.status, fault.description)
        self._fault_outbox.append((method, fault.status, fault.description))
        if fault.status == TIMEOUT:
            # An answer Telegram never sent does not come later because the fault ended: the request
            # stays unanswered until the client gives up (or the sandbox stops).
            return Unanswered(self._still_running)
        err = fault.error()
        return json_response(err.status, err.payload())

    def _still_running(self) -> bool:
        with self._cond:
            return not self._stopping

    def _check_spec(self, method: str, params: Params) -> None:
        fields = self._spec.get(method) if self._spec else None
        if fields is None:
            return
        names = params.names()
        # Telegram ignores parameters it does not know (PTB even sends parse_mode to
        # editMessageReplyMarkup when a default is set), so they are only noted for tests to inspect.
        self.unknown_parameters.extend((method, name) for name in sorted(names - fields.keys()))
        missing = [name for name, required in fields.items() if required and name not in names]
        if missing:
            raise bad(f'parameter "{missing[0]}" is required')

    def _check_flood(self, method: str) -> None:
        if self._flood_limit is None or not _is_sending(method):
            return
        now = self._clock()
        window = self._flood_window
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self._flood_limit:
            retry_after = max(1, math.ceil(window[0] + 1.0 - now))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        window.append(now)

    def _download(self, token: str, file_path: str) -> Response:
        with self._cond:
            if self._live_downtime() is not None:  # files are served by the same servers as the methods
                return json_response(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
            stored = next((f for f in self._files.values() if f.file_path == file_path), None)
        if not TOKEN_PATTERN.match(token) or stored is None:
            return json_response(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        return 200, stored.mime_type, stored.content

    def _method_table(self) -> dict[str, tuple[str, Callable[[dict[str, Any], Params], Any]]]:
        methods: dict[str, Callable[[dict[str, Any], Params], Any]] = {
            "getMe": lambda bot, p: bot,
            "logOut": lambda bot, p: True,
            "close": lambda bot, p: True,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendVoice": self._send_voice,
            "sendVideo": self._send_video,
            "sendAudio": self._send_audio,
            "sendVideoNote": self._send_video_note,
            "sendLocation": self._send_location,
            "sendChatAction": self._send_chat_action,
            "copyMessage": self._copy_message,
            "forwardMessage": self._forward_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "getFile": self._get_file,
        }
        return {name.lower(): (name, handler) for name, handler in methods.items()}

    # -- updates -----------------------------------------------------------------------------

    def _get_updates(self, bot: dict[str, Any], p: Params) -> list[dict[str, Any]]:
        """Long polling with at-least-once delivery: only a later offset confirms an update."""
        if self._webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._set_allowed_updates(p.json_value("allowed_updates"))
        self._confirm_updates(p.integer("offset"))
        limit = min(max(p.integer("limit") or 100, 1), 100)
        timeout = max(p.integer("timeout") or 0, 0)
        self._poll_generation += 1
        generation = self._poll_generation
        self._cond.wait_for(
            lambda: (
                bool(self._updates)
                or self._stopping
                or generation != self._poll_generation
                or self._live_downtime() is not None
            ),
            timeout=timeout,
        )
        if (downtime := self._live_downtime()) is not None:
            raise self._failing("getUpdates", downtime)
        if generation != self._poll_generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        return self._updates[:limit]

    def _confirm_updates(self, offset: int | None) -> None:
        if offset is None:
            return
        if offset < 0:
            self._updates = self._updates[offset:]
        else:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

    def _set_allowed_updates(self, allowed: Any) -> None:
        if allowed is None:
            return
        if not isinstance(allowed, list):
            raise bad("can't parse allowed_updates JSON object")
        self._allowed_updates = [str(kind) for kind in allowed]
        self._updates = [u for u in self._updates if self._allowed(u)]

    def _allowed(self, update: dict[str, Any]) -> bool:
        kind = next((k for k in update if k != "update_id"), None)
        return kind is None or not self._allowed_updates or kind in self._allowed_updates

    def _enqueue(self, kind: str, payload: dict[str, Any]) -> int:
        return self._queue({kind: copy.deepcopy(payload)})

    def _queue(self, content: dict[str, Any]) -> int:
        """Queue an update with this content; its new update_id."""
        update_id = self._next_update_id
        self._next_update_id += 1
        update = {"update_id": update_id, **content}
        if self._allowed(update):
            self._updates.append(update)
        self._cond.notify_all()
        return update_id

    def _set_webhook(self, bot: dict[str, Any], p: Params) -> bool:
        url = p.text("url") or ""
        if url and not url.startswith("https://"):
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        self._set_allowed_updates(p.json_value("allowed_updates"))
        if p.flag("drop_pending_updates"):
            self._updates.clear()
        self._webhook_url = url
        return True

    def _delete_webhook(self, bot: dict[str, Any], p: Params) -> bool:
        if p.flag("drop_pending_updates"):
            self._updates.clear()
        self._webhook_url = ""
        return True

    def _get_webhook_info(self, bot: dict[str, Any], p: Params) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._allowed_updates:
            info["allowed_updates"] = list(self._allowed_updates)
        return info

    # -- commands ----------------------------------------------------------------------------

    def _commands_key(self, p: Params) -> tuple[str, str]:
        return _scope_key(p.json_value("scope")), p.text("language_code") or ""

    def _set_my_commands(self, bot: dict[str, Any], p: Params) -> bool:
        commands = p.json_value("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _BOT_COMMAND_NAME.match(str(command.get("command", ""))):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
        stored = [{"command": c["command"], "description": c["description"]} for c in commands]
        self._commands[self._commands_key(p)] = stored
        return True

    def _get_my_commands(self, bot: dict[str, Any], p: Params) -> list[dict[str, str]]:
        return self._commands.get(self._commands_key(p), [])

    def _delete_my_commands(self, bot: dict[str, Any], p: Params) -> bool:
        self._commands.pop(self._commands_key(p), None)
        return True

    # -- chats and messages ------------------------------------------------------------------

    def _now(self) -> int:
        return int(self._clock())

    def _chat_by_ref(self, ref: Any) -> ChatState:
        if ref is None or ref == "":
            raise bad("chat_id is empty")
        if isinstance(ref, str) and ref.startswith("@"):
            found = self._chat_by_username(ref[1:])
            if found is None:
                raise bad("chat not found")
            return found
        try:
            chat_id = int(ref)
        except (TypeError, ValueError) as exc:
            raise bad("chat not found") from exc
        if chat_id not in self._chats:
            raise bad("chat not found")
        return self._chats[chat_id]

    def _chat_by_username(self, username: str) -> ChatState | None:
        return next((c for c in self._chats.values() if c.user.get("username") == username), None)

    def _target_chat(self, p: Params, *, sending: bool = True) -> ChatState:
        chat = self._chat_by_ref(p.value("chat_id"))
        if sending and chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _record_event(self, chat: ChatState, stored: StoredMessage, event: str) -> None:
        self._seq += 1
        stored.seq = self._seq
        snapshot = stored.snapshot()
        chat.events.append((self._seq, event, snapshot))
        self._outbox.append((chat.id, snapshot, event))
        self._cond.notify_all()

    def _reply_target(self, chat: ChatState, p: Params) -> dict[str, Any] | None:
        parameters = p.json_value("reply_parameters")
        parameters = parameters if isinstance(parameters, dict) else {}
        message_id = parameters.get("message_id", p.integer("reply_to_message_id"))
        if message_id is None:
            return None
        target = chat.messages.get(int(message_id))
        if target is None or target.deleted:
            if parameters.get("allow_sending_without_reply") or p.flag("allow_sending_without_reply"):
                return None
            raise bad("message to be replied not found")
        reply = copy.deepcopy(target.data)
        reply.pop("reply_to_message", None)
        return reply

    def _post(
        self, bot: dict[str, Any], chat: ChatState, p: Params, content: dict[str, Any], kind: str
    ) -> dict[str, Any]:
        """Store a bot message built from validated content and show it to the person."""
        markup = parse_reply_markup(p.value("reply_markup"))
        reply = self._reply_target(chat, p)
        data = {
            "message_id": chat.allocate_message_id(),
            "from": bot,
            "chat": chat.chat_json(),
            "date": self._now(),
            **content,
        }
        if reply is not None:
            data["reply_to_message"] = reply
        keyboard = None
        if markup is not None and markup.get("inline_keyboard"):
            data["reply_markup"] = markup
        elif markup is not None and "keyboard" in markup:
            keyboard = chat.reply_keyboard = markup["keyboard"]
        elif markup is not None and markup.get("remove_keyboard"):
            chat.reply_keyboard = None
        stored = StoredMessage(data, True, kind, p.text("parse_mode"), keyboard)
        chat.messages[data["message_id"]] = stored
        self._record_event(chat, stored, "new")
        return data

    def _send_message(self, bot: dict[str, Any], p: Params) -> dict[str, Any]:
        chat = self._target_chat(p)
        text, entities = format_text(p.text("text") or "", p.text("parse_mode"), p.json_value("entities"))
        if not text:
            raise bad("message text is empty")
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise bad("message is too long")
        return self._post(
            bot, chat, p, {"text": text, **({"entities": entities} if entities else {})}, "text"
        )

    def _caption(self, p: Params) -> dict[str, Any]:
        raw = p.text("caption")
        if raw is None:
            return {}
        text, entities = format_text(raw, p.text("parse_mode"), p.json_value("caption_entities"))
        if utf16_len(text) > MAX_CAPTION_LENGTH:
            raise bad("message caption is too long")
        content: dict[str, Any] = {"caption": text} if text else {}
        if text and entities:
            content["caption_entities"] = entities
        return content

    # -- files -------------------------------------------------------------------------------

    def _store_file(
        self,
        content: bytes,
        kind: str,
        *,
        mime_type: str | None = None,
        file_name: str | None = None,
        duration: int | None = None,
    ) -> StoredFile:
        folder, default_ext, default_mime, prefix = FILE_KINDS[kind]
        number = len(self._files) + 1
        extension = (
            Path(file_name).suffix.lstrip(".") if file_name and Path(file_name).suffix else default_ext
        )
        stored = StoredFile(
            file_id=f"{prefix}{number:06d}sandbox",
            file_unique_id=f"AQAD{number:06d}",
            content=content,
            file_path=f"{folder}/file_{number}.{extension}",
            mime_type=mime_type or default_mime,
            file_name=file_name,
            duration=duration,
        )
        self._files[stored.file_id] = stored
        return stored

    def _input_file(self, p: Params, name: str) -> StoredFile:
        """Resolve a media parameter: an upload, an attach:// part, a known file_id or a URL."""
        value = p.value(name)
        upload = p.files.get(name)
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = p.files.get(value.removeprefix("attach://"))
            if upload is None:
                raise bad("wrong file identifier/HTTP URL specified")
        if upload is not None:
            return self._store_file(
                upload.content, name, mime_type=upload.mime_type, file_name=upload.filename
            )
        if value is None or value == "":
            raise bad(f"there is no {name} in the request")
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            # Telegram would download it; offline, keep an empty placeholder under that name.
            return self._store_file(b"", name, file_name=Path(urlsplit(value).path).name or None)
        raise bad("wrong file identifier/HTTP URL specified")

    def _photo_sizes(self, stored: StoredFile, width: int = 1280, height: int = 960) -> list[dict[str, Any]]:
        """A thumbnail and the full size; either file_id sends the same photo again."""
        if stored.file_id in self._photo_sets:
            return copy.deepcopy(self._photo_sets[stored.file_id])
        thumb = self._store_file(stored.content, "photo", mime_type=stored.mime_type)
        scale = 90 / max(width, height, 1)
        sizes = [
            photo_size(thumb, max(1, round(width * scale)), max(1, round(height * scale))),
            photo_size(stored, width, height),
        ]
        for size in sizes:
            self._photo_sets[size["file_id"]] = sizes
        return copy.deepcopy(sizes)

    def _send_photo(self, bot: dict[str, Any], p: Params) -> dict[str, Any]:
        chat = self._target_chat(p)
        sizes = self._photo_sizes(self._input_file(p, "photo"))
        return self._post(bot, chat, p, {"photo": sizes, **self._caption(p)}, "photo")

    def _send_document(self, bot: dict[str, Any], p: Params) -> dict[str, Any]:
        chat = self._target_chat(p)
        document = document_json(self._input_file(p, "document"))
        return self._post(bot, chat, p, {"document": document, **self._caption(p)}, "document")

    def _send_voice(self, bot: dict[str, Any], p: Params) -> dict[str, Any]:
        chat = self._target_chat(p)
        stored = self._input_file(p, "voice")
        duration = p.integer("duration")
        if duration is not None:
            stored.duration = duration
        return self._post(bot, chat, p, {"voice": voice_json(stored), **self._caption(p)}, "voice")

    def _send_video(self, bot: dict[str, Any], p: Params) -> dict[str, Any]:
        chat = self._target_chat(p)
        caption = self._caption(p)
        stored = self._input_file(p, "video")
        self._update_file(stored, p, duration="duration", width="width", height="height")
        return self._post(bot, chat, p, {"video": video_json(stored), **caption}, "video")

    def _send_audio(self, bot: dict[str, Any], p: Params) -> dict[str, Any]:
        chat = self._target_chat(p)
        caption = self._caption(p)
        stored = self._input_file(p, "audio")
        self._update_file(stored, p, duration="duration")
        audio = audio_json(stored)
        for key in ("performer", "title"):  # the track's tags as the call gives them
            if p.text(key):
                audio[key] = p.text(key)
        return self._post(bot, chat, p, {"audio": audio, **caption}, "audio")

    def _send_video_note(self, bot: dict[str, Any], p: Params) -> dict[str, Any]:
        """A round video: Telegram takes no caption with it (one sent anyway is ignored)."""
        chat = self._target_chat(p)
        stored = self._input_file(p, "video_note")
        self._update_file(stored, p, duration="duration", width="length")
        return self._post(bot, chat, p, {"video_note": video_note_json(stored)}, "video_note")

    @staticmethod
    def _update_file(stored: StoredFile, p: Params, **fields: str) -> None:
        """Keep what the call says about the file (attribute=parameter), as ``sendVoice`` keeps duration."""
        for attribute, name in fields.items():
            value = p.integer(name)
            if value is not None:
                setattr(stored, attribute, value)

    def _send_location(self, bot: dict[str, Any], p: Params) -> dict[str, Any]:
        chat = self._target_chat(p)
        latitude, longitude = p.number("latitude"), p.number("longitude")
        if latitude is None or not -90 <= latitude <= 90:
            raise bad("wrong latitude")
        if longitude is None or not -180 <= longitude <= 180:
            raise bad("wrong longitude")
        return self._post(
            bot, chat, p, {"location": {"latitude": latitude, "longitude": longitude}}, "location"
        )

    def _send_chat_action(self, bot: dict[str, Any], p: Params) -> bool:
        self._target_chat(p)
        if p.text("action") not in _CHAT_ACTIONS:
            raise bad("wrong parameter action in request")
        return True

    def _get_file(self, bot: dict[str, Any], p: Params) -> dict[str, Any]:
        stored = self._files.get(p.text("file_id") or "")
        if stored is None:
            raise bad("invalid file_id")
        return stored.as_file()

    # -- copy and forward --------------------------------------------------------------------

    def _source_message(self, p: Params, verb: str) -> StoredMessage:
        source = self._chat_by_ref(p.value("from_chat_id"))
        stored = source.messages.get(p.integer("message_id") or 0)
        if stored is None or stored.deleted:
            raise bad(f"message to {verb} not found")
        return stored

    def _copy_message(self, bot: dict[str, Any], p: Params) -> dict[str, int]:
        chat = self._target_chat(p)
        source = self._source_message(p, "copy")
        content = {k: copy.deepcopy(v) for k, v in source.data.items() if k in _CONTENT_KEYS + _CAPTION_KEYS}
        if p.value("caption") is not None and source.kind in _MEDIA_KINDS:
            for key in _CAPTION_KEYS:
                content.pop(key, None)
            content.update(self._caption(p))
        return {"message_id": self._post(bot, chat, p, content, source.kind)["message_id"]}

    def _forward_message(self, bot: dict[str, Any], p: Params) -> dict[str, Any]:
        chat = self._target_chat(p)
        source = self._source_message(p, "forward")
        content = {k: copy.deepcopy(v) for k, v in source.data.items() if k in _CONTENT_KEYS + _CAPTION_KEYS}
        content["forward_origin"] = {
            "type": "user",
            "sender_user": source.data["from"],
            "date": source.data["date"],
        }
        return self._post(bot, chat, Params({}), content, source.kind)

    # -- edits and deletes -------------------------------------------------------------------

    def _editable(self, p: Params) -> tuple[ChatState, StoredMessage]:
        if p.value("inline_message_id") is not None:
            raise bad("message to edit not found")
        chat = self._target_chat(p)
        stored = chat.messages.get(p.integer("message_id") or 0)
        if stored is None or stored.deleted:
            raise bad("message to edit not found")
        if not stored.from_bot:
            raise bad("message can't be edited")
        return chat, stored

    def _edit_markup(self, p: Params) -> dict[str, Any] | None:
        """Edits only take inline keyboards; leaving reply_markup out removes the keyboard."""
        markup = parse_reply_markup(p.value("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise bad("inline keyboard expected")
        return markup if markup and markup["inline_keyboard"] else None

    def _apply_edit(
        self,
        chat: ChatState,
        stored: StoredMessage,
        content: dict[str, Any],
        markup: dict[str, Any] | None,
        p: Params,
    ) -> dict[str, Any]:
        before = {k: stored.data.get(k) or None for k in content} | {
            "reply_markup": stored.data.get("reply_markup")
        }
        after = {k: v or None for k, v in content.items()} | {"reply_markup": markup}
        if before == after:
            raise bad(
                "message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message"
            )
        for key, value in after.items():
            if value is None:
                stored.data.pop(key, None)
            else:
                stored.data[key] = value
        if content:
            stored.parse_mode = p.text("parse_mode")
        stored.data["edit_date"] = self._now()
        stored.edits += 1
        self._record_event(chat, stored, "edit")
        return stored.data

    def _edit_message_text(self, bot: dict[str, Any], p: Params) -> dict[str, Any]:
        chat, stored = self._editable(p)
        if "text" not in stored.data:
            raise bad("there is no text in the message to edit")
        text, entities = format_text(p.text("text") or "", p.text("parse_mode"), p.json_value("entities"))
        if not text:
            raise bad("message text is empty")
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise bad("message is too long")
        return self._apply_edit(chat, stored, {"text": text, "entities": entities}, self._edit_markup(p), p)

    def _edit_message_caption(self, bot: dict[str, Any], p: Params) -> dict[str, Any]:
        chat, stored = self._editable(p)
        if stored.kind not in _MEDIA_KINDS:
            raise bad("there is no caption in the message to edit")
        caption = self._caption(p)
        content = {"caption": caption.get("caption"), "caption_entities": caption.get("caption_entities")}
        return self._apply_edit(chat, stored, content, self._edit_markup(p), p)

    def _edit_message_reply_markup(self, bot: dict[str, Any], p: Params) -> dict[str, Any]:
        chat, stored = self._editable(p)
        return self._apply_edit(chat, stored, {}, self._edit_markup(p), p)

    def _delete(self, chat: ChatState, stored: StoredMessage) -> None:
        if self._now() - stored.data["date"] > DELETE_WINDOW_SECONDS:
            raise bad("message can't be deleted for everyone")
        stored.deleted = True
        if stored.from_bot:
            self._record_event(chat, stored, "delete")

    def _delete_message(self, bot: dict[str, Any], p: Params) -> bool:
        chat = self._target_chat(p, sending=False)
        stored = chat.messages.get(p.integer("message_id") or 0)
        if stored is None or stored.deleted:
            raise bad("message to delete not found")
        self._delete(chat, stored)
        return True

    def _delete_messages(self, bot: dict[str, Any], p: Params) -> bool:
        """Telegram skips messages that are missing or too old instead of failing the batch."""
        chat = self._target_chat(p, sending=False)
        message_ids = p.json_value("message_ids")
        if not isinstance(message_ids, list) or not 1 <= len(message_ids) <= 100:
            raise bad("message identifiers are not specified")
        for message_id in message_ids:
            stored = chat.messages.get(int(message_id))
            if stored is not None and not stored.deleted:
                try:
                    self._delete(chat, stored)
                except ApiError:
                    continue
        return True

    # -- callback queries --------------------------------------------------------------------

    def _answer_callback_query(self, bot: dict[str, Any], p: Params) -> bool:
        query_id = p.text("callback_query_id") or ""
        query = self._queries.get(query_id)
        late = query is not None and self._clock() - query.pressed_at > self._callback_answer_window
        if query is None or query.answered or late:
            raise bad("query is too old and response timeout expired or query ID is invalid")
        text = p.text("text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad("MESSAGE_TOO_LONG")
        query.answered = True
        answer: dict[str, Any] = {"text": text, "show_alert": p.flag("show_alert"), "url": p.text("url")}
        self._chats[query.chat_id].callback_answers[query_id] = answer
        self._answer_outbox.append((query.chat_id, CallbackAnswer(query_id, query.message_id, **answer)))
        self._cond.notify_all()
        return True

    # -- the person's side (called by Person under the lock) ---------------------------------

    def _chat_state(self, user_id: int) -> ChatState:
        return self._chats[user_id]

    def _from_person(self, user_id: int, content: dict[str, Any], kind: str) -> int:
        """Store a message the person sent and queue it as an update; returns the update_id."""
        chat = self._chats[user_id]
        if chat.blocked:
            raise RuntimeError(f"user {user_id} has blocked the bot; call unblock() first")
        data = {
            "message_id": chat.allocate_message_id(),
            "from": dict(chat.user),
            "chat": chat.chat_json(),
            "date": self._now(),
            **content,
        }
        chat.messages[data["message_id"]] = StoredMessage(data, False, kind)
        return self._enqueue("message", data)

    def _edit_from_person(self, user_id: int, message_id: int, text: str) -> int:
        chat = self._chats[user_id]
        stored = chat.messages.get(message_id)
        if stored is None or stored.from_bot or "text" not in stored.data:
            raise LookupError(f"no text message {message_id} from user {user_id}")
        stored.data.update(text=text, edit_date=self._now())
        stored.data.pop("entities", None)
        entities = command_entities(text)
        if entities:
            stored.data["entities"] = entities
        return self._enqueue("edited_message", stored.data)

    def _press(self, user_id: int, stored: StoredMessage, data: str) -> str:
        chat = self._chats[user_id]
        if chat.blocked:
            raise RuntimeError(f"user {user_id} has blocked the bot; call unblock() first")
        query_id = str(4_000_000_000_000_000 + self._next_query)
        self._next_query += 1
        self._queries[query_id] = _Query(user_id, stored.data["message_id"], pressed_at=self._clock())
        chat.presses.append(query_id)
        query = {
            "id": query_id,
            "from": dict(chat.user),
            "message": stored.data,
            "chat_instance": str(7_000_000_000_000 + user_id),
            "data": data,
        }
        self._enqueue("callback_query", query)
        return query_id

    def _set_blocked(self, user_id: int, blocked: bool) -> int:
        """Blocking sends my_chat_member, as Telegram does, so the bot can notice it."""
        chat = self._chats[user_id]
        chat.blocked = blocked
        bot = self._bot_user()
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        member_old: dict[str, Any] = {"status": old, "user": bot}
        member_new: dict[str, Any] = {"status": new, "user": bot}
        for member in (member_old, member_new):
            if member["status"] == "kicked":
                member["until_date"] = 0
        update = {
            "chat": chat.chat_json(),
            "from": dict(chat.user),
            "date": self._now(),
            "old_chat_member": member_old,
            "new_chat_member": member_new,
        }
        return self._enqueue("my_chat_member", update)
