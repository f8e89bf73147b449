"""App Home's reads: what the Home tab shows one person, gathered without Slack.

Every list is bounded and read over indexed columns; the reads that need no common transaction run side
by side (each on its own session), and the KPI arithmetic runs off the event loop, so opening the tab
is never behind a big query and never holds up an ack.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import AppConfig
from bot.diagnosis import latest_level
from bot.domain.diagnosis import LatestDiagnosis
from bot.domain.feedback import FollowUp
from bot.domain.handoff import HandoffSnapshot, HandoffStatus, may_toss_up
from bot.domain.kpi import Kpis, Period, compute_kpis, current_month
from bot.domain.outcome import OutcomeKind
from bot.domain.received_feedback import ReceivedFeedback, received_feedback
from bot.domain.sla import sla_deadline
from bot.feedback_loop import RECENT_SHEETS
from bot.kpis import team_kpis_this_month
from store.db import for_reading
from store.feedback import list_follow_ups, outcome_kinds
from store.handoffs import list_handoffs
from store.home import sheets_received
from store.kpi import load_kpi_facts

Sessions = async_sessionmaker[AsyncSession]

HOME_LIST_SIZE = 10  # toss-ups per list, and meetings to follow up
SHEETS_SHOWN = 3  # the latest feedback sheets an IS rep sees in full


@dataclass(frozen=True)
class HomeContent:
    tossed_up: list[HandoffSnapshot]
    waiting: list[HandoffSnapshot]
    follow_ups: list[FollowUp]
    team_kpis: tuple[Period, Kpis] | None = None  # managers
    received: ReceivedFeedback | None = None  # IS reps
    my_kpis: tuple[Period, Kpis] | None = None  # IS reps
    diagnosis: LatestDiagnosis | None = None  # managers: the team's latest /tossup diagnose
    may_toss_up: bool = True  # False: an FS rep with IS members listed (`/tossup` would refuse them)
    outcomes: dict[int, OutcomeKind] = field(default_factory=dict)  # the rep's toss-ups FS closed
    overdue: frozenset[int] = frozenset()  # waiting toss-ups past the acceptance SLA


def is_inside_sales(config: AppConfig, user_id: str) -> bool:
    """Whether `user_id` gets the IS rep's part of App Home: listed as IS, or — with no IS list — anyone
    not listed as FS."""
    roles = config.roles
    if roles.inside_sales:
        return user_id in roles.inside_sales
    return user_id not in roles.field_sales


async def rep_kpis_this_month(
    sessions: Sessions, *, config: AppConfig, user_id: str, now: datetime
) -> tuple[Period, Kpis]:
    """`user_id`'s own KPIs of the current month (the team's month), as `/tossup kpi` counts them: only
    their toss-ups are read."""
    period = current_month(now=now, tz=config.tz)
    async with for_reading(sessions)() as session:
        facts = await load_kpi_facts(session=session, start=period.start, end=period.end, user_id=user_id)
    kpis = await asyncio.to_thread(
        compute_kpis,
        facts,
        start=period.start,
        end=period.end,
        user=user_id,
        tz=config.tz,
        business_hours=config.sla.business_hours,
    )
    return period, kpis


async def feedback_received(sessions: Sessions, *, config: AppConfig, user_id: str) -> ReceivedFeedback:
    """The latest sheets on `user_id`'s toss-ups and what FS asked them to collect next time."""
    async with for_reading(sessions)() as session:
        rows = await sheets_received(session=session, is_user_id=user_id, limit=RECENT_SHEETS)
    return received_feedback(
        rows,
        shown=SHEETS_SHOWN,
        learning_limit=config.feedback.learning_loop_items,
        anonymous=config.feedback.anonymous,
    )


async def _lists(
    sessions: Sessions, *, config: AppConfig, user_id: str, now: datetime
) -> tuple[list[HandoffSnapshot], list[HandoffSnapshot], list[FollowUp], dict[int, OutcomeKind]]:
    roles = config.roles
    # Unassigned toss-ups wait for whoever may take them: FS members (anyone, with none configured).
    takes_unassigned = not roles.field_sales or user_id in roles.field_sales or user_id in roles.managers
    async with for_reading(sessions)() as session:
        tossed_up = await list_handoffs(session=session, is_user_id=user_id, limit=HOME_LIST_SIZE)
        waiting = await list_handoffs(
            session=session,
            fs_user_id=user_id,
            unassigned=takes_unassigned,
            statuses=[HandoffStatus.PENDING],
            limit=HOME_LIST_SIZE,
        )
        owed = await list_follow_ups(session=session, user_id=user_id, met_by=now, limit=HOME_LIST_SIZE)
        outcomes = await outcome_kinds(session=session, handoff_ids=[handoff.id for handoff in tossed_up])
    return tossed_up, waiting, owed, outcomes


async def _none() -> None:
    return None


async def _latest_diagnosis(sessions: Sessions) -> LatestDiagnosis:
    return LatestDiagnosis(record=await latest_level(sessions))


async def home_content(sessions: Sessions, *, config: AppConfig, user_id: str, now: datetime) -> HomeContent:
    """Everything the Home tab shows `user_id`, read concurrently."""
    is_rep = is_inside_sales(config, user_id)
    is_manager = user_id in config.roles.managers
    lists, team_kpis, received, my_kpis, diagnosis = await asyncio.gather(
        _lists(sessions, config=config, user_id=user_id, now=now),
        team_kpis_this_month(sessions, config=config, now=now)
        if user_id in config.roles.managers
        else _none(),
        feedback_received(sessions, config=config, user_id=user_id) if is_rep else _none(),
        rep_kpis_this_month(sessions, config=config, user_id=user_id, now=now) if is_rep else _none(),
        _latest_diagnosis(sessions) if is_manager else _none(),
    )
    tossed_up, waiting, follow_ups, outcomes = lists
    sla = config.sla
    overdue = frozenset(
        handoff.id
        for handoff in waiting
        if sla.enabled and sla_deadline(handoff.created_at, sla, tz=config.tz) <= now
    )
    return HomeContent(
        tossed_up=tossed_up,
        waiting=waiting,
        follow_ups=follow_ups,
        team_kpis=team_kpis,
        received=received,
        my_kpis=my_kpis,
        diagnosis=diagnosis,
        outcomes=outcomes,
        overdue=overdue,
        may_toss_up=may_toss_up(
            actor_id=user_id, inside_sales=config.roles.inside_sales, managers=config.roles.managers
        ),
    )
