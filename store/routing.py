"""Routing state in the database: round-robin turns per rule, and FS reps marked away.

Every function commits its own transaction. `take_turn` is atomic across processes: several replicas
on one PostgreSQL database (or one SQLite file) never hand out the same turn, so round-robin stays fair
across restarts and replicas. The rule logic itself is pure, in `bot.domain.routing`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bot.domain.routing import next_in_pool
from store._tx import own_transaction, rowcount
from store.routing_models import FsAbsence, RoutingTurn

__all__ = [
    "NO_TURN_YET",
    "Turn",
    "absent_users",
    "clear_absence",
    "last_turn",
    "list_absences",
    "set_absence",
    "take_numbered_turn",
    "take_turn",
]

NO_TURN_YET = -1  # `routing_turns.turn` of a rule that never handed out a turn: the first turn is 0


@dataclass(frozen=True)
class Turn:
    member: str
    number: int  # the turn used: counted per rule from 0, skipped turns included


def _insert(session: AsyncSession | Session) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"routing store not implemented for {dialect}")  # pragma: no cover


async def take_numbered_turn(
    *,
    session: AsyncSession,
    rule: str,
    pool: Sequence[str],
    unavailable: Collection[str],
    now: datetime,
) -> Turn | None:
    """Take the rule's next round-robin turn and commit: the next member of `pool` not `unavailable`.

    One transaction: `INSERT … ON CONFLICT DO NOTHING` creates the rule's row if missing (two replicas
    creating it at once both go on, neither fails), then the row is read `FOR UPDATE` and the turn used
    is written back. PostgreSQL: the row lock makes concurrent callers wait for each other. SQLite: the
    INSERT takes the database's write lock first, so the whole step runs alone (other writers wait on
    busy_timeout). None, with nothing changed, when the pool is empty or every member is unavailable.
    """
    if not pool:
        return None
    async with own_transaction(session):
        return await take_turn_in_transaction(
            session=session, rule=rule, pool=pool, unavailable=unavailable, now=now
        )


async def take_turn_in_transaction(
    *,
    session: AsyncSession,
    rule: str,
    pool: Sequence[str],
    unavailable: Collection[str],
    now: datetime,
) -> Turn | None:
    """`take_numbered_turn` inside the caller's transaction (no commit): a toss-up stored together with
    its turn, so a refused or doubled submission never uses one up."""
    if not pool:
        return None
    return await session.run_sync(
        lambda sync_session: take_turn_now(
            sync_session, rule=rule, pool=pool, unavailable=unavailable, now=now
        )
    )


def take_turn_now(
    session: Session, *, rule: str, pool: Sequence[str], unavailable: Collection[str], now: datetime
) -> Turn | None:
    """`take_turn_in_transaction` for a synchronous session (store.one_trip)."""
    if not pool:
        return None
    session.execute(
        _insert(session)(RoutingTurn)
        .values(rule=rule, turn=NO_TURN_YET, updated_at=now)
        .on_conflict_do_nothing(index_elements=["rule"])
    )
    last = session.scalar(select(RoutingTurn.turn).where(RoutingTurn.rule == rule).with_for_update())
    if last is None:  # pragma: no cover - the row was created above and is never deleted
        raise RuntimeError(f"routing_turns row for rule {rule!r} vanished")
    step = next_in_pool(pool, last_turn=last, unavailable=unavailable)
    if step is None:
        return None
    member, number = step
    # Conditional on the turn read: under the lock it always applies; if it ever did not, the
    # transaction is rolled back rather than handing out a turn twice.
    result = session.execute(
        update(RoutingTurn)
        .where(RoutingTurn.rule == rule, RoutingTurn.turn == last)
        .values(turn=number, updated_at=now)
    )
    if rowcount(result) != 1:  # pragma: no cover - impossible under the row/database lock
        raise RuntimeError(f"round-robin turn of rule {rule!r} changed under its lock")
    return Turn(member=member, number=number)


async def take_turn(
    *,
    session: AsyncSession,
    rule: str,
    pool: Sequence[str],
    unavailable: Collection[str],
    now: datetime,
) -> str | None:
    """The FS rep whose round-robin turn it is for `rule` (see `take_numbered_turn`); None if nobody."""
    turn = await take_numbered_turn(session=session, rule=rule, pool=pool, unavailable=unavailable, now=now)
    return turn.member if turn is not None else None


async def last_turn(*, session: AsyncSession, rule: str) -> int:
    """The last turn the rule handed out (`NO_TURN_YET` if none); for diagnostics and tests."""
    async with own_transaction(session):
        turn = await session.scalar(select(RoutingTurn.turn).where(RoutingTurn.rule == rule))
    return NO_TURN_YET if turn is None else turn


async def set_absence(
    *, session: AsyncSession, user_id: str, until: date, set_by: str, now: datetime
) -> None:
    """Mark `user_id` away up to and including `until` (replacing any absence set before), and commit."""
    values = {"user_id": user_id, "until": until, "set_by": set_by, "created_at": now}
    statement = _insert(session)(FsAbsence).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["user_id"],
        set_={"until": until, "set_by": set_by, "created_at": now},
    )
    async with own_transaction(session):
        await session.execute(statement)


async def clear_absence(*, session: AsyncSession, user_id: str) -> bool:
    """Mark `user_id` back; False when no absence was set. Commits."""
    async with own_transaction(session):
        result = await session.execute(delete(FsAbsence).where(FsAbsence.user_id == user_id))
    return rowcount(result) > 0


async def absent_users(*, session: AsyncSession, today: date) -> frozenset[str]:
    """Reps away on `today` (their `until` is today or later)."""
    async with own_transaction(session):
        users = (await session.scalars(select(FsAbsence.user_id).where(FsAbsence.until >= today))).all()
    return frozenset(users)


async def list_absences(*, session: AsyncSession, today: date) -> list[tuple[str, date]]:
    """Current absences `(user_id, until)`, soonest back first; past ones are left out."""
    async with own_transaction(session):
        rows = (
            await session.execute(
                select(FsAbsence.user_id, FsAbsence.until)
                .where(FsAbsence.until >= today)
                .order_by(FsAbsence.until, FsAbsence.user_id)
            )
        ).all()
    return [(user_id, until) for user_id, until in rows]
