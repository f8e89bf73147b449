"""What App Home reads that no other screen does: the feedback sheets an IS rep received.

Bounded (`limit` rows, newest first) and over indexed columns (the toss-ups' `is_user_id, created_at`
index and the sheets' primary key), so App Home stays fast however many toss-ups the team has.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.received_feedback import SheetReceived
from store._tx import own_transaction
from store.models import FeedbackRecord, Handoff

__all__ = ["sheets_received"]


async def sheets_received(*, session: AsyncSession, is_user_id: str, limit: int) -> list[SheetReceived]:
    """The latest `limit` FS feedback sheets on `is_user_id`'s toss-ups, newest toss-ups first.

    Ordered by the toss-up's creation (indexed with the rep), not by when the sheet was saved: a sheet
    comes after its meeting, so the newest toss-ups carry the newest sheets, and the read never sorts
    every sheet the rep ever received.
    """
    query = (
        select(
            Handoff.id,
            Handoff.company,
            Handoff.meeting_at,
            FeedbackRecord.rater_id,
            FeedbackRecord.sheet,
            FeedbackRecord.updated_at,
        )
        .join(FeedbackRecord, FeedbackRecord.handoff_id == Handoff.id)
        .where(Handoff.is_user_id == is_user_id)
        .order_by(Handoff.created_at.desc(), Handoff.id.desc())
        .limit(limit)
    )
    async with own_transaction(session):
        connection = await session.connection()  # plain rows: no ORM entities to build
        rows = (await connection.execute(query)).all()
    return [
        SheetReceived(
            handoff_id=row.id,
            company=row.company,
            meeting_at=row.meeting_at,
            rater_id=row.rater_id,
            sheet=dict(row.sheet),
            at=row.updated_at,
        )
        for row in rows
    ]
