"""Who may act in the feedback loop, and when. Pure Python.

Rules (the README repeats them):
- Only an accepted toss-up has a meeting to rate, a follow-through to rate and an outcome to record.
- The feedback sheet: only the FS rep on the toss-up (`feedback_owner`: the assigned rep, or the FS
  member who accepted an unassigned one). A manager cannot rate in their place: the sheet is that rep's
  view of the meeting.
- IS's rating of FS's follow-through: only the IS rep who tossed it up.
- The outcome: the FS rep on the toss-up, or a manager (who often updates the pipeline for the team).
- Never the IS rep who tossed it up for the sheet or the outcome (even a manager, even on a toss-up
  assigned to themselves before that was refused): their own score and wins are not theirs to enter.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from bot.domain.feedback import feedback_owner
from bot.domain.handoff import HandoffSnapshot, HandoffStatus, Refusal


class LoopAction(StrEnum):
    RATE = "rate"  # FS fills in the feedback sheet
    RATE_FS = "rate_fs"  # IS rates FS's follow-through
    OUTCOME = "outcome"  # FS records won / lost / still open


def loop_actor(action: LoopAction, handoff: HandoffSnapshot) -> str | None:
    """The one rep this action belongs to (managers may also record outcomes)."""
    if action is LoopAction.RATE_FS:
        return handoff.is_user_id
    return feedback_owner(handoff)


def loop_refusal(
    action: LoopAction,
    handoff: HandoffSnapshot | None,
    *,
    actor_id: str,
    managers: Collection[str] = (),
) -> Refusal | None:
    """Why `actor_id` cannot take `action` on `handoff` now, or None when they can."""
    if handoff is None:
        return Refusal.MISSING
    if handoff.status is not HandoffStatus.ACCEPTED:
        return Refusal.NOT_ACCEPTED
    if action is not LoopAction.RATE_FS and actor_id == handoff.is_user_id:
        return Refusal.OWN_TOSS_UP
    if action is LoopAction.OUTCOME and actor_id in managers:
        return None
    return None if actor_id == loop_actor(action, handoff) else Refusal.NOT_ALLOWED
