"""The collaboration diagnosis's steps between a handler and the store: who may diagnose, what the data
says (the evidence the checklist starts from), storing a result, and the reads the monthly review and App
Home show (the latest level, a month against earlier).

The handler acks first and opens a "counting…" modal with the command's trigger (it expires in three
seconds); the evidence is counted after that and the modal updated, so the ack never waits on a query.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from math import floor
from zoneinfo import ZoneInfo

from slack_sdk.models.views import View
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import AppConfig
from bot.domain.criteria import CriteriaMode
from bot.domain.diagnosis import (
    FEEDBACK_DAYS,
    MEETING_DAYS,
    PDCA_DAYS,
    RECENT_DAYS,
    TEMPLATE_FILLED_SHARE,
    DiagnosisFacts,
    DiagnosisItem,
    DiagnosisPoint,
    DiagnosisRecord,
    DiagnosisTrend,
    Evidence,
    evidence_for,
)
from bot.domain.kpi import Period
from bot.domain.score import COMPLETENESS_FIELDS
from bot.i18n import Lang
from modals.diagnose import DiagnosisModalMeta, build_diagnosis_modal
from store.db import for_reading
from store.diagnosis import (
    DiagnosisSaved,
    EvidenceWindow,
    NewDiagnosis,
    diagnosis_trend,
    latest_diagnosis,
    load_evidence_counts,
    save_diagnosis,
)

Sessions = async_sessionmaker[AsyncSession]
log = logging.getLogger(__name__)

# A memo "uses the template" with at most this many of its fields unanswered (5 of 29 at 80 %).
UNANSWERED_MAX = floor(len(COMPLETENESS_FIELDS) * (1 - TEMPLATE_FILLED_SHARE))


def may_diagnose_team(config: AppConfig, actor_id: str) -> bool:
    """Whether the team's roles let `actor_id` diagnose the collaboration: anyone on the team."""
    return config.roles.has_member(actor_id)


def evidence_window(config: AppConfig, now: datetime) -> EvidenceWindow:
    return EvidenceWindow(
        now=now,
        recent_since=now - timedelta(days=RECENT_DAYS),
        meeting_since=now - timedelta(days=MEETING_DAYS),
        feedback_since=now - timedelta(days=FEEDBACK_DAYS),
        closed_since=now - timedelta(days=PDCA_DAYS),
        unanswered_max=UNANSWERED_MAX,
    )


async def diagnosis_facts(sessions: Sessions, config: AppConfig, *, now: datetime) -> DiagnosisFacts:
    """What the store counts and the configuration says, as the domain reads it."""
    async with for_reading(sessions)() as session:
        counts = await load_evidence_counts(session=session, window=evidence_window(config, now))
    weights = config.score.weights
    return DiagnosisFacts(
        now=now,
        criteria_rules=len(config.criteria.rules),
        criteria_gate=config.criteria.mode is CriteriaMode.GATE,
        recent_toss_ups=counts.recent_toss_ups,
        recent_templated=counts.recent_templated,
        recent_scored=counts.recent_scored,
        recent_average_score=counts.recent_average_score,
        memo_score_max=weights.memo_max,
        weekly_scheduled=config.digests.weekly is not None,
        weekly_posted_at=counts.weekly_posted_at,
        meetings=counts.meetings,
        meetings_rated=counts.meetings_rated,
        meetings_rated_back=counts.meetings_rated_back,
        issues_closed=counts.issues_closed,
        last_issue_closed_at=counts.last_issue_closed_at,
    )


async def diagnosis_evidence(
    sessions: Sessions, config: AppConfig, *, now: datetime
) -> dict[DiagnosisItem, Evidence]:
    return evidence_for(await diagnosis_facts(sessions, config, now=now))


async def diagnosis_view(
    sessions: Sessions,
    config: AppConfig,
    *,
    lang: Lang,
    reader_tz: ZoneInfo,
    channel_id: str | None,
    now: datetime,
) -> View:
    """The checklist modal, its data items ticked from the evidence. Should the data not be readable,
    the checklist still opens, every item left to the person."""
    try:
        evidence = await diagnosis_evidence(sessions, config, now=now)
    except Exception:  # a database hiccup must not cost the person the form
        log.exception("could not count the diagnosis evidence; opening the checklist without it")
        evidence = {}
    return build_diagnosis_modal(
        lang=lang,
        tz=reader_tz,
        evidence=evidence,
        as_of=now,
        meta=DiagnosisModalMeta(channel_id=channel_id, lang=lang),
    )


async def record_diagnosis(
    sessions: Sessions,
    *,
    checked: frozenset[DiagnosisItem],
    actor_id: str,
    submission_key: str,
    channel_id: str | None,
    now: datetime,
) -> DiagnosisSaved:
    """Store a completed checklist with who and when (the same view again stores nothing)."""
    data = NewDiagnosis(
        submission_key=submission_key, diagnosed_by=actor_id, checked=checked, channel_id=channel_id
    )
    async with sessions() as session:
        return await save_diagnosis(session=session, data=data, now=now)


async def latest_level(sessions: Sessions) -> DiagnosisRecord | None:
    """The team's latest diagnosis (a manager's App Home)."""
    async with sessions() as session:
        return await latest_diagnosis(session=session)


async def month_diagnosis_trend(sessions: Sessions, *, month: Period) -> DiagnosisTrend:
    """The month's latest diagnosis against the latest one before the month (the monthly review)."""
    async with sessions() as session:
        current, previous = await diagnosis_trend(session=session, start=month.start, end=month.end)
    return DiagnosisTrend(
        current=DiagnosisPoint.of(current) if current is not None else None,
        previous=DiagnosisPoint.of(previous) if previous is not None else None,
    )
