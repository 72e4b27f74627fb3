"""`union-bot run` as a real process: kill -9 between two steps, restart, the worker continues."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.sandbox.server import BotApiSandbox, Person
from bot.sandbox.session import SANDBOX_TOKEN
from flows import join, legal, onboarding, wages
from storage import SQLiteStorage
from tests.flow_helpers import onboard

CONFIG = """
[telegram]
api_base_url = "{base}"
api_file_url = "{files}"
[storage]
database = "union.db"
[union]
name = "测试镇总工会"
default_language = "zh-Hans"
[[officers]]
telegram_id = 2001
name = "王干事"
specialties = ["wages"]
"""


class BotProcess:
    """`union-bot run --config FILE` in a child process, its log kept in a file."""

    def __init__(self, config_path: Path, log_path: Path) -> None:
        self._args = [sys.executable, "-m", "bot", "run", "--config", str(config_path)]
        self._env = {**os.environ, "UNION_BOT_TOKEN": SANDBOX_TOKEN}
        self._log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(self._args, env=self._env, stdout=log, stderr=log)

    def kill_9(self) -> None:
        assert self.process
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self) -> int:
        assert self.process
        self.process.terminate()
        return self.process.wait(timeout=20)


@pytest.fixture
def bot_process(sandbox: BotApiSandbox, tmp_path: Path):
    config_path = tmp_path / "config.toml"
    config_path.write_text(CONFIG.format(base=sandbox.base_url, files=sandbox.file_url), encoding="utf-8")
    process = BotProcess(config_path, tmp_path / "bot.log")
    yield process
    if process.process and process.process.poll() is None:
        process.process.kill()
        process.process.wait()


async def _state_is_durable(database: Path, state: object) -> None:
    """Wait until the bot process has committed the worker's conversation state (it commits after replying).

    The bot is another process: its database is the only thing to watch, hence the polling.
    """
    storage = SQLiteStorage(str(database))
    await storage.open()
    try:
        async with asyncio.timeout(15):
            while state not in (await storage.load_persistence("conversation")).values():  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    finally:
        await storage.close()


async def test_telegram_failing_at_start_does_not_stop_union_bot_run(
    sandbox: BotApiSandbox, worker: Person, bot_process: BotProcess, tmp_path: Path
) -> None:
    sandbox.fail("getMe", 502, times=2)  # Telegram out of reach for a moment
    menus = sandbox.fail("setMyCommands", 500)  # and the command menus refused for longer
    bot_process.start()
    worker.send_command("/start")
    await worker.next_message(lambda m: "请选择语言" in m.text)
    assert bot_process.process is not None and bot_process.process.poll() is None
    assert menus.hits >= 1
    assert bot_process.terminate() == 0

    log = (tmp_path / "bot.log").read_text(encoding="utf-8")
    assert "Lost contact with Telegram (getMe: Bad Gateway)" in log
    assert "Could not publish the command menu (setMyCommands: Internal Server Error)" in log
    assert "Traceback" not in log


async def test_kill_9_between_steps_then_restart(
    sandbox: BotApiSandbox, worker: Person, bot_process: BotProcess, tmp_path: Path
) -> None:
    bot_process.start()
    worker.send_command("/start")
    choose = await worker.next_message(lambda m: "请选择语言" in m.text)
    assert "测试镇总工会" in choose.text  # the configured default language, before any choice

    worker.press("简体中文", message_id=choose.message_id)
    await worker.next_message(lambda m: "您同意吗" in m.text)
    await _state_is_durable(tmp_path / "union.db", onboarding.CONSENTING)
    bot_process.kill_9()

    # While the bot is down the worker answers the question on screen, then writes once more.
    worker.press("我同意")
    worker.send_text("你好")

    bot_process.start()
    await worker.next_message(lambda m: "您想做什么" in m.text)  # consent recorded, menu shown
    await worker.next_message(lambda m: "没看懂" in m.text)  # nothing sent during the downtime is dropped
    assert bot_process.terminate() == 0

    log = (tmp_path / "bot.log").read_text(encoding="utf-8")
    assert SANDBOX_TOKEN not in log
    assert SANDBOX_TOKEN.split(":")[1] not in log
    assert "Traceback" not in log


async def test_kill_9_in_the_middle_of_a_form_keeps_the_answers(
    sandbox: BotApiSandbox, worker: Person, bot_process: BotProcess, tmp_path: Path
) -> None:
    bot_process.start()
    await onboard(worker, "简体中文")
    worker.send_command("/join")
    await worker.next_message(lambda m: "您叫什么名字" in m.text)
    worker.send_text("张三")
    await worker.next_message(lambda m: "电话号码" in m.text)
    await _state_is_durable(tmp_path / "union.db", join.PHONE)
    bot_process.kill_9()

    worker.send_text("13812345678")  # answered while the bot is down
    bot_process.start()
    await worker.next_message(lambda m: m.text == "电话：13812345678")
    await worker.next_message(lambda m: "哪里干活" in m.text)
    worker.send_text("宏达劳务")
    worker.press("建筑工地", message_id=(await worker.next_message(lambda m: "哪一行" in m.text)).message_id)
    await worker.next_message(lambda m: "老家" in m.text)
    worker.send_text("四川")
    await worker.next_message(lambda m: "乡镇" in m.text)
    worker.send_text("城关镇")
    summary = await worker.next_message(lambda m: "请看一下您填的对不对" in m.text)
    assert "姓名</b>" not in summary.text and "姓名：张三" in summary.text  # the answer from before the crash
    assert bot_process.terminate() == 0


async def test_kill_9_in_the_wages_form(
    sandbox: BotApiSandbox, worker: Person, bot_process: BotProcess, tmp_path: Path
) -> None:
    bot_process.start()
    await onboard(worker, "简体中文")
    worker.send_command("/wages")
    await worker.next_message(lambda m: "谁欠您的工资" in m.text)
    worker.send_text("宏达劳务 王老板")
    await worker.next_message(lambda m: "哪个项目或工地" in m.text)
    await _state_is_durable(tmp_path / "union.db", wages.SITE)
    bot_process.kill_9()

    worker.send_text("城南花园三期")  # answered while the bot is down
    bot_process.start()
    await worker.next_message(lambda m: "干什么活" in m.text)
    assert bot_process.terminate() == 0
    storage = SQLiteStorage(str(tmp_path / "union.db"))
    await storage.open()
    try:
        draft = (await storage.load_persistence("user_data"))[str(worker.user_id)]["draft"]
    finally:
        await storage.close()
    assert draft["form"] == "wages"
    assert "宏达劳务 王老板" in draft["answers"].values() and "城南花园三期" in draft["answers"].values()


async def test_kill_9_in_the_legal_form(
    sandbox: BotApiSandbox, worker: Person, bot_process: BotProcess, tmp_path: Path
) -> None:
    bot_process.start()
    await onboard(worker, "English")
    worker.send_command("/legal")
    await worker.next_message(lambda m: m.text == "What is the problem about?")
    worker.press("Work injury")
    await worker.next_message(lambda m: "What happened" in m.text)
    await _state_is_durable(tmp_path / "union.db", legal.DESCRIPTION)
    bot_process.kill_9()

    worker.send_voice(duration=40)  # the story as a voice note, while the bot is down
    bot_process.start()
    assert (await worker.next_message()).text == "🎤 Voice note received."
    await worker.next_message(lambda m: "Is there an important date soon?" in m.text)
    assert bot_process.terminate() == 0
