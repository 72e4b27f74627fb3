"""Translations: gettext catalogs (.po) per worker language, read at run time with Babel.

Catalogs are read from the .po files directly, so a plain ``pip install`` needs no compile step; for
plurals (``{count} worker`` / ``{count} workers``) a catalog is compiled in memory at first use, and
gettext picks the form by the catalog's Plural-Forms (one in Chinese, two in English).
Message ids are the English source text. Every message is HTML (the bot sends with parse_mode HTML),
so parameters are escaped here, once, and user text can never break a message.

Workers and officers get different words for some things (bot/locales/glossary.toml): where the same
English serves both, the officers' wording sits under the ``officers`` msgctxt, and a message asked for
in that context falls back to the common wording when officers need no word of their own. Separators,
amounts of money and lengths of time are written here too, so each language writes them its own way.
"""

from __future__ import annotations

import gettext
import html
import io
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Final

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from storage.models import Officer

LANGUAGES: Final = ("zh-Hans", "zh-Hant", "en")
LANGUAGE_NAMES: Final = {"zh-Hans": "简体中文", "zh-Hant": "繁體中文", "en": "English"}
CATALOG_DOMAIN: Final = "messages"
OFFICERS: Final = "officers"  # the msgctxt of officers' wording, where it differs from the workers'


def locale_dir_name(language: str) -> str:
    return language.replace("-", "_")


class Html(str):
    """Text that is already valid Telegram HTML and must not be escaped again."""

    __slots__ = ()


def N_(msgid: str) -> str:
    """Mark a message id for extraction where it is translated later (menus, constants)."""
    return msgid


def NP_(msgctxt: str, msgid: str) -> str:
    """Mark a message id in a context (e.g. officers' wording of a shared label) for extraction."""
    del msgctxt
    return msgid


def Nn_(singular: str, plural: str) -> tuple[str, str]:
    """Mark a message with plural forms for extraction; translate it later with ``t.plural(*ids, count)``."""
    return singular, plural


CatalogKey = tuple[str | None, str]  # (msgctxt, msgid)
PluralKey = tuple[str | None, str, str]  # (msgctxt, msgid, msgid_plural)


@cache
def _po(language: str) -> Catalog:
    po_file = (
        resources.files("bot")
        / "locales"
        / locale_dir_name(language)
        / "LC_MESSAGES"
        / f"{CATALOG_DOMAIN}.po"
    )
    with po_file.open("rb") as handle:
        return read_po(handle, locale=locale_dir_name(language))


@cache
def _catalog(language: str) -> dict[CatalogKey, str]:
    return {
        (message.context, message.id): message.string
        for message in _po(language)
        if message.id and isinstance(message.id, str) and isinstance(message.string, str) and message.string
    }


@cache
def _plural_catalog(language: str) -> dict[PluralKey, tuple[str, ...]]:
    """The messages with plural forms, each with its text per plural form of the language."""
    return {
        (message.context, message.id[0], message.id[1]): tuple(message.string)
        for message in _po(language)
        if isinstance(message.id, tuple) and isinstance(message.string, tuple) and all(message.string)
    }


@cache
def _compiled(language: str) -> gettext.GNUTranslations:
    """The catalog compiled to a .mo in memory at first use, for gettext's plural forms."""
    mo = io.BytesIO()
    write_mo(mo, _po(language))
    mo.seek(0)
    return gettext.GNUTranslations(mo)


def translate(language: str, msgid: str, /, **params: object) -> str:
    """The message in this language, with parameters HTML-escaped and filled in."""
    return _fill(_lookup(language, None, msgid), params)


def translate_in(msgctxt: str, language: str, msgid: str, /, **params: object) -> str:
    """The message as worded for ``msgctxt`` (e.g. OFFICERS), else its common wording."""
    return _fill(_lookup(language, msgctxt, msgid), params)


def translate_plural(language: str, singular: str, plural: str, count: int, /, **params: object) -> str:
    """The message in the plural form this language uses for ``count``, which fills ``{count}``."""
    return _fill(_lookup_plural(language, None, singular, plural, count), {"count": count, **params})


def translate_plural_in(
    msgctxt: str, language: str, singular: str, plural: str, count: int, /, **params: object
) -> str:
    """:func:`translate_plural` as worded for ``msgctxt`` (e.g. OFFICERS), else its common wording."""
    return _fill(_lookup_plural(language, msgctxt, singular, plural, count), {"count": count, **params})


def _lookup(language: str, msgctxt: str | None, msgid: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    catalog = _catalog(language)
    if msgctxt is not None and (msgctxt, msgid) in catalog:
        return catalog[(msgctxt, msgid)]
    return catalog.get((None, msgid), msgid)


def _lookup_plural(language: str, msgctxt: str | None, singular: str, plural: str, count: int) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    translations = _compiled(language)
    if msgctxt is not None and (msgctxt, singular, plural) in _plural_catalog(language):
        return translations.npgettext(msgctxt, singular, plural, count)
    return translations.ngettext(singular, plural, count)  # the English source when not translated


def _fill(text: str, params: dict[str, object]) -> str:
    if not params:
        return text
    return text.format(**{name: _escape(value) for name, value in params.items()})


def _escape(value: object) -> str:
    if isinstance(value, Html):
        return value
    return html.escape(str(value), quote=False)


class TranslatableError(ValueError):
    """A refusal worded for whoever reads it: the message id and its parameters, translated on demand.

    ``str(error)`` is the English text, for logs and the command line; ``text(language)`` is for the bot.
    """

    def __init__(self, msgid: str, **params: object) -> None:
        super().__init__(translate("en", msgid, **params))
        self.msgid = msgid
        self.params = params

    def text(self, language: str) -> str:
        return translate(language, self.msgid, **self.params)


def officer_language(officer: Officer, default: str) -> str:
    """The first language the officer lists that the bot speaks, else the union's default."""
    return next((language for language in officer.languages if language in LANGUAGES), default)


class Translator:
    """``t("Hello {name}", name=...)`` (and ``t.plural(...)``) bound to one language."""

    __slots__ = ("language",)

    def __init__(self, language: str) -> None:
        self.language = language

    def __call__(self, msgid: str, /, **params: object) -> str:
        return translate(self.language, msgid, **params)

    def plural(self, singular: str, plural: str, count: int, /, **params: object) -> str:
        """``t.plural("{count} worker", "{count} workers", n)``: the form for ``n``, filling ``{count}``."""
        return translate_plural(self.language, singular, plural, count, **params)


# -- separators, money and time, as each language writes them ----------------------------------------


def labelled(language: str, label: str, value: str) -> Html:
    """``label: value`` with the language's colon ("：" in Chinese). Both are HTML already."""
    return Html(translate(language, "{label}: {value}", label=Html(label), value=Html(value)))


def listing(language: str, items: Iterable[str]) -> str:
    """Items joined the language's way ("、" in Chinese). The items are HTML already."""
    return translate(language, ", ").join(items)


_WAN = Decimal(10_000)
_WAN_SIGN: Final = {"zh-Hans": "万", "zh-Hant": "萬"}  # Chinese counts large sums in ten-thousands


def money(language: str, amount: Decimal) -> str:
    """An amount of yuan as people read it: "8,500 yuan"; in Chinese "8500元", "1.2万元", "12万3456元"."""
    return translate(language, "{amount} yuan", amount=amount_number(language, amount))


def amount_number(language: str, amount: Decimal) -> str:
    """The number of :func:`money` alone (for a chart's bars): "8,500"; in Chinese "8500", "1.2万"."""
    if language == "en":
        return _digits(amount, grouped=True)
    if amount < _WAN:
        return _digits(amount, grouped=False)
    sign = _WAN_SIGN[language]
    wan, rest = divmod(amount, _WAN)
    if not rest:
        return f"{wan:.0f}{sign}"
    if rest % 100 == 0:  # 1.2万, 1.25万: how round amounts are said
        return f"{(amount / _WAN).normalize():f}{sign}"
    return f"{wan:.0f}{sign}{_digits(rest, grouped=False)}"


def _digits(amount: Decimal, *, grouped: bool) -> str:
    places = 0 if amount == amount.to_integral_value() else 2
    return f"{amount:,.{places}f}" if grouped else f"{amount:.{places}f}"


_DAY = timedelta(days=1)


def span(language: str, length: timedelta, *, to_the_second: bool = False) -> str:
    """A length of time in the unit people use for it: 40 min, 5 h, 3 days, 2 months, a year.

    Minutes under an hour (seconds under a minute, ``to_the_second``, for the operator's status), hours
    (one decimal) under two days, then whole years or months where the length is made of them (365 days
    is a year, 90 days three months), else days.
    """
    seconds = length.total_seconds()
    if to_the_second and seconds < 60:
        return translate(language, "{count} s", count=max(round(seconds), 0))
    if seconds < 3600:
        return translate(language, "{count} min", count=max(round(seconds / 60), 1))
    if seconds < 2 * 86400:
        return translate(language, "{count} h", count=_one_decimal(seconds / 3600))
    if length % _DAY:
        return translate(language, "{count} days", count=_one_decimal(seconds / 86400))
    days = length // _DAY
    if days % 365 == 0:
        return translate_plural(language, "{count} year", "{count} years", days // 365)
    if days % 30 == 0:
        return translate_plural(language, "{count} month", "{count} months", days // 30)
    return translate(language, "{count} days", count=days)


def _one_decimal(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")
