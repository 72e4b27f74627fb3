"""The running bot when Telegram fails around it: at start, during an outage, with an update PTB cannot
read, and when handling an error fails too."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from bot.app import MENU_JOB, UnionApplication
from bot.core.clock import FakeClock
from bot.core.config import Config
from bot.sandbox.server import BotApiSandbox, Person
from bot.sandbox.session import SANDBOX_TOKEN, running_bot
from tests.flow_helpers import eventually, onboard

NAME, PHONE, TYPED = "王小明", "13812345678", "老板欠我三个月工资"


def _lines(caplog: pytest.LogCaptureFixture, level: int = logging.WARNING) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= level]


async def _welcomed(worker: Person) -> None:
    worker.send_command("/start")
    await worker.next_message(lambda m: "简体中文" in m.button_labels)


async def test_the_bot_starts_while_telegram_fails_and_publishes_its_menu_when_it_can(
    config: Config,
    sandbox: BotApiSandbox,
    clock: FakeClock,
    worker: Person,
    run_logs: pytest.LogCaptureFixture,
) -> None:
    sandbox.fail("getMe", 502, times=1)
    menus = sandbox.fail("setMyCommands", 500)
    async with running_bot(config, clock=clock) as bot:
        await _welcomed(worker)  # up and answering, menu or not
        assert sandbox.commands() == []
        [retry] = bot.job_queue.get_jobs_by_name(MENU_JOB)  # type: ignore[union-attr]

        menus.clear()
        await retry.run(bot)
        assert [command["command"] for command in sandbox.commands()][:2] == ["start", "join"]
    lost, refused, later = _lines(run_logs)
    assert lost == "Lost contact with Telegram (getMe: Bad Gateway); trying again until it answers"
    assert refused == "Could not publish the command menu (setMyCommands: Internal Server Error)"
    assert later.startswith("The command menu is not published yet; trying again in ")
    assert "Telegram answers again, after 0 s without it" in _lines(run_logs, logging.INFO)
    assert not any(record.exc_info for record in run_logs.records)


async def test_an_outage_is_one_warning_and_one_line_when_it_ends_and_what_came_meanwhile_is_answered(
    bot: UnionApplication,
    sandbox: BotApiSandbox,
    clock: FakeClock,
    worker: Person,
    run_logs: pytest.LogCaptureFixture,
) -> None:
    await onboard(worker)
    polls = len([call for call in sandbox.calls if call[0] == "getUpdates"])
    sandbox.go_down()
    worker.send_command("/help")  # sent while the bot cannot reach Telegram

    def failed_polls() -> int:
        return len([call for call in sandbox.calls if call[0] == "getUpdates"]) - polls

    async with asyncio.timeout(10):
        while failed_polls() < 2:  # noqa: ASYNC110 - PTB polls again after 1 s, then 1.5 s
            await asyncio.sleep(0.01)
    clock.advance(timedelta(seconds=40))
    sandbox.come_back()
    await worker.next_message(lambda m: (m.text or "").startswith("您可以："))

    [lost] = _lines(run_logs)
    assert lost == "Lost contact with Telegram (getUpdates: Bad Gateway); trying again until it answers"
    assert "Telegram answers again, after 40 s without it" in _lines(run_logs, logging.INFO)
    assert not any(record.exc_info for record in run_logs.records)
    assert not any("Error while handling an update" in line for line in _lines(run_logs))


async def test_an_update_ptb_cannot_read_is_skipped_without_its_words_in_the_log(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person, run_logs: pytest.LogCaptureFixture
) -> None:
    unreadable = {
        "message": {
            "message_id": 1,
            "date": "yesterday",  # PTB cannot read this date
            "chat": {"id": 77, "type": "private", "first_name": NAME},
            "from": {"id": 77, "is_bot": False, "first_name": NAME},
            "text": f"我叫{NAME}，电话 {PHONE}，{TYPED}",
        }
    }
    update_id = sandbox.inject_raw_update(unreadable)
    await _welcomed(worker)  # the updates behind it are not held up

    assert f"Update {update_id} could not be read (TypeError); skipped" in _lines(run_logs)
    # Confirmed and recorded like any other, so it never comes back.
    await eventually(lambda: bot.storage.is_update_processed(update_id), bool)
    for record in run_logs.records:
        text = logging.Formatter().format(record)
        for secret in (NAME, PHONE, TYPED, SANDBOX_TOKEN):
            assert secret not in text, text


async def test_an_error_while_handling_an_error_is_logged_once_and_the_bot_goes_on(
    bot: UnionApplication, worker: Person, run_logs: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    await onboard(worker)

    def broken(_user_id: int | None) -> str:
        raise RuntimeError("the language store is gone")

    monkeypatch.setattr(bot, "language_of", broken)  # the handler fails, and so does the apology
    worker.send_command("/help")
    async with asyncio.timeout(10):
        while not any("The error handler failed too" in line for line in _lines(run_logs)):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    monkeypatch.undo()
    worker.send_command("/help")
    await worker.next_message(lambda m: (m.text or "").startswith("您可以："))

    assert [line for line in _lines(run_logs) if "error" in line.lower()] == [
        "Error while handling an update",
        "The error handler failed too",
    ]
    assert not any("uncaught error" in record.getMessage() for record in run_logs.records)
