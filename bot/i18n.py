"""Translations: gettext catalogs (.po) per worker language, read at run time with Babel.

Catalogs are read from the .po files directly, so a plain ``pip install`` needs no compile step.
Message ids are the English source text. Every message is HTML (the bot sends with parse_mode HTML),
so parameters are escaped here, once, and user text can never break a message.
"""

from __future__ import annotations

import html
from functools import cache
from importlib import resources
from typing import Final

from babel.messages.pofile import read_po

LANGUAGES: Final = ("zh-Hans", "zh-Hant", "en")
LANGUAGE_NAMES: Final = {"zh-Hans": "简体中文", "zh-Hant": "繁體中文", "en": "English"}
CATALOG_DOMAIN: Final = "messages"


def locale_dir_name(language: str) -> str:
    return language.replace("-", "_")


class Html(str):
    """Text that is already valid Telegram HTML and must not be escaped again."""

    __slots__ = ()


def N_(msgid: str) -> str:
    """Mark a message id for extraction where it is translated later (menus, constants)."""
    return msgid


@cache
def _catalog(language: str) -> dict[str, str]:
    po_file = (
        resources.files("bot")
        / "locales"
        / locale_dir_name(language)
        / "LC_MESSAGES"
        / f"{CATALOG_DOMAIN}.po"
    )
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=locale_dir_name(language))
    return {message.id: message.string for message in catalog if message.id and message.string}


def translate(language: str, msgid: str, /, **params: object) -> str:
    """The message in this language, with parameters HTML-escaped and filled in."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    text = _catalog(language).get(msgid, msgid)
    if not params:
        return text
    return text.format(**{name: _escape(value) for name, value in params.items()})


def _escape(value: object) -> str:
    if isinstance(value, Html):
        return value
    return html.escape(str(value), quote=False)


class Translator:
    """``t("Hello {name}", name=...)`` bound to one language."""

    __slots__ = ("language",)

    def __init__(self, language: str) -> None:
        self.language = language

    def __call__(self, msgid: str, /, **params: object) -> str:
        return translate(self.language, msgid, **params)
