"""What the weekly agenda needs from the database, read with a fixed handful of SQL statements.

Each query is bounded by an indexed time column (creation, decision, meeting, sheet update) or by the
pending status, so the cost follows the week's rows and what is due now, never the history. Memo JSON
is never decoded here; only the few lowest-scored toss-ups have their score breakdown read. One read
transaction, ended before returning; frozen dataclasses out (`bot.domain.agenda`), never ORM rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.agenda import (
    LOW_SCORES_MAX,
    MEMO_SCORE_MAX,
    REQUESTED_INFO_WEEKS,
    AgendaFacts,
    OpenTossUp,
    ReturnFacts,
    ScoreLossFacts,
    WeekTossUp,
)
from bot.domain.feedback import MeetingResult
from bot.domain.handoff import HandoffStatus, fs_rep_on
from bot.domain.kpi import Period
from bot.domain.outcome import OutcomeKind
from bot.domain.score import ScoreBreakdown, ScoreItemKey
from store._tx import own_transaction
from store.models import FeedbackRecord, Handoff, OutcomeRecord

__all__ = ["load_agenda_facts"]

_FINAL = (OutcomeKind.WON.value, OutcomeKind.LOST.value)


def _outcome(kind: str | None) -> OutcomeKind | None:
    return OutcomeKind(kind) if kind else None


def _fs(row: object) -> str | None:
    return fs_rep_on(
        fs_user_id=row.fs_user_id,  # type: ignore[attr-defined]
        status=HandoffStatus(row.status),  # type: ignore[attr-defined]
        decided_by=row.decided_by,  # type: ignore[attr-defined]
    )


def _open_query() -> Select:
    """Toss-ups with what the support and next-week sections ask of them (sheet, hold, outcome)."""
    return (
        select(
            Handoff.id,
            Handoff.company,
            Handoff.is_user_id,
            Handoff.fs_user_id,
            Handoff.decided_by,
            Handoff.status,
            Handoff.created_at,
            Handoff.meeting_at,
            Handoff.notice_channel_id,
            Handoff.notice_ts,
            FeedbackRecord.handoff_id.label("rated_id"),
            FeedbackRecord.sheet["result"].as_string().label("result"),
            OutcomeRecord.kind.label("outcome"),
        )
        .outerjoin(FeedbackRecord, FeedbackRecord.handoff_id == Handoff.id)
        .outerjoin(OutcomeRecord, OutcomeRecord.handoff_id == Handoff.id)
    )


def _open(rows: Sequence) -> list[OpenTossUp]:
    return [
        OpenTossUp(
            id=row.id,
            company=row.company,
            is_user_id=row.is_user_id,
            fs_user_id=_fs(row),
            status=HandoffStatus(row.status),
            created_at=row.created_at,
            meeting_at=row.meeting_at,
            rated=row.rated_id is not None,
            on_hold=row.result == MeetingResult.ON_HOLD.value,
            outcome=_outcome(row.outcome),
            notice_channel_id=row.notice_channel_id,
            notice_ts=row.notice_ts,
        )
        for row in rows
    ]


def _losses(handoff_id: int, score: dict | None) -> ScoreLossFacts:
    lost: dict[ScoreItemKey, int] = {}
    if score:
        for item in ScoreBreakdown.from_json(score).items:
            if item.key is not ScoreItemKey.FS_RATING and item.lost > 0:
                lost[item.key] = item.lost
    return ScoreLossFacts(handoff_id=handoff_id, lost=lost)


async def load_agenda_facts(
    *, session: AsyncSession, week: Period, now: datetime, lookback_days: int
) -> AgendaFacts:
    """The facts of the week [week.start, week.end) and of what is open at `now`.

    lookback_days bounds how far back accepted deals are chased for a sheet or an outcome (by meeting
    time). Open collaboration issues are not loaded here (see `store.issues`).
    """
    start, end = week.start, week.end
    next_start, next_end = end, end + timedelta(days=7)
    this_week_query = (
        select(
            Handoff.id,
            Handoff.company,
            Handoff.is_user_id,
            Handoff.fs_user_id,
            Handoff.decided_by,
            Handoff.status,
            Handoff.created_at,
            Handoff.memo_score,
            Handoff.score_total,
            Handoff.notice_channel_id,
            Handoff.notice_ts,
            Handoff.override_reason,
            FeedbackRecord.handoff_id.label("rated_id"),
            OutcomeRecord.kind.label("outcome"),
        )
        .outerjoin(FeedbackRecord, FeedbackRecord.handoff_id == Handoff.id)
        .outerjoin(OutcomeRecord, OutcomeRecord.handoff_id == Handoff.id)
        .where(Handoff.created_at >= start, Handoff.created_at < end)
        .order_by(Handoff.created_at, Handoff.id)
    )
    last_week_query = select(func.avg(Handoff.memo_score)).where(
        Handoff.created_at >= start - timedelta(days=7),
        Handoff.created_at < start,
        Handoff.memo_score.is_not(None),
    )
    returns_query = (
        select(
            Handoff.id,
            Handoff.company,
            Handoff.is_user_id,
            Handoff.decided_by,
            Handoff.decided_at,
            Handoff.return_reason,
            Handoff.return_note,
        )
        .where(
            Handoff.status == HandoffStatus.RETURNED,
            Handoff.decided_at >= start,
            Handoff.decided_at < end,
        )
        .order_by(Handoff.decided_at, Handoff.id)
    )
    pending_query = (
        _open_query().where(Handoff.status == HandoffStatus.PENDING).order_by(Handoff.created_at, Handoff.id)
    )
    accepted_query = (
        _open_query()
        .where(
            Handoff.status == HandoffStatus.ACCEPTED,
            Handoff.meeting_at >= now - timedelta(days=lookback_days),
            Handoff.meeting_at <= now,
            or_(OutcomeRecord.kind.is_(None), OutcomeRecord.kind.not_in(_FINAL)),
        )
        .order_by(Handoff.meeting_at, Handoff.id)
    )
    meetings_query = (
        _open_query()
        .where(
            Handoff.meeting_at >= next_start,
            Handoff.meeting_at < next_end,
            Handoff.status.in_([HandoffStatus.PENDING, HandoffStatus.ACCEPTED]),
        )
        .order_by(Handoff.meeting_at, Handoff.id)
    )
    next_info = FeedbackRecord.sheet["next_info"].as_string()
    requested_query = (
        select(next_info)
        .where(
            and_(
                FeedbackRecord.updated_at >= end - timedelta(weeks=REQUESTED_INFO_WEEKS),
                FeedbackRecord.updated_at < end,
                next_info.is_not(None),
            )
        )
        .order_by(FeedbackRecord.updated_at, FeedbackRecord.handoff_id)
    )
    async with own_transaction(session):
        week_rows = (await session.execute(this_week_query)).all()
        last_week_average = await session.scalar(last_week_query)
        lowest = sorted(
            (row for row in week_rows if row.memo_score is not None and row.memo_score < MEMO_SCORE_MAX),
            key=lambda row: (row.memo_score, row.id),
        )[:LOW_SCORES_MAX]
        scores = {}
        if lowest:
            scores = dict(
                (
                    await session.execute(
                        select(Handoff.id, Handoff.score).where(Handoff.id.in_([row.id for row in lowest]))
                    )
                ).all()
            )
        return_rows = (await session.execute(returns_query)).all()
        pending_rows = (await session.execute(pending_query)).all()
        accepted_rows = (await session.execute(accepted_query)).all()
        meeting_rows = (await session.execute(meetings_query)).all()
        requested = [text for text in (await session.scalars(requested_query)).all() if text]

    return AgendaFacts(
        week=week,
        now=now,
        this_week=[
            WeekTossUp(
                id=row.id,
                company=row.company,
                is_user_id=row.is_user_id,
                fs_user_id=_fs(row),
                status=HandoffStatus(row.status),
                created_at=row.created_at,
                memo_score=row.memo_score,
                score_total=row.score_total,
                rated=row.rated_id is not None,
                outcome=_outcome(row.outcome),
                notice_channel_id=row.notice_channel_id,
                notice_ts=row.notice_ts,
                override_reason=row.override_reason,
            )
            for row in week_rows
        ],
        last_week_average=float(last_week_average) if last_week_average is not None else None,
        losses=[_losses(handoff_id, score) for handoff_id, score in scores.items()],
        returns=[
            ReturnFacts(
                id=row.id,
                company=row.company,
                is_user_id=row.is_user_id,
                returned_by=row.decided_by,
                returned_at=row.decided_at,
                reason=row.return_reason,
                note=row.return_note,
            )
            for row in return_rows
        ],
        pending=_open(pending_rows),
        accepted_open=_open(accepted_rows),
        next_week_meetings=_open(meeting_rows),
        requested_info=requested,
    )
