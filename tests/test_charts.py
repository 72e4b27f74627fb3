"""Each chart draws as a PNG of the promised size with its Chinese labels: the suite turns warnings into
errors, so a missing glyph ("Glyph … missing from font(s)") fails the test."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import matplotlib
import pytest
from fontTools.ttLib import TTFont
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from PIL import Image

from bot.reports import charts
from bot.reports.figures import MonthFigures, PeriodSeries, WeekFigures
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
    assert charts.cjk_font_name() == "Noto Sans SC"


# Han characters whose Simplified Chinese (mainland) shape differs from the Japanese one.
REGIONAL_HAN = "骨直写"
CHINESE_PRC, JAPANESE = 0x0804, 0x0411  # Windows language ids in a font's name table


def _locl(font: TTFont, language: str) -> dict[str, str]:
    """The glyph swaps a font's `locl` feature makes for Han text in `language` (an OpenType tag)."""
    gsub = font["GSUB"].table
    swaps: dict[str, str] = {}
    for script in gsub.ScriptList.ScriptRecord:
        if script.ScriptTag != "hani":
            continue
        for record in script.Script.LangSysRecord:
            if record.LangSysTag != language:
                continue
            for index in record.LangSys.FeatureIndex:
                feature = gsub.FeatureList.FeatureRecord[index]
                if feature.FeatureTag != "locl":
                    continue
                for lookup in feature.Feature.LookupListIndex:
                    for table in gsub.LookupList.Lookup[lookup].SubTable:
                        swaps.update(getattr(getattr(table, "ExtSubTable", table), "mapping", {}))
    return swaps


def test_the_chart_font_is_the_simplified_chinese_build() -> None:
    """Noto Sans CJK comes in one build per region, with the same characters in different shapes: the
    charts use the Simplified Chinese one, so 骨, 直 and 写 look as readers in China write them. In any
    other build (JP, KR, TC, HK) the font's own `locl` feature for Simplified Chinese has to swap those
    glyphs, which matplotlib does only for text tagged with its language (3.11 and later); the JP build
    also names itself in Japanese."""
    path = charts.cjk_font_path()
    assert path.name == "NotoSansSC-Regular.otf"
    assert charts.cjk_font_name() == "Noto Sans SC"
    # matplotlib finds that very file under that name, not some other font installed on the machine
    found = font_manager.findfont(FontProperties(family=charts.cjk_font_name()), fallback_to_default=False)
    assert Path(found).samefile(path)

    font = TTFont(path)
    names = {(record.nameID, record.langID): record.toUnicode() for record in font["name"].names}
    assert names[1, CHINESE_PRC] == "Noto Sans SC"
    assert (1, JAPANESE) not in names

    to_simplified = _locl(font, "ZHS ")
    assert to_simplified, "the font declares no Simplified Chinese forms: the check below would be empty"
    glyphs = font.getBestCmap()
    for character in REGIONAL_HAN:
        glyph = glyphs[ord(character)]
        assert to_simplified.get(glyph, glyph) == glyph, f"{character} is not drawn in its Chinese form"


@pytest.mark.parametrize("language", ["zh-Hans", "zh-Hant", "en"])
def test_the_chart_font_draws_chinese_without_missing_glyphs(language: str) -> None:
    """Every chart label of every language, and the characters above, are in the font itself: nothing
    falls back to another font or to empty boxes."""
    labels = [  # as the charts translate them
        charts.translate(language, msgid)
        for msgid in [
            "Cases received per week, by kind",
            "Wages recovered per month (yuan)",
            "First response in time, per week",
            "Week starting",
            "Cases",
            "Month",
            "Yuan",
            "Share of cases",
            *(charts.KIND_LABELS[kind] for kind in CaseKind),
        ]
    ]
    glyphs = TTFont(charts.cjk_font_path()).getBestCmap()
    text = "".join([*labels, REGIONAL_HAN, "0123456789%/—,."])
    assert [character for character in text if ord(character) not in glyphs and not character.isspace()] == []

    with warnings.catch_warnings(record=True) as caught, charts._drawing():
        warnings.simplefilter("always")
        figure = Figure()
        figure.text(0.5, 0.5, "\n".join([*labels, REGIONAL_HAN]))
        figure.savefig(BytesIO(), format="png")
    assert [str(warning.message) for warning in caught] == []
