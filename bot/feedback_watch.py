"""The post-meeting feedback loop at work: every minute, accepted toss-ups whose meeting is over and whose
sheet is still open get the request for the sheet, then its reminders, queued in the outbox.

Rules (on top of bot/domain/feedback.py's timing):
- Asked: the toss-up's FS rep (`feedback_owner`); nobody to ask, no meeting time, or not due yet →
  nothing. Once the sheet is saved the toss-up is no longer a candidate, so the reminders stop.
- An owner away today (app.yaml's `routing.absent` or `/tossup away`) is asked nothing; the request and
  reminders are picked up on the first tick after they are back.
- The request first, alone in its tick, and only while it is fresh: not when it fell due more than
  `ask_within_days` ago (an owner back from a long absence, the first start on an old database).
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
from bot.domain.feedback import AwaitingSheet, feedback_due_at, feedback_reminders_due
from bot.domain.routing import absent_from_config
from bot.domain.sla import deliverable_at
from store.feedback import list_awaiting_sheets
from store.outbox import NewOutbox, enqueue, queued_at
from store.routing import absent_users

log = logging.getLogger(__name__)


def _reminder(handoff_id: int, request_at: datetime, config: AppConfig, now: datetime) -> NewOutbox | None:
    """The latest reminder due by `now`, counted from when the request was queued (None: none due)."""
    numbers = feedback_reminders_due(
        request_at, config.feedback, now=now, tz=config.tz, business_hours=config.sla.business_hours
    )
    return feedback_reminder_post(handoff_id=handoff_id, number=numbers[-1]) if numbers else None


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


async def queue_due_feedback_requests(
    *, sessions: async_sessionmaker[AsyncSession], config: AppConfig, now: datetime
) -> int:
    """Queue the feedback requests and reminders now due; returns how many posts were queued."""
    today = now.astimezone(config.tz).date()
    async with sessions() as session:
        candidates = await list_awaiting_sheets(session=session)
        away = absent_from_config(config.routing, today) | await absent_users(session=session, today=today)
    due = {one.handoff_id: at for one in candidates if (at := _due_now(one, config, away, now))}
    if not due:
        return 0
    requests = {handoff_id: feedback_request_post(handoff_id=handoff_id) for handoff_id in due}
    # A meeting too long ago is not asked about any more (an owner back from a long absence, the first
    # start of the bot on an old database): feedback is useful while the meeting is fresh.
    oldest = now - timedelta(days=config.feedback.ask_within_days)
    async with sessions() as session:  # which requests were queued, and when (reads only)
        requested = await queued_at(session=session, keys=[post.dedupe_key for post in requests.values()])
    posts: dict[int, NewOutbox] = {}
    for handoff_id, request in requests.items():
        request_at = requested.get(request.dedupe_key)
        if request_at is None:
            if due[handoff_id] >= oldest:
                posts[handoff_id] = request  # the request alone in this tick: reminders count from it
        elif (reminder := _reminder(handoff_id, request_at, config, now)) is not None:
            posts[handoff_id] = reminder
    reminder_keys = [post.dedupe_key for post in posts.values() if post.kind == PostKind.FEEDBACK_REMINDER]
    if reminder_keys:
        async with sessions() as session:
            reminded = await queued_at(session=session, keys=reminder_keys)
        posts = {handoff_id: post for handoff_id, post in posts.items() if post.dedupe_key not in reminded}
    # DMs wait for working hours; one due at night goes out (and its reminders count) from the morning.
    send_at = max(now, deliverable_at(now, tz=config.tz, business_hours=config.sla.business_hours))
    for handoff_id, post in posts.items():
        # One short transaction per toss-up; a replica racing us on the same key inserts nothing.
        async with sessions() as session:
            await enqueue(session=session, messages=[post], handoff_id=handoff_id, now=send_at)
    if posts:
        log.info("queued %d feedback request/reminder posts", len(posts))
    return len(posts)
