"""The post-meeting feedback loop at work: every minute, accepted toss-ups whose meeting is over and whose
sheet is still open get the request for the sheet, then its reminders, queued in the outbox.

Rules (on top of bot/domain/feedback.py's timing):
- Asked: the toss-up's FS rep (`feedback_owner`); nobody to ask, no meeting time, or not due yet →
  nothing. Once the sheet is saved the toss-up is no longer a candidate, so the reminders stop.
- An owner away today (app.yaml's `routing.absent` or `/tossup away`) is asked nothing; the request and
  reminders are picked up on the first tick after they are back.
- The request first, alone in its tick, and only while it is fresh: not when it fell due more than
  `ask_within_days` ago (an owner back from a long absence, the first start on an old database); the
  same for a reminder (`chase_from`).
  Reminders are counted from when the request was queued (its
  outbox row's `created_at`), so a request that went out late is not followed at once by a reminder;
  after an outage only the latest reminder now due is queued (the earlier ones are skipped for good).
- Every DM waits for working hours (`deliverable_at`): it is queued with that time, which is also the
  time the next reminders count from.

Everything is derived from the database (the toss-ups, the sheets and the outbox's dedupe keys), not from
in-memory jobs: a restart loses nothing, and several replicas ticking at once queue each post once (the
dedupe key is unique and `enqueue` ignores a key already there).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import AppConfig
from bot.delivery import PostKind, feedback_reminder_post, feedback_request_post
from bot.domain.feedback import AwaitingSheet, feedback_due_at, feedback_reminder_at, feedback_reminders_due
from bot.domain.routing import absent_from_config
from bot.domain.sla import deliverable_at
from store.feedback import sheets_to_chase
from store.outbox import NewOutbox, enqueue_many
from store.routing import absent_users

log = logging.getLogger(__name__)


def _reminder(handoff_id: int, request_at: datetime, config: AppConfig, now: datetime) -> NewOutbox | None:
    """The latest reminder due by `now`, counted from when the request was queued (None: none due)."""
    numbers = feedback_reminders_due(
        request_at, config.feedback, now=now, tz=config.tz, business_hours=config.sla.business_hours
    )
    return feedback_reminder_post(handoff_id=handoff_id, number=numbers[-1]) if numbers else None


def _reminder_number(key: str | None) -> int:
    """The number a reminder's dedupe key ends in (`feedback_reminder_post`); 0 for none queued."""
    return int(key.rsplit(":", 1)[1]) if key else 0


def _due_now(
    awaiting: AwaitingSheet, config: AppConfig, away: frozenset[str], now: datetime
) -> datetime | None:
    """When the toss-up's FS rep was due to be asked, if they are to be asked now (request or reminder,
    whichever is next); None when not."""
    owner = awaiting.owner
    if owner is None or owner in away:
        return None  # nobody to ask, or not now: picked up once they are back
    due_at = feedback_due_at(
        meeting_at=awaiting.meeting_at,
        created_at=awaiting.created_at,
        accepted_at=awaiting.decided_at,
        config=config.feedback,
    )
    return due_at if due_at is not None and due_at <= now else None


# A request is queued with the time it can be delivered: a DM due at night waits for the morning, at most
# this long after the tick that found it (a long weekend of working days off included).
_DELIVERY_WAIT_MAX = timedelta(days=7)


def chase_from(now: datetime, config: AppConfig) -> datetime:
    """The earliest request time still chased at `now`: like the request itself, a reminder is sent at most
    `ask_within_days` after it fell due (an owner back from a long absence is not reminded of a meeting
    long past), so a request whose last reminder fell due before that needs nothing more. Reminder times
    only grow with the request time: a bisection finds the bound (to the second)."""
    feedback = config.feedback
    if feedback.max_reminders == 0:
        return now  # nothing follows a request
    oldest = now - timedelta(days=feedback.ask_within_days)

    def last_reminder(requested_at: datetime) -> datetime:
        return feedback_reminder_at(
            requested_at,
            feedback.max_reminders,
            feedback,
            tz=config.tz,
            business_hours=config.sla.business_hours,
        )

    low, high = now - timedelta(days=3660), now
    if last_reminder(low) >= oldest:
        return low
    while high - low > timedelta(seconds=1):  # invariant: last_reminder(low) < oldest <= last_reminder(high)
        middle = low + (high - low) / 2
        if last_reminder(middle) < oldest:
            low = middle
        else:
            high = middle
    return high


async def queue_due_feedback_requests(
    *, sessions: async_sessionmaker[AsyncSession], config: AppConfig, now: datetime
) -> int:
    """Queue the feedback requests and reminders now due; returns how many posts were queued.

    One read of the candidates (`sheets_to_chase`: the recent toss-ups that may still need a post, with
    their request's time and the latest reminder queued), and only when something is left to queue, one
    read of who is away (`/tossup away`) and one transaction for what is new: the tick costs what may be
    due, not the history."""
    today = now.astimezone(config.tz).date()
    feedback = config.feedback
    delay = timedelta(hours=feedback.delay_hours)
    ask_within = timedelta(days=feedback.ask_within_days)
    # A meeting too long ago is not asked about any more (an owner back from a long absence, the first
    # start of the bot on an old database): feedback is useful while the meeting is fresh.
    oldest = now - ask_within
    chased = chase_from(now, config)
    # Every toss-up asked since `chased` fell due at most `ask_within` (and a night's wait) before it.
    wait = _DELIVERY_WAIT_MAX if config.sla.business_hours is not None else timedelta(0)  # none: at once
    scan_from = min(oldest, chased - ask_within - wait) - delay
    async with sessions() as session:
        candidates = await sheets_to_chase(
            session=session,
            scan_from=scan_from,
            ask_from=oldest - delay,
            chase_from=chased,
            request_key_prefix=f"{PostKind.FEEDBACK_REQUEST}:",  # bot.delivery's keys: kind:id[:number]
            last_key=(f"{PostKind.FEEDBACK_REMINDER}:", f":{feedback.max_reminders}")
            if feedback.max_reminders
            else (f"{PostKind.FEEDBACK_REQUEST}:", ""),
            reminder_kind=PostKind.FEEDBACK_REMINDER,
            due_by=now - delay,  # a request falls due `delay` after its base at the earliest
        )
    away = absent_from_config(config.routing, today)
    posts: dict[int, NewOutbox] = {}
    owners: dict[int, str | None] = {}
    for one in candidates:
        handoff_id = one.awaiting.handoff_id
        owners[handoff_id] = one.awaiting.owner
        due_at = _due_now(one.awaiting, config, away, now)
        if due_at is None:
            continue
        if one.requested_at is None:
            if due_at >= oldest:
                posts[handoff_id] = feedback_request_post(handoff_id=handoff_id)  # alone in this tick
        elif (reminder := _reminder(handoff_id, one.requested_at, config, now)) is not None:
            if reminder.payload["number"] > _reminder_number(one.last_reminder_key):
                posts[handoff_id] = reminder  # a later one than any queued (an earlier one: skipped for good)
    if not posts:
        return 0  # the usual tick: everything due is queued already, so `/tossup away` needs no read
    async with sessions() as session:
        away_now = await absent_users(session=session, today=today)
    posts = {handoff_id: post for handoff_id, post in posts.items() if owners[handoff_id] not in away_now}
    if not posts:
        return 0
    # DMs wait for working hours; one due at night goes out (and its reminders count) from the morning.
    send_at = max(now, deliverable_at(now, tz=config.tz, business_hours=config.sla.business_hours))
    # One transaction for all of them; a replica racing us on the same key inserts nothing.
    async with sessions() as session:
        await enqueue_many(
            session=session, messages={handoff_id: [post] for handoff_id, post in posts.items()}, now=send_at
        )
    log.info("queued %d feedback request/reminder posts", len(posts))
    return len(posts)
