"""The monthly IS/FS review (月次連携ミーティング) as Slack messages, as plain text, and as chart data.

Pure builders over `bot.domain.monthly.MonthlyReview`: one compact lead message (header, month, the four
time-boxed sections with a count each, the headline KPIs against last month), one thread reply per
section, a one-message "nothing this month", the whole review as plain text for the CLI preview, and the
series the charts draw. Every message stays within Slack's limits; every text a rep wrote is escaped.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.config import AppConfig
from bot.domain.handoff import HandoffStatus
from bot.domain.monthly import (
    MONTHLY_MINUTES,
    RATE_KEYS,
    KpiKey,
    KpiLine,
    MonthlyReview,
    MonthlySection,
)
from bot.i18n import Lang, t
from modals.common import plain
from modals.diagnose import diagnosis_trend_lines
from modals.digest_text import (
    BULLET,
    COMPANY_MAX,
    FALLBACK_MAX,
    NOTE_MAX,
    PROBLEM_MAX,
    Fmt,
    Part,
    one_decimal,
    part_blocks,
    part_text,
    section_heading,
    signed,
)
from modals.limits import HEADER_TEXT_MAX, SECTION_TEXT_MAX, TEXT_OBJECT_MAX
from modals.messages import Message
from modals.text import format_money, truncate

__all__ = [
    "build_review_empty",
    "build_review_lead",
    "build_review_section",
    "kpi_chart_data",
    "review_as_text",
    "score_chart_data",
]

HEADLINE = (KpiKey.TOSS_UPS, KpiKey.WIN_RATE, KpiKey.WON_AMOUNT)


def month_label(first_day: date, lang: Lang) -> str:
    months = t(lang, "kpi.months").split()
    return t(lang, "kpi.period.month", month=months[first_day.month - 1], year=first_day.year)


def short_month(first_day: date, lang: Lang) -> str:
    """A month on a chart's axis: "2026-11" / "11月"."""
    return t(lang, "monthly.short_month", year=first_day.year, month=first_day.month)


def _value(key: KpiKey, value: float | None, lang: Lang, currency: str = "JPY") -> str:
    if value is None:
        return t(lang, "kpi.none")
    if key in RATE_KEYS:
        return t(lang, "kpi.value.percent", percent=one_decimal(value * 100))
    if key in (KpiKey.WON_AMOUNT, KpiKey.DEAL_SIZE):
        return format_money(round(value), lang, currency)
    if key is KpiKey.LEAD_TIME_DAYS:
        return t(lang, "kpi.value.days", days=one_decimal(value))
    if key is KpiKey.HOURS_TO_ACCEPT:
        return t(lang, "kpi.value.hours", hours=one_decimal(value))
    return t(lang, "kpi.value.count", count=f"{round(value):,}")  # "6件" as /tossup kpi shows counts


def _change(line: KpiLine, lang: Lang, currency: str) -> str:
    if line.previous is None:
        return t(lang, "monthly.kpi.no_previous")
    if line.change is None:
        return t(
            lang, "monthly.kpi.previous", previous=_value(line.key, line.previous, lang, currency), change="—"
        )
    if line.key in RATE_KEYS:
        change = t(lang, "monthly.kpi.points", points=signed(line.change * 100))
    elif line.key in (KpiKey.WON_AMOUNT, KpiKey.DEAL_SIZE):
        amount = format_money(round(abs(line.change)), lang, currency)
        change = ("+" if line.change > 0 else "−" if line.change < 0 else "±") + amount
    elif line.key in (KpiKey.TOSS_UPS, KpiKey.SQLS):
        count = round(line.change)
        signed_count = f"+{count:,}" if count > 0 else f"−{-count:,}" if count < 0 else "±0"
        change = t(lang, "kpi.value.count", count=signed_count)
    elif line.key is KpiKey.LEAD_TIME_DAYS:  # in the value's own unit: "−2.8 days", "−2.8日"
        change = t(lang, "kpi.value.days", days=signed(line.change))
    elif line.key is KpiKey.HOURS_TO_ACCEPT:
        change = t(lang, "kpi.value.hours", hours=signed(line.change))
    else:
        change = signed(line.change)
    return t(
        lang, "monthly.kpi.previous", previous=_value(line.key, line.previous, lang, currency), change=change
    )


def _kpi_line(line: KpiLine, fmt: Fmt, currency: str) -> str:
    return BULLET + fmt.t(
        "monthly.kpi.line",
        label=fmt.t(f"monthly.kpi.label.{line.key.value}"),
        value=fmt.bold(_value(line.key, line.current, fmt.lang, currency)),
        change=_change(line, fmt.lang, currency),
    )


def _heading(section: MonthlySection, lang: Lang) -> str:
    return section_heading("monthly", section, MONTHLY_MINUTES[section], lang)


def _lead_lines(review: MonthlyReview, fmt: Fmt) -> list[str]:
    return [
        fmt.t(
            "monthly.lead_line",
            heading=fmt.bold(_heading(section, fmt.lang)),
            count=fmt.t(f"monthly.count.{section.value}", count=f"{review.section_count(section):,}"),
        )
        for section in MonthlySection
    ]


def _headline(review: MonthlyReview, fmt: Fmt) -> str:
    lines = {line.key: line for line in review.kpis}
    return "\n".join(_kpi_line(lines[key], fmt, review.currency) for key in HEADLINE if key in lines)


def _source_label(value: str | None, config: AppConfig | None, lang: Lang) -> str:
    if not value:
        return t(lang, "monthly.sources.unknown")
    label = (config.option_labels.get("lead_source", {}) if config else {}).get(value)
    return label.get(lang) if label is not None else value


# ---------------------------------------------------------------------------------------- sections


def _closed_lines(review: MonthlyReview, fmt: Fmt) -> list[str]:
    """What the KPIs count (the month's toss-ups, their outcomes whenever), then the deals closed in the
    month whatever month they were tossed up in: a deal won this month from last month's toss-up shows."""
    if review.closed is None:  # stored before the close-date count existed
        return [fmt.t("kpi.cohort")]
    closed = review.closed
    amount = format_money(closed.won_amount, fmt.lang, review.currency)
    line = fmt.t("monthly.kpi.closed", won=f"{closed.won:,}", amount=amount, lost=f"{closed.lost:,}")
    return [fmt.t("kpi.cohort"), line]


def _kpi_parts(review: MonthlyReview, fmt: Fmt, config: AppConfig | None) -> list[Part]:
    sources = []
    for line in review.sources:
        name = fmt.user_text(_source_label(line.lead_source, config, fmt.lang), COMPANY_MAX)
        if line.campaign:
            name = fmt.t(
                "monthly.sources.with_campaign", source=name, campaign=fmt.user_text(line.campaign, 80)
            )
        sources.append(
            BULLET
            + fmt.t(
                "monthly.sources.line",
                name=name,
                toss_ups=f"{line.toss_ups:,}",
                acceptance=_value(KpiKey.ACCEPTANCE_RATE, line.acceptance_rate, fmt.lang),
                win_rate=_value(KpiKey.WIN_RATE, line.win_rate, fmt.lang),
                won=f"{line.won:,}",
            )
        )
    return [
        Part(
            fmt.bold(fmt.t("monthly.kpi.title")),
            [*[_kpi_line(line, fmt, review.currency) for line in review.kpis], *_closed_lines(review, fmt)],
            "",
        ),
        Part(fmt.bold(fmt.t("monthly.sources.title")), sources, fmt.t("monthly.sources.empty"), limit=2500),
    ]


def _score_parts(review: MonthlyReview, fmt: Fmt) -> list[Part]:
    trend = [
        BULLET
        + fmt.t(
            "monthly.score.trend_line",
            month=month_label(point.month, fmt.lang),
            score=fmt.average(point.average, review.memo_score_max),
            toss_ups=f"{point.toss_ups:,}",
        )
        for point in review.trend
    ]
    items = []
    for item in review.items:
        key = "monthly.score.weakest_line" if item.key is review.weakest else "monthly.score.item_line"
        items.append(
            BULLET
            + fmt.t(
                key,
                item=fmt.t(f"score.item.{item.key.value}"),
                average=one_decimal(item.average),
                max=item.max_points,
                share=one_decimal(item.share * 100),
            )
        )
    reps = [
        BULLET
        + fmt.t(
            "monthly.score.rep_line",
            user=fmt.user(rep.user_id),
            score=fmt.average(rep.average, review.memo_score_max),
            count=rep.toss_ups,
        )
        for rep in review.by_rep
    ]
    return [
        Part(fmt.bold(fmt.t("monthly.score.trend_title")), trend, fmt.t("monthly.score.trend_empty")),
        Part(fmt.bold(fmt.t("monthly.score.items_title")), items, fmt.t("monthly.score.items_empty")),
        Part(
            fmt.bold(fmt.t("monthly.score.reps_title")), reps, fmt.t("monthly.score.reps_empty"), limit=2000
        ),
    ]


def _case_lines(cases: list, fmt: Fmt, *, anonymous: bool) -> list[str]:
    """A case and what FS wrote about it. With `feedback.anonymous` FS's words are not put beside the name
    of the FS rep who wrote them: the line says "FS"."""
    lines = []
    for case in cases:
        if case.status is HandoffStatus.RETURNED:  # FS gave it back: there is no deal to have an outcome
            outcome = fmt.t("monthly.outcome.returned")
        else:
            outcome = fmt.t(f"monthly.outcome.{case.outcome.value if case.outcome else 'none'}")
        text = fmt.t(
            "monthly.cases.line",
            company=fmt.company(case.company, case.notice),
            is_user=fmt.user(case.is_user_id),
            fs_user=fmt.t("feedback.anonymous_fs") if anonymous else fmt.fs(case.fs_user_id),
            score=fmt.score(case.score, case.score_max),
            outcome=outcome,
        )
        if case.revision_of:  # the same company's returned toss-up may be a case too: say which is which
            text += fmt.revision_mark(case.revision_of, case.revision_notice)
        for key, said in (("good", case.good), ("improve", case.improve)):
            if said:
                text += "\n   " + fmt.t(f"monthly.cases.{key}", text=fmt.user_text(said, NOTE_MAX))
        lines.append(BULLET + text)
    return lines


def _case_parts(review: MonthlyReview, fmt: Fmt, config: AppConfig | None) -> list[Part]:
    anonymous = config is not None and config.feedback.anonymous
    return [
        Part(
            fmt.bold(fmt.t("monthly.cases.best_title")),
            _case_lines(review.best, fmt, anonymous=anonymous),
            fmt.t("monthly.cases.best_empty"),
        ),
        Part(
            fmt.bold(fmt.t("monthly.cases.worst_title")),
            _case_lines(review.worst, fmt, anonymous=anonymous),
            fmt.t("monthly.cases.worst_empty"),
        ),
    ]


def _measure_parts(review: MonthlyReview, fmt: Fmt) -> list[Part]:
    open_lines = [
        BULLET
        + fmt.t(
            "monthly.measures.open_line",
            quadrant=fmt.t(f"issues.quadrant.{issue.quadrant.value}"),
            problem=fmt.user_text(issue.problem, PROBLEM_MAX),
            owner=fmt.user(issue.owner_id) if issue.owner_id else fmt.t("monthly.measures.no_owner"),
            days=fmt.days_between(issue.raised_at, review.generated_at),
        )
        for issue in review.open_issues
    ]
    closed_lines = [
        BULLET
        + fmt.t(
            "monthly.measures.closed_line",
            problem=fmt.user_text(issue.problem, PROBLEM_MAX),
            decision=fmt.user_text(issue.decision or fmt.t("kpi.none"), NOTE_MAX),
            user=fmt.user(issue.closed_by),
            date=fmt.day(issue.closed_at),
        )
        for issue in review.closed_issues
    ]
    return [
        Part(
            fmt.bold(fmt.t("monthly.measures.open_title")), open_lines, fmt.t("monthly.measures.open_empty")
        ),
        Part(
            fmt.bold(fmt.t("monthly.measures.closed_title")),
            closed_lines,
            fmt.t("monthly.measures.closed_empty"),
        ),
        Part(
            fmt.bold(fmt.t("diagnose.monthly.title")),
            diagnosis_trend_lines(review.diagnosis, fmt),
            fmt.t("diagnose.monthly.empty"),
        ),
    ]


def _parts(review: MonthlyReview, section: MonthlySection, fmt: Fmt, config: AppConfig | None) -> list[Part]:
    match section:
        case MonthlySection.KPIS:
            return _kpi_parts(review, fmt, config)
        case MonthlySection.SCORE:
            return _score_parts(review, fmt)
        case MonthlySection.CASES:
            return _case_parts(review, fmt, config)
        case MonthlySection.MEASURES:
            return _measure_parts(review, fmt)


# ------------------------------------------------------------------------------------------ public


def build_review_lead(review: MonthlyReview, *, lang: Lang, tz: ZoneInfo) -> Message:
    """The channel's lead message: header, month, the four sections (minutes, a count each), the headline
    KPIs against last month; the details and the charts follow in its thread."""
    fmt = Fmt(lang, tz, mrkdwn=True)
    month = month_label(review.month_start, lang)
    blocks: list[Block] = [
        HeaderBlock(text=plain(truncate(t(lang, "monthly.header", month=month), HEADER_TEXT_MAX))),
        SectionBlock(
            text=MarkdownTextObject(text=truncate("\n".join(_lead_lines(review, fmt)), SECTION_TEXT_MAX))
        ),
        SectionBlock(text=MarkdownTextObject(text=truncate(_headline(review, fmt), SECTION_TEXT_MAX))),
        ContextBlock(
            elements=[MarkdownTextObject(text=truncate(t(lang, "monthly.thread_hint"), TEXT_OBJECT_MAX))]
        ),
    ]
    fallback = t(lang, "monthly.fallback", month=month, count=f"{review.toss_ups:,}")
    return truncate(fallback, FALLBACK_MAX), blocks


def build_review_section(
    review: MonthlyReview,
    section: MonthlySection,
    *,
    lang: Lang,
    tz: ZoneInfo,
    workspace_url: str | None,
    config: AppConfig | None = None,
) -> Message:
    """One thread reply: the details of `section` (`config` names the team's lead sources)."""
    fmt = Fmt(lang, tz, mrkdwn=True, workspace_url=workspace_url)
    heading = _heading(section, lang)
    blocks: list[Block] = [HeaderBlock(text=plain(truncate(heading, HEADER_TEXT_MAX)))]
    for part in _parts(review, section, fmt, config):
        blocks.extend(part_blocks(part, fmt))
    return truncate(heading, FALLBACK_MAX), blocks


def build_review_empty(review: MonthlyReview, *, lang: Lang) -> Message:
    month = month_label(review.month_start, lang)
    text = t(lang, "monthly.empty", month=month)
    blocks: list[Block] = [
        HeaderBlock(text=plain(truncate(t(lang, "monthly.header", month=month), HEADER_TEXT_MAX))),
        SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_MAX))),
    ]
    return truncate(text, FALLBACK_MAX), blocks


def review_as_text(
    review: MonthlyReview, *, lang: Lang, tz: ZoneInfo, config: AppConfig | None = None
) -> str:
    """The whole review as plain text (the CLI preview); a month with nothing in it is one line."""
    month = month_label(review.month_start, lang)
    if review.is_empty:
        return t(lang, "monthly.empty", month=month)
    fmt = Fmt(lang, tz, mrkdwn=False)
    lead = "\n".join(
        [t(lang, "monthly.header", month=month), "", *_lead_lines(review, fmt), _headline(review, fmt)]
    )
    sections = [
        f"── {_heading(section, lang)} ──\n"
        + "\n\n".join(part_text(part, fmt) for part in _parts(review, section, fmt, config))
        for section in MonthlySection
    ]
    return "\n\n".join([lead, *sections])


def score_chart_data(review: MonthlyReview, *, lang: Lang) -> dict[str, object]:
    """What `bot.charts.score_trend_chart` draws: the monthly averages and each item's share kept."""
    return {
        "months": [short_month(point.month, lang) for point in review.trend],
        "averages": [point.average for point in review.trend],
        "items": [(t(lang, f"score.item.{item.key.value}"), item.share) for item in review.items],
        "memo_max": review.memo_score_max,
    }


def kpi_chart_data(review: MonthlyReview, *, lang: Lang) -> dict[str, object]:
    """What `bot.charts.kpi_chart` draws: toss-ups and wins per month, and the win rate."""
    return {
        "months": [short_month(point.month, lang) for point in review.trend],
        "toss_ups": [point.toss_ups for point in review.trend],
        "won": [point.won for point in review.trend],
        "win_rates": [point.win_rate for point in review.trend],
    }
