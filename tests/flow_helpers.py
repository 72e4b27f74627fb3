"""Helpers for end-to-end flow tests: get a worker through onboarding, read what they see."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.sandbox.server import Person, SentMessage

T = TypeVar("T")

AGREE = {"简体中文": "我同意", "繁體中文": "我同意", "English": "I agree"}
MENU_QUESTION = {
    "简体中文": "您想做什么？",
    "繁體中文": "您想做什麼？",
    "English": "What would you like to do?",
}


async def onboard(worker: Person, language: str = "简体中文") -> SentMessage:
    """/start, pick the language, agree; returns the main menu message."""
    worker.send_command("/start")
    await worker.next_message(lambda m: "简体中文" in m.button_labels)
    worker.press(language)
    await worker.next_message(lambda m: AGREE[language] in m.button_labels)
    worker.press(AGREE[language])
    return await worker.next_message(lambda m: MENU_QUESTION[language] in m.text)


async def answer(worker: Person, text: str) -> SentMessage:
    """Type an answer and return the bot's next message."""
    worker.send_text(text)
    return await worker.next_message()


async def press(worker: Person, label: str) -> SentMessage:
    """Press a button and return the bot's next new message."""
    worker.press(label)
    return await worker.next_message()


async def eventually(
    read: Callable[[], Awaitable[T]],
    until: Callable[[T], bool],
    *,
    timeout: float = 10,  # noqa: ASYNC109 - a safety net against a hung bot, not a wait
) -> T:
    """What ``read()`` gives once ``until`` holds for it: for state the bot writes just after it replies.

    The bot answers first and records after (an export is recorded once the file was taken), so a test
    that saw the reply waits for the record; nothing announces the write, hence the polling.
    """
    async with asyncio.timeout(timeout):
        while not until(value := await read()):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    return value
