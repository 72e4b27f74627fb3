"""Shared fixtures: the sandbox, and the real bot polling it, as in production."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.app import UnionApplication
from bot.core.clock import FakeClock
from bot.core.config import Config
from bot.core.logs import LIBRARY_LOGGERS, guard_log_records, quiet_libraries
from bot.sandbox.server import BotApiSandbox, Person
from bot.sandbox.session import (
    ADMIN_ID,
    BACKUP_ID,
    OFFICER_ID,
    SANDBOX_TOKEN,
    WORKER_ID,
    default_sandbox_config,
    running_bot,
    sandbox_config,
)

# The published Bot API spec, where the checkout has it beside it (CI does): the sandbox then also
# refuses any parameter the real API does not know, for every call the bot makes in every test.
BOT_API_SPEC = Path(__file__).resolve().parents[2] / "shared" / "telegram-bot-api" / "api-10.0.json"


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Iterator[BotApiSandbox]:
    """The local Bot API. Afterwards, the bot must not have made a call Telegram refuses (answering a
    press twice, an edit that changes nothing, a text too long…), unless the test is about refusals."""
    with BotApiSandbox(spec_path=BOT_API_SPEC if BOT_API_SPEC.exists() else None) as server:
        yield server
    if request.node.get_closest_marker("refusals") is None:
        assert [refusal for refusal in server.refusals if not _expected(refusal)] == [], (
            "Telegram would have refused these calls"
        )


def _expected(refusal: tuple[str, str]) -> bool:
    """Refusals that are not the bot's mistakes: the flood limit, which the bot's rate limiter meets by
    waiting and trying again, and the long poll PTB abandons when it stops (its last poll overlaps it)."""
    method, description = refusal
    return description.startswith("Too Many Requests") or (
        method == "getUpdates" and "Conflict" in description
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config(sandbox: BotApiSandbox, tmp_path: Path) -> Config:
    config = sandbox_config(default_sandbox_config(), sandbox, str(tmp_path / "union.db"))
    # The officers have written to the bot: Telegram knows their chats (else it refuses to write to them).
    for officer in config.officers:
        sandbox.person(officer.telegram_id, first_name=officer.name)
    return config


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


@pytest.fixture
def run_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The log as `union-bot run` writes it (library levels, record guard, the token), captured at INFO."""
    factory = logging.getLogRecordFactory()
    levels = {name: logging.getLogger(name).level for name in LIBRARY_LOGGERS}
    quiet_libraries()
    guard_log_records([SANDBOX_TOKEN])
    caplog.set_level(logging.INFO)
    yield caplog
    logging.setLogRecordFactory(factory)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
