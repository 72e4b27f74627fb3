"""Charts as PNG pictures for /report: cases per week by kind, wages recovered per month, the share of
cases answered on time per week.

matplotlib draws with its Agg backend (no display) on Figure objects, never pyplot's global state. Its
own fonts have no Chinese, so Noto Sans SC is registered by path the first time a chart is drawn: the
Simplified Chinese build of Noto Sans CJK (SIL OFL 1.1), the file notofonts/noto-cjk publishes, which
the ``pylopdf-fonts-zh-cn`` package installs with the bot (nothing is downloaded when drawing). Han
characters whose shapes differ between regions (骨, 直, 写) take their mainland-Chinese forms, not the
Japanese ones; the font also holds the Traditional characters of zh-Hant reports (in mainland shapes
too) and Latin letters for English ones. Drawing takes a fraction of a second (the first one a little
longer, reading the font): callers run it in a worker thread.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before anything else of matplotlib: never look for a display

from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from bot.cases.vocabulary import KIND_LABELS
from bot.core.i18n import amount_number, translate
from bot.reports.figures import PeriodSeries
from storage.models import CaseKind

WIDTH, HEIGHT, DPI = 8, 4.5, 150  # inches and dots per inch: 1200 × 675 pixels, 16:9 like a phone
SIZE = (int(WIDTH * DPI), int(HEIGHT * DPI))
KIND_COLOURS = {
    CaseKind.MEMBERSHIP: "#4C9F70",
    CaseKind.WAGES: "#D1495B",
    CaseKind.LEGAL: "#2E86AB",
    CaseKind.ASSISTANCE: "#EDAE49",
}
WAGES_COLOUR = "#D1495B"
ON_TIME_COLOUR = "#2E86AB"
MAX_LABELS = 14  # tick labels on the x axis before every other one is skipped

_lock = threading.Lock()  # matplotlib's settings are global: one chart at a time


def cjk_font_path() -> Path:
    """The charts' font file: Noto Sans SC Regular, as installed by the ``pylopdf-fonts-zh-cn`` package."""
    import pylopdf_fonts_zh_cn

    return Path(pylopdf_fonts_zh_cn.sans_path())


@cache
def cjk_font_name() -> str:
    """Register the charts' Chinese font with matplotlib (once) and return its family name."""
    path = str(cjk_font_path())
    font_manager.fontManager.addfont(path)
    return str(font_manager.FontProperties(fname=path).get_name())


@contextmanager
def _drawing() -> Iterator[None]:
    with _lock, matplotlib.rc_context({"font.family": [cjk_font_name()], "axes.unicode_minus": False}):
        yield


def _figure() -> tuple[Figure, Any]:
    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    axes = figure.subplots()
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    return figure, axes


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _thin_labels(axes: Any, labels: list[str]) -> None:
    """Label every bar, or every n-th when there are too many to read (a year has 53 weeks)."""
    step = max(1, -(-len(labels) // MAX_LABELS))
    axes.set_xticks(range(len(labels))[::step], labels[::step], rotation=45 if step > 1 else 0)


def cases_per_week(series: PeriodSeries, language: str) -> bytes:
    """Stacked bars: new cases per week, one colour per kind."""

    def t(msgid: str, /, **params: object) -> str:
        return translate(language, msgid, **params)

    with _drawing():
        figure, axes = _figure()
        positions = range(len(series.weeks))
        bottom = [0] * len(series.weeks)
        for kind in CaseKind:
            counts = [week.new_by_kind.get(kind, 0) for week in series.weeks]
            axes.bar(positions, counts, bottom=bottom, label=t(KIND_LABELS[kind]), color=KIND_COLOURS[kind])
            bottom = [below + count for below, count in zip(bottom, counts, strict=True)]
        _thin_labels(axes, [f"{week.monday:%m-%d}" for week in series.weeks])
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylim(0, max([*bottom, 1]) * 1.1)
        axes.set_title(t("Cases received per week, by kind"))
        figure.legend(loc="outside lower center", ncols=len(CaseKind), frameon=False)
        axes.set_xlabel(t("Week starting"))
        axes.set_ylabel(t("Cases"))
        return _png(figure)


def wages_per_month(series: PeriodSeries, language: str) -> bytes:
    """Bars: wages recovered per month, each labelled with its amount."""

    def t(msgid: str, /, **params: object) -> str:
        return translate(language, msgid, **params)

    with _drawing():
        figure, axes = _figure()
        amounts = [float(month.wages_recovered) for month in series.months]
        bars = axes.bar(range(len(amounts)), amounts, color=WAGES_COLOUR)
        axes.bar_label(
            bars,
            labels=[
                amount_number(language, month.wages_recovered) if month.wages_recovered else ""
                for month in series.months
            ],
            padding=3,
        )
        _thin_labels(axes, [f"{month.month:%Y-%m}" for month in series.months])
        axes.set_ylim(0, max([*amounts, 1.0]) * 1.15)
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
        axes.set_title(t("Wages recovered per month (yuan)"))
        axes.set_xlabel(t("Month"))
        axes.set_ylabel(t("Yuan"))
        return _png(figure)


def on_time_per_week(series: PeriodSeries, language: str) -> bytes:
    """Bars: the share of each week's cases that got their first response in time (none: no bar)."""

    def t(msgid: str, /, **params: object) -> str:
        return translate(language, msgid, **params)

    with _drawing():
        figure, axes = _figure()
        shares = [week.on_time_share for week in series.weeks]
        bars = axes.bar(
            range(len(shares)),
            [share * 100 if share is not None else 0 for share in shares],
            color=ON_TIME_COLOUR,
        )
        axes.bar_label(
            bars,
            labels=[
                f"{week.on_time}/{week.on_time_counted}" if week.on_time_counted else "—"
                for week in series.weeks
            ],
            padding=3,
        )
        _thin_labels(axes, [f"{week.monday:%m-%d}" for week in series.weeks])
        axes.set_ylim(0, 115)
        axes.set_yticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"])
        axes.set_title(t("First response in time, per week"))
        axes.set_xlabel(t("Week starting"))
        axes.set_ylabel(t("Share of cases"))
        return _png(figure)


def all_charts(series: PeriodSeries, language: str) -> list[bytes]:
    """The three charts of a report, in the order they are sent."""
    return [
        cases_per_week(series, language),
        wages_per_month(series, language),
        on_time_per_week(series, language),
    ]
