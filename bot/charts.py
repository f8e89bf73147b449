"""PNG charts for the monthly review (月次連携ミーティング): pure functions, data in, PNG bytes out.

No Slack, no database. Every call builds its own `matplotlib.figure.Figure` on an explicit Agg canvas and
never touches pyplot, so there is no global figure registry and no shared state between calls. The bot
draws them in a separate process (`render`): rendering holds the interpreter long enough to delay acks.
The same input gives the same bytes (the PNG's "Software" metadata, which carries the matplotlib version,
is dropped).

Japanese text is drawn with IPAexGothic, bundled by the `matplotlib-fontja` package: its font file is
registered with matplotlib's font manager once and set on this module's text objects only. The package is
deliberately not imported, because importing it rewrites the process-wide `font.family` rcParam.

matplotlib is imported inside the functions: it costs about 0.6 s on import, which bot start-up should
not pay for a chart that is drawn once a month.

Alt text: the caller uploads each PNG with alt text (Slack's `alt_txt`); `score_trend_alt` and `kpi_alt`
give it from the same data, localized, within Slack's limit. The review's text must stay complete without
the image.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import io
import math
import multiprocessing
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.domain.score import MEMO_SCORE_MAX  # the memo's part of the score: what the trend shows
from bot.i18n import Lang, t

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "ALT_TEXT_LIMIT",
    "DPI",
    "HEIGHT_PX",
    "MEMO_SCORE_MAX",
    "WIDTH_PX",
    "bundled_font_path",
    "font_families",
    "kpi_alt",
    "kpi_chart",
    "render",
    "score_trend_alt",
    "score_trend_chart",
]

WIDTH_PX = 1000
HEIGHT_PX = 560
DPI = 100
# files.completeUploadExternal accepts alt_txt of up to 1000 characters.
ALT_TEXT_LIMIT = 1000

BUNDLED_FONT_FILE = "ipaexg.ttf"
BUNDLED_FONT_NAME = "IPAexGothic"
LATIN_FONT_NAME = "DejaVu Sans"  # ships with matplotlib itself

_BLUE = "#4C78A8"
_LIGHT_BLUE = "#9DB9D5"
_GREEN = "#54A24B"
_RED = "#E45756"
_GREY = "#666666"

_font_lock = threading.Lock()
_font_registered = False


def bundled_font_path() -> Path:
    """The IPAexGothic file inside the installed `matplotlib-fontja`, found without importing the package."""
    spec = importlib.util.find_spec("matplotlib_fontja")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / "fonts" / BUNDLED_FONT_FILE
        if path.is_file():
            return path
    raise RuntimeError(
        "matplotlib-fontja is not installed: its bundled IPAexGothic font is needed for charts"
    )


def _register_bundled_font() -> None:
    """Add the bundled font to matplotlib's font manager, once per process (a lock: threads render)."""
    global _font_registered
    with _font_lock:
        if _font_registered:
            return
        from matplotlib import font_manager

        path = str(bundled_font_path())
        if not any(entry.fname == path for entry in font_manager.fontManager.ttflist):
            font_manager.fontManager.addfont(path)
        _font_registered = True


def font_families(lang: Lang) -> list[str]:
    """Font family list set on every text object of a chart; matplotlib falls back glyph by glyph.

    Japanese charts use IPAexGothic first (kana, kanji and digits in one consistent face); English charts
    use DejaVu Sans first, with IPAexGothic as the fallback for Japanese names in labels.
    """
    _register_bundled_font()
    if lang is Lang.JA:
        return [BUNDLED_FONT_NAME, LATIN_FONT_NAME]
    return [LATIN_FONT_NAME, BUNDLED_FONT_NAME]


def _missing(value: float | None) -> bool:
    return value is None or not math.isfinite(value)


def _finite_or_nan(value: float | None) -> float:
    return math.nan if value is None or not math.isfinite(value) else float(value)


def _check_lengths(months: Sequence[str], **series: Sequence[Any]) -> None:
    # A length mismatch is the caller's bug, not missing data: say so instead of drawing something wrong.
    for name, values in series.items():
        if len(values) != len(months):
            raise ValueError(f"{name} has {len(values)} values for {len(months)} months")


def _new_figure(ncols: int, **margins: float) -> tuple[Figure, list[Axes]]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # Fixed margins, not constrained layout: that layout re-measures every text object and more than
    # doubles the render time. Nothing long sits in a margin (item labels are drawn inside the axes).
    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)  # explicit Agg canvas: independent of the configured backend and of pyplot
    axes = fig.subplots(1, ncols, squeeze=False, gridspec_kw=margins)[0]
    return fig, list(axes)


def _to_png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    finally:
        fig.clear()  # no pyplot registry to close it from; drop the artists now rather than at GC
    return buffer.getvalue()


def _style_axes(ax: Axes, families: list[str]) -> None:
    ax.tick_params(labelsize=10, labelfontfamily=families)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _text_kwargs(families: list[str], size: float) -> dict[str, Any]:
    # parse_math=False: labels are data (rep or item names); a "$" must not switch on mathtext.
    return {"family": families, "fontsize": size, "parse_math": False}


def _no_data(ax: Axes, lang: Lang, families: list[str]) -> None:
    ax.text(
        0.5,
        0.5,
        t(lang, "chart.no_data"),
        transform=ax.transAxes,
        ha="center",
        va="center",
        color=_GREY,
        **_text_kwargs(families, 13),
    )
    ax.set_xticks([])
    ax.set_yticks([])


def _slanted(months: Sequence[str]) -> bool:
    # Many (or long) month labels would overlap: slant them. About 8 characters fit under each of 6 months.
    return len(months) > 6 or sum(len(month) for month in months) > 48


def _bottom(months: Sequence[str]) -> float:
    return 0.22 if _slanted(months) else 0.16  # room for slanted month labels above the legend


def _month_ticks(ax: Axes, months: Sequence[str], families: list[str]) -> None:
    slanted = _slanted(months)
    ax.set_xticks(
        range(len(months)),
        list(months),
        rotation=30 if slanted else 0,
        ha="right" if slanted else "center",
        rotation_mode="anchor",
        **_text_kwargs(families, 10),
    )
    ax.set_xlim(-0.6, len(months) - 0.4)


def _bottom_legend(fig: Figure, handles: Sequence[Any], families: list[str]) -> None:
    legend = fig.legend(
        handles=list(handles),
        loc="lower center",
        bbox_to_anchor=(0.5, 0.0),
        ncols=len(handles),
        prop={"family": families, "size": 10},
        frameon=False,
    )
    for text in legend.get_texts():
        text.set_parse_math(False)


def _shares(items: Sequence[tuple[str, float]]) -> list[float]:
    return [min(max(share, 0.0), 1.0) if math.isfinite(share) else 0.0 for _, share in items]


def _weakest(shares: Sequence[float]) -> int:
    return min(range(len(shares)), key=shares.__getitem__)  # the first of equals: stable output


def score_trend_chart(
    *,
    months: Sequence[str],
    averages: Sequence[float | None],
    items: Sequence[tuple[str, float]],
    lang: Lang,
    memo_max: int = MEMO_SCORE_MAX,
) -> bytes:
    """Left: the team's average memo score per month (0–`memo_max`, a gap where None); right: each score
    item's average as a share of its maximum (0–100 %), the weakest highlighted. PNG of WIDTH_PX × HEIGHT_PX.

    `months` are display labels, `averages` one per month, `items` (label, share 0..1) in display order.
    Empty or all-None data draws a "no data" note. Alt text: `score_trend_alt` with the same data.
    """
    from matplotlib.patches import Patch
    from matplotlib.ticker import PercentFormatter

    _check_lengths(months, averages=averages)
    families = font_families(lang)
    fig, (trend, breakdown) = _new_figure(
        2, left=0.07, right=0.975, top=0.92, bottom=_bottom(months), wspace=0.16
    )
    handles: list[Any] = []

    _style_axes(trend, families)
    trend.set_title(t(lang, "chart.score.trend_title"), **_text_kwargs(families, 12))
    if not months or all(_missing(v) for v in averages):
        _no_data(trend, lang, families)
    else:
        x = list(range(len(months)))
        y = [_finite_or_nan(v) for v in averages]
        (line,) = trend.plot(
            x, y, color=_BLUE, marker="o", linewidth=2, markersize=7, label=t(lang, "chart.score.average")
        )
        handles.append(line)
        for xi, yi in zip(x, y, strict=True):
            if math.isfinite(yi):
                trend.annotate(
                    f"{yi:.1f}",
                    (xi, yi),
                    textcoords="offset points",
                    xytext=(0, 8),
                    ha="center",
                    **_text_kwargs(families, 9),
                )
        _month_ticks(trend, months, families)
        top = max(memo_max, *(v for v in y if math.isfinite(v)))
        trend.set_ylim(0, top * 1.12)  # headroom: a point's label at the top stays clear of the title
        trend.set_yticks(range(0, int(top) + 1, 10))
        trend.set_ylabel(t(lang, "chart.score.trend_axis", max=memo_max), **_text_kwargs(families, 10))
        trend.grid(axis="y", color="#DDDDDD", linewidth=0.8)
        trend.set_axisbelow(True)

    _style_axes(breakdown, families)
    breakdown.set_title(t(lang, "chart.score.items_title"), **_text_kwargs(families, 12))
    if not items:
        _no_data(breakdown, lang, families)
    else:
        shares = _shares(items)
        weakest = _weakest(shares)
        rows = list(range(len(items)))[::-1]  # first item on top
        percents = [share * 100 for share in shares]
        colors = [_RED if i == weakest else _LIGHT_BLUE for i in range(len(items))]
        breakdown.barh(rows, percents, color=colors, height=0.42)
        for i, (row, percent) in enumerate(zip(rows, percents, strict=True)):
            # The item's name above its bar, inside the axes: long names need no margin and never clip.
            label = items[i][0]
            breakdown.text(0, row + 0.26, label, va="bottom", ha="left", **_text_kwargs(families, 10))
            inside = percent > 88  # keep the value label within the 0–100 axis
            breakdown.text(
                percent - 1.5 if inside else percent + 1.5,
                row,
                t(lang, "chart.percent", percent=f"{percent:.0f}"),
                va="center",
                ha="right" if inside else "left",
                color="white" if inside else "black",
                **_text_kwargs(families, 9),
            )
        breakdown.set_yticks([])
        breakdown.set_ylim(-0.5, len(items) - 0.1)
        breakdown.set_xlim(0, 100)
        breakdown.xaxis.set_major_formatter(PercentFormatter(xmax=100, decimals=0))
        breakdown.set_xlabel(t(lang, "chart.score.items_axis"), **_text_kwargs(families, 10))
        breakdown.grid(axis="x", color="#DDDDDD", linewidth=0.8)
        breakdown.set_axisbelow(True)
        breakdown.spines["left"].set_visible(False)
        handles.append(Patch(color=_RED, label=t(lang, "chart.score.weakest")))
        if len(items) > 1:
            handles.append(Patch(color=_LIGHT_BLUE, label=t(lang, "chart.score.other")))
    if handles:
        _bottom_legend(fig, handles, families)
    return _to_png(fig)


def kpi_chart(
    *,
    months: Sequence[str],
    toss_ups: Sequence[int],
    won: Sequence[int],
    win_rates: Sequence[float | None],
    lang: Lang,
) -> bytes:
    """Bars of toss-ups and won deals per month; the post-toss-up win rate (0..1, None: no closed deals)
    as a line on a second axis, 0–100 %. PNG of WIDTH_PX × HEIGHT_PX.

    Empty data (no months, or nothing but zeros and None) draws a "no data" note. Alt text: `kpi_alt`.
    """
    _check_lengths(months, toss_ups=toss_ups, won=won, win_rates=win_rates)
    families = font_families(lang)
    fig, (counts,) = _new_figure(1, left=0.07, right=0.92, top=0.92, bottom=_bottom(months))
    _style_axes(counts, families)
    counts.set_title(t(lang, "chart.kpi.title"), **_text_kwargs(families, 12))
    if not months or not _has_kpi_data(toss_ups, won, win_rates):
        _no_data(counts, lang, families)
        return _to_png(fig)

    from matplotlib.ticker import MaxNLocator, PercentFormatter

    x = list(range(len(months)))
    width = 0.38
    bars = [
        counts.bar(
            [i - width / 2 for i in x], toss_ups, width, color=_BLUE, label=t(lang, "chart.kpi.toss_ups")
        ),
        counts.bar([i + width / 2 for i in x], won, width, color=_GREEN, label=t(lang, "chart.kpi.won")),
    ]
    for container in bars:
        counts.bar_label(container, padding=2, family=families, fontsize=9)
    _month_ticks(counts, months, families)
    counts.set_ylim(0, max(1, *toss_ups, *won) * 1.12)  # headroom for the bar labels
    counts.yaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    counts.set_ylabel(t(lang, "chart.kpi.count_axis"), **_text_kwargs(families, 10))
    counts.grid(axis="y", color="#DDDDDD", linewidth=0.8)
    counts.set_axisbelow(True)

    rate = counts.twinx()
    rate.spines["top"].set_visible(False)
    rate.tick_params(labelsize=10, labelfontfamily=families)
    y = [_finite_or_nan(r) * 100 for r in win_rates]
    (line,) = rate.plot(
        x, y, color=_RED, marker="o", linewidth=2, markersize=7, label=t(lang, "chart.kpi.win_rate")
    )
    rate.set_ylim(0, 100)
    rate.yaxis.set_major_formatter(PercentFormatter(xmax=100, decimals=0))
    rate.set_ylabel(t(lang, "chart.kpi.rate_axis"), **_text_kwargs(families, 10))
    _bottom_legend(fig, [*bars, line], families)
    return _to_png(fig)


def _has_kpi_data(toss_ups: Sequence[int], won: Sequence[int], win_rates: Sequence[float | None]) -> bool:
    return any(toss_ups) or any(won) or any(not _missing(r) for r in win_rates)


def _join(lang: Lang, parts: Sequence[str]) -> str:
    return t(lang, "chart.list_separator").join(parts)


def _truncate(text: str) -> str:
    return text if len(text) <= ALT_TEXT_LIMIT else text[: ALT_TEXT_LIMIT - 1] + "…"


def score_trend_alt(
    *,
    months: Sequence[str],
    averages: Sequence[float | None],
    items: Sequence[tuple[str, float]],
    lang: Lang,
    memo_max: int = MEMO_SCORE_MAX,
) -> str:
    """Alt text for `score_trend_chart` with the same arguments: every value, and the weakest item."""
    _check_lengths(months, averages=averages)
    if not months or all(_missing(v) for v in averages):
        trend = t(lang, "chart.score.alt_trend_empty")
    else:
        values = [
            t(
                lang,
                "chart.month_value",
                month=m,
                value=t(lang, "chart.missing") if _missing(v) else f"{v:.1f}",
            )
            for m, v in zip(months, averages, strict=True)
        ]
        trend = t(
            lang,
            "chart.score.alt_trend",
            first=months[0],
            last=months[-1],
            values=_join(lang, values),
            max=memo_max,
        )
    if not items:
        breakdown = t(lang, "chart.score.alt_items_empty")
    else:
        shares = _shares(items)
        weakest = items[_weakest(shares)][0]
        values = [
            t(
                lang,
                "chart.month_value",
                month=label,
                value=t(lang, "chart.percent", percent=f"{s * 100:.0f}"),
            )
            for (label, _), s in zip(items, shares, strict=True)
        ]
        breakdown = t(lang, "chart.score.alt_items", values=_join(lang, values), weakest=weakest)
    return _truncate(t(lang, "chart.score.alt", trend=trend, items=breakdown))


def kpi_alt(
    *,
    months: Sequence[str],
    toss_ups: Sequence[int],
    won: Sequence[int],
    win_rates: Sequence[float | None],
    lang: Lang,
) -> str:
    """Alt text for `kpi_chart` with the same arguments: each month's counts and win rate."""
    _check_lengths(months, toss_ups=toss_ups, won=won, win_rates=win_rates)
    if not months or not _has_kpi_data(toss_ups, won, win_rates):
        return t(lang, "chart.kpi.alt_empty")
    values = [
        t(
            lang,
            "chart.kpi.alt_month",
            month=m,
            toss_ups=n,
            count=n,
            won=w,
            win_rate=t(lang, "chart.missing")
            if _missing(r)
            else t(lang, "chart.percent", percent=f"{r * 100:.0f}"),
        )
        for m, n, w, r in zip(months, toss_ups, won, win_rates, strict=True)
    ]
    return _truncate(t(lang, "chart.kpi.alt", first=months[0], last=months[-1], values=_join(lang, values)))


# ------------------------------------------------------------------------------------- off the loop

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _chart_pool() -> ProcessPoolExecutor:
    """One chart process for the bot's life, started on first use ("spawn": never a fork of a process
    running an event loop and threads)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return _pool


async def render(chart: Callable[..., bytes], **data: Any) -> bytes:
    """Draw `chart` (`score_trend_chart` or `kpi_chart`) in the chart process. Rendering holds the
    interpreter for hundreds of milliseconds, which in a thread would still delay every ack behind it."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_chart_pool(), functools.partial(chart, **data))
