"""The SLA time rules: when a case is due, when to remind, and whom. Pure: no I/O and no clock.

- A new case must be acknowledged within ``sla.first_response``, or ``sla.first_response_collective``
  when more than one worker is affected or it is urgent, or ``sla.first_response_assistance`` for a
  hardship assistance application; a case in progress needs an event every ``sla.update_every``.
- The officer is warned at 75% of the time allowed, before the breach; the sweep repeats reminders every
  ``sla.remind_every`` while the case is overdue.
- After ``sla.escalate_after_reminders`` reminders the backup officer is told, after twice that the admins.
- Routine reminders wait until the quiet hours (in the union's time zone) are over; collective cases don't
  wait, so the caller skips :func:`after_quiet_hours` for them.
- Waiting for the worker stops the clock: the due time moves on by the time spent waiting.

Every datetime given must be timezone-aware; every datetime returned is in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.core.config import SLAConfig
from storage.models import CaseKind

EscalationLevel = Literal["officer", "backup", "admins"]
_LEVELS: tuple[EscalationLevel, ...] = ("officer", "backup", "admins")

WARNING_SHARE = 0.75  # of the time allowed, after which the officer is warned


def first_response_due(
    created_at: datetime, *, collective: bool, sla: SLAConfig, kind: CaseKind | None = None
) -> datetime:
    """When a case of ``kind`` created at ``created_at`` must have been acknowledged. ``collective``
    stands for any case that cannot wait (collective or urgent): the fastest time, whatever its kind."""
    if collective:
        allowed = sla.first_response_collective
    elif kind == CaseKind.ASSISTANCE:
        allowed = sla.first_response_assistance
    else:
        allowed = sla.first_response
    return _utc(created_at) + allowed


def next_update_due(last_event_at: datetime, sla: SLAConfig) -> datetime:
    """When a case in progress needs its next event, its last one having been at ``last_event_at``."""
    return _utc(last_event_at) + sla.update_every


def warning_time(started_at: datetime, due_at: datetime) -> datetime:
    """When to warn that ``due_at`` is near: 75% of the way there from ``started_at``."""
    started_at, due_at = _utc(started_at), _utc(due_at)
    if due_at < started_at:
        raise ValueError(f"due_at {due_at} is before started_at {started_at}")
    return started_at + (due_at - started_at) * WARNING_SHARE


def in_quiet_hours(moment: datetime, sla: SLAConfig, zone: ZoneInfo) -> bool:
    """Whether ``moment`` falls in the quiet hours, read as wall-clock time in ``zone``."""
    quiet = sla.quiet_hours
    if quiet is None:
        return False
    wall = _utc(moment).astimezone(zone).time()
    if quiet.start < quiet.end:
        return quiet.start <= wall < quiet.end
    return wall >= quiet.start or wall < quiet.end  # the span crosses midnight


def after_quiet_hours(moment: datetime, sla: SLAConfig, zone: ZoneInfo) -> datetime:
    """The first moment from ``moment`` on when a routine reminder may go out: the end of the quiet hours
    if ``moment`` is in them, else ``moment`` itself.

    In a zone with daylight saving time, an end that falls in the skipped hour is read with the offset
    from before the change, which lands just after the skipped hour.
    """
    moment = _utc(moment)
    quiet = sla.quiet_hours
    if quiet is None or not in_quiet_hours(moment, sla, zone):
        return moment
    local = moment.astimezone(zone)
    end_day = local.date() if local.time() < quiet.end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, quiet.end, tzinfo=zone).astimezone(UTC)


def escalation_level(reminders_sent: int, sla: SLAConfig) -> EscalationLevel:
    """Who the next reminder goes to, after ``reminders_sent`` reminders about the same deadline."""
    if reminders_sent < 0:
        raise ValueError(f"reminders_sent cannot be negative, got {reminders_sent}")
    return _LEVELS[min(reminders_sent // sla.escalate_after_reminders, len(_LEVELS) - 1)]


def paused_due(due_at: datetime, paused_from: datetime, resumed_at: datetime) -> datetime:
    """``due_at`` moved on by the time the case waited for the worker, from ``paused_from`` to
    ``resumed_at``.

    Move a stored warning time the same way; :func:`warning_time` on the moved due time would count the
    pause as time the officer had.
    """
    paused_from, resumed_at = _utc(paused_from), _utc(resumed_at)
    if resumed_at < paused_from:
        raise ValueError(f"resumed_at {resumed_at} is before paused_from {paused_from}")
    return _utc(due_at) + (resumed_at - paused_from)


def _utc(moment: datetime) -> datetime:
    # astimezone() would read a naive datetime as the server's local time: refuse it instead.
    if moment.utcoffset() is None:
        raise ValueError(f"{moment} has no time zone: pass timezone-aware datetimes in UTC")
    return moment.astimezone(UTC)
