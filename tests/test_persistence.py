"""The SQLite-backed PTB persistence: staged writes, one commit per update, redelivery skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.clock import FakeClock
from bot.runtime.persistence import SQLitePersistence
from storage import SQLiteStorage


@pytest.fixture
async def storage(tmp_path: Path):
    store = SQLiteStorage(str(tmp_path / "p.db"), now=FakeClock().now)
    await store.open()
    yield store
    await store.close()


async def test_nothing_is_written_before_commit(storage: SQLiteStorage) -> None:
    persistence = SQLitePersistence(storage)
    await persistence.update_user_data(1, {"draft": {"name": "张三"}})
    await persistence.update_conversation("join", (1, 1), 2)
    assert await storage.load_persistence("user_data") == {}
    await persistence.commit(processed_update_id=77)
    assert await storage.load_persistence("user_data") == {"1": {"draft": {"name": "张三"}}}
    assert await storage.is_update_processed(77)


async def test_round_trip_through_a_new_instance(storage: SQLiteStorage) -> None:
    first = SQLitePersistence(storage)
    await first.update_user_data(5, {"answers": ["<b>&", "工资"]})
    await first.update_conversation("wages", (5, 5), "AMOUNT")
    await first.update_conversation("join", (5, 5), 3)
    await first.flush()

    second = SQLitePersistence(storage)
    assert await second.get_user_data() == {5: {"answers": ["<b>&", "工资"]}}
    assert await second.get_conversations("wages") == {(5, 5): "AMOUNT"}
    assert await second.get_conversations("join") == {(5, 5): 3}


async def test_ended_conversation_and_dropped_data_are_deleted(storage: SQLiteStorage) -> None:
    persistence = SQLitePersistence(storage)
    await persistence.update_user_data(5, {"a": 1})
    await persistence.update_conversation("join", (5, 5), 3)
    await persistence.flush()
    await persistence.update_conversation("join", (5, 5), None)
    await persistence.drop_user_data(5)
    await persistence.flush()
    assert await persistence.get_conversations("join") == {}
    assert await persistence.get_user_data() == {}


async def test_unchanged_user_data_is_not_rewritten(storage: SQLiteStorage) -> None:
    persistence = SQLitePersistence(storage)
    await persistence.get_user_data()
    await persistence.update_user_data(5, {"a": 1})
    await persistence.flush()
    await persistence.update_user_data(5, {"a": 1})
    assert persistence._staged == {}


async def test_a_new_user_with_no_data_writes_nothing_until_data_is_emptied(storage: SQLiteStorage) -> None:
    persistence = SQLitePersistence(storage)
    await persistence.get_user_data()
    await persistence.update_user_data(6, {})  # PTB hands over everyone who wrote, with or without data
    assert persistence._staged == {}
    await persistence.update_user_data(6, {"draft": "x"})
    await persistence.flush()
    await persistence.update_user_data(6, {})
    await persistence.flush()
    assert await storage.load_persistence("user_data") == {}


async def test_unserialisable_data_fails_in_the_update_that_stored_it(storage: SQLiteStorage) -> None:
    persistence = SQLitePersistence(storage)
    with pytest.raises(TypeError):
        await persistence.update_user_data(5, {"when": object()})
