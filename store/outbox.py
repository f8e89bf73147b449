"""The outbox: Slack posts still to make.

A handler writes the rows in the same transaction as the change they announce; a background worker
claims due rows under a lease, posts them and marks them done or failed. A Slack outage delays posts
but never loses them, and the unique `dedupe_key` keeps anything from being enqueued twice.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Insert, Select, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from store._tx import own_transaction, rowcount
from store.models import OutboxMessage
from store.one_trip import run_in_one_trip

LAST_ERROR_MAX = 4000


@dataclass(frozen=True)
class NewOutbox:
    """A Slack post to make. Enqueueing a `dedupe_key` that exists already does nothing."""

    kind: str
    dedupe_key: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OutboxItem:
    id: int
    handoff_id: int | None
    kind: str
    dedupe_key: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    in_doubt: bool = False  # an earlier attempt may have posted: look before sending again


async def add_outbox_rows(
    session: AsyncSession, messages: Sequence[NewOutbox], *, handoff_id: int | None, now: datetime
) -> int:
    """`insert_outbox_rows` for an async session, in its current transaction. Does not commit."""
    if not messages:
        return 0
    return await session.run_sync(insert_outbox_rows, messages, handoff_id=handoff_id, now=now)


def insert_outbox_rows(
    session: Session, messages: Sequence[NewOutbox], *, handoff_id: int | None, now: datetime
) -> int:
    """Insert outbox rows in the session's current transaction, skipping dedupe keys already present.

    One `INSERT … VALUES (…), (…) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id` on both backends
    (SQLite 3.35+), so a duplicate never aborts the surrounding transaction. Returns how many rows were
    new. Does not commit.
    """
    if not messages:
        return 0
    rows = [
        {
            "handoff_id": handoff_id,
            "kind": message.kind,
            "dedupe_key": message.dedupe_key,
            "payload": dict(message.payload),
            "created_at": now,
            "next_attempt_at": now,
            "attempts": 0,
        }
        for message in messages
    ]
    return len(session.execute(_insert_outbox_rows(session.get_bind().dialect.name), rows).all())


@functools.cache
def _insert_outbox_rows(dialect: str) -> Insert:
    """Built once per dialect. Executed with one parameter set per row, SQLAlchemy sends it as ONE
    multi-row INSERT (its "insertmanyvalues": a toss-up's three posts were three round trips through the
    one writer), and compiles it once: a statement built with a VALUES row per message was compiled anew
    every time (SQLAlchemy cannot cache a multi-row `values()`)."""
    if dialect == "postgresql":
        insert = postgresql.insert
    elif dialect == "sqlite":
        insert = sqlite.insert
    else:  # pragma: no cover - make_engine refuses other databases
        raise NotImplementedError(f"outbox insert not implemented for {dialect}")
    table = OutboxMessage.__table__
    return insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.id)


async def is_repeat(
    session: AsyncSession, messages: Sequence[NewOutbox], *, handoff_id: int | None, now: datetime
) -> bool:
    """Insert a change's outbox rows first; True when every one existed already: the same request again
    (a double click, a Slack retry), so the caller writes nothing else. Does not commit."""
    inserted = await add_outbox_rows(session, messages, handoff_id=handoff_id, now=now)
    return bool(messages) and inserted == 0


async def enqueue(
    *,
    session: AsyncSession,
    messages: Sequence[NewOutbox],
    handoff_id: int | None,
    now: datetime,
) -> None:
    """Add messages to the outbox and commit. Keys already enqueued (even done ones) are ignored."""
    async with own_transaction(session):
        await add_outbox_rows(session, messages, handoff_id=handoff_id, now=now)


# A drain's statements are built once, with bound parameters (as store.handoffs does): building them
# anew for every claim and every post cost more than running them. On the table, not the mapped class:
# a claim, a post's record and its mark-done then skip the ORM's statement handling (no objects here).
_OUTBOX = OutboxMessage.__table__
_DUE_NOW: ColumnElement[bool] = and_(  # due at the bound `now`
    _OUTBOX.c.done_at.is_(None),
    _OUTBOX.c.given_up_at.is_(None),
    _OUTBOX.c.next_attempt_at <= bindparam("now"),
    or_(_OUTBOX.c.lease_until.is_(None), _OUTBOX.c.lease_until < bindparam("now")),
)
_OF_KINDS = _OUTBOX.c.kind.in_(bindparam("kinds", expanding=True))
_CLAIM_ONE = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("item_id"), _DUE_NOW)
    # A lease still named here ran out on a worker that never finished: it may have posted before it
    # died, so this attempt must look first.
    .values(
        lease_owner=bindparam("owner"),
        lease_until=bindparam("until"),
        in_doubt=or_(_OUTBOX.c.in_doubt, _OUTBOX.c.lease_owner.is_not(None)),
    )
)
# The other due rows of the toss-ups a batch took rows of, past its last row: rows are locked in id order
# (see claim_due), and a toss-up's rows are enqueued together, so what the batch was cut from lies past it.
_SIBLINGS = (
    select(_OUTBOX.c.id)
    .where(
        _DUE_NOW,
        _OUTBOX.c.id > bindparam("after"),
        _OUTBOX.c.handoff_id.in_(bindparam("handoff_ids", expanding=True)),
        _OUTBOX.c.id.not_in(bindparam("exclude_ids", expanding=True)),
    )
    .order_by(_OUTBOX.c.id)
)
_HANDOFFS_OF = select(_OUTBOX.c.handoff_id).where(
    _OUTBOX.c.id.in_(bindparam("ids", expanding=True)), _OUTBOX.c.handoff_id.is_not(None)
)
_CLAIMED = select(_OUTBOX).where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True))).order_by(_OUTBOX.c.id)
_MARK_DONE = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("item_id"), _OUTBOX.c.done_at.is_(None))
    .values(done_at=bindparam("now"), lease_owner=None, lease_until=None)
)
_CANDIDATES: dict[tuple[bool, bool, bool, bool], Select[tuple[int]]] = {}


def _candidates(
    *, of_handoff: bool, of_kinds: bool, excluding: bool, excluding_handoffs: bool
) -> Select[tuple[int]]:
    """Due rows after `after`, in id order, up to `limit` (one statement per combination of filters)."""
    shape = (of_handoff, of_kinds, excluding, excluding_handoffs)
    if (statement := _CANDIDATES.get(shape)) is None:
        statement = select(_OUTBOX.c.id).where(_DUE_NOW, _OUTBOX.c.id > bindparam("after"))
        if of_handoff:
            statement = statement.where(_OUTBOX.c.handoff_id == bindparam("handoff_id"))
        if of_kinds:
            statement = statement.where(_OF_KINDS)
        if excluding:
            statement = statement.where(_OUTBOX.c.id.not_in(bindparam("exclude_ids", expanding=True)))
        if excluding_handoffs:
            statement = statement.where(
                or_(
                    _OUTBOX.c.handoff_id.is_(None),
                    _OUTBOX.c.handoff_id.not_in(bindparam("exclude_handoff_ids", expanding=True)),
                )
            )
        statement = statement.order_by(_OUTBOX.c.id).limit(bindparam("limit"))
        _CANDIDATES[shape] = statement
    return statement


def _item(row: Any) -> OutboxItem:  # a row of the outbox table (or an OutboxMessage)
    return OutboxItem(
        id=row.id,
        handoff_id=row.handoff_id,
        kind=row.kind,
        dedupe_key=row.dedupe_key,
        payload=dict(row.payload or {}),
        attempts=row.attempts,
        created_at=row.created_at,
        in_doubt=bool(row.in_doubt),
    )


async def enqueue_many(
    *, session: AsyncSession, messages: Mapping[int | None, Sequence[NewOutbox]], now: datetime
) -> int:
    """Add several toss-ups' messages (toss-up id → its messages) in one transaction; keys already
    enqueued are skipped. Returns how many rows were new."""
    async with own_transaction(session):
        return sum(
            [
                await add_outbox_rows(session, rows, handoff_id=handoff_id, now=now)
                for handoff_id, rows in messages.items()
            ]
        )


async def claim_due(
    *,
    session: AsyncSession,
    now: datetime,
    owner: str,
    lease: timedelta,
    limit: int = 20,
    handoff_id: int | None = None,
    kinds: Sequence[str] | None = None,
    exclude_ids: Collection[int] = (),
    exclude_handoff_ids: Collection[int] = (),
) -> list[OutboxItem]:
    """Lease up to `limit` due messages to `owner` until `now + lease`, oldest first, and commit; then the
    other due rows of the toss-ups those are of, beyond `limit` (a handful per toss-up): a batch never ends
    inside a toss-up, whose confirmation another process's drain would otherwise take and find the notice
    not posted yet (it then waits for the retry loop's next poll).

    Due: not done, not given up, `next_attempt_at <= now` and no live lease. Each candidate is taken by
    a conditional UPDATE that re-checks those conditions; only rows it changed are returned, so two
    workers never get the same message, and one that loses a row to another goes on to later rows.
    Rows are locked in id order, so concurrent claimers on PostgreSQL wait for each other instead of
    deadlocking. `handoff_id` restricts to one toss-up, `kinds` to those kinds of post. `exclude_ids`:
    rows the caller is sending right now, never taken again by it even when their lease looks run out
    (a send slower than the lease, or a clock that jumped): that would send the same message twice.
    `exclude_handoff_ids`: toss-ups the caller's process is sending rows of right now, left alone whole
    (their rows that became due since, a retry's, say, wait for that send), for the same reason.
    """
    if limit <= 0:
        return []
    candidates = _candidates(
        of_handoff=handoff_id is not None,
        of_kinds=kinds is not None,
        excluding=bool(exclude_ids),
        excluding_handoffs=bool(exclude_handoff_ids),
    )
    filters = {
        "now": now,
        "handoff_id": handoff_id,
        "kinds": list(kinds or ()),
        "exclude_ids": list(exclude_ids),
        "exclude_handoff_ids": list(exclude_handoff_ids),
    }

    def claim(sync: Session) -> list[OutboxItem]:
        claimed: list[int] = []
        after = 0  # ids are tried in ascending order; a lost race moves on to the next candidates
        while len(claimed) < limit:
            ids = list(sync.scalars(candidates, {**filters, "after": after, "limit": limit - len(claimed)}))
            if not ids:
                break
            for item_id in ids:
                result = sync.execute(
                    _CLAIM_ONE, {"item_id": item_id, "now": now, "owner": owner, "until": now + lease}
                )
                if rowcount(result) == 1:
                    claimed.append(item_id)
            after = ids[-1]
        if not claimed:
            return []
        if handoff_id is None and kinds is None:  # (a drain of one toss-up or some kinds takes no more)
            handoffs = list(sync.scalars(_HANDOFFS_OF, {"ids": claimed}))
            of_them = {**filters, "after": after, "handoff_ids": handoffs}
            for item_id in list(sync.scalars(_SIBLINGS, of_them)) if handoffs else []:
                result = sync.execute(
                    _CLAIM_ONE, {"item_id": item_id, "now": now, "owner": owner, "until": now + lease}
                )
                if rowcount(result) == 1:
                    claimed.append(item_id)
        return [_item(row) for row in sync.execute(_CLAIMED, {"ids": claimed})]

    return await run_in_one_trip(session, claim)


async def release_leases(*, session: AsyncSession, item_ids: Sequence[int], owner: str) -> int:
    """Give back rows `owner` leased and did not try (not in doubt: nothing was sent); returns how many."""
    if not item_ids:
        return 0
    async with own_transaction(session):
        result = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(list(item_ids)),
                OutboxMessage.lease_owner == owner,
                OutboxMessage.done_at.is_(None),
            )
            .values(lease_owner=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result)


async def mark_done(*, session: AsyncSession, item_id: int, owner: str, now: datetime) -> bool:
    """Record that the message was posted and release its lease; commits.

    Applies whatever lease the row holds now: the post happened, so even a worker whose lease expired
    records it (and stops a second worker from posting again). Returns False if it was done already
    (or does not exist). `owner` is accepted for symmetry and logging by callers.
    """
    del owner  # the post happened; see the docstring
    return await run_in_one_trip(
        session, lambda sync: mark_done_in_transaction(sync, item_id=item_id, now=now)
    )


def mark_done_in_transaction(session: Session, *, item_id: int, now: datetime) -> bool:
    """`mark_done` inside the caller's transaction (what the post left behind is recorded in the same
    commit); does not commit."""
    return rowcount(session.execute(_MARK_DONE, {"item_id": item_id, "now": now})) == 1


async def mark_failed(
    *,
    session: AsyncSession,
    item_id: int,
    owner: str,
    now: datetime,
    error: str,
    retry_at: datetime | None,
    in_doubt: bool = False,
) -> bool:
    """Record a failed attempt and release the lease; commits.

    `retry_at` schedules the next attempt; None gives the message up (`given_up_at = now`). `in_doubt`:
    the attempt may have reached Slack (a timeout, a reset connection), so the next one looks first.
    Only the current lease holder can fail a message: a worker whose lease expired and was re-claimed by
    another does not clobber that worker's state (returns False).
    """
    values: dict[str, Any] = {
        "attempts": OutboxMessage.attempts + 1,
        "last_error": error[:LAST_ERROR_MAX],
        "lease_owner": None,
        "lease_until": None,
    }
    if in_doubt:
        values["in_doubt"] = True
    if retry_at is None:
        values["given_up_at"] = now
    else:
        values["next_attempt_at"] = retry_at
    async with own_transaction(session):
        result = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == item_id,
                OutboxMessage.lease_owner == owner,
                OutboxMessage.done_at.is_(None),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    return rowcount(result) == 1


async def postpone(*, session: AsyncSession, item_id: int, owner: str, until: datetime) -> bool:
    """Give a claimed message back untried, due again at `until` (Slack asked this process to wait):
    no attempt is counted and nothing is logged as an error. Commits."""
    async with own_transaction(session):
        result = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == item_id,
                OutboxMessage.lease_owner == owner,
                OutboxMessage.done_at.is_(None),
            )
            .values(next_attempt_at=until, lease_owner=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
    return rowcount(result) == 1


async def done_keys(*, session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """Which of these dedupe keys were sent already (done): lets a post wait for the one before it."""
    if not keys:
        return set()
    async with own_transaction(session):
        found = await session.scalars(
            select(OutboxMessage.dedupe_key).where(
                OutboxMessage.dedupe_key.in_(keys), OutboxMessage.done_at.is_not(None)
            )
        )
        return set(found)


_KEY_LOOKUP_CHUNK = 500  # dedupe keys per IN (...) list: well inside every backend's parameter limit


async def queued_at(*, session: AsyncSession, keys: Sequence[str]) -> dict[str, datetime]:
    """When each of these dedupe keys was enqueued (its `created_at`); keys never enqueued are absent.

    Lets a periodic job count from when an earlier post was queued (done or not). Ends its transaction.
    """
    unique = list(dict.fromkeys(keys))
    if not unique:
        return {}
    found: dict[str, datetime] = {}
    async with own_transaction(session):
        for start in range(0, len(unique), _KEY_LOOKUP_CHUNK):
            rows = await session.execute(
                select(OutboxMessage.dedupe_key, OutboxMessage.created_at).where(
                    OutboxMessage.dedupe_key.in_(unique[start : start + _KEY_LOOKUP_CHUNK])
                )
            )
            found.update({key: at for key, at in rows})
    return found


async def give_up_waiting(
    *, session: AsyncSession, handoff_id: int, kinds: Sequence[str], now: datetime, error: str
) -> int:
    """Give up a toss-up's unsent messages of `kinds` (they depend on a post that will never come)."""
    async with own_transaction(session):
        result = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.handoff_id == handoff_id,
                OutboxMessage.kind.in_(list(kinds)),
                OutboxMessage.done_at.is_(None),
                OutboxMessage.given_up_at.is_(None),
            )
            .values(given_up_at=now, last_error=error[:LAST_ERROR_MAX], lease_owner=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
    return rowcount(result)


async def pending_count(*, session: AsyncSession) -> int:
    """Messages neither done nor given up (including ones waiting for a retry or leased right now)."""
    async with own_transaction(session):  # ends the read transaction: callers never sit in one
        count = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.done_at.is_(None), OutboxMessage.given_up_at.is_(None))
        )
    return int(count or 0)
