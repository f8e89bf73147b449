"""Block Kit of the duplicate warning and of editing a memo: the warning on the company field, the Edit
button, what changed (in the notice's thread), the notice's marks, and the history of every version."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.config import AppConfig
from bot.domain.handoff import HandoffSnapshot, HandoffStatus
from bot.domain.memo import HandoffMemo, MemoField
from bot.domain.memo_edit import EditRefusal, changed_fields
from bot.i18n import Lang, t
from modals.common import EMPTY, build_modal, company_name, field_label, field_mrkdwn, plain
from modals.ids import ActionId, CallbackId
from modals.limits import HEADER_TEXT_MAX, SECTION_TEXT_MAX
from modals.text import escape_within, format_datetime, truncate, user_mention

Message = tuple[str, list[Block]]

VALUE_MAX = 200  # each side of "before → after": the full memo is one click away
COMPANY_MAX = 150
HISTORY_VERSIONS_MAX = 10  # the newest edits a history modal shows (a modal holds 100 blocks)
EDIT_BUTTONS_MAX = 5  # App Home: one row of Edit buttons for the IS rep's pending toss-ups


# ---------------------------------------------------------------- the duplicate warning


def duplicate_warning(*, duplicate: HandoffSnapshot, lang: Lang, permalink: str | None) -> str:
    """The company field's error (plain text): which open toss-up it may duplicate, and how to confirm."""
    if permalink:
        where = t(lang, "memo_edit.duplicate.where_link", number=duplicate.id, link=permalink)
    else:
        fs_rep = duplicate.fs_user_id or t(lang, "common.unassigned")
        where = t(lang, "memo_edit.duplicate.where_number", number=duplicate.id, fs_rep=fs_rep)
    return t(lang, "memo_edit.duplicate.warning", where=where)


def duplicate_line(handoff: HandoffSnapshot, lang: Lang) -> str | None:
    """The notice's "possible duplicate of #N" (IS confirmed it past the warning)."""
    if handoff.duplicate_of_id is None:
        return None
    return t(lang, "memo_edit.notice.duplicate", number=handoff.duplicate_of_id)


# ---------------------------------------------------------------- editing


def edited_line(handoff: HandoffSnapshot, lang: Lang, tz: ZoneInfo) -> str | None:
    """The notice's "edited" mark: how often and when last."""
    if not handoff.edit_count or handoff.edited_at is None:
        return None
    time = format_datetime(handoff.edited_at, tz, lang)
    return t(lang, "memo_edit.notice.edited", count=handoff.edit_count, time=time)


def edit_button(handoff_id: int, lang: Lang, *, company: str | None = None) -> ButtonElement:
    """Edit the memo (value = the toss-up id); with `company`, the button names it (App Home's list)."""
    text = t(lang, "memo_edit.button.edit")
    if company:
        text = t(lang, "memo_edit.button.edit_company", company=company)
    return ButtonElement(
        text=plain(truncate(text, 75)), action_id=ActionId.HANDOFF_EDIT, value=str(handoff_id)
    )


def edit_buttons_block(handoffs: Sequence[HandoffSnapshot], lang: Lang) -> list[Block]:
    """App Home, under the IS rep's list: an Edit button for each toss-up still pending (none: nothing)."""
    pending = [h for h in handoffs if h.status is HandoffStatus.PENDING][:EDIT_BUTTONS_MAX]
    if not pending:
        return []
    buttons = [edit_button(h.id, lang, company=company_name(h.memo, lang)) for h in pending]
    return [ActionsBlock(elements=buttons)]


def _private(text: str) -> Message:
    return text, [SectionBlock(text=MarkdownTextObject(text=text))]


def build_edit_refused(*, refusal: EditRefusal, lang: Lang) -> Message:
    """Why the memo cannot be edited (not theirs, frozen since FS decided, gone)."""
    return _private(t(lang, f"memo_edit.refused.{refusal.value}"))


def build_history_refused(*, lang: Lang) -> Message:
    return _private(t(lang, "memo_edit.history.not_allowed"))


def _label(lang: Lang, key: str, config: AppConfig | None) -> str:
    if key in MemoField._value2member_map_:
        return field_label(lang, MemoField(key))
    for select in config.memo.custom_selects if config else ():
        if select.key == key:
            return select.label.get(lang)
    return key


def _value(memo: HandoffMemo, key: str, lang: Lang, tz: ZoneInfo, config: AppConfig | None) -> str:
    """One answer as safe mrkdwn (user text escaped), cut to VALUE_MAX."""
    if key in MemoField._value2member_map_:
        lead_sources = config.memo.lead_sources if config else ()
        return field_mrkdwn(
            memo, MemoField(key), lang=lang, tz=tz, lead_sources=lead_sources, limit=VALUE_MAX
        )
    raw = memo.custom.get(key)
    if raw is None:
        return EMPTY
    for select in config.memo.custom_selects if config else ():
        if select.key == key:
            raw = select.label_of(raw, lang)
    return escape_within(raw, VALUE_MAX)


def change_lines(
    before: HandoffMemo, after: HandoffMemo, *, lang: Lang, tz: ZoneInfo, config: AppConfig | None
) -> list[str]:
    """ "• *Field*: before → after", one per changed answer, in template order."""
    return [
        t(
            lang,
            "memo_edit.change",
            field=escape_within(_label(lang, key, config), 100),
            before=_value(before, key, lang, tz, config),
            after=_value(after, key, lang, tz, config),
        )
        for key in changed_fields(before, after)
    ]


def _sections(lines: Sequence[str]) -> list[Block]:
    """Lines packed into as few sections as Slack's text limit allows."""
    blocks: list[Block] = []
    chunk = ""
    for line in lines:
        line = truncate(line, SECTION_TEXT_MAX)
        if chunk and len(chunk) + 1 + len(line) > SECTION_TEXT_MAX:
            blocks.append(SectionBlock(text=MarkdownTextObject(text=chunk)))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=chunk)))
    return blocks


def build_edit_diff(
    *,
    handoff: HandoffSnapshot,
    before: HandoffMemo,
    after: HandoffMemo,
    editor_id: str,
    version: int,
    lang: Lang,
    tz: ZoneInfo,
    config: AppConfig | None,
) -> Message:
    """In the notice's thread: the IS rep edited the memo (version n), what changed, before → after."""
    lead = t(
        lang,
        "memo_edit.diff.lead",
        user=user_mention(editor_id),
        company=escape_within(company_name(after, lang), COMPANY_MAX),
        version=version,
    )
    lines = change_lines(before, after, lang=lang, tz=tz, config=config) or [t(lang, "memo_edit.diff.none")]
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=lead)), *_sections(lines)]
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=t(lang, "memo_edit.diff.score_note"))]))
    return truncate(f"{lead}\n" + "\n".join(lines), SECTION_TEXT_MAX), blocks


def history_button(handoff: HandoffSnapshot, lang: Lang) -> ActionsBlock | None:
    """The memo view's "History (n versions)" button, when the memo was edited."""
    if not handoff.edit_count:
        return None
    button = ButtonElement(
        text=plain(t(lang, "memo_edit.button.history", versions=handoff.edit_count + 1)),
        action_id=ActionId.HANDOFF_HISTORY,
        value=str(handoff.id),
    )
    return ActionsBlock(elements=[button])


def build_history_modal(
    *,
    handoff: HandoffSnapshot,
    versions: Sequence[tuple[str | None, datetime, Mapping[str, Any]]],
    lang: Lang,
    tz: ZoneInfo,
    config: AppConfig | None,
) -> View:
    """Every version of the memo: version 1 as submitted, then each edit with who, when and what changed.

    `versions` holds each MEMO_EDITED event as (editor, time, detail), oldest first; the detail carries
    the memo before and after the edit.
    """
    company = company_name(handoff.memo, lang)
    blocks: list[Block] = [
        HeaderBlock(
            text=plain(truncate(t(lang, "memo_edit.history.header", company=company), HEADER_TEXT_MAX))
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=t(
                        lang,
                        "memo_edit.history.submitted",
                        user=user_mention(handoff.is_user_id),
                        time=format_datetime(handoff.created_at, tz, lang),
                    )
                )
            ]
        ),
    ]
    shown = list(enumerate(versions, start=2))[-HISTORY_VERSIONS_MAX:]
    for number, (editor, at, detail) in shown:
        before = HandoffMemo.model_validate(detail.get("before") or {})
        after = HandoffMemo.model_validate(detail.get("after") or {})
        title = t(
            lang,
            "memo_edit.history.version",
            version=number,
            user=user_mention(editor) if editor else EMPTY,
            time=format_datetime(at, tz, lang),
        )
        lines = change_lines(before, after, lang=lang, tz=tz, config=config) or [
            t(lang, "memo_edit.diff.none")
        ]
        blocks += [DividerBlock(), SectionBlock(text=MarkdownTextObject(text=title)), *_sections(lines)]
    return build_modal(
        callback_id=CallbackId.MEMO_HISTORY,
        title=t(lang, "memo_edit.history.title"),
        close=t(lang, "common.close"),
        blocks=blocks[:100],
    )
