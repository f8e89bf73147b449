"""App Home: what a rep opens the app for — their own toss-ups and the ones waiting for them."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
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
from modals.ids import ActionId
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


def _to_rate_section(handoffs: Sequence[HandoffSnapshot], lang: Lang, tz: ZoneInfo) -> list[Block]:
    """FS's meetings whose feedback sheet is open, each with its Rate button (none: no section)."""
    if not handoffs:
        return []
    blocks: list[Block] = [
        HeaderBlock(text=plain(t(lang, "home.to_rate.title"))),
        ContextBlock(elements=[MarkdownTextObject(text=t(lang, "home.to_rate.lead"))]),
    ]
    for handoff in handoffs:
        button = ButtonElement(
            text=plain(t(lang, "feedback.button.rate")),
            action_id=ActionId.FEEDBACK_OPEN,
            value=str(handoff.id),
            style="primary",
        )
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_line(handoff, lang, tz)), accessory=button))
    return [*blocks, DividerBlock()]


def build_home(
    *,
    lang: Lang,
    tz: ZoneInfo,
    tossed_up: Sequence[HandoffSnapshot],
    waiting: Sequence[HandoffSnapshot],
    to_rate: Sequence[HandoffSnapshot] = (),
) -> View:
    """The Home tab: the reader's meetings to rate and toss-ups waiting for their decision (FS), and
    their latest toss-ups (IS)."""
    blocks: list[Block] = [
        *_to_rate_section(to_rate, lang, tz),
        *_list_section("home.waiting.title", "home.waiting.empty", waiting, lang, tz),
        DividerBlock(),
        *_list_section("home.tossed_up.title", "home.tossed_up.empty", tossed_up, lang, tz),
        DividerBlock(),
        ContextBlock(elements=[MarkdownTextObject(text=t(lang, "message.help"))]),
    ]
    return View(type="home", blocks=blocks)
