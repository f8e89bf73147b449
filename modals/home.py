"""App Home: what a rep opens the app for — their own toss-ups and the ones waiting for them, the feedback
they received and their KPIs. Times are shown in the reader's own zone (`tz`); periods are the team's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.domain.agenda import NoticeRef
from bot.domain.diagnosis import LatestDiagnosis
from bot.domain.feedback import FollowUp
from bot.domain.handoff import HandoffSnapshot
from bot.domain.kpi import Kpis, Period
from bot.domain.outcome import OutcomeKind
from bot.domain.received_feedback import ReceivedFeedback, ReceivedSheet
from bot.i18n import Lang, t
from modals.common import company_name, plain
from modals.diagnose import diagnosis_home_blocks
from modals.digest_text import notice_permalink, one_line
from modals.feedback import STAR_INPUTS, TEXT_INPUTS, learning_loop_block, stars_text
from modals.kpi import build_kpi_report, kpi_blocks, period_label
from modals.limits import SECTION_TEXT_MAX
from modals.memo_edit import edit_buttons_block
from modals.notice import feedback_button_elements
from modals.text import (
    enum_label,
    escape_mrkdwn,
    escape_within,
    format_datetime,
    lines_within,
    truncate,
    user_mention,
)

COMPANY_MAX = 80
# Each of a sheet's three texts in at most this much, so the three with their headings fit one section.
SHEET_TEXT_MAX = (SECTION_TEXT_MAX - 300) // len(TEXT_INPUTS)


@dataclass(frozen=True)
class _Marks:
    """What a list line adds to the toss-up itself: its outcome once FS recorded one, whether it is past
    the acceptance deadline, and the workspace URL its notice's link is made from."""

    outcomes: Mapping[int, OutcomeKind] = field(default_factory=dict)
    overdue: frozenset[int] = frozenset()
    workspace_url: str | None = None


def _line(handoff: HandoffSnapshot, lang: Lang, tz: ZoneInfo, marks: _Marks) -> str:
    """One toss-up: company (linked to its notice), status (won or lost once FS recorded it), meeting
    time, its quality score once scored (x / 70 until FS rated it, then x / 100), and ⏰ past the
    acceptance deadline."""
    meeting = format_datetime(handoff.memo.meeting_at, tz, lang) if handoff.memo.meeting_at else "—"
    company = escape_within(one_line(company_name(handoff.memo, lang)), COMPANY_MAX)
    link = notice_permalink(
        marks.workspace_url, NoticeRef(channel_id=handoff.notice_channel_id, ts=handoff.notice_ts)
    )
    outcome = marks.outcomes.get(handoff.id)
    status = (
        t(lang, f"feedback.outcome.kind.{outcome.value}")
        if outcome in (OutcomeKind.WON, OutcomeKind.LOST)
        else enum_label(lang, handoff.status)
    )
    if handoff.id in marks.overdue:  # with the status it qualifies
        status += t(lang, "home.waiting.overdue")
    line = t(
        lang,
        "home.line",
        company=f"<{escape_mrkdwn(link)}|{company}>" if link else company,
        status=status,
        meeting=meeting,
    )
    if handoff.score is not None:
        score = handoff.score
        line += t(lang, "home.score", total=score.total, max_total=score.max_total)
    return line


def _list_section(
    title_key: str,
    empty_key: str,
    handoffs: Sequence[HandoffSnapshot],
    lang: Lang,
    tz: ZoneInfo,
    marks: _Marks,
) -> list[Block]:
    lines = [_line(h, lang, tz, marks) for h in handoffs] or [t(lang, empty_key)]
    # Ten lines with links, scores and marks can pass Slack's limit for a section: the tab would not publish.
    text = lines_within(lines, SECTION_TEXT_MAX, lambda count: t(lang, "home.more", count=count))
    return [
        HeaderBlock(text=plain(t(lang, title_key))),
        SectionBlock(text=MarkdownTextObject(text=text)),
    ]


def _follow_up_state(follow_up: FollowUp, lang: Lang) -> str:
    rating = t(lang, "home.follow_up.rated" if follow_up.rated else "home.follow_up.not_rated")
    kind = follow_up.outcome.value if follow_up.outcome else "none"
    outcome = t(lang, f"home.follow_up.outcome.{kind}")
    return f"{rating} · {outcome}"


def _follow_up_section(
    follow_ups: Sequence[FollowUp], lang: Lang, tz: ZoneInfo, marks: _Marks
) -> list[Block]:
    """FS's meetings still owing the feedback sheet or the outcome, each with its Rate and Record outcome
    buttons (none: no section)."""
    if not follow_ups:
        return []
    blocks: list[Block] = [
        HeaderBlock(text=plain(t(lang, "home.follow_up.title"))),
        ContextBlock(elements=[MarkdownTextObject(text=t(lang, "home.follow_up.lead"))]),
    ]
    for follow_up in follow_ups:
        line = f"{_line(follow_up.handoff, lang, tz, marks)}\n{_follow_up_state(follow_up, lang)}"
        blocks += [
            SectionBlock(text=MarkdownTextObject(text=line)),
            ActionsBlock(elements=feedback_button_elements(follow_up.handoff, lang, rated=follow_up.rated)),
        ]
    return [*blocks, DividerBlock()]


def _sheet_blocks(received: ReceivedSheet, lang: Lang, tz: ZoneInfo) -> list[Block]:
    """One sheet: whose toss-up, who rated it and when (the rater unnamed in anonymous mode), the result
    and the four stars, then the texts FS wrote."""
    sheet = received.sheet
    meeting = format_datetime(received.meeting_at, tz, lang) if received.meeting_at else "—"
    rater = user_mention(received.rater_id) if received.rater_id else t(lang, "feedback.anonymous_fs")
    lead = t(
        lang,
        "home.received.sheet",
        company=escape_within(received.company or t(lang, "common.no_company"), COMPANY_MAX),
        meeting=meeting,
        rater=rater,
        at=format_datetime(received.at, tz, lang),
    )
    result = t(lang, f"feedback.result.{sheet.result.value}")
    fields = [MarkdownTextObject(text=t(lang, "feedback.to_is.result", result=result))]
    for name, _, _ in STAR_INPUTS:
        stars = int(getattr(sheet, name))
        value = t(lang, "feedback.star_value", stars=stars_text(stars), score=stars)
        fields.append(MarkdownTextObject(text=f"*{t(lang, f'feedback.field.{name}.label')}*\n{value}"))
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=truncate(lead, SECTION_TEXT_MAX)), fields=fields)
    ]
    texts = [
        f"{t(lang, f'feedback.to_is.{name}')}\n{escape_within(getattr(sheet, name), SHEET_TEXT_MAX)}"
        for name, _, _ in TEXT_INPUTS
        if getattr(sheet, name)
    ]
    if texts:
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(texts), SECTION_TEXT_MAX)))
        )
    return blocks


def _received_section(received: ReceivedFeedback, lang: Lang, tz: ZoneInfo) -> list[Block]:
    """The IS rep's latest feedback sheets and FS's "collect next time" list."""
    blocks: list[Block] = [HeaderBlock(text=plain(t(lang, "home.received.title")))]
    if received.is_empty:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=t(lang, "home.received.empty"))))
        return [*blocks, DividerBlock()]
    asked = learning_loop_block(received.collect_next, lang)
    if asked is not None:
        blocks.append(asked)
    for sheet in received.sheets:
        blocks += _sheet_blocks(sheet, lang, tz)
    return [*blocks, DividerBlock()]


def _my_kpis_section(
    my_kpis: tuple[Period, Kpis], lang: Lang, team_tz: ZoneInfo, currency: str
) -> list[Block]:
    """The reader's own KPIs of this month (the team's month: its bounds are midnights in `team_tz`)."""
    period, mine = my_kpis
    title = t(lang, "home.my_kpis.title", period=period_label(period, lang))
    lead = t(lang, "home.my_kpis.lead", tz=team_tz.key)
    # nothing of this month yet (the 1st): where last month's figures are
    hint = [MarkdownTextObject(text=t(lang, "kpi.try_last"))] if mine.toss_ups == 0 else []
    return [
        HeaderBlock(text=plain(title)),
        ContextBlock(elements=[MarkdownTextObject(text=lead), *hint]),
        *kpi_blocks(mine, t(lang, "kpi.mine.title"), lang, currency),
        DividerBlock(),
    ]


def build_home(
    *,
    lang: Lang,
    tz: ZoneInfo,
    tossed_up: Sequence[HandoffSnapshot],
    waiting: Sequence[HandoffSnapshot],
    follow_ups: Sequence[FollowUp] = (),
    team_kpis: tuple[Period, Kpis] | None = None,
    team_tz: ZoneInfo | None = None,
    received: ReceivedFeedback | None = None,
    my_kpis: tuple[Period, Kpis] | None = None,
    diagnosis: LatestDiagnosis | None = None,
    may_toss_up: bool = True,
    currency: str = "JPY",
    outcomes: Mapping[int, OutcomeKind] | None = None,
    overdue: frozenset[int] = frozenset(),
    workspace_url: str | None = None,
) -> View:
    """The Home tab: the reader's meetings to follow up and toss-ups waiting for their decision (FS),
    their latest toss-ups, the feedback they received and their own KPIs this month (IS: `received`,
    `my_kpis`), and for managers this month's team KPIs (`team_kpis`).

    `tz` is the reader's own zone (every time shown); `team_tz` the team's (the month's bounds; `tz`
    when not given). A reader who may not toss up (`may_toss_up`: an FS rep while IS members are listed)
    is not told to type `/tossup`: their toss-up list shows only when it has something in it. Each line
    links to its notice (from `workspace_url`), reads won or lost once FS recorded it (`outcomes`), and
    says when a waiting toss-up is past the acceptance deadline (`overdue`)."""
    marks = _Marks(outcomes=outcomes or {}, overdue=overdue, workspace_url=workspace_url)
    team_zone = team_tz or tz
    team_blocks: list[Block] = []
    if team_kpis is not None:
        period, team = team_kpis
        team_blocks = [
            *build_kpi_report(
                period=period, team=team, lang=lang, tz=team_zone, currency=currency, try_last=True
            )[1],
            DividerBlock(),
        ]
    blocks: list[Block] = [
        *team_blocks,
        # managers: the team's latest collaboration diagnosis (level and action)
        *(diagnosis_home_blocks(diagnosis.record, lang=lang, tz=tz) if diagnosis is not None else []),
        *(_my_kpis_section(my_kpis, lang, team_zone, currency) if my_kpis is not None else []),
        *(_received_section(received, lang, tz) if received is not None else []),
        *_follow_up_section(follow_ups, lang, tz, marks),
        *_list_section("home.waiting.title", "home.waiting.empty", waiting, lang, tz, marks),
        DividerBlock(),
        *(
            [
                *_list_section("home.tossed_up.title", "home.tossed_up.empty", tossed_up, lang, tz, marks),
                *edit_buttons_block(tossed_up, lang),
                DividerBlock(),
            ]
            if tossed_up or may_toss_up
            else []
        ),
        ContextBlock(elements=[MarkdownTextObject(text=t(lang, "message.help"))]),
    ]
    return View(type="home", blocks=blocks)
