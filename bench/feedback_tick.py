"""What the feedback scheduler's minute tick costs as unrated toss-ups pile up, against a baseline measured
in the same run: reading the same toss-ups as whole snapshots (what the tick did before it read only the
columns it needs).

Every toss-up is accepted, unrated, with a meeting two months ago, so none is asked any more (past
`feedback.ask_within_days`). That was once the worst case (all of them read every minute); the tick now
reads only the toss-ups recent enough to be asked or reminded (`store.feedback.sheets_to_chase`), so
these cost it next to nothing: the ratio shows how much an old backlog still weighs.

    .venv/bin/python -m bench.feedback_tick [--rows 2000] [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.handoff import HandoffStatus
from bot.feedback_watch import queue_due_feedback_requests
from store.db import make_engine, make_sessionmaker, migrate
from store.handoffs import list_handoffs
from store.models import Handoff
from tests.conftest import team_config
from tests.test_store import make_memo


async def seed(sessions: async_sessionmaker[AsyncSession], rows: int, now: datetime) -> None:
    memo = make_memo().model_copy(update={"meeting_at": now - timedelta(days=60)}).model_dump(mode="json")
    values = [
        {
            "submission_key": f"VBENCH{i:06d}",
            "team_id": "T0BENCH",
            "company": "Acme",
            "is_user_id": "U0IS",
            "fs_user_id": "U0FS",
            "channel_id": "C0FS",
            "status": HandoffStatus.ACCEPTED.value,
            "memo": memo,
            "lang": "ja",
            "created_at": now - timedelta(days=70),
            "decided_by": "U0FS",
            "decided_at": now - timedelta(days=69),
            "version": 1,
        }
        for i in range(rows)
    ]
    async with sessions() as session:
        await session.execute(insert(Handoff), values)
        await session.commit()


async def timed(work: Callable[[], Awaitable[object]], rounds: int) -> list[float]:
    await work()  # warm-up
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        await work()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def main(rows: int, rounds: int) -> None:
    now = datetime.now(UTC)
    config = team_config()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        await migrate(engine)
        sessions = make_sessionmaker(engine)
        await seed(sessions, rows, now)

        async def snapshots() -> object:
            async with sessions() as session:
                return await list_handoffs(session=session, statuses=[HandoffStatus.ACCEPTED], limit=None)

        async def tick() -> object:
            return await queue_due_feedback_requests(sessions=sessions, config=config, now=now)

        baseline = await timed(snapshots, rounds)
        ticks = await timed(tick, rounds)
        await engine.dispose()
    base, mine = statistics.median(baseline), statistics.median(ticks)
    print(f"{rows} accepted unrated toss-ups, {rounds} rounds each (SQLite)")
    print(f"baseline: read them as snapshots   median {base:7.1f} ms")
    print(f"feedback tick (whole)              median {mine:7.1f} ms   = {mine / base:4.2f}x the baseline")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=20)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rows, arguments.rounds))
