"""The KPI arithmetic of `/tossup kpi`, off the event loop: a large period in a separate process.

A year of toss-ups is tens of thousands of rows turned into facts and summed per rep: seconds of pure
Python. In a thread it still holds the interpreter lock, and every ack waits for it in turn (measured by
bench/reads.py: `/tossup` ack p99 ×12 while a year is computed in a thread). So a period of at least
`PROCESS_FROM_ROWS` toss-ups is read and computed by one KPI process (started on first use, kept for the
bot's life, "spawn": never a fork of a process running an event loop), which opens the same database
itself and hands back only the KPIs. A smaller period (or an in-memory database a second process cannot
see) is computed in a worker thread: cheaper than the hand-over, and short enough not to matter. The
monthly and quarterly reviews (bot.digests) are read and built there too from the same size
(`build_in_kpi_process`).
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain.kpi import HandoffFacts, Kpis, Period, compute_kpis, kpis_by_rep
from store.db import for_reading, make_engine, make_sessionmaker
from store.kpi import load_kpi_facts
from store.models import Handoff

# About two weeks of a 100k-toss-up team's history. At 5,000 a year at 10k (4,952 toss-ups, ~150 ms of
# Python) ran in a thread and ack p99 rose to 3.3x idle (SQLite) and 5x (PostgreSQL); in the process,
# 1.17x. A month at 100k (~4,150) pays the hand-over: 134 -> 152 ms, within the 200 ms bar.
PROCESS_FROM_ROWS = 2000

T = TypeVar("T")
ReportKpis = tuple[Kpis, Kpis, dict[str, Kpis] | None]  # the team's, the asker's, every rep's (managers)

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _kpi_pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=os.nice,  # background work: on a busy machine the bot's acks go first
                initargs=(10,),
            )
        return _pool


def report_kpis(
    facts: list[HandoffFacts], window: dict[str, Any], *, user_id: str, manager: bool
) -> ReportKpis:
    """(the team's, `user_id`'s, every rep's when `manager`) KPIs of the facts in `window`."""
    by_rep = kpis_by_rep(facts, **window) if manager else None
    return compute_kpis(facts, **window), compute_kpis(facts, user=user_id, **window), by_rep


def database_url(sessions: async_sessionmaker[AsyncSession]) -> str | None:
    """The URL another process can open the same database with (None: it cannot, e.g. in memory)."""
    engine = sessions.kw.get("bind")
    if not isinstance(engine, AsyncEngine):
        return None
    url = engine.url
    if url.get_backend_name() == "sqlite" and (not url.database or url.database == ":memory:"):
        return None
    return url.render_as_string(hide_password=False)


async def count_created(sessions: async_sessionmaker[AsyncSession], *, start: datetime, end: datetime) -> int:
    """How many toss-ups were created in [start, end): what decides thread or KPI process."""
    async with sessions() as session:
        total = await session.scalar(
            select(func.count()).where(Handoff.created_at >= start, Handoff.created_at < end)
        )
        await session.rollback()  # ends the read transaction, like every store read
    return int(total or 0)


async def in_kpi_process(work: Callable[..., T], *args: Any) -> T:
    """`work(*args)` in the KPI process (a module-level function and picklable arguments)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_kpi_pool(), functools.partial(work, *args))


Build = Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]


async def build_in_kpi_process(url: str, build: Build[T]) -> T:
    """`await build(sessions)` in the KPI process, on sessions of its own to the database at `url`
    (`build`: a module-level coroutine function, or a partial of one with picklable arguments)."""
    return await in_kpi_process(_build_on_own_engine, url, build)


def _build_on_own_engine(url: str, build: Build[T]) -> T:
    async def run() -> T:
        engine = make_engine(url)
        try:
            return await build(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


async def _loaded_report(
    sessions: async_sessionmaker[AsyncSession],
    *,
    period: Period,
    window: dict[str, Any],
    user_id: str,
    manager: bool,
) -> ReportKpis:
    async with sessions() as session:
        facts = await load_kpi_facts(session=session, start=period.start, end=period.end)
    return report_kpis(facts, window, user_id=user_id, manager=manager)


async def period_kpis(
    sessions: async_sessionmaker[AsyncSession],
    *,
    period: Period,
    window: dict[str, Any],
    user_id: str,
    manager: bool,
    process_from: int = PROCESS_FROM_ROWS,
) -> ReportKpis:
    """The report's KPIs over the toss-ups created in `period` (`window`: `compute_kpis`'s keyword
    arguments), never computed on the event loop: in the KPI process from `process_from` toss-ups."""
    url = database_url(sessions)
    reads = for_reading(sessions)  # a long read: beside SQLite's one writer, not queued in front of it
    if url is not None and await count_created(reads, start=period.start, end=period.end) >= process_from:
        asked = {"period": period, "window": window, "user_id": user_id, "manager": manager}
        return await build_in_kpi_process(url, functools.partial(_loaded_report, **asked))
    async with reads() as session:
        facts = await load_kpi_facts(session=session, start=period.start, end=period.end)
    return await asyncio.to_thread(report_kpis, facts, window, user_id=user_id, manager=manager)
