"""Periodic work on APScheduler, every minute: the acceptance SLA (reminders and escalations of pending
toss-ups) and the post-meeting feedback loop (the request for the sheet and its reminders); later the
weekly and monthly digests.

Jobs only derive work from the database and queue it in the outbox, so a restart or a second replica
neither loses nor doubles anything (APScheduler itself does not coordinate processes).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.feedback_watch import queue_due_feedback_requests
from bot.services import Services
from bot.sla_watch import queue_due_sla_steps

log = logging.getLogger(__name__)

SLA_JOB_ID = "sla"
SLA_TICK_SECONDS = 60
FEEDBACK_JOB_ID = "feedback"
FEEDBACK_TICK_SECONDS = 60


def _add_tick(
    scheduler: AsyncIOScheduler, job_id: str, seconds: int, work: Callable[[], Awaitable[object]], what: str
) -> None:
    """Run `work` every `seconds`: one run at a time, missed runs collapsed; a failure is logged and the
    next run retries."""

    async def tick() -> None:
        try:
            await work()
        except Exception:
            log.exception("%s tick failed; the next one retries", what)

    scheduler.add_job(
        tick,
        IntervalTrigger(seconds=seconds),
        id=job_id,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=seconds,
    )


def make_scheduler(services: Services) -> AsyncIOScheduler:
    """A scheduler (not started) with the minute ticks: SLA steps and feedback requests now due are
    queued once."""
    scheduler = AsyncIOScheduler(timezone=services.config.tz)

    def sla() -> Awaitable[int]:
        return queue_due_sla_steps(sessions=services.sessions, config=services.config, now=services.clock())

    def feedback() -> Awaitable[int]:
        return queue_due_feedback_requests(
            sessions=services.sessions, config=services.config, now=services.clock()
        )

    _add_tick(scheduler, SLA_JOB_ID, SLA_TICK_SECONDS, sla, "SLA")
    _add_tick(scheduler, FEEDBACK_JOB_ID, FEEDBACK_TICK_SECONDS, feedback, "feedback")
    return scheduler
