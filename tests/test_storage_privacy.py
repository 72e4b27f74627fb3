"""Storage's privacy operations: forgetting a worker, retention, message ids, an outbox that is no archive."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import aiosqlite
import pytest

from bot.core.clock import FakeClock
from storage.base import StorageError
from storage.migrations import MIGRATIONS, migrate
from storage.models import (
    ANONYMOUS_WORKER_ID,
    AttachmentIn,
    CaseKind,
    CaseStatus,
    NewCase,
    NewCaseEvent,
    NewChatMessage,
    OutboxMessage,
    Outcome,
    PersistenceChange,
    Resolution,
)
from storage.sqlite import SQLiteStorage

WORKER, OTHER, OFFICER = 1001, 1002, 2001


async def _remember(storage: SQLiteStorage, chat_id: int, message_ids: list[int], *, from_bot: bool) -> None:
    """Message ids as the bot notes them: written with the next commit of its bookkeeping."""
    await storage.save_persistence(
        [],
        chat_messages=[
            NewChatMessage(chat_id=chat_id, message_id=message_id, from_bot=from_bot)
            for message_id in message_ids
        ],
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def storage(tmp_path: Path, clock: FakeClock) -> AsyncIterator[SQLiteStorage]:
    store = SQLiteStorage(str(tmp_path / "bot.db"), now=clock.now)
    await store.open()
    yield store
    await store.close()


async def _worker_with_cases(storage: SQLiteStorage) -> tuple[int, int]:
    """A worker with an open wages case (with a photo, messages, a note) and a resolved membership case."""
    await storage.ensure_worker(WORKER, language="zh-Hans")
    await storage.update_worker_profile(WORKER, {"name": "张三", "phone": "13812345678"})
    wages = await storage.create_case(
        NewCase(
            kind=CaseKind.WAGES,
            worker_id=WORKER,
            assignee_id=None,
            fields={"employer": "宏达", "site": "阳光花园", "work": "砌砖", "amount_owed": "8500.00"},
            attachments=[AttachmentIn(kind="photo", file_id="photo-1", caption="欠条")],
        )
    )
    await storage.add_case_event(
        NewCaseEvent(
            case_id=wages.id, actor_id=WORKER, actor_role="worker", action="message", note="我叫张三"
        )
    )
    await storage.add_case_event(
        NewCaseEvent(
            case_id=wages.id, actor_id=OFFICER, actor_role="officer", action="note", note="张三很着急"
        )
    )
    membership = await storage.create_case(
        NewCase(
            kind=CaseKind.MEMBERSHIP,
            worker_id=WORKER,
            fields={"name": "张三", "phone": "13812345678", "trade": "construction", "hometown": "四川"},
        )
    )
    await storage.resolve_case(
        membership.id,
        expected=CaseStatus.NEW,
        resolution=Resolution(outcome=Outcome.MEMBERSHIP_APPROVED, member_number="2026-00002"),
        actor_id=OFFICER,
        actor_role="officer",
    )
    return wages.id, membership.id


@pytest.mark.asyncio
async def test_forgetting_a_worker_keeps_only_anonymous_facts(storage: SQLiteStorage) -> None:
    wages_id, membership_id = await _worker_with_cases(storage)
    await storage.enqueue_outbox(OutboxMessage(chat_id=WORKER, params={"text": "张三，您好"}))
    await storage.enqueue_outbox(
        OutboxMessage(chat_id=OFFICER, params={"text": "张三 13812345678"}, case_id=wages_id)
    )
    await _remember(storage, WORKER, [5, 6], from_bot=True)
    await storage.save_persistence(
        [
            PersistenceChange(
                kind="user_data", key=str(WORKER), value={"draft": {"answers": {"employer": "宏达"}}}
            ),
            PersistenceChange(kind="conversation", key=json.dumps(["wages", [WORKER, WORKER]]), value=201),
            PersistenceChange(kind="conversation", key=json.dumps(["wages", [OTHER, OTHER]]), value=201),
        ]
    )
    news = OutboxMessage(chat_id=OFFICER, params={"text": "工人撤回了"}, dedupe_key="forgotten")

    forgotten = await storage.forget_worker(WORKER, withdrawal_news={wages_id: [news], membership_id: [news]})

    assert forgotten.withdrawn == ["W-000001"] and forgotten.anonymised == ["W-000001", "M-000002"]
    assert await storage.get_worker(WORKER) is None
    wages, membership = await storage.get_case(wages_id), await storage.get_case(membership_id)
    assert wages is not None and membership is not None
    assert wages.status == CaseStatus.WITHDRAWN and membership.status == CaseStatus.RESOLVED
    assert wages.fields == {"employer": "宏达", "amount_owed": "8500.00"}
    assert membership.fields == {"trade": "construction"} and membership.member_number is None
    assert membership.outcome == Outcome.MEMBERSHIP_APPROVED
    assert {wages.worker_id, membership.worker_id} == {ANONYMOUS_WORKER_ID}
    assert await storage.list_attachments(wages_id) == []
    for case_id in (wages_id, membership_id):
        for event in await storage.list_case_events(case_id):
            assert event.actor_id != WORKER
            assert "张三" not in (event.note or "") and "2026-00002" not in (event.note or "")
    # Only the withdrawal news is left to send: nothing for the worker, no old alert naming them.
    due = await storage.due_outbox(FakeClock().now() + timedelta(days=1))
    assert [(item.chat_id, item.params["text"], item.case_id) for item in due] == [
        (OFFICER, "工人撤回了", wages_id)
    ]
    assert await storage.list_chat_messages(WORKER) == []
    assert await storage.load_persistence("user_data") == {}
    assert list(await storage.load_persistence("conversation")) == [json.dumps(["wages", [OTHER, OTHER]])]


@pytest.mark.asyncio
async def test_the_anonymous_worker_cannot_be_forgotten(storage: SQLiteStorage) -> None:
    with pytest.raises(StorageError):
        await storage.forget_worker(ANONYMOUS_WORKER_ID)


@pytest.mark.asyncio
async def test_ended_cases_are_anonymised_once_the_retention_time_after_their_end_is_over(
    storage: SQLiteStorage, clock: FakeClock
) -> None:
    start = clock.now()
    await storage.ensure_worker(WORKER)
    cases = {}
    for status in (CaseStatus.CLOSED, CaseStatus.WITHDRAWN, CaseStatus.RESOLVED, CaseStatus.IN_PROGRESS):
        case = await storage.create_case(
            NewCase(kind=CaseKind.WAGES, worker_id=WORKER, fields={"employer": "甲"})
        )
        path = {
            CaseStatus.CLOSED: [CaseStatus.RESOLVED, CaseStatus.CLOSED],
            CaseStatus.WITHDRAWN: [CaseStatus.WITHDRAWN],
            CaseStatus.RESOLVED: [CaseStatus.RESOLVED],
            CaseStatus.IN_PROGRESS: [CaseStatus.IN_PROGRESS],
        }[status]
        for new in path:
            clock.advance(timedelta(days=10))
            case = await storage.change_case_status(
                case.id, expected=case.status, new=new, actor_id=OFFICER, actor_role="officer"
            )
        cases[status] = case.reference

    assert await storage.anonymise_finished_cases(start) == []
    clock.advance(timedelta(days=400))
    anonymised = await storage.anonymise_finished_cases(clock.now() - timedelta(days=365))
    assert anonymised == [cases[CaseStatus.CLOSED], cases[CaseStatus.WITHDRAWN], cases[CaseStatus.RESOLVED]]
    assert await storage.anonymise_finished_cases(clock.now()) == []  # once only; open cases never


@pytest.mark.asyncio
async def test_inactive_workers_lose_profile_and_drafts_unless_a_case_is_open(
    storage: SQLiteStorage, clock: FakeClock
) -> None:
    for worker in (WORKER, OTHER):
        await storage.ensure_worker(worker, language="en")
        await storage.update_worker_profile(worker, {"name": f"worker {worker}"})
    await storage.create_case(NewCase(kind=CaseKind.WAGES, worker_id=OTHER, fields={"employer": "甲"}))
    await storage.save_persistence(
        [PersistenceChange(kind="user_data", key=str(WORKER), value={"draft": {}})]
    )
    clock.advance(timedelta(days=100))
    await storage.save_persistence([], seen_workers=[WORKER])

    assert await storage.erase_inactive_workers(clock.now() - timedelta(days=50)) == []
    clock.advance(timedelta(days=100))
    assert await storage.erase_inactive_workers(clock.now() - timedelta(days=50)) == [WORKER]
    erased = await storage.get_worker(WORKER)
    assert erased is not None and erased.profile == {} and erased.language == "en"
    assert await storage.load_persistence("user_data") == {}
    other = await storage.get_worker(OTHER)
    assert other is not None and other.profile == {"name": f"worker {OTHER}"}
    assert await storage.erase_inactive_workers(clock.now()) == []  # nothing left to erase


@pytest.mark.asyncio
async def test_message_ids_are_kept_per_chat_and_pruned_by_age(
    storage: SQLiteStorage, clock: FakeClock
) -> None:
    await _remember(storage, WORKER, [1, 2], from_bot=False)
    await _remember(storage, WORKER, [2], from_bot=True)  # the same message twice: kept once
    clock.advance(timedelta(hours=30))
    await _remember(storage, WORKER, [3], from_bot=True)
    await _remember(storage, OTHER, [1], from_bot=True)

    assert [(m.message_id, m.from_bot) for m in await storage.list_chat_messages(WORKER)] == [
        (1, False),
        (2, False),
        (3, True),
    ]
    await storage.forget_chat_messages(WORKER, [1])
    assert await storage.prune_chat_messages(clock.now() - timedelta(hours=1)) == 1
    assert [m.message_id for m in await storage.list_chat_messages(WORKER)] == [3]
    assert [m.message_id for m in await storage.list_chat_messages(OTHER)] == [1]


@pytest.mark.asyncio
async def test_a_delivered_outbox_message_keeps_its_key_but_not_its_text(
    storage: SQLiteStorage, tmp_path: Path
) -> None:
    item = await storage.enqueue_outbox(
        OutboxMessage(chat_id=OFFICER, params={"text": "张三"}, dedupe_key="a")
    )
    await storage.mark_outbox_sent(item)
    with closing(sqlite3.connect(tmp_path / "bot.db")) as conn:
        assert conn.execute("SELECT params, dedupe_key FROM outbox").fetchall() == [("{}", "a")]
    again = await storage.enqueue_outbox(
        OutboxMessage(chat_id=OFFICER, params={"text": "张三"}, dedupe_key="a")
    )
    assert again == item  # still never sent twice


@pytest.mark.asyncio
async def test_the_privacy_migration_keeps_the_data_and_empties_delivered_messages(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    before = MIGRATIONS[: [m.name for m in MIGRATIONS].index("privacy")]
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await migrate(conn, FakeClock().now(), migrations=before)
        await conn.execute(
            "INSERT INTO workers (telegram_id, language, profile, created_at, updated_at)"
            " VALUES (1001, 'en', '{\"name\": \"Li\"}', '2025-01-01T00:00:00.000000+00:00',"
            " '2025-02-01T00:00:00.000000+00:00')"
        )
        await conn.execute(
            "INSERT INTO outbox (chat_id, method, params, next_attempt_at, created_at, sent_at) VALUES"
            " (1, 'sendMessage', '{\"text\": \"sent\"}', 'x', 'x', 'x'),"
            " (1, 'sendMessage', '{\"text\": \"waiting\"}', 'x', 'x', NULL)"
        )
    store = SQLiteStorage(str(path), now=FakeClock().now)
    await store.open()
    try:
        worker = await store.get_worker(1001)
        assert worker is not None and worker.profile == {"name": "Li"}
        assert worker.last_seen_at == worker.updated_at
        assert await store.get_worker(ANONYMOUS_WORKER_ID) is not None
    finally:
        await store.close()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT params FROM outbox ORDER BY id").fetchall() == [
            ("{}",),
            ('{"text": "waiting"}',),
        ]
