"""Simulated people: ``Person`` acts as a Telegram user, ``SentMessage`` is what they see."""

from __future__ import annotations

import asyncio
import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.sandbox.files import audio_json, document_json, video_json, video_note_json, voice_json
from bot.sandbox.formatting import utf16_len

if TYPE_CHECKING:
    from bot.sandbox.server import BotApiSandbox, ChatState, StoredMessage

_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")
_FAKE_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00sandbox\xff\xd9"
_FAKE_OGG = b"OggS\x00\x02" + bytes(58)
_FAKE_WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8 sandbox-sticker"
_FAKE_MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isomsandbox"
_FAKE_MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfbsandbox"


@dataclass(frozen=True)
class SentMessage:
    """What a person sees of one bot message, frozen at the moment of an event.

    ``text`` is the text, or the caption of a media message.  ``inline_buttons`` holds rows of
    ``(label, callback_data or url)``; ``reply_keyboard`` holds the label rows of the reply
    keyboard this message brought up (None if it brought none).  ``seq`` orders events across
    the whole sandbox and can be passed as ``since`` to the ``wait_for_*`` methods.
    """

    message_id: int
    kind: str
    text: str | None
    date: int
    seq: int
    parse_mode: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    inline_buttons: list[list[tuple[str, str | None]]] = field(default_factory=list)
    reply_keyboard: list[list[str]] | None = None
    edits: int = 0
    deleted: bool = False
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def button_labels(self) -> list[str]:
        return [label for row in self.inline_buttons for label, _ in row]


@dataclass(frozen=True)
class CallbackAnswer:
    """The bot's answer to one button press (answerCallbackQuery).

    ``text`` is shown as a toast, or as a popup the person must close when ``show_alert`` is set;
    an answer without text only stops the button's loading animation.
    """

    query_id: str
    message_id: int
    text: str | None
    show_alert: bool = False
    url: str | None = None


def command_entities(text: str) -> list[dict[str, Any]]:
    """Telegram clients mark a leading /command, which PTB's CommandHandler relies on."""
    match = _COMMAND.match(text)
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}] if match else []


class Person:
    """A simulated Telegram user in a private chat with the bot.

    Every action is synchronous, never waits on the server and queues exactly one update;
    it returns the update_id (the callback query id for presses).  Reading methods show what
    the person sees.  ``wait_for_message`` / ``wait_for_edit`` keep a cursor: by default they
    return the first matching bot message (or edit) after both the person's latest action and
    the previous message that call returned, so consecutive waits walk through the replies.
    """

    def __init__(self, sandbox: BotApiSandbox, user_id: int) -> None:
        self._sandbox = sandbox
        self.user_id = user_id
        self._cursors = {"new": 0, "edit": 0}

    def __repr__(self) -> str:
        return f"Person({self.user_id}, {self.first_name!r})"

    # -- identity ----------------------------------------------------------------------------

    @property
    def chat_id(self) -> int:
        return self.user_id

    @property
    def user(self) -> dict[str, Any]:
        with self._sandbox._cond:
            return dict(self._state().user)

    @property
    def first_name(self) -> str:
        first_name: str = self.user["first_name"]  # Telegram's User JSON
        return first_name

    @property
    def phone_number(self) -> str:
        """The number shared by a request_contact button (a fake Chinese mobile number)."""
        return f"+8613{self.user_id % 10**9:09d}"

    @property
    def blocked(self) -> bool:
        with self._sandbox._cond:
            return self._state().blocked

    def _state(self) -> ChatState:
        return self._sandbox._chat_state(self.user_id)

    # -- actions -----------------------------------------------------------------------------

    def _send(self, content: dict[str, Any], kind: str) -> int:
        with self._sandbox._cond:
            self._cursors = dict.fromkeys(self._cursors, self._sandbox._seq)
            return self._sandbox._from_person(self.user_id, content, kind)

    def send_text(self, text: str) -> int:
        """Send a text; a leading /command gets its bot_command entity like in real clients."""
        entities = command_entities(text)
        return self._send({"text": text, **({"entities": entities} if entities else {})}, "text")

    def send_command(self, command: str) -> int:
        """Send ``/name [payload]``, e.g. ``/start join``."""
        if not _COMMAND.match(command):
            raise ValueError(f"not a bot command: {command!r}")
        return self.send_text(command)

    def press(self, label: str, message_id: int | None = None) -> str:
        """Press the inline button ``label`` on ``message_id`` or the newest bot message with it."""
        with self._sandbox._cond:
            stored, button = self._find_button(label, message_id)
            if "callback_data" not in button:
                raise LookupError(f"button {label!r} is not a callback button: {button}")
            self._cursors = dict.fromkeys(self._cursors, self._sandbox._seq)
            return self._sandbox._press(self.user_id, stored, button["callback_data"])

    def press_data(self, data: str, message_id: int | None = None) -> str:
        """Send arbitrary (possibly forged or stale) callback data from a bot message."""
        with self._sandbox._cond:
            stored = self._message_for_press(message_id)
            self._cursors = dict.fromkeys(self._cursors, self._sandbox._seq)
            return self._sandbox._press(self.user_id, stored, data)

    def _find_button(self, label: str, message_id: int | None) -> tuple[StoredMessage, dict[str, Any]]:
        candidates = self._state().bot_messages()
        if message_id is not None:
            candidates = [m for m in candidates if m.data["message_id"] == message_id]
        for stored in reversed(candidates):
            for row in stored.data.get("reply_markup", {}).get("inline_keyboard", []):
                for button in row:
                    if button["text"] == label:
                        return stored, button
        where = f"message {message_id}" if message_id is not None else "any bot message"
        raise LookupError(f"no inline button {label!r} on {where}; buttons: {self._all_labels()}")

    def _all_labels(self) -> list[str]:
        return [label for m in self.messages for label in m.button_labels]

    def _message_for_press(self, message_id: int | None) -> StoredMessage:
        messages = self._state().bot_messages()
        if message_id is not None:
            messages = [m for m in messages if m.data["message_id"] == message_id]
        with_keyboard = [m for m in messages if "reply_markup" in m.data]
        if not messages:
            raise LookupError("no bot message to press a button on")
        return (with_keyboard or messages)[-1]

    def tap_reply_button(self, label: str) -> int:
        """Tap a reply-keyboard button: sends its text, or the contact/location it requests."""
        with self._sandbox._cond:
            keyboard = self._state().reply_keyboard
            buttons = [b for row in keyboard or [] for b in row if b["text"] == label]
        if keyboard is None:
            raise LookupError("no reply keyboard is shown")
        if not buttons:
            labels = [b["text"] for row in keyboard for b in row]
            raise LookupError(f"no reply keyboard button {label!r}; buttons: {labels}")
        if buttons[0].get("request_contact"):
            return self.share_contact(self.phone_number)
        if buttons[0].get("request_location"):
            return self.send_location(31.2304, 121.4737)
        return self.send_text(label)

    def share_contact(
        self, phone_number: str, first_name: str | None = None, user_id: int | None = None
    ) -> int:
        """Share a contact; ``user_id`` defaults to the person's own id (their own number)."""
        user = self.user
        contact: dict[str, Any] = {
            "phone_number": phone_number,
            "first_name": first_name or user["first_name"],
            "user_id": self.user_id if user_id is None else user_id,
        }
        if first_name is None and "last_name" in user:
            contact["last_name"] = user["last_name"]
        return self._send({"contact": contact}, "contact")

    def send_photo(
        self,
        caption: str | None = None,
        width: int = 1280,
        height: int = 960,
        *,
        media_group_id: str | None = None,
    ) -> int:
        """Send a photo; photos of one album share a ``media_group_id`` and arrive as separate updates."""
        with self._sandbox._cond:
            stored = self._sandbox._store_file(_FAKE_JPEG, "photo")
            sizes = self._sandbox._photo_sizes(stored, width, height)
            content: dict[str, Any] = {"photo": sizes}
            if caption:
                content["caption"] = caption
            if media_group_id:
                content["media_group_id"] = media_group_id
            return self._send(content, "photo")

    def send_document(
        self, file_name: str, content: bytes, mime_type: str = "application/pdf", caption: str | None = None
    ) -> int:
        with self._sandbox._cond:
            stored = self._sandbox._store_file(content, "document", mime_type=mime_type, file_name=file_name)
            document = document_json(stored)
            return self._send({"document": document, **({"caption": caption} if caption else {})}, "document")

    def send_voice(self, duration: int = 3) -> int:
        with self._sandbox._cond:
            stored = self._sandbox._store_file(_FAKE_OGG, "voice", duration=duration)
            return self._send({"voice": voice_json(stored)}, "voice")

    def send_video(
        self,
        caption: str | None = None,
        duration: int = 5,
        width: int = 1280,
        height: int = 720,
        *,
        file_name: str = "video.mp4",
    ) -> int:
        with self._sandbox._cond:
            stored = self._sandbox._store_file(_FAKE_MP4, "video", file_name=file_name, duration=duration)
            stored.width, stored.height = width, height
            content = {"video": video_json(stored), **({"caption": caption} if caption else {})}
            return self._send(content, "video")

    def send_audio(
        self, caption: str | None = None, duration: int = 30, *, file_name: str = "recording.mp3"
    ) -> int:
        """Send an audio file (a recording shared as a file, unlike a voice message)."""
        with self._sandbox._cond:
            stored = self._sandbox._store_file(_FAKE_MP3, "audio", file_name=file_name, duration=duration)
            content = {"audio": audio_json(stored), **({"caption": caption} if caption else {})}
            return self._send(content, "audio")

    def send_video_note(self, duration: int = 10, length: int = 384) -> int:
        """Send a round video message; like Telegram's, it has no caption."""
        with self._sandbox._cond:
            stored = self._sandbox._store_file(_FAKE_MP4, "video_note", duration=duration)
            stored.width = length
            return self._send({"video_note": video_note_json(stored)}, "video_note")

    def send_location(self, latitude: float, longitude: float) -> int:
        return self._send({"location": {"latitude": latitude, "longitude": longitude}}, "location")

    def send_sticker(self, emoji: str = "😀") -> int:
        with self._sandbox._cond:
            stored = self._sandbox._store_file(_FAKE_WEBP, "sticker")
            sticker = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": emoji,
                "file_size": len(stored.content),
            }
            return self._send({"sticker": sticker}, "sticker")

    def edit_text(self, message_id: int, new_text: str) -> int:
        """Edit a text the person sent earlier (an edited_message update)."""
        with self._sandbox._cond:
            return self._sandbox._edit_from_person(self.user_id, message_id, new_text)

    def block(self) -> int:
        with self._sandbox._cond:
            return self._sandbox._set_blocked(self.user_id, True)

    def unblock(self) -> int:
        with self._sandbox._cond:
            return self._sandbox._set_blocked(self.user_id, False)

    # -- what the person sees ----------------------------------------------------------------

    @property
    def messages(self) -> list[SentMessage]:
        """The bot's messages in this chat, oldest first, without deleted ones."""
        with self._sandbox._cond:
            return [m.snapshot() for m in self._state().bot_messages()]

    @property
    def sent_messages(self) -> list[SentMessage]:
        """What the person sent in this chat, oldest first, without messages the bot deleted."""
        with self._sandbox._cond:
            return [m.snapshot() for m in self._state().messages.values() if not m.from_bot and not m.deleted]

    @property
    def last_message(self) -> SentMessage | None:
        messages = self.messages
        return messages[-1] if messages else None

    def inline_buttons(self, message_id: int | None = None) -> list[str]:
        """Labels of the inline buttons on ``message_id`` (default: the newest bot message)."""
        messages = self.messages
        if message_id is not None:
            messages = [m for m in messages if m.message_id == message_id]
            if not messages:
                raise LookupError(f"no bot message {message_id}")
        return messages[-1].button_labels if messages else []

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """Label rows of the reply keyboard currently shown, None once removed."""
        with self._sandbox._cond:
            keyboard = self._state().reply_keyboard
            return None if keyboard is None else [[b["text"] for b in row] for row in keyboard]

    @property
    def callback_answers(self) -> dict[str, dict[str, Any]]:
        """Query id -> {text, show_alert, url} for every press the bot answered."""
        with self._sandbox._cond:
            return copy.deepcopy(self._state().callback_answers)

    @property
    def presses(self) -> list[str]:
        """Every callback query id this person produced, answered or not."""
        with self._sandbox._cond:
            return list(self._state().presses)

    def mark(self) -> int:
        """The current event sequence number, to pass as ``since``."""
        with self._sandbox._cond:
            return self._sandbox._seq

    def wait_for_message(
        self,
        predicate: Callable[[SentMessage], bool] | None = None,
        *,
        timeout: float = 10.0,
        since: int | None = None,
    ) -> SentMessage:
        """Block until a new bot message after ``since`` (default: the cursor) matches."""
        return self._wait("new", predicate, timeout, since)

    def wait_for_edit(
        self,
        predicate: Callable[[SentMessage], bool] | None = None,
        *,
        message_id: int | None = None,
        timeout: float = 10.0,
        since: int | None = None,
    ) -> SentMessage:
        """Block until the bot edits a message (``message_id`` if given); returns it as edited."""

        def matches(message: SentMessage) -> bool:
            return (message_id is None or message.message_id == message_id) and (
                predicate is None or predicate(message)
            )

        return self._wait("edit", matches, timeout, since)

    async def next_message(
        self,
        predicate: Callable[[SentMessage], bool] | None = None,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - bounds a wait in a worker thread
        since: int | None = None,
    ) -> SentMessage:
        """``wait_for_message`` in a worker thread, so asyncio tests keep their loop running."""
        return await asyncio.to_thread(self.wait_for_message, predicate, timeout=timeout, since=since)

    async def next_edit(
        self,
        predicate: Callable[[SentMessage], bool] | None = None,
        *,
        message_id: int | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 - bounds a wait in a worker thread
        since: int | None = None,
    ) -> SentMessage:
        return await asyncio.to_thread(
            self.wait_for_edit, predicate, message_id=message_id, timeout=timeout, since=since
        )

    def wait_for_answer(self, query_id: str, *, timeout: float = 10.0) -> dict[str, Any]:
        """Block until the bot answers the callback query ``query_id``; the answer."""
        with self._sandbox._cond:
            answers = self._state().callback_answers
            if not self._sandbox._cond.wait_for(lambda: query_id in answers, timeout=timeout):
                raise TimeoutError(f"{self!r}: callback query {query_id} was not answered within {timeout}s")
            return dict(answers[query_id])

    async def next_answer(
        self,
        query_id: str,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        return await asyncio.to_thread(self.wait_for_answer, query_id, timeout=timeout)

    def _wait(
        self, event: str, predicate: Callable[[SentMessage], bool] | None, timeout: float, since: int | None
    ) -> SentMessage:
        found: list[tuple[int, SentMessage]] = []
        with self._sandbox._cond:
            start = self._cursors[event] if since is None else since

            def arrived() -> bool:
                for seq, kind, message in self._state().events:
                    if seq > start and kind == event and (predicate is None or predicate(message)):
                        found.append((seq, message))
                        return True
                return False

            # The timeout is only a safety net against a hung bot; waking is event driven.
            if not self._sandbox._cond.wait_for(arrived, timeout=timeout):
                recent = [m.text for m in self.messages[-5:]]
                raise TimeoutError(
                    f"{self!r}: no matching bot {event} message within {timeout}s; recent: {recent}"
                )
            seq, message = found[0]
            self._cursors[event] = seq
            return message
