"""Shared fixtures: the sandbox, and the real bot polling it, as in production."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.app import UnionApplication
from bot.clock import FakeClock
from bot.config import Config
from bot.sandbox.server import BotApiSandbox, Person
from bot.sandbox.session import (
    ADMIN_ID,
    BACKUP_ID,
    OFFICER_ID,
    WORKER_ID,
    default_sandbox_config,
    running_bot,
    sandbox_config,
)

# The published Bot API spec, where the checkout has it beside it (CI does): the sandbox then also
# refuses any parameter the real API does not know, for every call the bot makes in every test.
BOT_API_SPEC = Path(__file__).resolve().parents[2] / "shared" / "telegram-bot-api" / "api-10.0.json"


@pytest.fixture
def sandbox() -> Iterator[BotApiSandbox]:
    with BotApiSandbox(spec_path=BOT_API_SPEC if BOT_API_SPEC.exists() else None) as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config(sandbox: BotApiSandbox, tmp_path: Path) -> Config:
    return sandbox_config(default_sandbox_config(), sandbox, str(tmp_path / "union.db"))


@pytest.fixture
async def bot(config: Config, clock: FakeClock) -> AsyncIterator[UnionApplication]:
    async with running_bot(config, clock=clock) as application:
        yield application


@pytest.fixture
def worker(sandbox: BotApiSandbox) -> Iterator[Person]:
    """The sandbox worker; afterwards, every button they pressed must have been answered (no spinner)."""
    person = sandbox.person(WORKER_ID, first_name="小张", language_code="zh-hans")
    yield person
    for query_id in person.presses:
        person.wait_for_answer(query_id, timeout=10)


# The officers of the sandbox config, with chats the bot can write to (Telegram refuses unknown chats).
@pytest.fixture
def wang(sandbox: BotApiSandbox) -> Person:
    """The first wages officer: with the fewest open cases and the lowest id, the first case is his."""
    return sandbox.person(OFFICER_ID, first_name="王干事")


@pytest.fixture
def chen(sandbox: BotApiSandbox) -> Person:
    """The second wages officer, backup of the first case."""
    return sandbox.person(BACKUP_ID, first_name="陈干事")


@pytest.fixture
def admin(sandbox: BotApiSandbox) -> Person:
    return sandbox.person(ADMIN_ID, first_name="李主席")
