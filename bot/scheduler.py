"""Periodic work on APScheduler: every minute, the acceptance SLA (reminders and escalations of pending
toss-ups) and the post-meeting feedback loop (the request for the sheet and its reminders); on the team's
cron (and once at start-up, to catch up a post missed while down), the weekly meeting agenda.

Jobs only derive work from the database and queue it in the outbox, so a restart or a second replica
neither loses nor doubles anything (APScheduler itself does not coordinate processes).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.cron import parse_cron
from bot.digests import run_weekly_schedule
from bot.feedback_watch import queue_due_feedback_requests
from bot.services import Services
from bot.sla_watch import queue_due_sla_steps

log = logging.getLogger(__name__)

SLA_JOB_ID = "sla"
SLA_TICK_SECONDS = 60
FEEDBACK_JOB_ID = "feedback"
FEEDBACK_TICK_SECONDS = 60
WEEKLY_DIGEST_JOB_ID = "weekly_digest"
WEEKLY_DIGEST_CATCH_UP_JOB_ID = "weekly_digest_catch_up"
WEEKLY_DIGEST_CATCH_UP_SECONDS = 300


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
    weekly = services.config.digests.weekly
    if weekly is not None:

        async def weekly_digest() -> None:
            try:
                outcome = await run_weekly_schedule(
                    sessions=services.sessions,
                    config=services.config,
                    send_now=services.delivery.deliver_digests,
                    now=services.clock(),
                )
                log.info("weekly agenda: %s", outcome.status)
            except Exception:
                log.exception("weekly agenda failed; the delivery loop or the next start retries")

        scheduler.add_job(
            weekly_digest,
            parse_cron(weekly.cron, tz=services.config.tz),
            id=WEEKLY_DIGEST_JOB_ID,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
        )
        # At start and every few minutes, the same check: a bot that was down (or failed) at the scheduled
        # time posts when it can, as long as the week is still current; a claimed week costs one lookup.
        scheduler.add_job(
            weekly_digest,
            IntervalTrigger(seconds=WEEKLY_DIGEST_CATCH_UP_SECONDS),
            id=WEEKLY_DIGEST_CATCH_UP_JOB_ID,
            next_run_time=datetime.now(services.config.tz),
            coalesce=True,
            max_instances=1,
        )
    return scheduler
