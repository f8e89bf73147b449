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
    MEMO_HISTORY = "handoff_memo_history"  # every version of an edited memo (modals/memo_edit.py)
    # the feedback loop (modals/feedback.py)
    FEEDBACK_SHEET = "feedback_sheet"
    IS_RATING = "is_rating"
    OUTCOME = "outcome_record"
    # collaboration issues (modals/issues.py): `/tossup issue`, and closing one from the agenda
    COLLAB_ISSUE = "collab_issue"
    COLLAB_ISSUE_CLOSE = "collab_issue_close"
    # the collaboration diagnosis (modals/diagnose.py): `/tossup diagnose`
    DIAGNOSIS = "collab_diagnosis"


class ActionId(StrEnum):
    # buttons on the toss-up notice
    HANDOFF_ACCEPT = "handoff_accept"
    HANDOFF_RETURN = "handoff_return"
    HANDOFF_ASK = "handoff_ask"
    HANDOFF_VIEW = "handoff_view_memo"
    # in the IS rep's DM about a returned toss-up
    HANDOFF_REVISE = "handoff_revise"
    # editing a pending memo (the IS rep's DM confirmation, App Home) and reading its versions
    HANDOFF_EDIT = "handoff_edit"
    HANDOFF_HISTORY = "handoff_history"
    # inputs of the return and question modals
    RETURN_REASON = "return_reason"
    RETURN_NOTE = "return_note"
    QUESTION_TEXT = "question_text"
    # the memo's "toss up anyway" reason, when criteria are in warn mode
    CRITERIA_OVERRIDE = "criteria_override"
    # the feedback loop: buttons in DMs and on an accepted notice
    FEEDBACK_OPEN = "feedback_open"  # "Rate this handoff"
    IS_RATING_OPEN = "is_rating_open"  # IS rates FS's follow-through
    OUTCOME_OPEN = "outcome_open"
    # inputs of the feedback sheet
    FEEDBACK_RESULT = "feedback_result"
    FEEDBACK_BANT_ACCURACY = "feedback_bant_accuracy"
    FEEDBACK_ISSUE_DEPTH = "feedback_issue_depth"
    FEEDBACK_MEMO_COMPLETENESS = "feedback_memo_completeness"
    FEEDBACK_OVERALL = "feedback_overall"
    FEEDBACK_GOOD = "feedback_good"
    FEEDBACK_IMPROVE = "feedback_improve"
    FEEDBACK_NEXT_INFO = "feedback_next_info"
    # inputs of IS's rating of FS
    IS_RATING_FOLLOW_THROUGH = "is_rating_follow_through"
    IS_RATING_COMMENT = "is_rating_comment"
    # inputs of the outcome modal
    OUTCOME_KIND = "outcome_kind"
    OUTCOME_AMOUNT = "outcome_amount"
    OUTCOME_CLOSED_ON = "outcome_closed_on"
    OUTCOME_LOST_REASON = "outcome_lost_reason"
    # collaboration issues: the Close button beside each open issue in the agenda (value: the issue id)
    ISSUE_CLOSE = "collab_issue_close"
    # inputs of the issue modal and of the close modal
    ISSUE_PROBLEM = "issue_problem"
    ISSUE_IMPACT = "issue_impact"
    ISSUE_URGENCY = "issue_urgency"
    ISSUE_OWNER = "issue_owner"
    ISSUE_DECISION = "issue_decision"
    # the diagnosis modal: one checkbox group per seed group (each in its own block, below)
    DIAGNOSIS_ITEMS = "diagnosis_items"


# One action id per memo input: `memo_<field>` (e.g. "memo_company").
MemoActionId = StrEnum("MemoActionId", {f.name: f"memo_{f.value}" for f in MemoField})


class BlockId(StrEnum):
    NOTICE_ACTIONS = "notice_actions"
    RETURN_REASON = "return_reason"
    RETURN_NOTE = "return_note"
    QUESTION_TEXT = "question_text"
    CRITERIA_OVERRIDE = "criteria_override"
    # the feedback loop (modals/feedback.py): button rows
    FEEDBACK_REQUEST_ACTIONS = "feedback_request_actions"  # the DM asking FS to rate
    IS_RATING_ACTIONS = "is_rating_actions"  # the DM telling IS, with "rate FS"
    # input blocks: each named like its action id
    FEEDBACK_RESULT = "feedback_result"
    FEEDBACK_BANT_ACCURACY = "feedback_bant_accuracy"
    FEEDBACK_ISSUE_DEPTH = "feedback_issue_depth"
    FEEDBACK_MEMO_COMPLETENESS = "feedback_memo_completeness"
    FEEDBACK_OVERALL = "feedback_overall"
    FEEDBACK_GOOD = "feedback_good"
    FEEDBACK_IMPROVE = "feedback_improve"
    FEEDBACK_NEXT_INFO = "feedback_next_info"
    IS_RATING_FOLLOW_THROUGH = "is_rating_follow_through"
    IS_RATING_COMMENT = "is_rating_comment"
    OUTCOME_KIND = "outcome_kind"
    OUTCOME_AMOUNT = "outcome_amount"
    OUTCOME_CLOSED_ON = "outcome_closed_on"
    OUTCOME_LOST_REASON = "outcome_lost_reason"
    # collaboration issues: input blocks named like their action ids
    ISSUE_PROBLEM = "issue_problem"
    ISSUE_IMPACT = "issue_impact"
    ISSUE_URGENCY = "issue_urgency"
    ISSUE_OWNER = "issue_owner"
    ISSUE_DECISION = "issue_decision"
    # the diagnosis modal's checkbox groups, one per seed group (DiagnosisGroup values after the prefix)
    DIAGNOSIS_ROLES = "diagnosis_roles"
    DIAGNOSIS_EVALUATION = "diagnosis_evaluation"
    DIAGNOSIS_SHARING = "diagnosis_sharing"
    DIAGNOSIS_COMMUNICATION = "diagnosis_communication"
    DIAGNOSIS_IMPROVEMENT = "diagnosis_improvement"


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
