"""`kill -9` of the real `union-bot run` process in the middle of a broadcast to 1,000 workers, twice.

The bot runs as in production (tests/test_restart.py's BotProcess) with one change: Telegram's pace is
lifted (the sandbox's flood limit off, the bot's rate limits raised by a small wrapper around the same
command line), so 1,000 messages take seconds instead of 40.

The first kill comes at the worst moment, deterministically: Telegram has accepted a message and the
bot has not heard back yet (the sandbox kills it right after storing the message, before answering).
That one message is the only way a worker gets a broadcast twice, and the test shows it is the only
duplicate. The second kill comes while Telegram refuses messages, so nothing is in flight that could
arrive: after it, nothing is sent twice and nothing is lost.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.sandbox.server import BotApiSandbox, SentMessage
from bot.sandbox.session import SANDBOX_TOKEN
from storage import SQLiteStorage
from tests.test_restart import BotProcess

WORKERS = 1000
FIRST_ID = 100_001
UNSUBSCRIBED = range(FIRST_ID + 10, FIRST_ID + 1000, 50)  # 20 workers who sent /unsubscribe
BLOCKED = range(FIRST_ID + 35, FIRST_ID + 1000, 50)  # 20 who blocked the bot
ADMIN = 2003
FIRST_KILL, SECOND_KILL = 300, 650  # after this many broadcast messages

CONFIG = """
[telegram]
api_base_url = "{base}"
api_file_url = "{files}"
[storage]
database = "union.db"
[union]
name = "测试镇总工会"
[[officers]]
telegram_id = 2003
name = "李主席"
role = "admin"
"""

# `union-bot run`, with Telegram's pace lifted for the test (the sandbox's flood limit is off too).
FAST_RUN = """
import sys

import bot.app
from bot import cli
from bot.core.config import BroadcastConfig

bot.app.OVERALL_MAX_RATE = 1000
_load_config = cli.load_config


def load_config(path):
    config = _load_config(path)
    return config.model_copy(update={"broadcast": BroadcastConfig.model_construct(messages_per_second=1000)})


cli.load_config = load_config
sys.exit(cli.main(sys.argv[1:]))
"""


class FastBotProcess(BotProcess):
    def __init__(self, config_path: Path, log_path: Path, runner: Path) -> None:
        super().__init__(config_path, log_path)
        self._args = [sys.executable, str(runner), "run", "--config", str(config_path)]


async def _seed(database: Path) -> None:
    storage = SQLiteStorage(str(database))
    await storage.open()
    try:
        for telegram_id in range(FIRST_ID, FIRST_ID + WORKERS):
            await storage.ensure_worker(telegram_id, language="zh-Hans")
            await storage.record_consent(telegram_id, "test")
        for telegram_id in UNSUBSCRIBED:
            await storage.set_worker_flags(telegram_id, opted_out=True)
    finally:
        await storage.close()


async def _sent_rows(database: Path) -> dict[str, int]:
    storage = SQLiteStorage(str(database))
    await storage.open()
    try:
        report = await storage.latest_broadcast_report(1)
    finally:
        await storage.close()
    assert report is not None
    return {
        "sent": report.sent,
        "blocked": report.blocked,
        "skipped": report.skipped,
        "pending": report.pending,
    }


@pytest.fixture
def fast_bot(sandbox: BotApiSandbox, tmp_path: Path):
    config_path = tmp_path / "config.toml"
    config_path.write_text(CONFIG.format(base=sandbox.base_url, files=sandbox.file_url), encoding="utf-8")
    runner = tmp_path / "fast_run.py"
    runner.write_text(FAST_RUN, encoding="utf-8")
    process = FastBotProcess(config_path, tmp_path / "bot.log", runner)
    yield process
    if process.process and process.process.poll() is None:
        process.process.kill()
        process.process.wait()


@pytest.mark.refusals  # 20 of the workers blocked the bot: Telegram refuses them (403), as it should
async def test_kill_9_twice_during_a_broadcast_to_1000_workers(
    sandbox: BotApiSandbox, fast_bot: FastBotProcess, tmp_path: Path
) -> None:
    sandbox.set_flood_limit(None)
    workers = range(FIRST_ID, FIRST_ID + WORKERS)
    people = {telegram_id: sandbox.person(telegram_id, first_name="工人") for telegram_id in workers}
    admin = sandbox.person(ADMIN, first_name="李主席")
    await _seed(tmp_path / "union.db")
    for telegram_id in BLOCKED:
        people[telegram_id].block()
    created = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "bot",
            "broadcast",
            "create",
            "--text",
            "zh-Hans=周六上午九点，城关镇职工之家，劳动法培训。",
            "--config",
            str(tmp_path / "config.toml"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert created.stdout.startswith("Broadcast #1: once at")

    delivered: list[int] = []
    killed = threading.Event()

    def watch(chat_id: int, message: SentMessage, event: str) -> None:
        """Runs in the sandbox after it stored a message and before it answers the bot."""
        if event != "new" or chat_id not in people:
            return
        delivered.append(chat_id)
        if len(delivered) == FIRST_KILL:
            fast_bot.kill_9()  # the bot never hears that Telegram accepted this one
            killed.set()

    sandbox.add_listener(watch)
    fast_bot.start()
    assert await asyncio.to_thread(killed.wait, 60)
    in_flight = delivered[-1]
    assert (await _sent_rows(tmp_path / "union.db"))["sent"] == FIRST_KILL - 1

    fast_bot.start()
    async with asyncio.timeout(60):
        while len(delivered) < SECOND_KILL:  # noqa: ASYNC110 - another process: watch what it sends
            await asyncio.sleep(0.01)
    sandbox.fail("sendMessage", 502, description="Bad Gateway")
    await asyncio.to_thread(sandbox.wait_for_call, "sendMessage", since=len(sandbox.calls), timeout=30)
    fast_bot.kill_9()  # nothing it was sending could have arrived
    sandbox.clear_faults()

    fast_bot.start()
    report = await admin.next_message(lambda m: "📊" in (m.text or ""), timeout=60)
    assert fast_bot.terminate() == 0
    sandbox.remove_listener(watch)

    eligible = [w for w in workers if w not in UNSUBSCRIBED and w not in BLOCKED]
    copies = {telegram_id: len(people[telegram_id].messages) for telegram_id in workers}
    assert {w: copies[w] for w in eligible if copies[w] != 1} == {in_flight: 2}  # the one in flight
    assert [w for w in [*UNSUBSCRIBED, *BLOCKED] if copies[w]] == []
    assert len(delivered) == len(eligible) + 1
    rows = await _sent_rows(tmp_path / "union.db")
    assert rows["sent"] == len(eligible) == 960 and rows["pending"] == 0
    assert rows["blocked"] + rows["skipped"] == 40  # blocked: by 403 or by the bot hearing of it first
    assert "已发送：960" in (report.text or "")
    assert len([m for m in admin.messages if "📊" in (m.text or "")]) == 1

    log = (tmp_path / "bot.log").read_text(encoding="utf-8")
    assert SANDBOX_TOKEN.split(":")[1] not in log
    assert "Traceback" not in log
