"""The weekly IS/FS meeting agenda (週次連携ミーティング アジェンダ) as Slack messages and as plain text.

Pure builders over `bot.domain.agenda.WeeklyAgenda`: one compact lead message for the channel (header, week,
the four time-boxed sections with one count each, the team's average memo score), one thread reply per
section with its details, a one-message "nothing this week", and the whole agenda as plain text for the
CLI preview. Every message stays within Slack's limits whatever the data: lists are cut to a character
budget and end with "…and N more"; every text a rep wrote is escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.domain.agenda import (
    SECTION_MINUTES,
    AgendaStatus,
    IssueLine,
    Section,
    SupportReason,
    WeeklyAgenda,
)
from bot.i18n import Lang, t
from modals.common import plain
from modals.digest_text import (
    BULLET,
    FALLBACK_MAX,
    MESSAGE_SIZE_BUDGET,
    NOTE_MAX,
    PROBLEM_MAX,
    REASON_MAX,
    REQUESTED_MAX,
    TEXT_LINES_MAX,
    Fmt,
    Part,
    block_size,
    notice_permalink,
    one_line,
    part_blocks,
    part_text,
    section_heading,
    signed,
)
from modals.ids import ActionId
from modals.limits import (
    BUTTON_TEXT_MAX,
    HEADER_TEXT_MAX,
    MESSAGE_BLOCKS_MAX,
    SECTION_TEXT_MAX,
    TEXT_OBJECT_MAX,
)
from modals.messages import Message
from modals.text import (
    enum_label,
    format_date,
    format_datetime,
    truncate,
)

__all__ = [
    "MESSAGE_SIZE_BUDGET",
    "agenda_as_text",
    "build_agenda_empty",
    "build_agenda_lead",
    "build_agenda_section",
    "notice_permalink",
]

# ---------------------------------------------------------------------------------------- headings


def _heading(section: Section, lang: Lang) -> str:
    return section_heading("agenda", section, SECTION_MINUTES[section], lang)


def _count_line(agenda: WeeklyAgenda, section: Section, lang: Lang) -> str:
    if (
        section is Section.NEXT_WEEK
    ):  # two lists that share toss-ups (a pending one with a meeting): not summed
        next_week = agenda.next_week
        return t(
            lang,
            "agenda.count.next_week",
            meetings=f"{next_week.meeting_count:,}",
            waiting=f"{next_week.waiting_count:,}",
        )
    return t(lang, f"agenda.count.{section.value}", count=f"{agenda.section_count(section):,}")


def _week(agenda: WeeklyAgenda, lang: Lang, tz: ZoneInfo) -> str:
    """The days the agenda covers; the moments, when it reviews the toss-ups since the last agenda."""
    if agenda.reviewed_from is not None and agenda.reviewed_to is not None:
        first = format_datetime(agenda.reviewed_from, tz, lang)
        return t(lang, "agenda.week", first=first, last=format_datetime(agenda.reviewed_to, tz, lang))
    return t(
        lang,
        "agenda.week",
        first=format_date(agenda.week_start, lang),
        last=format_date(agenda.week_end, lang),
    )


def _trend(agenda: WeeklyAgenda, fmt: Fmt) -> str:
    """The team's average memo score and its change from the 7 days before."""
    trend, of = agenda.this_week.team, agenda.memo_score_max
    if trend.average is None:
        change = fmt.t("agenda.team.no_scores")
    elif trend.previous is None:
        change = fmt.t("agenda.team.no_previous")
    else:
        change = fmt.t("agenda.team.change", change=signed(trend.average - trend.previous))
    return fmt.t("agenda.team.average", score=fmt.bold(fmt.average(trend.average, of)), change=change)


def _lead_lines(agenda: WeeklyAgenda, fmt: Fmt) -> list[str]:
    return [
        fmt.t(
            "agenda.lead_line",
            heading=fmt.bold(_heading(section, fmt.lang)),
            count=_count_line(agenda, section, fmt.lang),
        )
        for section in Section
    ]


# ---------------------------------------------------------------------------------------- sections


def _this_week_parts(agenda: WeeklyAgenda, fmt: Fmt) -> list[Part]:
    week = agenda.this_week
    toss_ups = [
        BULLET
        + fmt.t(
            "agenda.this_week.line",
            company=fmt.company(line.company, line.notice),
            is_user=fmt.user(line.is_user_id),
            fs_user=fmt.fs(line.fs_user_id),
            status=fmt.t(f"agenda.status.{line.status.value}"),
            score=fmt.score(line.score, line.score_max),
        )
        + (fmt.revision_mark(line.revision_of, line.revision_notice) if line.revision_of else "")
        for line in week.toss_ups
    ]
    counts = fmt.t("agenda.this_week.count_separator").join(
        fmt.t(
            "agenda.this_week.count_item",
            status=fmt.t(f"agenda.status.{status.value}"),
            count=f"{week.counts.get(status, 0):,}",
        )
        for status in AgendaStatus
    )
    reps = [
        BULLET
        + fmt.t(
            "agenda.this_week.rep_line",
            user=fmt.user(rep.user_id),
            score=fmt.average(rep.average, agenda.memo_score_max),
            count=f"{rep.toss_ups:,}",
        )
        for rep in week.by_rep
    ]
    return [
        Part(
            fmt.bold(fmt.t("agenda.this_week.list_title")),
            toss_ups,
            fmt.t("agenda.this_week.empty"),
            blocks=2,
        ),
        Part(
            fmt.bold(fmt.t("agenda.this_week.counts_title")),
            [counts, _trend(agenda, fmt)],
            "",
        ),
        Part(
            fmt.bold(fmt.t("agenda.this_week.reps_title")),
            reps,
            fmt.t("agenda.this_week.reps_empty"),
            limit=2500,
        ),
    ]


def _support_parts(agenda: WeeklyAgenda, fmt: Fmt) -> list[Part]:
    parts = []
    for reason in SupportReason:
        lines = [
            BULLET
            + fmt.t(
                "agenda.support.line",
                company=fmt.company(line.company, line.notice),
                is_user=fmt.user(line.is_user_id),
                fs_user=fmt.fs(line.fs_user_id),
                date=fmt.day(line.since),
                days=fmt.days(line.days),
            )
            for line in agenda.support
            if line.reason is reason
        ]
        if lines:
            total = max(agenda.support_count(reason), len(lines))
            label = fmt.bold(fmt.t(f"agenda.support.reason.{reason.value}"))
            title = fmt.t("agenda.support.group", label=label, count=f"{total:,}")
            parts.append(Part(title, lines, "", limit=2200, hidden=total - len(lines)))
    return parts


def _next_week_parts(agenda: WeeklyAgenda, fmt: Fmt) -> list[Part]:
    nxt = agenda.next_week
    meetings = [
        BULLET
        + fmt.t(
            "agenda.next_week.meeting_line",
            company=fmt.company(line.company, line.notice),
            time=fmt.moment(line.meeting_at),
            fs_user=fmt.fs(line.fs_user_id),
        )
        for line in nxt.meetings
    ]
    waiting = [
        BULLET
        + fmt.t(
            "agenda.next_week.waiting_line",
            company=fmt.company(line.company, line.notice),
            is_user=fmt.user(line.is_user_id),
            fs_user=fmt.fs(line.fs_user_id),
            date=fmt.day(line.created_at),
        )
        for line in nxt.waiting
    ]
    first, last = fmt.day(nxt.first_day), fmt.day(nxt.last_day)
    return [
        Part(
            fmt.bold(fmt.t("agenda.next_week.meetings_title", first=first, last=last)),
            meetings,
            fmt.t("agenda.next_week.meetings_empty"),
            hidden=max(nxt.meeting_count - len(meetings), 0),
        ),
        Part(
            fmt.bold(fmt.t("agenda.next_week.waiting_title")),
            waiting,
            fmt.t("agenda.next_week.waiting_empty"),
            hidden=max(nxt.waiting_count - len(waiting), 0),
        ),
    ]


def _issues_parts(agenda: WeeklyAgenda, fmt: Fmt) -> list[Part]:
    collab = agenda.collaboration
    low = []
    for line in collab.low_scores:
        params = {
            "company": fmt.company(line.company, line.notice),
            "is_user": fmt.user(line.is_user_id),
            "score": fmt.score(line.score, agenda.memo_score_max),
        }
        if line.weakest_item is not None and line.weakest_lost > 0:
            item = fmt.t(f"score.item.{line.weakest_item.value}")
            text = fmt.t("agenda.issues.low_line_weakest", item=item, lost=line.weakest_lost, **params)
        else:
            text = fmt.t("agenda.issues.low_line", **params)
        low.append(BULLET + text)
    returns = []
    for ret in collab.returns:
        params = {
            "company": fmt.company(ret.company),
            "is_user": fmt.user(ret.is_user_id),
            "fs_user": fmt.user(ret.returned_by),
            "reason": enum_label(fmt.lang, ret.reason) if ret.reason else fmt.t("agenda.issues.no_reason"),
        }
        note = one_line(ret.note or "")
        if note:
            text = fmt.t("agenda.issues.return_line_note", note=fmt.user_text(note, NOTE_MAX), **params)
        else:
            text = fmt.t("agenda.issues.return_line", **params)
        returns.append(BULLET + text)
    overrides = [
        BULLET
        + fmt.t(
            "agenda.issues.override_line",
            company=fmt.company(line.company),
            is_user=fmt.user(line.is_user_id),
            reason=fmt.user_text(line.reason, REASON_MAX),
        )
        for line in collab.overrides
    ]
    requested = [
        BULLET
        + fmt.t(
            "agenda.issues.requested_line",
            text=fmt.user_text(item.text, REQUESTED_MAX),
            count=f"{item.count:,}",
        )
        for item in collab.requested_info
    ]
    return [
        Part(
            fmt.bold(fmt.t("agenda.issues.low_title")),
            low,
            # none below full marks is not the same as no memo at all
            fmt.t(
                "agenda.issues.low_full"
                if agenda.this_week.team.average == agenda.memo_score_max
                else "agenda.issues.low_empty"
            ),
            limit=1500,
        ),
        Part(
            fmt.bold(fmt.t("agenda.issues.returns_title")),
            returns,
            fmt.t("agenda.issues.returns_empty"),
            limit=2000,
            hidden=max(collab.return_count - len(returns), 0),
        ),
        Part(
            # counted, as the memo modal's warn-mode hint and the README promise the weekly meeting does
            fmt.bold(
                fmt.t("agenda.issues.overrides_title_count", count=f"{len(overrides):,}")
                if overrides
                else fmt.t("agenda.issues.overrides_title")
            ),
            overrides,
            fmt.t("agenda.issues.overrides_empty"),
            limit=1200,
        ),
        Part(
            fmt.bold(fmt.t("agenda.issues.requested_title")),
            requested,
            fmt.t("agenda.issues.requested_empty"),
            limit=800,
        ),
    ]


def _issue_text(issue: IssueLine, agenda: WeeklyAgenda, fmt: Fmt) -> str:
    first = fmt.t(
        "agenda.issues.open_line",
        quadrant=fmt.bold(
            fmt.t("agenda.issues.quadrant", label=fmt.t(f"issues.quadrant.{issue.quadrant.value}"))
        ),
        problem=fmt.user_text(issue.problem, PROBLEM_MAX),
    )
    detail = fmt.t(
        "agenda.issues.open_detail",
        owner=fmt.user(issue.owner_id) if issue.owner_id else fmt.t("agenda.issues.no_owner"),
        age=fmt.days_between(issue.raised_at, agenda.generated_at),
        raised_by=fmt.user(issue.raised_by),
    )
    return f"{first}\n{detail}"


def _more_block(count: int, fmt: Fmt) -> Block:
    return ContextBlock(elements=[MarkdownTextObject(text=fmt.more(count))])


def _open_issue_blocks(agenda: WeeklyAgenda, fmt: Fmt, used: Sequence[Block]) -> list[Block]:
    """The open issues, one section each with its Close button, as many as the message has room for
    after the `used` blocks (count and size), then "…and N more"."""
    issues = agenda.collaboration.open_issues
    title = fmt.bold(fmt.t("agenda.issues.open_title"))
    if not issues:
        return [SectionBlock(text=MarkdownTextObject(text=f"{title}\n{fmt.t('agenda.issues.open_empty')}"))]
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=title))]
    size = sum(map(block_size, [*used, *blocks])) + 2  # the list's brackets
    reserve = block_size(_more_block(len(issues), fmt))
    close = plain(truncate(fmt.t("agenda.issues.close"), BUTTON_TEXT_MAX))
    for issue in issues:
        text = truncate(_issue_text(issue, agenda, fmt), SECTION_TEXT_MAX)
        button = ButtonElement(text=close, action_id=ActionId.ISSUE_CLOSE, value=str(issue.id))
        block = SectionBlock(text=MarkdownTextObject(text=text), accessory=button)
        room_blocks = len(used) + len(blocks) + 2 <= MESSAGE_BLOCKS_MAX
        if not room_blocks or size + block_size(block) + reserve > MESSAGE_SIZE_BUDGET:
            break
        blocks.append(block)
        size += block_size(block)
    left = len(issues) - (len(blocks) - 1)
    if left:
        blocks.append(_more_block(left, fmt))
    return blocks


_PARTS: dict[Section, Callable[[WeeklyAgenda, Fmt], list[Part]]] = {
    Section.THIS_WEEK: _this_week_parts,
    Section.SUPPORT: _support_parts,
    Section.NEXT_WEEK: _next_week_parts,
    Section.ISSUES: _issues_parts,
}


def _section_text(agenda: WeeklyAgenda, section: Section, fmt: Fmt) -> str:
    parts = _PARTS[section](agenda, fmt)
    chunks = [part_text(part, fmt) for part in parts]
    if section is Section.SUPPORT and not parts:
        chunks.append(fmt.t("agenda.support.empty"))
    if section is Section.ISSUES:
        issues = agenda.collaboration.open_issues
        lines = [
            BULLET + _issue_text(issue, agenda, fmt).replace("\n", "\n  ")
            for issue in issues[:TEXT_LINES_MAX]
        ]
        if len(issues) > len(lines):
            lines.append(fmt.more(len(issues) - len(lines)))
        body = lines or [fmt.t("agenda.issues.open_empty")]
        chunks.append("\n".join([fmt.t("agenda.issues.open_title"), *body]))
    return "\n\n".join(chunks)


# ------------------------------------------------------------------------------------------ public


def build_agenda_lead(agenda: WeeklyAgenda, *, lang: Lang, tz: ZoneInfo) -> Message:
    """The channel's compact lead message: header, week, the four sections (minutes, one count each),
    the team's average memo score and its change; the details follow in its thread. `tz` is the team's
    zone (the moments since the last agenda are shown in it)."""
    fmt = Fmt(lang, tz, mrkdwn=True)
    week = _week(agenda, lang, tz)
    trend = _trend(agenda, fmt)
    blocks: list[Block] = [
        HeaderBlock(text=plain(truncate(t(lang, "agenda.header"), HEADER_TEXT_MAX))),
        ContextBlock(elements=[MarkdownTextObject(text=truncate(week, TEXT_OBJECT_MAX))]),
        SectionBlock(
            text=MarkdownTextObject(text=truncate("\n".join(_lead_lines(agenda, fmt)), SECTION_TEXT_MAX))
        ),
        SectionBlock(text=MarkdownTextObject(text=truncate(trend, SECTION_TEXT_MAX))),
        ContextBlock(elements=[MarkdownTextObject(text=t(lang, "agenda.thread_hint"))]),
    ]
    fallback = t(
        lang,
        "agenda.fallback",
        week=week,
        count=f"{len(agenda.this_week.toss_ups):,}",
        score=fmt.average(agenda.this_week.team.average, agenda.memo_score_max),
    )
    return truncate(fallback, FALLBACK_MAX), blocks


def build_agenda_section(
    agenda: WeeklyAgenda, section: Section, *, lang: Lang, tz: ZoneInfo, workspace_url: str | None
) -> Message:
    """One thread reply: the details of `section`. Toss-ups link to their notices when `workspace_url`
    (ending with "/") and the notice's channel and ts are known; open issues carry a Close button."""
    fmt = Fmt(lang, tz, mrkdwn=True, workspace_url=workspace_url)
    heading = _heading(section, lang)
    blocks: list[Block] = [HeaderBlock(text=plain(truncate(heading, HEADER_TEXT_MAX)))]
    parts = _PARTS[section](agenda, fmt)
    for part in parts:
        blocks.extend(part_blocks(part, fmt))
    if section is Section.SUPPORT and not parts:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=t(lang, "agenda.support.empty"))))
    if section is Section.ISSUES:
        blocks.extend(_open_issue_blocks(agenda, fmt, blocks))
    fallback = t(lang, "agenda.lead_line", heading=heading, count=_count_line(agenda, section, lang))
    return truncate(fallback, FALLBACK_MAX), blocks


def build_agenda_empty(agenda: WeeklyAgenda, *, lang: Lang, tz: ZoneInfo) -> Message:
    """A week with nothing to discuss: one short message saying so, never an empty template."""
    week = _week(agenda, lang, tz)
    blocks: list[Block] = [
        HeaderBlock(text=plain(truncate(t(lang, "agenda.header"), HEADER_TEXT_MAX))),
        SectionBlock(
            text=MarkdownTextObject(
                text=truncate(f"{week}\n{t(lang, 'agenda.empty.text')}", SECTION_TEXT_MAX)
            )
        ),
    ]
    return truncate(t(lang, "agenda.empty.fallback", week=week), FALLBACK_MAX), blocks


def agenda_as_text(agenda: WeeklyAgenda, *, lang: Lang, tz: ZoneInfo) -> str:
    """The whole agenda as plain text (the CLI preview): the lead, then each section with its details.
    No mrkdwn, no entities; users read as @U123. An empty week is one line."""
    week = _week(agenda, lang, tz)
    if agenda.is_empty:
        return t(lang, "agenda.empty.fallback", week=week)
    fmt = Fmt(lang, tz, mrkdwn=False)
    lead = "\n".join(
        [
            t(lang, "agenda.header"),
            week,
            "",
            *_lead_lines(agenda, fmt),
            _trend(agenda, fmt),
        ]
    )
    sections = [
        f"── {_heading(section, lang)} ──\n{_section_text(agenda, section, fmt)}" for section in Section
    ]
    return "\n\n".join([lead, *sections])
