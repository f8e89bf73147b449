"""`bot.kpi_worker.period_kpis` (issue 10): a large period is read and computed in the KPI process, a small
one in a worker thread; both give exactly the KPIs `compute_kpis` / `kpis_by_rep` give, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import create_async_engine

from bot.domain.handoff import EventKind
from bot.domain.kpi import Period, PeriodKind, compute_kpis, kpis_by_rep
from bot.kpi_worker import period_kpis
from store.db import make_engine, make_sessionmaker, migrate
from store.handoffs import create_handoff, decide_handoff
from store.kpi import load_kpi_facts
from tests.test_store import new_handoff

START = datetime(2026, 11, 1, tzinfo=UTC)
PERIOD = Period(
    kind=PeriodKind.MONTH,
    start=START,
    end=datetime(2026, 12, 1, tzinfo=UTC),
    first_day=START.date(),
    last_day=datetime(2026, 11, 30).date(),
)
WINDOW = {"start": PERIOD.start, "end": PERIOD.end}


async def test_the_kpi_process_and_the_thread_give_the_same_kpis(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as session:
            for n in range(6):
                created = await create_handoff(
                    session=session, data=new_handoff(f"V-{n}"), now=START + timedelta(days=n, hours=3)
                )
                if n % 3:
                    await decide_handoff(
                        session=session,
                        handoff_id=created.handoff.id,
                        actor_id="UFS0001",
                        decision=EventKind.ACCEPTED,
                        now=START + timedelta(days=n, hours=5),
                    )
            facts = await load_kpi_facts(session=session, start=PERIOD.start, end=PERIOD.end)
        expected = (
            compute_kpis(facts, **WINDOW),
            compute_kpis(facts, user="UIS0001", **WINDOW),
            kpis_by_rep(facts, **WINDOW),
        )
        assert expected[0].toss_ups == 6 and expected[0].accepted == 4
        in_process = await period_kpis(
            sessions, period=PERIOD, window=WINDOW, user_id="UIS0001", manager=True, process_from=0
        )
        in_thread = await period_kpis(
            sessions, period=PERIOD, window=WINDOW, user_id="UIS0001", manager=True, process_from=10**9
        )
        assert in_process == expected == in_thread
        not_manager = await period_kpis(
            sessions, period=PERIOD, window=WINDOW, user_id="UIS0001", manager=False
        )
        assert not_manager == (expected[0], expected[1], None)
    finally:
        await engine.dispose()


async def test_an_in_memory_database_is_computed_in_a_thread() -> None:
    """A second process cannot open an in-memory database: the thread computes, whatever the size."""
    engine = create_async_engine("sqlite+aiosqlite://")
    try:
        await migrate(engine)
        result = await period_kpis(
            make_sessionmaker(engine),
            period=PERIOD,
            window=WINDOW,
            user_id="U1",
            manager=False,
            process_from=0,
        )
        assert result[0].toss_ups == 0 and result[2] is None
    finally:
        await engine.dispose()
