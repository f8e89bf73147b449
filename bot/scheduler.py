"""Periodic work on APScheduler: the acceptance SLA's minute tick (later: weekly and monthly digests).

Jobs only derive work from the database and queue it in the outbox, so a restart or a second replica
neither loses nor doubles anything (APScheduler itself does not coordinate processes).
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.services import Services
from bot.sla_watch import queue_due_sla_steps

log = logging.getLogger(__name__)

SLA_JOB_ID = "sla"
SLA_TICK_SECONDS = 60


def make_scheduler(services: Services) -> AsyncIOScheduler:
    """A scheduler (not started) with the SLA tick: every minute, steps now due are queued once."""
    scheduler = AsyncIOScheduler(timezone=services.config.tz)

    async def sla_tick() -> None:
        try:
            await queue_due_sla_steps(
                sessions=services.sessions, config=services.config, now=services.clock()
            )
        except Exception:
            log.exception("SLA tick failed; the next one retries")

    scheduler.add_job(
        sla_tick,
        IntervalTrigger(seconds=SLA_TICK_SECONDS),
        id=SLA_JOB_ID,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=SLA_TICK_SECONDS,
    )
    return scheduler
