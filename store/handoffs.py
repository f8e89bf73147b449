"""Toss-ups in the database: create, read, decide, and their audit trail.

Every function that writes commits its own transaction (a caller never holds one across a Slack call)
and is safe to repeat or race: submissions are unique by `submission_key`, decisions are applied by a
conditional UPDATE, outbox rows are unique by `dedupe_key`. Reads return frozen snapshots, never ORM
objects, and end their read transaction too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Select, String, Update, bindparam, delete, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bot.domain.company import company_key
from bot.domain.criteria import CriteriaEvaluation
from bot.domain.handoff import DECISIONS, EventKind, HandoffSnapshot, HandoffStatus, ReturnReason
from bot.domain.memo import HandoffMemo
from bot.domain.outcome import OutcomeKind
from bot.domain.routing import RouteDecision, RouteKind
from bot.domain.score import ScoreBreakdown
from store._tx import own_transaction, rowcount
from store.models import DuplicateWarning, Handoff, HandoffEvent, OutcomeRecord
from store.one_trip import run_in_one_trip
from store.outbox import NewOutbox, add_outbox_rows, insert_outbox_rows, is_repeat, mark_done_in_transaction
from store.routing import take_turn_now

__all__ = [
    "CreateResult",
    "DecisionResult",
    "EditResult",
    "EventRecord",
    "HandoffNotFoundError",
    "MemoEdit",
    "NewHandoff",
    "NewOutbox",
    "SubmitResult",
    "create_handoff",
    "decide_handoff",
    "duplicate_confirmed",
    "edit_handoff",
    "find_open_duplicate",
    "get_handoff",
    "list_events",
    "list_handoffs",
    "list_memo_versions",
    "record_event",
    "record_notice",
    "record_notice_and_read",
    "submit_handoff",
    "to_snapshot",
    "warn_of_duplicate",
]

COMPANY_MAX = 255  # the column's length; the memo allows far less
WARNING_KEPT = timedelta(days=1)  # a duplicate warning outlives any open modal (Slack's expire sooner)


class HandoffNotFoundError(LookupError):
    """No handoff has this id."""


@dataclass(frozen=True)
class TurnRequest:
    """A round-robin turn to take in the same transaction as the new toss-up (see `submit_handoff`)."""

    rule: str
    pool: tuple[str, ...]
    unavailable: frozenset[str]


@dataclass(frozen=True)
class NewHandoff:
    submission_key: str  # the modal's view.id
    team_id: str
    is_user_id: str
    fs_user_id: str | None
    channel_id: str
    memo: HandoffMemo
    lang: str  # the IS rep's language at submission
    revision_of_id: int | None = None  # the returned toss-up this one revises
    duplicate_of_id: int | None = None  # the open toss-up of the same company IS confirmed past
    criteria: CriteriaEvaluation | None = None
    override_reason: str | None = None
    score: ScoreBreakdown | None = None
    route: RouteDecision | None = None
    # Routing decided at insert time: the turn (if any) is taken in the same transaction, and
    # `decide_route(assignee)` gives the channel, the FS rep and why; they replace the fields above.
    turn: TurnRequest | None = None
    decide_route: Callable[[str | None], RouteDecision] | None = None


@dataclass(frozen=True)
class CreateResult:
    handoff: HandoffSnapshot
    created: bool  # False: this submission_key was stored before, nothing was written


@dataclass(frozen=True)
class DecisionResult:
    outcome: Literal["applied", "already_decided", "not_found"]
    handoff: HandoffSnapshot | None  # the handoff as it is now (None when not found)


@dataclass(frozen=True)
class EventRecord:
    kind: EventKind
    actor_user_id: str | None
    at: datetime
    detail: dict[str, Any]


def to_snapshot(row: Handoff) -> HandoffSnapshot:
    return HandoffSnapshot(
        id=row.id,
        team_id=row.team_id,
        is_user_id=row.is_user_id,
        fs_user_id=row.fs_user_id,
        channel_id=row.channel_id,
        status=HandoffStatus(row.status),
        memo=HandoffMemo.model_validate(row.memo),
        created_at=row.created_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        return_reason=ReturnReason(row.return_reason) if row.return_reason is not None else None,
        return_note=row.return_note,
        notice_channel_id=row.notice_channel_id,
        notice_ts=row.notice_ts,
        dm_channel_id=row.dm_channel_id,
        dm_ts=row.dm_ts,
        is_dm_channel_id=row.is_dm_channel_id,
        is_dm_ts=row.is_dm_ts,
        revision_of_id=row.revision_of_id,
        criteria=CriteriaEvaluation.from_json(row.criteria) if row.criteria else None,
        override_reason=row.override_reason,
        score=ScoreBreakdown.from_json(row.score) if row.score else None,
        route=_route_of(row),
        duplicate_of_id=row.duplicate_of_id,
        edit_count=row.edit_count or 0,
        edited_at=row.edited_at,
    )


def _route_of(row: Handoff) -> RouteDecision | None:
    if row.route_kind is None:
        return None
    return RouteDecision(
        kind=RouteKind(row.route_kind),
        channel_id=row.channel_id,
        fs_user_id=row.fs_user_id,
        rule=row.route_rule,
    )


# The statements of every submission and every post are built once, with bound parameters: building
# one (`Handoff.id == x` and the like) cost more of a submission's time than running it (py-spy of
# submissions one at a time: ~30 % of the submission's path in SQLAlchemy's expression construction).
# populate_existing: a session reused across calls must not answer from its identity map.
_BY_ID = (
    select(Handoff).where(Handoff.id == bindparam("handoff_id")).execution_options(populate_existing=True)
)
_BY_KEY = (
    select(Handoff)
    .where(Handoff.submission_key == bindparam("submission_key"))
    .execution_options(populate_existing=True)
)
# On the table, not the mapped class: an ORM-enabled DELETE first works out which loaded objects it would
# remove (~15 % of a submission's storing transaction, for a row that is usually not there).
_FORGET_WARNING = DuplicateWarning.__table__.delete().where(
    DuplicateWarning.__table__.c.submission_key == bindparam("submission_key")
)


async def _load(session: AsyncSession, handoff_id: int) -> Handoff | None:
    return await session.scalar(_BY_ID, {"handoff_id": handoff_id})


async def _load_by_key(session: AsyncSession, submission_key: str) -> Handoff | None:
    return await session.scalar(_BY_KEY, {"submission_key": submission_key})


async def _existing(session: AsyncSession, submission_key: str) -> HandoffSnapshot | None:
    async with own_transaction(session):
        row = await _load_by_key(session, submission_key)
        return to_snapshot(row) if row is not None else None


async def create_handoff(
    *,
    session: AsyncSession,
    data: NewHandoff,
    outbox: Sequence[NewOutbox] = (),
    now: datetime,
) -> CreateResult:
    """Store a submitted toss-up with its SUBMITTED event and outbox rows, in one transaction.

    The same `submission_key` again (a double click, Slack retrying, two replicas racing) returns the
    stored handoff with `created=False` and writes nothing. Outbox rows get `next_attempt_at = now`;
    their dedupe keys cannot contain the new id, so derive them from the submission key.
    """
    # No look-up first: the unique submission_key decides (a memo submission looks up in the same trip:
    # `submit_handoff`).
    try:
        snapshot = await run_in_one_trip(
            session, lambda sync_session: _store_new(sync_session, data=data, outbox=outbox, now=now)
        )
    except IntegrityError:
        # The same view stored already: a double click, Slack's retry, or a concurrent submission (rolled
        # back; nothing of this attempt was written).
        existing = await _existing(session, data.submission_key)
        if existing is None:
            raise
        return CreateResult(handoff=existing, created=False)
    return CreateResult(handoff=snapshot, created=True)


# A submission's rows, written as plain INSERTs (no unit of work: the ORM's flush of one new toss-up cost
# ~40 % of the storing transaction, which runs in SQLite's one writer for every submission).
_INSERT_HANDOFF = Handoff.__table__.insert().returning(Handoff.__table__.c.id)
_INSERT_EVENT = HandoffEvent.__table__.insert()


def _store_new(
    session: Session, *, data: NewHandoff, outbox: Sequence[NewOutbox], now: datetime
) -> HandoffSnapshot:
    """`create_handoff`'s and `submit_handoff`'s writes, in one transaction run by store.one_trip. The
    routing turn (if any) is taken first, in the same transaction: a duplicate submission_key fails the
    INSERT after it and rolls the turn back with everything else."""
    route, fs_user_id, channel_id = data.route, data.fs_user_id, data.channel_id
    if data.decide_route is not None:
        route = _decided_route(session, data, now)
        fs_user_id, channel_id = route.fs_user_id, route.channel_id
    values: dict[str, Any] = {
        "submission_key": data.submission_key,
        "team_id": data.team_id,
        "is_user_id": data.is_user_id,
        "fs_user_id": fs_user_id,
        "channel_id": channel_id,
        "status": HandoffStatus.PENDING,
        "company": (data.memo.company or "")[:COMPANY_MAX],
        "company_key": company_key(data.memo.company),
        "duplicate_of_id": data.duplicate_of_id,
        "meeting_at": data.memo.meeting_at,
        "memo": data.memo.model_dump(mode="json"),
        "lang": data.lang,
        "revision_of_id": data.revision_of_id,
        "criteria": data.criteria.to_json() if data.criteria else None,
        "criteria_passed": data.criteria.passed if data.criteria else None,
        "override_reason": data.override_reason,
        "score": data.score.to_json() if data.score else None,
        "score_total": data.score.total if data.score else None,
        "memo_score": data.score.total if data.score else None,  # no FS rating yet at submission
        "route_kind": route.kind.value if route else None,
        "route_rule": route.rule if route else None,
        "created_at": now,
        "version": 1,
        "edit_count": 0,
    }
    handoff_id = session.execute(_INSERT_HANDOFF, values).scalar_one()  # the unique submission_key decides
    session.execute(
        _INSERT_EVENT,
        {
            "handoff_id": handoff_id,
            "kind": EventKind.SUBMITTED,
            "actor_user_id": data.is_user_id,
            "at": now,
            "detail": {},
        },
    )
    insert_outbox_rows(session, outbox, handoff_id=handoff_id, now=now)
    # the modal's duplicate warning is answered: forget it
    session.execute(_FORGET_WARNING, {"submission_key": data.submission_key})
    return to_snapshot(Handoff(id=handoff_id, **values))  # never added to the session: just the values


def _decided_route(session: Session, data: NewHandoff, now: datetime) -> RouteDecision:
    """Take the round-robin turn (when a rule with a pool matched) and decide the route."""
    assignee = None
    if data.turn is not None:
        turn = take_turn_now(
            session, rule=data.turn.rule, pool=data.turn.pool, unavailable=data.turn.unavailable, now=now
        )
        assignee = turn.member if turn is not None else None
    assert data.decide_route is not None
    return data.decide_route(assignee)


@dataclass(frozen=True)
class SubmitResult:
    """What `submit_handoff` did: stored the toss-up (`created`), found this view stored already, or
    stored nothing because the company has an open toss-up this modal was not warned of yet."""

    handoff: HandoffSnapshot | None  # None only with `open_duplicate`
    created: bool = False
    open_duplicate: HandoffSnapshot | None = None


# A warning given this long ago or more is answered by the same modal submitted again; a submission
# closer to it than a person can read is the same click twice (a double click's two requests: the second
# must not store, unwarned, what the first was warned of).
CONFIRM_AFTER = timedelta(seconds=1)
_WARNED = select(DuplicateWarning.__table__.c.submission_key).where(
    DuplicateWarning.__table__.c.submission_key == bindparam("submission_key"),
    DuplicateWarning.__table__.c.company_key == bindparam("key"),
    DuplicateWarning.__table__.c.warned_at <= bindparam("warned_before"),
)


async def submit_handoff(
    *,
    session: AsyncSession,
    data: NewHandoff,
    outbox: Sequence[NewOutbox] = (),
    now: datetime,
    duplicate_since: datetime,
) -> SubmitResult:
    """A new memo submission, in one trip to the database (SQLite's writer; a look-up beside it and then
    the store were two): the toss-up stored for this view already, if any (a double click,
    Slack's retry); else, when the company has an open toss-up since `duplicate_since` and this modal was
    not warned of it (`warn_of_duplicate`), nothing is written and that toss-up is returned; else the
    toss-up is stored as `create_handoff` stores it, as a duplicate of that open one when the warning was
    given (submitting the warned modal again confirms)."""
    company = company_key(data.memo.company)

    def work(sync_session: Session) -> SubmitResult:
        stored = sync_session.scalar(_BY_KEY, {"submission_key": data.submission_key})
        if stored is not None:
            return SubmitResult(handoff=to_snapshot(stored))
        new = data
        if company and data.duplicate_of_id is None:
            duplicate = sync_session.scalar(
                _OPEN_OF_COMPANY, {"key": company, "since": duplicate_since, "exclude_id": None}
            )
            if duplicate is not None and duplicate.submission_key == data.submission_key:
                return SubmitResult(handoff=to_snapshot(duplicate))  # this very view, stored meanwhile
            if duplicate is not None:
                warned = {
                    "submission_key": data.submission_key,
                    "key": company,
                    "warned_before": now - CONFIRM_AFTER,
                }
                if sync_session.scalar(_WARNED, warned) is None:
                    # The reads before the first write see each commit as it lands (PostgreSQL's READ
                    # COMMITTED; SQLite's driver begins at the first INSERT): a double click's other request
                    # may have stored this view, and forgotten its warning, since the first look.
                    again = sync_session.scalar(_BY_KEY, {"submission_key": data.submission_key})
                    if again is not None:
                        return SubmitResult(handoff=to_snapshot(again))
                    return SubmitResult(handoff=None, open_duplicate=to_snapshot(duplicate))
                new = replace(data, duplicate_of_id=duplicate.id)
        return SubmitResult(handoff=_store_new(sync_session, data=new, outbox=outbox, now=now), created=True)

    try:
        return await run_in_one_trip(session, work)
    except IntegrityError:  # the same view stored by a concurrent request meanwhile (nothing of this kept)
        existing = await _existing(session, data.submission_key)
        if existing is None:
            raise
        return SubmitResult(handoff=existing)


async def get_handoff(*, session: AsyncSession, handoff_id: int) -> HandoffSnapshot | None:
    """One toss-up, read in one trip to the driver (store.one_trip): every post reads its toss-up afresh,
    and an async read went to SQLite's thread a dozen times (connect, begin, execute, fetch, commit…)."""

    def read(sync_session: Session) -> HandoffSnapshot | None:
        row = sync_session.scalar(_BY_ID, {"handoff_id": handoff_id})
        return to_snapshot(row) if row is not None else None

    if session.in_transaction():  # part of the caller's transaction: read in it
        row = await _load(session, handoff_id)
        return to_snapshot(row) if row is not None else None
    return await run_in_one_trip(session, read)


async def decide_handoff(
    *,
    session: AsyncSession,
    handoff_id: int,
    actor_id: str,
    decision: EventKind,
    now: datetime,
    reason: ReturnReason | None = None,
    note: str | None = None,
    outbox: Sequence[NewOutbox] = (),
) -> DecisionResult:
    """Accept or return a pending toss-up, exactly once.

    A conditional `UPDATE … WHERE id = :id AND status = 'pending'` decides the race: of two concurrent
    decisions exactly one is "applied"; the other gets "already_decided" and the handoff as the winner
    left it. Only the applied one writes its event and outbox rows. `reason` and `note` are stored as
    the return reason/note for RETURNED; for ACCEPTED a note goes to the event's detail only.
    """
    if decision not in DECISIONS:
        raise ValueError(f"decision must be ACCEPTED or RETURNED, not {decision!r}")
    if reason is not None and decision is not EventKind.RETURNED:
        raise ValueError("a reason only goes with RETURNED")
    returned = decision is EventKind.RETURNED
    detail: dict[str, Any] = {}
    if reason is not None:
        detail["reason"] = ReturnReason(reason).value
    if note is not None:
        detail["note"] = note

    async with own_transaction(session):
        result = await session.execute(
            update(Handoff)
            .where(Handoff.id == handoff_id, Handoff.status == HandoffStatus.PENDING)
            .values(
                status=DECISIONS[decision],
                decided_by=actor_id,
                decided_at=now,
                return_reason=reason if returned else None,
                return_note=note if returned else None,
                version=Handoff.version + 1,
            )
            .execution_options(synchronize_session=False)
        )
        applied = rowcount(result) == 1
        if applied:
            session.add(
                HandoffEvent(
                    handoff_id=handoff_id, kind=decision, actor_user_id=actor_id, at=now, detail=detail
                )
            )
            await add_outbox_rows(session, outbox, handoff_id=handoff_id, now=now)
            await session.flush()
        row = await _load(session, handoff_id)
        snapshot = to_snapshot(row) if row is not None else None

    if applied:
        return DecisionResult(outcome="applied", handoff=snapshot)
    if snapshot is None:
        return DecisionResult(outcome="not_found", handoff=None)
    return DecisionResult(outcome="already_decided", handoff=snapshot)


async def record_event(
    *,
    session: AsyncSession,
    handoff_id: int,
    kind: EventKind,
    actor_id: str | None,
    now: datetime,
    detail: dict[str, Any] | None = None,
    outbox: Sequence[NewOutbox] = (),
) -> bool:
    """Append an event (e.g. QUESTION_ASKED) and its outbox rows in one transaction.

    The outbox rows' dedupe keys make the call repeatable: when it brings outbox rows and every one of
    them exists already (the same request again: a double click, a Slack retry), nothing is written and
    False is returned. SUBMITTED, ACCEPTED and RETURNED belong to `create_handoff`/`decide_handoff` and
    are refused here. Raises `HandoffNotFoundError` for an unknown id.
    """
    if kind is EventKind.SUBMITTED or kind in DECISIONS:
        raise ValueError(f"{kind} is recorded by create_handoff/decide_handoff")
    try:
        async with own_transaction(session):
            if await _load(session, handoff_id) is None:
                raise HandoffNotFoundError(handoff_id)
            if await is_repeat(session, outbox, handoff_id=handoff_id, now=now):
                return False
            session.add(
                HandoffEvent(
                    handoff_id=handoff_id,
                    kind=kind,
                    actor_user_id=actor_id,
                    at=now,
                    detail=dict(detail or {}),
                )
            )
            await session.flush()
    except IntegrityError as exc:
        raise HandoffNotFoundError(handoff_id) from exc
    return True


def _record_notice_statement(channel_col: Any, ts_col: Any) -> Update:
    # Bound names differ from the columns': SQLAlchemy keeps a column's own name for its SET value.
    # On the table (as the submission's INSERT): every post records itself, and the ORM's UPDATE handling
    # has nothing to do here.
    channel_id, ts = bindparam("channel_id_", type_=String), bindparam("ts_", type_=String)
    table = Handoff.__table__
    return (
        update(table)
        .where(
            table.c.id == bindparam("handoff_id"),
            or_(channel_col.is_distinct_from(channel_id), ts_col.is_distinct_from(ts)),
        )
        .values({channel_col: channel_id, ts_col: ts})
    )


_HANDOFF_COLUMNS = Handoff.__table__.c
_RECORD_NOTICE = {
    "channel": _record_notice_statement(_HANDOFF_COLUMNS.notice_channel_id, _HANDOFF_COLUMNS.notice_ts),
    "dm": _record_notice_statement(_HANDOFF_COLUMNS.dm_channel_id, _HANDOFF_COLUMNS.dm_ts),
    "is_dm": _record_notice_statement(_HANDOFF_COLUMNS.is_dm_channel_id, _HANDOFF_COLUMNS.is_dm_ts),
}


async def record_notice(
    *,
    session: AsyncSession,
    handoff_id: int,
    where: Literal["channel", "dm", "is_dm"],
    channel_id: str,
    ts: str,
    now: datetime,
    done_item_id: int | None = None,
) -> bool:
    """Remember where a notice was posted (the channel notice, the FS rep's DM copy, or the IS rep's
    confirmation: "is_dm"); commits. `done_item_id`: the outbox row that posted it, marked done in the
    same commit (one write instead of two through SQLite's one writer).

    A channel notice also records a NOTICE_POSTED event. Idempotent: recording the same channel and ts
    again changes nothing and returns False; so does an unknown handoff id (a worker that posted for a
    handoff deleted meanwhile has nothing to fix). Returns True when something was recorded.
    """
    notice = _NoticeRecord(handoff_id, where, channel_id, ts, now, done_item_id)
    return await run_in_one_trip(session, notice.record)


async def record_notice_and_read(
    *,
    session: AsyncSession,
    handoff_id: int,
    where: Literal["channel", "dm", "is_dm"],
    channel_id: str,
    ts: str,
    now: datetime,
    done_item_id: int | None = None,
) -> HandoffSnapshot | None:
    """`record_notice`, then the toss-up as it is once recorded, in the same trip: a change that committed
    before the record is in it (on SQLite the record holds the one write lock; on PostgreSQL it locks the
    toss-up's row, so a decision under way commits first or after, and its refresh then sees the record)."""
    notice = _NoticeRecord(handoff_id, where, channel_id, ts, now, done_item_id)

    def record_and_read(sync: Session) -> HandoffSnapshot | None:
        notice.record(sync)
        row = sync.scalar(_BY_ID, {"handoff_id": handoff_id})
        return to_snapshot(row) if row is not None else None

    return await run_in_one_trip(session, record_and_read)


@dataclass(frozen=True)
class _NoticeRecord:
    handoff_id: int
    where: Literal["channel", "dm", "is_dm"]
    channel_id: str
    ts: str
    now: datetime
    done_item_id: int | None

    def __post_init__(self) -> None:
        if self.where not in _RECORD_NOTICE:
            raise ValueError(f"where must be 'channel', 'dm' or 'is_dm', not {self.where!r}")

    def record(self, sync: Session) -> bool:
        values = {"handoff_id": self.handoff_id, "channel_id_": self.channel_id, "ts_": self.ts}
        changed = rowcount(sync.execute(_RECORD_NOTICE[self.where], values)) == 1
        if self.done_item_id is not None:
            mark_done_in_transaction(sync, item_id=self.done_item_id, now=self.now)
        if changed and self.where == "channel":
            event = {
                "handoff_id": self.handoff_id,
                "kind": EventKind.NOTICE_POSTED,
                "actor_user_id": None,
                "at": self.now,
            }
            sync.execute(_INSERT_EVENT, {**event, "detail": {"channel_id": self.channel_id, "ts": self.ts}})
        return changed


async def list_events(
    *, session: AsyncSession, handoff_id: int, kind: EventKind | None = None
) -> list[EventRecord]:
    """The handoff's audit trail (its events of `kind` only, when given), oldest first."""
    of_kind = () if kind is None else (HandoffEvent.kind == kind,)
    async with own_transaction(session):
        rows = await session.scalars(
            select(HandoffEvent)
            .where(HandoffEvent.handoff_id == handoff_id, *of_kind)
            .order_by(HandoffEvent.at, HandoffEvent.id)
            .execution_options(populate_existing=True)
        )
        return [
            EventRecord(
                kind=EventKind(row.kind),
                actor_user_id=row.actor_user_id,
                at=row.at,
                detail=dict(row.detail or {}),
            )
            for row in rows
        ]


async def list_handoffs(
    *,
    session: AsyncSession,
    is_user_id: str | None = None,
    fs_user_id: str | None = None,
    unassigned: bool = False,
    statuses: Sequence[HandoffStatus] = (),
    limit: int | None = 10,
) -> list[HandoffSnapshot]:
    """The newest toss-ups matching every filter given (an IS rep's, an FS rep's, by status).

    `unassigned` adds the toss-ups nobody is assigned to (to `fs_user_id`'s, or alone).
    """
    query = select(Handoff)
    if is_user_id is not None:
        query = query.where(Handoff.is_user_id == is_user_id)
    if fs_user_id is not None and unassigned:
        query = query.where(or_(Handoff.fs_user_id == fs_user_id, Handoff.fs_user_id.is_(None)))
    elif fs_user_id is not None:
        query = query.where(Handoff.fs_user_id == fs_user_id)
    elif unassigned:
        query = query.where(Handoff.fs_user_id.is_(None))
    if statuses:
        query = query.where(Handoff.status.in_([HandoffStatus(s).value for s in statuses]))
    query = query.order_by(Handoff.created_at.desc(), Handoff.id.desc())
    if limit is not None:
        query = query.limit(limit)
    async with own_transaction(session):
        rows = await session.scalars(query.execution_options(populate_existing=True))
        return [to_snapshot(row) for row in rows]


# ---------------------------------------------------------------- the duplicate warning


async def find_open_duplicate(
    *, session: AsyncSession, key: str, since: datetime, exclude_id: int | None = None
) -> HandoffSnapshot | None:
    """The newest toss-up of company `key` created since `since` that is still open (not returned, no
    lost outcome), other than `exclude_id`; None for an empty key. One index range on
    (company_key, created_at), never a scan of every toss-up."""
    if not key:
        return None
    query = _OPEN_OF_COMPANY if exclude_id is None else _OPEN_OF_COMPANY_BUT
    async with own_transaction(session):
        row = await session.scalar(query, {"key": key, "since": since, "exclude_id": exclude_id})
        return to_snapshot(row) if row is not None else None


def _open_of_company(*, excluding: bool) -> Select[tuple[Handoff]]:
    lost = exists().where(
        OutcomeRecord.handoff_id == Handoff.id, OutcomeRecord.kind == OutcomeKind.LOST.value
    )
    query = select(Handoff).where(
        Handoff.company_key == bindparam("key"),
        Handoff.created_at >= bindparam("since"),
        Handoff.status != HandoffStatus.RETURNED,
        ~lost,
    )
    if excluding:
        query = query.where(Handoff.id != bindparam("exclude_id"))
    query = query.order_by(Handoff.created_at.desc(), Handoff.id.desc()).limit(1)
    return query.execution_options(populate_existing=True)


_OPEN_OF_COMPANY = _open_of_company(excluding=False)
_OPEN_OF_COMPANY_BUT = _open_of_company(excluding=True)


async def warn_of_duplicate(
    *, session: AsyncSession, submission_key: str, key: str, duplicate_of_id: int, now: datetime
) -> None:
    """Remember that the modal `submission_key` was warned of `duplicate_of_id` for company `key` (the
    same modal warned again, for another company, is remembered for that one); commits."""
    values = {"company_key": key, "duplicate_of_id": duplicate_of_id, "warned_at": now}
    try:
        async with own_transaction(session):
            # A modal warned and then closed is never submitted again: its warning goes after a day.
            await session.execute(
                delete(DuplicateWarning).where(DuplicateWarning.warned_at < now - WARNING_KEPT)
            )
            changed = await session.execute(
                update(DuplicateWarning)
                .where(DuplicateWarning.submission_key == submission_key)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if rowcount(changed) == 0:
                session.add(DuplicateWarning(submission_key=submission_key, **values))
                await session.flush()
    except IntegrityError:  # the same modal submitted twice at once: the other request remembered it
        return


async def duplicate_confirmed(*, session: AsyncSession, submission_key: str, key: str) -> bool:
    """Whether the modal `submission_key` was warned before for this same company: submitting it again
    confirms the toss-up."""
    async with own_transaction(session):
        found = await session.scalar(
            select(DuplicateWarning.submission_key).where(
                DuplicateWarning.submission_key == submission_key, DuplicateWarning.company_key == key
            )
        )
    return found is not None


# ---------------------------------------------------------------- editing a memo


@dataclass(frozen=True)
class MemoEdit:
    """A new version of a pending toss-up's memo, checked like a submission."""

    memo: HandoffMemo
    criteria: CriteriaEvaluation
    score: ScoreBreakdown
    override_reason: str | None
    edits_before: int  # the edit count the editor saw: a concurrent edit makes this one "conflict"
    detail: dict[str, Any]  # the MEMO_EDITED event's detail (both versions, what changed)
    duplicate_of_id: int | None = None  # a company changed to one with an open toss-up, confirmed


@dataclass(frozen=True)
class EditResult:
    outcome: Literal["applied", "repeat", "refused"]
    handoff: HandoffSnapshot | None  # as it is now (None when not found)


class _EditRefused(Exception):
    """Rolls back the outbox rows of an edit that did not apply."""


async def edit_handoff(
    *,
    session: AsyncSession,
    handoff_id: int,
    actor_id: str,
    edit: MemoEdit,
    outbox: Sequence[NewOutbox] = (),
    now: datetime,
) -> EditResult:
    """Store a new version of the memo, its MEMO_EDITED event and outbox rows, in one transaction.

    A conditional UPDATE (this IS rep's, still pending, not edited meanwhile) decides: "applied"; the
    same edit again (its outbox rows exist: a double submit, a Slack retry) is a "repeat" that writes
    nothing; otherwise "refused", nothing written, and the handoff as it is now for the caller to say why.
    """
    score_total = edit.score.total
    try:
        async with own_transaction(session):
            if await is_repeat(session, outbox, handoff_id=handoff_id, now=now):
                return EditResult(
                    outcome="repeat", handoff=_snapshot_or_none(await _load(session, handoff_id))
                )
            result = await session.execute(
                update(Handoff)
                .where(
                    Handoff.id == handoff_id,
                    Handoff.status == HandoffStatus.PENDING,
                    Handoff.is_user_id == actor_id,
                    Handoff.edit_count == edit.edits_before,
                )
                .values(
                    memo=edit.memo.model_dump(mode="json"),
                    company=(edit.memo.company or "")[:COMPANY_MAX],
                    company_key=company_key(edit.memo.company),
                    meeting_at=edit.memo.meeting_at,
                    criteria=edit.criteria.to_json(),
                    criteria_passed=edit.criteria.passed,
                    override_reason=edit.override_reason,
                    score=edit.score.to_json(),
                    score_total=score_total,  # FS has not rated yet: pending
                    memo_score=score_total,
                    duplicate_of_id=edit.duplicate_of_id,
                    edit_count=Handoff.edit_count + 1,
                    edited_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if rowcount(result) != 1:
                raise _EditRefused
            session.add(
                HandoffEvent(
                    handoff_id=handoff_id,
                    kind=EventKind.MEMO_EDITED,
                    actor_user_id=actor_id,
                    at=now,
                    detail=edit.detail,
                )
            )
            await session.flush()
            snapshot = _snapshot_or_none(await _load(session, handoff_id))
    except _EditRefused:
        return EditResult(
            outcome="refused", handoff=await get_handoff(session=session, handoff_id=handoff_id)
        )
    return EditResult(outcome="applied", handoff=snapshot)


def _snapshot_or_none(row: Handoff | None) -> HandoffSnapshot | None:
    return to_snapshot(row) if row is not None else None


async def list_memo_versions(*, session: AsyncSession, handoff_id: int) -> list[EventRecord]:
    """The toss-up's MEMO_EDITED events, oldest first (each holds the version before and after)."""
    return await list_events(session=session, handoff_id=handoff_id, kind=EventKind.MEMO_EDITED)
