"""What the acceptance SLA's minute tick reads: the pending toss-ups already past their deadline.

Only the columns the tick needs, and only the toss-ups created up to the latest overdue creation time
(`bot.domain.sla.overdue_created_before`): one range on the (status, created_at) index, so the tick costs
what is overdue, never the history, and decodes no memo. The SLA posts already queued for each come in
the same statement (the outbox by toss-up id), so the tick needs no look-up per key or per toss-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.handoff import HandoffStatus
from store._tx import own_transaction
from store.models import Handoff, OutboxMessage

__all__ = ["SlaCandidate", "overdue_pending"]

_KEY_SEPARATOR = "\n"  # never in an outbox key (ids, step names, Slack user ids)


@dataclass(frozen=True, slots=True)
class SlaCandidate:
    id: int
    created_at: datetime
    fs_user_id: str | None
    notice_ts: str | None  # None: the notice never reached Slack (nothing to remind anyone of)
    queued: frozenset[str] = field(default_factory=frozenset)  # its outbox keys of `queued_kinds`


async def overdue_pending(
    *, session: AsyncSession, created_before: datetime, queued_kinds: Sequence[str] = ()
) -> list[SlaCandidate]:
    """Pending toss-ups created at or before `created_before`, oldest first, each with the dedupe keys of
    its outbox rows of `queued_kinds` (the SLA posts already queued): one statement, one row each."""
    columns: list[Any] = [Handoff.id, Handoff.created_at, Handoff.fs_user_id, Handoff.notice_ts]
    if queued_kinds:  # the keys joined into one string per toss-up (group_concat / string_agg)
        columns.append(
            select(func.aggregate_strings(OutboxMessage.dedupe_key, _KEY_SEPARATOR))
            .where(OutboxMessage.handoff_id == Handoff.id, OutboxMessage.kind.in_(list(queued_kinds)))
            .scalar_subquery()
        )
    query = (
        select(*columns)
        .where(Handoff.status == HandoffStatus.PENDING, Handoff.created_at <= created_before)
        .order_by(Handoff.created_at, Handoff.id)
    )
    async with own_transaction(session):
        connection = await session.connection()  # plain rows: no ORM result to build
        rows = (await connection.execute(query)).all()
    if not queued_kinds:
        return [SlaCandidate(*row) for row in rows]
    return [
        SlaCandidate(*row[:4], frozenset(row[4].split(_KEY_SEPARATOR)) if row[4] else frozenset())
        for row in rows
    ]
