"""Rep scorecards (評価制度への反映) as Slack messages and as plain text.

Pure builders over `bot.domain.scorecard.Scorecard`: the DM to one rep (their individual KPIs beside the
team's, the combined figure and how it is made, the feedback they received), the overview for managers
(one line per rep, best combined figure first, "…and N more" within Slack's limits), both as plain text
for the CLI preview, and the usage text for a period `/tossup scorecard` does not understand. Figures
read with one decimal, rates as percentages (`modals.kpi.format_percent`), amounts in the team's
currency; a figure without data reads "—". Only user ids come from outside, and `Fmt.user` keeps them inert.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
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

from bot.domain.feedback import RATING_FIELDS
from bot.domain.kpi import Period, PeriodKind, month_of
from bot.domain.scorecard import IsPart, Scorecard, exact_quarter, ranked
from bot.i18n import Lang, t
from modals.common import plain
from modals.digest_text import BULLET, FALLBACK_MAX, TEXT_LINES_MAX, Fmt, one_decimal, pack
from modals.kpi import format_percent, period_label
from modals.limits import HEADER_TEXT_MAX, SECTION_FIELD_TEXT_MAX, SECTION_TEXT_MAX, TEXT_OBJECT_MAX
from modals.messages import Message
from modals.text import format_date, format_money, truncate

__all__ = [
    "OVERVIEW_BLOCKS",
    "build_scorecard",
    "build_scorecard_overview",
    "build_scorecard_usage",
    "overview_as_text",
    "scorecard_as_text",
    "scorecard_period_label",
]

# Sections of rep lines in the overview: 3 × 3,000 characters stay under the message budget
# (`modals.digest_text.MESSAGE_SIZE_BUDGET`) with the header and context around them.
OVERVIEW_BLOCKS = 3

Row = tuple[str, str]  # (label, value)


# ------------------------------------------------------------------------------------------ words


def scorecard_period_label(first_day: date, last_day: date, *, lang: Lang, tz: ZoneInfo) -> str:
    """ "Q3 2026" / "2026年 第3四半期" for a calendar quarter, the month's name for a month, else the days."""
    quarter = exact_quarter(first_day, last_day)
    if quarter is not None:
        return t(lang, "kpi.period.quarter", year=first_day.year, quarter=quarter)
    month = month_of(first_day, tz)
    if (month.first_day, month.last_day) == (first_day, last_day):
        return period_label(month, lang)
    start = datetime.combine(first_day, time(), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(last_day + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
    return period_label(Period(PeriodKind.RANGE, start, end, first_day, last_day), lang)


def _share(weight: float) -> str:
    """0.35 → "35", 1/3 → "33.3": a weight as a percentage, no ".0"."""
    text = f"{Decimal(repr(weight * 100)).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):.1f}"
    return text.removesuffix(".0")


def _none(lang: Lang) -> str:
    return t(lang, "kpi.none")


def _figure(value: float | None, lang: Lang) -> str:
    return _none(lang) if value is None else t(lang, "scorecard.value.figure", value=one_decimal(value))


def _decimal(value: float | None, lang: Lang) -> str:
    return _none(lang) if value is None else one_decimal(value)


def _money(value: float | None, lang: Lang, currency: str) -> str:
    return _none(lang) if value is None else format_money(round(value), lang, currency)


def _hours(value: float | None, lang: Lang) -> str:
    return _none(lang) if value is None else t(lang, "kpi.value.hours", hours=one_decimal(value))


def _count(value: int, lang: Lang) -> str:
    return t(lang, "kpi.value.count", count=f"{value:,}")


def _rate_of(part: int, whole: int, lang: Lang) -> str:
    """ "66.7% (2/3)", or "—" with nothing in the denominator."""
    if not whole:
        return _none(lang)
    percent = format_percent(part / whole, lang)
    return t(lang, "scorecard.value.rate_of", percent=percent, part=f"{part:,}", whole=f"{whole:,}")


def _memo(average: float | None, part: IsPart, lang: Lang) -> str:
    """ "56.0 / 70": an average memo score of the maximum the rep's part was scored against."""
    if average is None:
        return _none(lang)
    return t(lang, "scorecard.value.memo", score=one_decimal(average), max=part.memo_score_max)


def _with_team(value: str, team: str, lang: Lang) -> str:
    return t(lang, "scorecard.value.with_team", value=value, team=team)


# ----------------------------------------------------------------------------------------- content


def _is_rows(card: Scorecard, lang: Lang) -> list[Row]:
    part, team = card.as_is, card.shared
    if part is None:
        return []
    sqls = t(
        lang,
        "scorecard.value.count_rate",
        count=f"{part.sqls:,}",
        percent=format_percent(part.sql_rate, lang),
    )
    memo = _memo(part.average_memo_score, part, lang)
    return [
        (
            t(lang, "scorecard.is.toss_ups"),
            _with_team(_count(part.toss_ups, lang), _count(team.toss_ups, lang), lang),
        ),
        (t(lang, "scorecard.is.sqls"), _with_team(sqls, format_percent(team.sql_rate, lang), lang)),
        (
            t(lang, "scorecard.is.bant"),
            _with_team(
                format_percent(part.bant_acquisition_rate, lang),
                format_percent(team.bant_acquisition_rate, lang),
                lang,
            ),
        ),
        (t(lang, "scorecard.is.memo"), _with_team(memo, _memo(team.average_memo_score, part, lang), lang)),
        (
            t(lang, "scorecard.is.decided"),
            _with_team(
                t(lang, "scorecard.value.pair", first=f"{part.accepted:,}", second=f"{part.returned:,}"),
                t(lang, "scorecard.value.pair", first=f"{team.accepted:,}", second=f"{team.returned:,}"),
                lang,
            ),
        ),
        (t(lang, "scorecard.is.figure"), _figure(part.figure, lang)),
    ]


def _fs_rows(card: Scorecard, lang: Lang) -> list[Row]:
    part, team = card.as_fs, card.shared
    if part is None:
        return []
    return [
        (
            t(lang, "scorecard.fs.won_amount"),
            _with_team(
                format_money(part.won_amount, lang, card.currency),
                format_money(team.won_amount, lang, card.currency),
                lang,
            ),
        ),
        (
            t(lang, "scorecard.fs.deal_size"),
            _with_team(
                _money(part.average_deal_size, lang, card.currency),
                _money(team.average_deal_size, lang, card.currency),
                lang,
            ),
        ),
        (
            t(lang, "scorecard.fs.win_rate"),
            _with_team(
                _rate_of(part.won, part.won + part.lost, lang), format_percent(team.win_rate, lang), lang
            ),
        ),
        (
            t(lang, "scorecard.fs.to_accept"),
            _with_team(
                _hours(part.average_hours_to_accept, lang), _hours(team.average_hours_to_accept, lang), lang
            ),
        ),
        (
            t(lang, "scorecard.fs.on_time"),
            _with_team(
                _rate_of(part.sheets_on_time, part.sheets_counted, lang),
                format_percent(team.on_time_rate, lang),
                lang,
            ),
        ),
        (t(lang, "scorecard.fs.figure"), _figure(part.figure, lang)),
    ]


def _shared_rows(card: Scorecard, lang: Lang) -> list[Row]:
    team = card.shared
    lead_time = (
        _none(lang)
        if team.average_lead_time_days is None
        else t(lang, "kpi.value.days", days=one_decimal(team.average_lead_time_days))
    )
    return [
        (t(lang, "scorecard.shared.win_rate"), _rate_of(team.won, team.won + team.lost, lang)),
        (t(lang, "scorecard.shared.lead_time"), lead_time),
        (t(lang, "scorecard.shared.won_amount"), format_money(team.won_amount, lang, card.currency)),
        (
            t(lang, "scorecard.shared.acceptance_rate"),
            _rate_of(team.accepted, team.accepted + team.returned, lang),
        ),
    ]


def _combined(card: Scorecard, lang: Lang) -> tuple[str, str]:
    """(the title with the combined figure, how this one was made)."""
    combined = card.combined
    title = t(lang, "scorecard.combined.title", value=_figure(combined.value, lang))
    if combined.individual is None:
        return title, t(lang, "scorecard.combined.no_individual")
    individual = one_decimal(combined.individual)
    if combined.shared is None:
        return title, t(lang, "scorecard.combined.no_shared", individual=individual)
    formula = t(
        lang,
        "scorecard.combined.formula",
        individual=individual,
        individual_share=_share(1 - combined.shared_weight),
        shared=one_decimal(combined.shared),
        shared_share=_share(combined.shared_weight),
    )
    both = card.as_is and card.as_fs and card.as_is.figure is not None and card.as_fs.figure is not None
    return title, formula + ("\n" + t(lang, "scorecard.combined.both") if both else "")


def _feedback_lines(card: Scorecard, lang: Lang) -> list[str]:
    lines = []
    from_fs, from_is = card.feedback.from_fs, card.feedback.from_is
    if from_fs is not None:
        if from_fs.count:
            ratings = t(lang, "scorecard.feedback.separator").join(
                t(
                    lang,
                    "scorecard.feedback.rating",
                    name=t(lang, f"feedback.field.{name}.label"),
                    stars=one_decimal(from_fs.averages[name]),
                )
                for name in RATING_FIELDS
                if name in from_fs.averages
            )
            lines.append(t(lang, "scorecard.feedback.from_fs", count=f"{from_fs.count:,}", ratings=ratings))
        else:
            lines.append(t(lang, "scorecard.feedback.from_fs_none"))
    if from_is is not None:
        if from_is.count and from_is.average is not None:
            lines.append(
                t(
                    lang,
                    "scorecard.feedback.from_is",
                    count=f"{from_is.count:,}",
                    average=one_decimal(from_is.average),
                )
            )
        else:
            lines.append(t(lang, "scorecard.feedback.from_is_none"))
    return [BULLET + line for line in lines]


def _whose(card: Scorecard, fmt: Fmt) -> str:
    return fmt.t(
        "scorecard.whose",
        user=fmt.user(card.user_id),
        first=format_date(card.period_first, fmt.lang),
        last=format_date(card.period_last, fmt.lang),
        tz=fmt.tz.key,
    )


def _label(card: Scorecard, lang: Lang, tz: ZoneInfo) -> str:
    return scorecard_period_label(card.period_first, card.period_last, lang=lang, tz=tz)


# -------------------------------------------------------------------------------------------- DM


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_MAX)))


def _fields(title: str, rows: Sequence[Row]) -> SectionBlock:
    return SectionBlock(
        text=MarkdownTextObject(text=truncate(f"*{title}*", SECTION_TEXT_MAX)),
        fields=[
            MarkdownTextObject(text=truncate(f"*{label}*\n{value}", SECTION_FIELD_TEXT_MAX))
            for label, value in rows
        ],
    )


def _context(*lines: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(line, TEXT_OBJECT_MAX)) for line in lines])


def build_scorecard(card: Scorecard, *, lang: Lang, tz: ZoneInfo, try_last: bool = False) -> Message:
    """The DM to the rep (or to a manager asking for theirs): the combined figure and how it is made, the
    rep's individual KPIs as IS and / or FS with the team's beside them, the shared KPIs, the feedback
    received. A rep with no toss-up in the period gets one line saying so (`try_last`: and how to see last
    month's, when they asked for this month's without naming it)."""
    fmt = Fmt(lang, tz, mrkdwn=True)
    label = _label(card, lang, tz)
    header = HeaderBlock(text=plain(truncate(t(lang, "scorecard.header", period=label), HEADER_TEXT_MAX)))
    if card.is_empty:
        text = t(lang, "scorecard.empty", user=fmt.user(card.user_id))
        if try_last:
            text += "\n" + t(lang, "scorecard.try_last")
        return truncate(text, FALLBACK_MAX), [header, _section(text)]
    title, how = _combined(card, lang)
    blocks: list[Block] = [
        header,
        _context(_whose(card, fmt), t(lang, "kpi.cohort")),
        _section(f"*{title}*\n{how}"),
    ]
    for part_title, rows in (
        (t(lang, "scorecard.is.title"), _is_rows(card, lang)),
        (t(lang, "scorecard.fs.title"), _fs_rows(card, lang)),
    ):
        if rows:
            blocks.append(_fields(part_title, rows))
    blocks.append(_fields(t(lang, "scorecard.shared.title"), _shared_rows(card, lang)))
    blocks.append(DividerBlock())
    blocks.append(
        _section("\n".join([f"*{t(lang, 'scorecard.feedback.title')}*", *_feedback_lines(card, lang)]))
    )
    blocks.append(
        _context(
            t(lang, "scorecard.how", shared_share=_share(card.combined.shared_weight)),
            t(lang, "scorecard.private"),
        )
    )
    fallback = t(lang, "scorecard.fallback", period=label, value=_figure(card.combined.value, lang))
    return truncate(fallback, FALLBACK_MAX), blocks


def scorecard_as_text(card: Scorecard, *, lang: Lang, tz: ZoneInfo) -> str:
    """The DM's content as plain text (the CLI preview)."""
    fmt = Fmt(lang, tz, mrkdwn=False)
    label = _label(card, lang, tz)
    header = t(lang, "scorecard.header", period=label)
    if card.is_empty:
        return f"{header}\n{t(lang, 'scorecard.empty', user=fmt.user(card.user_id))}"
    title, how = _combined(card, lang)
    parts = [f"{header}\n{_whose(card, fmt)}", f"{title}\n{how}"]
    for part_title, rows in (
        (t(lang, "scorecard.is.title"), _is_rows(card, lang)),
        (t(lang, "scorecard.fs.title"), _fs_rows(card, lang)),
        (t(lang, "scorecard.shared.title"), _shared_rows(card, lang)),
    ):
        if rows:
            parts.append("\n".join([part_title, *(f"{BULLET}{name}: {value}" for name, value in rows)]))
    parts.append("\n".join([t(lang, "scorecard.feedback.title"), *_feedback_lines(card, lang)]))
    parts.append(t(lang, "scorecard.how", shared_share=_share(card.combined.shared_weight)))
    return "\n\n".join(parts)


# -------------------------------------------------------------------------------------- overview


def _overview_line(rank: int, card: Scorecard, fmt: Fmt) -> str:
    lang = fmt.lang
    parts = []
    if card.as_is is not None:
        part = card.as_is
        memo = _memo(part.average_memo_score, part, lang)
        parts.append(
            fmt.t(
                "scorecard.overview.is_part",
                figure=_decimal(part.figure, lang),
                toss_ups=f"{part.toss_ups:,}",
                count=part.toss_ups,
                bant=format_percent(part.bant_acquisition_rate, lang),
                memo=memo,
            )
        )
    if card.as_fs is not None:
        part = card.as_fs
        on_time = _rate_of(part.sheets_on_time, part.sheets_counted, lang)  # as the rep's own card says it
        parts.append(
            fmt.t(
                "scorecard.overview.fs_part",
                figure=_decimal(part.figure, lang),
                won_amount=format_money(part.won_amount, lang, card.currency),
                win_rate=format_percent(part.win_rate, lang),
                on_time=on_time,
            )
        )
    return fmt.t(
        "scorecard.overview.line",
        rank=rank,
        user=fmt.user(card.user_id),
        value=fmt.bold(_figure(card.combined.value, lang)),
        parts=fmt.t("scorecard.overview.separator").join(parts),
    )


def _overview_head(cards: Sequence[Scorecard], lang: Lang, tz: ZoneInfo) -> tuple[str, str]:
    """(the header, the rule line) of a non-empty overview."""
    first = cards[0]
    weight = first.combined.shared_weight
    header = t(lang, "scorecard.overview.header", period=_label(first, lang, tz))
    # no deal closed yet: no shared figure, so the combined one is the individual one alone
    no_shared = first.shared.win_rate is None
    rule = t(
        lang,
        "scorecard.overview.rule_no_shared" if no_shared else "scorecard.overview.rule",
        individual_share=_share(1 - weight),
        shared_share=_share(weight),
        win_rate=format_percent(first.shared.win_rate, lang),
        count=f"{len(cards):,}",
    )
    return header, rule


def _empty_overview(
    period: Period | None, lang: Lang, tz: ZoneInfo, try_last: bool = False
) -> tuple[str | None, str]:
    """(the header when the period is known, the line saying there is nothing)."""
    text = t(lang, "scorecard.overview.empty")
    if try_last:
        text += "\n" + t(lang, "scorecard.overview.try_last")
    if period is None:
        return None, text
    label = scorecard_period_label(period.first_day, period.last_day, lang=lang, tz=tz)
    return t(lang, "scorecard.overview.header", period=label), text


def _more(lang: Lang) -> Callable[[int], str]:
    return lambda count: t(lang, "scorecard.overview.more", count=f"{count:,}")


def build_scorecard_overview(
    cards: Iterable[Scorecard],
    *,
    lang: Lang,
    tz: ZoneInfo,
    period: Period | None = None,
    try_last: bool = False,
) -> Message:
    """The managers' overview: one line per rep, best combined figure first, within Slack's limits ("…and
    N more reps"). With no cards, one line saying so (under a header naming `period` when given; with how
    to see last month's when `try_last`)."""
    ordered = ranked(cards)
    if not ordered:
        header, text = _empty_overview(period, lang, tz, try_last)
        blocks: list[Block] = [_section(text)]
        if header:
            blocks.insert(0, HeaderBlock(text=plain(truncate(header, HEADER_TEXT_MAX))))
        return truncate(text, FALLBACK_MAX), blocks
    fmt = Fmt(lang, tz, mrkdwn=True)
    header, rule = _overview_head(ordered, lang, tz)
    lines = [_overview_line(rank, card, fmt) for rank, card in enumerate(ordered, start=1)]
    texts = pack(
        fmt.bold(t(lang, "scorecard.overview.title")),
        lines,
        limit=SECTION_TEXT_MAX,
        max_blocks=OVERVIEW_BLOCKS,
        more=_more(lang),
    )
    blocks = [
        HeaderBlock(text=plain(truncate(header, HEADER_TEXT_MAX))),
        _context(rule),
        *(_section(text) for text in texts),
        _context(t(lang, "scorecard.overview.footer")),
    ]
    fallback = t(
        lang,
        "scorecard.overview.fallback",
        period=_label(ordered[0], lang, tz),
        count=f"{len(ordered):,}",
    )
    return truncate(fallback, FALLBACK_MAX), blocks


def overview_as_text(
    cards: Iterable[Scorecard], *, lang: Lang, tz: ZoneInfo, period: Period | None = None
) -> str:
    """The overview as plain text (the CLI preview): at most `TEXT_LINES_MAX` reps, then "…and N more"."""
    ordered = ranked(cards)
    if not ordered:
        header, text = _empty_overview(period, lang, tz)
        return f"{header}\n{text}" if header else text
    fmt = Fmt(lang, tz, mrkdwn=False)
    header, rule = _overview_head(ordered, lang, tz)
    lines = [_overview_line(rank, card, fmt) for rank, card in enumerate(ordered[:TEXT_LINES_MAX], start=1)]
    if len(ordered) > TEXT_LINES_MAX:
        lines.append(t(lang, "scorecard.overview.more", count=f"{len(ordered) - TEXT_LINES_MAX:,}"))
    return "\n".join([header, rule, "", t(lang, "scorecard.overview.title"), *lines])


def build_scorecard_not_yours(*, lang: Lang) -> Message:
    """Someone asked for another rep's scorecard without being a manager."""
    text = t(lang, "scorecard.not_yours")
    return text, [_section(text)]


def build_scorecard_usage(*, lang: Lang) -> Message:
    """How to name a period, for an argument `parse_scorecard_period` does not understand."""
    text = t(lang, "scorecard.usage")
    return text, [_section(text)]
