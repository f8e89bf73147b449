"""Periodic work on APScheduler: every minute, the acceptance SLA (reminders and escalations of pending
toss-ups) and the post-meeting feedback loop (the request for the sheet and its reminders); on the team's
cron (and at start-up and every few minutes, to catch up a post missed while down), the weekly meeting
agenda and the monthly review.

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
from bot.digests import DigestKind, missed_before_first_use, run_schedule, schedule_of
from bot.feedback_watch import queue_due_feedback_requests
from bot.scorecards import send_due_scorecards
from bot.services import Services
from bot.sla_watch import queue_due_sla_steps

log = logging.getLogger(__name__)

SLA_JOB_ID = "sla"
SLA_TICK_SECONDS = 60
FEEDBACK_JOB_ID = "feedback"
FEEDBACK_TICK_SECONDS = 60
DIGEST_CATCH_UP_SECONDS = 300


def digest_job_id(kind: DigestKind) -> str:
    return f"{kind.value}_digest"


def digest_catch_up_job_id(kind: DigestKind) -> str:
    return f"{kind.value}_digest_catch_up"


WEEKLY_DIGEST_JOB_ID = digest_job_id(DigestKind.WEEKLY)
WEEKLY_DIGEST_CATCH_UP_JOB_ID = digest_catch_up_job_id(DigestKind.WEEKLY)
MONTHLY_DIGEST_JOB_ID = digest_job_id(DigestKind.MONTHLY)
MONTHLY_DIGEST_CATCH_UP_JOB_ID = digest_catch_up_job_id(DigestKind.MONTHLY)


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


def _add_digest(scheduler: AsyncIOScheduler, services: Services, kind: DigestKind) -> None:
    """A configured digest's cron job, and the same check at start and every few minutes: a bot that was
    down (or failed) at the scheduled time posts when it can, as long as the period is still current; a
    claimed period costs one lookup."""
    schedule = schedule_of(kind, services.config)
    if schedule is None:
        return

    async def digest(catching_up: bool = False) -> None:
        try:
            if catching_up and await missed_before_first_use(
                kind, sessions=services.sessions, config=services.config, now=services.clock()
            ):
                log.debug("%s digest: its time came before tossup was in use; not posted", kind)
                return
            outcome = await run_schedule(
                kind,
                sessions=services.sessions,
                config=services.config,
                send_now=services.delivery.deliver_digests,
                now=services.clock(),
            )
            log.info("%s digest: %s", kind, outcome.status)
            if kind is DigestKind.MONTHLY:  # the reps' scorecards of the same month, by DM
                await send_due_scorecards(
                    sessions=services.sessions,
                    config=services.config,
                    send_now=services.delivery.deliver_digests,
                    now=services.clock(),
                )
        except Exception:
            log.exception("%s digest failed; the catch-up or the delivery loop retries", kind)

    scheduler.add_job(
        digest,
        parse_cron(schedule.cron, tz=services.config.tz),
        id=digest_job_id(kind),
        coalesce=True,
        max_instances=1,
        misfire_grace_time=3600,
    )
    scheduler.add_job(
        digest,
        IntervalTrigger(seconds=DIGEST_CATCH_UP_SECONDS),
        kwargs={"catching_up": True},
        id=digest_catch_up_job_id(kind),
        next_run_time=datetime.now(services.config.tz),
        coalesce=True,
        max_instances=1,
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
    for kind in DigestKind:
        _add_digest(scheduler, services, kind)
    return scheduler
