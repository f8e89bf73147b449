"""What has been said about a toss-up after the meeting, read back as domain models (for the modals
that edit it and the messages that report it)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.feedback import FeedbackSheet, IsRating
from bot.domain.outcome import Outcome
from store.feedback import get_feedback, get_is_rating, get_outcome


@dataclass(frozen=True)
class LoopState:
    """What has been said about a toss-up after the meeting (None: not yet)."""

    sheet: FeedbackSheet | None
    sheet_by: str | None
    rating: IsRating | None
    outcome: Outcome | None
    outcome_by: str | None


async def loop_state(sessions: async_sessionmaker[AsyncSession], handoff_id: int) -> LoopState:
    async with sessions() as session:
        sheet = await get_feedback(session=session, handoff_id=handoff_id)
        rating = await get_is_rating(session=session, handoff_id=handoff_id)
        outcome = await get_outcome(session=session, handoff_id=handoff_id)
    return LoopState(
        sheet=FeedbackSheet.model_validate(sheet.data) if sheet else None,
        sheet_by=sheet.rater_id if sheet else None,
        rating=IsRating.model_validate(rating.data) if rating else None,
        outcome=Outcome.model_validate(outcome.data) if outcome else None,
        outcome_by=outcome.recorded_by if outcome else None,
    )
