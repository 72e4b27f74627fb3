"""The SLA time rules: due times, the early warning, quiet hours, escalation and pausing."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.cases.sla import (
    after_quiet_hours,
    escalation_level,
    first_response_due,
    in_quiet_hours,
    next_update_due,
    paused_due,
    warning_time,
)
from bot.core.config import QuietHours, SLAConfig

SHANGHAI = ZoneInfo("Asia/Shanghai")  # UTC+8 all year
SLA = SLAConfig()  # quiet hours 22:00-07:00


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Shanghai in January 2026, as the UTC moment the functions take."""
    return datetime(2026, 1, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def test_first_response_is_sooner_for_collective_cases() -> None:
    created = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
    assert first_response_due(created, collective=False, sla=SLA) == datetime(2026, 1, 5, 5, 0, tzinfo=UTC)
    assert first_response_due(created, collective=True, sla=SLA) == datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def test_first_response_follows_the_config() -> None:
    sla = SLAConfig(first_response=timedelta(hours=8))
    created = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
    assert first_response_due(created, collective=False, sla=sla) == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_next_update_is_due_three_days_after_the_last_event() -> None:
    last_event = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
    assert next_update_due(last_event, SLA) == datetime(2026, 1, 8, 1, 0, tzinfo=UTC)


def test_warning_comes_at_three_quarters_of_the_time() -> None:
    created = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
    assert warning_time(created, created + timedelta(hours=4)) == created + timedelta(hours=3)
    assert warning_time(created, created + timedelta(hours=1)) == created + timedelta(minutes=45)


def test_warning_refuses_a_due_time_before_the_start() -> None:
    created = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="before started_at"):
        warning_time(created, created - timedelta(minutes=1))


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [
        (shanghai(5, 21, 59), False),
        (shanghai(5, 22, 0), True),
        (shanghai(5, 23, 30), True),
        (shanghai(6, 0, 0), True),
        (shanghai(6, 6, 59), True),
        (shanghai(6, 7, 0), False),
        (shanghai(6, 12, 0), False),
    ],
)
def test_quiet_hours_cross_midnight_in_shanghai(moment: datetime, quiet: bool) -> None:
    assert in_quiet_hours(moment, SLA, SHANGHAI) is quiet


def test_quiet_hours_are_read_in_the_union_time_zone_not_utc() -> None:
    # 23:00 in Shanghai is 15:00 UTC: quiet there, though not by the UTC clock.
    moment = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
    assert in_quiet_hours(moment, SLA, SHANGHAI)
    assert not in_quiet_hours(moment, SLA, ZoneInfo("UTC"))


def test_quiet_hours_within_one_day() -> None:
    sla = SLAConfig(quiet_hours=QuietHours(time(12, 0), time(13, 30)))
    assert not in_quiet_hours(shanghai(5, 11, 59), sla, SHANGHAI)
    assert in_quiet_hours(shanghai(5, 12, 0), sla, SHANGHAI)
    assert not in_quiet_hours(shanghai(5, 13, 30), sla, SHANGHAI)
    assert after_quiet_hours(shanghai(5, 12, 10), sla, SHANGHAI) == shanghai(5, 13, 30)


def test_no_quiet_hours_when_disabled() -> None:
    sla = SLAConfig(quiet_hours=None)
    assert not in_quiet_hours(shanghai(6, 3, 0), sla, SHANGHAI)
    assert after_quiet_hours(shanghai(6, 3, 0), sla, SHANGHAI) == shanghai(6, 3, 0)


@pytest.mark.parametrize(
    ("moment", "sent_at"),
    [
        (shanghai(5, 23, 0), shanghai(6, 7, 0)),  # before midnight: the next morning
        (shanghai(6, 3, 0), shanghai(6, 7, 0)),  # after midnight: the same morning
        (shanghai(5, 22, 0), shanghai(6, 7, 0)),
        (shanghai(6, 7, 0), shanghai(6, 7, 0)),  # not quiet: unchanged
        (shanghai(5, 15, 20), shanghai(5, 15, 20)),
    ],
)
def test_routine_reminders_wait_for_the_morning(moment: datetime, sent_at: datetime) -> None:
    waited = after_quiet_hours(moment, SLA, SHANGHAI)
    assert waited == sent_at
    assert waited.tzinfo is UTC


def test_morning_in_shanghai_is_still_the_previous_day_in_utc() -> None:
    # 07:00 on 6 January in Shanghai is 23:00 on 5 January in UTC.
    assert after_quiet_hours(datetime(2026, 1, 5, 16, 0, tzinfo=UTC), SLA, SHANGHAI) == datetime(
        2026, 1, 5, 23, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("reminders_sent", "level"),
    [(0, "officer"), (1, "officer"), (2, "backup"), (3, "backup"), (4, "admins"), (9, "admins")],
)
def test_escalation_goes_to_the_backup_then_the_admins(reminders_sent: int, level: str) -> None:
    assert escalation_level(reminders_sent, SLA) == level


def test_escalation_after_a_single_reminder() -> None:
    sla = SLAConfig(escalate_after_reminders=1)
    assert [escalation_level(sent, sla) for sent in range(4)] == ["officer", "backup", "admins", "admins"]


def test_escalation_refuses_a_negative_count() -> None:
    with pytest.raises(ValueError, match="negative"):
        escalation_level(-1, SLA)


def test_waiting_for_the_worker_moves_the_due_time_by_the_pause() -> None:
    due = datetime(2026, 1, 8, 9, 0, tzinfo=UTC)
    paused_from = datetime(2026, 1, 6, 10, 0, tzinfo=UTC)
    resumed_at = datetime(2026, 1, 7, 16, 30, tzinfo=UTC)
    assert paused_due(due, paused_from, resumed_at) == due + timedelta(days=1, hours=6, minutes=30)
    assert paused_due(due, paused_from, paused_from) == due


def test_pause_refuses_resuming_before_pausing() -> None:
    moment = datetime(2026, 1, 6, 10, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="before paused_from"):
        paused_due(moment, moment, moment - timedelta(seconds=1))


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 1, 5, 23, 0)
    with pytest.raises(ValueError, match="no time zone"):
        in_quiet_hours(naive, SLA, SHANGHAI)
    with pytest.raises(ValueError, match="no time zone"):
        first_response_due(naive, collective=False, sla=SLA)


def test_other_offsets_come_back_in_utc() -> None:
    created = datetime(2026, 1, 5, 9, 0, tzinfo=SHANGHAI)
    due = first_response_due(created, collective=False, sla=SLA)
    assert due == datetime(2026, 1, 5, 5, 0, tzinfo=UTC)
    assert due.tzinfo is UTC
