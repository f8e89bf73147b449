"""Collaboration issues (連携課題) in the database: log, read, close, list.

Like the rest of the store, every function ends its own transaction (a caller never holds one across a
Slack call) and is safe to repeat or race: an issue is unique by its submission key (the modal's view
id), closing is a conditional `UPDATE … WHERE closed_at IS NULL`, and the outbox rows announcing a
change are written in the same transaction. Reads return `CollabIssue` dataclasses, never ORM objects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bot.domain.issues import ISSUE_ID_MAX, QUADRANT_ORDER, CollabIssue, Level, Quadrant
from store._tx import own_transaction, rowcount
from store.issue_models import CollabIssueRecord
from store.outbox import NewOutbox, add_outbox_rows

__all__ = [
    "CloseResult",
    "IssueCreated",
    "NewIssue",
    "close_issue",
    "count_open_issues",
    "create_issue",
    "find_issue_submission",
    "get_issue",
    "list_closed_issues",
    "list_open_issues",
]

# The outbox rows of a new issue, given the issue as stored (their dedupe keys may use its id).
OutboxFor = Callable[[CollabIssue], Sequence[NewOutbox]]


@dataclass(frozen=True)
class NewIssue:
    submission_key: str  # the modal's view.id
    problem: str
    impact: Level
    urgency: Level
    raised_by: str
    owner_id: str | None = None
    channel_id: str | None = None  # where `/tossup issue` was typed


@dataclass(frozen=True)
class IssueCreated:
    issue: CollabIssue
    created: bool  # False: this submission was stored before, nothing was written


@dataclass(frozen=True)
class CloseResult:
    outcome: Literal["closed", "already_closed", "not_found"]
    issue: CollabIssue | None  # as it is now: who closed it and what was decided (None when not found)


def _to_issue(row: CollabIssueRecord) -> CollabIssue:
    return CollabIssue(
        id=row.id,
        problem=row.problem,
        impact=Level(row.impact),
        urgency=Level(row.urgency),
        raised_by=row.raised_by,
        raised_at=row.raised_at,
        owner_id=row.owner_id,
        closed_by=row.closed_by,
        closed_at=row.closed_at,
        decision=row.decision,
    )


def _valid_id(issue_id: int) -> bool:
    """Ids outside the column's range cannot exist; asking the database would fail on PostgreSQL."""
    return 1 <= issue_id <= ISSUE_ID_MAX


async def _load(session: AsyncSession, issue_id: int) -> CollabIssueRecord | None:
    if not _valid_id(issue_id):
        return None
    return await session.scalar(
        select(CollabIssueRecord)
        .where(CollabIssueRecord.id == issue_id)
        .execution_options(populate_existing=True)
    )


async def _by_key(session: AsyncSession, submission_key: str) -> CollabIssue | None:
    async with own_transaction(session):
        row = await session.scalar(
            select(CollabIssueRecord)
            .where(CollabIssueRecord.submission_key == submission_key)
            .execution_options(populate_existing=True)
        )
        return _to_issue(row) if row is not None else None


async def find_issue_submission(*, session: AsyncSession, submission_key: str) -> CollabIssue | None:
    """The issue stored for this modal submission (view id), if it was stored already."""
    return await _by_key(session, submission_key)


async def create_issue(
    *, session: AsyncSession, data: NewIssue, now: datetime, outbox: OutboxFor | None = None
) -> IssueCreated:
    """Store a logged issue and the outbox rows announcing it, in one transaction.

    The same `submission_key` again (a double click, Slack retrying, two replicas racing) returns the
    stored issue with `created=False` and writes nothing.
    """
    existing = await _by_key(session, data.submission_key)
    if existing is not None:
        return IssueCreated(issue=existing, created=False)
    try:
        async with own_transaction(session):
            row = CollabIssueRecord(
                submission_key=data.submission_key,
                problem=data.problem,
                impact=data.impact,
                urgency=data.urgency,
                owner_id=data.owner_id,
                raised_by=data.raised_by,
                raised_at=now,
                channel_id=data.channel_id,
            )
            session.add(row)
            await session.flush()  # the unique submission_key is checked here; the id is known after
            issue = _to_issue(row)
            if outbox is not None:
                await add_outbox_rows(session, outbox(issue), handoff_id=None, now=now)
    except IntegrityError:
        # Lost a race with a concurrent submission of the same view (already rolled back).
        existing = await _by_key(session, data.submission_key)
        if existing is None:
            raise
        return IssueCreated(issue=existing, created=False)
    return IssueCreated(issue=issue, created=True)


async def get_issue(*, session: AsyncSession, issue_id: int) -> CollabIssue | None:
    async with own_transaction(session):
        row = await _load(session, issue_id)
        return _to_issue(row) if row is not None else None


async def close_issue(
    *,
    session: AsyncSession,
    issue_id: int,
    closed_by: str,
    decision: str,
    now: datetime,
    outbox: Sequence[NewOutbox] = (),
) -> CloseResult:
    """Close an open issue with what was decided, exactly once.

    A conditional `UPDATE … WHERE id = :id AND closed_at IS NULL` decides the race: of two concurrent
    closes exactly one is "closed" (and writes its outbox rows); the other gets "already_closed" and the
    issue as the winner left it (who, when, what was decided).
    """
    if not _valid_id(issue_id):
        return CloseResult(outcome="not_found", issue=None)
    async with own_transaction(session):
        result = await session.execute(
            update(CollabIssueRecord)
            .where(CollabIssueRecord.id == issue_id, CollabIssueRecord.closed_at.is_(None))
            .values(closed_by=closed_by, closed_at=now, decision=decision)
            .execution_options(synchronize_session=False)
        )
        closed = rowcount(result) == 1
        if closed:
            await add_outbox_rows(session, outbox, handoff_id=None, now=now)
        row = await _load(session, issue_id)
        issue = _to_issue(row) if row is not None else None
    if closed:
        return CloseResult(outcome="closed", issue=issue)
    if issue is None:
        return CloseResult(outcome="not_found", issue=None)
    return CloseResult(outcome="already_closed", issue=issue)


def _quadrant_rank() -> ColumnElement[int]:
    """The matrix order in SQL (最優先 0, 要対応 1, 重要 2, 検討 3), so LIMIT keeps the most urgent."""
    high = Level.HIGH.value
    impact, urgency = CollabIssueRecord.impact, CollabIssueRecord.urgency
    ranks = {quadrant: rank for rank, quadrant in enumerate(QUADRANT_ORDER)}
    return case(
        ((impact == high) & (urgency == high), ranks[Quadrant.TOP]),
        (urgency == high, ranks[Quadrant.URGENT]),
        (impact == high, ranks[Quadrant.IMPORTANT]),
        else_=ranks[Quadrant.CONSIDER],
    )


async def list_open_issues(*, session: AsyncSession, limit: int | None = None) -> list[CollabIssue]:
    """Open issues, most urgent first (最優先, 要対応, 重要, 検討), the oldest first within a quadrant."""
    query = (
        select(CollabIssueRecord)
        .where(CollabIssueRecord.closed_at.is_(None))
        .order_by(_quadrant_rank(), CollabIssueRecord.raised_at, CollabIssueRecord.id)
        .execution_options(populate_existing=True)
    )
    if limit is not None:
        query = query.limit(max(limit, 0))
    async with own_transaction(session):
        return [_to_issue(row) for row in await session.scalars(query)]


async def count_open_issues(*, session: AsyncSession) -> int:
    async with own_transaction(session):
        count = await session.scalar(
            select(func.count()).select_from(CollabIssueRecord).where(CollabIssueRecord.closed_at.is_(None))
        )
    return int(count or 0)


async def list_closed_issues(*, session: AsyncSession, start: datetime, end: datetime) -> list[CollabIssue]:
    """Issues closed in [start, end), in the order they were closed (for the monthly review)."""
    query = (
        select(CollabIssueRecord)
        .where(CollabIssueRecord.closed_at >= start, CollabIssueRecord.closed_at < end)
        .order_by(CollabIssueRecord.closed_at, CollabIssueRecord.id)
        .execution_options(populate_existing=True)
    )
    async with own_transaction(session):
        return [_to_issue(row) for row in await session.scalars(query)]
