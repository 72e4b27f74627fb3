"""When broadcasts go out: reading what an admin typed, and the next occurrence of a recurring one.

An admin types a moment ("2026-12-01 09:00") or a rule ("every Monday 09:00", "每周一 09:00",
"every day 08:30"), always in the union's time zone. Stored moments are UTC; a rule keeps its local
wall-clock time, so "09:00" stays 09:00 across daylight-saving changes where a zone has them.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.dates import local_time
from bot.core.i18n import N_, TranslatableError, translate
from storage.models import Schedule, ScheduleKind

# How far ahead a one-off broadcast may be planned: a typo in the year should not hide it for decades.
LONGEST_AHEAD = timedelta(days=366)

_WEEKDAYS_EN = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5,
    "sunday": 6, "sun": 6,
}  # fmt: skip
_WEEKDAYS_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_CLOCK = r"(\d{1,2})\s*[:：]\s*(\d{2})"
_MOMENT = re.compile(rf"^(\d{{4}})\s*[-/.年]\s*(\d{{1,2}})\s*[-/.月]\s*(\d{{1,2}})\s*[日号]?\s+{_CLOCK}$")
_MOMENT_ZH = re.compile(rf"^(\d{{4}})\s*年\s*(\d{{1,2}})\s*月\s*(\d{{1,2}})\s*[日号]\s*{_CLOCK}$")
_WEEKLY_EN = re.compile(rf"^(?:every\s+)?([a-z]+?)s?\s+(?:at\s+)?{_CLOCK}$", re.IGNORECASE)
_DAILY_EN = re.compile(rf"^(?:every\s+day|daily)\s+(?:at\s+)?{_CLOCK}$", re.IGNORECASE)
_WEEKLY_ZH = re.compile(rf"^每?\s*(?:个)?\s*(?:周|星期|礼拜|週|禮拜)\s*([一二三四五六日天])\s*{_CLOCK}$")
_DAILY_ZH = re.compile(rf"^每\s*(?:天|日)\s*{_CLOCK}$")

EXAMPLES = "2026-12-01 09:00 · every Monday 09:00 · 每周一 09:00 · every day 08:30"

_WEEKLY_NAMES = (
    N_("every Monday {time}"),
    N_("every Tuesday {time}"),
    N_("every Wednesday {time}"),
    N_("every Thursday {time}"),
    N_("every Friday {time}"),
    N_("every Saturday {time}"),
    N_("every Sunday {time}"),
)


class ScheduleError(TranslatableError):
    """What the admin typed is not a usable time."""


def parse_moment(text: str, zone: ZoneInfo, now: datetime) -> Schedule:
    """A one-off time like ``2026-12-01 09:00`` (local), in the future and within a year."""
    text = " ".join(text.split())
    match = _MOMENT.match(text) or _MOMENT_ZH.match(text)
    if match is None:
        raise ScheduleError(
            N_("I did not understand that time. Write it like this: {examples}"), examples=EXAMPLES
        )
    year, month, day, hour, minute = (int(part) for part in match.groups())
    try:
        local = datetime(year, month, day, hour, minute, tzinfo=zone)
    except ValueError:
        raise ScheduleError(
            N_("There is no such date or time: {text}. Write it like this: {examples}"),
            text=text,
            examples=EXAMPLES,
        ) from None
    moment = local.astimezone(UTC)
    if moment <= now:
        raise ScheduleError(N_("That time has already passed. Choose a time in the future."))
    if moment - now > LONGEST_AHEAD:
        raise ScheduleError(N_("That is more than a year away. Choose a time within a year."))
    return Schedule(kind=ScheduleKind.ONCE, at=moment)


def parse_rule(text: str) -> Schedule:
    """A recurring rule: ``every Monday 09:00``, ``monday 09:00``, ``每周一 09:00``, ``every day 08:30``."""
    text = " ".join(text.split())
    weekday: int | None = None
    if match := _DAILY_EN.match(text) or _DAILY_ZH.match(text):
        hour, minute = match.groups()
    elif match := _WEEKLY_ZH.match(text):
        weekday = _WEEKDAYS_ZH[match.group(1)]
        hour, minute = match.group(2), match.group(3)
    elif (match := _WEEKLY_EN.match(text)) and match.group(1).lower() in _WEEKDAYS_EN:
        weekday = _WEEKDAYS_EN[match.group(1).lower()]
        hour, minute = match.group(2), match.group(3)
    else:
        raise ScheduleError(
            N_("I did not understand that time. Write it like this: {examples}"), examples=EXAMPLES
        )
    if not (0 <= int(hour) <= 23 and 0 <= int(minute) <= 59):
        raise ScheduleError(
            N_("There is no such date or time: {text}. Write it like this: {examples}"),
            text=text,
            examples=EXAMPLES,
        )
    clock = f"{int(hour):02d}:{int(minute):02d}"
    if weekday is None:
        return Schedule(kind=ScheduleKind.DAILY, time=clock)
    return Schedule(kind=ScheduleKind.WEEKLY, weekday=weekday, time=clock)


def parse_when(text: str, zone: ZoneInfo, now: datetime) -> Schedule:
    """Either kind, as typed in the bot: a moment if it starts with a year, else a rule."""
    stripped = text.strip()
    if re.match(r"^\d{4}", stripped):
        return parse_moment(stripped, zone, now)
    return parse_rule(stripped)


def first_run(schedule: Schedule, zone: ZoneInfo, now: datetime) -> datetime:
    """When a new broadcast first goes out: its moment, or the rule's next time after ``now``."""
    if schedule.kind == ScheduleKind.ONCE:
        assert schedule.at is not None  # the model guarantees it
        return schedule.at
    following = next_run(schedule, zone, after=now)
    assert following is not None  # recurring rules always have a next time
    return following


def next_run(schedule: Schedule, zone: ZoneInfo, *, after: datetime) -> datetime | None:
    """The first occurrence strictly after ``after`` (UTC); None for a one-off broadcast."""
    if schedule.kind == ScheduleKind.ONCE:
        return None
    assert schedule.time is not None  # the model guarantees it
    at = time.fromisoformat(schedule.time)
    start: date = after.astimezone(zone).date()
    for days in range(9):
        day = start + timedelta(days=days)
        if schedule.kind == ScheduleKind.WEEKLY and day.weekday() != schedule.weekday:
            continue
        candidate = datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
        if candidate > after:
            return candidate
    raise AssertionError("a daily or weekly rule always has a time within nine days")


def describe(schedule: Schedule, zone: ZoneInfo, language: str) -> str:
    """How the schedule reads to an admin: ``2026-12-01 09:00`` or ``every Monday 09:00``."""
    if schedule.kind == ScheduleKind.ONCE:
        assert schedule.at is not None
        return local_time(schedule.at, zone)
    if schedule.kind == ScheduleKind.DAILY:
        return translate(language, "every day {time}", time=schedule.time)
    assert schedule.weekday is not None
    return translate(language, _WEEKLY_NAMES[schedule.weekday], time=schedule.time)
