"""Each chart draws as a PNG of the promised size with its Chinese labels: the suite turns warnings into
errors, so a missing glyph ("Glyph … missing from font(s)") fails the test."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO

import matplotlib
import pytest
from matplotlib.figure import Figure
from PIL import Image

from bot import charts
from bot.reports import MonthFigures, PeriodSeries, WeekFigures
from storage.models import CaseKind

CHARTS: dict[str, Callable[[PeriodSeries, str], bytes]] = {
    "cases per week": charts.cases_per_week,
    "wages per month": charts.wages_per_month,
    "on time per week": charts.on_time_per_week,
}


def _series(weeks: int = 9, months: int = 3) -> PeriodSeries:
    return PeriodSeries(
        weeks=[
            WeekFigures(
                monday=date(2025, 12, 29) + timedelta(weeks=n),
                new_by_kind={CaseKind.MEMBERSHIP: n % 2, CaseKind.WAGES: n % 3, CaseKind.LEGAL: 1},
                on_time=n % 3,
                on_time_counted=3 if n % 4 else 0,
            )
            for n in range(weeks)
        ],
        months=[
            MonthFigures(month=date(2026, n + 1, 1), wages_recovered=Decimal(4000 * n), workers_helped=n)
            for n in range(months)
        ],
    )


def _png_size(png: bytes) -> tuple[int, int]:
    with Image.open(BytesIO(png)) as image:
        assert image.format == "PNG"
        image.load()  # decodes the whole picture, not only its header
        return image.size


@pytest.mark.parametrize("language", ["zh-Hans", "zh-Hant"])
@pytest.mark.parametrize("name", CHARTS)
def test_each_chart_draws_its_chinese_labels(name: str, language: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = CHARTS[name](_series(), language)
    assert [str(warning.message) for warning in caught] == []
    assert _png_size(png) == charts.SIZE == (1200, 675)


def test_the_charts_draw_a_year_of_weeks_and_a_period_with_nothing_in_it() -> None:
    for png in charts.all_charts(_series(weeks=53, months=12), "en"):
        assert _png_size(png) == charts.SIZE
    empty = PeriodSeries(
        weeks=[_series(weeks=1).weeks[0].model_copy(update={"on_time_counted": 0})], months=[]
    )
    for png in charts.all_charts(empty, "zh-Hans"):
        assert _png_size(png) == charts.SIZE


def test_without_the_bundled_font_chinese_would_be_missing() -> None:
    """The check above can fail: matplotlib's own font has no Chinese and says so."""
    figure = Figure()
    figure.text(0.5, 0.5, "每周案件")
    with (
        matplotlib.rc_context({"font.family": ["DejaVu Sans"]}),
        pytest.warns(UserWarning, match="missing from font"),
    ):
        figure.savefig(BytesIO(), format="png")
    assert charts.cjk_font_name() == "Noto Sans CJK JP"
