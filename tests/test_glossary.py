"""The catalogs keep the glossary (bot/locales/glossary.toml): one word for each thing, per audience.

A message is worker-facing when a worker module asks for it without the officers' msgctxt; everything
else is read by officers. The Chinese catalogs also keep one rule for separators and spacing.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from bot.i18n import OFFICERS, _catalog, translate, translate_in

REPO = Path(__file__).resolve().parent.parent
GLOSSARY = tomllib.loads((REPO / "bot" / "locales" / "glossary.toml").read_text(encoding="utf-8"))
KEYWORDS = {"t": None, "N_": None, "NP_": ((1, "c"), 2), "translate": (2,), "translate_in": ((1, "c"), 3)}
WORKER_MODULES = ("flows/", "bot/notify.py", "bot/commands.py", "bot/broadcasts.py")
CHINESE = ("zh-Hans", "zh-Hant")
HAN = r"[\u3400-\u9fff]"


def _messages() -> Iterator[tuple[str, str | None, str]]:
    """(file, msgctxt, msgid) of every message the code asks for."""
    for package in ("bot", "flows"):
        for file, _line, message, _comments, context in extract_from_dir(
            REPO / package, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            if isinstance(message, str) and message:
                yield f"{package}/{file}", context, message


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
    texts = {msgid: translate(language, msgid) for msgid in WORKER_IDS}
    assert _offences(texts, _avoided("worker")) == []


@pytest.mark.parametrize("language", CHINESE)
def test_officers_read_the_officers_words(language: str) -> None:
    texts = {msgid: translate_in(OFFICERS, language, msgid) for msgid in OFFICER_IDS}
    assert _offences(texts, _avoided("officer")) == []


def test_the_worker_vocabulary_is_checked() -> None:
    """The glossary's examples: a worker never reads 群体性 or 案件 (and the test would see them)."""
    assert {"群体性", "案件"} <= set(_avoided("worker"))
    assert "📂 My cases" in WORKER_IDS and "🔴 Collective case" in OFFICER_IDS
    assert "案件" in translate_in(OFFICERS, "zh-Hans", "🔴 Collective case")


def test_hong_kong_words_in_every_traditional_message() -> None:
    words = GLOSSARY["hant"]["avoid_hant_everywhere"]
    texts = {msgid: text for (_context, msgid), text in _catalog("zh-Hant").items()}
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
        for (_context, msgid), text in _catalog(language).items()
        for rule, pattern in rules.items()
        if pattern.search(text)
    ]
    assert found == []
