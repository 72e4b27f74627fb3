"""Schema migrations: applied once, in order, each all-or-nothing, and old databases upgrade in place."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import aiosqlite
import pytest

from bot.core.clock import FakeClock
from storage.base import StorageError
from storage.migrations import MIGRATIONS, Migration, migrate
from storage.models import CaseKind, CaseStatus, NewCaseEvent, OutboxKind, OutboxMessage
from storage.sqlite import SQLiteStorage


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "bot.db"


def _rows(db_path: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(db_path)) as conn:
        return conn.execute(sql).fetchall()


def _tables(db_path: Path) -> set[str]:
    return {name for (name,) in _rows(db_path, "SELECT name FROM sqlite_master WHERE type = 'table'")}


async def _migrate_raw(db_path: Path, migrations: list[Migration]) -> list[str]:
    """Run the migration machinery on a plain connection, as an older version of the bot would have."""
    async with aiosqlite.connect(db_path, isolation_level=None) as conn:
        return await migrate(conn, FakeClock().now(), migrations=migrations)


def test_migration_versions_are_consecutive_with_unique_names() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert len({m.name for m in MIGRATIONS}) == len(MIGRATIONS)


@pytest.mark.asyncio
async def test_fresh_database_gets_every_migration_once(db_path: Path) -> None:
    store = SQLiteStorage(str(db_path), now=FakeClock().now)
    await store.open()
    assert await store.schema_version() == MIGRATIONS[-1].version
    assert await store.migrate() == []
    await store.close()

    reopened = SQLiteStorage(str(db_path), now=FakeClock().now)
    await reopened.open()
    await reopened.close()

    assert _rows(db_path, "SELECT version, name FROM schema_migrations ORDER BY version") == [
        (m.version, m.name) for m in MIGRATIONS
    ]


@pytest.mark.asyncio
async def test_migrate_reports_names_applied_now(db_path: Path) -> None:
    await _migrate_raw(db_path, MIGRATIONS[:1])

    assert await _migrate_raw(db_path, MIGRATIONS) == [m.name for m in MIGRATIONS[1:]]


@pytest.mark.asyncio
async def test_older_database_is_upgraded_with_data_intact(db_path: Path) -> None:
    await _migrate_raw(db_path, MIGRATIONS[:1])
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute(
            "INSERT INTO workers (telegram_id, language, profile, created_at, updated_at)"
            " VALUES (1001, 'zh', ?, '2025-12-01T08:00:00.000000+00:00', '2025-12-01T08:00:00.000000+00:00')",
            ('{"name": "王小明"}',),
        )
        conn.execute(
            "INSERT INTO cases (reference, kind, status, worker_id, fields, created_at, updated_at)"
            " VALUES ('W-000001', 'wages', 'new', 1001, ?, '2025-12-01T08:05:00.000000+00:00',"
            " '2025-12-01T08:05:00.000000+00:00')",
            ('{"employer": "深圳市某某电子厂"}',),
        )
    assert "outbox" not in _tables(db_path)

    store = SQLiteStorage(str(db_path), now=FakeClock().now)
    await store.open()
    try:
        worker = await store.get_worker(1001)
        case = await store.get_case_by_reference("W-000001")
        item_id = await store.enqueue_outbox(OutboxMessage(chat_id=1001, params={"text": "您好"}))
        due = await store.due_outbox(FakeClock().now())
    finally:
        await store.close()

    assert worker is not None and worker.profile == {"name": "王小明"}
    assert case is not None
    assert (case.kind, case.status, case.fields) == (
        CaseKind.WAGES,
        CaseStatus.NEW,
        {"employer": "深圳市某某电子厂"},
    )
    assert [item.id for item in due] == [item_id]


@pytest.mark.asyncio
async def test_the_delivery_migration_keeps_waiting_messages_and_their_order(db_path: Path) -> None:
    before = MIGRATIONS[: [m.name for m in MIGRATIONS].index("delivery")]
    await _migrate_raw(db_path, before)
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.executemany(
            "INSERT INTO outbox (chat_id, method, params, next_attempt_at, created_at, case_id)"
            " VALUES (2001, 'sendMessage', ?, '2026-01-05T09:00:00.000000+00:00',"
            " '2026-01-05T09:00:00.000000+00:00', ?)",
            [('{"text": "新案件"}', 1), ('{"text": "证据"}', 1)],
        )

    store = SQLiteStorage(str(db_path), now=FakeClock().now)
    await store.open()
    try:
        due = await store.due_outbox(FakeClock().now())
        await store.set_bot_status({"last_sweep_at": "2026-01-05T09:00:00+00:00"})
        status = await store.bot_status()
    finally:
        await store.close()

    # Both were queued before: plain messages, and the second still waits for the first (same case).
    assert [(item.params["text"], item.kind) for item in due] == [("新案件", OutboxKind.MESSAGE)]
    assert status == {"last_sweep_at": "2026-01-05T09:00:00+00:00"}


async def _create_table_then_fail(conn: aiosqlite.Connection) -> None:
    await conn.execute("CREATE TABLE half_done (id INTEGER PRIMARY KEY)")
    raise RuntimeError("migration bug")


@pytest.mark.asyncio
async def test_failing_migration_leaves_nothing_behind(db_path: Path) -> None:
    broken = [MIGRATIONS[0], Migration(2, "broken", _create_table_then_fail)]

    with pytest.raises(RuntimeError, match="migration bug"):
        await _migrate_raw(db_path, broken)

    assert "half_done" not in _tables(db_path)
    assert _rows(db_path, "SELECT version FROM schema_migrations") == [(1,)]


@pytest.mark.asyncio
async def test_database_newer_than_code_is_refused(db_path: Path) -> None:
    await _migrate_raw(db_path, MIGRATIONS)

    with pytest.raises(StorageError):
        await _migrate_raw(db_path, MIGRATIONS[:1])


@pytest.mark.asyncio
async def test_file_database_uses_wal(db_path: Path) -> None:
    store = SQLiteStorage(str(db_path), now=FakeClock().now)
    await store.open()
    await store.close()

    # WAL is a property of the file, so a fresh connection sees it.
    assert _rows(db_path, "PRAGMA journal_mode") == [("wal",)]


@pytest.mark.asyncio
async def test_foreign_keys_are_enforced(db_path: Path) -> None:
    store = SQLiteStorage(str(db_path), now=FakeClock().now)
    await store.open()
    try:
        with pytest.raises(StorageError, match="FOREIGN KEY"):
            await store.add_case_event(
                NewCaseEvent(case_id=99, actor_id=None, actor_role="system", action="note")
            )
    finally:
        await store.close()


@pytest.mark.asyncio
async def test_missing_parent_directory_is_created(tmp_path: Path) -> None:
    db_path = tmp_path / "data" / "nested" / "bot.db"
    store = SQLiteStorage(str(db_path), now=FakeClock().now)

    await store.open()
    await store.close()

    assert db_path.exists()
