"""What the acceptance SLA's minute tick reads: the pending toss-ups already past their deadline.

Only the columns the tick needs, and only the toss-ups created up to the latest overdue creation time
(`bot.domain.sla.overdue_created_before`): one range on the (status, created_at) index, so the tick costs
what is overdue, never the history, and decodes no memo.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.handoff import HandoffStatus
from store._tx import own_transaction
from store.models import Handoff

__all__ = ["SlaCandidate", "overdue_pending"]


@dataclass(frozen=True, slots=True)
class SlaCandidate:
    id: int
    created_at: datetime
    fs_user_id: str | None
    notice_ts: str | None  # None: the notice never reached Slack (nothing to remind anyone of)


async def overdue_pending(*, session: AsyncSession, created_before: datetime) -> list[SlaCandidate]:
    """Pending toss-ups created at or before `created_before`, oldest first."""
    query = (
        select(Handoff.id, Handoff.created_at, Handoff.fs_user_id, Handoff.notice_ts)
        .where(Handoff.status == HandoffStatus.PENDING, Handoff.created_at <= created_before)
        .order_by(Handoff.created_at, Handoff.id)
    )
    async with own_transaction(session):
        rows = (await session.execute(query)).all()
    return [SlaCandidate(*row) for row in rows]
