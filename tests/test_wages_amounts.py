"""Reading what workers type for the wages form: amounts of money, months, numbers of people."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.cases.amounts import AmountError, AmountProblem, months_from_text, parse_amount, parse_workers


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("8500", "8500"),
        ("8,500", "8500"),
        ("8500元", "8500"),
        ("8500 元", "8500"),
        ("¥8,500", "8500"),
        ("￥8500", "8500"),  # full-width yen sign
        ("８５００", "8500"),  # full-width digits
        ("８，５００元", "8500"),  # full-width comma
        ("8.5千", "8500"),
        ("8.5k", "8500"),
        ("8.5K", "8500"),
        ("1.2万", "12000"),
        ("1.2万元", "12000"),
        ("1.2w", "12000"),
        ("3萬", "30000"),  # traditional characters
        ("8500块", "8500"),
        ("RMB 8500", "8500"),
        ("8500 yuan", "8500"),
        ("8500.50", "8500.50"),
        ("1,234,567.8", "1234567.80"),
        ("0.5", "0.50"),
        (" 8500 ", "8500"),
        ("10000000", "10000000"),  # the largest taken
        # Chinese numerals and the mixed and spoken short forms workers type (read with cn2an).
        ("八千五", "8500"),  # 八千五百
        ("一万二", "12000"),  # 一万二千
        ("3千", "3000"),
        ("两千五百元", "2500"),
        ("兩千五百元", "2500"),  # Traditional
        ("三萬五", "35000"),
        ("1万2", "12000"),
        ("八千五百五十五点五", "8555.50"),
        ("十二万三千四百五十六", "123456"),
    ],
)
def test_amounts_in_every_accepted_format(typed: str, expected: str) -> None:
    assert parse_amount(typed) == Decimal(expected)


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("0", AmountProblem.ZERO),
        ("0元", AmountProblem.ZERO),
        ("0.00", AmountProblem.ZERO),
        ("0.001", AmountProblem.ZERO),  # less than a cent
        ("-500", AmountProblem.NEGATIVE),
        ("－500", AmountProblem.NEGATIVE),  # full-width minus
        ("¥-8,500", AmountProblem.NEGATIVE),
        ("-1.2万", AmountProblem.NEGATIVE),
        ("10000000.01", AmountProblem.TOO_LARGE),
        ("1001万", AmountProblem.TOO_LARGE),
        ("99999999999999999999", AmountProblem.TOO_LARGE),
        ("a lot", AmountProblem.NOT_A_NUMBER),
        ("八千五abc", AmountProblem.NOT_A_NUMBER),
        ("半", AmountProblem.NOT_A_NUMBER),
        ("零", AmountProblem.ZERO),
        ("负五百", AmountProblem.NEGATIVE),
        ("一千零一万", AmountProblem.TOO_LARGE),
        ("8500abc", AmountProblem.NOT_A_NUMBER),
        ("85,00", AmountProblem.NOT_A_NUMBER),  # a misplaced thousands separator
        ("8.5.0", AmountProblem.NOT_A_NUMBER),
        ("1e5", AmountProblem.NOT_A_NUMBER),
        ("NaN", AmountProblem.NOT_A_NUMBER),
        ("Infinity", AmountProblem.NOT_A_NUMBER),
        ("¥", AmountProblem.NOT_A_NUMBER),
        ("万", AmountProblem.NOT_A_NUMBER),
        ("<b>8500</b>", AmountProblem.NOT_A_NUMBER),
        ("", AmountProblem.NOT_A_NUMBER),
    ],
)
def test_amounts_refused_with_the_reason(typed: str, problem: AmountProblem) -> None:
    with pytest.raises(AmountError) as refused:
        parse_amount(typed)
    assert refused.value.problem == problem


@pytest.mark.parametrize(
    ("typed", "months"),
    [
        ("3", 3),
        ("3个月", 3),
        ("３個月", 3),
        ("三个月", 3),
        ("十二个月", 12),
        ("3 months", 3),
        ("1 month", 1),
        ("半年", 6),
        ("一年", 12),
        ("两年", 24),
        ("2 years", 24),
        ("since March", None),
        ("从三月开始", None),
        ("0个月", None),
        ("9999 months", None),
    ],
)
def test_months_read_from_typed_text(typed: str, months: int | None) -> None:
    assert months_from_text(typed) == months


@pytest.mark.parametrize(
    ("typed", "count"),
    [
        ("5", 5),
        ("５", 5),
        ("5人", 5),
        ("5 个人", 5),
        ("十二个人", 12),
        ("二十", 20),
        ("5 people", 5),
        ("12 of us", 12),
        ("0", 0),  # read, then refused by the range check
        ("many", None),
        ("-3", None),
        ("3.5", None),
    ],
)
def test_numbers_of_workers(typed: str, count: int | None) -> None:
    assert parse_workers(typed) == count
