"""What the CSV export reads: every toss-up of a period with its feedback, IS rating and outcome.

Streamed in chunks, oldest first, by keyset on (created_at, id): each chunk is one short read transaction
over the `created_at` index, so a year of toss-ups is never one list in memory and no read stays open
while the caller writes the file. Plain rows of the columns the export shows (no ORM entities); frozen
dataclasses out. Formatting lives in `bot.export_csv`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.handoff import HandoffStatus, ReturnReason
from store._tx import own_transaction
from store.models import FeedbackRecord, Handoff, IsRatingRecord, OutcomeRecord

__all__ = ["EXPORT_CHUNK", "ExportRecord", "export_records"]

EXPORT_CHUNK = 500  # toss-ups per read: a few MB of memo JSON at most


@dataclass(frozen=True, slots=True)
class ExportRecord:
    """One toss-up as the export shows it. JSON columns stay as stored (dicts)."""

    id: int
    created_at: datetime
    status: HandoffStatus
    is_user_id: str
    fs_user_id: str | None  # the FS rep the toss-up went to (routing may differ from the memo's pick)
    revision_of_id: int | None
    memo: dict[str, Any]
    criteria: dict[str, Any] | None
    criteria_passed: bool | None
    override_reason: str | None
    score: dict[str, Any] | None
    score_total: int | None
    memo_score: int | None
    decided_by: str | None
    decided_at: datetime | None
    return_reason: ReturnReason | None
    return_note: str | None
    sheet: dict[str, Any] | None  # FS's feedback sheet
    sheet_by: str | None
    sheet_at: datetime | None  # when it was last saved
    is_rating: dict[str, Any] | None  # IS's rating of FS's follow-through
    is_rating_at: datetime | None
    outcome: dict[str, Any] | None
    outcome_by: str | None
    outcome_at: datetime | None


_COLUMNS = (
    Handoff.id,
    Handoff.created_at,
    Handoff.status,
    Handoff.is_user_id,
    Handoff.fs_user_id,
    Handoff.revision_of_id,
    Handoff.memo,
    Handoff.criteria,
    Handoff.criteria_passed,
    Handoff.override_reason,
    Handoff.score,
    Handoff.score_total,
    Handoff.memo_score,
    Handoff.decided_by,
    Handoff.decided_at,
    Handoff.return_reason,
    Handoff.return_note,
    FeedbackRecord.sheet.label("sheet"),
    FeedbackRecord.rater_id.label("sheet_by"),
    FeedbackRecord.updated_at.label("sheet_at"),
    IsRatingRecord.rating.label("is_rating"),
    IsRatingRecord.rated_at.label("is_rating_at"),
    OutcomeRecord.outcome.label("outcome"),
    OutcomeRecord.recorded_by.label("outcome_by"),
    OutcomeRecord.recorded_at.label("outcome_at"),
)


def _after(created_at: datetime, handoff_id: int) -> Any:
    """Rows after (created_at, id) in the export's order. Spelled out rather than as a row value (which
    the backends compare differently with a custom column type); the plain `>=` lets the index start
    the next chunk where the last one ended instead of at the period's start."""
    return and_(
        Handoff.created_at >= created_at,
        or_(Handoff.created_at > created_at, Handoff.id > handoff_id),
    )


async def export_records(
    *, session: AsyncSession, start: datetime, end: datetime, chunk: int = EXPORT_CHUNK
) -> AsyncIterator[list[ExportRecord]]:
    """The toss-ups created in [start, end) (aware datetimes), oldest first, `chunk` at a time."""
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    query = (
        select(*_COLUMNS)
        .outerjoin(FeedbackRecord, FeedbackRecord.handoff_id == Handoff.id)
        .outerjoin(IsRatingRecord, IsRatingRecord.handoff_id == Handoff.id)
        .outerjoin(OutcomeRecord, OutcomeRecord.handoff_id == Handoff.id)
        .where(Handoff.created_at >= start, Handoff.created_at < end)
        .order_by(Handoff.created_at, Handoff.id)
        .limit(chunk)
    )
    after: tuple[datetime, int] | None = None
    while True:
        page = query if after is None else query.where(_after(*after))
        async with own_transaction(session):
            connection = await session.connection()
            rows = (await connection.execute(page)).all()
        if not rows:
            return
        yield [ExportRecord(**row._asdict()) for row in rows]
        if len(rows) < chunk:
            return
        after = (rows[-1].created_at, rows[-1].id)
