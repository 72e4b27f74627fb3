"""Reading broadcast times as admins type them, and the next run of a recurring broadcast."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.broadcasts.schedule import (
    ScheduleError,
    describe,
    first_run,
    next_run,
    parse_moment,
    parse_rule,
    parse_when,
)
from storage.models import Schedule, ScheduleKind

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # Monday 17:00 in Shanghai


@pytest.mark.parametrize(
    "typed",
    ["2026-12-01 09:00", "2026/12/1 9:00", "2026-12-01  09：00", "2026年12月1日 09:00", "2026年12月1日9:00"],
)
def test_a_moment_is_read_in_the_union_time_zone(typed: str) -> None:
    schedule = parse_moment(typed, SHANGHAI, NOW)
    assert schedule == Schedule(kind=ScheduleKind.ONCE, at=datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
    assert describe(schedule, SHANGHAI, "en") == "2026-12-01 09:00"


@pytest.mark.parametrize(
    ("typed", "weekday", "clock"),
    [
        ("every Monday 09:00", 0, "09:00"),
        ("monday 9:00", 0, "09:00"),
        ("Every FRIDAY at 18:30", 4, "18:30"),
        ("every tues 07:05", 1, "07:05"),
        ("mondays 09:00", 0, "09:00"),
        ("每周一 09:00", 0, "09:00"),
        ("每星期日 8:00", 6, "08:00"),
        ("週三 20：15", 2, "20:15"),
    ],
)
def test_weekly_rules(typed: str, weekday: int, clock: str) -> None:
    assert parse_rule(typed) == Schedule(kind=ScheduleKind.WEEKLY, weekday=weekday, time=clock)
    assert parse_when(typed, SHANGHAI, NOW) == parse_rule(typed)


@pytest.mark.parametrize("typed", ["every day 08:30", "daily 8:30", "每天 08:30"])
def test_daily_rules(typed: str) -> None:
    assert parse_rule(typed) == Schedule(kind=ScheduleKind.DAILY, time="08:30")


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("tomorrow", "I did not understand that time"),
        ("every funday 09:00", "I did not understand that time"),
        ("every Monday 25:00", "There is no such date or time"),
        ("every Monday", "I did not understand that time"),
        ("2026-02-30 09:00", "There is no such date or time"),
        ("2026-12-01 24:00", "There is no such date or time"),
        ("2026-01-05 16:59", "That time has already passed"),
        ("2028-01-01 09:00", "more than a year away"),
        ("<b>2026</b>", "I did not understand that time"),
    ],
)
def test_nonsense_is_refused_with_a_reason(typed: str, says: str) -> None:
    with pytest.raises(ScheduleError) as refused:
        parse_when(typed, SHANGHAI, NOW)
    assert says in str(refused.value)
    assert refused.value.text("zh-Hans").startswith(("没", "这个时间"))  # said in the admin's language


def test_the_next_weekly_run_is_the_next_such_weekday_locally() -> None:
    rule = parse_rule("every Monday 09:00")
    # Monday 17:00 in Shanghai: this Monday's 09:00 has passed, so next Monday 09:00 (01:00 UTC).
    assert first_run(rule, SHANGHAI, NOW) == datetime(2026, 1, 12, 1, 0, tzinfo=UTC)
    assert next_run(rule, SHANGHAI, after=datetime(2026, 1, 12, 1, 0, tzinfo=UTC)) == datetime(
        2026, 1, 19, 1, 0, tzinfo=UTC
    )
    early = parse_rule("every Monday 18:00")
    assert first_run(early, SHANGHAI, NOW) == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # later today
    assert next_run(Schedule(kind=ScheduleKind.ONCE, at=NOW), SHANGHAI, after=NOW) is None


def test_a_daily_run_keeps_its_wall_clock_time_across_daylight_saving() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    rule = parse_rule("every day 09:00")
    before = datetime(2026, 3, 28, 8, 0, tzinfo=UTC)  # 09:00 CET, the day before the change
    after = next_run(rule, berlin, after=before)
    assert after == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert describe(rule, berlin, "zh-Hans") == "每天 09:00"
    assert describe(parse_rule("every Sunday 10:00"), berlin, "en") == "every Sunday 10:00"
