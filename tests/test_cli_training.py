"""`union-bot training create|list|cancel`, as an operator runs it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import pytest

from bot.cases.privacy import CONSENT_VERSION
from bot.cli import main
from storage import SQLiteStorage
from storage.models import AudienceKind, Broadcast, BroadcastStatus, SignupStatus, Training, TrainingStatus

CONFIG = """
[storage]
database = "union.db"
[union]
name = "测试工会"
"""
ZONE = ZoneInfo("Asia/Shanghai")
T = TypeVar("T")


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def _with_storage(tmp_path: Path, work: Callable[[SQLiteStorage], Awaitable[T]]) -> T:
    async def run() -> T:
        storage = SQLiteStorage(str(tmp_path / "union.db"))
        await storage.open()
        try:
            return await work(storage)
        finally:
            await storage.close()

    return asyncio.run(run())


async def _stored(storage: SQLiteStorage) -> tuple[list[Training], list[Broadcast]]:
    return await storage.list_trainings(include_cancelled=True), await storage.list_broadcasts()


def _in_days(days: int, clock: str) -> str:
    return (datetime.now(ZONE) + timedelta(days=days)).strftime(f"%Y-%m-%d {clock}")


def test_create_announce_list_and_cancel(
    config_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    starts = _in_days(10, "09:00")
    day_before = (datetime.strptime(starts, "%Y-%m-%d %H:%M") - timedelta(days=1)).strftime("%Y-%m-%d")
    arguments = [
        "training",
        "create",
        "--title",
        "劳动法 <讲座>",
        "--title-en",
        "Labour law class",
        "--starts",
        starts,
        "--ends",
        "12:00",
        "--place",
        "城关镇职工之家",
        "--location",
        "34.26,108.94",
        "--seats",
        "2",
        "--trade",
        "construction",
        "--allowance",
        "交通补贴50元",
        "--announce",
        "--config",
        str(config_path),
    ]
    assert main(arguments) == 0
    assert capsys.readouterr().out == (
        f"Training #1: {starts} to {starts[:10]} 12:00 (Asia/Shanghai), 2 seat(s), sign-up until "
        f"{day_before} 18:00.\n"
        "Announced as broadcast #1 to By trade: Construction (0 worker(s) now). The running bot sends it; "
        "the admins get the report.\n"
    )

    [training], [broadcast] = _with_storage(tmp_path, _stored)
    assert training.titles == {"zh-Hans": "劳动法 <讲座>", "en": "Labour law class"}
    assert (training.seats, training.trade, training.region, training.created_by) == (
        2,
        "construction",
        None,
        None,
    )
    assert (training.latitude, training.longitude, training.allowance_note) == (34.26, 108.94, "交通补贴50元")
    assert training.ends_at - training.starts_at == timedelta(hours=3)
    assert broadcast.training_id == training.id and broadcast.audience.kind == AudienceKind.TRADE
    assert "劳动法 &lt;讲座&gt;" in broadcast.texts["zh-Hans"]  # HTML-escaped for Telegram
    assert broadcast.texts["en"].startswith("<b>Labour law class</b>")

    # Three workers sign up in the bot: two seats, one waits; one more cancels their own sign-up.
    async def sign_up(storage: SQLiteStorage) -> None:
        for worker_id, language in ((5001, "zh-Hans"), (5002, "en"), (5003, "zh-Hans"), (5004, None)):
            await storage.ensure_worker(worker_id, language=language)
            await storage.record_consent(worker_id, CONSENT_VERSION)
        for worker_id in (5001, 5004, 5002):
            await storage.sign_up(training.id, worker_id)
        await storage.cancel_signup(training.id, 5004)
        await storage.sign_up(training.id, 5003)

    _with_storage(tmp_path, sign_up)
    assert main(["training", "list", "--config", str(config_path)]) == 0
    assert capsys.readouterr().out == (
        f"#1 · {starts} · Labour law class\n  signed up 2/2 · waiting 1 · 城关镇职工之家\n"
    )

    assert main(["training", "cancel", "1", "--config", str(config_path)]) == 0
    assert capsys.readouterr().out == (
        "Training #1: cancelled. 3 worker(s) signed up or waiting will be told by the running bot.\n"
    )

    [cancelled], [announcement] = _with_storage(tmp_path, _stored)
    assert cancelled.status == TrainingStatus.CANCELLED
    assert announcement.status == BroadcastStatus.CANCELLED  # not yet sent: it no longer goes out
    signups = _with_storage(tmp_path, lambda storage: storage.list_signups(1))
    assert {signup.worker_id: signup.status for signup in signups}[5004] == SignupStatus.CANCELLED
    outbox = _with_storage(
        tmp_path, lambda storage: storage.due_outbox(datetime.now(UTC) + timedelta(minutes=5))
    )
    told = {item.chat_id: item.params["text"] for item in outbox}
    assert sorted(told) == [5001, 5002, 5003]  # not the worker who had cancelled
    assert told[5001].startswith("对不起，“劳动法 &lt;讲座&gt;”培训（")
    assert told[5002].startswith("Sorry: the training “Labour law class” (")

    assert main(["training", "cancel", "1", "--config", str(config_path)]) == 1
    assert capsys.readouterr().err == "union-bot: Training #1 is cancelled.\n"
    assert main(["training", "cancel", "9", "--config", str(config_path)]) == 1
    assert capsys.readouterr().err == "union-bot: There is no training #9.\n"


def test_the_defaults_and_an_announcement_to_a_region(
    config_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    starts = _in_days(3, "14:30")
    arguments = [
        "training",
        "create",
        "--title",
        "安全生产",
        "--starts",
        starts,
        "--ends",
        "2h",
        "--place",
        "工地",
    ]
    arguments += ["--seats", "20", "--region", "城关", "--deadline", _in_days(2, "12:00"), "--announce"]
    assert main([*arguments, "--config", str(config_path)]) == 0
    out = capsys.readouterr().out
    assert f"sign-up until {_in_days(2, '12:00')}." in out
    assert "to By township or district: 城关 (0 worker(s) now)" in out

    [training], [broadcast] = _with_storage(tmp_path, _stored)
    assert training.titles == {"zh-Hans": "安全生产"} and training.trade is None
    assert broadcast.audience.kind == AudienceKind.REGION and broadcast.audience.value == "城关"


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--starts", "tomorrow"], "--starts: I did not understand that time"),
        (["--starts", "2020-01-01 09:00"], "--starts: That time has already passed"),
        (["--starts", "2026-02-30 09:00"], "--starts: There is no such date or time"),
        (["--ends", "08:00"], "--ends: It must end after it starts"),
        (["--ends", "later"], "--ends: I did not understand."),
        (["--deadline", "2099-01-01 09:00"], "--deadline: Sign-up must close by the start"),
        (["--seats", "0"], "--seats: from 1 to 1000"),
        (["--place", "  "], "--place: write 1 to 200 characters"),
        (["--title", "x" * 101], "--title: write 1 to 100 characters"),
        (["--region", "x" * 51], "--region: write 1 to 50 characters"),
        (["--location", "north"], "--location 'north': write LAT,LON"),
        (["--location", "91,10"], "the latitude is -90 to 90"),
    ],
)
def test_bad_input_is_refused_in_one_line_naming_the_option(
    config_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], says: str
) -> None:
    options = {
        "--title": "培训",
        "--starts": _in_days(5, "09:00"),
        "--ends": "3h",
        "--place": "工会",
        "--seats": "10",
    }
    for option, value in zip(arguments[::2], arguments[1::2], strict=True):
        options[option] = value
    command = ["training", "create", *(part for pair in options.items() for part in pair)]
    assert main([*command, "--config", str(config_path)]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and err.startswith("union-bot: ")
