"""Every message the code uses is in every catalog, with the same placeholders."""

from __future__ import annotations

import string
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from bot.i18n import (
    LANGUAGES,
    OFFICERS,
    Html,
    _catalog,
    labelled,
    listing,
    money,
    span,
    translate,
    translate_in,
)

REPO = Path(__file__).resolve().parent.parent
KEYWORDS = {"t": None, "N_": None, "NP_": ((1, "c"), 2), "translate": (2,), "translate_in": ((1, "c"), 3)}


def _used_messages() -> set[tuple[str | None, str]]:
    """(msgctxt, msgid) of every message the code asks for."""
    found: set[tuple[str | None, str]] = set()
    for package in ("bot", "flows"):
        for _file, _line, message, _comments, context in extract_from_dir(
            REPO / package, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            if isinstance(message, str) and message:
                found.add((context, message))
    return found


def _used_message_ids() -> set[str]:
    return {msgid for _context, msgid in _used_messages()}


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_code_uses_messages() -> None:
    assert "Please choose your language:" in _used_message_ids()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_used_message_is_translated(language: str) -> None:
    """A message in a context may fall back to its common wording, never to the English."""
    catalog = _catalog(language)
    missing = sorted(
        (context or "", msgid)
        for context, msgid in _used_messages()
        if (context, msgid) not in catalog and (None, msgid) not in catalog
    )
    assert missing == [], f"missing from the {language} catalog"


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_match(language: str) -> None:
    for (_context, msgid), text in _catalog(language).items():
        assert _placeholders(text) == _placeholders(msgid), msgid


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_has_no_leftovers(language: str) -> None:
    catalog = _catalog(language)
    asked = _used_messages()
    # The common wording is used when asked for plainly, or as the fallback of a context without its own.
    used = asked | {(None, msgid) for context, msgid in asked if (context, msgid) not in catalog}
    unused = sorted((context or "", msgid) for context, msgid in catalog.keys() - used)
    assert unused == [], f"the {language} catalog has messages no code uses"


def test_officers_wording_falls_back_to_the_common_one() -> None:
    assert translate_in(OFFICERS, "zh-Hans", "I agree") == translate("zh-Hans", "I agree")
    assert translate_in(OFFICERS, "zh-Hans", "resolved") != translate("zh-Hans", "resolved")


def test_parameters_are_escaped_for_html() -> None:
    text = translate("en", "Welcome to {union}. Please choose your language:", union="<b>A&B</b>")
    assert "&lt;b&gt;A&amp;B&lt;/b&gt;" in text
    assert "<b>bold</b>" in translate("en", "Welcome back to {union}.", union=Html("<b>bold</b>"))


def test_chinese_is_served() -> None:
    assert translate("zh-Hans", "I agree") == "我同意"
    assert translate("zh-Hant", "Change language") == "換語言"


@pytest.mark.parametrize(
    ("length", "language", "expected"),
    [
        (timedelta(minutes=25), "zh-Hans", "25分钟"),
        (timedelta(hours=1, minutes=30), "en", "1.5 h"),
        (timedelta(hours=4), "zh-Hans", "4小时"),
        (timedelta(hours=47), "zh-Hans", "47小时"),
        (timedelta(days=14, hours=17), "zh-Hant", "14.7天"),
        (timedelta(days=2), "en", "2 days"),
        (timedelta(days=365), "zh-Hans", "1年"),
        (timedelta(days=730), "zh-Hans", "2年"),
        (timedelta(days=730), "en", "2 years"),
        (timedelta(days=365), "en", "1 year"),
        (timedelta(days=90), "zh-Hant", "3個月"),
        (timedelta(days=45), "en", "45 days"),
    ],
)
def test_lengths_of_time_read_in_the_unit_people_use(length: timedelta, language: str, expected: str) -> None:
    assert span(language, length) == expected


@pytest.mark.parametrize(
    ("amount", "language", "expected"),
    [
        ("8500", "zh-Hans", "8500元"),
        ("8500", "en", "8,500 yuan"),
        ("12000", "zh-Hans", "1.2万元"),
        ("12500", "zh-Hant", "1.25萬元"),
        ("10000000", "zh-Hans", "1000万元"),
        ("123456", "zh-Hans", "12万3456元"),
        ("8500.50", "zh-Hans", "8500.50元"),
        ("10000000", "en", "10,000,000 yuan"),
    ],
)
def test_amounts_read_as_people_say_them(amount: str, language: str, expected: str) -> None:
    assert money(language, Decimal(amount)) == expected


def test_separators_are_the_languages_own() -> None:
    assert labelled("zh-Hans", "欠工资的老板", "宏达建筑") == "欠工资的老板：宏达建筑"
    assert labelled("en", "Who owes", "Hongda") == "Who owes: Hongda"
    assert listing("zh-Hant", ["W-000001", "W-000002"]) == "W-000001、W-000002"
    assert listing("en", ["W-000001", "W-000002"]) == "W-000001, W-000002"
