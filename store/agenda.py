"""What the weekly agenda needs from the database, read with a fixed handful of SQL statements.

Each query is a range on an index of (status, time) or of a time alone (creation, sheet update), and
each list stops at `LIST_MAX` rows in the order the agenda shows them, its true total counted alongside
(`COUNT(*) OVER ()`): the cost follows the week's rows and what the agenda shows, never the history.
Which accepted deals need support is decided here in SQL by the same rules `bot.domain.agenda` states
(one reason per deal), so a list can stop early and still be counted right. Memo JSON is never decoded;
only the few lowest-scored toss-ups have their score breakdown read. One read transaction, ended before
returning; frozen dataclasses out (`bot.domain.agenda`), never ORM rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.domain.agenda import (
    LIST_MAX,
    LOW_SCORES_MAX,
    REQUESTED_INFO_WEEKS,
    AgendaFacts,
    AgendaRules,
    OpenTossUp,
    ReturnFacts,
    ScoreLossFacts,
    SupportReason,
    WeekTossUp,
    overdue_created_before,
)
from bot.domain.feedback import MeetingResult
from bot.domain.handoff import HandoffStatus, fs_rep_on
from bot.domain.kpi import Period, week_of
from bot.domain.moments import local_days_before
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


_TOTAL = func.count().over().label("total")  # the list's size before LIMIT
_RESULT = FeedbackRecord.sheet["result"].as_string()  # the meeting result FS gave on the sheet


def _total(rows: Sequence) -> int:
    return int(rows[0].total) if rows else 0


def _open_query() -> Select:
    """Toss-ups with what the support and next-week sections ask of them (sheet, hold, outcome), and the
    count of all that match (before the LIMIT)."""
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
            _RESULT.label("result"),
            OutcomeRecord.kind.label("outcome"),
            _TOTAL,
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


# The statements are built once, with the times as bound parameters: a read costs its SQL, not the
# building and cache-keying of a dozen statements.

# The returned toss-up a revision revises, for the link on its "🔁 revises #3" mark.
_REVISED = aliased(Handoff, name="revised")
_THIS_WEEK = (
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
        Handoff.revision_of_id,
        _REVISED.notice_channel_id.label("revised_notice_channel_id"),
        _REVISED.notice_ts.label("revised_notice_ts"),
        FeedbackRecord.handoff_id.label("rated_id"),
        OutcomeRecord.kind.label("outcome"),
    )
    .outerjoin(FeedbackRecord, FeedbackRecord.handoff_id == Handoff.id)
    .outerjoin(OutcomeRecord, OutcomeRecord.handoff_id == Handoff.id)
    .outerjoin(_REVISED, _REVISED.id == Handoff.revision_of_id)
    .where(Handoff.created_at >= bindparam("start"), Handoff.created_at < bindparam("end"))
    .order_by(Handoff.created_at, Handoff.id)
)
_LAST_WEEK_AVERAGE = select(func.avg(Handoff.memo_score)).where(
    Handoff.created_at >= bindparam("last_start"),
    Handoff.created_at < bindparam("start"),
    Handoff.memo_score.is_not(None),
)
_SCORES = select(Handoff.id, Handoff.score).where(Handoff.id.in_(bindparam("ids", expanding=True)))
_RETURNS = (
    select(
        Handoff.id,
        Handoff.company,
        Handoff.is_user_id,
        Handoff.decided_by,
        Handoff.decided_at,
        Handoff.return_reason,
        Handoff.return_note,
        _TOTAL,
    )
    .where(
        Handoff.status == HandoffStatus.RETURNED,
        Handoff.decided_at >= bindparam("start"),
        Handoff.decided_at < bindparam("end"),
    )
    .order_by(Handoff.decided_at, Handoff.id)
    .limit(LIST_MAX)
)
# Oldest first: the toss-ups past the acceptance SLA are a prefix of this order (a later toss-up never
# has an earlier deadline), so one list serves "waiting" and "past the SLA".
_PENDING = (
    _open_query()
    .where(Handoff.status == HandoffStatus.PENDING)
    .order_by(Handoff.created_at, Handoff.id)
    .limit(LIST_MAX)
)
_PAST_SLA = select(func.count()).where(
    Handoff.status == HandoffStatus.PENDING, Handoff.created_at <= bindparam("overdue_before")
)
_MEETINGS = (
    _open_query()
    .where(
        Handoff.status.in_([HandoffStatus.PENDING, HandoffStatus.ACCEPTED]),
        Handoff.meeting_at >= bindparam("week_end"),
        Handoff.meeting_at < bindparam("next_end"),
    )
    .order_by(Handoff.meeting_at, Handoff.id)
    .limit(LIST_MAX)
)
_NEXT_INFO = FeedbackRecord.sheet["next_info"].as_string()
_REQUESTED = (
    select(_NEXT_INFO)
    .where(
        FeedbackRecord.updated_at >= bindparam("info_start"),
        FeedbackRecord.updated_at < bindparam("end"),
        _NEXT_INFO.is_not(None),
    )
    .order_by(FeedbackRecord.updated_at, FeedbackRecord.handoff_id)
)


def _support_query(reason: SupportReason) -> Select:
    """Accepted deals needing support for `reason`, as `bot.domain.agenda` decides them (one reason per
    deal): the sheet is overdue; else FS rated it 保留; else no outcome `outcome_due_days` after the
    meeting. Only meetings held since `lookback_from`, and never a deal already won or lost."""
    held_by, conditions = {
        SupportReason.FEEDBACK_OVERDUE: ("feedback_due", [FeedbackRecord.handoff_id.is_(None)]),
        SupportReason.ON_HOLD: (
            "now",
            [FeedbackRecord.handoff_id.is_not(None), _RESULT == MeetingResult.ON_HOLD.value],
        ),
        SupportReason.OUTCOME_MISSING: (
            "outcome_due",
            [
                FeedbackRecord.handoff_id.is_not(None),
                or_(_RESULT.is_(None), _RESULT != MeetingResult.ON_HOLD.value),
                OutcomeRecord.kind.is_(None),
            ],
        ),
    }[reason]
    return (
        _open_query()
        .where(
            Handoff.status == HandoffStatus.ACCEPTED,
            Handoff.meeting_at >= bindparam("lookback_from"),
            Handoff.meeting_at <= bindparam(held_by),
            or_(OutcomeRecord.kind.is_(None), OutcomeRecord.kind.not_in(_FINAL)),
            *conditions,
        )
        .order_by(Handoff.meeting_at, Handoff.id)
        .limit(LIST_MAX)
    )


_SUPPORT = {
    reason: _support_query(reason)
    for reason in (SupportReason.FEEDBACK_OVERDUE, SupportReason.ON_HOLD, SupportReason.OUTCOME_MISSING)
}


async def load_agenda_facts(
    *,
    session: AsyncSession,
    week: Period,
    now: datetime,
    rules: AgendaRules,
    lookback_days: int,
    reviewed: Period | None = None,
    reviewed_before: Period | None = None,
) -> AgendaFacts:
    """The facts of the week and of what is open at `now`: the toss-ups, returns and scores of `reviewed`
    [start, end) (by default the week itself); the average of the window before it, `reviewed_before`
    (by default the same local times a week earlier: 7 × 24 h is not a week across a DST change); the
    meetings of the calendar week after `week`.

    lookback_days bounds how far back accepted deals are chased for a sheet or an outcome (by meeting
    time). Open collaboration issues are not loaded here (see `store.issues`).
    """
    start, end = (reviewed or week).start, (reviewed or week).end
    overdue_before = overdue_created_before(now, rules)
    params = {
        "start": start,
        "end": end,
        # the window before, when it ends where this one starts (a schedule that skipped a week: 7 days)
        "last_start": reviewed_before.start
        if reviewed_before is not None and reviewed_before.end == start
        else local_days_before(start, 7, rules.tz),
        "week_end": week.end,
        "next_end": week_of(week.last_day + timedelta(days=1), rules.tz).end,
        "info_start": local_days_before(end, 7 * REQUESTED_INFO_WEEKS, rules.tz),
        "now": now,
        "lookback_from": now - timedelta(days=lookback_days),
        "feedback_due": now - timedelta(hours=rules.feedback_delay_hours),
        "outcome_due": now - timedelta(days=rules.outcome_due_days),
        "overdue_before": overdue_before,
    }
    async with own_transaction(session):
        connection = await session.connection()  # plain rows: no ORM entities to build

        async def rows(statement: Select, **extra: object) -> Sequence:
            return (await connection.execute(statement, {**params, **extra})).all()

        week_rows = await rows(_THIS_WEEK)
        last_week_average = (await rows(_LAST_WEEK_AVERAGE))[0][0]
        lowest = sorted(
            (
                row
                for row in week_rows
                if row.memo_score is not None and row.memo_score < rules.memo_score_max
            ),
            key=lambda row: (row.memo_score, row.id),
        )[:LOW_SCORES_MAX]
        scores = dict(await rows(_SCORES, ids=[row.id for row in lowest])) if lowest else {}
        return_rows = await rows(_RETURNS)
        pending_rows = await rows(_PENDING)
        past_sla = (await rows(_PAST_SLA))[0][0] if overdue_before is not None else 0
        support_rows = {reason: await rows(statement) for reason, statement in _SUPPORT.items()}
        meeting_rows = await rows(_MEETINGS)
        requested = [text for (text,) in await rows(_REQUESTED) if text]

    return AgendaFacts(
        week=week,
        reviewed=reviewed,
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
                revision_of_id=row.revision_of_id,
                revision_notice_channel_id=row.revised_notice_channel_id,
                revision_notice_ts=row.revised_notice_ts,
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
        accepted_open=[row for rows in support_rows.values() for row in _open(rows)],
        next_week_meetings=_open(meeting_rows),
        requested_info=requested,
        pending_total=_total(pending_rows),
        past_sla_total=int(past_sla or 0),
        support_totals={reason: _total(rows) for reason, rows in support_rows.items()},
        meetings_total=_total(meeting_rows),
        returns_total=_total(return_rows),
    )
