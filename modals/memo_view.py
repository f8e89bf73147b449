"""The full handoff memo, read-only, in a modal (the notice's "View memo" button)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from bot.config import AppConfig
from bot.domain.handoff import HandoffSnapshot
from bot.domain.memo import MEMO_SECTIONS, MULTILINE_FIELDS, MemoSection
from bot.i18n import Lang, t
from modals.common import (
    build_modal,
    company_name,
    custom_answers_mrkdwn,
    field_label,
    field_mrkdwn,
    plain,
    section_title,
)
from modals.ids import CallbackId
from modals.limits import HEADER_TEXT_MAX, SECTION_FIELD_TEXT_MAX, SECTION_FIELDS_MAX, SECTION_TEXT_MAX
from modals.memo_edit import history_button
from modals.notice import decision_line, fs_rep_mrkdwn
from modals.text import truncate, user_mention

_LABEL_ROOM = 200  # room kept for "*label*\n" within a section's text limits


def _answers(
    handoff: HandoffSnapshot, section: MemoSection, lang: Lang, tz: ZoneInfo, config: AppConfig
) -> list[Block]:
    """One section's answers in template order: short ones two-up as fields, long ones full width."""
    blocks: list[Block] = []
    short: list[MarkdownTextObject] = []

    def flush() -> None:
        if short:
            blocks.append(SectionBlock(fields=list(short)))
            short.clear()

    for field in MEMO_SECTIONS[section]:
        long = field in MULTILINE_FIELDS
        limit = (SECTION_TEXT_MAX if long else SECTION_FIELD_TEXT_MAX) - _LABEL_ROOM
        value = field_mrkdwn(
            handoff.memo, field, lang=lang, tz=tz, lead_sources=config.memo.lead_sources, limit=limit
        )
        text = MarkdownTextObject(text=f"*{field_label(lang, field)}*\n{value}")
        if long:
            flush()
            blocks.append(SectionBlock(text=text))
        else:
            short.append(text)
            if len(short) == SECTION_FIELDS_MAX:
                flush()
    flush()
    return blocks


def build_memo_view(
    *, handoff: HandoffSnapshot, lang: Lang, tz: ZoneInfo, config: AppConfig, with_history: bool
) -> View:
    """The memo as sent, read-only; `with_history`: the edited memo's History button, for a reader who may
    open it (`bot.domain.memo_edit.may_see_history`, checked again when it is clicked)."""
    people = t(
        lang,
        "memo_view.people",
        is_user=user_mention(handoff.is_user_id),
        fs_user=fs_rep_mrkdwn(handoff, lang),
    )
    blocks: list[Block] = [
        HeaderBlock(text=plain(truncate(company_name(handoff.memo, lang), HEADER_TEXT_MAX))),
        ContextBlock(
            elements=[
                MarkdownTextObject(text=people),
                MarkdownTextObject(text=decision_line(handoff, lang, tz)),
            ]
        ),
    ]
    for section in MemoSection:
        blocks.append(HeaderBlock(text=plain(section_title(lang, section))))
        blocks.extend(_answers(handoff, section, lang, tz, config))
        custom = custom_answers_mrkdwn(handoff.memo, config.memo.custom_selects, lang)
        if section is MemoSection.BASICS and custom:
            blocks.append(SectionBlock(text=MarkdownTextObject(text=custom)))
    history = history_button(handoff, lang) if with_history else None
    if history is not None:
        blocks.append(history)
    return build_modal(
        callback_id=CallbackId.MEMO_VIEW,
        title=t(lang, "memo.title"),
        close=t(lang, "common.close"),
        blocks=blocks,
    )
