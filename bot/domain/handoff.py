"""Toss-up lifecycle: statuses, who may act on a toss-up, the reasons FS can return one to IS."""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum


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
