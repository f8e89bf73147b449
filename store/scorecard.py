"""What the rep scorecards need from the database.

The KPI facts come from the KPI loader (`store.kpi.load_kpi_facts`: the definitions live in one place);
one more query, over the same period's toss-ups (the indexed creation time), reads the two-way feedback:
the meeting time, when FS's sheet was first submitted and its stars, and IS's follow-through stars —
the stars straight out of the JSON, never the free texts. Both reads run in one transaction; frozen
dataclasses out, never ORM objects. The arithmetic lives in `bot.domain.scorecard`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.feedback import RATING_FIELDS
from bot.domain.kpi import Period
from bot.domain.scorecard import FeedbackFacts, ScorecardFacts
from store._tx import own_transaction
from store.kpi import load_kpi_facts
from store.models import FeedbackRecord, Handoff, IsRatingRecord

__all__ = ["load_scorecard_facts"]


def _feedback_query(period: Period) -> Select:
    stars = [FeedbackRecord.sheet[name].as_integer().label(name) for name in RATING_FIELDS]
    return (
        select(
            Handoff.id,
            Handoff.meeting_at,
            FeedbackRecord.submitted_at,
            *stars,
            IsRatingRecord.rating["follow_through"].as_integer().label("follow_through"),
        )
        .outerjoin(FeedbackRecord, FeedbackRecord.handoff_id == Handoff.id)
        .outerjoin(IsRatingRecord, IsRatingRecord.handoff_id == Handoff.id)
        .where(Handoff.created_at >= period.start, Handoff.created_at < period.end)
        # Only toss-ups with something to count: a meeting to be rated, a sheet or an IS rating.
        .where(
            or_(
                Handoff.meeting_at.is_not(None),
                FeedbackRecord.handoff_id.is_not(None),
                IsRatingRecord.handoff_id.is_not(None),
            )
        )
        .order_by(Handoff.id)
    )


async def load_scorecard_facts(*, session: AsyncSession, period: Period, now: datetime) -> ScorecardFacts:
    """The facts of the scorecards of `period` (the toss-ups created in it), as of `now`."""
    async with own_transaction(session):
        rows = (await session.execute(_feedback_query(period))).all()
        # Same transaction: load_kpi_facts commits the one the query above began (and does nothing else).
        handoffs = await load_kpi_facts(session=session, start=period.start, end=period.end)
    feedback = [
        FeedbackFacts(
            handoff_id=row.id,
            meeting_at=row.meeting_at,
            sheet_at=row.submitted_at,
            sheet_stars={
                name: int(value)
                for name in RATING_FIELDS
                if row.submitted_at is not None and (value := getattr(row, name)) is not None
            },
            follow_through=int(row.follow_through) if row.follow_through is not None else None,
        )
        for row in rows
    ]
    return ScorecardFacts(period=period, now=now, handoffs=handoffs, feedback=feedback)
