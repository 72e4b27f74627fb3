"""The catalogs keep the glossary (bot/locales/glossary.toml): one word for each thing, per audience.

A message is worker-facing when a worker module asks for it without the officers' msgctxt; everything
else is read by officers. The Chinese catalogs also keep one rule for separators and spacing.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Iterator

import pytest

from bot.core.i18n import (
    OFFICERS,
    _catalog,
    _plural_catalog,
    translate,
    translate_in,
    translate_plural,
    translate_plural_in,
)
from tests.test_i18n import REPO, extracted

GLOSSARY = tomllib.loads((REPO / "bot" / "locales" / "glossary.toml").read_text(encoding="utf-8"))
WORKER_MODULES = ("flows/", "bot/cases/notify.py", "bot/runtime/commands.py", "bot/broadcasts/dispatch.py")
CHINESE = ("zh-Hans", "zh-Hant")
HAN = r"[\u3400-\u9fff]"


def _messages() -> Iterator[tuple[str, str | None, str]]:
    """(file, msgctxt, msgid) of every message the code asks for."""
    for file, context, message in extracted():
        if isinstance(message, str) and message:
            yield file, context, message
        elif isinstance(message, tuple) and len(message) == 2 and all(message):
            PLURALS[message[0]] = message[1]
            yield file, context, message[0]


PLURALS: dict[str, str] = {}  # msgid -> msgid_plural, of the messages with plural forms


def _read(language: str, msgid: str, msgctxt: str | None = None) -> str:
    """The message as read (a plural in its form for many: Chinese has only that one)."""
    if msgid in PLURALS:
        kept = {name: f"{{{name}}}" for _, name, _, _ in string.Formatter().parse(msgid) if name}
        if msgctxt is None:
            return translate_plural(language, msgid, PLURALS[msgid], 2, **kept)
        return translate_plural_in(msgctxt, language, msgid, PLURALS[msgid], 2, **kept)
    return translate(language, msgid) if msgctxt is None else translate_in(msgctxt, language, msgid)


def _catalog_texts(language: str) -> list[tuple[str, str]]:
    """(msgid, text) of every message in the catalog, each plural form too."""
    texts = [(msgid, text) for (_context, msgid), text in _catalog(language).items()]
    forms = _plural_catalog(language).items()
    return texts + [(msgid, text) for (_context, msgid, _plural), each in forms for text in each]


def _audiences() -> tuple[set[str], set[str]]:
    """The msgids workers read, and those officers read (a shared label is in both)."""
    workers, officers = set(), set()
    for file, context, msgid in _messages():
        if context is None and file.startswith(WORKER_MODULES):
            workers.add(msgid)
        else:
            officers.add(msgid)
    return workers, officers


WORKER_IDS, OFFICER_IDS = _audiences()


def _avoided(audience: str) -> list[str]:
    return [
        word for term in GLOSSARY["term"] if term["audience"] in (audience, "both") for word in term["avoid"]
    ]


def _offences(texts: dict[str, str], words: list[str]) -> list[tuple[str, str]]:
    return sorted((word, msgid) for msgid, text in texts.items() for word in words if word in text)


@pytest.mark.parametrize("language", CHINESE)
def test_workers_read_the_workers_words(language: str) -> None:
    texts = {msgid: _read(language, msgid) for msgid in WORKER_IDS}
    assert _offences(texts, _avoided("worker")) == []


@pytest.mark.parametrize("language", CHINESE)
def test_officers_read_the_officers_words(language: str) -> None:
    texts = {msgid: _read(language, msgid, OFFICERS) for msgid in OFFICER_IDS}
    assert _offences(texts, _avoided("officer")) == []


def test_the_worker_vocabulary_is_checked() -> None:
    """The glossary's examples: a worker never reads 群体性 or 案件 (and the test would see them)."""
    assert {"群体性", "案件"} <= set(_avoided("worker"))
    assert all((REPO / module).exists() for module in WORKER_MODULES)  # a moved module is still checked
    assert "📂 My cases" in WORKER_IDS and "🔴 Collective case" in OFFICER_IDS
    assert "案件" in translate_in(OFFICERS, "zh-Hans", "🔴 Collective case")


def test_hong_kong_words_in_every_traditional_message() -> None:
    words = GLOSSARY["hant"]["avoid_hant_everywhere"]
    texts = dict(_catalog_texts("zh-Hant"))
    assert _offences(texts, words) == []


@pytest.mark.parametrize("language", CHINESE)
def test_chinese_separators_and_spacing(language: str) -> None:
    """ "：" and "、" after Chinese, numbers touching their units, no gap inside a Chinese phrase."""
    rules = {
        "ASCII colon after Chinese": re.compile(rf"{HAN}: "),
        "ASCII comma after Chinese": re.compile(rf"{HAN}, "),
        "space inside Chinese": re.compile(rf"{HAN} +{HAN}"),
        "space between a number and Chinese": re.compile(rf"\d +{HAN}|{HAN} +\d"),
    }
    found = [
        (rule, msgid)
        for msgid, text in _catalog_texts(language)
        for rule, pattern in rules.items()
        if pattern.search(text)
    ]
    assert found == []
