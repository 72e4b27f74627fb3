"""The SLA sweep, moving the clock: warning at 75%, breach, repeats, escalation, quiet hours, pauses.

The sandbox's clock starts on Monday 2026-01-05 09:00 UTC, 17:00 in Asia/Shanghai; quiet hours are
22:00-07:00 there, which is 14:00-23:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.app import UnionApplication
from bot.core.clock import FakeClock
from bot.sandbox.server import Person
from bot.sandbox.session import ADMIN_ID, BACKUP_ID, OFFICER_ID, WORKER_ID
from storage.models import Case, CaseKind, CaseStatus, NewCase, Priority

MONDAY_9 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def people(wang: Person, chen: Person, admin: Person, worker: Person) -> dict[int, Person]:
    """The primary, backup and admin of every case here (created directly: the flows are tested elsewhere).

    The worker has a chat too: news about their case must reach them (a message given up would be
    reported to the admins).
    """
    return {
        OFFICER_ID: wang,
        BACKUP_ID: chen,
        ADMIN_ID: admin,
    }


async def _case(bot: UnionApplication, priority: Priority = Priority.NORMAL) -> Case:
    await bot.storage.ensure_worker(WORKER_ID, language="zh-Hans")
    return await bot.storage.create_case(
        NewCase(
            kind=CaseKind.WAGES,
            worker_id=WORKER_ID,
            priority=priority,
            fields={"employer": "宏达劳务", "workers_affected": 5 if priority == Priority.HIGH else 1},
            assignee_id=OFFICER_ID,
            backup_id=BACKUP_ID,
        )
    )


async def _sweep_at(bot: UnionApplication, clock: FakeClock, moment: datetime) -> None:
    clock.set(moment)
    await bot.run_schedules()


def _texts(person: Person) -> list[str]:
    """The reminders a person got (the morning digest also arrives in these tests: not counted)."""
    return [message.text or "" for message in person.messages if (message.text or "").startswith(("⏰", "⚠️"))]


async def _wait_for(person: Person, count: int) -> list[str]:
    """The person's reminders once there are ``count`` of them (the outbox sends on its own thread)."""
    if count:
        await person.next_message(lambda _: len(_texts(person)) >= count, since=0)
    return _texts(person)


async def test_a_routine_case_is_warned_at_75_percent_then_reminded_at_the_breach(
    bot: UnionApplication, clock: FakeClock, people: dict[int, Person]
) -> None:
    await _case(bot)  # 09:00 UTC: first response due 13:00, warning at 12:00
    wang = people[OFFICER_ID]

    await _sweep_at(bot, clock, MONDAY_9.replace(hour=11, minute=59))
    assert _texts(wang) == []
    await _sweep_at(bot, clock, MONDAY_9.replace(hour=12))
    [warning] = await _wait_for(wang, 1)
    assert warning.startswith("⏰ 提醒：W-000001（欠薪）需要在1小时内首次回应。")
    assert "✋ 接手" in next(m for m in wang.messages if m.text == warning).button_labels
    await _sweep_at(bot, clock, MONDAY_9.replace(hour=12, minute=30))  # nothing new before the breach
    await _sweep_at(bot, clock, MONDAY_9.replace(hour=13))
    texts = await _wait_for(wang, 2)
    assert texts[1].startswith("⚠️ 已超时1分钟：W-000001（欠薪）还需要首次回应。")
    await bot.run_schedules()  # the same moment again: nothing twice
    await bot.outbox.send_due()
    assert len(_texts(wang)) == 2
    assert _texts(people[BACKUP_ID]) == [] and _texts(people[ADMIN_ID]) == []

    case = await bot.storage.get_case_by_reference("W-000001")
    assert case is not None and case.first_response_due_at == MONDAY_9.replace(hour=13)


async def test_routine_reminders_wait_for_the_morning_and_collective_ones_do_not(
    bot: UnionApplication, clock: FakeClock, people: dict[int, Person]
) -> None:
    clock.set(MONDAY_9.replace(hour=13, minute=30))  # 21:30 in Shanghai
    await _case(bot)  # due 17:30 UTC (01:30 local), warning at 16:30 UTC (00:30 local): quiet
    await _case(bot, Priority.HIGH)  # collective: due 14:30 UTC, warning 14:15 UTC (22:15 local)
    wang = people[OFFICER_ID]

    await _sweep_at(bot, clock, MONDAY_9.replace(hour=14, minute=15))
    [collective] = await _wait_for(wang, 1)
    assert "W-000002" in collective and "群体性案件" in collective
    await _sweep_at(bot, clock, MONDAY_9.replace(hour=18))  # 02:00 local: the routine case is late
    assert not any("W-000001" in text for text in _texts(wang))

    await _sweep_at(bot, clock, MONDAY_9.replace(hour=22, minute=59))
    assert not any("W-000001" in text for text in _texts(wang))
    await _sweep_at(bot, clock, MONDAY_9.replace(hour=23))  # 07:00 local
    morning = next(text for text in await _wait_for(wang, 2) if "W-000001" in text)
    # One reminder saying how late it is, not the night's worth in a burst.
    assert morning.startswith("⚠️ 已超时5.5小时：W-000001")
    assert sum("W-000001" in text for text in _texts(wang)) == 1


async def test_unanswered_reminders_escalate_to_the_backup_then_the_admins(
    bot: UnionApplication, clock: FakeClock, people: dict[int, Person]
) -> None:
    await _case(bot, Priority.HIGH)  # collective: due 10:00, never quiet; remind every 2h
    wang, chen, boss = people[OFFICER_ID], people[BACKUP_ID], people[ADMIN_ID]

    for hour, minute in ((9, 45), (10, 0), (12, 0)):  # warning, reminders 1 and 2: the officer only
        await _sweep_at(bot, clock, MONDAY_9.replace(hour=hour, minute=minute))
    await _wait_for(wang, 3)
    assert _texts(chen) == [] and _texts(boss) == []

    await _sweep_at(bot, clock, MONDAY_9.replace(hour=14))  # reminder 3: the backup too
    [to_backup] = await _wait_for(chen, 1)
    assert "您是替补。王干事还没有处理：请接手这个案件。" in to_backup
    await _sweep_at(bot, clock, MONDAY_9.replace(hour=16))  # reminder 4
    await _wait_for(chen, 2)
    assert _texts(boss) == []

    await _sweep_at(bot, clock, MONDAY_9.replace(hour=18))  # reminder 5: the admins too
    [to_admin] = await _wait_for(boss, 1)
    assert "这个案件一直没人处理。请接手或改派。" in to_admin and "已超时8小时" in to_admin
    assert len(await _wait_for(wang, 6)) == 6  # warning and five reminders

    # The backup takes it over from the reminder: the reminders stop.
    chen.press("✋ 接手")
    await chen.next_message(lambda m: "您已接手" in (m.text or ""))
    for hour in (20, 22):
        await _sweep_at(bot, clock, MONDAY_9.replace(hour=hour))
    await bot.outbox.send_due()
    assert len(_texts(boss)) == 1 and len(_texts(chen)) == 3


async def test_waiting_for_the_worker_pauses_the_clock(
    bot: UnionApplication, clock: FakeClock, people: dict[int, Person]
) -> None:
    case = await _case(bot)
    storage = bot.storage
    await storage.change_case_status(
        case.id,
        expected=CaseStatus.NEW,
        new=CaseStatus.IN_PROGRESS,
        actor_id=OFFICER_ID,
        actor_role="officer",
    )
    await storage.change_case_status(
        case.id,
        expected=CaseStatus.IN_PROGRESS,
        new=CaseStatus.WAITING_FOR_WORKER,
        actor_id=OFFICER_ID,
        actor_role="officer",
    )
    await bot.run_schedules()

    await _sweep_at(bot, clock, MONDAY_9 + timedelta(days=10))  # far past any deadline: no reminder
    await bot.outbox.send_due()
    assert _texts(people[OFFICER_ID]) == []

    # The worker answers on day 10; the 3 days for an update count from then.
    await storage.change_case_status(
        case.id,
        expected=CaseStatus.WAITING_FOR_WORKER,
        new=CaseStatus.IN_PROGRESS,
        actor_id=WORKER_ID,
        actor_role="worker",
    )
    await _sweep_at(bot, clock, MONDAY_9 + timedelta(days=12, hours=1))  # before the 75% warning (2.25 d)
    await bot.outbox.send_due()
    assert _texts(people[OFFICER_ID]) == []
    await _sweep_at(bot, clock, MONDAY_9 + timedelta(days=13, hours=1))  # 3 days and 1 hour later: late
    [reminder] = await _wait_for(people[OFFICER_ID], 1)
    assert reminder.startswith("⚠️ 已超时1小时：W-000001（欠薪）还需要跟进（已有一段时间没有处理）。")


async def test_an_officer_action_starts_a_new_period_and_a_resolved_case_is_left_alone(
    bot: UnionApplication, clock: FakeClock, people: dict[int, Person]
) -> None:
    case = await _case(bot)
    storage = bot.storage
    clock.set(MONDAY_9.replace(hour=10))
    await storage.change_case_status(
        case.id,
        expected=CaseStatus.NEW,
        new=CaseStatus.ACKNOWLEDGED,
        actor_id=OFFICER_ID,
        actor_role="officer",
    )
    await _sweep_at(bot, clock, MONDAY_9.replace(hour=13, minute=5))  # the first response came in time
    stored = await storage.get_case(case.id)
    assert stored is not None and stored.next_update_due_at == MONDAY_9.replace(hour=10) + timedelta(days=3)
    await storage.change_case_status(
        case.id,
        expected=CaseStatus.ACKNOWLEDGED,
        new=CaseStatus.RESOLVED,
        actor_id=OFFICER_ID,
        actor_role="officer",
    )
    await _sweep_at(bot, clock, MONDAY_9 + timedelta(days=30))
    await bot.outbox.send_due()
    assert _texts(people[OFFICER_ID]) == []
    stored = await storage.get_case(case.id)
    assert stored is not None and stored.remind_at is None
    assert await storage.due_for_review(MONDAY_9 + timedelta(days=365)) == []
