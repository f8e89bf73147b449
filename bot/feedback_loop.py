"""The feedback loop's steps between a handler and the store: what a submission stores, and what the
next memo shows. Slack-free; handlers call these, then ask the delivery to post what they queued.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import AppConfig
from bot.delivery import feedback_posts, is_rating_posts, outcome_posts
from bot.domain.feedback import FeedbackSheet, IsRating, complete_score, learning_items
from bot.domain.handoff import HandoffSnapshot
from bot.domain.outcome import Outcome
from bot.domain.score import ScoreBreakdown, score_memo
from store.db import for_reading
from store.feedback import (
    recent_sheets_for_is,
    save_feedback,
    save_is_rating,
    save_outcome,
)

Sessions = async_sessionmaker[AsyncSession]
RECENT_SHEETS = 20  # how far back the learning loop looks for what FS asked for


def completed_score(handoff: HandoffSnapshot, sheet: FeedbackSheet, config: AppConfig) -> ScoreBreakdown:
    """The memo's points as scored at toss-up time plus the FS rating's (the full 100)."""
    memo_score = handoff.score or score_memo(handoff.memo, config.score)
    return complete_score(memo_score, sheet, config.score.weights.fs_rating, config.feedback.rating_weights)


async def record_feedback(
    sessions: Sessions,
    *,
    handoff: HandoffSnapshot,
    rater_id: str,
    sheet: FeedbackSheet,
    submission_key: str,
    config: AppConfig,
    now: datetime,
) -> int | None:
    """Store FS's sheet with the completed score; queue the DM to IS and the notices' update.
    Returns the revision (1 = first), or None when this submission was stored before."""
    score = completed_score(handoff, sheet, config)
    async with sessions() as session:
        return await save_feedback(
            session=session,
            handoff_id=handoff.id,
            rater_id=rater_id,
            sheet=sheet.model_dump(mode="json"),
            score=score.to_json(),
            score_total=score.total,
            now=now,
            outbox=feedback_posts(handoff_id=handoff.id, submission_key=submission_key),
        )


async def record_is_rating(
    sessions: Sessions,
    *,
    handoff_id: int,
    rater_id: str,
    rating: IsRating,
    submission_key: str,
    now: datetime,
) -> bool:
    async with sessions() as session:
        return await save_is_rating(
            session=session,
            handoff_id=handoff_id,
            rater_id=rater_id,
            rating=rating.model_dump(mode="json"),
            now=now,
            outbox=is_rating_posts(handoff_id=handoff_id, submission_key=submission_key),
        )


async def record_outcome(
    sessions: Sessions,
    *,
    handoff_id: int,
    recorded_by: str,
    outcome: Outcome,
    submission_key: str,
    now: datetime,
) -> bool:
    async with sessions() as session:
        return await save_outcome(
            session=session,
            handoff_id=handoff_id,
            recorded_by=recorded_by,
            kind=outcome.kind.value,
            outcome=outcome.model_dump(mode="json"),
            now=now,
            outbox=outcome_posts(handoff_id=handoff_id, submission_key=submission_key),
        )


async def learning_for(sessions: Sessions, *, is_user_id: str, config: AppConfig) -> list[str]:
    """What FS recently asked this IS rep to collect next time (for their next memo modal)."""
    limit = config.feedback.learning_loop_items
    if limit <= 0:
        return []
    async with for_reading(sessions)() as session:  # every /tossup reads this: not through the one writer
        rows = await recent_sheets_for_is(session=session, is_user_id=is_user_id, limit=RECENT_SHEETS)
    sheets = [(at, FeedbackSheet.model_validate(data)) for at, data in rows]
    return learning_items(sheets, limit)
