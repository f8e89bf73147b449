"""Modals FS opens from a notice: return the toss-up to IS (with a reason), or ask IS a question."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.domain.handoff import ReturnReason
from bot.i18n import Lang, t
from modals.common import build_modal, input_state, plain, selected_value, text_value
from modals.ids import ActionId, BlockId, CallbackId
from modals.metadata import HandoffActionMeta, dump_meta
from modals.text import enum_label, escape_mrkdwn, escape_within

RETURN_NOTE_MAX = 1000
QUESTION_MAX = 2000
COMPANY_MAX = 150


class ReturnSubmission(BaseModel):
    model_config = ConfigDict(frozen=True)

    reason: ReturnReason | None = None
    note: str | None = None


def _lead(lang: Lang, key: str, company: str) -> list[Block]:
    """The modal's opening: which toss-up this is about, and how to write a useful answer."""
    return [
        SectionBlock(
            text=MarkdownTextObject(text=t(lang, f"{key}.lead", company=escape_within(company, COMPANY_MAX)))
        ),
        ContextBlock(elements=[MarkdownTextObject(text=escape_mrkdwn(t(lang, f"{key}.guide")))]),
    ]


def _long_text(lang: Lang, key: str, block_id: BlockId, action_id: ActionId, limit: int) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=plain(t(lang, f"{key}.label")),
        hint=plain(t(lang, f"{key}.hint")),
        element=PlainTextInputElement(
            action_id=action_id,
            multiline=True,
            max_length=limit,
            placeholder=plain(t(lang, f"{key}.placeholder")),
        ),
    )


def _text_error(text: str | None, limit: int, lang: Lang) -> str | None:
    if text is None:
        return t(lang, "error.required")
    if len(text) > limit:
        return t(lang, "error.too_long", limit=limit, length=len(text))
    return None


# ---------------------------------------------------------------- return to IS


def build_return_modal(*, lang: Lang, meta: HandoffActionMeta, company: str) -> View:
    reasons = [Option(text=plain(enum_label(lang, r)), value=r.value) for r in ReturnReason]
    reason = InputBlock(
        block_id=BlockId.RETURN_REASON,
        label=plain(t(lang, "decision.return.reason.label")),
        element=StaticSelectElement(
            action_id=ActionId.RETURN_REASON,
            placeholder=plain(t(lang, "memo.select_placeholder")),
            options=reasons,
        ),
    )
    note = _long_text(
        lang, "decision.return.note", BlockId.RETURN_NOTE, ActionId.RETURN_NOTE, RETURN_NOTE_MAX
    )
    return build_modal(
        callback_id=CallbackId.RETURN_REASON,
        title=t(lang, "decision.return.title"),
        submit=t(lang, "decision.return.submit"),
        close=t(lang, "common.cancel"),
        private_metadata=dump_meta(meta),
        blocks=[*_lead(lang, "decision.return", company), reason, note],
    )


def parse_return_submission(values: dict) -> ReturnSubmission:
    raw_reason = selected_value(input_state(values, BlockId.RETURN_REASON, ActionId.RETURN_REASON))
    try:
        reason = ReturnReason(raw_reason) if raw_reason else None
    except ValueError:
        reason = None
    note = text_value(input_state(values, BlockId.RETURN_NOTE, ActionId.RETURN_NOTE))
    return ReturnSubmission(reason=reason, note=note)


def return_errors(sub: ReturnSubmission, lang: Lang) -> dict[str, str]:
    errors: dict[str, str] = {}
    if sub.reason is None:
        errors[BlockId.RETURN_REASON.value] = t(lang, "error.choose")
    note_error = _text_error(sub.note, RETURN_NOTE_MAX, lang)
    if note_error:
        errors[BlockId.RETURN_NOTE.value] = note_error
    return errors


# ---------------------------------------------------------------- question to IS


def build_question_modal(*, lang: Lang, meta: HandoffActionMeta, company: str) -> View:
    question = _long_text(
        lang, "decision.question.text", BlockId.QUESTION_TEXT, ActionId.QUESTION_TEXT, QUESTION_MAX
    )
    return build_modal(
        callback_id=CallbackId.QUESTION,
        title=t(lang, "decision.question.title"),
        submit=t(lang, "decision.question.submit"),
        close=t(lang, "common.cancel"),
        private_metadata=dump_meta(meta),
        blocks=[*_lead(lang, "decision.question", company), question],
    )


def parse_question_submission(values: dict) -> str | None:
    return text_value(input_state(values, BlockId.QUESTION_TEXT, ActionId.QUESTION_TEXT))


def question_errors(text: str | None, lang: Lang) -> dict[str, str]:
    error = _text_error(text, QUESTION_MAX, lang)
    return {BlockId.QUESTION_TEXT.value: error} if error else {}
