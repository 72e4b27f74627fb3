"""Behaviour of the SQLite storage through the Storage interface the bot uses."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.core.clock import FakeClock
from storage.base import CaseChanged, InvalidTransition, StorageError
from storage.models import (
    TRANSITIONS,
    AttachmentIn,
    CaseKind,
    CaseQuery,
    CaseStatus,
    NewCase,
    NewCaseEvent,
    OfficerIn,
    OfficerRole,
    OutboxMessage,
    Outcome,
    PersistenceChange,
    Priority,
    Resolution,
    can_move,
)
from storage.sqlite import SQLiteStorage

WORKER = 1001
OTHER_WORKER = 1002
OFFICER = 2001


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "bot.db"


# Both backends of reads: the separate read connection (file) and the shared one (":memory:").
@pytest.fixture(params=["file", "memory"])
async def storage(
    request: pytest.FixtureRequest, db_path: Path, clock: FakeClock
) -> AsyncIterator[SQLiteStorage]:
    database = str(db_path) if request.param == "file" else ":memory:"
    store = SQLiteStorage(database, now=clock.now)
    await store.open()
    yield store
    await store.close()


@pytest.fixture
async def file_storage(db_path: Path, clock: FakeClock) -> AsyncIterator[SQLiteStorage]:
    store = SQLiteStorage(str(db_path), now=clock.now)
    await store.open()
    yield store
    await store.close()


def _wages_case(worker_id: int = WORKER, **overrides: object) -> NewCase:
    data: dict[str, object] = {
        "kind": CaseKind.WAGES,
        "worker_id": worker_id,
        "fields": {"employer": "深圳市某某电子厂", "amount_owed": 12000},
    }
    data.update(overrides)
    return NewCase.model_validate(data)


def _rows(db_path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Look at what is stored, for state the interface does not expose."""
    with closing(sqlite3.connect(db_path)) as conn:
        return conn.execute(sql, params).fetchall()


async def _case_with_worker(storage: SQLiteStorage) -> int:
    await storage.ensure_worker(WORKER, language="zh")
    case = await storage.create_case(_wages_case())
    return case.id


# -- workers -------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_ensure_worker_creates_worker_on_first_contact(
    storage: SQLiteStorage, clock: FakeClock
) -> None:
    worker = await storage.ensure_worker(WORKER, language="zh")

    assert worker.telegram_id == WORKER
    assert worker.language == "zh"
    assert worker.created_at == clock.now()
    assert await storage.get_worker(WORKER) == worker


@pytest.mark.asyncio
async def test_ensure_worker_keeps_language_of_existing_worker(storage: SQLiteStorage) -> None:
    await storage.ensure_worker(WORKER, language="zh")

    worker = await storage.ensure_worker(WORKER, language="en")

    assert worker.language == "zh"


@pytest.mark.asyncio
async def test_get_worker_returns_none_for_unknown_worker(storage: SQLiteStorage) -> None:
    assert await storage.get_worker(WORKER) is None


@pytest.mark.asyncio
async def test_point_reads_see_what_another_process_committed_since(
    file_storage: SQLiteStorage, db_path: Path
) -> None:
    await file_storage.ensure_worker(WORKER, language="zh-Hans")
    assert (await file_storage.get_worker(WORKER)).language == "zh-Hans"  # type: ignore[union-attr]
    with closing(sqlite3.connect(db_path)) as other:  # an admin script, say
        other.execute("UPDATE workers SET language = 'en' WHERE telegram_id = ?", (WORKER,))
        other.execute(
            "INSERT INTO officers (telegram_id, name, role, created_at, updated_at)"
            " VALUES (?, 'Wang', 'officer', ?, ?)",
            (OFFICER, "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"),
        )
        other.commit()
    assert (await file_storage.get_worker(WORKER)).language == "en"  # type: ignore[union-attr]
    assert (await file_storage.get_officer(OFFICER)).name == "Wang"  # type: ignore[union-attr]


class _BusyConnection:
    """A point reader that finds the database busy, as during another process's recovery."""

    def execute(self, sql: str, params: object) -> None:
        error = sqlite3.OperationalError("database is locked")
        error.sqlite_errorcode = sqlite3.SQLITE_BUSY
        raise error

    def close(self) -> None:
        pass


@pytest.mark.asyncio
async def test_a_busy_point_read_is_answered_by_the_reader(
    file_storage: SQLiteStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    await file_storage.ensure_worker(WORKER, language="zh-Hans")
    await file_storage.save_persistence([], processed_update_ids=[77])
    monkeypatch.setattr(file_storage, "_point_reader", _BusyConnection())
    assert (await file_storage.get_worker(WORKER)).language == "zh-Hans"  # type: ignore[union-attr]
    assert await file_storage.get_officer(OFFICER) is None
    assert await file_storage.is_update_processed(77)


@pytest.mark.asyncio
async def test_set_worker_language_changes_language(storage: SQLiteStorage) -> None:
    await storage.ensure_worker(WORKER, language="zh")

    await storage.set_worker_language(WORKER, "en")

    worker = await storage.get_worker(WORKER)
    assert worker is not None and worker.language == "en"


@pytest.mark.asyncio
async def test_record_consent_stores_version_and_time(storage: SQLiteStorage, clock: FakeClock) -> None:
    await storage.ensure_worker(WORKER)
    consent_time = clock.advance(timedelta(minutes=3))

    await storage.record_consent(WORKER, "2026-01")

    worker = await storage.get_worker(WORKER)
    assert worker is not None
    assert (worker.consent_version, worker.consent_at, worker.updated_at) == (
        "2026-01",
        consent_time,
        consent_time,
    )


@pytest.mark.asyncio
async def test_update_worker_profile_merges_keys_and_none_removes(storage: SQLiteStorage) -> None:
    await storage.ensure_worker(WORKER)
    await storage.update_worker_profile(WORKER, {"name": "王小明", "phone": "13800000000"})

    await storage.update_worker_profile(WORKER, {"hometown": "四川", "phone": None})

    worker = await storage.get_worker(WORKER)
    assert worker is not None and worker.profile == {"name": "王小明", "hometown": "四川"}


@pytest.mark.asyncio
async def test_set_worker_flags_changes_only_given_flags(storage: SQLiteStorage) -> None:
    await storage.ensure_worker(WORKER)
    await storage.set_worker_flags(WORKER, opted_out=True)

    await storage.set_worker_flags(WORKER, blocked=True)

    worker = await storage.get_worker(WORKER)
    assert worker is not None and (worker.opted_out, worker.blocked) == (True, True)


@pytest.mark.asyncio
async def test_updating_unknown_worker_raises(storage: SQLiteStorage) -> None:
    with pytest.raises(StorageError):
        await storage.set_worker_language(WORKER, "en")


# -- officers ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_sync_officers_updates_by_telegram_id_and_keeps_others(
    storage: SQLiteStorage, clock: FakeClock
) -> None:
    created_at = clock.now()
    await storage.upsert_officer(OfficerIn(telegram_id=3001, name="Added in bot"))
    await storage.sync_officers([OfficerIn(telegram_id=OFFICER, name="李律师")])
    clock.advance(timedelta(hours=1))

    await storage.sync_officers(
        [OfficerIn(telegram_id=OFFICER, name="李律师", role=OfficerRole.ADMIN, specialties=[CaseKind.LEGAL])]
    )

    officer = await storage.get_officer(OFFICER)
    assert officer is not None
    assert (officer.role, officer.specialties, officer.created_at) == (
        OfficerRole.ADMIN,
        [CaseKind.LEGAL],
        created_at,
    )
    assert {o.telegram_id for o in await storage.list_officers()} == {OFFICER, 3001}


@pytest.mark.asyncio
async def test_upsert_officer_returns_stored_officer(storage: SQLiteStorage) -> None:
    officer = await storage.upsert_officer(
        OfficerIn(telegram_id=OFFICER, name="陈", regions=["广东"], languages=["zh", "en"])
    )

    assert (officer.name, officer.regions, officer.languages, officer.active) == (
        "陈",
        ["广东"],
        ["zh", "en"],
        True,
    )


@pytest.mark.asyncio
async def test_list_officers_active_only_skips_inactive(storage: SQLiteStorage) -> None:
    await storage.sync_officers(
        [OfficerIn(telegram_id=OFFICER, name="A"), OfficerIn(telegram_id=3001, name="B", active=False)]
    )

    active = await storage.list_officers(active_only=True)

    assert [o.telegram_id for o in active] == [OFFICER]


@pytest.mark.asyncio
async def test_get_officer_returns_none_for_unknown_officer(storage: SQLiteStorage) -> None:
    assert await storage.get_officer(OFFICER) is None


@pytest.mark.asyncio
async def test_officer_workloads_count_open_cases_and_last_assignment(
    storage: SQLiteStorage, clock: FakeClock
) -> None:
    backup = 2002
    await storage.sync_officers(
        [OfficerIn(telegram_id=OFFICER, name="王干事"), OfficerIn(telegram_id=backup, name="陈干事")]
    )
    await storage.ensure_worker(WORKER)
    first = await storage.create_case(_wages_case(assignee_id=OFFICER, backup_id=backup))
    clock.advance(timedelta(hours=1))
    await storage.create_case(_wages_case(assignee_id=OFFICER, backup_id=backup))
    await storage.create_case(_wages_case(assignee_id=backup))
    await storage.change_case_status(
        first.id, expected=CaseStatus.NEW, new=CaseStatus.RESOLVED, actor_id=OFFICER, actor_role="officer"
    )

    workloads = await storage.officer_workloads()

    assert set(workloads) == {OFFICER, backup}
    officer = workloads[OFFICER]
    assert (officer.open_cases, officer.open_backups, officer.last_assigned_at) == (1, 0, clock.now())
    assert (workloads[backup].open_cases, workloads[backup].open_backups) == (1, 1)


@pytest.mark.asyncio
async def test_officer_workloads_is_empty_without_assigned_cases(storage: SQLiteStorage) -> None:
    await _case_with_worker(storage)  # unassigned

    assert await storage.officer_workloads() == {}


# -- cases ---------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_case_references_carry_the_kind_prefix_and_id(storage: SQLiteStorage) -> None:
    await storage.ensure_worker(WORKER)

    references = [
        (await storage.create_case(_wages_case(kind=kind))).reference
        for kind in (CaseKind.WAGES, CaseKind.MEMBERSHIP, CaseKind.LEGAL)
    ]

    assert references == ["W-000001", "M-000002", "L-000003"]


@pytest.mark.asyncio
async def test_get_case_by_reference_finds_case(storage: SQLiteStorage) -> None:
    case_id = await _case_with_worker(storage)

    case = await storage.get_case_by_reference("W-000001")

    assert case is not None and case.id == case_id


@pytest.mark.asyncio
async def test_create_case_stores_case_attachments_and_created_event(
    storage: SQLiteStorage, clock: FakeClock
) -> None:
    await storage.ensure_worker(WORKER)
    due = clock.now() + timedelta(hours=24)
    new_case = _wages_case(
        priority=Priority.HIGH,
        first_response_due_at=due,
        attachments=[AttachmentIn(kind="photo", file_id="f1", caption="工资条")],
    )

    case = await storage.create_case(new_case)

    assert await storage.get_case(case.id) == case
    assert (case.status, case.priority, case.fields, case.first_response_due_at) == (
        CaseStatus.NEW,
        Priority.HIGH,
        {"employer": "深圳市某某电子厂", "amount_owed": 12000},
        due,
    )
    assert [(a.file_id, a.caption) for a in await storage.list_attachments(case.id)] == [("f1", "工资条")]
    [event] = await storage.list_case_events(case.id)
    assert (event.action, event.to_status, event.visible_to_worker, event.actor_id) == (
        "created",
        CaseStatus.NEW,
        True,
        WORKER,
    )


@pytest.mark.asyncio
async def test_create_case_writes_nothing_when_an_attachment_fails(storage: SQLiteStorage) -> None:
    await storage.ensure_worker(WORKER)
    # Bypasses validation to make the attachment INSERT (after the case INSERT) violate NOT NULL.
    broken = AttachmentIn.model_construct(kind="photo", file_id=None)

    with pytest.raises(StorageError):
        await storage.create_case(_wages_case(attachments=[broken]))

    assert await storage.list_cases_for_worker(WORKER) == []
    assert await storage.list_case_events(1) == []


@pytest.mark.asyncio
async def test_create_case_for_unknown_worker_raises(storage: SQLiteStorage) -> None:
    with pytest.raises(StorageError):
        await storage.create_case(_wages_case())


@pytest.mark.asyncio
async def test_list_cases_for_worker_is_newest_first_and_only_theirs(storage: SQLiteStorage) -> None:
    await storage.ensure_worker(WORKER)
    await storage.ensure_worker(OTHER_WORKER)
    first = await storage.create_case(_wages_case())
    await storage.create_case(_wages_case(OTHER_WORKER))
    second = await storage.create_case(_wages_case(kind=CaseKind.LEGAL))

    cases = await storage.list_cases_for_worker(WORKER)

    assert [c.id for c in cases] == [second.id, first.id]


@pytest.mark.asyncio
async def test_change_case_status_from_new_acknowledges_and_records_event(
    storage: SQLiteStorage, clock: FakeClock
) -> None:
    case_id = await _case_with_worker(storage)
    moment = clock.advance(timedelta(minutes=30))

    case = await storage.change_case_status(
        case_id, expected=CaseStatus.NEW, new=CaseStatus.ACKNOWLEDGED, actor_id=OFFICER, actor_role="officer"
    )

    assert (case.status, case.acknowledged_at, case.updated_at) == (CaseStatus.ACKNOWLEDGED, moment, moment)
    event = (await storage.list_case_events(case_id))[-1]
    assert (event.action, event.from_status, event.to_status, event.actor_id) == (
        "status_changed",
        CaseStatus.NEW,
        CaseStatus.ACKNOWLEDGED,
        OFFICER,
    )


@pytest.mark.asyncio
async def test_change_case_status_sets_resolved_and_closed_times(
    storage: SQLiteStorage, clock: FakeClock
) -> None:
    case_id = await _case_with_worker(storage)
    resolved = clock.advance(timedelta(days=1))
    await storage.change_case_status(
        case_id, expected=CaseStatus.NEW, new=CaseStatus.RESOLVED, actor_id=OFFICER, actor_role="officer"
    )
    closed = clock.advance(timedelta(days=1))

    case = await storage.change_case_status(
        case_id, expected=CaseStatus.RESOLVED, new=CaseStatus.CLOSED, actor_id=None, actor_role="system"
    )

    assert (case.acknowledged_at, case.resolved_at, case.closed_at) == (resolved, resolved, closed)


@pytest.mark.asyncio
async def test_change_case_status_refuses_when_status_is_not_expected(storage: SQLiteStorage) -> None:
    case_id = await _case_with_worker(storage)
    before = await storage.get_case(case_id)

    with pytest.raises(StorageError):
        await storage.change_case_status(
            case_id,
            expected=CaseStatus.ACKNOWLEDGED,
            new=CaseStatus.IN_PROGRESS,
            actor_id=OFFICER,
            actor_role="officer",
        )

    assert await storage.get_case(case_id) == before
    assert [e.action for e in await storage.list_case_events(case_id)] == ["created"]


@pytest.mark.asyncio
async def test_change_case_status_of_unknown_case_raises(storage: SQLiteStorage) -> None:
    with pytest.raises(StorageError):
        await storage.change_case_status(
            99, expected=CaseStatus.NEW, new=CaseStatus.ACKNOWLEDGED, actor_id=OFFICER, actor_role="officer"
        )


@pytest.mark.asyncio
async def test_case_events_are_oldest_first(storage: SQLiteStorage) -> None:
    case_id = await _case_with_worker(storage)
    await storage.add_case_event(
        NewCaseEvent(case_id=case_id, actor_id=OFFICER, actor_role="officer", action="note", note="内部备注")
    )
    await storage.add_case_event(
        NewCaseEvent(case_id=case_id, actor_id=OFFICER, actor_role="officer", action="message", note="您好")
    )

    events = await storage.list_case_events(case_id)

    assert [e.action for e in events] == ["created", "note", "message"]


@pytest.mark.asyncio
async def test_worker_visible_events_exclude_internal_ones(storage: SQLiteStorage) -> None:
    case_id = await _case_with_worker(storage)
    await storage.add_case_event(
        NewCaseEvent(case_id=case_id, actor_id=OFFICER, actor_role="officer", action="note", note="内部备注")
    )
    message = await storage.add_case_event(
        NewCaseEvent(
            case_id=case_id,
            actor_id=OFFICER,
            actor_role="officer",
            action="message",
            note="您好",
            visible_to_worker=True,
        )
    )

    events = await storage.list_case_events(case_id, worker_visible_only=True)

    assert [e.action for e in events] == ["created", "message"]
    assert events[-1] == message


@pytest.mark.asyncio
async def test_add_case_event_for_unknown_case_raises(storage: SQLiteStorage) -> None:
    with pytest.raises(StorageError):
        await storage.add_case_event(
            NewCaseEvent(case_id=99, actor_id=None, actor_role="system", action="note")
        )


@pytest.mark.asyncio
async def test_add_attachment_appends_to_case(storage: SQLiteStorage) -> None:
    case_id = await _case_with_worker(storage)

    attachment = await storage.add_attachment(
        case_id,
        AttachmentIn(kind="document", file_id="doc1", file_name="合同.pdf", mime_type="application/pdf"),
    )

    assert await storage.list_attachments(case_id) == [attachment]
    assert attachment.file_name == "合同.pdf"


# -- outbox --------------------------------------------------------------------------------------


def _message(text: str = "您的案件已受理", dedupe_key: str | None = None) -> OutboxMessage:
    return OutboxMessage(chat_id=WORKER, params={"text": text}, dedupe_key=dedupe_key)


@pytest.mark.asyncio
async def test_enqueued_message_is_due_immediately(storage: SQLiteStorage, clock: FakeClock) -> None:
    item_id = await storage.enqueue_outbox(_message())

    [item] = await storage.due_outbox(clock.now())

    assert (item.id, item.chat_id, item.method, item.params, item.attempts) == (
        item_id,
        WORKER,
        "sendMessage",
        {"text": "您的案件已受理"},
        0,
    )


@pytest.mark.asyncio
async def test_message_with_not_before_is_due_only_then(storage: SQLiteStorage, clock: FakeClock) -> None:
    later = clock.now() + timedelta(hours=1)
    await storage.enqueue_outbox(_message(), not_before=later)

    assert await storage.due_outbox(clock.now()) == []
    assert len(await storage.due_outbox(later)) == 1


@pytest.mark.asyncio
async def test_due_outbox_is_ordered_by_id_and_limited(storage: SQLiteStorage, clock: FakeClock) -> None:
    ids = [
        await storage.enqueue_outbox(OutboxMessage(chat_id=chat_id, params={"text": "hi"}))
        for chat_id in (1001, 1002, 1003)
    ]

    due = await storage.due_outbox(clock.now(), limit=2)

    assert [item.id for item in due] == ids[:2]


@pytest.mark.asyncio
async def test_a_chats_later_message_waits_for_its_earlier_one(
    storage: SQLiteStorage, clock: FakeClock
) -> None:
    first = await storage.enqueue_outbox(OutboxMessage(chat_id=1001, params={"text": "alert"}))
    second = await storage.enqueue_outbox(
        OutboxMessage(chat_id=1001, method="sendPhoto", params={"photo": "x"})
    )
    other_chat = await storage.enqueue_outbox(OutboxMessage(chat_id=1002, params={"text": "hi"}))

    assert [item.id for item in await storage.due_outbox(clock.now())] == [first, other_chat]
    await storage.mark_outbox_failed(first, error="502", retry_at=clock.now() + timedelta(minutes=1))
    # The alert waits for its retry, and its photo waits behind it.
    assert [item.id for item in await storage.due_outbox(clock.now())] == [other_chat]
    clock.advance(timedelta(minutes=1))
    await storage.mark_outbox_sent(first)
    assert [item.id for item in await storage.due_outbox(clock.now())] == [second, other_chat]


@pytest.mark.asyncio
async def test_sent_message_is_no_longer_due(storage: SQLiteStorage, clock: FakeClock) -> None:
    item_id = await storage.enqueue_outbox(_message())

    await storage.mark_outbox_sent(item_id)

    assert await storage.due_outbox(clock.now()) == []


@pytest.mark.asyncio
async def test_failed_message_is_retried_at_retry_time(storage: SQLiteStorage, clock: FakeClock) -> None:
    item_id = await storage.enqueue_outbox(_message())
    retry_at = clock.now() + timedelta(minutes=5)

    await storage.mark_outbox_failed(item_id, error="429 Too Many Requests", retry_at=retry_at)

    assert await storage.due_outbox(clock.now()) == []
    [item] = await storage.due_outbox(retry_at)
    assert (item.attempts, item.last_error, item.next_attempt_at) == (1, "429 Too Many Requests", retry_at)


@pytest.mark.asyncio
async def test_given_up_message_is_never_due_but_kept(
    file_storage: SQLiteStorage, db_path: Path, clock: FakeClock
) -> None:
    item_id = await file_storage.enqueue_outbox(_message())

    await file_storage.mark_outbox_failed(item_id, error="403 Forbidden: bot was blocked", retry_at=None)

    assert await file_storage.due_outbox(clock.now() + timedelta(days=365)) == []
    [row] = _rows(db_path, "SELECT attempts, last_error, gave_up_at FROM outbox WHERE id = ?", (item_id,))
    assert row[:2] == (1, "403 Forbidden: bot was blocked") and row[2] is not None


@pytest.mark.asyncio
async def test_repeated_dedupe_key_keeps_one_message(storage: SQLiteStorage, clock: FakeClock) -> None:
    first = await storage.enqueue_outbox(_message("first", dedupe_key="case-1-ack"))

    second = await storage.enqueue_outbox(_message("second", dedupe_key="case-1-ack"))

    assert second == first
    assert [item.params["text"] for item in await storage.due_outbox(clock.now())] == ["first"]


@pytest.mark.asyncio
async def test_marking_unknown_outbox_item_raises(storage: SQLiteStorage) -> None:
    with pytest.raises(StorageError):
        await storage.mark_outbox_sent(99)


# -- PTB persistence -----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_persistence_round_trips_by_kind(storage: SQLiteStorage) -> None:
    await storage.save_persistence(
        [
            PersistenceChange(kind="user_data", key="1001", value={"draft": {"employer": "某某厂"}}),
            PersistenceChange(kind="conversation", key='["report", 1001]', value=3),
        ]
    )

    assert await storage.load_persistence("user_data") == {"1001": {"draft": {"employer": "某某厂"}}}
    assert await storage.load_persistence("conversation") == {'["report", 1001]': 3}


@pytest.mark.asyncio
async def test_persistence_change_overwrites_value(storage: SQLiteStorage) -> None:
    await storage.save_persistence([PersistenceChange(kind="bot_data", key="", value={"n": 1})])

    await storage.save_persistence([PersistenceChange(kind="bot_data", key="", value={"n": 2})])

    assert await storage.load_persistence("bot_data") == {"": {"n": 2}}


@pytest.mark.asyncio
async def test_persistence_change_with_none_deletes_row(storage: SQLiteStorage) -> None:
    await storage.save_persistence([PersistenceChange(kind="chat_data", key="1001", value={"a": 1})])

    await storage.save_persistence([PersistenceChange(kind="chat_data", key="1001", value=None)])

    assert await storage.load_persistence("chat_data") == {}


@pytest.mark.asyncio
async def test_save_persistence_marks_update_processed(storage: SQLiteStorage) -> None:
    await storage.save_persistence([], processed_update_ids=[500])

    assert await storage.is_update_processed(500)
    assert not await storage.is_update_processed(501)


@pytest.mark.asyncio
async def test_save_persistence_is_all_or_nothing(storage: SQLiteStorage) -> None:
    changes = [
        PersistenceChange(kind="user_data", key="1001", value={"a": 1}),
        PersistenceChange(kind="user_data", key="1002", value=object()),  # not JSON: fails mid-way
    ]

    with pytest.raises(TypeError):
        await storage.save_persistence(changes, processed_update_ids=[500])

    assert await storage.load_persistence("user_data") == {}
    assert not await storage.is_update_processed(500)


@pytest.mark.asyncio
async def test_update_ids_are_forgotten_after_a_week(
    file_storage: SQLiteStorage, db_path: Path, clock: FakeClock
) -> None:
    await file_storage.save_persistence([], processed_update_ids=[500])
    clock.advance(timedelta(days=8))

    assert not await file_storage.is_update_processed(500)
    await file_storage.save_persistence([], processed_update_ids=[7])
    assert len(_rows(db_path, "SELECT update_id FROM processed_updates")) == 2  # pruned now and then only
    await file_storage.save_persistence([], processed_update_ids=[512])  # every 256th update prunes

    assert _rows(db_path, "SELECT update_id FROM processed_updates ORDER BY update_id") == [(7,), (512,)]


# -- concurrency ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_concurrent_case_creation_gets_distinct_references(file_storage: SQLiteStorage) -> None:
    await file_storage.ensure_worker(WORKER)

    cases = await asyncio.gather(*(file_storage.create_case(_wages_case()) for _ in range(50)))

    assert len({case.reference for case in cases}) == 50
    assert len(await file_storage.list_cases_for_worker(WORKER)) == 50


@pytest.mark.asyncio
async def test_reads_and_writes_interleave_on_a_file_database(file_storage: SQLiteStorage) -> None:
    await file_storage.ensure_worker(WORKER)

    async def write_then_read(n: int) -> int:
        case = await file_storage.create_case(_wages_case())
        await file_storage.add_case_event(
            NewCaseEvent(case_id=case.id, actor_id=WORKER, actor_role="worker", action="message", note=str(n))
        )
        return len(await file_storage.list_case_events(case.id))

    counts = await asyncio.gather(*(write_then_read(n) for n in range(20)))

    assert counts == [2] * 20


# -- backups -------------------------------------------------------------------------------------


def _integrity(path: Path) -> str:
    return str(_rows(path, "PRAGMA integrity_check")[0][0])


@pytest.mark.asyncio
async def test_backup_taken_while_cases_are_written_holds_every_case_committed_before(
    file_storage: SQLiteStorage, tmp_path: Path
) -> None:
    await file_storage.ensure_worker(WORKER)
    # Long notes spread the cases over many pages, so the copy is more than a page or two.
    committed = [
        (await file_storage.create_case(_wages_case(fields={"note": "欠薪" * 500}))).id for _ in range(100)
    ]
    under_way, stop = asyncio.Event(), asyncio.Event()

    async def keep_writing() -> None:
        while not stop.is_set():
            await file_storage.create_case(_wages_case())
            under_way.set()

    writer = asyncio.create_task(keep_writing())
    await under_way.wait()
    copy = tmp_path / "backups" / "union.db"
    backup = await file_storage.backup(str(copy))
    stop.set()
    await writer

    # A single file in rollback-journal mode, to be copied back as it is.
    assert [path.name for path in copy.parent.iterdir()] == ["union.db"]
    assert _rows(copy, "PRAGMA journal_mode") == [("delete",)]
    assert _integrity(copy) == "ok"
    assert backup.path == str(copy) and backup.size == copy.stat().st_size
    assert backup.schema_version == await file_storage.schema_version()
    assert _rows(copy, "SELECT id FROM cases WHERE id <= ? ORDER BY id", (committed[-1],)) == [
        (case_id,) for case_id in committed
    ]
    # A snapshot: every case in the copy came with its 'created' event, none half-written.
    assert _rows(copy, "SELECT COUNT(*) FROM cases") == _rows(
        copy, "SELECT COUNT(*) FROM case_events WHERE action = 'created'"
    )
    restored = SQLiteStorage(str(copy))
    await restored.open()
    assert all([await restored.get_case(case_id) for case_id in committed])
    await restored.close()


@pytest.mark.asyncio
async def test_backup_does_not_wait_for_an_open_write_transaction(
    file_storage: SQLiteStorage, db_path: Path, tmp_path: Path
) -> None:
    await file_storage.ensure_worker(WORKER)
    with closing(sqlite3.connect(db_path, isolation_level=None)) as bot_in_another_process:
        bot_in_another_process.execute("BEGIN IMMEDIATE")
        bot_in_another_process.execute("UPDATE workers SET language = 'en'")

        await file_storage.backup(str(tmp_path / "copy.db"))

        bot_in_another_process.execute("ROLLBACK")
    assert _rows(tmp_path / "copy.db", "SELECT language FROM workers WHERE telegram_id = ?", (WORKER,)) == [
        (None,)
    ]


@pytest.mark.asyncio
async def test_backup_refuses_an_existing_file_unless_told_to_overwrite(
    file_storage: SQLiteStorage, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.db"
    copy.write_text("yesterday's backup")

    with pytest.raises(FileExistsError):
        await file_storage.backup(str(copy))
    assert copy.read_text() == "yesterday's backup"

    await file_storage.backup(str(copy), overwrite=True)
    assert _integrity(copy) == "ok"


@pytest.mark.asyncio
async def test_failed_backup_leaves_no_file_behind(tmp_path: Path) -> None:
    not_a_database = tmp_path / "union.db"
    not_a_database.write_text("not SQLite")
    backups = tmp_path / "backups"

    with pytest.raises(StorageError, match="not a database"):
        await SQLiteStorage(str(not_a_database)).backup(str(backups / "copy.db"))
    assert list(backups.iterdir()) == []


@pytest.mark.asyncio
async def test_backup_refuses_an_in_memory_database(tmp_path: Path) -> None:
    store = SQLiteStorage(":memory:")
    await store.open()
    with pytest.raises(StorageError, match="in-memory"):
        await store.backup(str(tmp_path / "copy.db"))
    await store.close()
    assert not (tmp_path / "copy.db").exists()


# -- the case lifecycle ----------------------------------------------------------------------------

# How to bring a new case to each status, through allowed moves only.
_PATHS: dict[CaseStatus, list[CaseStatus]] = {
    CaseStatus.NEW: [],
    CaseStatus.ACKNOWLEDGED: [CaseStatus.ACKNOWLEDGED],
    CaseStatus.IN_PROGRESS: [CaseStatus.ACKNOWLEDGED, CaseStatus.IN_PROGRESS],
    CaseStatus.WAITING_FOR_WORKER: [CaseStatus.ACKNOWLEDGED, CaseStatus.WAITING_FOR_WORKER],
    CaseStatus.RESOLVED: [CaseStatus.RESOLVED],
    CaseStatus.CLOSED: [CaseStatus.RESOLVED, CaseStatus.CLOSED],
    CaseStatus.WITHDRAWN: [CaseStatus.WITHDRAWN],
    CaseStatus.REOPENED: [CaseStatus.RESOLVED, CaseStatus.REOPENED],
}


async def _case_in(storage: SQLiteStorage, status: CaseStatus) -> int:
    case_id = await _case_with_worker(storage)
    current = CaseStatus.NEW
    for step in _PATHS[status]:
        await storage.change_case_status(
            case_id, expected=current, new=step, actor_id=OFFICER, actor_role="officer"
        )
        current = step
    return case_id


@pytest.mark.asyncio
@pytest.mark.parametrize("current", list(CaseStatus))
@pytest.mark.parametrize("new", list(CaseStatus))
async def test_every_transition_is_allowed_or_refused_as_the_lifecycle_says(
    storage: SQLiteStorage, current: CaseStatus, new: CaseStatus
) -> None:
    case_id = await _case_in(storage, current)
    events_before = len(await storage.list_case_events(case_id))

    if can_move(current, new):
        case = await storage.change_case_status(
            case_id, expected=current, new=new, actor_id=OFFICER, actor_role="officer"
        )
        assert case.status == new
        assert len(await storage.list_case_events(case_id)) == events_before + 1
    else:
        with pytest.raises(InvalidTransition, match=f"from {current} to {new}"):
            await storage.change_case_status(
                case_id, expected=current, new=new, actor_id=OFFICER, actor_role="officer"
            )
        case = await storage.get_case(case_id)
        assert case is not None and case.status == current
        assert len(await storage.list_case_events(case_id)) == events_before


def test_the_lifecycle_reaches_every_status_and_only_withdrawn_is_final() -> None:
    reachable = {CaseStatus.NEW} | {status for targets in TRANSITIONS.values() for status in targets}
    assert reachable == set(CaseStatus)
    assert [status for status, targets in TRANSITIONS.items() if not targets] == [CaseStatus.WITHDRAWN]
    assert all(not can_move(status, status) for status in CaseStatus)


@pytest.mark.asyncio
async def test_a_stale_status_raises_case_changed(storage: SQLiteStorage) -> None:
    case_id = await _case_in(storage, CaseStatus.ACKNOWLEDGED)

    with pytest.raises(CaseChanged, match="someone else acted first"):
        await storage.change_case_status(
            case_id, expected=CaseStatus.NEW, new=CaseStatus.RESOLVED, actor_id=OFFICER, actor_role="officer"
        )


@pytest.mark.asyncio
async def test_a_change_and_its_news_are_written_together_or_not_at_all(
    storage: SQLiteStorage, clock: FakeClock
) -> None:
    case_id = await _case_with_worker(storage)
    news = OutboxMessage(chat_id=WORKER, params={"text": "已接手"}, dedupe_key="news:1")

    await storage.change_case_status(
        case_id,
        expected=CaseStatus.NEW,
        new=CaseStatus.ACKNOWLEDGED,
        actor_id=OFFICER,
        actor_role="officer",
        outbox=[news],
    )
    with pytest.raises(CaseChanged):
        await storage.change_case_status(
            case_id,
            expected=CaseStatus.NEW,
            new=CaseStatus.ACKNOWLEDGED,
            actor_id=OFFICER,
            actor_role="officer",
            outbox=[news.model_copy(update={"dedupe_key": "news:2"})],
        )

    assert [item.dedupe_key for item in await storage.due_outbox(clock.now())] == ["news:1"]


@pytest.mark.asyncio
async def test_resolving_records_the_outcome_on_the_case_and_in_the_audit_trail(
    storage: SQLiteStorage,
) -> None:
    case_id = await _case_in(storage, CaseStatus.IN_PROGRESS)

    case = await storage.resolve_case(
        case_id,
        expected=CaseStatus.IN_PROGRESS,
        resolution=Resolution(
            outcome=Outcome.RECOVERED_PART, amount_recovered=Decimal("4000.50"), workers_helped=3
        ),
        actor_id=OFFICER,
        actor_role="officer",
    )

    assert (case.status, case.outcome, case.amount_recovered, case.workers_helped) == (
        CaseStatus.RESOLVED,
        Outcome.RECOVERED_PART,
        Decimal("4000.50"),
        3,
    )
    assert case.resolved_at is not None
    *_, resolved, outcome = await storage.list_case_events(case_id)
    assert (resolved.to_status, resolved.visible_to_worker) == (CaseStatus.RESOLVED, True)
    assert (outcome.action, outcome.visible_to_worker) == ("outcome", False)
    assert json.loads(outcome.note or "") == {
        "outcome": "recovered_part",
        "amount_recovered": "4000.50",
        "workers_helped": 3,
    }
    with pytest.raises(InvalidTransition):
        await storage.resolve_case(
            case_id,
            expected=CaseStatus.RESOLVED,
            resolution=Resolution(outcome=Outcome.NOT_RECOVERED),
            actor_id=OFFICER,
            actor_role="officer",
        )


@pytest.mark.asyncio
async def test_reassigning_records_who_did_it(storage: SQLiteStorage) -> None:
    await storage.sync_officers(
        [OfficerIn(telegram_id=OFFICER, name="王干事"), OfficerIn(telegram_id=2002, name="陈干事")]
    )
    case_id = await _case_with_worker(storage)

    case = await storage.reassign_case(
        case_id, assignee_id=2002, backup_id=OFFICER, actor_id=2003, actor_role="admin"
    )

    assert (case.assignee_id, case.backup_id) == (2002, OFFICER)
    last = (await storage.list_case_events(case_id))[-1]
    assert (last.action, last.actor_id, json.loads(last.note or "")) == (
        "assigned",
        2003,
        {"primary": 2002, "backup": OFFICER},
    )
    with pytest.raises(StorageError, match="two people"):
        await storage.reassign_case(
            case_id, assignee_id=2002, backup_id=2002, actor_id=2003, actor_role="admin"
        )


@pytest.mark.asyncio
async def test_find_cases_filters_combine(storage: SQLiteStorage, clock: FakeClock) -> None:
    await storage.sync_officers(
        [OfficerIn(telegram_id=OFFICER, name="王干事"), OfficerIn(telegram_id=2002, name="陈干事")]
    )
    await storage.ensure_worker(WORKER)
    mine = await storage.create_case(
        _wages_case(
            assignee_id=OFFICER, fields={"employer": "宏达 100%_劳务"}, first_response_due_at=clock.now()
        )
    )
    backing = await storage.create_case(
        _wages_case(assignee_id=2002, backup_id=OFFICER, priority=Priority.HIGH)
    )
    other = await storage.create_case(_wages_case(assignee_id=2002, kind=CaseKind.LEGAL))
    clock.advance(timedelta(minutes=1))

    async def found(**query: object) -> list[int]:
        return [case.id for case in await storage.find_cases(CaseQuery.model_validate(query))]

    assert await found(officer_id=OFFICER) == [backing.id, mine.id]  # collective first
    assert await found(kind=CaseKind.LEGAL) == [other.id]
    assert await found(priority=Priority.HIGH) == [backing.id]
    assert await found(overdue_at=clock.now()) == [mine.id]
    assert await found(text="100%_") == [mine.id]
    assert await found(text="0%") == [mine.id]
    assert await found(text="%") == [mine.id]  # literal, not a wildcard
    assert await found(text=mine.reference) == [mine.id]
    assert await found(statuses=frozenset({CaseStatus.RESOLVED})) == []
    assert await found(officer_id=OFFICER, limit=1) == [backing.id]


@pytest.mark.asyncio
async def test_an_admins_choice_of_active_outlives_the_config(storage: SQLiteStorage) -> None:
    configured = OfficerIn(telegram_id=OFFICER, name="王干事")
    await storage.sync_officers([configured])

    assert not (await storage.set_officer_active(OFFICER, False)).active
    await storage.sync_officers([configured])  # a restart re-reads the config
    assert [o.telegram_id for o in await storage.list_officers(active_only=True)] == []
    assert (await storage.set_officer_active(OFFICER, True)).active
    with pytest.raises(StorageError):
        await storage.set_officer_active(9999, True)


@pytest.mark.asyncio
async def test_the_latest_processed_update_id_is_within_the_last_week(
    storage: SQLiteStorage, clock: FakeClock
) -> None:
    assert await storage.latest_processed_update_id() is None
    await storage.save_persistence([], processed_update_ids=[41, 40])
    assert await storage.latest_processed_update_id() == 41
    clock.advance(timedelta(days=8))
    assert await storage.latest_processed_update_id() is None


@pytest.mark.asyncio
async def test_looking_at_a_case_is_not_acting_on_it(storage: SQLiteStorage, clock: FakeClock) -> None:
    case_id = await _case_in(storage, CaseStatus.IN_PROGRESS)
    [due] = await storage.due_for_review(clock.now())
    acted = due.last_activity_at
    clock.advance(timedelta(hours=1))
    viewed = NewCaseEvent(
        case_id=case_id, actor_id=OFFICER, actor_role="officer", action="viewed", note="card"
    )
    await storage.add_case_event(viewed)
    await storage.add_case_events([viewed.model_copy(update={"action": "exported", "note": "union"})])

    [due] = await storage.due_for_review(clock.now())
    assert due.last_activity_at == acted  # the SLA clock still counts from the last real action
    assert [event.action for event in await storage.list_case_events(case_id)][-2:] == ["viewed", "exported"]
    with pytest.raises(StorageError, match="only audit events"):
        await storage.add_case_events([viewed.model_copy(update={"action": "note"})])
