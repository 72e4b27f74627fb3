"""Every message the code uses is in every catalog, with the same placeholders."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from bot.i18n import LANGUAGES, Html, _catalog, translate

REPO = Path(__file__).resolve().parent.parent
KEYWORDS = {"t": None, "N_": None, "translate": (2,)}


def _used_message_ids() -> set[str]:
    found: set[str] = set()
    for package in ("bot", "flows"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            REPO / package, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            if isinstance(message, str) and message:
                found.add(message)
    return found


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_code_uses_messages() -> None:
    assert "Please choose your language:" in _used_message_ids()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_used_message_is_translated(language: str) -> None:
    missing = sorted(_used_message_ids() - _catalog(language).keys())
    assert missing == [], f"missing from the {language} catalog"


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_match(language: str) -> None:
    for msgid, text in _catalog(language).items():
        assert _placeholders(text) == _placeholders(msgid), msgid


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_has_no_leftovers(language: str) -> None:
    unused = sorted(_catalog(language).keys() - _used_message_ids())
    assert unused == [], f"the {language} catalog has messages no code uses"


def test_parameters_are_escaped_for_html() -> None:
    text = translate("en", "Welcome to {union}. Please choose your language:", union="<b>A&B</b>")
    assert "&lt;b&gt;A&amp;B&lt;/b&gt;" in text
    assert "<b>bold</b>" in translate("en", "Welcome back to {union}.", union=Html("<b>bold</b>"))


def test_chinese_is_served() -> None:
    assert translate("zh-Hans", "I agree") == "我同意"
    assert translate("zh-Hant", "Change language") == "換語言"
