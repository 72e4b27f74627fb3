"""Reading and writing durations like "90m", "4h", "1d12h"."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("4h", timedelta(hours=4)),
        ("2d", timedelta(days=2)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1d2h30m", timedelta(days=1, hours=2, minutes=30)),
        (" 1d 12h ", timedelta(days=1, hours=12)),
        ("4 h", timedelta(hours=4)),
        ("36h", timedelta(hours=36)),
        ("730d", timedelta(days=730)),
    ],
)
def test_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "  ", "4", "h", "4 hours", "30s", "4H", "1M", "12h1d", "1h1h", "-4h", "1.5h", "4h!"],
)
def test_refuses_what_is_not_a_duration_and_says_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match=r'is not a duration: use whole days, hours and minutes.*"1d12h"'):
        parse_duration(text)


def test_refuses_zero() -> None:
    with pytest.raises(ValueError, match="longer than"):
        parse_duration("0d0h0m")


def test_refuses_a_duration_too_long_for_timedelta() -> None:
    with pytest.raises(ValueError, match="too long"):
        parse_duration("9999999999d")


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(minutes=90), "1h30m"),
        (timedelta(hours=4), "4h"),
        (timedelta(days=1, hours=12), "1d12h"),
        (timedelta(days=365), "365d"),
        (timedelta(days=2, minutes=5), "2d5m"),
    ],
)
def test_format_writes_what_parse_reads(duration: timedelta, text: str) -> None:
    assert format_duration(duration) == text
    assert parse_duration(text) == duration


@pytest.mark.parametrize("duration", [timedelta(0), timedelta(minutes=-5), timedelta(seconds=90)])
def test_format_refuses_what_cannot_be_written(duration: timedelta) -> None:
    with pytest.raises(ValueError, match="whole minutes, above zero"):
        format_duration(duration)
