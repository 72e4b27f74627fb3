"""`union-bot broadcast create|list|cancel`, as an operator runs it."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from storage import SQLiteStorage
from storage.models import Audience, AudienceKind, BroadcastStatus, ScheduleKind

CONFIG = """
[storage]
database = "union.db"
[union]
name = "测试工会"
"""


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def _stored(tmp_path: Path):  # type: ignore[no-untyped-def]
    async def read():  # type: ignore[no-untyped-def]
        storage = SQLiteStorage(str(tmp_path / "union.db"))
        await storage.open()
        try:
            return await storage.list_broadcasts()
        finally:
            await storage.close()

    return asyncio.run(read())


def test_create_list_cancel(config_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    when = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=2)).strftime("%Y-%m-%d 09:00")
    assert (
        main(
            [
                "broadcast",
                "create",
                "--text",
                "zh-Hans=周六 <b>培训</b> & 报名",
                "--text",
                "en=Training on Saturday",
                "--audience",
                "trade:construction",
                "--at",
                when,
                "--attend",
                "--config",
                str(config_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out == (
        f"Broadcast #1: once at {when} (Asia/Shanghai), to By trade: Construction (0 worker(s) now). "
        "The running bot sends it; the admins get the report.\n"
    )
    [broadcast] = _stored(tmp_path)
    assert broadcast.texts == {
        "zh-Hans": "周六 &lt;b&gt;培训&lt;/b&gt; &amp; 报名",
        "en": "Training on Saturday",
    }
    assert broadcast.audience == Audience(kind=AudienceKind.TRADE, value="construction")
    assert broadcast.attend_button and broadcast.created_by is None

    assert (
        main(
            [
                "broadcast",
                "create",
                "--text",
                "zh-Hans=每周例会",
                "--every",
                "monday 09:00",
                "--config",
                str(config_path),
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.startswith("Broadcast #2: every Monday 09:00, first at ")
    assert main(["broadcast", "list", "--config", str(config_path)]) == 0
    listing = capsys.readouterr().out
    assert "#2 · scheduled · every Monday 09:00 · Everyone" in listing
    assert "“周六 <b>培训</b> & 报名”" not in listing  # English readers get the English text
    assert "“Training on Saturday”" in listing

    assert main(["broadcast", "cancel", "2", "--config", str(config_path)]) == 0
    assert capsys.readouterr().out == "Broadcast #2: cancelled\n"
    stored = {b.id: b for b in _stored(tmp_path)}
    assert stored[2].status == BroadcastStatus.CANCELLED and stored[2].schedule.kind == ScheduleKind.WEEKLY
    assert main(["broadcast", "cancel", "99", "--config", str(config_path)]) == 1
    assert "broadcast 99 does not exist" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--text", "en=Hello"], "the text in the default language (zh-Hans) is required"),
        (["--text", "zh-Hans"], "write LANGUAGE=TEXT"),
        (["--text", "zh-Hans=你好", "--text", "fr=Bonjour"], "unknown language 'fr'"),
        (["--text", "zh-Hans=你好", "--audience", "town:城关"], "audience 'town:城关'"),
        (["--text", "zh-Hans=你好", "--audience", "region"], "audience 'region'"),
        (
            ["--text", "zh-Hans=你好", "--audience", "language:fr"],
            "the language is one of zh-Hans, zh-Hant, en",
        ),
        (["--text", "zh-Hans=你好", "--audience", "trade:builder"], "the trade is one of construction,"),
        (["--text", "zh-Hans=你好", "--every", "someday 09:00"], "I did not understand that time"),
        (["--text", "zh-Hans=你好", "--at", "2020-01-01 09:00"], "That time has already passed"),
    ],
)
def test_bad_input_is_refused_in_one_line(
    config_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], says: str
) -> None:
    assert main(["broadcast", "create", *arguments, "--config", str(config_path)]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1
