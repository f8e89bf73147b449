"""The quarterly criteria review (四半期: トスアップ基準・プロセスの見直し) as Slack messages and as
plain text.

Pure builders over `bot.domain.quarterly.QuarterlyReview`: one compact lead message (header, quarter,
what the review is for, the quarter's counts, the two sections with how many comparisons each ranks, the
largest win-rate gaps), one thread reply per section (ranked comparisons, then the small samples, and what
the numbers mean), a one-message "nothing this quarter", and the whole review as plain text for the CLI
preview. Every message stays within Slack's limits; every label a team wrote is escaped.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.config import AppConfig
from bot.domain.criteria import BUILTIN_CRITERIA, CriteriaMode
from bot.domain.memo import MemoField
from bot.domain.quarterly import (
    FINDINGS_HEADLINE,
    Comparison,
    CriterionLine,
    Finding,
    Group,
    ItemLine,
    QuarterlyReview,
    QuarterlySection,
    quarter_number,
)
from bot.i18n import Lang, t
from modals.common import field_label, plain
from modals.digest_text import BULLET, FALLBACK_MAX, Fmt, Part, one_decimal, part_blocks, part_text, signed
from modals.limits import HEADER_TEXT_MAX, SECTION_TEXT_MAX, TEXT_OBJECT_MAX
from modals.messages import Message
from modals.text import truncate

__all__ = [
    "build_quarterly_empty",
    "build_quarterly_lead",
    "build_quarterly_section",
    "quarter_label",
    "quarterly_as_text",
]

NAME_MAX = 100  # a criterion's name as the team wrote it (labels are at most 75)
# A section's lists as JSON characters: two blocks of ranked comparisons and one of small samples, with
# the header and notes, stay under the digests' message budget (MESSAGE_SIZE_BUDGET, 11,000).
PART_LIMIT = 2900
RANKED_BLOCKS = 2


def quarter_label(first_day: date, last_day: date, lang: Lang) -> str:
    """ "Q3 2026 (Jul–Sep)" / "2026年 第3四半期（7月〜9月）"."""
    months = t(lang, "quarterly.months").split()
    return t(
        lang,
        "quarterly.quarter",
        number=quarter_number(first_day),
        year=first_day.year,
        first=months[first_day.month - 1],
        last=months[last_day.month - 1],
    )


def _quarter(review: QuarterlyReview, lang: Lang) -> str:
    return quarter_label(review.quarter_start, review.quarter_end, lang)


# ------------------------------------------------------------------------------------------ names


def criterion_name(line: CriterionLine, fmt: Fmt, config: AppConfig | None) -> str:
    """How the team calls the criterion (as `/tossup criteria` does): its own label, the built-in name,
    or the memo field it tests; a criterion no longer in app.yaml says so."""
    rule = next((r for r in config.criteria.rules if r.id == line.criterion_id), None) if config else None
    field = rule.field if rule is not None else line.field
    builtin = BUILTIN_CRITERIA.get(line.criterion_id)
    if rule is not None and rule.label is not None:
        name = fmt.user_text(rule.label.get(fmt.lang), NAME_MAX)
    elif builtin is not None and (field is None or builtin.field == field):
        name = fmt.t(f"criteria.name.{line.criterion_id}")
    elif field is not None and field in MemoField._value2member_map_:
        name = field_label(fmt.lang, MemoField(field))
    elif config is not None and field is not None and field in config.custom_labels:
        name = fmt.user_text(config.custom_labels[field].get(fmt.lang), NAME_MAX)
    else:
        name = fmt.user_text(field or line.criterion_id, NAME_MAX)
    return name if line.configured else fmt.t("quarterly.retired", name=name)


def _name(line: Comparison, fmt: Fmt, config: AppConfig | None) -> str:
    if isinstance(line, CriterionLine):
        return criterion_name(line, fmt, config)
    assert isinstance(line, ItemLine)
    return fmt.t(f"score.item.{line.key.value}")


# ------------------------------------------------------------------------------------------ pieces


def _rate(value: float | None, fmt: Fmt) -> str:
    if value is None:
        return fmt.t("kpi.none")
    return fmt.t("kpi.value.percent", percent=one_decimal(value * 100))


def _gap(value: float | None, fmt: Fmt) -> str:
    if value is None:
        return fmt.t("kpi.none")
    return fmt.t("quarterly.points", points=signed(value * 100))


def _group(group: Group, fmt: Fmt) -> str:
    return fmt.t(
        "quarterly.group",
        toss_ups=f"{group.toss_ups:,}",
        count=group.toss_ups,
        win_rate=_rate(group.win_rate, fmt),
        won=f"{group.won:,}",
        lost=f"{group.lost:,}",
        acceptance=_rate(group.acceptance_rate, fmt),
        accepted=f"{group.accepted:,}",
        returned=f"{group.returned:,}",
    )


def _small(line: Comparison, review: QuarterlyReview, fmt: Fmt) -> str:
    if line.win_small and line.acceptance_small:
        key = "both"
    elif line.win_small:
        key = "win"
    elif line.acceptance_small:
        key = "acceptance"
    else:
        return ""
    return fmt.t(f"quarterly.small.{key}", min=review.min_sample)


def _sides(line: Comparison, section: QuarterlySection, fmt: Fmt) -> list[str]:
    params = {"threshold": line.threshold, "max": line.max_points} if isinstance(line, ItemLine) else {}
    return [
        "   "
        + fmt.t(
            "quarterly.line.side",
            label=fmt.t(f"quarterly.side.{section.value}.{side}", **params),
            group=_group(group, fmt),
        )
        for side, group in (("met", line.met), ("not_met", line.not_met))
    ]


def _line(
    line: Comparison, section: QuarterlySection, review: QuarterlyReview, fmt: Fmt, config: AppConfig | None
) -> str:
    name = fmt.bold(_name(line, fmt, config))
    gaps = {"win_gap": _gap(line.win_gap, fmt), "acceptance_gap": _gap(line.acceptance_gap, fmt)}
    small = _small(line, review, fmt)
    if line.rank is not None:
        # Ranked: the win rate has enough data on both sides, so its gap is known.
        verdict = "predicts" if (line.win_gap or 0.0) > 0 else "costs"
        head = fmt.t(
            "quarterly.line.ranked",
            rank=line.rank,
            name=name,
            verdict=fmt.t(f"quarterly.verdict.{section.value}.{verdict}"),
            small=small,
            **gaps,
        )
    else:
        head = BULLET + fmt.t("quarterly.line.small", name=name, small=small, **gaps)
    return "\n".join([head, *_sides(line, section, fmt)])


def _heading(section: QuarterlySection, lang: Lang) -> str:
    return t(
        lang,
        "quarterly.section_heading",
        number=list(QuarterlySection).index(section) + 1,
        title=t(lang, f"quarterly.section.{section.value}"),
    )


def _lead_lines(review: QuarterlyReview, fmt: Fmt) -> list[str]:
    return [
        fmt.t(
            "quarterly.lead_line",
            heading=fmt.bold(_heading(section, fmt.lang)),
            count=fmt.t(
                f"quarterly.count.{section.value}",
                count=f"{review.section_count(section):,}",
                total=f"{len(review.lines(section)):,}",
            ),
        )
        for section in QuarterlySection
    ]


def _summary(review: QuarterlyReview, fmt: Fmt) -> str:
    return fmt.t(
        "quarterly.summary",
        toss_ups=f"{review.toss_ups:,}",
        won=f"{review.won:,}",
        lost=f"{review.lost:,}",
        still_open=f"{review.still_open:,}",
        accepted=f"{review.accepted:,}",
        returned=f"{review.returned:,}",
    )


def _finding_name(finding: Finding, review: QuarterlyReview, fmt: Fmt, config: AppConfig | None) -> str:
    lines = review.lines(finding.section)
    line = next(
        (
            line
            for line in lines
            if (line.criterion_id if isinstance(line, CriterionLine) else line.key.value) == finding.key
        ),
        None,
    )
    return _name(line, fmt, config) if line is not None else fmt.user_text(finding.key, NAME_MAX)


def _findings(review: QuarterlyReview, fmt: Fmt, config: AppConfig | None) -> str:
    title = fmt.bold(fmt.t("quarterly.findings_title"))
    if not review.findings:
        return "\n".join([title, fmt.t("quarterly.findings_none", min=review.min_sample)])
    lines = [
        BULLET
        + fmt.t(
            f"quarterly.finding.{finding.section.value}",
            name=_finding_name(finding, review, fmt, config),  # no bold: Slack misses it inside 「」
            gap=_gap(finding.win_gap, fmt),
        )
        for finding in review.findings[:FINDINGS_HEADLINE]
    ]
    return "\n".join([title, *lines])


def _parts(
    review: QuarterlyReview, section: QuarterlySection, fmt: Fmt, config: AppConfig | None
) -> list[Part]:
    lines = review.lines(section)
    ranked = [_line(line, section, review, fmt, config) for line in lines if line.rank is not None]
    small = [_line(line, section, review, fmt, config) for line in lines if line.rank is None]
    return [
        Part(
            fmt.bold(fmt.t("quarterly.ranked_title")),
            ranked,
            fmt.t("quarterly.ranked_empty", min=review.min_sample),
            limit=PART_LIMIT,
            blocks=RANKED_BLOCKS,
        ),
        Part(
            fmt.bold(fmt.t("quarterly.small_title", min=review.min_sample)),
            small,
            fmt.t("quarterly.small_empty"),
            limit=PART_LIMIT,
        ),
    ]


def _notes(review: QuarterlyReview, section: QuarterlySection, lang: Lang) -> list[str]:
    """What the section's numbers mean; for the criteria, where their "not met" side comes from."""
    notes = []
    if section is QuarterlySection.CRITERIA:
        if review.evaluated == 0:
            notes.append(t(lang, "quarterly.note.no_criteria"))
        elif review.overrides:
            notes.append(t(lang, "quarterly.note.overrides", count=f"{review.overrides:,}"))
        elif review.mode is CriteriaMode.GATE:
            notes.append(t(lang, "quarterly.note.no_overrides_gate"))
        else:
            notes.append(t(lang, "quarterly.note.no_overrides_warn"))
    else:
        notes.append(t(lang, "quarterly.note.met_rule", percent=review.met_percent))
    notes.append(t(lang, "quarterly.note.sample", min=review.min_sample))
    return notes


# ------------------------------------------------------------------------------------------ public


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_MAX)))


def build_quarterly_lead(
    review: QuarterlyReview, *, lang: Lang, tz: ZoneInfo, config: AppConfig | None = None
) -> Message:
    """The channel's lead message: header, what the review is for, the quarter's counts, the two sections
    (how many comparisons each ranks), the largest win-rate gaps; the details follow in its thread.
    `config` names the team's own criteria (without it: built-in names or the field tested)."""
    fmt = Fmt(lang, tz, mrkdwn=True)
    quarter = _quarter(review, lang)
    overview = "\n".join([_summary(review, fmt), *_lead_lines(review, fmt)])
    blocks: list[Block] = [
        HeaderBlock(text=plain(truncate(t(lang, "quarterly.header", quarter=quarter), HEADER_TEXT_MAX))),
        _section(t(lang, "quarterly.intro")),
        _section(overview),
        _section(_findings(review, fmt, config)),
        ContextBlock(
            elements=[MarkdownTextObject(text=truncate(t(lang, "quarterly.thread_hint"), TEXT_OBJECT_MAX))]
        ),
    ]
    fallback = t(
        lang,
        "quarterly.fallback",
        quarter=quarter,
        toss_ups=f"{review.toss_ups:,}",
        count=review.toss_ups,
        findings=f"{len(review.findings):,}",
    )
    return truncate(fallback, FALLBACK_MAX), blocks


def build_quarterly_section(
    review: QuarterlyReview,
    section: QuarterlySection,
    *,
    lang: Lang,
    tz: ZoneInfo,
    config: AppConfig | None = None,
) -> Message:
    """One thread reply: the section's comparisons, ranked ones first, then the small samples, then what
    the numbers mean (`config` names the team's own criteria)."""
    fmt = Fmt(lang, tz, mrkdwn=True)
    heading = _heading(section, lang)
    blocks: list[Block] = [HeaderBlock(text=plain(truncate(heading, HEADER_TEXT_MAX)))]
    for part in _parts(review, section, fmt, config):
        blocks.extend(part_blocks(part, fmt))
    notes = [MarkdownTextObject(text=truncate(n, TEXT_OBJECT_MAX)) for n in _notes(review, section, lang)]
    blocks.append(ContextBlock(elements=notes))
    return truncate(heading, FALLBACK_MAX), blocks


def build_quarterly_empty(review: QuarterlyReview, *, lang: Lang) -> Message:
    """A quarter without toss-ups: one message saying so."""
    quarter = _quarter(review, lang)
    text = t(lang, "quarterly.empty", quarter=quarter)
    blocks: list[Block] = [
        HeaderBlock(text=plain(truncate(t(lang, "quarterly.header", quarter=quarter), HEADER_TEXT_MAX))),
        _section(text),
    ]
    return truncate(text, FALLBACK_MAX), blocks


def quarterly_as_text(
    review: QuarterlyReview, *, lang: Lang, tz: ZoneInfo, config: AppConfig | None = None
) -> str:
    """The whole review as plain text (the CLI preview); a quarter with nothing in it is one line."""
    quarter = _quarter(review, lang)
    if review.is_empty:
        return t(lang, "quarterly.empty", quarter=quarter)
    fmt = Fmt(lang, tz, mrkdwn=False)
    lead = "\n".join(
        [
            t(lang, "quarterly.header", quarter=quarter),
            "",
            t(lang, "quarterly.intro"),
            "",
            _summary(review, fmt),
            *_lead_lines(review, fmt),
            "",
            _findings(review, fmt, config),
        ]
    )
    sections = [
        f"── {_heading(section, lang)} ──\n"
        + "\n\n".join(
            [
                *(part_text(part, fmt) for part in _parts(review, section, fmt, config)),
                "\n".join(_notes(review, section, lang)),
            ]
        )
        for section in QuarterlySection
    ]
    return "\n\n".join([lead, *sections])
