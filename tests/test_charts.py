"""The monthly review's PNG charts: valid, sane, deterministic, thread-safe, and Japanese is not tofu."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from bot import charts
from bot.i18n import Lang, catalog, has

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MONTHS = {
    Lang.EN: ["2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07"],
    Lang.JA: ["2月", "3月", "4月", "5月", "6月", "7月"],
}
AVERAGES = [41.2, 43.0, None, 47.5, 50.1, 52.3]
ITEMS = {
    Lang.EN: [
        ("BANT completeness", 0.72),
        ("Issue and background clarity", 0.55),
        ("Competitor information", 0.81),
        ("Decision process", 0.48),
        ("Memo completeness", 0.9),
    ],
    Lang.JA: [
        ("BANT情報の完成度", 0.72),
        ("課題・背景の明確さ", 0.55),
        ("競合情報の有無", 0.81),
        ("決裁プロセスの把握", 0.48),
        ("引き継ぎメモの完成度", 0.9),
    ],
}
KPIS = {
    "toss_ups": [30, 34, 28, 40, 38, 45],
    "won": [6, 7, 5, 10, 9, 12],
    "win_rates": [0.25, 0.3, None, 0.33, 0.31, 0.35],
}
JA_LABEL = "品質スコア"
# Other characters from the same Unicode blocks (two kanji, three katakana): without a Japanese font,
# matplotlib draws each as its block's placeholder box (its LastResort font), the same for both strings.
SAME_BLOCKS = "受注トスア"


def score(lang: Lang) -> bytes:
    return charts.score_trend_chart(months=MONTHS[lang], averages=AVERAGES, items=ITEMS[lang], lang=lang)


def kpi(lang: Lang) -> bytes:
    return charts.kpi_chart(months=MONTHS[lang], lang=lang, **KPIS)


CHARTS: dict[str, Callable[[Lang], bytes]] = {"score": score, "kpi": kpi}


# matplotlib is imported by the tests that use it, not at collection: every xdist worker collects this
# module, and importing matplotlib costs each ~0.35 s of CPU.


def decode(png: bytes) -> np.ndarray:
    from matplotlib.image import imread

    assert png.startswith(PNG_MAGIC)
    return imread(io.BytesIO(png), format="png")


@pytest.fixture
def no_font_trouble(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail on "Glyph … missing from font(s)" (a warning) and "findfont: Font family … not found" (a log)."""
    with caplog.at_level("WARNING", logger="matplotlib"), warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
    assert [r.getMessage() for r in caplog.records if "findfont" in r.getMessage()] == []


@pytest.mark.parametrize("lang", list(Lang))
@pytest.mark.parametrize("name", list(CHARTS))
def test_chart_is_a_sane_png(name: str, lang: Lang, no_font_trouble: None) -> None:
    png = CHARTS[name](lang)
    image = decode(png)
    assert image.shape[:2] == (charts.HEIGHT_PX, charts.WIDTH_PX)
    assert 5_000 <= len(png) <= 500_000
    assert image[..., :3].std() > 0.05  # something is drawn, not a blank canvas


@pytest.mark.parametrize("lang", list(Lang))
@pytest.mark.parametrize("name", list(CHARTS))
def test_chart_is_deterministic(name: str, lang: Lang) -> None:
    assert CHARTS[name](lang) == CHARTS[name](lang)


def test_languages_give_different_charts() -> None:
    assert score(Lang.JA) != score(Lang.EN)
    assert kpi(Lang.JA) != kpi(Lang.EN)


def test_png_metadata_carries_no_version() -> None:
    assert b"matplotlib version" not in score(Lang.EN)
    assert b"Software" not in kpi(Lang.EN)


def test_weakest_item_is_highlighted_on_the_right_only() -> None:
    red = np.array([0xE4, 0x57, 0x56]) / 255
    image = decode(score(Lang.EN))[..., :3]
    is_red = np.all(np.abs(image - red) < 0.01, axis=-1)
    left, right = is_red[:, : charts.WIDTH_PX // 2], is_red[:, charts.WIDTH_PX // 2 :]
    # The red bar: about 0.48 × 420 px wide and 0.42 of a row high, plus the legend swatch (under the left).
    assert right[: charts.HEIGHT_PX - 60].sum() > 3_000
    assert left[: charts.HEIGHT_PX - 60].sum() == 0


@pytest.mark.parametrize("lang", list(Lang))
@pytest.mark.parametrize(
    "render",
    [
        lambda lang: charts.score_trend_chart(months=[], averages=[], items=[], lang=lang),
        lambda lang: charts.score_trend_chart(months=["7月"], averages=[None], items=[], lang=lang),
        lambda lang: charts.score_trend_chart(months=["7月"], averages=[float("nan")], items=[], lang=lang),
        lambda lang: charts.score_trend_chart(months=[], averages=[], items=[("予算", 0.5)], lang=lang),
        lambda lang: charts.kpi_chart(months=[], toss_ups=[], won=[], win_rates=[], lang=lang),
        lambda lang: charts.kpi_chart(
            months=["6月", "7月"], toss_ups=[0, 0], won=[0, 0], win_rates=[None] * 2, lang=lang
        ),
        lambda lang: charts.kpi_chart(months=["7月"], toss_ups=[3], won=[0], win_rates=[None], lang=lang),
    ],
    ids=[
        "score-empty",
        "score-none",
        "score-nan",
        "score-items-only",
        "kpi-empty",
        "kpi-zeros",
        "kpi-no-rate",
    ],
)
def test_empty_or_missing_data_still_gives_a_png(
    render: Callable[[Lang], bytes], lang: Lang, no_font_trouble: None
) -> None:
    png = render(lang)
    assert decode(png).shape[:2] == (charts.HEIGHT_PX, charts.WIDTH_PX)
    assert 5_000 <= len(png) <= 500_000


def test_mismatched_lengths_are_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="averages"):
        charts.score_trend_chart(months=["7月"], averages=[], items=[], lang=Lang.JA)
    with pytest.raises(ValueError, match="win_rates"):
        charts.kpi_chart(months=["7月"], toss_ups=[1], won=[0], win_rates=[], lang=Lang.JA)


def test_a_dollar_in_a_label_is_text_not_mathtext(no_font_trouble: None) -> None:
    png = charts.score_trend_chart(months=["$1", "$2"], averages=[1, 2], items=[("a $x", 0.5)], lang=Lang.EN)
    assert png.startswith(PNG_MAGIC)


# --- the bundled font: Japanese glyphs, not tofu -------------------------------------------------------


def render_label(text: str, family: str | list[str]) -> np.ndarray:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 0.6), dpi=100, facecolor="white")
    FigureCanvasAgg(fig)
    fig.text(0.02, 0.5, text, family=family, fontsize=20, va="center")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return decode(buffer.getvalue())


def test_japanese_font_is_the_bundled_ipaexgothic() -> None:
    from matplotlib.font_manager import FontProperties, findfont
    from matplotlib.ft2font import FT2Font

    path = charts.bundled_font_path()
    assert path.name == "ipaexg.ttf" and "matplotlib_fontja" in path.parts
    ja_first = charts.font_families(Lang.JA)[0]
    assert Path(findfont(FontProperties(family=ja_first), fallback_to_default=False)) == path
    assert FT2Font(str(path)).family_name == ja_first
    # English charts fall back to it for Japanese names in labels.
    assert ja_first in charts.font_families(Lang.EN)


def test_every_japanese_chart_character_has_a_glyph_in_the_bundled_font() -> None:
    from matplotlib.font_manager import FontProperties, findfont
    from matplotlib.ft2font import FT2Font

    bundled = FT2Font(str(charts.bundled_font_path()))
    dejavu = FT2Font(findfont(FontProperties(family="DejaVu Sans"), fallback_to_default=False))
    ja_text = "".join(catalog(Lang.JA)[k] for k in catalog(Lang.JA) if k.startswith("chart.")) + JA_LABEL
    japanese = {c for c in ja_text if ord(c) > 0x2FFF}  # kana, kanji and full-width forms
    assert len(japanese) > 30
    assert [c for c in sorted(japanese) if bundled.get_char_index(ord(c)) == 0] == []
    assert all(dejavu.get_char_index(ord(c)) == 0 for c in JA_LABEL)  # DejaVu really has none of them


def test_japanese_label_is_not_tofu() -> None:
    # DejaVu Sans has no Japanese glyphs: each character becomes its block's box. That is the tofu.
    with pytest.warns(UserWarning, match="missing from font"):
        tofu = render_label(JA_LABEL, "DejaVu Sans")
    with pytest.warns(UserWarning, match="missing from font"):
        other_tofu = render_label(SAME_BLOCKS, "DejaVu Sans")
    assert np.array_equal(tofu, other_tofu), "the reference should be nothing but placeholder boxes"

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no glyph may be missing from the fonts the charts use
        bundled = render_label(JA_LABEL, charts.font_families(Lang.JA))
        bundled_other = render_label(SAME_BLOCKS, charts.font_families(Lang.JA))
    assert not np.array_equal(bundled, tofu)
    # Real glyphs differ by character, boxes do not.
    assert not np.array_equal(bundled, bundled_other)
    ink = (bundled[..., :3] < 0.5).any(axis=-1)
    assert ink.sum() > 300  # the strokes are drawn, not an empty label


# --- threads, import cost, global state ----------------------------------------------------------------


def test_rendering_in_four_threads_at_once_gives_the_same_bytes_as_alone() -> None:
    jobs = [(name, lang) for name in CHARTS for lang in Lang]
    alone = {job: CHARTS[job[0]](job[1]) for job in jobs}
    start = threading.Barrier(4)

    def work(index: int) -> list[tuple[tuple[str, Lang], bytes]]:
        start.wait()
        out = []
        for round_ in range(2):
            name, lang = jobs[(index + round_) % len(jobs)]
            out.append(((name, lang), CHARTS[name](lang)))
        return out

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = [r for batch in pool.map(work, range(4)) for r in batch]
    assert len(results) == 8
    for job, png in results:
        assert png == alone[job], job


def test_rendering_leaves_global_font_settings_alone() -> None:
    import matplotlib

    before = list(matplotlib.rcParams["font.family"])
    score(Lang.JA)
    assert list(matplotlib.rcParams["font.family"]) == before
    assert "matplotlib_fontja" not in sys.modules  # importing it would rewrite font.family


def test_importing_charts_does_not_import_matplotlib() -> None:
    code = "import sys, bot.charts; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- alt text --------------------------------------------------------------------------------------------


def test_alt_texts_say_every_value() -> None:
    text = charts.score_trend_alt(
        months=MONTHS[Lang.JA], averages=AVERAGES, items=ITEMS[Lang.JA], lang=Lang.JA
    )
    assert "2月: 41.2" in text and "4月: データなし" in text and "7月: 52.3" in text
    assert "決裁プロセスの把握: 48%" in text and text.endswith("最も弱い項目: 決裁プロセスの把握。")
    text = charts.kpi_alt(months=MONTHS[Lang.EN], lang=Lang.EN, **KPIS)
    assert "2026-07: 45 toss-ups, 12 won, win rate 35%" in text
    assert "2026-04: 28 toss-ups, 5 won, win rate no data" in text


@pytest.mark.parametrize("lang", list(Lang))
def test_alt_texts_for_empty_data_and_within_slacks_limit(lang: Lang) -> None:
    assert charts.score_trend_alt(months=[], averages=[], items=[], lang=lang)
    assert (
        charts.kpi_alt(months=[], toss_ups=[], won=[], win_rates=[], lang=lang)
        == catalog(lang)["chart.kpi.alt_empty"]
    )
    many = [f"month {i}" for i in range(200)]
    text = charts.kpi_alt(months=many, toss_ups=[1] * 200, won=[1] * 200, win_rates=[0.5] * 200, lang=lang)
    assert len(text) == charts.ALT_TEXT_LIMIT and text.endswith("…")


def test_every_chart_key_in_the_code_is_in_both_catalogs() -> None:
    source = Path(charts.__file__).read_text(encoding="utf-8")
    used = set(re.findall(r"\"(chart\.[a-z_.]+)\"", source))
    assert len(used) > 15
    for lang in Lang:
        assert sorted(k for k in used if not has(lang, k)) == [], lang  # or counted: `k.one` / `k.other`
