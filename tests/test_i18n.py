"""Every message the code uses is in every catalog, with the same placeholders."""

from __future__ import annotations

import string
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from bot.core.i18n import (
    LANGUAGES,
    OFFICERS,
    Html,
    Translator,
    _catalog,
    _plural_catalog,
    _po,
    labelled,
    listing,
    money,
    span,
    translate,
    translate_in,
    translate_plural,
    translate_plural_in,
)

REPO = Path(__file__).resolve().parent.parent
KEYWORDS = {
    "t": None,
    "N_": None,
    "NP_": ((1, "c"), 2),
    "translate": (2,),
    "translate_in": ((1, "c"), 3),
    # plurals: translate_plural(language, singular, plural, count), t.plural(singular, plural, count)
    "translate_plural": (2, 3),
    "translate_plural_in": ((1, "c"), 3, 4),
    "plural": (1, 2),
    "Nn_": (1, 2),
}


def extracted() -> list[tuple[str, str | None, str | tuple[str, ...]]]:
    """(file, msgctxt, message) of every message the code asks for (a plural's message is a tuple)."""
    found = []
    for package in ("bot", "flows"):
        for file, _line, message, _comments, context in extract_from_dir(
            REPO / package, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            found.append((f"{package}/{file}", context, message))
    return found


def _extracted() -> list[tuple[str | None, str | tuple[str, ...]]]:
    return [(context, message) for _file, context, message in extracted()]


def _used_messages() -> set[tuple[str | None, str]]:
    """(msgctxt, msgid) of every message the code asks for."""
    return {(context, message) for context, message in _extracted() if isinstance(message, str) and message}


def _used_plurals() -> set[tuple[str | None, str, str]]:
    """(msgctxt, msgid, msgid_plural) of every message with plural forms the code asks for."""
    return {
        (context, message[0], message[1])
        for context, message in _extracted()
        if isinstance(message, tuple) and len(message) == 2 and all(message)
    }


def _used_message_ids() -> set[str]:
    return {msgid for _context, msgid in _used_messages()}


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_code_uses_messages() -> None:
    assert "Please choose your language:" in _used_message_ids()
    assert (None, "{count} file", "{count} files") in _used_plurals()


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
def test_every_used_plural_is_translated(language: str) -> None:
    """In every plural form of the language, and never as a plain message (which plurals do not read)."""
    catalog = _plural_catalog(language)
    missing = sorted(
        (context or "", singular, plural)
        for context, singular, plural in _used_plurals()
        if (context, singular, plural) not in catalog and (None, singular, plural) not in catalog
    )
    assert missing == [], f"plurals missing from the {language} catalog"
    assert {msgid for _context, msgid, _plural in _used_plurals()}.isdisjoint(_used_message_ids())


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_match(language: str) -> None:
    for (_context, msgid), text in _catalog(language).items():
        assert _placeholders(text) == _placeholders(msgid), msgid
    forms = _po(language).num_plurals
    for (_context, singular, plural), texts in _plural_catalog(language).items():
        assert len(texts) == forms, singular
        assert _placeholders(singular) == _placeholders(plural), singular
        for text in texts:
            assert _placeholders(text) == _placeholders(plural), singular


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_has_no_leftovers(language: str) -> None:
    catalog = _catalog(language)
    asked = _used_messages()
    # The common wording is used when asked for plainly, or as the fallback of a context without its own.
    used = asked | {(None, msgid) for context, msgid in asked if (context, msgid) not in catalog}
    unused = sorted((context or "", msgid) for context, msgid in catalog.keys() - used)
    assert unused == [], f"the {language} catalog has messages no code uses"


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_has_no_leftover_plurals(language: str) -> None:
    catalog = _plural_catalog(language)
    asked = _used_plurals()
    used = asked | {(None, *ids) for context, *ids in asked if (context, *ids) not in catalog}
    unused = sorted((context or "", *ids) for context, *ids in catalog.keys() - used)
    assert unused == [], f"the {language} catalog has plurals no code uses"
    everything = {message.id if isinstance(message.id, str) else message.id[0] for message in _po(language)}
    assert everything - {""} == {msgid for _c, msgid in _catalog(language)} | {s for _c, s, _p in catalog}


def test_plurals_take_the_languages_forms() -> None:
    """English says "1 worker" and "3 workers"; Chinese has one form for every number."""
    one, many = "{count} worker, as reported", "{count} workers, as reported"
    assert translate_plural("en", one, many, 1) == "1 worker, as reported"
    assert translate_plural("en", one, many, 3) == "3 workers, as reported"
    assert translate_plural("en", one, many, 0) == "0 workers, as reported"
    assert Translator("en").plural("{count} file", "{count} files", 1) == "1 file"
    assert translate_plural_in(OFFICERS, "en", "{count} file", "{count} files", 2) == "2 files"
    assert translate_plural("zh-Hans", one, many, 1) == "1名工人（按工人反映的人数）"
    assert translate_plural("zh-Hans", one, many, 3) == "3名工人（按工人反映的人数）"
    assert Translator("zh-Hant").plural("{count} file", "{count} files", 1) == "1個文件"
    assert Translator("zh-Hant").plural("{count} file", "{count} files", 5) == "5個文件"
    reach = translate_plural("en", "Broadcast reach: {count} worker", "Broadcast reach: {count} workers", 1)
    assert reach == "Broadcast reach: 1 worker"
    told = translate_plural(
        "en",
        "To: {audience} ({count} worker now)",
        "To: {audience} ({count} workers now)",
        2,
        audience="<all>",
    )
    assert told == "To: &lt;all&gt; (2 workers now)"


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
