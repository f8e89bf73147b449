"""What the shared KPIs need from the database: one `HandoffFacts` per toss-up of a period.

One read (the toss-ups left-outer-joined with their feedback sheet and outcome), ending its own read
transaction like every store read; returns frozen dataclasses, never ORM objects. The arithmetic lives in
`bot.domain.kpi`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.handoff import HandoffStatus, fs_rep_on
from bot.domain.kpi import HandoffFacts, bant_complete
from bot.domain.memo import HandoffMemo
from bot.domain.outcome import Outcome
from bot.domain.score import ScoreBreakdown, ScoreItemKey
from store._tx import own_transaction
from store.models import FeedbackRecord, Handoff, OutcomeRecord

__all__ = ["load_kpi_facts"]


def _score_facts(score: dict[str, Any] | None, *, rated: bool) -> tuple[int | None, dict[str, int]]:
    """(memo points, item key → points) from a stored breakdown: the memo points leave out the FS
    rating, and the items list it only when the toss-up was rated."""
    if not score:
        return None, {}
    breakdown = ScoreBreakdown.from_json(score)
    memo_items = [item for item in breakdown.items if item.key is not ScoreItemKey.FS_RATING]
    items = {
        item.key.value: item.points
        for item in breakdown.items
        if item.key is not ScoreItemKey.FS_RATING or rated
    }
    return sum(item.points for item in memo_items), items


async def load_kpi_facts(*, session: AsyncSession, start: datetime, end: datetime) -> list[HandoffFacts]:
    """The toss-ups created in [start, end) (aware datetimes), with their feedback and outcome, by id.

    rated: an FS feedback sheet exists; outcome / outcome_at: the recorded outcome and when it was last
    recorded; memo_score: the stored score's points without the FS rating (None when not scored).
    """
    query = (
        select(
            Handoff.id,
            Handoff.is_user_id,
            Handoff.fs_user_id,
            Handoff.created_at,
            Handoff.status,
            Handoff.decided_at,
            Handoff.decided_by,
            Handoff.criteria_passed,
            Handoff.memo,
            Handoff.score,
            FeedbackRecord.handoff_id.label("rated_id"),
            OutcomeRecord.outcome,
            OutcomeRecord.recorded_at,
        )
        .outerjoin(FeedbackRecord, FeedbackRecord.handoff_id == Handoff.id)
        .outerjoin(OutcomeRecord, OutcomeRecord.handoff_id == Handoff.id)
        .where(Handoff.created_at >= start, Handoff.created_at < end)
        .order_by(Handoff.id)
    )
    async with own_transaction(session):
        rows = (await session.execute(query)).all()
    facts: list[HandoffFacts] = []
    for row in rows:
        rated = row.rated_id is not None
        memo = HandoffMemo.model_validate(row.memo)
        memo_score, items = _score_facts(row.score, rated=rated)
        facts.append(
            HandoffFacts(
                id=row.id,
                is_user_id=row.is_user_id,
                # The FS rep credited: the assigned one, or who accepted an unassigned toss-up.
                fs_user_id=fs_rep_on(
                    fs_user_id=row.fs_user_id, status=HandoffStatus(row.status), decided_by=row.decided_by
                ),
                created_at=row.created_at,
                status=HandoffStatus(row.status),
                decided_at=row.decided_at,
                criteria_passed=row.criteria_passed,
                bant_complete=bant_complete(memo),
                memo_score=memo_score,
                score_items=items,
                first_contact_on=memo.first_contact_on,
                outcome=Outcome.model_validate(row.outcome) if row.outcome is not None else None,
                outcome_at=row.recorded_at if row.outcome is not None else None,
                rated=rated,
            )
        )
    return facts
