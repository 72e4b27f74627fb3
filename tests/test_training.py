"""Trainings in storage: seats, the waiting list, reminders' bookkeeping, forgetting, and the migration."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiosqlite
import pytest
from pydantic import ValidationError

from bot.core.clock import FakeClock
from flows.training import describe_training, is_for
from storage.base import SignupRefused, StorageError
from storage.migrations import MIGRATIONS, migrate
from storage.models import (
    NewTraining,
    OutboxMessage,
    SignupRefusal,
    SignupStatus,
    Training,
    TrainingReminder,
    TrainingStatus,
)
from storage.sqlite import SQLiteStorage

WORKERS = (1001, 1002, 1003, 1004)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["file", "memory"])
async def storage(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[SQLiteStorage]:
    database = str(tmp_path / "bot.db") if request.param == "file" else ":memory:"
    store = SQLiteStorage(database, now=clock.now)
    await store.open()
    for worker in WORKERS:
        await store.ensure_worker(worker)
    yield store
    await store.close()


def _training(clock: FakeClock, *, seats: int = 2, **changes: object) -> NewTraining:
    starts = clock.now() + timedelta(days=3)
    fields: dict[str, object] = {
        "titles": {"zh-Hans": "劳动法讲座", "en": "Labour law class"},
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=2),
        "place": "工会活动室",
        "seats": seats,
        "signup_deadline": starts - timedelta(days=1),
    }
    return NewTraining.model_validate({**fields, **changes})


async def test_a_training_is_stored_and_listed_soonest_first(
    storage: SQLiteStorage, clock: FakeClock
) -> None:
    later = await storage.create_training(
        _training(
            clock, starts_at=clock.now() + timedelta(days=9), ends_at=clock.now() + timedelta(days=9, hours=1)
        )
    )
    sooner = await storage.create_training(
        _training(clock, latitude=22.54, longitude=114.06, trade="construction")
    )

    assert sooner.titles == {"zh-Hans": "劳动法讲座", "en": "Labour law class"}
    assert sooner.status == TrainingStatus.OPEN and sooner.seats_taken == 0
    assert sooner.has_location and not later.has_location
    assert sooner.trade == "construction" and sooner.region is None
    assert await storage.get_training(sooner.id) == sooner
    assert [t.id for t in await storage.list_trainings()] == [sooner.id, later.id]
    assert [t.id for t in await storage.list_trainings(starting_after=sooner.starts_at)] == [later.id]
    assert await storage.get_training(9999) is None


def test_a_training_that_makes_no_sense_is_refused(clock: FakeClock) -> None:
    starts = clock.now() + timedelta(days=3)
    for changes in (
        {"ends_at": starts},  # ends when it starts
        {"signup_deadline": starts + timedelta(minutes=1)},  # sign-up after the start
        {"latitude": 22.5},  # half a location
        {"seats": 0},
        {"titles": {}},
        {"titles": {"zh-Hans": "  "}},
        {"starts_at": starts.replace(tzinfo=None)},  # naive time
    ):
        with pytest.raises(ValidationError):
            _training(clock, **changes)


async def test_seats_fill_then_the_waiting_list_grows_in_order(
    storage: SQLiteStorage, clock: FakeClock
) -> None:
    training = await storage.create_training(_training(clock, seats=2))

    first, second, third, fourth = [await storage.sign_up(training.id, worker) for worker in WORKERS]

    assert (first.status, second.status) == (SignupStatus.CONFIRMED, SignupStatus.CONFIRMED)
    assert (third.status, third.position) == (SignupStatus.WAITING, 1)
    assert (fourth.status, fourth.position) == (SignupStatus.WAITING, 2)
    assert first.position is None and first.confirmed_at == clock.now()
    stored = await storage.get_training(training.id)
    assert stored is not None and stored.seats_taken == 2
    assert [s.worker_id for s in await storage.list_signups(training.id)] == list(WORKERS)


async def test_signing_up_twice_changes_nothing(storage: SQLiteStorage, clock: FakeClock) -> None:
    training = await storage.create_training(_training(clock, seats=1))
    seat = await storage.sign_up(training.id, WORKERS[0])
    waiting = await storage.sign_up(training.id, WORKERS[1])
    clock.advance(timedelta(minutes=5))

    assert await storage.sign_up(training.id, WORKERS[0]) == seat
    assert await storage.sign_up(training.id, WORKERS[1]) == waiting
    assert len(await storage.list_signups(training.id)) == 2


async def test_cancelling_a_seat_moves_the_first_waiting_worker_up(
    storage: SQLiteStorage, clock: FakeClock
) -> None:
    training = await storage.create_training(_training(clock, seats=1))
    for worker in WORKERS[:3]:
        await storage.sign_up(training.id, worker)
    clock.advance(timedelta(hours=1))

    cancellation = await storage.cancel_signup(training.id, WORKERS[0])

    assert cancellation is not None
    assert cancellation.signup.status == SignupStatus.CANCELLED
    promoted = cancellation.promoted
    assert promoted is not None and promoted.worker_id == WORKERS[1]
    assert promoted.status == SignupStatus.CONFIRMED and promoted.promoted_at == clock.now()
    still_waiting = await storage.get_signup(training.id, WORKERS[2])
    assert still_waiting is not None and still_waiting.position == 1
    # The promoted worker is to be told, once.
    notices = await storage.due_promotion_notices()
    assert [(n.signup.worker_id, n.training.id) for n in notices] == [(WORKERS[1], training.id)]
    message = OutboxMessage(chat_id=WORKERS[1], params={"text": "seat"})
    assert await storage.mark_promotion_told(promoted.id, outbox=[message])
    assert not await storage.mark_promotion_told(promoted.id, outbox=[message])
    assert await storage.due_promotion_notices() == []
    queued = await storage.due_outbox(clock.now())
    assert [(item.chat_id, item.params) for item in queued] == [(WORKERS[1], {"text": "seat"})]


async def test_cancelling_a_waiting_place_promotes_nobody(storage: SQLiteStorage, clock: FakeClock) -> None:
    training = await storage.create_training(_training(clock, seats=1))
    for worker in WORKERS[:3]:
        await storage.sign_up(training.id, worker)

    cancellation = await storage.cancel_signup(training.id, WORKERS[1])

    assert cancellation is not None and cancellation.promoted is None
    last = await storage.get_signup(training.id, WORKERS[2])
    assert last is not None and last.position == 1
    assert await storage.cancel_signup(training.id, WORKERS[1]) is None  # nothing left to cancel
    assert await storage.cancel_signup(training.id, WORKERS[3]) is None  # never signed up


async def test_signing_up_again_after_cancelling_goes_to_the_end(
    storage: SQLiteStorage, clock: FakeClock
) -> None:
    training = await storage.create_training(_training(clock, seats=1))
    for worker in WORKERS[:3]:
        await storage.sign_up(training.id, worker)
    await storage.cancel_signup(training.id, WORKERS[1])

    again = await storage.sign_up(training.id, WORKERS[1])

    assert (again.status, again.position) == (SignupStatus.WAITING, 2)


async def test_sign_up_is_refused_after_the_deadline_and_on_cancelled_trainings(
    storage: SQLiteStorage, clock: FakeClock
) -> None:
    training = await storage.create_training(_training(clock))
    other = await storage.create_training(_training(clock))
    await storage.sign_up(training.id, WORKERS[0])
    await storage.sign_up(training.id, WORKERS[3])
    clock.set(training.signup_deadline)

    with pytest.raises(SignupRefused) as refused:
        await storage.sign_up(training.id, WORKERS[1])
    assert refused.value.reason == SignupRefusal.DEADLINE_PASSED
    # Who already has a seat keeps it, and may still give it up until the start.
    assert (await storage.sign_up(training.id, WORKERS[0])).status == SignupStatus.CONFIRMED
    assert await storage.cancel_signup(training.id, WORKERS[0]) is not None

    cancelled = await storage.cancel_training(other.id)
    assert cancelled.status == TrainingStatus.CANCELLED
    with pytest.raises(SignupRefused) as refused:
        await storage.sign_up(other.id, WORKERS[1])
    assert refused.value.reason == SignupRefusal.CANCELLED
    with pytest.raises(SignupRefused) as refused:
        await storage.sign_up(9999, WORKERS[1])
    assert refused.value.reason == SignupRefusal.NO_TRAINING

    clock.set(training.starts_at)
    with pytest.raises(SignupRefused) as refused:
        await storage.cancel_signup(training.id, WORKERS[3])
    assert refused.value.reason == SignupRefusal.STARTED


async def test_cancelling_a_training_queues_its_news_once(storage: SQLiteStorage, clock: FakeClock) -> None:
    training = await storage.create_training(_training(clock))
    news = [OutboxMessage(chat_id=WORKERS[0], params={"text": "called off"})]

    await storage.cancel_training(training.id, outbox=news)
    await storage.cancel_training(training.id, outbox=news)

    assert len(await storage.due_outbox(clock.now())) == 1
    assert await storage.list_trainings() == []
    assert [t.id for t in await storage.list_trainings(include_cancelled=True)] == [training.id]
    with pytest.raises(StorageError):
        await storage.cancel_training(9999)


async def test_seats_hold_when_many_sign_up_at_once(storage: SQLiteStorage, clock: FakeClock) -> None:
    for worker in range(2000, 2010):
        await storage.ensure_worker(worker)
    training = await storage.create_training(_training(clock, seats=3))

    signups = await asyncio.gather(*(storage.sign_up(training.id, worker) for worker in range(2000, 2010)))

    assert sum(s.status == SignupStatus.CONFIRMED for s in signups) == 3
    assert sorted(s.position for s in signups if s.position is not None) == list(range(1, 8))


async def test_attendance_is_marked_on_sign_ups_only(storage: SQLiteStorage, clock: FakeClock) -> None:
    training = await storage.create_training(_training(clock))
    await storage.sign_up(training.id, WORKERS[0])
    await storage.sign_up(training.id, WORKERS[1])
    await storage.cancel_signup(training.id, WORKERS[1])

    marked = await storage.mark_attendance(training.id, WORKERS[0], True)
    assert marked.attended is True
    assert (await storage.mark_attendance(training.id, WORKERS[0], False)).attended is False
    with pytest.raises(StorageError):
        await storage.mark_attendance(training.id, WORKERS[1], True)  # cancelled
    with pytest.raises(StorageError):
        await storage.mark_attendance(training.id, WORKERS[2], True)  # never signed up


async def test_a_workers_trainings_come_with_their_sign_ups(storage: SQLiteStorage, clock: FakeClock) -> None:
    first = await storage.create_training(_training(clock))
    second = await storage.create_training(
        _training(
            clock, starts_at=clock.now() + timedelta(days=5), ends_at=clock.now() + timedelta(days=5, hours=3)
        )
    )
    await storage.sign_up(second.id, WORKERS[0])
    await storage.sign_up(first.id, WORKERS[0])
    await storage.mark_attendance(first.id, WORKERS[0], True)

    mine = await storage.list_worker_trainings(WORKERS[0])

    assert [(item.training.id, item.signup.attended) for item in mine] == [
        (first.id, True),
        (second.id, None),
    ]
    assert mine[0].training.seats_taken == 1
    assert await storage.list_worker_trainings(WORKERS[1]) == []


async def test_reminders_are_due_for_confirmed_seats_once(storage: SQLiteStorage, clock: FakeClock) -> None:
    training = await storage.create_training(_training(clock, seats=1))
    cancelled = await storage.create_training(_training(clock, seats=1))
    await storage.sign_up(training.id, WORKERS[0])
    await storage.sign_up(training.id, WORKERS[1])  # waiting: no reminder
    await storage.sign_up(cancelled.id, WORKERS[2])
    await storage.cancel_training(cancelled.id)
    day = TrainingReminder.DAY_BEFORE

    now = clock.now()
    assert await storage.due_training_reminders(day, starts_before=now + timedelta(hours=24), now=now) == []
    clock.set(training.starts_at - timedelta(hours=24))
    now = clock.now()
    due = await storage.due_training_reminders(day, starts_before=now + timedelta(hours=24), now=now)
    assert [(item.signup.worker_id, item.training.id) for item in due] == [(WORKERS[0], training.id)]

    reminder = OutboxMessage(chat_id=WORKERS[0], params={"text": "tomorrow"})
    assert await storage.mark_training_reminder(due[0].signup.id, day, outbox=[reminder])
    assert not await storage.mark_training_reminder(due[0].signup.id, day, outbox=[reminder])
    assert await storage.due_training_reminders(day, starts_before=now + timedelta(hours=24), now=now) == []
    # The other reminder is bookkept apart.
    soon = await storage.due_training_reminders(
        TrainingReminder.SOON, starts_before=now + timedelta(hours=24), now=now
    )
    assert [item.signup.worker_id for item in soon] == [WORKERS[0]]
    assert len(await storage.due_outbox(clock.now())) == 1
    # Nothing once it has started.
    later = training.starts_at
    assert (
        await storage.due_training_reminders(
            TrainingReminder.SOON, starts_before=later + timedelta(hours=2), now=later
        )
        == []
    )


async def test_a_reminder_is_not_recorded_for_a_seat_given_up_meanwhile(
    storage: SQLiteStorage, clock: FakeClock
) -> None:
    training = await storage.create_training(_training(clock))
    signup = await storage.sign_up(training.id, WORKERS[0])
    await storage.cancel_signup(training.id, WORKERS[0])

    message = OutboxMessage(chat_id=WORKERS[0], params={"text": "tomorrow"})
    assert not await storage.mark_training_reminder(signup.id, TrainingReminder.DAY_BEFORE, outbox=[message])
    assert await storage.due_outbox(clock.now()) == []


async def test_forgetting_a_worker_removes_their_sign_ups_and_frees_the_seat(
    storage: SQLiteStorage, clock: FakeClock
) -> None:
    training = await storage.create_training(_training(clock, seats=1))
    await storage.sign_up(training.id, WORKERS[0])
    await storage.sign_up(training.id, WORKERS[1])

    await storage.forget_worker(WORKERS[0])

    signups = await storage.list_signups(training.id)
    assert [(s.worker_id, s.status) for s in signups] == [(WORKERS[1], SignupStatus.CONFIRMED)]
    assert [n.signup.worker_id for n in await storage.due_promotion_notices()] == [WORKERS[1]]
    assert await storage.list_worker_trainings(WORKERS[0]) == []


async def test_inactive_workers_lose_their_sign_ups(storage: SQLiteStorage, clock: FakeClock) -> None:
    training = await storage.create_training(_training(clock, seats=1))
    await storage.sign_up(training.id, WORKERS[0])
    clock.advance(timedelta(days=400))
    await storage.ensure_worker(WORKERS[3])

    erased = await storage.erase_inactive_workers(clock.now() - timedelta(days=365))

    assert WORKERS[0] in erased
    assert await storage.list_worker_trainings(WORKERS[0]) == []


async def test_the_trainings_migration_upgrades_an_older_database(tmp_path: Path, clock: FakeClock) -> None:
    db_path = tmp_path / "bot.db"
    trainings = next(m for m in MIGRATIONS if m.name == "trainings")
    async with aiosqlite.connect(db_path, isolation_level=None) as conn:
        await migrate(conn, clock.now(), migrations=MIGRATIONS[: trainings.version - 1])
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute(
            "INSERT INTO broadcasts (texts, audience, schedule, created_at, updated_at)"
            " VALUES ('{}', '{}', '{}', '2026-01-01', '2026-01-01')"
        )

    store = SQLiteStorage(str(db_path), now=clock.now)
    await store.open()
    try:
        assert await store.schema_version() >= trainings.version
        await store.ensure_worker(WORKERS[0])
        training = await store.create_training(_training(clock))
        assert (await store.sign_up(training.id, WORKERS[0])).status == SignupStatus.CONFIRMED
    finally:
        await store.close()
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("SELECT training_id FROM broadcasts").fetchall() == [(None,)]
        with pytest.raises(sqlite3.IntegrityError):  # one sign-up per worker and training
            conn.execute(
                "INSERT INTO training_signups (training_id, worker_id, status, queue_number, created_at,"
                " updated_at) VALUES (?, ?, 'waiting', 9, 'x', 'x')",
                (training.id, WORKERS[0]),
            )


# -- what a worker reads of a training (flows/training.py) ------------------------------------------------

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _stored(clock: FakeClock, **changes: object) -> Training:
    new = _training(clock, **changes)
    return Training(
        id=7,
        **new.model_dump(),
        status=TrainingStatus.OPEN,
        created_at=clock.now(),
        updated_at=clock.now(),
    )


def test_the_card_escapes_what_the_admin_typed_and_falls_back_to_chinese(clock: FakeClock) -> None:
    training = _stored(
        clock,
        titles={"zh-Hans": "<b>劳动法</b> & 你"},
        place="A<B>",
        allowance_note="50 & more",
        starts_at=datetime(2026, 1, 8, 1, 0, tzinfo=UTC),
        ends_at=datetime(2026, 1, 8, 3, 0, tzinfo=UTC),
        signup_deadline=datetime(2026, 1, 7, 10, 0, tzinfo=UTC),
    )

    card = describe_training(training, language="en", zone=SHANGHAI, seats_taken=1)

    assert card.splitlines() == [
        "<b>&lt;b&gt;劳动法&lt;/b&gt; &amp; 你</b>",
        "🕘 Time: Thu, Jan 8 09:00–11:00",
        "📍 Place: A&lt;B&gt;",
        "👥 Seats left: 1 of 2",
        "💴 Allowance: 50 &amp; more",
        "⏰ Sign up by: Wed, Jan 7 18:00",
    ]


def test_the_card_in_traditional_chinese_a_full_training_over_two_days(clock: FakeClock) -> None:
    training = _stored(
        clock,
        starts_at=datetime(2026, 1, 8, 1, 0, tzinfo=UTC),
        ends_at=datetime(2026, 1, 9, 9, 0, tzinfo=UTC),
        signup_deadline=datetime(2026, 1, 7, 10, 0, tzinfo=UTC),
        trade="construction",
    )

    card = describe_training(training, language="zh-Hant", zone=SHANGHAI, seats_taken=2).splitlines()

    assert card[1] == "🕘 時間：1月8日週四 09:00 至 1月9日週五 17:00"
    assert "👥 名額已滿：可以報名候補" in card
    assert any(line.startswith("👷 適合行業：") for line in card)


def test_audience_only_leaves_out_what_the_worker_told_us(clock: FakeClock) -> None:
    for_builders = _stored(clock, trade="construction")
    in_longgang = _stored(clock, region="龙岗")

    assert is_for(for_builders, {"trade": "construction"})
    assert not is_for(for_builders, {"trade": "logistics"})
    assert is_for(for_builders, {})  # trade unknown: shown
    assert is_for(in_longgang, {"workplace": "深圳市龙岗区某工地"})
    assert not is_for(in_longgang, {"workplace": "宝安区"})
    assert is_for(in_longgang, {"workplace": "  "})  # workplace unknown: shown
    assert is_for(_stored(clock), {"trade": "mining", "workplace": "anywhere"})
