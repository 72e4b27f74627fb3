"""A training's times as an admin types them, in the union's time zone: start, end, sign-up deadline.

A start is a date and a time: ``2026-12-20 09:00``, ``2026年12月20日 9:00``, or without the year,
``12-20 9:00`` (this year, or next year when that date is long past: in December, ``01-10`` is next
January). An end is a time on the start's day (``12:00``), a date and time, or how long it lasts
(``3h``, ``2h30m``, ``90分钟``, ``3小时``, ``1.5 hours``). Moments are returned in UTC.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from bot.core.dates import MONTH_DAY, YEAR, local_time
from bot.core.durations import parse_duration
from bot.core.i18n import N_, TranslatableError

LONGEST_AHEAD = timedelta(days=366)  # a typo in the year should not hide a training for decades
LONGEST_TRAINING = timedelta(days=14)  # a course of two weeks; anything longer is a typo
DEADLINE_HOUR = time(18)  # the default deadline: 18:00 the day before, while the office can still plan
# A date without its year that is further in the past than this means next year's date.
_LONG_PAST = timedelta(days=31)

_CLOCK = r"(\d{1,2})\s*[:：点點]\s*(\d{2})?\s*分?"
_DATE = rf"(?:{YEAR})?{MONTH_DAY}"
_MOMENT = re.compile(rf"^{_DATE}\s*(?:[日号號]\s*|\s+){_CLOCK}$")
_TIME_OF_DAY = re.compile(rf"^{_CLOCK}$")
_HOURS = re.compile(r"^(\d+(?:\.\d+)?)\s*(?:h|hr|hrs|hours?|个?小时|個?小時|个?钟头|個?鐘頭)$")
_MINUTES = re.compile(r"^(\d+)\s*(?:min|mins|minutes?|分钟|分鐘)$")

EXAMPLES = "2026-12-20 09:00 · 12-20 9:00"
END_EXAMPLES = "12:00 · 2026-12-20 12:00 · 3h · 3小时"


class TimeError(TranslatableError):
    """What the admin typed is not a usable time."""


def _clean(text: str) -> str:
    """Full-width digits and colons as ASCII, runs of spaces as one."""
    return " ".join(unicodedata.normalize("NFKC", text).split()).lower()


def _local_moment(text: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """A typed date and time as a UTC moment; None when it is not shaped like one."""
    match = _MOMENT.match(_clean(text))
    if match is None:
        return None
    year_text, month, day, hour, minute = match.groups()
    local_now = now.astimezone(zone)
    year = int(year_text) if year_text else local_now.year
    try:
        local = datetime(year, int(month), int(day), int(hour), int(minute or 0), tzinfo=zone)
        if year_text is None and local < local_now - _LONG_PAST:
            local = local.replace(year=year + 1)
    except ValueError:
        raise TimeError(
            N_("There is no such date or time: {text}. Write it like this: {examples}"),
            text=text.strip(),
            examples=EXAMPLES,
        ) from None
    return local.astimezone(UTC)


def _future_moment(text: str, zone: ZoneInfo, now: datetime) -> datetime:
    """A typed date and time that is still to come."""
    moment = _local_moment(text, zone, now)
    if moment is None:
        raise TimeError(
            N_("I did not understand that time. Write it like this: {examples}"), examples=EXAMPLES
        )
    if moment <= now:
        raise TimeError(N_("That time has already passed. Choose a time in the future."))
    return moment


def parse_start(text: str, zone: ZoneInfo, now: datetime) -> datetime:
    """When a training starts: a date and time in the future, within a year."""
    moment = _future_moment(text, zone, now)
    if moment - now > LONGEST_AHEAD:
        raise TimeError(N_("That is more than a year away. Choose a time within a year."))
    return moment


def parse_end(text: str, starts_at: datetime, zone: ZoneInfo) -> datetime:
    """When it ends: a time on the start's day, a date and time, or how long it lasts."""
    clean = _clean(text)
    ends_at = _local_moment(clean, zone, starts_at)
    if ends_at is None and (match := _TIME_OF_DAY.match(clean)):
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        if hour > 23 or minute > 59:
            raise TimeError(
                N_("There is no such date or time: {text}. Write it like this: {examples}"),
                text=text.strip(),
                examples=END_EXAMPLES,
            )
        day = starts_at.astimezone(zone).date()
        ends_at = datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)
    if ends_at is None:
        length = _length(clean)
        if length is None:
            raise TimeError(
                N_("I did not understand. Type when it ends, or how long it lasts: {examples}"),
                examples=END_EXAMPLES,
            )
        ends_at = starts_at + length
    if ends_at <= starts_at:
        raise TimeError(
            N_("It must end after it starts ({start}). Type the end again: {examples}"),
            start=local_time(starts_at, zone),
            examples=END_EXAMPLES,
        )
    if ends_at - starts_at > LONGEST_TRAINING:
        raise TimeError(N_("That is longer than two weeks. Please check the end and type it again."))
    return ends_at


def _length(text: str) -> timedelta | None:
    """``3h``, ``1.5 hours``, ``3小时``, ``90分钟``, ``2h30m``; None when it is none of these."""
    if match := _HOURS.match(text):
        try:
            minutes = Decimal(match.group(1)) * 60
        except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
            return None
        return timedelta(minutes=int(minutes)) if minutes >= 1 else None
    if match := _MINUTES.match(text):
        return timedelta(minutes=int(match.group(1))) if int(match.group(1)) > 0 else None
    try:
        return parse_duration(text.replace(" ", ""))
    except ValueError:
        return None


def parse_deadline(text: str, starts_at: datetime, zone: ZoneInfo, now: datetime) -> datetime:
    """Until when workers may sign up: in the future, and not after the start."""
    moment = _future_moment(text, zone, now)
    if moment > starts_at:
        raise TimeError(
            N_("Sign-up must close by the start ({start}). Type an earlier time."),
            start=local_time(starts_at, zone),
        )
    return moment


def default_deadline(starts_at: datetime, zone: ZoneInfo, now: datetime) -> datetime:
    """18:00 the day before the start; the start itself when that has already passed."""
    day_before = starts_at.astimezone(zone).date() - timedelta(days=1)
    moment = datetime.combine(day_before, DEADLINE_HOUR, tzinfo=zone).astimezone(UTC)
    return moment if now < moment < starts_at else starts_at
