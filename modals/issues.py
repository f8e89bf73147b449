"""Collaboration issues (連携課題) in Block Kit: the `/tossup issue` modal, the close modal, and what the
bot says about an issue (the reporter's confirmation, the owner's DM, the reply in the agenda thread,
refusals).

Pure builders and parsers, both languages from the catalogs. User text is escaped before it enters
mrkdwn, and every payload keeps within Slack's limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.config import CHANNEL_ID_RE
from bot.domain.issues import (
    DECISION_MAX,
    ISSUE_ID_MAX,
    PROBLEM_MAX,
    CollabIssue,
    IssueDraft,
    IssueError,
    IssueField,
    IssueRefusal,
    Level,
    decision_problem,
    issue_problems,
)
from bot.domain.memo import clean_text, is_slack_user_id
from bot.i18n import Lang, t
from modals.common import build_modal, input_state, plain, selected_value, text_value
from modals.ids import ActionId, BlockId, CallbackId
from modals.limits import (
    BUTTON_TEXT_MAX,
    OPTION_TEXT_MAX,
    PLACEHOLDER_MAX,
    PLAIN_TEXT_INPUT_MAX,
    SECTION_TEXT_MAX,
)
from modals.messages import Message
from modals.metadata import dump_meta
from modals.text import escape_within, format_datetime, truncate, user_mention

__all__ = [
    "SLACK_TS_PATTERN",
    "IssueCloseMeta",
    "IssueModalMeta",
    "build_already_closed",
    "build_already_closed_view",
    "build_close_modal",
    "build_issue_closed",
    "build_issue_confirmation",
    "build_issue_modal",
    "build_issue_refusal",
    "build_owner_dm",
    "close_button",
    "close_errors",
    "forged_owner_errors",
    "issue_errors",
    "issue_form_error",
    "parse_close_submission",
    "parse_issue_submission",
    "quadrant_text",
]

# A message ts as Slack writes it ("1700000000.000100"): what a thread reply may be posted under.
SLACK_TS_PATTERN = r"^[0-9]{9,10}\.[0-9]{6}$"
PROBLEM_QUOTE_MAX = 1500  # the problem as quoted in messages (it is at most PROBLEM_MAX long anyway)
DECISION_QUOTE_MAX = 1000

# Each input's (block id, action id), so errors key straight onto the field.
ISSUE_INPUTS: dict[IssueField, tuple[BlockId, ActionId]] = {
    IssueField.PROBLEM: (BlockId.ISSUE_PROBLEM, ActionId.ISSUE_PROBLEM),
    IssueField.IMPACT: (BlockId.ISSUE_IMPACT, ActionId.ISSUE_IMPACT),
    IssueField.URGENCY: (BlockId.ISSUE_URGENCY, ActionId.ISSUE_URGENCY),
    IssueField.OWNER: (BlockId.ISSUE_OWNER, ActionId.ISSUE_OWNER),
    IssueField.DECISION: (BlockId.ISSUE_DECISION, ActionId.ISSUE_DECISION),
}


class _IssueMeta(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IssueModalMeta(_IssueMeta):
    """Where `/tossup issue` was typed (the confirmation goes there) and the modal's language."""

    channel_id: str | None = Field(default=None, pattern=CHANNEL_ID_RE.pattern)
    lang: Lang


class IssueCloseMeta(_IssueMeta):
    """The issue a close modal acts on, and the agenda thread the Close button was clicked in (the
    reply goes there). Validated again when the submission comes back: it passed through the client."""

    issue_id: int = Field(ge=1, le=ISSUE_ID_MAX)
    channel_id: str | None = Field(default=None, pattern=CHANNEL_ID_RE.pattern)
    thread_ts: str | None = Field(default=None, pattern=SLACK_TS_PATTERN)
    lang: Lang


# ---------------------------------------------------------------- small pieces


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_MAX)))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(text, SECTION_TEXT_MAX))])


def _quote(text: str, limit: int) -> str:
    """User text as an mrkdwn block quote, escaped (a `>` typed by the user cannot end the quote early)."""
    return "\n".join(f">{line}" for line in escape_within(text, limit).splitlines() or [""])


def quadrant_text(issue: CollabIssue, lang: Lang) -> tuple[str, str]:
    """(the quadrant's name, what it calls for): ("最優先", "即座に対応")."""
    quadrant = issue.quadrant.value
    return t(lang, f"issues.quadrant.{quadrant}"), t(lang, f"issues.action.{quadrant}")


def _level_option(field: str, level: Level, lang: Lang) -> Option:
    return Option(
        text=plain(truncate(t(lang, f"issues.modal.{field}.{level.value}"), OPTION_TEXT_MAX)),
        value=level.value,
    )


def _level_input(field: IssueField, lang: Lang, initial: Level | None) -> InputBlock:
    block_id, action_id = ISSUE_INPUTS[field]
    options = [_level_option(field.value, level, lang) for level in Level]
    chosen = next((o for o in options if initial is not None and o.value == initial.value), None)
    return InputBlock(
        block_id=block_id,
        label=plain(t(lang, f"issues.modal.{field.value}.label")),
        hint=plain(t(lang, f"issues.modal.{field.value}.hint")),
        element=RadioButtonsElement(action_id=action_id, options=options, initial_option=chosen),
    )


def _too_long(lang: Lang, key: str, text: str | None, limit: int) -> str:
    return t(lang, key, limit=limit, length=len(text or ""))


# ---------------------------------------------------------------- the issue modal


def build_issue_modal(*, lang: Lang, meta: IssueModalMeta, prefill: IssueDraft | None = None) -> View:
    """`/tossup issue` (callback `collab_issue`): the problem, impact and urgency (the seed's criteria as
    hints), and an optional owner. `prefill` carries what was typed after the sub-command."""
    problem_block, problem_action = ISSUE_INPUTS[IssueField.PROBLEM]
    owner_block, owner_action = ISSUE_INPUTS[IssueField.OWNER]
    problem = InputBlock(
        block_id=problem_block,
        label=plain(t(lang, "issues.modal.problem.label")),
        hint=plain(t(lang, "issues.modal.problem.hint", limit=PROBLEM_MAX)),
        element=PlainTextInputElement(
            action_id=problem_action,
            multiline=True,
            max_length=min(PROBLEM_MAX, PLAIN_TEXT_INPUT_MAX),
            initial_value=truncate(prefill.problem, PROBLEM_MAX) if prefill and prefill.problem else None,
            placeholder=plain(truncate(t(lang, "issues.modal.problem.placeholder"), PLACEHOLDER_MAX)),
        ),
    )
    owner_id = prefill.owner_id if prefill else None
    owner = InputBlock(
        block_id=owner_block,
        label=plain(t(lang, "issues.modal.owner.label")),
        hint=plain(t(lang, "issues.modal.owner.hint")),
        optional=True,
        element=UserSelectElement(
            action_id=owner_action,
            placeholder=plain(truncate(t(lang, "issues.modal.owner.placeholder"), PLACEHOLDER_MAX)),
            initial_user=owner_id if is_slack_user_id(owner_id) else None,
        ),
    )
    blocks: list[Block] = [
        _section(t(lang, "issues.modal.lead")),
        problem,
        _level_input(IssueField.IMPACT, lang, prefill.impact if prefill else None),
        _level_input(IssueField.URGENCY, lang, prefill.urgency if prefill else None),
        owner,
    ]
    return build_modal(
        callback_id=CallbackId.COLLAB_ISSUE,
        title=t(lang, "issues.modal.title"),
        submit=t(lang, "issues.modal.submit"),
        close=t(lang, "common.cancel"),
        private_metadata=dump_meta(meta),
        blocks=blocks,
    )


def _level_value(state: Mapping[str, Any]) -> Level | None:
    raw = selected_value(state)
    try:
        return Level(raw) if raw else None
    except ValueError:
        return None


def _user_value(state: Mapping[str, Any]) -> str | None:
    raw = state.get("selected_user")
    return raw if is_slack_user_id(raw) else None


def forged_owner_errors(values: object, lang: Lang) -> dict[str, str]:
    """An error on the owner when the submission names one that is not a Slack user id: Slack's user
    picker sends nothing else, so it was forged. Refused on the form rather than read as "no owner"."""
    raw = input_state(values, *ISSUE_INPUTS[IssueField.OWNER]).get("selected_user")
    if raw is None or is_slack_user_id(raw):
        return {}
    return {ISSUE_INPUTS[IssueField.OWNER][0].value: t(lang, "issues.error.owner_not_a_user")}


def parse_issue_submission(values: object) -> IssueDraft:
    """The issue from a submission's `view.state.values`; anything missing or odd reads as None."""

    def state(field: IssueField) -> Mapping[str, Any]:
        return input_state(values, *ISSUE_INPUTS[field])

    return IssueDraft(
        problem=text_value(state(IssueField.PROBLEM)),
        impact=_level_value(state(IssueField.IMPACT)),
        urgency=_level_value(state(IssueField.URGENCY)),
        owner_id=_user_value(state(IssueField.OWNER)),
    )


_ISSUE_ERROR_KEYS: dict[tuple[IssueField, IssueError], str] = {
    (IssueField.PROBLEM, IssueError.REQUIRED): "issues.error.problem_required",
    (IssueField.PROBLEM, IssueError.TOO_LONG): "issues.error.problem_too_long",
    (IssueField.IMPACT, IssueError.CHOOSE_LEVEL): "issues.error.choose_impact",
    (IssueField.URGENCY, IssueError.CHOOSE_LEVEL): "issues.error.choose_urgency",
    (IssueField.OWNER, IssueError.OWNER_NOT_A_PERSON): "issues.error.owner_not_a_person",
    (IssueField.DECISION, IssueError.REQUIRED): "issues.error.decision_required",
    (IssueField.DECISION, IssueError.TOO_LONG): "issues.error.decision_too_long",
}


def _error_text(field: IssueField, error: IssueError, lang: Lang, text: str | None) -> str:
    key = _ISSUE_ERROR_KEYS[(field, error)]
    if error is IssueError.TOO_LONG:
        return _too_long(lang, key, text, PROBLEM_MAX if field is IssueField.PROBLEM else DECISION_MAX)
    return t(lang, key)


def issue_errors(draft: IssueDraft, lang: Lang, *, owner_is_person: bool = True) -> dict[str, str]:
    """`response_action: errors` payload (block_id → plain text); empty when the issue can be stored.
    `owner_is_person=False`: Slack says the chosen owner is a bot or a deactivated account."""
    problems = dict(issue_problems(draft))
    if draft.owner_id and not owner_is_person:
        problems[IssueField.OWNER] = IssueError.OWNER_NOT_A_PERSON
    return {
        ISSUE_INPUTS[field][0].value: _error_text(field, error, lang, draft.problem)
        for field, error in problems.items()
    }


def build_issue_confirmation(*, issue: CollabIssue, lang: Lang) -> Message:
    """To the reporter, privately: logged, where it sits on the matrix, and who owns it."""
    quadrant, action = quadrant_text(issue, lang)
    text = t(lang, "issues.confirm", id=issue.id, quadrant=quadrant, action=action)
    lines = [text, _quote(issue.problem, PROBLEM_QUOTE_MAX)]
    if issue.owner_id:
        lines.append(t(lang, "issues.confirm_owner", owner=user_mention(issue.owner_id)))
    return truncate(text, SECTION_TEXT_MAX), [_section("\n".join(lines))]


def build_owner_dm(*, issue: CollabIssue, lang: Lang) -> Message:
    """To the owner someone named: what the problem is and where it sits on the matrix."""
    quadrant, action = quadrant_text(issue, lang)
    text = t(
        lang,
        "issues.owner_dm",
        user=user_mention(issue.raised_by),
        id=issue.id,
        quadrant=quadrant,
        action=action,
    )
    return truncate(text, SECTION_TEXT_MAX), [_section(f"{text}\n{_quote(issue.problem, PROBLEM_QUOTE_MAX)}")]


# ---------------------------------------------------------------- closing an issue


def _issue_summary(issue: CollabIssue, lang: Lang, tz: ZoneInfo) -> list[Block]:
    """The issue at a glance: number, quadrant, levels, the problem, who logged it and when, owner."""
    quadrant, action = quadrant_text(issue, lang)
    head = t(
        lang,
        "issues.close_modal.issue",
        id=issue.id,
        quadrant=quadrant,
        action=action,
        impact=t(lang, f"issues.impact.{issue.impact.value}"),
        urgency=t(lang, f"issues.urgency.{issue.urgency.value}"),
    )
    about = [
        t(
            lang,
            "issues.close_modal.raised",
            user=user_mention(issue.raised_by),
            time=format_datetime(issue.raised_at, tz, lang),
        )
    ]
    if issue.owner_id:
        about.append(t(lang, "issues.close_modal.owner", owner=user_mention(issue.owner_id)))
    return [_section(f"{head}\n{_quote(issue.problem, PROBLEM_QUOTE_MAX)}"), _context(" · ".join(about))]


def close_button(issue_id: int, lang: Lang) -> ButtonElement:
    """The agenda's Close button beside an open issue (`collab_issue_close`, value: the issue id)."""
    return ButtonElement(
        text=plain(truncate(t(lang, "issues.button.close"), BUTTON_TEXT_MAX)),
        action_id=ActionId.ISSUE_CLOSE,
        value=str(issue_id),
    )


def build_close_modal(*, issue: CollabIssue, lang: Lang, tz: ZoneInfo, meta: IssueCloseMeta) -> View:
    """Close an issue (callback `collab_issue_close`): the issue, and one line of what was decided."""
    block_id, action_id = ISSUE_INPUTS[IssueField.DECISION]
    decision = InputBlock(
        block_id=block_id,
        label=plain(t(lang, "issues.close_modal.decision.label")),
        hint=plain(t(lang, "issues.close_modal.decision.hint", limit=DECISION_MAX)),
        element=PlainTextInputElement(
            action_id=action_id,
            max_length=DECISION_MAX,
            placeholder=plain(truncate(t(lang, "issues.close_modal.decision.placeholder"), PLACEHOLDER_MAX)),
        ),
    )
    return build_modal(
        callback_id=CallbackId.COLLAB_ISSUE_CLOSE,
        title=t(lang, "issues.close_modal.title"),
        submit=t(lang, "issues.close_modal.submit"),
        close=t(lang, "common.cancel"),
        private_metadata=dump_meta(meta),
        blocks=[*_issue_summary(issue, lang, tz), decision],
    )


def parse_close_submission(values: object) -> str | None:
    """The one line of what was decided (trimmed; None when empty), from `view.state.values`."""
    text = text_value(input_state(values, *ISSUE_INPUTS[IssueField.DECISION]))
    # One line: a pasted line break would split the thread reply's "Decided:" line.
    return clean_text(" ".join(text.split())) if text else None


def close_errors(decision: str | None, lang: Lang) -> dict[str, str]:
    problem = decision_problem(decision)
    if problem is None:
        return {}
    return {BlockId.ISSUE_DECISION.value: _error_text(IssueField.DECISION, problem, lang, decision)}


def build_issue_closed(*, issue: CollabIssue, lang: Lang) -> Message:
    """In the agenda thread: who closed the issue and what was decided, the problem quoted."""
    text = t(
        lang,
        "issues.closed",
        id=issue.id,
        user=user_mention(issue.closed_by or ""),
        decision=escape_within(issue.decision or "", DECISION_QUOTE_MAX),
    )
    return truncate(text, SECTION_TEXT_MAX), [_section(f"{text}\n{_quote(issue.problem, PROBLEM_QUOTE_MAX)}")]


def _already_closed_text(issue: CollabIssue, lang: Lang, tz: ZoneInfo) -> str:
    closed_at = issue.closed_at or issue.raised_at
    return t(
        lang,
        "issues.already_closed",
        id=issue.id,
        user=user_mention(issue.closed_by or ""),
        time=format_datetime(closed_at, tz, lang),
        decision=escape_within(issue.decision or "", DECISION_QUOTE_MAX),
    )


def build_already_closed(*, issue: CollabIssue, lang: Lang, tz: ZoneInfo) -> Message:
    """Privately, to someone clicking Close on a closed issue: who closed it, when, what was decided."""
    text = _already_closed_text(issue, lang, tz)
    return truncate(text, SECTION_TEXT_MAX), [_section(text)]


def build_already_closed_view(*, issue: CollabIssue, lang: Lang, tz: ZoneInfo) -> View:
    """What the close modal turns into when someone closed the issue while it was open."""
    return build_modal(
        callback_id=CallbackId.COLLAB_ISSUE_CLOSE,
        title=t(lang, "issues.already_closed_title"),
        close=t(lang, "common.close"),
        blocks=[_section(_already_closed_text(issue, lang, tz))],
    )


# ---------------------------------------------------------------- refusals


def build_issue_refusal(refusal: IssueRefusal, *, lang: Lang) -> Message:
    """Why nothing happened (an ephemeral): not allowed, a button that names no issue, an issue gone."""
    text = t(lang, f"issues.refusal.{refusal.value}")
    return text, [_section(text)]


_FORM_ERRORS = {
    IssueRefusal.NOT_ALLOWED: "issues.error.not_allowed",
    IssueRefusal.BAD_VALUE: "issues.error.form_unreadable",
    IssueRefusal.NOT_FOUND: "issues.error.not_found",
}


def issue_form_error(refusal: IssueRefusal, lang: Lang) -> str:
    """The same refusal as plain text on a form field (a submission is answered on the form)."""
    return t(lang, _FORM_ERRORS[refusal])
