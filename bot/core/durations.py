"""Durations as people write them in the config: "90m", "4h", "2d", "1d12h".

Whole numbers of days (d), hours (h) and minutes (m), largest unit first, each at most once, spaces
allowed ("1d 12h"). Nothing shorter than a minute: no SLA or retention rule needs seconds, and leaving
out "s" keeps "m" from being read as anything but minutes. Upper case is refused for the same reason
("M" could be months).
"""

from __future__ import annotations

import re
from datetime import timedelta

_SHAPE = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*$")
ACCEPTED = 'whole days, hours and minutes, largest first, like "90m", "4h", "2d" or "1d12h"'
_MINUTE = timedelta(minutes=1)


def parse_duration(text: str) -> timedelta:
    """The positive duration ``text`` describes; ValueError saying what is accepted otherwise."""
    match = _SHAPE.match(text)
    if match is None or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration: use {ACCEPTED}")
    days, hours, minutes = (int(part or 0) for part in match.groups())
    try:
        duration = timedelta(days=days, hours=hours, minutes=minutes)
    except OverflowError:
        raise ValueError(f"{text!r} is too long a duration") from None
    if not duration:
        raise ValueError(f"{text!r} is zero: a duration must be longer than that")
    return duration


def format_duration(duration: timedelta) -> str:
    """``duration`` written the way :func:`parse_duration` reads it, e.g. 90 minutes as "1h30m"."""
    if duration <= timedelta(0) or duration % _MINUTE:
        raise ValueError(f"{duration} cannot be written as a duration: it must be whole minutes, above zero")
    minutes = duration // _MINUTE
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = ((days, "d"), (hours, "h"), (minutes, "m"))
    return "".join(f"{number}{unit}" for number, unit in parts if number)
