"""Morning digests and the Monday report, with figures checked against a known week of cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from bot.app import UnionApplication
from bot.core.clock import FakeClock
from bot.reports.figures import period_figures
from bot.sandbox.server import Person
from bot.sandbox.session import ADMIN_ID, BACKUP_ID, OFFICER_ID, WORKER_ID
from storage.models import CaseKind, CaseStatus, NewCase, OfficerIn, Outcome, Priority, Resolution

# Monday 2026-01-05 08:00 in Asia/Shanghai: the digest time; last week is Dec 29 – Jan 4 there.
MONDAY_8 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
LAST_MONDAY = MONDAY_8 - timedelta(days=7)


@pytest.fixture
def people(wang: Person, chen: Person, admin: Person) -> dict[int, Person]:
    return {
        OFFICER_ID: wang,
        BACKUP_ID: chen,
        ADMIN_ID: admin,
    }


async def _known_week(bot: UnionApplication, clock: FakeClock) -> None:
    """Four cases filed last week: two answered in time, one late, one never; three resolved."""
    storage = bot.storage
    await storage.ensure_worker(WORKER_ID, language="zh-Hans")

    async def filed(at: datetime, kind: CaseKind, priority: Priority = Priority.NORMAL) -> int:
        clock.set(at)
        case = await storage.create_case(
            NewCase(
                kind=kind,
                worker_id=WORKER_ID,
                priority=priority,
                fields={},
                assignee_id=OFFICER_ID,
                backup_id=None,
            )
        )
        return case.id

    async def acknowledged(case_id: int, at: datetime) -> None:
        clock.set(at)
        await storage.change_case_status(
            case_id,
            expected=CaseStatus.NEW,
            new=CaseStatus.IN_PROGRESS,
            actor_id=OFFICER_ID,
            actor_role="officer",
        )

    async def resolved(case_id: int, at: datetime, resolution: Resolution) -> None:
        clock.set(at)
        await storage.resolve_case(
            case_id,
            expected=CaseStatus.IN_PROGRESS,
            resolution=resolution,
            actor_id=OFFICER_ID,
            actor_role="officer",
        )

    tuesday = LAST_MONDAY + timedelta(days=1, hours=2)
    wages = await filed(tuesday, CaseKind.WAGES)
    await acknowledged(wages, tuesday + timedelta(hours=1))  # in time (4 h)
    await resolved(
        wages,
        tuesday + timedelta(days=2),
        Resolution(outcome=Outcome.RECOVERED_FULL, amount_recovered=Decimal(8500), workers_helped=1),
    )
    group = await filed(tuesday + timedelta(days=1), CaseKind.WAGES, Priority.HIGH)
    await acknowledged(group, tuesday + timedelta(days=1, hours=2))  # late (1 h for collective cases)
    await resolved(
        group,
        tuesday + timedelta(days=3),
        Resolution(outcome=Outcome.RECOVERED_PART, amount_recovered=Decimal(4000), workers_helped=5),
    )
    member = await filed(tuesday + timedelta(days=2), CaseKind.MEMBERSHIP)
    await acknowledged(member, tuesday + timedelta(days=2, minutes=30))
    await resolved(
        member,
        tuesday + timedelta(days=2, hours=1),
        Resolution(outcome=Outcome.MEMBERSHIP_APPROVED, member_number="2026-00003"),
    )
    await filed(tuesday + timedelta(days=4), CaseKind.LEGAL)  # never answered: late, and overdue now
    clock.set(MONDAY_8)
    await filed(MONDAY_8 + timedelta(minutes=1), CaseKind.WAGES)  # this week: not in last week's figures
    clock.set(MONDAY_8)


async def test_the_figures_of_a_known_week(bot: UnionApplication, clock: FakeClock) -> None:
    await _known_week(bot, clock)
    await bot.reminders.run()  # sets the due times that make a case "overdue"

    figures = await period_figures(bot.storage, bot.config.sla, LAST_MONDAY, MONDAY_8, now=MONDAY_8)

    assert figures.new_by_kind == {
        CaseKind.MEMBERSHIP: 1,
        CaseKind.WAGES: 2,
        CaseKind.LEGAL: 1,
        CaseKind.ASSISTANCE: 0,
    }
    assert (figures.new_total, figures.collective, figures.resolved, figures.overdue_now) == (4, 1, 3, 1)
    assert figures.first_response_median == timedelta(hours=1)
    assert (figures.on_time, figures.on_time_counted, figures.on_time_share) == (2, 4, 0.5)
    assert (figures.wages_recovered, figures.workers_helped, figures.new_members) == (Decimal(12500), 6, 1)


async def test_monday_morning_brings_digests_and_the_weekly_report(
    bot: UnionApplication, clock: FakeClock, people: dict[int, Person]
) -> None:
    await _known_week(bot, clock)
    wang, chen, boss = people[OFFICER_ID], people[BACKUP_ID], people[ADMIN_ID]

    clock.set(MONDAY_8 - timedelta(minutes=1))  # 07:59 local: not yet
    await bot.run_schedules()
    assert not any("早上好" in (m.text or "") for m in wang.messages)

    clock.set(MONDAY_8)
    await bot.run_schedules()
    digest = await wang.next_message(lambda m: "早上好" in (m.text or ""), since=0)
    assert digest.text.splitlines() == [
        "☀️ 早上好。您今天的案件：未办结2件，超时1件。",
        "",
        "⚠️ L-000004 · 法律援助 · 新案件",
        "W-000005 · 欠薪 · 新案件",
    ]
    assert digest.button_labels == ["L-000004", "W-000005"]
    report = await boss.next_message(lambda m: "周报" in (m.text or ""), since=0)
    assert report.text.splitlines() == [
        # The Monday report is /report's text for the week before (bot/reports/text.py), for all cases.
        "📊 周报：2025-12-29 至 2026-01-04",
        "全部案件",
        "",
        "新案件：4",
        "  · 入会申请：1",
        "  · 欠薪：2",
        "  · 法律援助：1",
        "  · 申请帮扶：0",
        "群体性案件：1",
        "这些新案件目前的状态：",
        "  · 新案件：1",
        "  · 已办结：3",
        "",
        "已办结：3",
        "转交劳动监察、劳动仲裁、法院或法律援助中心：0",
        "目前超时：1",
        "首次回应用时（中位数）：1小时",
        "办结用时（中位数）：2天",
        "按时处理：50%（4件中2件）",
        "追回欠薪：1.25万元，涉及6名工人",
        "",
        "新会员：1",
        "按行业：",
        "  · —：1",
        "",
        "发放帮扶款：0人，共0元",
        "不符合帮扶条件：0",
        "报上级总工会审批：0",
        "",
        "举办培训：0场",
        "报名：0人次；到场：0人次",
        "培训职工：0人",
        "",
        "群发通知覆盖：暂无记录",
    ]

    # The rest of the day, and a restart, send nothing again; an officer with no cases gets nothing.
    clock.advance(timedelta(hours=10))
    await bot.run_schedules()
    await bot.outbox.send_due()
    assert sum("早上好" in (m.text or "") for m in wang.messages) == 1
    assert sum("周报" in (m.text or "") for m in boss.messages) == 1
    assert not any("早上好" in (m.text or "") for m in chen.messages)

    # Tuesday: a digest again, no weekly report.
    clock.set(MONDAY_8 + timedelta(days=1))
    await bot.run_schedules()
    await wang.next_message(lambda m: "早上好" in (m.text or ""))
    await bot.outbox.send_due()
    assert sum("周报" in (m.text or "") for m in boss.messages) == 1


# -- hardship plans due for review (一人一档) --------------------------------------------------------

TUESDAY_8 = MONDAY_8 + timedelta(days=1)
WEDNESDAY_8 = MONDAY_8 + timedelta(days=2)


async def _plans_due(bot: UnionApplication, clock: FakeClock) -> tuple[int, int]:
    """Wang's worker (an open wages case) to review on Wednesday; the admin's worker (a membership
    application, resolved) on Tuesday. Returns the two case ids."""
    storage = bot.storage
    clock.set(MONDAY_8 + timedelta(hours=2))
    await storage.ensure_worker(WORKER_ID, language="zh-Hans")
    await storage.update_worker_profile(WORKER_ID, {"name": "张<三>", "telegram_name": "小张"})
    wages = await storage.create_case(
        NewCase(kind=CaseKind.WAGES, worker_id=WORKER_ID, fields={}, assignee_id=OFFICER_ID, backup_id=None)
    )
    await storage.set_worker_plan(
        WORKER_ID, updated_by=OFFICER_ID, responsible_id=OFFICER_ID, plan="送温暖", review_on=date(2026, 1, 7)
    )
    await storage.ensure_worker(5001, language="zh-Hans")
    await storage.update_worker_profile(5001, {"telegram_name": "李四"})
    member = await storage.create_case(
        NewCase(kind=CaseKind.MEMBERSHIP, worker_id=5001, fields={}, assignee_id=ADMIN_ID, backup_id=None)
    )
    await storage.resolve_case(
        member.id,
        expected=CaseStatus.NEW,
        resolution=Resolution(outcome=Outcome.MEMBERSHIP_APPROVED, member_number="2026-00001"),
        actor_id=ADMIN_ID,
        actor_role="admin",
    )
    await storage.set_worker_plan(
        5001, updated_by=ADMIN_ID, responsible_id=ADMIN_ID, review_on=date(2026, 1, 6)
    )
    return wages.id, member.id


async def test_a_plan_review_comes_up_in_the_responsible_officers_digest_from_its_day(
    bot: UnionApplication, clock: FakeClock, people: dict[int, Person]
) -> None:
    await _plans_due(bot, clock)
    wang, chen, boss = people[OFFICER_ID], people[BACKUP_ID], people[ADMIN_ID]

    # Tuesday: Wang's review is not due yet; the admin, with no open case, gets a digest for the review.
    clock.set(TUESDAY_8)
    await bot.run_schedules()
    digest = await wang.next_message(lambda m: "早上好" in (m.text or ""), since=0)
    assert digest.text.splitlines() == [
        "☀️ 早上好。您今天的案件：未办结1件，超时1件。",
        "",
        "⚠️ W-000001 · 欠薪 · 新案件",
    ]
    only_review = await boss.next_message(lambda m: "早上好" in (m.text or ""), since=0)
    assert only_review.text.splitlines() == [
        "☀️ 早上好。",
        "",
        "📁 1名工人的帮扶措施到了复核日期：",
        "李四 · M-000002 · 复核日期：2026-01-06",
    ]
    assert only_review.button_labels == ["📁 M-000002"]

    # Wednesday, the day of Wang's review: listed under his cases, with the button to the file.
    clock.set(WEDNESDAY_8)
    await bot.run_schedules()
    digest = await wang.next_message(lambda m: "早上好" in (m.text or ""))
    assert digest.text.splitlines() == [
        "☀️ 早上好。您今天的案件：未办结1件，超时1件。",
        "",
        "⚠️ W-000001 · 欠薪 · 新案件",
        "",
        "📁 1名工人的帮扶措施到了复核日期：",
        "张<三> · W-000001 · 复核日期：2026-01-07",  # the name is text, never markup
    ]
    assert digest.button_labels == ["W-000001", "📁 W-000001"]
    wang.press("📁 W-000001", message_id=digest.message_id)
    file = await wang.next_message(lambda m: "工人档案：" in m.text)
    assert "复核日期：2026-01-07 ⚠️ 已到期" in file.text
    # The admin's review, past and still without a new date, comes up again; Chen has nothing.
    await boss.next_message(lambda m: "李四 · M-000002 · 复核日期：2026-01-06" in (m.text or ""))
    await bot.outbox.send_due()
    assert not any("早上好" in (m.text or "") for m in chen.messages)

    # A new date takes it off the digest until then.
    await bot.storage.set_worker_plan(
        5001, updated_by=ADMIN_ID, responsible_id=ADMIN_ID, review_on=date(2026, 4, 8)
    )
    clock.set(WEDNESDAY_8 + timedelta(days=1))
    await bot.run_schedules()
    await wang.next_message(lambda m: "早上好" in (m.text or ""))
    await bot.outbox.send_due()
    assert sum("早上好" in (m.text or "") for m in boss.messages) == 2


async def test_an_english_officer_reads_the_review_in_english(
    bot: UnionApplication, clock: FakeClock, people: dict[int, Person]
) -> None:
    officer = await bot.storage.get_officer(OFFICER_ID)
    assert officer is not None
    await bot.storage.upsert_officer(
        OfficerIn(
            telegram_id=OFFICER_ID, name=officer.name, specialties=officer.specialties, languages=["en"]
        )
    )
    await _plans_due(bot, clock)

    clock.set(WEDNESDAY_8)
    await bot.run_schedules()
    digest = await people[OFFICER_ID].next_message(lambda m: "Good morning" in (m.text or ""), since=0)
    assert digest.text.splitlines()[-2:] == [
        "📁 1 hardship plan to review:",
        "张<三> · W-000001 · review on 2026-01-07",
    ]
