"""Broadcast storage through the Storage interface: audiences, delivery rows, cancelling, reports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.core.clock import FakeClock
from storage.base import StorageError
from storage.models import (
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastStatus,
    CaseKind,
    CaseStatus,
    NewBroadcast,
    NewCase,
    OutboxMessage,
    Schedule,
    ScheduleKind,
)
from storage.sqlite import SQLiteStorage


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["file", "memory"])
async def storage(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[SQLiteStorage]:
    store = SQLiteStorage(str(tmp_path / "bot.db") if request.param == "file" else ":memory:", now=clock.now)
    await store.open()
    yield store
    await store.close()


async def _workers(storage: SQLiteStorage) -> None:
    """A small roster: who each audience must pick."""
    rows: list[tuple[int, str | None, bool, dict[str, object]]] = [
        (
            1,
            "zh-Hans",
            True,
            {"member_number": "GH-001", "trade": "construction", "workplace": "城关镇宏达工地"},
        ),
        (2, "en", True, {"trade": "manufacturing", "workplace": "Chengguan Town, East Zone"}),
        (3, "zh-Hant", True, {"trade": "construction", "workplace": "南山街道"}),
        (4, None, True, {}),  # never chose a language: counts as the default
        (5, "zh-Hans", False, {"member_number": "GH-002"}),  # no consent: never
    ]
    for telegram_id, language, consented, profile in rows:
        await storage.ensure_worker(telegram_id, language=language)
        if consented:
            await storage.record_consent(telegram_id, "test")
        if profile:
            await storage.update_worker_profile(telegram_id, profile)
    case = await storage.create_case(NewCase(kind=CaseKind.WAGES, worker_id=3, fields={}))
    assert case.status == CaseStatus.NEW
    closed = await storage.create_case(NewCase(kind=CaseKind.WAGES, worker_id=4, fields={}))
    await storage.change_case_status(
        closed.id, expected=CaseStatus.NEW, new=CaseStatus.WITHDRAWN, actor_id=4, actor_role="worker"
    )


async def _broadcast(storage: SQLiteStorage, clock: FakeClock, audience: Audience | None = None) -> Broadcast:
    return await storage.create_broadcast(
        NewBroadcast(
            created_by=2003,
            texts={"zh-Hans": "培训通知"},
            audience=audience or Audience(kind=AudienceKind.EVERYONE),
            schedule=Schedule(kind=ScheduleKind.ONCE, at=clock.now()),
            next_run_at=clock.now(),
        )
    )


async def _recipients(storage: SQLiteStorage, clock: FakeClock, audience: Audience) -> set[int]:
    broadcast = await _broadcast(storage, clock, audience)
    occurrence = await storage.start_broadcast_occurrence(
        broadcast.id, run_at=clock.now(), next_run_at=None, default_language="zh-Hans"
    )
    assert occurrence is not None
    rows = await storage.pending_broadcast_deliveries(occurrence.id, limit=100)
    return {row.worker_id for row in rows}


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (AudienceKind.EVERYONE, None, {1, 2, 3, 4}),
        (AudienceKind.MEMBERS, None, {1}),
        (AudienceKind.LANGUAGE, "zh-Hans", {1, 4}),
        (AudienceKind.LANGUAGE, "en", {2}),
        (AudienceKind.TRADE, "construction", {1, 3}),
        (AudienceKind.REGION, "城关镇", {1}),
        (AudienceKind.REGION, "chengguan", {2}),  # any case
        (AudienceKind.REGION, "100%", set()),  # literal text, not a pattern
        (AudienceKind.OPEN_CASE, None, {3}),
    ],
)
async def test_audiences_pick_consented_workers(
    storage: SQLiteStorage, clock: FakeClock, kind: AudienceKind, value: str | None, expected: set[int]
) -> None:
    await _workers(storage)
    audience = Audience(kind=kind, value=value)
    assert await _recipients(storage, clock, audience) == expected
    assert await storage.count_audience(audience, default_language="zh-Hans") == len(expected)


def test_an_audience_needs_a_value_exactly_when_it_names_one() -> None:
    with pytest.raises(ValueError):
        Audience(kind=AudienceKind.REGION)
    with pytest.raises(ValueError):
        Audience(kind=AudienceKind.EVERYONE, value="x")


async def test_unsubscribed_and_blocked_workers_get_skipped_rows(
    storage: SQLiteStorage, clock: FakeClock
) -> None:
    await _workers(storage)
    await storage.set_worker_flags(1, opted_out=True)
    await storage.set_worker_flags(2, blocked=True)
    assert await storage.count_audience(Audience(kind=AudienceKind.EVERYONE), default_language="zh-Hans") == 2
    broadcast = await _broadcast(storage, clock)
    occurrence = await storage.start_broadcast_occurrence(
        broadcast.id, run_at=clock.now(), next_run_at=None, default_language="zh-Hans"
    )
    assert occurrence is not None
    assert {row.worker_id for row in await storage.pending_broadcast_deliveries(occurrence.id, limit=10)} == {
        3,
        4,
    }
    report = await storage.broadcast_report(occurrence.id)
    assert report is not None and (report.pending, report.skipped) == (2, 2)


async def test_an_occurrence_starts_once(storage: SQLiteStorage, clock: FakeClock) -> None:
    await _workers(storage)
    broadcast = await _broadcast(storage, clock)
    assert await storage.due_broadcasts(clock.now()) == [broadcast]
    first = await storage.start_broadcast_occurrence(
        broadcast.id, run_at=clock.now(), next_run_at=None, default_language="zh-Hans"
    )
    again = await storage.start_broadcast_occurrence(
        broadcast.id, run_at=clock.now(), next_run_at=None, default_language="zh-Hans"
    )
    assert first is not None and again is None  # no longer due at that time: nothing added twice
    assert await storage.due_broadcasts(clock.now()) == []
    stored = await storage.get_broadcast(broadcast.id)
    assert stored is not None and (stored.status, stored.next_run_at) == (BroadcastStatus.SENDING, None)
    assert await storage.unfinished_broadcast_occurrences() == [first]


async def test_results_and_the_report(storage: SQLiteStorage, clock: FakeClock) -> None:
    await _workers(storage)
    broadcast = await _broadcast(storage, clock)
    occurrence = await storage.start_broadcast_occurrence(
        broadcast.id, run_at=clock.now(), next_run_at=None, default_language="zh-Hans"
    )
    assert occurrence is not None
    one, two, three, four = await storage.pending_broadcast_deliveries(occurrence.id, limit=10)
    await storage.mark_delivery_sent(one.id)
    await storage.mark_delivery_blocked(two.id)
    assert await storage.record_delivery_failure(three.id, error="TimedOut", give_up=False) == 1
    assert [row.attempts for row in await storage.pending_broadcast_deliveries(occurrence.id, limit=10)] == [
        1,
        0,
    ]
    await storage.record_delivery_failure(three.id, error="bad request", give_up=True)
    assert not await storage.finish_broadcast_occurrence(occurrence.id)  # four is still pending
    await storage.mark_delivery_skipped(four.id, reason="unsubscribed")
    worker = await storage.get_worker(two.worker_id)
    assert worker is not None and worker.blocked

    assert await storage.record_attendance(occurrence.id, one.worker_id) is True
    assert await storage.record_attendance(occurrence.id, one.worker_id) is False
    assert await storage.record_attendance(occurrence.id, two.worker_id) is None  # never got it
    report = await storage.broadcast_report(occurrence.id)
    assert report is not None
    assert (report.sent, report.blocked, report.failed, report.skipped, report.pending, report.attending) == (
        1, 1, 1, 1, 0, 1,
    )  # fmt: skip

    message = OutboxMessage(chat_id=2003, params={"text": "报告"}, dedupe_key=f"report:{occurrence.id}")
    assert await storage.finish_broadcast_occurrence(occurrence.id, outbox=[message])
    assert not await storage.finish_broadcast_occurrence(occurrence.id, outbox=[message])
    assert [item.params["text"] for item in await storage.due_outbox(clock.now())] == ["报告"]
    stored = await storage.get_broadcast(broadcast.id)
    assert stored is not None and stored.status == BroadcastStatus.DONE
    assert await storage.unfinished_broadcast_occurrences() == []
    latest = await storage.latest_broadcast_report(broadcast.id)
    assert latest is not None and latest.finished_at == clock.now()
    # Reach, for /report: the workers it was delivered to, in the period.
    assert (
        await storage.broadcast_reach(clock.now() - timedelta(hours=1), clock.now() + timedelta(hours=1)) == 1
    )
    assert (
        await storage.broadcast_reach(clock.now() + timedelta(hours=1), clock.now() + timedelta(hours=2)) == 0
    )


async def test_a_recurring_broadcast_goes_back_to_scheduled(storage: SQLiteStorage, clock: FakeClock) -> None:
    await _workers(storage)
    broadcast = await _broadcast(storage, clock)
    week = clock.now() + timedelta(days=7)
    occurrence = await storage.start_broadcast_occurrence(
        broadcast.id, run_at=clock.now(), next_run_at=week, default_language="zh-Hans"
    )
    assert occurrence is not None
    for row in await storage.pending_broadcast_deliveries(occurrence.id, limit=10):
        await storage.mark_delivery_sent(row.id)
    assert await storage.finish_broadcast_occurrence(occurrence.id)
    stored = await storage.get_broadcast(broadcast.id)
    assert stored is not None and (stored.status, stored.next_run_at) == (BroadcastStatus.SCHEDULED, week)


async def test_cancelling_skips_what_is_pending(storage: SQLiteStorage, clock: FakeClock) -> None:
    await _workers(storage)
    broadcast = await _broadcast(storage, clock)
    occurrence = await storage.start_broadcast_occurrence(
        broadcast.id,
        run_at=clock.now(),
        next_run_at=clock.now() + timedelta(days=1),
        default_language="zh-Hans",
    )
    assert occurrence is not None
    first = (await storage.pending_broadcast_deliveries(occurrence.id, limit=1))[0]
    await storage.mark_delivery_sent(first.id)

    cancelled = await storage.cancel_broadcast(broadcast.id)
    assert (cancelled.status, cancelled.next_run_at) == (BroadcastStatus.CANCELLED, None)
    assert await storage.pending_broadcast_deliveries(occurrence.id, limit=10) == []
    assert await storage.unfinished_broadcast_occurrences() == []
    report = await storage.broadcast_report(occurrence.id)
    assert report is not None and (report.sent, report.skipped) == (1, 3)
    assert (await storage.cancel_broadcast(broadcast.id)).status == BroadcastStatus.CANCELLED
    with pytest.raises(StorageError):
        await storage.cancel_broadcast(999)


async def test_deleting_a_worker_deletes_their_delivery_rows(tmp_path: Path, clock: FakeClock) -> None:
    """The privacy rules may delete a worker; their broadcast rows must not stand in the way."""
    storage = SQLiteStorage(str(tmp_path / "bot.db"), now=clock.now)
    await storage.open()
    try:
        await _workers(storage)
        broadcast = await _broadcast(storage, clock)
        occurrence = await storage.start_broadcast_occurrence(
            broadcast.id, run_at=clock.now(), next_run_at=None, default_language="zh-Hans"
        )
        assert occurrence is not None
        async with storage._write() as conn:  # as a privacy purge would, inside storage
            await conn.execute("DELETE FROM workers WHERE telegram_id = 1")
        rows = await storage.pending_broadcast_deliveries(occurrence.id, limit=10)
        assert {row.worker_id for row in rows} == {2, 3, 4}
    finally:
        await storage.close()


async def test_rows_are_read_in_batches(storage: SQLiteStorage, clock: FakeClock) -> None:
    await _workers(storage)
    broadcast = await _broadcast(storage, clock)
    occurrence = await storage.start_broadcast_occurrence(
        broadcast.id, run_at=clock.now(), next_run_at=None, default_language="zh-Hans"
    )
    assert occurrence is not None
    batch = await storage.pending_broadcast_deliveries(occurrence.id, limit=2)
    assert [row.worker_id for row in batch] == [1, 2]
    assert batch[0].language == "zh-Hans" and batch[1].language == "en"
