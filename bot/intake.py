"""Checking a submitted memo: field rules, the team's custom selects, the chosen FS rep, the toss-up
criteria (gate or warn), and the memo's quality score — everything a submission is refused or kept with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import AppConfig
from bot.domain.criteria import CriteriaEvaluation, CriteriaMode, evaluate_criteria
from bot.domain.handoff import HandoffStatus, assignee_problem
from bot.domain.memo import FieldProblem, HandoffMemo, MemoField, is_slack_user_id, validate_memo
from bot.domain.options import custom_problems
from bot.domain.score import ScoreBreakdown, score_memo
from bot.i18n import Lang, t
from bot.slack import SlackUsers
from modals.ids import BlockId
from modals.memo import memo_errors
from modals.metadata import ID_MAX
from modals.quality import criteria_field_errors
from store.handoffs import get_handoff

Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class CheckedMemo:
    errors: dict[str, str]  # input block_id → message; empty when the memo may be tossed up
    criteria: CriteriaEvaluation
    score: ScoreBreakdown
    override_reason: str | None  # kept only when criteria failed in warn mode


async def check_memo(
    memo: HandoffMemo,
    *,
    override_reason: str | None,
    config: AppConfig,
    users: SlackUsers,
    now: datetime,
    lang: Lang,
    is_user_id: str,
) -> CheckedMemo:
    problems = validate_memo(memo, now=now, team_tz=config.tz, allowed_lead_sources=config.lead_source_values)
    custom = custom_problems(memo.custom, config.memo.custom_selects)
    if memo.fs_user_id and is_slack_user_id(memo.fs_user_id):  # else validate_memo refused it already
        wrong_rep = assignee_problem(
            assignee_id=memo.fs_user_id,
            is_user_id=is_user_id,
            fs_members=config.roles.field_sales,
            managers=config.roles.managers,
        )
        if wrong_rep is not None:
            problems.append(FieldProblem(MemoField.FS_USER_ID, wrong_rep))
    if memo.fs_user_id and not (problems or custom):
        chosen = await users.get(memo.fs_user_id)  # unknown (Slack slow): let it through
        if chosen is not None and not chosen.is_active_person:
            problems.append(FieldProblem(MemoField.FS_USER_ID, "error.fs_not_a_person"))
    criteria = evaluate_criteria(memo, config.criteria, reading=config.score.reading)
    score = score_memo(memo, config.score)
    errors = memo_errors(problems, lang, custom)
    if not criteria.passed:
        criteria_errors = criteria_field_errors(
            criteria,
            config.criteria,
            lang,
            custom_labels=config.custom_labels,
            option_labels=config.option_labels,
        )
        # A field's own problem (say, "required") says more than the criterion it also fails.
        for block_id, message in criteria_errors.items():
            errors.setdefault(block_id, message)
        if override_reason and config.score.reading.is_placeholder(override_reason):
            override_reason = None
        if config.criteria.mode is CriteriaMode.WARN and override_reason and not (problems or custom):
            return CheckedMemo({}, criteria, score, override_reason)
        if config.criteria.mode is CriteriaMode.WARN:
            errors[BlockId.CRITERIA_OVERRIDE.value] = t(lang, "error.override_required")
    return CheckedMemo(errors, criteria, score, None)


async def revision_problem(sessions: Sessions, *, revises: int, is_user_id: str) -> str | None:
    """Why a memo may not be stored as the revision of toss-up `revises` (a catalog key), or None.

    The id travels in the modal's private_metadata, through the client: only a toss-up that exists, was
    tossed up by this same IS rep, and that FS returned may be revised (the Revise button offers no other).
    """
    if not 1 <= revises <= ID_MAX:
        return "message.form.bad_revision"
    async with sessions() as session:
        revised = await get_handoff(session=session, handoff_id=revises)
    if revised is None or revised.is_user_id != is_user_id or revised.status is not HandoffStatus.RETURNED:
        return "message.form.bad_revision"
    return None
