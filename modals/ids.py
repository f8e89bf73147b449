"""Every callback_id, action_id and block_id the Block Kit layer uses, in one place.

Handlers match on these enums; builders put them into views and messages. A memo input's block_id is
the MemoField value itself (`"company"`), so a field problem maps 1:1 onto `response_action: errors`.
"""

from __future__ import annotations

from enum import StrEnum

from bot.domain.memo import MemoField


class CallbackId(StrEnum):
    HANDOFF_MEMO = "handoff_memo"
    RETURN_REASON = "handoff_return_reason"
    QUESTION = "handoff_question"
    MEMO_VIEW = "handoff_memo_view"


class ActionId(StrEnum):
    # buttons on the toss-up notice
    HANDOFF_ACCEPT = "handoff_accept"
    HANDOFF_RETURN = "handoff_return"
    HANDOFF_ASK = "handoff_ask"
    HANDOFF_VIEW = "handoff_view_memo"
    # in the IS rep's DM about a returned toss-up
    HANDOFF_REVISE = "handoff_revise"
    # inputs of the return and question modals
    RETURN_REASON = "return_reason"
    RETURN_NOTE = "return_note"
    QUESTION_TEXT = "question_text"
    # the memo's "toss up anyway" reason, when criteria are in warn mode
    CRITERIA_OVERRIDE = "criteria_override"


# One action id per memo input: `memo_<field>` (e.g. "memo_company").
MemoActionId = StrEnum("MemoActionId", {f.name: f"memo_{f.value}" for f in MemoField})


class BlockId(StrEnum):
    NOTICE_ACTIONS = "notice_actions"
    RETURN_REASON = "return_reason"
    RETURN_NOTE = "return_note"
    QUESTION_TEXT = "question_text"
    CRITERIA_OVERRIDE = "criteria_override"


def memo_block_id(field: MemoField) -> str:
    """The input block of a memo field: the field's own value, so errors key straight onto it."""
    return field.value


def memo_action_id(field: MemoField) -> str:
    return MemoActionId[field.name].value


def custom_block_id(key: str) -> str:
    """The input block of a team custom select (`custom_segment`): never clashes with a memo field."""
    return f"custom_{key}"


def custom_action_id(key: str) -> str:
    return f"memo_custom_{key}"
