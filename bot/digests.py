"""The weekly agenda digest: which week is due, its agenda, the exactly-once claim, the posts.

The scheduler calls `run_weekly_schedule` when the team's cron fires and once at start-up: a week is due
once its first scheduled time has passed and until the week ends, so a bot that was down at 09:00 posts
when it comes back, and one that comes back next week does not post a stale agenda. Posting claims the
(digest, channel, week) in the database with the outbox rows that carry it (`store.digests`); a second
claim of the same week — another replica, a restart, the job firing twice, `tossup digest --post` —
finds it taken and posts nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import AppConfig, WeeklyDigestConfig
from bot.cron import first_fire_between, parse_cron
from bot.domain.agenda import AgendaRules, Section, WeeklyAgenda, build_weekly_agenda
from bot.domain.kpi import Period, week_of
from store.agenda import load_agenda_facts
from store.digests import DigestRecord, claim_digest, find_digest, get_digest
from store.issues import list_open_issues
from store.outbox import NewOutbox

log = logging.getLogger(__name__)

WEEKLY = "weekly"
DIGEST_LEAD = "digest_lead"
DIGEST_REPLY = "digest_reply"


class DigestStatus(StrEnum):
    POSTED = "posted"  # the lead message is in the channel
    QUEUED = "queued"  # claimed; Slack has not taken it yet (the delivery loop retries)
    ALREADY_CLAIMED = "already_claimed"  # this period was claimed before: nothing new posted
    NOT_DUE = "not_due"  # the schedule has not come round this week yet
    NOT_CONFIGURED = "not_configured"  # no digests.weekly in app.yaml


@dataclass(frozen=True)
class DigestOutcome:
    status: DigestStatus
    digest: DigestRecord | None = None


def due_week(weekly: WeeklyDigestConfig, *, now: datetime, config: AppConfig) -> Period | None:
    """The current week if its scheduled time has come (and the week is not over), else None."""
    week = week_of(now.astimezone(config.tz).date(), config.tz)
    trigger = parse_cron(weekly.cron, tz=config.tz)
    return week if first_fire_between(trigger, week.start, now) is not None else None


def agenda_rules(config: AppConfig) -> AgendaRules:
    weekly = config.digests.weekly
    return AgendaRules(
        tz=config.tz,
        sla=config.sla,
        feedback_delay_hours=config.feedback.delay_hours,
        outcome_due_days=weekly.outcome_due_days
        if weekly
        else WeeklyDigestConfig.model_fields["outcome_due_days"].default,
    )


def _lookback_days(config: AppConfig) -> int:
    weekly = config.digests.weekly
    return weekly.lookback_days if weekly else WeeklyDigestConfig.model_fields["lookback_days"].default


async def compute_weekly_agenda(
    sessions: async_sessionmaker[AsyncSession], config: AppConfig, *, week: Period, now: datetime
) -> WeeklyAgenda:
    """The agenda of `week` as of `now` (sections 2 and 3 show what is open at `now`)."""
    async with sessions() as session:
        facts = await load_agenda_facts(
            session=session,
            week=week,
            now=now,
            rules=agenda_rules(config),
            lookback_days=_lookback_days(config),
        )
        issues = await list_open_issues(session=session)
    return build_weekly_agenda(replace(facts, open_issues=issues), agenda_rules(config))


def weekly_posts(digest_id: int, agenda: WeeklyAgenda) -> list[NewOutbox]:
    """The lead message, then one thread reply per section (none for an empty week: one line says so)."""
    posts = [
        NewOutbox(kind=DIGEST_LEAD, dedupe_key=f"{DIGEST_LEAD}:{digest_id}", payload={"digest_id": digest_id})
    ]
    if not agenda.is_empty:
        posts += [
            NewOutbox(
                kind=DIGEST_REPLY,
                dedupe_key=reply_key(digest_id, section),
                payload={"digest_id": digest_id, "section": section.value},
            )
            for section in Section
        ]
    return posts


def reply_key(digest_id: int, section: Section) -> str:
    return f"{DIGEST_REPLY}:{digest_id}:{section.value}"


async def post_weekly_digest(
    *,
    sessions: async_sessionmaker[AsyncSession],
    config: AppConfig,
    send_now: Callable[[], Awaitable[object]] | None,
    week: Period,
    now: datetime,
    claimed_by: str,
) -> DigestOutcome:
    """Claim `week` in the weekly channel and post its agenda, exactly once.

    `send_now` drains the outbox at once (the running bot's delivery); without it the rows wait for the
    delivery loop. The agenda is computed before the claim and frozen with it.
    """
    weekly = config.digests.weekly
    if weekly is None:
        return DigestOutcome(DigestStatus.NOT_CONFIGURED)
    async with sessions() as session:
        existing = await find_digest(
            session=session, kind=WEEKLY, channel_id=weekly.channel, period_start=week.first_day
        )
    if existing is not None:
        return DigestOutcome(DigestStatus.ALREADY_CLAIMED, existing)
    agenda = await compute_weekly_agenda(sessions, config, week=week, now=now)
    async with sessions() as session:
        digest_id = await claim_digest(
            session=session,
            kind=WEEKLY,
            channel_id=weekly.channel,
            period_start=week.first_day,
            period_end=week.last_day,
            lang=config.locale.value,
            content=agenda.model_dump(mode="json"),
            claimed_by=claimed_by,
            now=now,
            posts_for=lambda new_id: weekly_posts(new_id, agenda),
        )
    if digest_id is None:  # another replica claimed it between our look and our claim
        async with sessions() as session:
            existing = await find_digest(
                session=session, kind=WEEKLY, channel_id=weekly.channel, period_start=week.first_day
            )
        return DigestOutcome(DigestStatus.ALREADY_CLAIMED, existing)
    log.info("weekly agenda for %s claimed for %s (digest %s)", week.first_day, weekly.channel, digest_id)
    if send_now is not None:
        await send_now()
    async with sessions() as session:
        record = await get_digest(session=session, digest_id=digest_id)
    posted = record is not None and record.lead_ts is not None
    return DigestOutcome(DigestStatus.POSTED if posted else DigestStatus.QUEUED, record)


async def run_weekly_schedule(
    *,
    sessions: async_sessionmaker[AsyncSession],
    config: AppConfig,
    send_now: Callable[[], Awaitable[object]] | None,
    now: datetime,
) -> DigestOutcome:
    """The scheduled job (cron, and once at start-up): post this week's agenda if it is due."""
    weekly = config.digests.weekly
    if weekly is None:
        return DigestOutcome(DigestStatus.NOT_CONFIGURED)
    week = due_week(weekly, now=now, config=config)
    if week is None:
        return DigestOutcome(DigestStatus.NOT_DUE)
    return await post_weekly_digest(
        sessions=sessions, config=config, send_now=send_now, week=week, now=now, claimed_by="schedule"
    )
