"""The figures unions report, checked against a known data set built through the flows; periods."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from bot.app import UnionApplication
from bot.core.clock import FakeClock
from bot.core.config import SLAConfig
from bot.reports import charts
from bot.reports.figures import (
    AssistanceFigures,
    Period,
    TrainingFigures,
    named_period,
    no_broadcast_reach,
    parse_date,
    period_figures,
    period_from_token,
    period_series,
)
from bot.reports.text import report_text
from bot.sandbox.server import BotApiSandbox
from bot.sandbox.session import OFFICER_ID
from storage import SQLiteStorage
from storage.models import CaseKind, CaseStatus, NewCase, NewTraining, Outcome, Resolution, Training
from tests import report_data
from tests.report_data import NOW

# The data set's two months, whole days in Shanghai.
TWO_MONTHS = Period(first=date(2026, 1, 1), last=date(2026, 2, 28))

ADMIN_REPORT = [
    "📊 统计报表：2026-01-01 至 2026-02-28",
    "全部案件",
    "",
    "新案件：6",
    "  · 入会申请：2",
    "  · 欠薪：2",
    "  · 法律援助：2",
    "  · 申请帮扶：0",
    "群体性案件：1",
    "这些新案件目前的状态：",
    "  · 新案件：1",
    "  · 已办结：5",  # the officers' word for "resolved" (bot/locales/glossary.toml)
    "",
    "已办结：5",
    "转交劳动监察、劳动仲裁、法院或法律援助中心：1",
    "目前超时：1",
    "首次回应用时（中位数）：2小时",
    "办结用时（中位数）：2天",
    "按时处理：50%（6件中3件）",
    "追回欠薪：7000元，涉及4名工人",
    "",
    "新会员：2",
    "按行业：",
    "  · 建筑工地：1",
    "  · 工厂（制造业）：1",
    "按月份：",
    "  · 2026-01：1",
    "  · 2026-02：1",
    "",
    "发放帮扶款：0人，共0元",
    "不符合帮扶条件：0",
    "报上级总工会审批：0",
    "",
    "举办培训：0场",
    "报名：0人次；到场：0人次",
    "培训职工：0人",
    "",
    "群发通知覆盖：0名工人",  # no broadcast in this data set; tests/test_storage_broadcasts.py counts some
]


async def test_a_known_data_set_in_figures_text_and_charts(
    bot: UnionApplication, sandbox: BotApiSandbox, clock: FakeClock
) -> None:
    data = await report_data.build(bot, sandbox, clock)
    zone = bot.config.union.zone
    start, end = TWO_MONTHS.start(zone), TWO_MONTHS.end(zone)

    # Everyone's cases, as an admin sees them.
    figures = await period_figures(bot.storage, bot.config.sla, start, end, now=NOW, zone=zone)
    assert figures.new_by_kind == {
        CaseKind.MEMBERSHIP: 2,
        CaseKind.WAGES: 2,
        CaseKind.LEGAL: 2,
        CaseKind.ASSISTANCE: 0,
    }
    assert figures.by_status == {CaseStatus.NEW: 1, CaseStatus.RESOLVED: 5}
    assert (figures.new_total, figures.collective, figures.resolved, figures.referred) == (6, 1, 5, 1)
    assert figures.overdue_now == 1  # L-000005, never answered
    # First responses 30 min, 2 h, 5 h, 1 h, 23 h; resolutions 14 d 17 h, 2 h, 21 d, 2 d, 23 h.
    assert figures.first_response_median == timedelta(hours=2)
    assert figures.resolution_median == timedelta(days=2)
    # In time: W-000001 (30 min of 1 h), M-000002, L-000004; late: W-000003, M-000006, L-000005 (waiting).
    assert (figures.on_time, figures.on_time_counted, figures.on_time_share) == (3, 6, 0.5)
    assert (figures.wages_recovered, figures.workers_helped) == (Decimal(7000), 4)
    assert figures.new_members == 2
    assert figures.new_members_by_trade == {"construction": 1, "manufacturing": 1}
    assert figures.new_members_by_month == {"2026-01": 1, "2026-02": 1}
    assert figures.broadcast_reach is None

    # Wang is primary or backup on W-000001, W-000003, L-000004 and L-000005 (assignment is the bot's).
    assert data.handled_by == {
        "W-000001": OFFICER_ID,
        "M-000002": report_data.BACKUP_ID,
        "W-000003": report_data.BACKUP_ID,
        "L-000004": OFFICER_ID,
        "M-000006": report_data.ADMIN_ID,
    }
    wang = await period_figures(
        bot.storage, bot.config.sla, start, end, now=NOW, zone=zone, officer_id=OFFICER_ID
    )
    assert wang.new_by_kind == {
        CaseKind.MEMBERSHIP: 0,
        CaseKind.WAGES: 2,
        CaseKind.LEGAL: 2,
        CaseKind.ASSISTANCE: 0,
    }
    assert (wang.resolved, wang.referred, wang.overdue_now, wang.collective) == (3, 1, 1, 1)
    assert wang.first_response_median == timedelta(hours=1)
    assert wang.resolution_median == timedelta(days=14, hours=17)
    assert (wang.on_time, wang.on_time_counted) == (2, 4)
    assert (wang.wages_recovered, wang.workers_helped, wang.new_members) == (Decimal(7000), 4, 0)

    # Week by week (Mondays in Shanghai; the period starts on a Thursday) and month by month.
    series = await period_series(bot.storage, bot.config.sla, TWO_MONTHS, now=NOW, zone=zone)
    assert [week.monday for week in series.weeks] == [
        date(2025, 12, 29) + timedelta(weeks=n) for n in range(9)
    ]
    assert [sum(week.new_by_kind.values()) for week in series.weeks] == [0, 2, 1, 1, 0, 2, 0, 0, 0]
    assert series.weeks[1].new_by_kind == {
        CaseKind.MEMBERSHIP: 1,
        CaseKind.WAGES: 1,
        CaseKind.LEGAL: 0,
        CaseKind.ASSISTANCE: 0,
    }
    assert [(week.on_time, week.on_time_counted) for week in series.weeks] == [
        (0, 0),
        (2, 2),
        (0, 1),
        (1, 1),
        (0, 0),
        (0, 2),
        (0, 0),
        (0, 0),
        (0, 0),
    ]
    assert [(m.month, m.wages_recovered, m.workers_helped) for m in series.months] == [
        (date(2026, 1, 1), Decimal(4000), 3),
        (date(2026, 2, 1), Decimal(3000), 1),
    ]

    # The admin's /report for the two months, as text; then the charts, as three pictures.
    admin = data.officers[report_data.ADMIN_ID]
    admin.send_command("/report 2026-01-01 2026-02-28")
    report = await admin.next_message(lambda m: "统计报表" in (m.text or ""))
    assert report.text.splitlines() == ADMIN_REPORT
    assert report.button_labels == ["📈 图表"]
    admin.press("📈 图表", message_id=report.message_id)
    pictures = [await admin.next_message(lambda m: m.kind == "photo", timeout=60) for _ in range(3)]
    assert {picture.text for picture in pictures} == {"📊 统计报表：2026-01-01 至 2026-02-28"}
    assert admin.inline_buttons(report.message_id) == []  # used: the charts come once per press
    for picture in pictures:
        png = await report_data.downloaded(bot, picture.raw["photo"][-1]["file_id"])
        with Image.open(BytesIO(png)) as image:
            assert (image.format, image.size) == ("PNG", charts.SIZE)

    # Wang chooses "this year" with a button and sees his own cases only.
    wang_person = data.officers[OFFICER_ID]
    wang_person.send_command("/report")
    choose = await wang_person.next_message(lambda m: "统计哪段时间" in (m.text or ""))
    assert choose.button_labels == ["本周", "上周", "本月", "上个月", "今年", "去年"]
    wang_person.press("今年", message_id=choose.message_id)
    edited = await wang_person.next_edit(message_id=choose.message_id)
    lines = edited.text.splitlines()
    assert lines[:2] == ["📊 统计报表：2026-01-01 至 2026-02-04", "您的案件（您是主办人或替补的）"]
    assert "新案件：4" in lines and "  · 入会申请：0" in lines and "目前超时：1" in lines
    assert "首次回应用时（中位数）：1小时" in lines and "办结用时（中位数）：14.7天" in lines
    assert "按时处理：50%（4件中2件）" in lines and "新会员：0" in lines
    assert not any("群发" in line or "按行业" in line for line in lines)

    # /stats: open and overdue now, and this week (Monday 2 to Wednesday 4 February in Shanghai).
    admin.send_command("/stats")
    stats = await admin.next_message(lambda m: "本周" in (m.text or ""))
    lines = stats.text.splitlines()
    # Admins also see what waits in the outbox (tests/test_outbox.py checks those lines): here the
    # news of the last step may still be on its way.
    delivery = lines.index("发给工会干事和工人的消息：")
    assert lines[delivery + 1].startswith("等待送达：")
    assert lines[delivery + 2].startswith("最近7天放弃发送的：")
    assert lines[:delivery] + lines[delivery + 4 :] == [
        "全部案件：",
        "未办结：1",
        "  · 入会申请：0",
        "  · 欠薪：0",
        "  · 法律援助：1",
        "  · 申请帮扶：0",
        "群体性：0",
        "超时：1",
        "",
        "本周（2026-02-02 至 2026-02-04）：",
        "新案件：2",
        "已办结：2",
        "追回欠薪：3000元，涉及1名工人",
        "新会员：1",
        "",
        "其他时间段和图表：/report。导出表格：/export。",
    ]


# -- the broadcast-reach hook -------------------------------------------------------------------------


@pytest.fixture
async def storage() -> AsyncIterator[SQLiteStorage]:
    store = SQLiteStorage(":memory:", now=FakeClock().now)
    await store.open()
    yield store
    await store.close()


async def test_broadcast_reach_is_not_recorded_until_a_hook_counts_it(storage: SQLiteStorage) -> None:
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    assert await no_broadcast_reach(start, end) is None
    figures = await period_figures(storage, SLAConfig(), start, end, now=end)
    assert figures.broadcast_reach is None

    asked: list[tuple[datetime, datetime]] = []

    async def reach(first: datetime, last: datetime) -> int:
        asked.append((first, last))
        return 1234

    figures = await period_figures(storage, SLAConfig(), start, end, now=end, broadcast_reach=reach)
    assert figures.broadcast_reach == 1234 and asked == [(start, end)]
    assert figures.new_total == 0 and figures.first_response_median is None and figures.on_time_share is None


# -- periods ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("w0", date(2026, 2, 2), date(2026, 2, 4)),
        ("w1", date(2026, 1, 26), date(2026, 2, 1)),
        ("m0", date(2026, 2, 1), date(2026, 2, 4)),
        ("m1", date(2026, 1, 1), date(2026, 1, 31)),
        ("y0", date(2026, 1, 1), date(2026, 2, 4)),
        ("y1", date(2025, 1, 1), date(2025, 12, 31)),
    ],
)
def test_named_periods_end_today_or_are_whole(name: str, first: date, last: date) -> None:
    assert named_period(name, date(2026, 2, 4)) == Period(first=first, last=last)
    assert period_from_token(name, date(2026, 2, 4)) == Period(first=first, last=last)


def test_a_period_is_whole_days_in_the_unions_time_zone() -> None:
    from zoneinfo import ZoneInfo

    period = Period(first=date(2026, 1, 1), last=date(2026, 3, 31))
    shanghai = ZoneInfo("Asia/Shanghai")
    assert period.start(shanghai) == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    assert period.end(shanghai) == datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
    assert (period.days, period.token) == (90, "20260101-20260331")
    assert period_from_token(period.token, date(2026, 6, 1)) == period


@pytest.mark.parametrize("token", ["", "w2", "20260331-20260101", "20261301-20261302", "2026010-20260131x"])
def test_forged_period_tokens_are_none(token: str) -> None:
    assert period_from_token(token, date(2026, 2, 4)) is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-01-31", date(2026, 1, 31)),
        ("2026/1/5", date(2026, 1, 5)),
        ("2026.1.5", date(2026, 1, 5)),
        ("2026年1月5日", date(2026, 1, 5)),
        ("２０２６－０１－０５", date(2026, 1, 5)),  # full-width, from a Chinese input method
        ("2026-02-30", None),
        ("1/5", None),
        ("yesterday", None),
    ],
)
def test_typed_dates(typed: str, expected: date | None) -> None:
    assert parse_date(typed) == expected


# -- hardship assistance and trainings ----------------------------------------------------------------


async def _decide(storage: SQLiteStorage, worker_id: int, resolution: Resolution) -> None:
    await storage.ensure_worker(worker_id)
    case = await storage.create_case(
        NewCase(kind=CaseKind.ASSISTANCE, worker_id=worker_id, fields={"help_kind": "education"})
    )
    await storage.resolve_case(
        case.id, expected=CaseStatus.NEW, resolution=resolution, actor_id=OFFICER_ID, actor_role="officer"
    )


async def _training(storage: SQLiteStorage, starts_at: datetime, *, seats: int = 2) -> Training:
    return await storage.create_training(
        NewTraining(
            titles={"zh-Hans": "电工证培训"},
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=3),
            place="镇职业技术学校",
            seats=seats,
            signup_deadline=starts_at - timedelta(days=1),
        )
    )


async def test_assistance_and_trainings_in_the_figures_and_the_report_text() -> None:
    clock = FakeClock(datetime(2026, 3, 1, tzinfo=UTC))
    storage = SQLiteStorage(":memory:", now=clock.now)
    await storage.open()
    try:
        zone = ZoneInfo("Asia/Shanghai")
        await _decide(storage, 501, Resolution(outcome=Outcome.GRANTED, amount_granted=Decimal("2000")))
        await _decide(storage, 502, Resolution(outcome=Outcome.GRANTED, amount_granted=Decimal("1500.50")))
        await _decide(storage, 503, Resolution(outcome=Outcome.NOT_ELIGIBLE, reason="家庭收入超过标准"))
        await _decide(storage, 504, Resolution(outcome=Outcome.REFERRED_UPWARD))
        for worker_id, trade in ((601, "construction"), (602, "construction"), (603, "manufacturing")):
            await storage.ensure_worker(worker_id)
            await storage.update_worker_profile(worker_id, {"trade": trade})
        await storage.ensure_worker(604)  # told us no trade
        # March: two trainings held (601 and 602 come to the first; 601 and 603 to the second, 604 waits
        # for a seat that never frees); a third one called off; a fourth still to come.
        first = await _training(storage, datetime(2026, 3, 10, 1, tzinfo=UTC))
        second = await _training(storage, datetime(2026, 3, 20, 1, tzinfo=UTC))
        cancelled = await _training(storage, datetime(2026, 3, 21, 1, tzinfo=UTC))
        upcoming = await _training(storage, datetime(2026, 3, 30, 1, tzinfo=UTC), seats=5)
        for training, workers in ((first, (601, 602)), (second, (601, 603, 604)), (cancelled, (602,))):
            for worker_id in workers:
                await storage.sign_up(training.id, worker_id)
        await storage.sign_up(upcoming.id, 603)
        await storage.cancel_training(cancelled.id)
        await storage.mark_attendance(first.id, 601, True)
        await storage.mark_attendance(first.id, 602, True)
        await storage.mark_attendance(second.id, 601, True)
        await storage.mark_attendance(second.id, 603, False)  # signed up, did not come

        start, end = datetime(2026, 2, 28, 16, tzinfo=UTC), datetime(2026, 3, 31, 16, tzinfo=UTC)  # March
        now = datetime(2026, 3, 25, tzinfo=UTC)
        figures = await period_figures(storage, SLAConfig(), start, end, now=now, zone=zone)
        assert figures.assistance == AssistanceFigures(
            granted=2, amount_granted=Decimal("3500.50"), not_eligible=1, referred_upward=1
        )
        assert figures.trainings == TrainingFigures(
            held=2,
            signed_up=4,  # 604 waited: no seat
            attended=3,
            workers_trained=2,
            trained_by_trade={"construction": 2},
            trained_by_month={"2026-03": 2},
            upcoming=1,
            upcoming_signed_up=1,
        )
        # One officer's report is about their cases: the union's trainings are not theirs.
        mine = await period_figures(
            storage, SLAConfig(), start, end, now=now, zone=zone, officer_id=OFFICER_ID
        )
        assert mine.trainings is None and mine.assistance == AssistanceFigures()  # nobody assigned them

        text = report_text(
            figures, Period(first=date(2026, 3, 1), last=date(2026, 3, 31)), "zh-Hans", everyone=True
        )
        lines = text.splitlines()
        assert figures.new_by_kind[CaseKind.ASSISTANCE] == 4
        for line in [
            "发放帮扶款：2人，共3500.50元",
            "不符合帮扶条件：1",
            "报上级总工会审批：1",
            "举办培训：2场",
            "报名：4人次；到场：3人次",
            "培训职工：2人",
            "培训职工（按行业）：",
            "  · 建筑工地：2",
            "本期还未开始：1场培训，已报名1人",
        ]:
            assert line in lines, line
        english = report_text(
            figures, Period(first=date(2026, 3, 1), last=date(2026, 3, 31)), "en", everyone=True
        )
        for line in [
            "Hardship assistance granted: 2 workers, 3,500.50 yuan in all",
            "Not eligible: 1",
            "Referred upward to the federation: 1",
            "Trainings held: 2",
            "Seats taken: 4; attended: 3",
            "Workers trained: 2",
            "Still to come in this period: 1 training, 1 signed up",
        ]:
            assert line in english.splitlines(), line
    finally:
        await storage.close()
