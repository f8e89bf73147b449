"""Toss-up lifecycle: statuses, who may act on a toss-up, the reasons FS can return one to IS."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.criteria import CriteriaEvaluation
from bot.domain.memo import HandoffMemo
from bot.domain.routing import RouteDecision
from bot.domain.score import ScoreBreakdown


class HandoffStatus(StrEnum):
    PENDING = "pending"  # notice posted (or waiting to be), FS has not decided
    ACCEPTED = "accepted"  # 受け入れ: the seed's step 5, both agree
    RETURNED = "returned"  # 差し戻し


class EventKind(StrEnum):
    SUBMITTED = "submitted"
    NOTICE_POSTED = "notice_posted"
    QUESTION_ASKED = "question_asked"
    ACCEPTED = "accepted"
    RETURNED = "returned"
    FEEDBACK_SUBMITTED = "feedback_submitted"  # FS's post-meeting sheet (each edit too: the history)
    IS_RATED = "is_rated"  # IS rated FS's follow-through (two-way feedback)
    OUTCOME_RECORDED = "outcome_recorded"  # won / lost / still open
    MEMO_EDITED = "memo_edited"  # IS edited the memo before FS decided (detail: both versions)


class ReturnReason(StrEnum):
    CRITERIA_NOT_MET = "criteria_not_met"  # トスアップ基準を満たしていない
    BANT_INCOMPLETE = "bant_incomplete"
    INFO_MISSING = "info_missing"  # 引き継ぎ情報の不足
    TOO_EARLY = "too_early"  # 時期尚早 / 育成が必要
    WRONG_ASSIGNEE = "wrong_assignee"
    DUPLICATE = "duplicate"
    OTHER = "other"


# Which status a decision leads to, and the event that records it.
DECISIONS: dict[EventKind, HandoffStatus] = {
    EventKind.ACCEPTED: HandoffStatus.ACCEPTED,
    EventKind.RETURNED: HandoffStatus.RETURNED,
}


class Refusal(StrEnum):
    """Why someone cannot accept or return a toss-up."""

    MISSING = "missing"  # no such toss-up (deleted, another workspace's)
    ALREADY_DECIDED = "already_decided"
    NOT_ALLOWED = "not_allowed"  # not the assigned FS rep, an FS member or a manager
    NOT_ACCEPTED = "not_accepted"  # feedback, ratings and outcomes come once FS has accepted
    OWN_TOSS_UP = "own_toss_up"  # the IS rep who tossed it up cannot approve, rate or win it themselves


def may_toss_up(*, actor_id: str, inside_sales: Collection[str] = (), managers: Collection[str] = ()) -> bool:
    """With IS members configured only they (and managers) toss up; with none, anyone does."""
    return not inside_sales or actor_id in inside_sales or actor_id in managers


def is_team_member(
    *,
    actor_id: str,
    inside_sales: Collection[str] = (),
    field_sales: Collection[str] = (),
    managers: Collection[str] = (),
) -> bool:
    """Whether `actor_id` is on the IS/FS team (an IS or FS member, or a manager): who may log and close
    collaboration issues and diagnose the collaboration.

    As for toss-ups and decisions, a side whose members are not listed is open to anyone (anyone could
    be on it), so with `roles.inside_sales` or `roles.field_sales` empty, everyone is; managers alone
    restrict nothing.
    """
    if not inside_sales or not field_sales:
        return True
    return actor_id in inside_sales or actor_id in field_sales or actor_id in managers


def assignee_problem(
    *, assignee_id: str, is_user_id: str, fs_members: Collection[str] = (), managers: Collection[str] = ()
) -> str | None:
    """Why `assignee_id` cannot be the FS rep of a toss-up `is_user_id` makes (a catalog error key), or
    None. Never the IS rep themselves (they would accept, rate and win their own toss-up); with FS members
    configured, one of them or a manager."""
    if assignee_id == is_user_id:
        return "error.fs_is_you"
    if fs_members and assignee_id not in fs_members and assignee_id not in managers:
        return "error.fs_not_in_field_sales"
    return None


def may_decide(
    *,
    actor_id: str,
    assignee_id: str | None,
    fs_members: Collection[str] = (),
    managers: Collection[str] = (),
) -> bool:
    """Whether `actor_id` may accept or return a toss-up.

    The assigned FS rep decides; a manager may always step in. With nobody assigned, any FS member
    decides, or anyone at all when the team configured no FS members (roles are optional).
    """
    if actor_id in managers:
        return True
    if assignee_id is not None:
        return actor_id == assignee_id
    if fs_members:
        return actor_id in fs_members
    return True


@dataclass(frozen=True, slots=True)
class HandoffSnapshot:
    """A toss-up as the rest of the bot sees it: what builders render and handlers decide on."""

    id: int
    team_id: str
    is_user_id: str  # the IS rep who tossed it up
    fs_user_id: str | None  # the assigned FS rep, if any
    channel_id: str  # the FS channel the notice goes to
    status: HandoffStatus
    memo: HandoffMemo
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    return_reason: ReturnReason | None = None
    return_note: str | None = None
    notice_channel_id: str | None = None  # where the channel notice was posted, once it was
    notice_ts: str | None = None
    dm_channel_id: str | None = None  # the FS rep's DM copy of the notice
    dm_ts: str | None = None
    is_dm_channel_id: str | None = None  # the IS rep's confirmation DM, once posted
    is_dm_ts: str | None = None
    revision_of_id: int | None = None  # the returned toss-up this one revises
    criteria: CriteriaEvaluation | None = None  # as evaluated at submission
    override_reason: str | None = None  # warn mode: why IS tossed it up though criteria failed
    score: ScoreBreakdown | None = None  # the memo's quality score (its first 70 points)
    route: RouteDecision | None = None  # why this channel and this FS rep
    duplicate_of_id: int | None = None  # IS confirmed it although this open toss-up is the same company
    edit_count: int = 0  # how many times IS edited the memo after submitting it
    edited_at: datetime | None = None  # the last edit


def fs_rep_on(*, fs_user_id: str | None, status: HandoffStatus, decided_by: str | None) -> str | None:
    """The FS rep a toss-up belongs to: the assigned rep, or, with nobody assigned, whoever accepted it.

    None when nobody is assigned and it has not been accepted (pending, or returned: whoever returned it
    never met the customer). The feedback sheet is theirs to fill in, and KPIs credit them.
    """
    if fs_user_id:
        return fs_user_id
    if status is HandoffStatus.ACCEPTED and decided_by:
        return decided_by
    return None


def decision_refusal(
    handoff: HandoffSnapshot | None,
    *,
    actor_id: str,
    fs_members: Collection[str] = (),
    managers: Collection[str] = (),
) -> Refusal | None:
    """Why `actor_id` cannot decide on `handoff` now, or None when they can."""
    if handoff is None:
        return Refusal.MISSING
    if handoff.status is not HandoffStatus.PENDING:
        return Refusal.ALREADY_DECIDED
    if actor_id == handoff.is_user_id:  # a manager who tossed it up included: FS decides
        return Refusal.OWN_TOSS_UP
    allowed = may_decide(
        actor_id=actor_id, assignee_id=handoff.fs_user_id, fs_members=fs_members, managers=managers
    )
    return None if allowed else Refusal.NOT_ALLOWED
