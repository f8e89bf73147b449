"""Pieces every builder shares: the modal frame, and how one memo field reads in mrkdwn."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, PlainTextObject
from slack_sdk.models.views import View

from bot.domain.memo import (
    AuthorityLevel,
    BudgetStatus,
    HandoffMemo,
    MemoField,
    MemoSection,
    Temperature,
    Timeline,
    clean_text,
)
from bot.domain.options import CustomSelect, SelectOption
from bot.i18n import Lang, t
from modals.limits import VIEW_TEXT_MAX
from modals.text import enum_label, escape_within, format_date, format_datetime, truncate, user_mention

# Memo fields answered by picking one enum member (a static select over the enum's catalog labels).
ENUM_FIELDS: dict[MemoField, type[StrEnum]] = {
    MemoField.BUDGET_STATUS: BudgetStatus,
    MemoField.AUTHORITY: AuthorityLevel,
    MemoField.TIMELINE: Timeline,
    MemoField.TEMPERATURE: Temperature,
}

EMPTY = "—"


def plain(text: str) -> PlainTextObject:
    return PlainTextObject(text=text, emoji=True)


def build_modal(
    *,
    callback_id: str,
    title: str,
    blocks: Sequence[Block],
    close: str,
    submit: str | None = None,
    private_metadata: str | None = None,
) -> View:
    """A modal with title/submit/close cut to Slack's 24 characters (catalog texts are already short)."""
    return View(
        type="modal",
        callback_id=callback_id,
        title=plain(truncate(title, VIEW_TEXT_MAX)),
        submit=plain(truncate(submit, VIEW_TEXT_MAX)) if submit else None,
        close=plain(truncate(close, VIEW_TEXT_MAX)),
        private_metadata=private_metadata,
        blocks=list(blocks),
    )


def field_label(lang: Lang, field: MemoField) -> str:
    return t(lang, f"memo.field.{field.value}.label")


def section_title(lang: Lang, section: MemoSection) -> str:
    return t(lang, f"memo.section.{section.value}.title")


def company_name(memo: HandoffMemo, lang: Lang) -> str:
    """The company as plain text (escape it before it enters mrkdwn)."""
    return memo.company or t(lang, "common.no_company")


def lead_source_label(value: str, lead_sources: Sequence[SelectOption], lang: Lang) -> str:
    for option in lead_sources:
        if option.value == value:
            return option.label.get(lang)
    return value


def custom_answers_mrkdwn(memo: HandoffMemo, selects: Sequence[CustomSelect], lang: Lang) -> str | None:
    """The team's custom select answers on one line ("*Segment:* Enterprise · *Region:* East")."""
    parts = [
        f"*{escape_within(s.label.get(lang), 75)}:* {escape_within(s.label_of(memo.custom[s.key], lang), 75)}"
        for s in selects
        if s.key in memo.custom
    ]
    return " · ".join(parts) or None


def field_mrkdwn(
    memo: HandoffMemo,
    field: MemoField,
    *,
    lang: Lang,
    tz: ZoneInfo,
    lead_sources: Sequence[SelectOption] = (),
    limit: int = 3000,
) -> str:
    """One memo answer as safe mrkdwn of at most `limit` characters; "—" when it was left empty."""
    value = memo.value(field)
    if field is MemoField.HANDOFF_CALL_WANTED:
        return t(lang, "common.yes" if value else "common.no")
    if value is None or value == "":
        return EMPTY
    if field in ENUM_FIELDS:
        return enum_label(lang, value)
    if isinstance(value, datetime):
        return format_datetime(value, tz, lang)
    if isinstance(value, date):
        return format_date(value, lang)
    if field is MemoField.FS_USER_ID:
        return user_mention(str(value))
    if field is MemoField.LEAD_SOURCE:
        return escape_within(lead_source_label(str(value), lead_sources, lang), limit)
    return escape_within(str(value), limit)


# ---------------------------------------------------------------- reading view.state.values


def input_state(values: object, block_id: str, action_id: str) -> Mapping[str, Any]:
    """The state of one input in `view.state.values`; {} when Slack sent nothing usable."""
    if not isinstance(values, Mapping):
        return {}
    block = values.get(block_id)
    if not isinstance(block, Mapping):
        return {}
    state = block.get(action_id)
    return state if isinstance(state, Mapping) else {}


def text_value(state: Mapping[str, Any], key: str = "value") -> str | None:
    """A typed answer, trimmed; None when empty or not a string."""
    raw = state.get(key)
    return clean_text(raw) if isinstance(raw, str) else None


def selected_value(state: Mapping[str, Any]) -> str | None:
    """The value of a select's or radio group's chosen option."""
    option = state.get("selected_option")
    return text_value(option) if isinstance(option, Mapping) else None
