"""The feedback loop in the database: FS's sheet, IS's rating of FS, the deal's outcome.

Each is one row per toss-up, edited in place, with every version kept as an event (the history). Like
the rest of the store, each function commits its own transaction together with the outbox rows that
announce the change, and the outbox's dedupe keys make a repeated request (same modal submitted twice)
change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import String, and_, bindparam, cast, func, literal, null, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.feedback import AwaitingSheet, FollowUp
from bot.domain.handoff import EventKind, HandoffStatus
from bot.domain.outcome import OutcomeKind
from store._tx import own_transaction
from store.handoffs import to_snapshot
from store.models import FeedbackRecord, Handoff, HandoffEvent, IsRatingRecord, OutboxMessage, OutcomeRecord
from store.outbox import NewOutbox, is_repeat

__all__ = [
    "OutcomeRow",
    "SheetRow",
    "SheetToChase",
    "get_feedback",
    "get_is_rating",
    "get_outcome",
    "list_awaiting_sheets",
    "list_follow_ups",
    "recent_sheets_for_is",
    "save_feedback",
    "save_is_rating",
    "save_outcome",
    "sheets_to_chase",
]


_DATETIME = TypeAdapter(datetime)  # the memo's JSON keeps times as ISO 8601 text


@dataclass(frozen=True)
class SheetRow:
    rater_id: str
    data: dict[str, Any]  # FeedbackSheet / IsRating as JSON
    at: datetime  # submitted (first) / rated
    revisions: int = 1


@dataclass(frozen=True)
class OutcomeRow:
    kind: str
    data: dict[str, Any]  # Outcome as JSON
    recorded_by: str
    recorded_at: datetime


async def save_feedback(
    *,
    session: AsyncSession,
    handoff_id: int,
    rater_id: str,
    sheet: dict[str, Any],
    score: dict[str, Any],
    score_total: int,
    now: datetime,
    outbox: Sequence[NewOutbox] = (),
) -> int | None:
    """Store FS's sheet (a new one, or an edit of the one there), the toss-up's completed score, an event
    with the sheet (history) and the outbox rows; one commit. Returns the revision number (1 = first),
    or None when it was the same request again (nothing written)."""
    async with own_transaction(session):
        if await is_repeat(session, outbox, handoff_id=handoff_id, now=now):
            return None
        record = await session.get(FeedbackRecord, handoff_id, populate_existing=True)
        if record is None:
            record = FeedbackRecord(
                handoff_id=handoff_id,
                rater_id=rater_id,
                sheet=sheet,
                submitted_at=now,
                updated_at=now,
                revisions=1,
            )
            session.add(record)
        else:
            record.rater_id, record.sheet, record.updated_at = rater_id, sheet, now
            record.revisions = record.revisions + 1
        revision = record.revisions
        await session.execute(
            update(Handoff).where(Handoff.id == handoff_id).values(score=score, score_total=score_total)
        )
        session.add(
            HandoffEvent(
                handoff_id=handoff_id,
                kind=EventKind.FEEDBACK_SUBMITTED,
                actor_user_id=rater_id,
                at=now,
                detail={"sheet": sheet, "revision": revision},
            )
        )
    return revision


async def get_feedback(*, session: AsyncSession, handoff_id: int) -> SheetRow | None:
    async with own_transaction(session):
        record = await session.get(FeedbackRecord, handoff_id, populate_existing=True)
        if record is None:
            return None
        return SheetRow(record.rater_id, dict(record.sheet), record.submitted_at, record.revisions)


async def recent_sheets_for_is(
    *, session: AsyncSession, is_user_id: str, limit: int = 20
) -> list[tuple[datetime, dict[str, Any]]]:
    """FS's latest sheets on this IS rep's toss-ups, newest first (for the learning loop)."""
    async with own_transaction(session):
        rows = await session.execute(_RECENT_SHEETS, {"is_user_id": is_user_id, "limit": limit})
        return [(at, dict(sheet)) for at, sheet in rows]


# Built once: every `/tossup` runs it, and building the statement each time showed in its profile.
_RECENT_SHEETS = (
    select(FeedbackRecord.updated_at, FeedbackRecord.sheet)
    .join(Handoff, Handoff.id == FeedbackRecord.handoff_id)
    .where(Handoff.is_user_id == bindparam("is_user_id"))
    .order_by(FeedbackRecord.updated_at.desc())
    .limit(bindparam("limit"))
)


async def list_awaiting_sheets(*, session: AsyncSession) -> list[AwaitingSheet]:
    """Accepted toss-ups with a meeting time and no FS feedback sheet yet, oldest first (by id): the ones
    to ask about. Only the columns the timing needs, and the meeting time straight out of the memo's
    JSON, so the minute tick stays cheap however many there are."""
    meeting_at = Handoff.memo["meeting_at"].as_string()
    query = (
        select(
            Handoff.id,
            Handoff.fs_user_id,
            Handoff.decided_by,
            Handoff.created_at,
            Handoff.decided_at,
            meeting_at,
        )
        .outerjoin(FeedbackRecord, FeedbackRecord.handoff_id == Handoff.id)
        .where(
            Handoff.status == HandoffStatus.ACCEPTED.value,
            FeedbackRecord.handoff_id.is_(None),
            meeting_at.is_not(None),
        )
        .order_by(Handoff.id)
    )
    async with own_transaction(session):
        rows = (await session.execute(query)).all()
    return [
        AwaitingSheet(
            handoff_id=row[0],
            fs_user_id=row[1],
            decided_by=row[2],
            created_at=row[3],
            decided_at=row[4],
            meeting_at=_DATETIME.validate_python(row[5]),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class SheetToChase:
    awaiting: AwaitingSheet
    requested_at: datetime | None  # when the request was queued (its outbox row's created_at); None: not yet
    last_reminder_key: str | None = None  # the highest-numbered reminder queued (kind:id:number), if any


async def sheets_to_chase(
    *,
    session: AsyncSession,
    scan_from: datetime,
    ask_from: datetime,
    chase_from: datetime,
    request_key_prefix: str,
    last_key: tuple[str, str],
    reminder_kind: str | None = None,
    due_by: datetime | None = None,
) -> list[SheetToChase]:
    """The awaiting sheets (as `list_awaiting_sheets`) the feedback tick may still have to send something
    for, with when each request was queued, oldest first (by id): one statement over the recent toss-ups.

    A toss-up's "base" is the latest of its meeting, creation and acceptance (its request falls due a
    fixed delay after it). Candidates: base at or after `scan_from` (one range on each (status, time)
    index, so the cost follows the recent toss-ups, not the history), nothing left to send (its last post,
    `last_key` = prefix + id + suffix, not queued), and either never asked with base at or after
    `ask_from` (and, with `due_by`, at or before it: a meeting still ahead owes nothing yet), or asked
    (`request_key_prefix` + id queued) at or after `chase_from`. The caller picks `scan_from` early enough
    to hold every toss-up asked since `chase_from`. With `reminder_kind`, each comes with the key of its
    highest-numbered reminder queued (keys end in the number: the longest, then the greatest), so the tick
    needs no second look-up.
    """
    last_prefix, last_suffix = last_key
    handoff_id = cast(Handoff.id, String)
    accepted = Handoff.status == HandoffStatus.ACCEPTED.value
    bases = (Handoff.meeting_at, Handoff.decided_at, Handoff.created_at)
    # The outbox look-ups are probes of the unique key's index (as joins, PostgreSQL misjudged the rows and
    # hashed the whole outbox).
    requested_at = (
        select(OutboxMessage.created_at)
        .where(OutboxMessage.dedupe_key == literal(request_key_prefix, String) + handoff_id)
        .scalar_subquery()
    )
    never_asked = [requested_at.is_(None), or_(*(moment >= ask_from for moment in bases))]
    if due_by is not None:
        never_asked += [
            Handoff.meeting_at <= due_by,
            Handoff.created_at <= due_by,
            or_(Handoff.decided_at.is_(None), Handoff.decided_at <= due_by),
        ]
    last_reminder_key = (
        select(OutboxMessage.dedupe_key)
        .where(OutboxMessage.handoff_id == Handoff.id, OutboxMessage.kind == reminder_kind)
        .order_by(func.length(OutboxMessage.dedupe_key).desc(), OutboxMessage.dedupe_key.desc())
        .limit(1)
        .scalar_subquery()
        if reminder_kind is not None
        else null()
    )
    query = (
        select(
            Handoff.id,
            Handoff.fs_user_id,
            Handoff.decided_by,
            Handoff.created_at,
            Handoff.decided_at,
            Handoff.meeting_at,
            requested_at.label("requested_at"),
            last_reminder_key.label("last_reminder_key"),
        )
        .where(
            # The status inside each branch: SQLite reads the three (status, time) ranges and their union
            # ("MULTI-INDEX OR"), not every accepted toss-up.
            or_(*(and_(accepted, moment >= scan_from) for moment in bases)),
            # Before any other column is read (SQLite tests the terms in this order, and a toss-up's row
            # carries its memo: reading every recent one cost 6 of the 13 ms at 100k), the toss-ups with
            # a sheet or with their last post queued are dropped by probes on the id.
            ~select(FeedbackRecord.handoff_id).where(FeedbackRecord.handoff_id == Handoff.id).exists(),
            ~select(OutboxMessage.id)
            .where(
                OutboxMessage.dedupe_key
                == literal(last_prefix, String) + handoff_id + literal(last_suffix, String)
            )
            .exists(),
            Handoff.meeting_at.is_not(None),
            or_(requested_at >= chase_from, and_(*never_asked)),
        )
        .order_by(Handoff.id)
    )
    async with own_transaction(session):
        rows = (await session.execute(query)).all()
    return [
        SheetToChase(
            AwaitingSheet(
                handoff_id=row[0],
                fs_user_id=row[1],
                decided_by=row[2],
                created_at=row[3],
                decided_at=row[4],
                meeting_at=row[5],
            ),
            row[6],
            row[7],
        )
        for row in rows
    ]


async def list_follow_ups(
    *, session: AsyncSession, user_id: str, met_by: datetime | None = None, limit: int = 50
) -> list[FollowUp]:
    """Accepted toss-ups `user_id` is the FS rep on (assigned, or accepted unassigned) that still lack the
    feedback sheet or a closed outcome (won / lost), newest first; with `met_by`, only those whose meeting
    took place by then or has no time set (a meeting still ahead owes nothing yet).

    One query per way of owning one, each walking an index newest first and stopping at `limit` (the
    assigned ones: ix_handoffs_fs_user_id_status_id; the unassigned ones the rep accepted:
    ix_handoffs_fs_user_id_status), then merged: an FS rep's history never has to be read whole and sorted.
    """
    accepted = Handoff.status == HandoffStatus.ACCEPTED.value
    open_outcome = or_(OutcomeRecord.handoff_id.is_(None), OutcomeRecord.kind == OutcomeKind.OPEN.value)
    owned_by = (
        and_(Handoff.fs_user_id == user_id, accepted),
        and_(Handoff.fs_user_id.is_(None), accepted, Handoff.decided_by == user_id),
    )
    held = or_(Handoff.meeting_at.is_(None), Handoff.meeting_at <= met_by) if met_by is not None else true()
    found: list[FollowUp] = []
    async with own_transaction(session):
        for owned in owned_by:
            query = (
                select(Handoff, FeedbackRecord.handoff_id, OutcomeRecord.kind)
                .outerjoin(FeedbackRecord, FeedbackRecord.handoff_id == Handoff.id)
                .outerjoin(OutcomeRecord, OutcomeRecord.handoff_id == Handoff.id)
                .where(owned, held, or_(FeedbackRecord.handoff_id.is_(None), open_outcome))
                .order_by(Handoff.id.desc())
                .limit(limit)
            )
            rows = await session.execute(query.execution_options(populate_existing=True))
            found.extend(
                FollowUp(
                    handoff=to_snapshot(row),
                    rated=rated is not None,
                    outcome=OutcomeKind(kind) if kind else None,
                )
                for row, rated, kind in rows
            )
    return sorted(found, key=lambda follow_up: follow_up.handoff.id, reverse=True)[:limit]


async def _put(
    session: AsyncSession, model: type[IsRatingRecord] | type[OutcomeRecord], handoff_id: int, **values: Any
) -> None:
    """The toss-up's one row of `model`, created or replaced (in the caller's transaction)."""
    record = await session.get(model, handoff_id, populate_existing=True)
    if record is None:
        session.add(model(handoff_id=handoff_id, **values))
        return
    for name, value in values.items():
        setattr(record, name, value)


async def save_is_rating(
    *,
    session: AsyncSession,
    handoff_id: int,
    rater_id: str,
    rating: dict[str, Any],
    now: datetime,
    outbox: Sequence[NewOutbox] = (),
) -> bool:
    """Store (or replace) IS's rating of FS's follow-through, with its event; False for a repeat."""
    async with own_transaction(session):
        if await is_repeat(session, outbox, handoff_id=handoff_id, now=now):
            return False
        await _put(session, IsRatingRecord, handoff_id, rater_id=rater_id, rating=rating, rated_at=now)
        session.add(
            HandoffEvent(
                handoff_id=handoff_id, kind=EventKind.IS_RATED, actor_user_id=rater_id, at=now, detail=rating
            )
        )
    return True


async def get_is_rating(*, session: AsyncSession, handoff_id: int) -> SheetRow | None:
    async with own_transaction(session):
        record = await session.get(IsRatingRecord, handoff_id, populate_existing=True)
        return SheetRow(record.rater_id, dict(record.rating), record.rated_at) if record else None


async def save_outcome(
    *,
    session: AsyncSession,
    handoff_id: int,
    recorded_by: str,
    kind: str,
    outcome: dict[str, Any],
    now: datetime,
    outbox: Sequence[NewOutbox] = (),
) -> bool:
    """Store (or replace) the deal's outcome, with its event; False for a repeat."""
    async with own_transaction(session):
        if await is_repeat(session, outbox, handoff_id=handoff_id, now=now):
            return False
        await _put(
            session,
            OutcomeRecord,
            handoff_id,
            kind=kind,
            outcome=outcome,
            recorded_by=recorded_by,
            recorded_at=now,
        )
        session.add(
            HandoffEvent(
                handoff_id=handoff_id,
                kind=EventKind.OUTCOME_RECORDED,
                actor_user_id=recorded_by,
                at=now,
                detail=outcome,
            )
        )
    return True


async def get_outcome(*, session: AsyncSession, handoff_id: int) -> OutcomeRow | None:
    async with own_transaction(session):
        record = await session.get(OutcomeRecord, handoff_id, populate_existing=True)
        if record is None:
            return None
        return OutcomeRow(record.kind, dict(record.outcome), record.recorded_by, record.recorded_at)


async def outcome_kinds(*, session: AsyncSession, handoff_ids: Sequence[int]) -> dict[int, OutcomeKind]:
    """The recorded outcome of each of `handoff_ids` that has one (won, lost, still open), in one query
    over the outcome table's primary key."""
    if not handoff_ids:
        return {}
    async with own_transaction(session):
        rows = await session.execute(
            select(OutcomeRecord.handoff_id, OutcomeRecord.kind).where(
                OutcomeRecord.handoff_id.in_(list(handoff_ids))
            )
        )
        return {handoff_id: OutcomeKind(kind) for handoff_id, kind in rows}
