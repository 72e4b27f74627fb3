"""Bot API requests wait their turn: a few on the wire at once, in the order they were made."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram.request import HTTPXRequest

from bot.app import build_application
from bot.core.config import TelegramConfig
from bot.runtime.botapi import BoundedRequest
from bot.sandbox.session import SANDBOX_TOKEN, default_sandbox_config


@pytest.mark.asyncio
async def test_at_most_max_in_flight_requests_are_sent_at_once_first_come_first_served(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    in_flight: list[str] = []
    most_at_once = 0
    started: list[str] = []
    release = asyncio.Event()

    async def fake_send(self: HTTPXRequest, url: str, method: str, **_kwargs: Any) -> tuple[int, bytes]:
        nonlocal most_at_once
        in_flight.append(url)
        started.append(url)
        most_at_once = max(most_at_once, len(in_flight))
        await release.wait()
        in_flight.remove(url)
        return 200, b'{"ok": true, "result": true}'

    monkeypatch.setattr(HTTPXRequest, "do_request", fake_send)
    request = BoundedRequest(max_in_flight=3)
    urls = [f"https://api.example/bot/sendMessage?n={n}" for n in range(10)]
    sends = [asyncio.create_task(request.do_request(url, "POST")) for url in urls]
    await asyncio.sleep(0.01)
    assert len(in_flight) == 3
    release.set()
    answers = await asyncio.gather(*sends)

    assert most_at_once == 3
    assert started == urls
    assert answers == [(200, b'{"ok": true, "result": true}')] * 10


@pytest.mark.asyncio
async def test_a_failed_request_gives_its_turn_to_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    async def fail_first(self: HTTPXRequest, url: str, method: str, **_kwargs: Any) -> tuple[int, bytes]:
        if url.endswith("first"):
            raise OSError("connection reset")
        return 200, b"{}"

    monkeypatch.setattr(HTTPXRequest, "do_request", fail_first)
    request = BoundedRequest(max_in_flight=1)
    with pytest.raises(OSError):
        await request.do_request("https://api.example/first", "POST")
    assert await asyncio.wait_for(request.do_request("https://api.example/second", "POST"), 1) == (200, b"{}")


def test_the_bot_sends_with_as_many_turns_as_configured() -> None:
    config = default_sandbox_config()
    config = config.model_copy(update={"telegram": TelegramConfig(requests_in_flight=2)})
    application = build_application(config, token=SANDBOX_TOKEN)
    assert isinstance(application.bot.request, BoundedRequest)
    assert application.bot.request.max_in_flight == 2
