"""Digests for channels — the weekly agenda and the monthly review: which period is due, its content,
the exactly-once claim, the posts.

The scheduler calls `run_schedule` when a digest's cron fires and, to catch up, at start-up and every few
minutes. A weekly agenda is due once this week's first scheduled time has passed, until the week ends;
a monthly review (of the month before) once this month's first scheduled time has passed, until this
month ends. So a bot that was down at 09:00 posts when it comes back, and one that comes back a period
later does not post a stale one. Posting claims (digest, channel, period) in the database together with
the outbox rows that carry it (`store.digests`); a second claim — another replica, a restart, the job
firing twice, `tossup digest --post` — finds it taken and posts nothing. The content is computed before
the claim and frozen with it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import partial
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import AppConfig, DigestSchedule, WeeklyDigestConfig
from bot.cron import first_fire_between, parse_cron
from bot.diagnosis import month_diagnosis_trend
from bot.domain.agenda import AgendaRules, Section, WeeklyAgenda, build_weekly_agenda
from bot.domain.digest_kind import DigestKind
from bot.domain.kpi import Period, PeriodKind, month_before, month_of, quarter_before, quarter_of, week_of
from bot.domain.moments import as_utc
from bot.domain.monthly import (
    TREND_MONTHS,
    MonthlyFacts,
    MonthlyReview,
    MonthlyRules,
    MonthlySection,
    build_monthly_review,
)
from bot.domain.quarterly import QuarterlyReview, QuarterlyRules, QuarterlySection, build_quarterly_review
from bot.kpi_worker import PROCESS_FROM_ROWS, build_in_kpi_process, count_created, database_url
from store.agenda import load_agenda_facts
from store.db import for_reading
from store.digests import DigestRecord, claim_digest, find_digest, get_digest, in_use_before
from store.issues import list_closed_issues, list_open_issues
from store.kpi import load_kpi_facts
from store.monthly import load_cases, load_closed, load_sources, load_trend
from store.outbox import NewOutbox
from store.quarterly import load_quarterly_facts

log = logging.getLogger(__name__)

DIGEST_LEAD = "digest_lead"  # the channel message a digest starts with
DIGEST_REPLY = "digest_reply"  # one part of it in the lead's thread: a section, or a chart


WEEKLY = DigestKind.WEEKLY.value
MONTHLY = DigestKind.MONTHLY.value
QUARTERLY = DigestKind.QUARTERLY.value


class Chart(StrEnum):
    """The monthly review's charts, each posted in the thread after the section it illustrates."""

    KPIS = "chart_kpis"
    SCORE = "chart_score"


# The thread of each kind, in meeting order.
THREAD_PARTS: dict[DigestKind, tuple[str, ...]] = {
    DigestKind.WEEKLY: tuple(section.value for section in Section),
    DigestKind.MONTHLY: (
        MonthlySection.KPIS.value,
        Chart.KPIS.value,
        MonthlySection.SCORE.value,
        Chart.SCORE.value,
        MonthlySection.CASES.value,
        MonthlySection.MEASURES.value,
    ),
    DigestKind.QUARTERLY: tuple(section.value for section in QuarterlySection),
}


class DigestStatus(StrEnum):
    POSTED = "posted"  # the lead message is in the channel
    QUEUED = "queued"  # claimed; Slack has not taken it yet (the delivery loop retries)
    ALREADY_CLAIMED = "already_claimed"  # this period was claimed before: nothing new posted
    NOT_DUE = "not_due"  # the schedule has not come round this period yet
    NOT_CONFIGURED = "not_configured"  # the digest is not in app.yaml


@dataclass(frozen=True)
class DigestOutcome:
    status: DigestStatus
    digest: DigestRecord | None = None


def schedule_of(kind: DigestKind, config: AppConfig) -> DigestSchedule | None:
    return getattr(config.digests, kind.value)


def _containing(kind: DigestKind, day: date, tz: ZoneInfo) -> Period:
    """The week, month or quarter `day` falls in."""
    match kind:
        case DigestKind.WEEKLY:
            return week_of(day, tz)
        case DigestKind.MONTHLY:
            return month_of(day, tz)
        case DigestKind.QUARTERLY:
            return quarter_of(day, tz)


def _reviewed(kind: DigestKind, current: Period, tz: ZoneInfo) -> Period:
    """What a digest posted during `current` covers: the week itself, or the month / quarter before."""
    match kind:
        case DigestKind.WEEKLY:
            return current
        case DigestKind.MONTHLY:
            return month_before(current, tz)
        case DigestKind.QUARTERLY:
            return quarter_before(current, tz)


def period_of(kind: DigestKind, day: date | None, config: AppConfig, *, now: datetime) -> Period:
    """The period a day names (its week, month or quarter); by default the one a digest posted now
    covers: this week, or the month / quarter before this one."""
    tz = config.tz
    if day is not None:
        return _containing(kind, day, tz)
    return _reviewed(kind, _containing(kind, now.astimezone(tz).date(), tz), tz)


def due_period(
    kind: DigestKind, schedule: DigestSchedule, *, now: datetime, config: AppConfig
) -> Period | None:
    """The period whose scheduled post has come (and is still current), else None."""
    tz = config.tz
    current = _containing(kind, now.astimezone(tz).date(), tz)
    if due_moment(kind, schedule, now=now, config=config) is None:
        return None
    return _reviewed(kind, current, tz)


def due_moment(
    kind: DigestKind, schedule: DigestSchedule, *, now: datetime, config: AppConfig
) -> datetime | None:
    """When the current period's scheduled post came (this week's Friday 09:00, say), if it has."""
    tz = config.tz
    current = _containing(kind, now.astimezone(tz).date(), tz)
    return first_fire_between(parse_cron(schedule.cron, tz=tz), current.start, now)


async def missed_before_first_use(
    kind: DigestKind, *, sessions: async_sessionmaker[AsyncSession], config: AppConfig, now: datetime
) -> bool:
    """For the catch-up: the due post's time came before the team used tossup at all (a first start on a
    Saturday: last Friday's agenda would be an empty one about a week nobody used it). A bot that was down
    at that time has toss-ups, digests or issues from before it, and posts."""
    schedule = schedule_of(kind, config)
    moment = due_moment(kind, schedule, now=now, config=config) if schedule else None
    if moment is None:
        return False
    async with sessions() as session:
        return not await in_use_before(session=session, moment=moment)


# ------------------------------------------------------------------------------------------ content


def agenda_rules(config: AppConfig) -> AgendaRules:
    weekly = config.digests.weekly
    return AgendaRules(
        tz=config.tz,
        sla=config.sla,
        feedback_delay_hours=config.feedback.delay_hours,
        outcome_due_days=weekly.outcome_due_days
        if weekly
        else WeeklyDigestConfig.model_fields["outcome_due_days"].default,
        memo_score_max=config.score.weights.memo_max,
    )


def _lookback_days(config: AppConfig) -> int:
    weekly = config.digests.weekly
    return weekly.lookback_days if weekly else WeeklyDigestConfig.model_fields["lookback_days"].default


def reviewed_since_last_agenda(week: Period, config: AppConfig) -> Period:
    """What `week`'s agenda reviews: the toss-ups from the week before's scheduled agenda up to this week's
    (Friday 09:00 to Friday 09:00), so one made after an agenda went out (a Friday afternoon, a weekend)
    is in the next; late or repeated posts of an agenda cover the same. The calendar week itself when no
    weekly digest is scheduled (a preview) or its schedule does not fire in one of the two weeks."""
    schedule = config.digests.weekly
    if schedule is None:
        return week
    trigger = parse_cron(schedule.cron, tz=config.tz)
    before = week_of(week.first_day - timedelta(days=7), config.tz)
    last_moment = timedelta(microseconds=1)  # a week is [start, end): the next Monday 00:00 is not in it
    this_fire = first_fire_between(trigger, week.start, week.end - last_moment)
    last_fire = first_fire_between(trigger, before.start, before.end - last_moment)
    if this_fire is None or last_fire is None:
        return week
    return Period(
        kind=PeriodKind.RANGE,
        start=as_utc(last_fire),
        end=as_utc(this_fire),
        first_day=last_fire.astimezone(config.tz).date(),
        last_day=this_fire.astimezone(config.tz).date(),
    )


async def compute_weekly_agenda(
    sessions: async_sessionmaker[AsyncSession], config: AppConfig, *, week: Period, now: datetime
) -> WeeklyAgenda:
    """The agenda of `week` as of `now` (sections 2 and 3 show what is open at `now`; section 1 what came
    since the last agenda: `reviewed_since_last_agenda`)."""
    rules = agenda_rules(config)
    async with sessions() as session:
        facts = await load_agenda_facts(
            session=session,
            week=week,
            reviewed=reviewed_since_last_agenda(week, config),
            reviewed_before=reviewed_since_last_agenda(
                week_of(week.first_day - timedelta(days=7), config.tz), config
            ),
            now=now,
            rules=rules,
            lookback_days=_lookback_days(config),
        )
        issues = await list_open_issues(session=session)
    return build_weekly_agenda(replace(facts, open_issues=issues), rules)


async def compute_monthly_review(
    sessions: async_sessionmaker[AsyncSession],
    config: AppConfig,
    *,
    month: Period,
    now: datetime,
    process_from: int = PROCESS_FROM_ROWS,
) -> MonthlyReview:
    """The review of `month` (its toss-ups as a cohort; open issues as of `now`), never built on the
    event loop: from `process_from` toss-ups over it and the month before, read and built whole in the
    KPI process (bot.kpi_worker: turning thousands of rows into facts, in this process, held the event
    loop and a thread the interpreter lock — `/tossup` ack p99 3-5x idle while the review at 100k was
    built); below that, read here and built in a thread."""
    url = database_url(sessions)
    previous = month_before(month, config.tz)
    if url is not None and await count_created(sessions, start=previous.start, end=month.end) >= process_from:
        return await build_in_kpi_process(url, partial(_monthly_review, config=config, month=month, now=now))
    return await _monthly_review(sessions, config, month=month, now=now)


async def _monthly_review(
    sessions: async_sessionmaker[AsyncSession], config: AppConfig, *, month: Period, now: datetime
) -> MonthlyReview:
    tz = config.tz
    previous = month_before(month, tz)
    trend = [month_before(month, tz, back) for back in range(TREND_MONTHS - 1, 0, -1)] + [month]
    async with sessions() as session:
        facts = await load_kpi_facts(session=session, start=previous.start, end=month.end)
        points = await load_trend(session=session, months=trend)
        best, worst = await load_cases(session=session, month=month, memo_max=config.score.weights.memo_max)
        sources = await load_sources(session=session, month=month)
        closed_deals = await load_closed(session=session, month=month)
        open_issues = await list_open_issues(session=session)
        closed = await list_closed_issues(session=session, start=month.start, end=month.end)
    diagnosis = await month_diagnosis_trend(sessions, month=month)
    return await asyncio.to_thread(  # thousands of toss-ups' KPIs: off the event loop
        build_monthly_review,
        MonthlyFacts(
            month=month,
            previous=previous,
            now=now,
            facts=facts,
            trend=points,
            best=best,
            worst=worst,
            sources=sources,
            open_issues=open_issues,
            closed_issues=closed,
            diagnosis=diagnosis,
            closed=closed_deals,
        ),
        MonthlyRules(
            tz=tz,
            business_hours=config.sla.business_hours,
            weights=config.score.weights,
            currency=config.currency,
        ),
    )


async def compute_quarterly_review(
    sessions: async_sessionmaker[AsyncSession],
    config: AppConfig,
    *,
    quarter: Period,
    process_from: int = PROCESS_FROM_ROWS,
) -> QuarterlyReview:
    """Which criteria and score items predicted wins over `quarter`'s toss-ups, never built on the event
    loop: from `process_from` toss-ups in the KPI process, as the monthly review."""
    url = database_url(sessions)
    in_quarter = await count_created(sessions, start=quarter.start, end=quarter.end) if url else 0
    if url is not None and in_quarter >= process_from:
        return await build_in_kpi_process(url, partial(_quarterly_review, config=config, quarter=quarter))
    return await _quarterly_review(sessions, config, quarter=quarter)


async def _quarterly_review(
    sessions: async_sessionmaker[AsyncSession], config: AppConfig, *, quarter: Period
) -> QuarterlyReview:
    async with sessions() as session:
        facts = await load_quarterly_facts(session=session, quarter=quarter)
    return await asyncio.to_thread(build_quarterly_review, facts, QuarterlyRules(criteria=config.criteria))


Digest = WeeklyAgenda | MonthlyReview | QuarterlyReview


async def compute_digest(
    kind: DigestKind,
    sessions: async_sessionmaker[AsyncSession],
    config: AppConfig,
    *,
    period: Period,
    now: datetime,
) -> Digest:
    reads = for_reading(sessions)  # long reads: beside the writer, not in front of it (store.db)
    match kind:
        case DigestKind.WEEKLY:
            return await compute_weekly_agenda(reads, config, week=period, now=now)
        case DigestKind.MONTHLY:
            return await compute_monthly_review(reads, config, month=period, now=now)
        case DigestKind.QUARTERLY:
            return await compute_quarterly_review(reads, config, quarter=period)


def reply_key(digest_id: int, part: str) -> str:
    return f"{DIGEST_REPLY}:{digest_id}:{part}"


def digest_posts(kind: DigestKind, digest_id: int, content: Digest) -> list[NewOutbox]:
    """The lead message, then each part of the thread in meeting order (each waits for the one before);
    an empty period is the lead alone, one line saying so."""
    lead = NewOutbox(
        kind=DIGEST_LEAD, dedupe_key=f"{DIGEST_LEAD}:{digest_id}", payload={"digest_id": digest_id}
    )
    if content.is_empty:
        return [lead]
    parts = THREAD_PARTS[kind]
    return [lead] + [
        NewOutbox(
            kind=DIGEST_REPLY,
            dedupe_key=reply_key(digest_id, part),
            payload={
                "digest_id": digest_id,
                "part": part,
                "after": reply_key(digest_id, parts[index - 1]) if index else None,
            },
        )
        for index, part in enumerate(parts)
    ]


# ------------------------------------------------------------------------------------------ posting


async def post_digest(
    kind: DigestKind,
    *,
    sessions: async_sessionmaker[AsyncSession],
    config: AppConfig,
    send_now: Callable[[], Awaitable[object]] | None,
    period: Period,
    now: datetime,
    claimed_by: str,
) -> DigestOutcome:
    """Claim `period` in the digest's channel and post it, exactly once.

    `send_now` drains the outbox at once (the running bot's delivery); without it the rows wait for the
    delivery loop.
    """
    schedule = schedule_of(kind, config)
    if schedule is None:
        return DigestOutcome(DigestStatus.NOT_CONFIGURED)
    channel = config.digest_channel(schedule)

    async def existing() -> DigestRecord | None:
        async with sessions() as session:
            return await find_digest(
                session=session, kind=kind.value, channel_id=channel, period_start=period.first_day
            )

    found = await existing()
    if found is not None:
        return DigestOutcome(DigestStatus.ALREADY_CLAIMED, found)
    content: BaseModel = await compute_digest(kind, sessions, config, period=period, now=now)
    async with sessions() as session:
        digest_id = await claim_digest(
            session=session,
            kind=kind.value,
            channel_id=channel,
            period_start=period.first_day,
            period_end=period.last_day,
            lang=config.locale.value,
            content=content.model_dump(mode="json"),
            claimed_by=claimed_by,
            now=now,
            posts_for=lambda new_id: digest_posts(kind, new_id, content),  # type: ignore[arg-type]
        )
    if digest_id is None:  # another replica claimed it between our look and our claim
        return DigestOutcome(DigestStatus.ALREADY_CLAIMED, await existing())
    log.info("%s digest for %s claimed for %s (digest %s)", kind, period.first_day, channel, digest_id)
    if send_now is not None:
        await send_now()
    async with sessions() as session:
        record = await get_digest(session=session, digest_id=digest_id)
    posted = record is not None and record.lead_ts is not None
    return DigestOutcome(DigestStatus.POSTED if posted else DigestStatus.QUEUED, record)


async def run_schedule(
    kind: DigestKind,
    *,
    sessions: async_sessionmaker[AsyncSession],
    config: AppConfig,
    send_now: Callable[[], Awaitable[object]] | None,
    now: datetime,
) -> DigestOutcome:
    """The scheduled job (cron, and the catch-up): post the digest's due period, if any."""
    schedule = schedule_of(kind, config)
    if schedule is None:
        return DigestOutcome(DigestStatus.NOT_CONFIGURED)
    period = due_period(kind, schedule, now=now, config=config)
    if period is None:
        return DigestOutcome(DigestStatus.NOT_DUE)
    return await post_digest(
        kind,
        sessions=sessions,
        config=config,
        send_now=send_now,
        period=period,
        now=now,
        claimed_by="schedule",
    )
