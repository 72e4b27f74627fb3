"""Chat with the bot in a terminal, through the sandbox, as a worker, an officer or an admin.

A person trying the bot without Telegram types as one identity and switches to another with
``:as NAME``; the bot's messages are printed as they arrive, with buttons as numbered choices
(``[1] Join the union``) pressed by ``#1``.  A message with buttons carries its number
(``🤖 [m12] …``) so ``#12.3`` presses a button on an older one.  The bot's answers to presses
(toasts and popups) are printed as ``💬 …``.  Messages and answers for the other identities are
kept and shown when switching to them, so an officer sees the case a worker just reported.
``:fail`` and ``:down`` make Telegram (the sandbox) fail, and every failure is printed as ``⚠️ …``,
so a person can watch how the bot copes.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bot.sandbox.errors import TIMEOUT, FaultStatus, default_description
from bot.sandbox.server import BotApiSandbox, CallbackAnswer, Person, SentMessage

logger = logging.getLogger(__name__)

_Button = TypeVar("_Button")

HELP = """\
Type a message to send it; /command sends a command.
  #N                 press button N of the newest message with buttons
  #M.N               press button N of message M (messages with buttons show [mM])
  :as NAME           switch identity ({names})
  :photo [caption]   send a photo
  :doc NAME          send a document (a local file if NAME exists, else a small fake one)
  :voice             send a voice message
  :video [caption]   send a video
  :audio [caption]   send an audio file
  :videonote         send a round video message
  :location LAT LON  share a location
  :contact [PHONE]   share your phone number
  :sticker           send a sticker
  :block / :unblock  block or unblock the bot
  :fail METHOD STATUS [SECONDS]
                     Telegram refuses METHOD with STATUS (400, 403, 429, 500, 502...) or
                     leaves it unanswered (timeout), e.g. :fail sendMessage 502 30
  :fail off          end all failures
  :down [SECONDS]    Telegram is down: every call gets 502 Bad Gateway
  :up                Telegram is back
  :help              show this help
  :quit              leave (Ctrl-D works too)"""

_KIND_LABELS = {
    "photo": "[photo]",
    "document": "[document]",
    "voice": "[voice]",
    "location": "[location]",
    "sticker": "[sticker]",
    "contact": "[contact]",
    "video": "[video]",
    "audio": "[audio]",
    "video_note": "[video note]",
}
_PRESS = re.compile(r"^(?:m?(\d+)\.)?(\d+)$")  # "#3", or "#12.3" / "#m12.3" for message 12
_FAIL_USAGE = "usage: :fail METHOD STATUS [SECONDS], e.g. :fail sendMessage 502 30; or :fail off"
# Commands that only change the sandbox: the bot has nothing to answer, so no waiting for it.
_LOCAL_COMMANDS = frozenset({":as", ":help", ":quit", ":block", ":unblock", ":fail", ":down", ":up"})


def render_message(message: SentMessage, event: str = "new") -> str:
    """A bot message as plain UTF-8 lines, buttons numbered from 1.

    A message with inline buttons is tagged ``[mID]`` (its message id) so ``#ID.N`` can press
    them later; reply keyboards need no tag, as only the newest one is ever shown.
    """
    if event == "delete":
        return f"🗑  (the bot deleted message {message.message_id})"
    header = "🤖 (edited)" if event == "edit" else "🤖"
    if message.inline_buttons:
        header += f" [m{message.message_id}]"
    lines = [f"{header} {_body(message)}"]
    number = 1
    for row in message.inline_buttons:
        cells = []
        for label, _ in row:
            cells.append(f"[{number}] {label}")
            number += 1
        lines.append("   " + "   ".join(cells))
    for keys in message.reply_keyboard or []:
        cells = []
        for key in keys:
            cells.append(f"[{number}] {key}")
            number += 1
        lines.append("   ⌨ " + "   ".join(cells))
    return "\n".join(lines)


def _body(message: SentMessage) -> str:
    raw = message.raw
    if message.kind == "text":
        return message.text or ""
    detail = ""
    if message.kind == "document":
        detail = f" {raw['document'].get('file_name', '')}"
    elif message.kind == "location":
        detail = f" {raw['location']['latitude']}, {raw['location']['longitude']}"
    elif message.kind == "contact":
        detail = f" {raw['contact']['phone_number']}"
    elif message.kind == "audio":
        audio = raw["audio"]
        detail = f" {audio.get('title') or audio.get('file_name', '')}"
    label = _KIND_LABELS.get(message.kind, f"[{message.kind}]")
    caption = f"\n{message.text}" if message.text else ""
    return f"{label}{detail}{caption}"


def render_answer(answer: CallbackAnswer) -> str | None:
    """The bot's answer to a press as the person sees it; None when it shows nothing.

    In Telegram an answer without text only stops the button's spinner, so nothing is printed;
    the terminal already confirmed the press itself with "(you pressed …)".
    """
    parts = []
    if answer.text:
        parts.append(f"(popup) {answer.text}" if answer.show_alert else answer.text)
    if answer.url:
        parts.append(f"(opens {answer.url})")
    return "💬 " + " ".join(parts) if parts else None


def render_fault(method: str, status: FaultStatus, description: str) -> str:
    """One failure Telegram (the sandbox) was told to make, as the person sees it happen."""
    if status == TIMEOUT:
        return f"⚠️  Telegram (sandbox) left {method} unanswered: timeout"
    return f"⚠️  Telegram (sandbox) refused {method}: {status} {description}"


def _for_how_long(seconds: float | None, until: str) -> str:
    return f"for {seconds:g} s; {until} ends it sooner" if seconds is not None else f"until {until}"


class _TerminalChat:
    """State of one terminal session; bot events arrive on the event loop via the listener."""

    def __init__(
        self,
        sandbox: BotApiSandbox,
        identities: dict[str, Person],
        print_fn: Callable[[str], object],
        start_as: str,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        if start_as not in identities:
            raise ValueError(f"unknown identity {start_as!r}; choose one of {sorted(identities)}")
        self.sandbox = sandbox
        self.identities = identities
        self.print = print_fn
        self.current = start_as
        self.loop = loop
        self.names_by_chat = {person.chat_id: name for name, person in identities.items()}
        self.waiting: dict[str, list[str]] = {name: [] for name in identities}
        self.activity = asyncio.Event()  # set whenever the current identity gets something

    @property
    def person(self) -> Person:
        return self.identities[self.current]

    @property
    def prompt(self) -> str:
        return f"{self.current}> "

    def on_event(self, chat_id: int, message: SentMessage, event: str) -> None:
        """Sandbox listener (server thread): hand the event to the event loop to print."""
        self.loop.call_soon_threadsafe(self.show, chat_id, message, event)

    def on_answer(self, chat_id: int, answer: CallbackAnswer) -> None:
        """Sandbox answer listener (server thread): hand the answer to the event loop to print."""
        self.loop.call_soon_threadsafe(self.show_answer, chat_id, answer)

    def on_fault(self, method: str, status: FaultStatus, description: str) -> None:
        """Sandbox fault listener (server thread): hand the failure to the event loop to print."""
        self.loop.call_soon_threadsafe(self.show_fault, method, status, description)

    def show_fault(self, method: str, status: FaultStatus, description: str) -> None:
        """Printed whoever is current: an outage is everybody's."""
        self.print(render_fault(method, status, description))
        self.activity.set()

    def show(self, chat_id: int, message: SentMessage, event: str) -> None:
        self._deliver(chat_id, render_message(message, event), "new message for {name}")

    def show_answer(self, chat_id: int, answer: CallbackAnswer) -> None:
        text = render_answer(answer)
        if text is not None:
            self._deliver(chat_id, text, "the bot answered {name}'s button press")

    def _deliver(self, chat_id: int, text: str, notice: str) -> None:
        """Print for the current identity; keep for another one, saying so."""
        name = self.names_by_chat.get(chat_id)
        if name is None:
            return
        if name == self.current:
            self.print(text)
            self.activity.set()
            return
        self.waiting[name].append(text)
        self.print(f"   ({notice.format(name=name)}; type :as {name} to read it)")

    async def settle(self, first_reply: float, quiet: float = 0.3) -> None:
        """Let the bot's answer print before the next prompt: wait for a first reply, then a pause.

        Without this, the prompt is printed before the replies arrive, and piped input races ahead of
        the bot. Pure convenience for a person at a terminal; tests never depend on it.
        """
        timeout = first_reply
        while timeout > 0:
            try:
                await asyncio.wait_for(self.activity.wait(), timeout)
            except TimeoutError:
                return
            self.activity.clear()
            timeout = quiet

    def welcome(self) -> None:
        person = self.person
        who = f"{self.current} ({person.first_name}, id {person.user_id})"
        self.print(f"Sandbox chat. You are {who}. :help lists commands.")

    def handle(self, line: str) -> bool:
        """Act on one input line; False when the session should end."""
        line = line.strip()
        if not line:
            return True
        try:
            if line.startswith(":"):
                return self.colon_command(line)
            if line.startswith("#"):
                self.press_number(line[1:])
            elif line.startswith("/"):
                self.person.send_command(line)
            else:
                self.person.send_text(line)
        except (LookupError, ValueError, RuntimeError) as exc:
            self.print(f"⚠ {exc}")
        return True

    def press_number(self, raw: str) -> None:
        """``#N`` on the newest message with buttons, ``#M.N`` on message M."""
        match = _PRESS.match(raw.strip())
        if match is None:
            raise ValueError("usage: #N, e.g. #1; or #M.N for button N of message [mM], e.g. #12.3")
        number = int(match.group(2))
        messages = self.person.messages
        if match.group(1) is not None:
            message_id = int(match.group(1))
            message = next((m for m in messages if m.message_id == message_id and m.inline_buttons), None)
            if message is None:
                raise LookupError(f"no message m{message_id} with buttons")
            self._press_inline(message, number)
            return
        for message in reversed(messages):
            if message.inline_buttons:
                self._press_inline(message, number)
                return
            if message.reply_keyboard is not None:
                keyboard = self.person.reply_keyboard
                if keyboard is None:
                    raise LookupError("the keyboard was removed")
                label = _pick([label for row in keyboard for label in row], number)
                self.person.tap_reply_button(label)
                self.print(f"   (you pressed “{label}”)")
                return
        raise LookupError("no buttons to press")

    def _press_inline(self, message: SentMessage, number: int) -> None:
        """Press by position, not label, so two buttons with the same label stay distinct."""
        buttons = [button for row in message.raw["reply_markup"]["inline_keyboard"] for button in row]
        button = _pick(buttons, number)
        if "callback_data" not in button:
            target = button.get("url") or ", ".join(key for key in button if key != "text")
            self.print(f"   (button {number} opens {target}; nothing is sent to the bot)")
            return
        self.person.press_data(button["callback_data"], message_id=message.message_id)
        self.print(f"   (you pressed “{button['text']}”)")

    def colon_command(self, line: str) -> bool:
        name, _, argument = line[1:].partition(" ")
        argument = argument.strip()
        person = self.person
        if name == "quit":
            return False
        if name == "as":
            self.switch(argument)
        elif name == "help":
            self.print(HELP.format(names=", ".join(self.identities)))
        elif name == "photo":
            person.send_photo(caption=argument or None)
        elif name == "doc":
            self.send_document(argument)
        elif name == "voice":
            person.send_voice()
        elif name == "video":
            person.send_video(caption=argument or None)
        elif name == "audio":
            person.send_audio(caption=argument or None)
        elif name == "videonote":
            person.send_video_note()
        elif name == "location":
            person.send_location(*_coordinates(argument))
        elif name == "contact":
            person.share_contact(argument or person.phone_number)
        elif name == "sticker":
            person.send_sticker()
        elif name in ("block", "unblock"):
            getattr(person, name)()
            self.print(f"   ({self.current} {name}ed the bot)")
        elif name == "fail":
            self.fail(argument)
        elif name == "down":
            self.go_down(argument)
        elif name == "up":
            self.sandbox.come_back()
            self.print("   (Telegram (sandbox) is back up)")
        else:
            self.print(f"⚠ unknown command :{name}; :help lists commands")
        return True

    def switch(self, name: str) -> None:
        if name not in self.identities:
            raise LookupError(f"unknown identity {name!r}; choose one of {', '.join(self.identities)}")
        self.current = name
        person = self.person
        self.print(f"— now {name} ({person.first_name}, id {person.user_id}) —")
        for text in self.waiting[name]:
            self.print(text)
        self.waiting[name].clear()

    def fail(self, argument: str) -> None:
        """``:fail METHOD STATUS [SECONDS]``, or ``:fail off``."""
        if argument.lower() == "off":
            self.sandbox.clear_faults()
            self.print("   (no more failures: Telegram (sandbox) answers normally again)")
            return
        parts = argument.split()
        if len(parts) not in (2, 3):
            raise ValueError(_FAIL_USAGE)
        method, status = parts[0], _fault_status(parts[1])
        seconds = _seconds(parts[2], _FAIL_USAGE) if len(parts) == 3 else None
        fault = self.sandbox.fail(method, status, seconds=seconds)
        if status == TIMEOUT:
            what = f"leaves {fault.method} unanswered (timeout)"
        else:
            what = f"refuses {fault.method} with {status} {fault.description}"
        self.print(f"   (Telegram (sandbox) now {what} {_for_how_long(seconds, ':fail off')})")

    def go_down(self, argument: str) -> None:
        """``:down [SECONDS]``."""
        seconds = _seconds(argument, "usage: :down [SECONDS], e.g. :down 30") if argument else None
        self.sandbox.go_down(seconds)
        every_call = f"every call gets 502 {default_description(502, 1)}"
        self.print(f"   (Telegram (sandbox) is down: {every_call} {_for_how_long(seconds, ':up')})")

    def send_document(self, name: str) -> None:
        if not name:
            raise ValueError("usage: :doc NAME")
        path = Path(name).expanduser()
        content = path.read_bytes() if path.is_file() else f"Sandbox document {name}\n".encode()
        mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self.person.send_document(path.name, content, mime_type=mime_type)


def _reaches_the_bot(line: str) -> bool:
    """Whether an input line sends something the bot may answer (not :as, :help, blank)."""
    command = line.strip().partition(" ")[0]
    return bool(command) and command not in _LOCAL_COMMANDS


def _fault_status(raw: str) -> FaultStatus:
    if raw.lower() == TIMEOUT:
        return TIMEOUT
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"STATUS is a number such as 502, or timeout; {_FAIL_USAGE}") from exc


def _seconds(raw: str, usage: str) -> float:
    try:
        seconds = float(raw)
    except ValueError as exc:
        raise ValueError(usage) from exc
    if not seconds > 0:
        raise ValueError(usage)
    return seconds


def _coordinates(argument: str) -> tuple[float, float]:
    parts = argument.replace(",", " ").split()
    try:
        latitude, longitude = (float(part) for part in parts)
    except ValueError as exc:
        raise ValueError("usage: :location LAT LON, e.g. :location 31.23 121.47") from exc
    return latitude, longitude


def _pick(buttons: list[_Button], number: int) -> _Button:
    if not 1 <= number <= len(buttons):
        raise LookupError(f"there is no button {number}; choose 1-{len(buttons)}")
    return buttons[number - 1]


async def chat_in_terminal(
    sandbox: BotApiSandbox,
    identities: dict[str, Person],
    *,
    input_fn: Callable[[str], str] = input,
    print_fn: Callable[[str], object] = print,
    start_as: str = "worker",
    reply_wait: float = 3.0,
) -> None:
    """Run an interactive chat until ``:quit`` or end of input.

    Input is read in a worker thread so the bot, running on the same event loop, keeps working
    while the person thinks.
    ``reply_wait`` is how long to wait for the bot's first reply before the next prompt (0 in tests).
    """
    session = _TerminalChat(sandbox, identities, print_fn, start_as, asyncio.get_running_loop())
    sandbox.add_listener(session.on_event)
    sandbox.add_answer_listener(session.on_answer)
    sandbox.add_fault_listener(session.on_fault)
    try:
        session.welcome()
        while True:
            try:
                line = await asyncio.to_thread(input_fn, session.prompt)
            except (EOFError, KeyboardInterrupt):
                break
            session.activity.clear()
            if not session.handle(line):
                break
            if _reaches_the_bot(line):
                await session.settle(reply_wait)
    finally:
        sandbox.remove_listener(session.on_event)
        sandbox.remove_answer_listener(session.on_answer)
        sandbox.remove_fault_listener(session.on_fault)
        # Let events already handed to the loop be printed before returning.
        await asyncio.sleep(0)
