"""Digest periods: claimed once per (kind, channel, period), posted through the outbox.

The claim is an `INSERT … ON CONFLICT DO NOTHING RETURNING id` on the unique (kind, channel_id,
period_start) key, in the same transaction as the outbox rows that post the digest: whichever replica,
restart or retry gets there first owns the period, and its posts are in the database before anything is
sent. A process that dies after claiming leaves those rows queued; any replica's delivery loop sends them
once their lease lapses (the outbox's takeover), so a claim is never stranded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from store._tx import own_transaction
from store.diagnosis_models import DiagnosisRow
from store.issue_models import CollabIssueRecord
from store.models import DigestPost, Handoff
from store.outbox import NewOutbox, add_outbox_rows

__all__ = [
    "DigestRecord",
    "NewClaim",
    "claim_digest",
    "claim_digests",
    "find_digest",
    "get_digest",
    "record_digest_lead",
]


@dataclass(frozen=True, slots=True)
class DigestRecord:
    id: int
    kind: str
    channel_id: str
    period_start: date
    period_end: date
    lang: str
    content: dict[str, Any]
    claimed_by: str
    claimed_at: datetime
    lead_channel_id: str | None
    lead_ts: str | None
    posted_at: datetime | None


def _record(row: DigestPost) -> DigestRecord:
    return DigestRecord(
        id=row.id,
        kind=row.kind,
        channel_id=row.channel_id,
        period_start=row.period_start,
        period_end=row.period_end,
        lang=row.lang,
        content=dict(row.content or {}),
        claimed_by=row.claimed_by,
        claimed_at=row.claimed_at,
        lead_channel_id=row.lead_channel_id,
        lead_ts=row.lead_ts,
        posted_at=row.posted_at,
    )


async def find_digest(
    *, session: AsyncSession, kind: str, channel_id: str, period_start: date
) -> DigestRecord | None:
    """The claim of this period in this channel, if any (posted or still queued)."""
    async with own_transaction(session):
        row = await session.scalar(
            select(DigestPost).where(
                DigestPost.kind == kind,
                DigestPost.channel_id == channel_id,
                DigestPost.period_start == period_start,
            )
        )
        return _record(row) if row is not None else None


async def get_digest(*, session: AsyncSession, digest_id: int) -> DigestRecord | None:
    async with own_transaction(session):
        row = await session.get(DigestPost, digest_id, populate_existing=True)
        return _record(row) if row is not None else None


@dataclass(frozen=True)
class NewClaim:
    """One (kind, channel or user, period) to claim, with what it posts."""

    kind: str
    channel_id: str  # a channel, or the user a DM goes to
    period_start: date
    period_end: date
    lang: str
    content: dict[str, Any]
    posts_for: Callable[[int], Sequence[NewOutbox]]


async def _claim(session: AsyncSession, claim: NewClaim, *, claimed_by: str, now: datetime) -> int | None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(DigestPost)
        .values(
            kind=claim.kind,
            channel_id=claim.channel_id,
            period_start=claim.period_start,
            period_end=claim.period_end,
            lang=claim.lang,
            content=claim.content,
            claimed_by=claimed_by,
            claimed_at=now,
        )
        .on_conflict_do_nothing(index_elements=["kind", "channel_id", "period_start"])
        .returning(DigestPost.id)
    )
    digest_id = (await session.execute(statement)).scalar_one_or_none()
    if digest_id is None:
        return None
    await add_outbox_rows(session, claim.posts_for(int(digest_id)), handoff_id=None, now=now)
    return int(digest_id)


async def claim_digests(
    *, session: AsyncSession, claims: Sequence[NewClaim], claimed_by: str, now: datetime
) -> list[int | None]:
    """Claim several periods (a batch of DMs) and queue their posts in one transaction: each is new (its
    id) or was claimed already (None). A batch cut off half-way by a crash resumes from the queue."""
    async with own_transaction(session):
        return [await _claim(session, claim, claimed_by=claimed_by, now=now) for claim in claims]


async def claim_digest(
    *,
    session: AsyncSession,
    kind: str,
    channel_id: str,
    period_start: date,
    period_end: date,
    lang: str,
    content: dict[str, Any],
    claimed_by: str,
    now: datetime,
    posts_for: Callable[[int], Sequence[NewOutbox]],
) -> int | None:
    """Claim a period and queue its posts in one transaction; the new digest's id, or None when the
    period was claimed already (by anyone, ever). `posts_for(digest_id)` gives the outbox rows."""
    claim = NewClaim(kind, channel_id, period_start, period_end, lang, content, posts_for)
    (digest_id,) = await claim_digests(session=session, claims=[claim], claimed_by=claimed_by, now=now)
    return digest_id


async def record_digest_lead(
    *, session: AsyncSession, digest_id: int, channel_id: str, ts: str, now: datetime
) -> None:
    """The lead message is in the channel: its replies can thread under it."""
    async with own_transaction(session):
        await session.execute(
            update(DigestPost)
            .where(DigestPost.id == digest_id, DigestPost.lead_ts.is_(None))
            .values(lead_channel_id=channel_id, lead_ts=ts, posted_at=now)
            .execution_options(synchronize_session=False)
        )


async def in_use_before(*, session: AsyncSession, moment: datetime) -> bool:
    """Whether the team used tossup before `moment`: a toss-up made, a digest claimed, an issue raised or a
    diagnosis taken before it (each an indexed or small table; one query)."""
    async with own_transaction(session):
        return bool(
            await session.scalar(
                select(
                    or_(
                        exists().where(Handoff.created_at < moment),
                        exists().where(DigestPost.claimed_at < moment),
                        exists().where(CollabIssueRecord.raised_at < moment),
                        exists().where(DiagnosisRow.diagnosed_at < moment),
                    )
                )
            )
        )
