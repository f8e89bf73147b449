"""Routing state in the database, on SQLite and PostgreSQL: round-robin turns and FS absences."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from store.db import make_engine, make_sessionmaker
from store.routing import (
    NO_TURN_YET,
    Turn,
    absent_users,
    clear_absence,
    last_turn,
    list_absences,
    set_absence,
    take_numbered_turn,
    take_turn,
)
from store.routing_models import FsAbsence, RoutingTurn
from tests.db_fixtures import drop_database, fresh_database

Factory = async_sessionmaker[AsyncSession]

NOW = datetime(2025, 11, 25, 3, 0, tzinfo=UTC)
TODAY = date(2025, 11, 25)
POOL = ["UA01", "UB02", "UC03"]


def engine_of(factory: Factory) -> AsyncEngine:
    engine = factory.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    return engine


async def turn(
    factory: Factory,
    rule: str = "enterprise-east",
    pool: Sequence[str] = POOL,
    unavailable: set[str] | None = None,
) -> str | None:
    async with factory() as session:
        return await take_turn(
            session=session, rule=rule, pool=pool, unavailable=unavailable or set(), now=NOW
        )


# --- round-robin ------------------------------------------------------------------------------------


async def test_take_turn_cycles_through_the_pool(session_factory: Factory) -> None:
    assert [await turn(session_factory) for _ in range(7)] == [*POOL, *POOL, "UA01"]
    async with session_factory() as session:
        assert await last_turn(session=session, rule="enterprise-east") == 6
        row = await session.scalar(select(RoutingTurn))
    assert row is not None and row.turn == 6 and row.updated_at == NOW


async def test_rules_have_their_own_turns(session_factory: Factory) -> None:
    assert await turn(session_factory, rule="a") == "UA01"
    assert await turn(session_factory, rule="a") == "UB02"
    assert await turn(session_factory, rule="b") == "UA01"
    assert await turn(session_factory, rule="a") == "UC03"
    async with session_factory() as session:
        assert await last_turn(session=session, rule="never") == NO_TURN_YET


async def test_take_turn_skips_unavailable_reps(session_factory: Factory) -> None:
    away = {"UB02"}
    got = [await turn(session_factory, unavailable=away) for _ in range(6)]
    assert got == ["UA01", "UC03"] * 3
    # back again: the cycle goes on where it was, and everyone is in it
    assert [await turn(session_factory) for _ in range(3)] == POOL


async def test_take_turn_when_everyone_is_away(session_factory: Factory) -> None:
    assert await turn(session_factory) == "UA01"
    assert await turn(session_factory, unavailable=set(POOL)) is None
    async with session_factory() as session:
        assert await last_turn(session=session, rule="enterprise-east") == 0  # nothing used up
        assert await take_turn(session=session, rule="empty", pool=[], unavailable=set(), now=NOW) is None
    assert await turn(session_factory) == "UB02"


async def test_numbered_turns(session_factory: Factory) -> None:
    async with session_factory() as session:
        first = await take_numbered_turn(session=session, rule="r", pool=POOL, unavailable={"UA01"}, now=NOW)
        second = await take_numbered_turn(session=session, rule="r", pool=POOL, unavailable=set(), now=NOW)
    assert (first, second) == (Turn("UB02", 1), Turn("UC03", 2))


async def test_take_turn_survives_a_restart(session_factory: Factory) -> None:
    assert [await turn(session_factory) for _ in range(2)] == ["UA01", "UB02"]
    await engine_of(session_factory).dispose()
    restarted = make_engine(engine_of(session_factory).url)  # a new process on the same database
    try:
        assert [await turn(make_sessionmaker(restarted)) for _ in range(4)] == ["UC03", *POOL]
    finally:
        await restarted.dispose()


async def test_take_turn_rolls_back_on_error(session_factory: Factory) -> None:
    assert await turn(session_factory) == "UA01"
    async with session_factory() as session:
        with pytest.raises(StatementError, match="naive datetime"):
            await take_turn(
                session=session,
                rule="enterprise-east",
                pool=POOL,
                unavailable=set(),
                now=datetime(2025, 1, 1),
            )  # naive datetime: refused, nothing handed out
    assert await turn(session_factory) == "UB02"


async def test_concurrent_turns_in_one_process(session_factory: Factory) -> None:
    got = await asyncio.gather(*(turn(session_factory, rule="race") for _ in range(12)))
    assert Counter(got) == {"UA01": 4, "UB02": 4, "UC03": 4}
    async with session_factory() as session:
        assert await last_turn(session=session, rule="race") == 11


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
@pytest.mark.parametrize("unavailable", [frozenset(), frozenset({"UB02"})])
async def test_two_replicas_never_hand_out_the_same_turn(
    kind: str, unavailable: frozenset[str], tmp_path: Path
) -> None:
    """Two replicas (own engine, own event loop, own thread) race on the same rule, which does not
    exist yet: every turn number is handed out once, and the available reps get equal shares."""
    url = await fresh_database(kind, tmp_path)
    pool = ["UA01", "UB02", "UC03", "UD04"]
    per_replica = 40

    async def replica() -> list[Turn]:
        engine = make_engine(url)
        factory = make_sessionmaker(engine)

        async def one() -> Turn:
            async with factory() as session:
                got = await take_numbered_turn(
                    session=session, rule="enterprise-east", pool=pool, unavailable=unavailable, now=NOW
                )
            assert got is not None
            return got

        try:
            return list(await asyncio.gather(*(one() for _ in range(per_replica))))
        finally:
            await engine.dispose()

    try:
        results = await asyncio.gather(
            asyncio.to_thread(asyncio.run, replica()), asyncio.to_thread(asyncio.run, replica())
        )
        turns = [t for result in results for t in result]
        numbers = [t.number for t in turns]
        assert len(turns) == 2 * per_replica
        assert len(set(numbers)) == len(numbers), "a turn was handed out twice"
        assert all(pool[t.number % len(pool)] == t.member for t in turns)
        counts = Counter(t.member for t in turns)
        assert set(counts) == set(pool) - unavailable
        assert max(counts.values()) - min(counts.values()) <= 1
        # without absences the turns are exactly 0..N-1: none lost either
        if not unavailable:
            assert sorted(numbers) == list(range(2 * per_replica))
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as session:
                assert await last_turn(session=session, rule="enterprise-east") == max(numbers)
                assert len((await session.scalars(select(RoutingTurn))).all()) == 1
        finally:
            await engine.dispose()
    finally:
        await drop_database(url)


# --- absences ---------------------------------------------------------------------------------------


async def test_set_absence_upserts(session_factory: Factory) -> None:
    async with session_factory() as session:
        await set_absence(session=session, user_id="UA01", until=date(2025, 11, 28), set_by="UA01", now=NOW)
        await set_absence(session=session, user_id="UB02", until=TODAY, set_by="UMGR", now=NOW)
        later = NOW + timedelta(hours=1)
        await set_absence(session=session, user_id="UA01", until=date(2025, 12, 5), set_by="UMGR", now=later)
        assert await list_absences(session=session, today=TODAY) == [
            ("UB02", TODAY),
            ("UA01", date(2025, 12, 5)),
        ]
        rows = (await session.scalars(select(FsAbsence).order_by(FsAbsence.user_id))).all()
    assert [(r.user_id, r.until, r.set_by, r.created_at) for r in rows] == [
        ("UA01", date(2025, 12, 5), "UMGR", later),
        ("UB02", TODAY, "UMGR", NOW),
    ]


async def test_absences_expire_after_their_last_day(session_factory: Factory) -> None:
    async with session_factory() as session:
        await set_absence(session=session, user_id="UA01", until=TODAY, set_by="UA01", now=NOW)
        await set_absence(session=session, user_id="UB02", until=date(2025, 12, 1), set_by="UB02", now=NOW)
        assert await absent_users(session=session, today=TODAY) == {"UA01", "UB02"}
        tomorrow = TODAY + timedelta(days=1)
        assert await absent_users(session=session, today=tomorrow) == {"UB02"}
        assert await list_absences(session=session, today=tomorrow) == [("UB02", date(2025, 12, 1))]
        assert await absent_users(session=session, today=date(2025, 12, 2)) == frozenset()
        assert await list_absences(session=session, today=date(2025, 12, 2)) == []


async def test_clear_absence(session_factory: Factory) -> None:
    async with session_factory() as session:
        await set_absence(session=session, user_id="UA01", until=TODAY, set_by="UA01", now=NOW)
        assert await clear_absence(session=session, user_id="UA01") is True
        assert await clear_absence(session=session, user_id="UA01") is False
        assert await clear_absence(session=session, user_id="UZZZ") is False
        assert await absent_users(session=session, today=TODAY) == frozenset()


async def test_absent_reps_are_skipped_by_take_turn(session_factory: Factory) -> None:
    async with session_factory() as session:
        await set_absence(session=session, user_id="UA01", until=TODAY, set_by="UA01", now=NOW)
        away = set(await absent_users(session=session, today=TODAY))
    assert [await turn(session_factory, unavailable=away) for _ in range(3)] == ["UB02", "UC03", "UB02"]
