"""A transaction run in one trip to the database driver: synchronous ORM code, committed.

aiosqlite runs every SQLite call in the connection's own thread, and SQLAlchemy's adapter goes there
three or four times per statement (cursor, execute, fetch, close). Each trip is a thread wake-up and an
event-loop wake-up, ~0.2 ms on a 2-core machine: a submission's five statements spent more time
travelling than running. `run_in_one_trip` hands the whole transaction to that thread at once, as a
synchronous SQLAlchemy session on the same SQLite connection (so the one writer stays the one writer).
On PostgreSQL (asyncpg has no such thread) the same code runs through `AsyncSession.run_sync`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from store._tx import own_transaction
from store.db import json_dumps

T = TypeVar("T")

_SYNC_ENGINE = "tossup.one_trip_engine"  # key in the pooled connection's `info`: lives as long as it


async def run_in_one_trip(session: AsyncSession, work: Callable[[Session], T]) -> T:
    """`work(sync_session)` as one transaction, committed, or rolled back if it raises; its result.

    `session` must hold no transaction of its own (the work does not join one): it only says which
    database. `work` runs in the driver's thread on SQLite: it must touch nothing but the session it is
    given and plain values, and must not call back into the event loop.
    """
    if session.in_transaction():  # pragma: no cover - a programming error, not a runtime condition
        raise RuntimeError("run_in_one_trip needs a session without a transaction of its own")
    engine = session.bind
    if not isinstance(engine, AsyncEngine) or engine.dialect.driver != "aiosqlite":
        async with own_transaction(session):
            return await session.run_sync(work)
    async with engine.connect() as connection:  # the pool's turn: on the writer engine, the one writer
        pooled = await connection.get_raw_connection()
        driver = pooled.driver_connection  # aiosqlite.Connection
        sync_engine = pooled.info.get(_SYNC_ENGINE)
        if sync_engine is None:
            sync_engine = pooled.info[_SYNC_ENGINE] = _engine_on(driver._conn)
        # aiosqlite's own queue to its thread (private, stable since 0.17; tests/test_one_trip.py
        # fails loudly if it changes): the work, then COMMIT or ROLLBACK, in one trip.
        return await driver._execute(_transaction, sync_engine, work)


def _engine_on(sqlite_connection: DBAPIConnection) -> Engine:
    """A synchronous engine whose one connection is `sqlite_connection` (already set up by store.db's
    connect hook: foreign keys, busy timeout, WAL). No reset on return: the transaction ends in
    `_transaction`, and the async pool that owns the connection resets it on its own return."""
    return create_engine(
        "sqlite://",
        creator=lambda: sqlite_connection,
        poolclass=StaticPool,
        pool_reset_on_return=None,
        json_serializer=json_dumps,
    )


def _transaction(sync_engine: Engine, work: Callable[[Session], T]) -> T:
    with Session(sync_engine, expire_on_commit=False) as session, session.begin():
        return work(session)


__all__ = ["run_in_one_trip"]
