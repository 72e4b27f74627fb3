"""The union-bot command line, as a person runs it."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import __version__
from bot.cli import main
from bot.core.clock import FakeClock
from storage import SQLiteStorage
from storage.models import OutboxMessage

CONFIG = """
[storage]
database = "data/union.db"
[union]
name = "测试工会"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"union-bot {__version__}"


def test_bad_config_is_one_line_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(
        tmp_path, CONFIG.replace('name = "测试工会"', 'name = "测试工会"\ntimezone = "Nowhere/Land"')
    )
    assert main(["check-config", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("union-bot: config error: union.timezone: unknown time zone 'Nowhere/Land'")


def test_check_config_lists_every_problem_one_line_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(
        tmp_path,
        CONFIG.replace('name = "测试工会"', 'name = "测试工会"\ntimezone = "Nowhere/Land"')
        + '[telegram]\nrequest_timeout = 0\n[delivery]\ngive_up_after = "1 day"\n',
    )
    assert main(["check-config", "--config", str(path)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3
    assert all(line.startswith("union-bot: config error: ") for line in lines)
    keys = [line.removeprefix("union-bot: config error: ").split(":")[0] for line in lines]
    assert keys == ["telegram.request_timeout", "union.timezone", "delivery.give_up_after"]


def test_missing_token_says_how_to_provide_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UNION_BOT_TOKEN", raising=False)
    path = _write(tmp_path, CONFIG)
    assert main(["run", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "@BotFather" in err and "UNION_BOT_TOKEN" in err and "[telegram]" in err


def test_check_config_accepts_a_good_file_without_printing_the_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNION_BOT_TOKEN", "42:SECRETSECRETSECRET")
    assert main(["check-config", "--config", str(_write(tmp_path, CONFIG))]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "SECRET" not in out
    # No officer in this file: every kind of case would go to the admins, and the check says so.
    assert out.count("those cases go to the admins") == 4 and "'assistance'" in out


def test_check_config_names_the_case_kinds_no_active_officer_handles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNION_BOT_TOKEN", "42:SECRETSECRETSECRET")
    officers = """
[[officers]]
telegram_id = 1
name = "王"
specialties = ["wages", "legal", "membership"]
[[officers]]
telegram_id = 2
name = "陈"
specialties = ["assistance"]
active = false
"""
    assert main(["check-config", "--config", str(_write(tmp_path, CONFIG + officers))]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note:")]
    assert notes == [
        "note: no active officer here has the 'assistance' specialty; those cases go to the admins"
    ]


def test_migrate_creates_the_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--config", str(_write(tmp_path, CONFIG))]) == 0
    database = tmp_path / "data" / "union.db"
    assert "schema at version" in capsys.readouterr().out
    with sqlite3.connect(database) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"workers", "cases", "case_events", "attachments", "outbox", "officers"} <= tables


def test_backup_from_the_command_line_copies_a_migrated_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _write(tmp_path, CONFIG)
    assert main(["migrate", "--config", str(config)]) == 0
    capsys.readouterr()
    copy = tmp_path / "backups" / "union.db"

    result = subprocess.run(
        [sys.executable, "-m", "bot", "backup", str(copy), "--config", str(config)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    assert result.stdout.count("\n") == 1
    assert result.stdout.startswith(f"{copy}: {copy.stat().st_size:,} bytes, schema at version ")
    with closing(sqlite3.connect(copy)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] > 0


def test_backup_refuses_to_overwrite_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _write(tmp_path, CONFIG)
    assert main(["migrate", "--config", str(config)]) == 0
    copy = tmp_path / "copy.db"
    copy.write_text("last week's backup")
    capsys.readouterr()

    assert main(["backup", str(copy), "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already exists" in err and "--force" in err
    assert copy.read_text() == "last week's backup"

    assert main(["backup", str(copy), "--force", "--config", str(config)]) == 0
    assert str(copy) in capsys.readouterr().out


def test_backup_of_a_missing_database_is_one_line_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _write(tmp_path, CONFIG)

    assert main(["backup", str(tmp_path / "copy.db"), "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such database" in err
    assert not (tmp_path / "data").exists() and not (tmp_path / "copy.db").exists()


def test_backup_with_a_missing_config_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backup", str(tmp_path / "copy.db"), "--config", str(tmp_path / "nowhere.toml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such config file" in err


def test_console_script_help_lists_the_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, check=True, timeout=60
    )
    for command in ("run", "check-config", "migrate", "backup", "sandbox"):
        assert command in result.stdout


# -- union-bot status ---------------------------------------------------------------------------------


async def _seed_status(database: Path, *, swept_ago: timedelta | None, queued_ago: timedelta | None) -> None:
    """A database as the running bot leaves it: its last sweep, and a message queued some time ago."""
    now = datetime.now(UTC)
    clock = FakeClock(now - (queued_ago or timedelta(0)))
    storage = SQLiteStorage(str(database), now=clock.now)
    await storage.open()
    try:
        if queued_ago is not None:
            await storage.enqueue_outbox(OutboxMessage(chat_id=2001, params={"text": "新案件"}))
        if swept_ago is not None:
            await storage.set_bot_status({"last_sweep_at": (now - swept_ago).isoformat()})
    finally:
        await storage.close()


def test_status_without_a_database_says_the_bot_has_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, CONFIG)
    assert main(["status", "--config", str(path)]) == 1
    assert capsys.readouterr().err.startswith("union-bot: no database at ")


async def test_status_is_ok_when_the_bot_sweeps_and_nothing_waits_long(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, CONFIG)
    database = tmp_path / "data" / "union.db"
    await _seed_status(database, swept_ago=timedelta(seconds=30), queued_ago=timedelta(0))
    assert await asyncio.to_thread(main, ["status", "--config", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("bot: last sweep ") and out[0].endswith(" s ago)")
    assert out[1] == "telegram: answering"
    assert out[3].startswith("outbox: 1 waiting, oldest queued ")
    assert out[3].endswith("; 0 stuck (waiting longer than 15 min); 0 given up in the last 7 days")
    assert out[-1] == "status: OK"


async def test_status_exits_1_naming_what_is_stuck(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, CONFIG)
    await _seed_status(
        tmp_path / "data" / "union.db", swept_ago=timedelta(hours=3), queued_ago=timedelta(minutes=20)
    )
    assert await asyncio.to_thread(main, ["status", "--config", str(path)]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == (
        "status: STUCK: the bot has not swept for 3 h (not running?); 1 message(s) waiting longer than 15 min"
    )
