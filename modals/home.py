"""App Home: what a rep opens the app for — their own toss-ups and the ones waiting for them."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.domain.handoff import HandoffSnapshot
from bot.i18n import Lang, t
from modals.common import company_name, plain
from modals.text import enum_label, escape_within, format_datetime

COMPANY_MAX = 80


def _line(handoff: HandoffSnapshot, lang: Lang, tz: ZoneInfo) -> str:
    meeting = format_datetime(handoff.memo.meeting_at, tz, lang) if handoff.memo.meeting_at else "—"
    return t(
        lang,
        "home.line",
        company=escape_within(company_name(handoff.memo, lang), COMPANY_MAX),
        status=enum_label(lang, handoff.status),
        meeting=meeting,
    )


def _list_section(
    title_key: str, empty_key: str, handoffs: Sequence[HandoffSnapshot], lang: Lang, tz: ZoneInfo
) -> list[Block]:
    lines = [_line(h, lang, tz) for h in handoffs] or [t(lang, empty_key)]
    return [
        HeaderBlock(text=plain(t(lang, title_key))),
        SectionBlock(text=MarkdownTextObject(text="\n".join(lines))),
    ]


def build_home(
    *,
    lang: Lang,
    tz: ZoneInfo,
    tossed_up: Sequence[HandoffSnapshot],
    waiting: Sequence[HandoffSnapshot],
) -> View:
    """The Home tab: the reader's latest toss-ups (IS) and those waiting for their decision (FS)."""
    blocks: list[Block] = [
        *_list_section("home.waiting.title", "home.waiting.empty", waiting, lang, tz),
        DividerBlock(),
        *_list_section("home.tossed_up.title", "home.tossed_up.empty", tossed_up, lang, tz),
        DividerBlock(),
        ContextBlock(elements=[MarkdownTextObject(text=t(lang, "message.help"))]),
    ]
    return View(type="home", blocks=blocks)
