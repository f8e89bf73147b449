"""The acceptance SLA at work: every minute, pending toss-ups past their deadline get their reminders and
escalations queued in the outbox.

Everything is derived from the database (creation times and the outbox's dedupe keys), not from
in-memory jobs: a restart loses nothing, and several replicas ticking at once queue each step once.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import AppConfig
from bot.delivery import PostKind
from bot.domain.routing import absent_from_config
from bot.domain.sla import SlaStep, SlaStepKind, deliverable_at, due_steps, overdue_created_before
from store.outbox import NewOutbox, enqueue_many
from store.routing import absent_users
from store.sla import SlaCandidate, overdue_pending

log = logging.getLogger(__name__)

CHANNEL_TARGET = "channel"


def step_posts(
    handoff: SlaCandidate, step: SlaStep, config: AppConfig, away: Collection[str] = ()
) -> list[NewOutbox]:
    """One outbox row per recipient of a step, so a failure for one never resends to another."""
    base = f"sla:{handoff.id}:{step.key}"
    payload = {"number": step.number}
    if step.kind is SlaStepKind.REMINDER:
        if handoff.fs_user_id is None or handoff.fs_user_id in away:
            return []  # nobody (reachable) to remind; the escalation asks the channel and the managers
        return [NewOutbox(kind=PostKind.SLA_REMINDER, dedupe_key=base, payload=payload)]
    targets = ([CHANNEL_TARGET] if config.sla.escalate_to_channel else []) + (
        list(config.roles.managers) if config.sla.escalate_to_managers else []
    )
    return [
        NewOutbox(
            kind=PostKind.SLA_ESCALATION, dedupe_key=f"{base}:{target}", payload={**payload, "target": target}
        )
        for target in targets
    ]


def _fresh_posts(
    candidates: Sequence[SlaCandidate], config: AppConfig, away: Collection[str], now: datetime
) -> dict[int | None, list[NewOutbox]]:
    """The posts now due per toss-up that are not queued yet."""
    fresh: dict[int | None, list[NewOutbox]] = {}
    for handoff in candidates:
        if not handoff.notice_ts:
            continue  # FS never saw it (Slack refused the notice): nothing to remind anyone of
        steps = due_steps(handoff.created_at, config.sla, tz=config.tz, now=now)
        # After a long outage several steps are due at once: only the latest of each kind still matters.
        latest = {step.kind: step for step in steps}
        posts = [post for step in latest.values() for post in step_posts(handoff, step, config, away)]
        # The keys already queued came with the candidates: no look-up per key or per toss-up.
        if new := [post for post in posts if post.dedupe_key not in handoff.queued]:
            fresh[handoff.id] = new
    return fresh


async def queue_due_sla_steps(
    *, sessions: async_sessionmaker[AsyncSession], config: AppConfig, now: datetime
) -> int:
    """Queue the reminders and escalations now due; returns how many posts were queued."""
    sla = config.sla
    if not sla.enabled:
        return 0
    overdue_before = overdue_created_before(now, sla, tz=config.tz)
    if overdue_before is None:
        return 0
    today = now.astimezone(config.tz).date()
    async with sessions() as session:
        candidates = await overdue_pending(
            session=session,
            created_before=overdue_before,
            queued_kinds=[PostKind.SLA_REMINDER, PostKind.SLA_ESCALATION],
        )
    # DMs wait for working hours; a step due at night goes out when the day starts.
    send_at = max(now, deliverable_at(now, tz=config.tz, business_hours=sla.business_hours))
    away = absent_from_config(config.routing, today)
    fresh = _fresh_posts(candidates, config, away, now)
    queued = 0
    if fresh:  # most minutes nothing is new: then `/tossup away` needs no read
        async with sessions() as session:
            away |= await absent_users(session=session, today=today)
            # Again for those toss-ups with every absence known (an FS rep away gets no reminder).
            fresh = _fresh_posts([one for one in candidates if one.id in fresh], config, away, now)
            if fresh:
                queued = await enqueue_many(session=session, messages=fresh, now=send_at)
    if queued:
        log.info("queued %d SLA reminder/escalation posts", queued)
    return queued
