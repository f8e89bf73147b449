"""store.one_trip: a transaction of synchronous ORM code, committed in one trip to the driver (SQLite) or
through `run_sync` (PostgreSQL). Real databases, both backends."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from bot.domain.company import company_key
from bot.domain.memo import HandoffMemo
from store.db import make_engine, make_sessionmaker
from store.handoffs import SubmitResult, create_handoff, submit_handoff, warn_of_duplicate
from store.models import DuplicateWarning, Handoff, OutboxMessage
from store.one_trip import run_in_one_trip
from store.outbox import NewOutbox, insert_outbox_rows
from tests.db_fixtures import BACKENDS, drop_database, fresh_database
from tests.test_store import NOW, make_memo, new_handoff, notices

Factory = async_sessionmaker[AsyncSession]
READ = timedelta(seconds=5)  # a warning read before the modal is submitted again


async def _outbox_rows(factory: Factory) -> int:
    async with factory() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


async def test_the_work_is_committed_and_its_result_returned(session_factory: Factory) -> None:
    async with session_factory() as session:
        added = await run_in_one_trip(
            session, lambda sync: insert_outbox_rows(sync, notices("V-1"), handoff_id=None, now=NOW)
        )
    assert added == 2
    assert await _outbox_rows(session_factory) == 2


async def test_work_that_raises_leaves_nothing_written(session_factory: Factory) -> None:
    def half_then_fail(sync: Session) -> None:
        insert_outbox_rows(sync, notices("V-1"), handoff_id=None, now=NOW)
        raise RuntimeError("after the first write")

    async with session_factory() as session:
        with pytest.raises(RuntimeError):
            await run_in_one_trip(session, half_then_fail)
    assert await _outbox_rows(session_factory) == 0
    # and the connection is usable afterwards (on SQLite: the one writer, not left in a transaction)
    async with session_factory() as session:
        await run_in_one_trip(
            session, lambda sync: insert_outbox_rows(sync, notices("V-2"), handoff_id=None, now=NOW)
        )
    assert await _outbox_rows(session_factory) == 2


async def test_a_database_error_is_sqlalchemys_and_rolls_back(session_factory: Factory) -> None:
    async with session_factory() as session:
        await create_handoff(session=session, data=new_handoff("V-1"), now=NOW)

    def second_with_the_same_key(sync: Session) -> None:
        insert_outbox_rows(sync, notices("V-2"), handoff_id=None, now=NOW)
        sync.add(Handoff(**{**_columns_of_first(sync), "id": None}))
        sync.flush()

    async with session_factory() as session:
        with pytest.raises(IntegrityError):
            await run_in_one_trip(session, second_with_the_same_key)
    assert await _outbox_rows(session_factory) == 0


def _columns_of_first(sync: Session) -> dict[str, object]:
    row = sync.scalars(select(Handoff)).one()
    return {column.key: getattr(row, column.key) for column in Handoff.__mapper__.column_attrs}


async def test_on_sqlite_the_work_runs_in_the_drivers_thread_not_the_event_loops(
    session_factory: Factory,
) -> None:
    async with session_factory() as session:
        backend = session.bind.dialect.name
        ran_in = await run_in_one_trip(session, lambda _sync: threading.get_ident())
    if backend == "sqlite":
        assert ran_in != threading.get_ident()
    else:  # asyncpg: the greenlet of run_sync, on the loop's thread
        assert ran_in == threading.get_ident()


async def test_concurrent_trips_and_async_writes_share_the_one_writer_without_a_lock_error(
    session_factory: Factory,
) -> None:
    async def trip(n: int) -> None:
        async with session_factory() as session:
            await run_in_one_trip(
                session,
                lambda sync: insert_outbox_rows(
                    sync, [NewOutbox(kind="notice_dm", dedupe_key=f"trip:{n}")], handoff_id=None, now=NOW
                ),
            )

    async def submission(n: int) -> None:
        async with session_factory() as session:
            result = await create_handoff(
                session=session, data=new_handoff(f"V-{n}"), outbox=notices(f"V-{n}"), now=NOW
            )
        assert result.created

    await asyncio.gather(*(trip(n) for n in range(20)), *(submission(n) for n in range(20)))
    assert await _outbox_rows(session_factory) == 20 + 20 * 2


async def _handoffs(factory: Factory) -> int:
    async with factory() as session:
        return int(await session.scalar(select(func.count()).select_from(Handoff)) or 0)


async def test_a_submission_is_decided_in_one_transaction(session_factory: Factory) -> None:
    """submit_handoff: this view stored already → that toss-up; the company open and the modal not warned
    → nothing written; warned, then submitted again → stored as its duplicate; no company → stored."""

    async def submit(key: str, memo: HandoffMemo | None = None) -> SubmitResult:
        async with session_factory() as session:
            return await submit_handoff(
                session=session,
                data=new_handoff(key, memo),
                outbox=notices(key),
                now=NOW,
                duplicate_since=NOW,
            )

    first = await submit("V-1")
    assert first.created and first.handoff is not None and first.open_duplicate is None
    again = await submit("V-1")
    assert not again.created and again.handoff is not None and again.handoff.id == first.handoff.id
    assert await _handoffs(session_factory) == 1 and await _outbox_rows(session_factory) == 2

    other = await submit("V-2")  # the same company, open: nothing written until the modal was warned
    assert other.handoff is None and not other.created
    assert other.open_duplicate is not None and other.open_duplicate.id == first.handoff.id
    assert await _handoffs(session_factory) == 1 and await _outbox_rows(session_factory) == 2
    async with session_factory() as session:
        key = (await session.get(Handoff, first.handoff.id)).company_key  # type: ignore[union-attr]
        await warn_of_duplicate(
            session=session, submission_key="V-2", key=key, duplicate_of_id=first.handoff.id, now=NOW
        )
    assert (await submit("V-2")).open_duplicate is not None  # the same moment: a double click, not a reply
    async with session_factory() as session:  # the rep read the warning a few seconds ago
        await warn_of_duplicate(
            session=session, submission_key="V-2", key=key, duplicate_of_id=first.handoff.id, now=NOW - READ
        )
    confirmed = await submit("V-2")
    assert confirmed.created and confirmed.handoff is not None
    assert confirmed.handoff.duplicate_of_id == first.handoff.id
    async with session_factory() as session:  # the answered warning is forgotten in the same transaction
        assert await session.scalar(select(func.count()).select_from(DuplicateWarning)) == 0

    nameless = await submit("V-3", make_memo().model_copy(update={"company": None}))
    assert nameless.created and nameless.open_duplicate is None


@pytest.mark.parametrize("kind", BACKENDS)
async def test_two_replicas_submitting_the_same_warned_views_never_warn_of_their_own(
    kind: str, tmp_path: Path
) -> None:
    """A double click of a warned modal's confirmation, landing on two replicas at once: one stores the
    toss-up (and forgets the warning), the other finds it — never warns the rep of their own toss-up
    (seen in review: the second read found the first's new toss-up open and its warning gone)."""
    url = await fresh_database(kind, tmp_path)
    memo, views = make_memo(), [f"V0K{i}" for i in range(40)]
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    try:
        async with factory() as session:
            first = await submit_handoff(
                session=session, data=new_handoff("V0FIRST", memo), now=NOW, duplicate_since=NOW
            )
        assert first.created and first.handoff is not None
        for view in views:  # each modal was warned of the first: submitting it again confirms
            async with factory() as session:
                await warn_of_duplicate(
                    session=session,
                    submission_key=view,
                    key=company_key(memo.company),
                    duplicate_of_id=first.handoff.id,
                    now=NOW - READ,
                )

        async def replica() -> list[SubmitResult]:
            own = make_engine(url)  # its own engine, event loop and thread: another process's view
            try:
                results = []
                for view in views:
                    async with make_sessionmaker(own)() as session:
                        results.append(
                            await submit_handoff(
                                session=session, data=new_handoff(view, memo), now=NOW, duplicate_since=NOW
                            )
                        )
                return results
            finally:
                await own.dispose()

        a, b = await asyncio.gather(*(asyncio.to_thread(asyncio.run, replica()) for _ in range(2)))
        assert [r.open_duplicate for r in a + b] == [None] * len(a + b)
        assert [x.created + y.created for x, y in zip(a, b, strict=True)] == [1] * len(views)
        assert await _handoffs(factory) == 1 + len(views)
    finally:
        await engine.dispose()
        await drop_database(url)
