"""The shared KPI report (共通KPI) for `/tossup kpi`: the team's figures, the reader's own, and (for
managers) one line per rep. A pure builder over `bot.domain.kpi` returning (fallback text, blocks).

Rates read as percentages with one decimal ("66.7%"), means with one decimal, amounts in the team's
currency with thousands separators; a figure without data (no denominator) reads "—".
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.domain.kpi import Kpis, Period, PeriodKind, exact_quarter
from bot.domain.score import ScoreItemKey
from bot.i18n import Lang, has, t
from modals.common import plain
from modals.limits import (
    HEADER_TEXT_MAX,
    SECTION_FIELD_TEXT_MAX,
    SECTION_FIELDS_MAX,
    SECTION_TEXT_MAX,
    TEXT_OBJECT_MAX,
)
from modals.messages import Message
from modals.text import escape_within, format_date, format_money, lines_within, truncate, user_mention

REPS_MAX = 20  # rep lines shown before "and N more"
ITEM_KEY_MAX = 50  # an unknown score item key shown as is
FALLBACK_MAX = 300

__all__ = ["REPS_MAX", "build_kpi_report", "format_percent", "period_label"]


# ----------------------------------------------------------------------------------------- figures


def _none(lang: Lang) -> str:
    return t(lang, "kpi.none")


def _decimal(value: float) -> str:
    """One decimal, rounded half up as people expect (22.25 → "22.3"), thousands separated."""
    rounded = Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{rounded:,.1f}"


def format_percent(rate: float | None, lang: Lang) -> str:
    """0.6667 → "66.7%"; None → "—"."""
    if rate is None:
        return _none(lang)
    return t(lang, "kpi.value.percent", percent=_decimal(rate * 100))


def _rate_of(part: int, whole: int, rate: float | None, lang: Lang) -> str:
    """ "66.7% (2/3)", or "—" when nothing is in the denominator."""
    if rate is None:
        return _none(lang)
    return t(lang, "kpi.value.rate_of", percent=_decimal(rate * 100), part=f"{part:,}", whole=f"{whole:,}")


def _mean(value: float | None, key: str, name: str, lang: Lang) -> str:
    return _none(lang) if value is None else t(lang, key, **{name: _decimal(value)})


def _count(value: int, lang: Lang) -> str:
    return t(lang, "kpi.value.count", count=f"{value:,}")


def _named_field(name: str, value: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=truncate(f"*{name}*\n{value}", SECTION_FIELD_TEXT_MAX))


def _field(label_key: str, value: str, lang: Lang) -> MarkdownTextObject:
    return _named_field(t(lang, label_key), value)


def _pipeline_fields(k: Kpis, lang: Lang) -> list[MarkdownTextObject]:
    toss_ups = t(
        lang,
        "kpi.value.toss_ups",
        count=f"{k.toss_ups:,}",
        accepted=f"{k.accepted:,}",
        returned=f"{k.returned:,}",
        pending=f"{k.pending:,}",
    )
    return [
        _field("kpi.label.toss_ups", toss_ups, lang),
        _field("kpi.label.sqls", _count(k.sqls, lang), lang),
        _field(
            "kpi.label.acceptance_rate",
            _rate_of(k.accepted, k.accepted + k.returned, k.acceptance_rate, lang),
            lang,
        ),
        _field("kpi.label.bant_acquisition_rate", format_percent(k.bant_acquisition_rate, lang), lang),
        _field("kpi.label.rated", _count(k.rated, lang), lang),
        _field(
            "kpi.label.hours_to_accept", _mean(k.avg_hours_to_accept, "kpi.value.hours", "hours", lang), lang
        ),
    ]


def _result_fields(k: Kpis, lang: Lang, currency: str) -> list[MarkdownTextObject]:
    won_lost = t(lang, "kpi.value.won_lost", won=f"{k.won:,}", lost=f"{k.lost:,}")
    return [
        _field("kpi.label.won_lost", won_lost, lang),
        _field("kpi.label.win_rate", _rate_of(k.won, k.won + k.lost, k.win_rate, lang), lang),
        _field("kpi.label.won_amount", format_money(k.won_amount, lang, currency), lang),
        _field("kpi.label.lead_time", _mean(k.avg_lead_time_days, "kpi.value.days", "days", lang), lang),
        _field("kpi.label.quality_score", _mean(k.avg_quality_score, "kpi.value.score", "score", lang), lang),
    ]


def _item_name(key: str, lang: Lang) -> str:
    catalog_key = f"score.item.{key}"
    return t(lang, catalog_key) if has(lang, catalog_key) else escape_within(key, ITEM_KEY_MAX)


def _item_fields(k: Kpis, lang: Lang) -> list[MarkdownTextObject]:
    """One field per score item with data, in the score table's order (unknown keys after, sorted)."""
    order = {key.value: index for index, key in enumerate(ScoreItemKey)}
    keys = sorted(k.avg_items, key=lambda key: (order.get(key, len(order)), key))
    fields = [
        _named_field(_item_name(key, lang), t(lang, "kpi.value.points", points=_decimal(k.avg_items[key])))
        for key in keys
    ]
    return fields[:SECTION_FIELDS_MAX]


def _kpi_blocks(k: Kpis, title: str, lang: Lang, currency: str) -> list[Block]:
    """The figures of one `Kpis`: pipeline, results, and the score items (when any was scored)."""
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(text=truncate(title, SECTION_TEXT_MAX)), fields=_pipeline_fields(k, lang)
        ),
        SectionBlock(fields=_result_fields(k, lang, currency)),
    ]
    items = _item_fields(k, lang)
    if items:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=t(lang, "kpi.label.items")), fields=items))
    return blocks


def kpi_blocks(k: Kpis, title: str, lang: Lang, currency: str = "JPY") -> list[Block]:
    """The figures of one `Kpis` under `title` (mrkdwn), as the report shows them: App Home shows a
    rep's own this way."""
    return _kpi_blocks(k, title, lang, currency)


# ------------------------------------------------------------------------------------------ period


def period_label(period: Period, lang: Lang) -> str:
    """ "November 2026" / "2026年11月" for a month, "Q1 2027" / "2027年 第1四半期" for a calendar quarter,
    the first and last day for a week or another range."""
    quarter = exact_quarter(period.first_day, period.last_day)
    if quarter is not None:
        return t(lang, "kpi.period.quarter", year=period.first_day.year, quarter=quarter)
    if period.kind is PeriodKind.MONTH:
        months = t(lang, "kpi.months").split()
        return t(
            lang, "kpi.period.month", month=months[period.first_day.month - 1], year=period.first_day.year
        )
    return t(
        lang,
        "kpi.period.week",
        first=format_date(period.first_day, lang),
        last=format_date(period.last_day, lang),
    )


def _context(*lines: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(line, TEXT_OBJECT_MAX)) for line in lines])


# -------------------------------------------------------------------------------------------- reps


def _rep_line(user_id: str, k: Kpis, lang: Lang) -> str:
    score = _none(lang) if k.avg_quality_score is None else _decimal(k.avg_quality_score)
    return t(
        lang,
        "kpi.rep.line",
        user=user_mention(user_id),
        toss_ups=f"{k.toss_ups:,}",
        accepted=f"{k.accepted:,}",
        won=f"{k.won:,}",
        win_rate=format_percent(k.win_rate, lang),
        score=score,
    )


def _rep_section(by_rep: Mapping[str, Kpis], lang: Lang) -> SectionBlock:
    """One line per rep, most toss-ups first (then by user id), at most `REPS_MAX` then "and N more"."""
    title = t(lang, "kpi.rep.title")
    if not by_rep:
        return SectionBlock(text=MarkdownTextObject(text=f"{title}\n{t(lang, 'kpi.rep.empty')}"))
    ranked = sorted(by_rep.items(), key=lambda item: (-item[1].toss_ups, item[0]))
    lines = [_rep_line(user_id, k, lang) for user_id, k in ranked[:REPS_MAX]]
    body = lines_within(
        lines,
        SECTION_TEXT_MAX - len(title) - 1,
        lambda count: t(lang, "kpi.rep.more", count=count),
        hidden=len(ranked) - len(lines),
    )
    return SectionBlock(text=MarkdownTextObject(text=f"{title}\n{body}"))


# ------------------------------------------------------------------------------------------ report


def build_kpi_report(
    *,
    period: Period,
    team: Kpis,
    lang: Lang,
    tz: ZoneInfo,
    user_id: str | None = None,
    mine: Kpis | None = None,
    by_rep: Mapping[str, Kpis] | None = None,
    currency: str = "JPY",
    try_last: bool = False,
) -> Message:
    """The KPI report of `period`: the team's KPIs; the reader's own when `mine` is given (`user_id` names
    them); one line per rep when `by_rep` is given (managers). `tz` is the team's time zone (the period's
    bounds are local midnights there); amounts are in `currency` (app.yaml's)."""
    label = period_label(period, lang)
    first, last = format_date(period.first_day, lang), format_date(period.last_day, lang)
    blocks: list[Block] = [
        HeaderBlock(text=plain(truncate(t(lang, "kpi.header", period=label), HEADER_TEXT_MAX))),
        _context(t(lang, "kpi.cohort"), t(lang, "kpi.period.range", first=first, last=last, tz=tz.key)),
    ]
    if team.toss_ups == 0:  # (`try_last`: this month asked for by default, empty on the 1st)
        blocks.append(_context(t(lang, "kpi.empty"), *([t(lang, "kpi.try_last")] if try_last else [])))
    blocks.extend(_kpi_blocks(team, t(lang, "kpi.team.title"), lang, currency))
    if mine is not None:
        title = (
            t(lang, "kpi.mine.title_user", user=user_mention(user_id))
            if user_id
            else t(lang, "kpi.mine.title")
        )
        blocks.append(DividerBlock())
        blocks.extend(_kpi_blocks(mine, title, lang, currency))
    if by_rep is not None:
        blocks.append(DividerBlock())
        blocks.append(_rep_section(by_rep, lang))
    if mine is not None or by_rep is not None:
        blocks.append(_context(t(lang, "kpi.shared_credit")))
    fallback = t(
        lang,
        "kpi.fallback",
        period=label,
        toss_ups=f"{team.toss_ups:,}",
        count=team.toss_ups,
        acceptance_rate=format_percent(team.acceptance_rate, lang),
        win_rate=format_percent(team.win_rate, lang),
    )
    return truncate(fallback, FALLBACK_MAX), blocks


def build_kpi_usage(*, lang: Lang) -> Message:
    """How to name a period, for an argument `parse_period` does not understand."""
    text = t(lang, "kpi.usage")
    return text, [SectionBlock(text=MarkdownTextObject(text=text))]
