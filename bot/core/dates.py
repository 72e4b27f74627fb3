"""Dates as people type them: ``2026-12-31``, ``2026/12/31``, ``2026.12.31``, ``2026年12月31日``.

Chinese keyboards type full-width digits and dashes, so text is read after NFKC folds them to ASCII.
The patterns are exported in pieces for readers that allow the year out (a review date ``12-31``) or
read a time after the date (a training's start).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from zoneinfo import ZoneInfo

YEAR = r"(\d{4})\s*[-/.年]\s*"  # a year and the separator after it: one group
MONTH_DAY = r"(\d{1,2})\s*[-/.月]\s*(\d{1,2})"  # month, then day: two groups
_FULL_DATE = re.compile(rf"^{YEAR}{MONTH_DAY}\s*日?$")


def folded(text: str) -> str:
    """Full-width digits, dashes and colons as ASCII, without the spaces around."""
    return unicodedata.normalize("NFKC", text).strip()


def parse_date(text: str) -> date | None:
    """``2026-01-31``, ``2026/1/31``, ``2026.1.31`` or ``2026年1月31日``; None if it is no such date."""
    match = _FULL_DATE.match(folded(text))
    if match is None:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:  # 2026-02-30
        return None


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    """``2026-12-20 09:00`` in the union's time zone: how officers and the command line read a moment."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
