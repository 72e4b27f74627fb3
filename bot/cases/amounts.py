"""Numbers as workers type them: amounts of money, counts of people, lengths of unpaid time.

Full-width digits, currency signs and marks, 千/万 and k, and small Chinese numbers are all read; what
cannot be taken raises AmountError with the reason, whose message is in AMOUNT_PROBLEMS.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

import cn2an

from bot.core.i18n import N_

MAX_AMOUNT = Decimal(10_000_000)  # more than this is a typo (an extra zero), not one wage claim
MAX_WORKERS = 10_000
MAX_MONTHS = 600


class AmountProblem(StrEnum):
    NOT_A_NUMBER = "not_a_number"
    ZERO = "zero"
    NEGATIVE = "negative"
    TOO_LARGE = "too_large"


AMOUNT_PROBLEMS: dict[AmountProblem, str] = {
    AmountProblem.NOT_A_NUMBER: N_("I could not read an amount there."),
    AmountProblem.ZERO: N_("The amount must be more than 0."),
    AmountProblem.NEGATIVE: N_("The amount cannot be negative."),
    AmountProblem.TOO_LARGE: N_("That is more than {limit}. Please check the number of zeros."),
}


class AmountError(ValueError):
    """An amount that cannot be taken; ``problem`` says why (its message is in AMOUNT_PROBLEMS)."""

    def __init__(self, problem: AmountProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


_CURRENCY = re.compile(r"^(?:¥|rmb|cny)|(?:元|圆|块钱|块|塊錢|塊|yuan|rmb|cny)$")
_MULTIPLIERS = {"千": 1000, "k": 1000, "万": 10_000, "萬": 10_000, "w": 10_000}
_PLAIN = re.compile(r"^\d+(?:\.\d+)?$")
_GROUPED = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_MINUS = ("-", "−")


def parse_amount(text: str) -> Decimal:
    """An amount of money as workers type it: 8500, 8,500, 8500元, ¥8,500, ８５００, 8.5千, 8.5k, 1.2万,
    and in Chinese numerals or mixed: 八千五 (8500), 一万二 (12000), 两千五百元, 1万2, 三万五.

    Rounded to cents. Raises AmountError for zero, negative, unreadable and implausibly large amounts.
    """
    # NFKC turns full-width digits and signs (Chinese input methods) into ASCII: ８５００ → 8500, ￥ → ¥.
    clean = unicodedata.normalize("NFKC", text).lower()
    clean = re.sub(r"\s+", "", clean)
    for _ in range(2):  # a sign and a currency on both sides: ¥8500元
        clean = _CURRENCY.sub("", clean)
    negative = clean.startswith(_MINUS)
    clean = clean.lstrip("".join(_MINUS)).lstrip("¥")
    typed = clean
    multiplier = 1
    if clean and clean[-1] in _MULTIPLIERS:
        multiplier = _MULTIPLIERS[clean[-1]]
        clean = clean[:-1]
    if _PLAIN.match(clean) or _GROUPED.match(clean):
        number = Decimal(clean.replace(",", "")) * multiplier
    else:
        number = _chinese_number(typed)
        negative = negative or number < 0
    try:
        amount = abs(number).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation as error:
        raise AmountError(AmountProblem.NOT_A_NUMBER) from error
    if amount == 0:
        raise AmountError(AmountProblem.ZERO)
    if negative:
        raise AmountError(AmountProblem.NEGATIVE)
    if amount > MAX_AMOUNT:
        raise AmountError(AmountProblem.TOO_LARGE)
    return amount


# Chinese numerals, and the Traditional forms cn2an does not take.
_CHINESE_NUMERAL = re.compile(r"[零〇一二两三四五六七八九十廿百千万亿点负]")
_TO_SIMPLIFIED = str.maketrans({"萬": "万", "億": "亿", "兩": "两", "點": "点", "負": "负"})


def _chinese_number(typed: str) -> Decimal:
    """八千五 → 8500, 一万二 → 12000, 1万2 → 12000, 负五百 → -500: cn2an's "smart" reading, which takes
    Chinese numerals mixed with digits and the spoken short forms; NOT_A_NUMBER for anything else."""
    simplified = typed.translate(_TO_SIMPLIFIED)
    if not _CHINESE_NUMERAL.search(simplified):
        raise AmountError(AmountProblem.NOT_A_NUMBER)
    try:
        return Decimal(str(cn2an.cn2an(simplified, "smart")))
    except (ValueError, InvalidOperation) as error:  # cn2an says ValueError for what it cannot read
        raise AmountError(AmountProblem.NOT_A_NUMBER) from error


_CHINESE_DIGITS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "兩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CHINESE_NUMBER = re.compile(r"^([一二两兩三四五六七八九]?)(十?)([一二两兩三四五六七八九]?)$")


def _small_number(text: str) -> int | None:
    """Digits, or a Chinese number up to 99 (三, 十二, 二十五); None otherwise."""
    if text.isascii() and text.isdigit():
        return int(text)
    match = _CHINESE_NUMBER.match(text)
    if not text or match is None:
        return None
    tens, ten, ones = match.groups()
    if not ten:  # one digit alone (三); two without 十 (三五) is not a number
        return _CHINESE_DIGITS[tens] if tens and not ones else None
    return _CHINESE_DIGITS.get(tens, 1) * 10 + _CHINESE_DIGITS.get(ones, 0)


_MONTHS_TYPED = re.compile(r"^(\w+?)(?:个月|個月|月|months?|mos?)$")
_YEARS_TYPED = re.compile(r"^(\w+?)(?:年|years?|yrs?)$")
_HALF_YEAR = ("半年", "halfayear", "halfyear")


def months_from_text(text: str) -> int | None:
    """How many months a typed answer means, if it is simply that ("3个月", "3 months", "一年"); else None."""
    clean = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).lower())
    if clean in _HALF_YEAR:
        return 6
    months: int | None = None
    if match := _MONTHS_TYPED.match(clean):
        months = _small_number(match.group(1))
    elif (match := _YEARS_TYPED.match(clean)) and (years := _small_number(match.group(1))) is not None:
        months = years * 12
    else:
        months = _small_number(clean)
    return months if months is not None and 1 <= months <= MAX_MONTHS else None


_PEOPLE = re.compile(r"(?:个人|個人|人|名|个|個|people|persons?|workers?|ofus)$")


def parse_workers(text: str) -> int | None:
    """A number of people as typed ("5", "５", "5人", "十二个人", "5 people"); None if it is not one."""
    clean = _PEOPLE.sub("", re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).lower()))
    return _small_number(clean)
