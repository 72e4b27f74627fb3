"""Run the real bot against the local sandbox: for people in a terminal, and for end-to-end tests."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.app import UnionApplication, build_application, running
from bot.core.clock import Clock
from bot.core.config import Config, OfficerConfig, StorageConfig, TelegramConfig, UnionConfig, load_config
from bot.core.logs import configure_logging
from bot.sandbox.server import BotApiSandbox, Person
from bot.sandbox.terminal import chat_in_terminal

SANDBOX_TOKEN = "123456:sandbox-token-not-secret"

# Who a person can be in the terminal sandbox (ids match the built-in officers below).
WORKER_ID, OFFICER_ID, BACKUP_ID, ADMIN_ID = 1001, 2001, 2002, 2003


def default_sandbox_config() -> Config:
    return Config(
        union=UnionConfig(
            name="沙盒镇总工会",
            names={"zh-Hant": "沙盒鎮總工會", "en": "Sandbox Town Federation of Trade Unions"},
        ),
        officers=[
            OfficerConfig(
                telegram_id=OFFICER_ID,
                name="王干事",
                specialties=["wages", "legal", "membership", "assistance"],
            ),
            OfficerConfig(
                telegram_id=BACKUP_ID,
                name="陈干事",
                specialties=["wages", "legal", "membership", "assistance"],
            ),
            OfficerConfig(telegram_id=ADMIN_ID, name="李主席", role="admin", specialties=["membership"]),
        ],
    )


def sandbox_config(base: Config, sandbox: BotApiSandbox, database: str) -> Config:
    """The given config, pointed at the sandbox and at the given database."""
    return base.model_copy(
        update={
            "telegram": TelegramConfig(
                api_base_url=sandbox.base_url,
                api_file_url=sandbox.file_url,
                requests_in_flight=base.telegram.requests_in_flight,
                request_timeout=base.telegram.request_timeout,
            ),
            "storage": StorageConfig(database=database),
        }
    )


@asynccontextmanager
async def running_bot(
    config: Config, *, token: str = SANDBOX_TOKEN, clock: Clock | None = None, rate_limited: bool = True
) -> AsyncIterator[UnionApplication]:
    """The bot polling its configured Bot API server until the block ends (as ``union-bot run`` does)."""
    async with running(build_application(config, token=token, clock=clock, rate_limited=rate_limited)) as bot:
        yield bot


def _identities(sandbox: BotApiSandbox, config: Config) -> dict[str, Person]:
    """A worker, plus one identity per configured officer: officer, officer2..., admin, admin2..."""
    identities = {"worker": sandbox.person(WORKER_ID, first_name="小张", language_code="zh-hans")}
    counts: dict[str, int] = {}
    for officer in config.officers:
        counts[officer.role] = counts.get(officer.role, 0) + 1
        label = officer.role.value + (str(counts[officer.role]) if counts[officer.role] > 1 else "")
        identities[label] = sandbox.person(
            officer.telegram_id, first_name=officer.name, language_code="zh-hans"
        )
    return identities


async def run_sandbox_session(*, config_path: str | None, database: str | None) -> int:
    """``union-bot sandbox``: chat with the bot in this terminal; no token, no network."""
    configure_logging(level=logging.WARNING, secrets=[SANDBOX_TOKEN])
    base = load_config(config_path) if config_path else default_sandbox_config()
    with tempfile.TemporaryDirectory(prefix="union-bot-sandbox-") as scratch, BotApiSandbox() as sandbox:
        config = sandbox_config(base, sandbox, database or str(Path(scratch) / "sandbox.db"))
        identities = _identities(sandbox, config)
        async with running_bot(config):
            print(f"Sandbox: you are chatting with the {config.union.name} bot. Type :help for how to play.")
            print("Identities: " + ", ".join(identities) + " (switch with ':as NAME')")
            await chat_in_terminal(sandbox, identities, start_as="worker")
    return 0
