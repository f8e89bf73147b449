"""App Home: what a rep opens the app for — their own toss-ups and the ones waiting for them."""

from __future__ import annotations

from collections.abc import Sequence
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

from bot.domain.feedback import FollowUp
from bot.domain.handoff import HandoffSnapshot
from bot.domain.kpi import Kpis, Period
from bot.i18n import Lang, t
from modals.common import company_name, plain
from modals.kpi import build_kpi_report
from modals.notice import feedback_button_elements
from modals.text import enum_label, escape_within, format_datetime

COMPANY_MAX = 80


def _line(handoff: HandoffSnapshot, lang: Lang, tz: ZoneInfo) -> str:
    """One toss-up: company, status, meeting time, and its quality score once scored (x / 70 until FS
    rated it, then x / 100)."""
    meeting = format_datetime(handoff.memo.meeting_at, tz, lang) if handoff.memo.meeting_at else "—"
    line = t(
        lang,
        "home.line",
        company=escape_within(company_name(handoff.memo, lang), COMPANY_MAX),
        status=enum_label(lang, handoff.status),
        meeting=meeting,
    )
    if handoff.score is not None:
        score = handoff.score
        line += t(lang, "home.score", total=score.total, max_total=score.max_total)
    return line


def _list_section(
    title_key: str, empty_key: str, handoffs: Sequence[HandoffSnapshot], lang: Lang, tz: ZoneInfo
) -> list[Block]:
    lines = [_line(h, lang, tz) for h in handoffs] or [t(lang, empty_key)]
    return [
        HeaderBlock(text=plain(t(lang, title_key))),
        SectionBlock(text=MarkdownTextObject(text="\n".join(lines))),
    ]


def _follow_up_state(follow_up: FollowUp, lang: Lang) -> str:
    rating = t(lang, "home.follow_up.rated" if follow_up.rated else "home.follow_up.not_rated")
    kind = follow_up.outcome.value if follow_up.outcome else "none"
    outcome = t(lang, f"home.follow_up.outcome.{kind}")
    return f"{rating} · {outcome}"


def _follow_up_section(follow_ups: Sequence[FollowUp], lang: Lang, tz: ZoneInfo) -> list[Block]:
    """FS's meetings still owing the feedback sheet or the outcome, each with its Rate and Record outcome
    buttons (none: no section)."""
    if not follow_ups:
        return []
    blocks: list[Block] = [
        HeaderBlock(text=plain(t(lang, "home.follow_up.title"))),
        ContextBlock(elements=[MarkdownTextObject(text=t(lang, "home.follow_up.lead"))]),
    ]
    for follow_up in follow_ups:
        line = f"{_line(follow_up.handoff, lang, tz)}\n{_follow_up_state(follow_up, lang)}"
        blocks += [
            SectionBlock(text=MarkdownTextObject(text=line)),
            ActionsBlock(elements=feedback_button_elements(follow_up.handoff, lang, rated=follow_up.rated)),
        ]
    return [*blocks, DividerBlock()]


def build_home(
    *,
    lang: Lang,
    tz: ZoneInfo,
    tossed_up: Sequence[HandoffSnapshot],
    waiting: Sequence[HandoffSnapshot],
    follow_ups: Sequence[FollowUp] = (),
    team_kpis: tuple[Period, Kpis] | None = None,
) -> View:
    """The Home tab: the reader's meetings to follow up and toss-ups waiting for their decision (FS),
    their latest toss-ups (IS), and for managers this month's team KPIs (`team_kpis`)."""
    kpi_blocks: list[Block] = []
    if team_kpis is not None:
        period, team = team_kpis
        kpi_blocks = [*build_kpi_report(period=period, team=team, lang=lang, tz=tz)[1], DividerBlock()]
    blocks: list[Block] = [
        *kpi_blocks,
        *_follow_up_section(follow_ups, lang, tz),
        *_list_section("home.waiting.title", "home.waiting.empty", waiting, lang, tz),
        DividerBlock(),
        *_list_section("home.tossed_up.title", "home.tossed_up.empty", tossed_up, lang, tz),
        DividerBlock(),
        ContextBlock(elements=[MarkdownTextObject(text=t(lang, "message.help"))]),
    ]
    return View(type="home", blocks=blocks)
