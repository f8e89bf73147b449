"""Collaboration diagnoses in the database: the evidence the checklist starts from, and the results.

The evidence is four aggregate reads (COUNT / SUM / AVG / MAX over indexed time ranges), never rows
loaded into Python: the recent toss-ups by creation time (how many answer the template, how many are
scored), the last weekly agenda posted, the last month's meetings with their feedback sheets (by status
and meeting time), and the collaboration issues closed lately (by closing time). How complete a memo is
comes from its stored score breakdown: the completeness item lists one loss per unanswered template
field, so the database counts the losses (`json_array_length` / `jsonb_array_length`) without decoding
the memo.

Like the rest of the store, every function ends its own transaction, and saving is safe to repeat: a
diagnosis is unique by its submission key (the modal's view id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bot.domain.diagnosis import DiagnosisItem, DiagnosisRecord, diagnose, parse_items
from bot.domain.handoff import HandoffStatus
from bot.domain.score import ScoreItemKey
from store._tx import own_transaction
from store.diagnosis_models import DiagnosisRow
from store.issue_models import CollabIssueRecord
from store.models import DigestPost, FeedbackRecord, Handoff, IsRatingRecord

__all__ = [
    "DiagnosisSaved",
    "EvidenceCounts",
    "EvidenceWindow",
    "NewDiagnosis",
    "diagnosis_trend",
    "latest_diagnosis",
    "load_evidence_counts",
    "save_diagnosis",
]

WEEKLY_DIGEST_KIND = "weekly"  # bot.digests.DigestKind.WEEKLY (the store knows no bot modules)
# A stored breakdown lists at most one item per score table row.
_SCORE_ITEMS_MAX = len(ScoreItemKey)


@dataclass(frozen=True, slots=True)
class EvidenceWindow:
    """The time ranges the evidence is counted over (aware datetimes; each ends at `now`)."""

    now: datetime
    recent_since: datetime  # the recent toss-ups (the template, the scores)
    meeting_since: datetime  # the weekly agenda posted since
    feedback_since: datetime  # meetings held since, with their feedback sheets
    closed_since: datetime  # collaboration issues closed since
    unanswered_max: int  # a memo with at most this many template fields unanswered "uses the template"


@dataclass(frozen=True, slots=True)
class EvidenceCounts:
    recent_toss_ups: int
    recent_templated: int
    recent_scored: int
    recent_average_score: float | None
    weekly_posted_at: datetime | None
    meetings: int
    meetings_rated: int
    meetings_rated_back: int
    issues_closed: int
    last_issue_closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewDiagnosis:
    submission_key: str  # the modal's view.id
    diagnosed_by: str
    checked: frozenset[DiagnosisItem]
    channel_id: str | None = None


@dataclass(frozen=True, slots=True)
class DiagnosisSaved:
    record: DiagnosisRecord
    created: bool  # False: this submission was stored before, nothing was written


# ------------------------------------------------------------------------------------------ evidence


def _completeness_losses(dialect: str) -> ColumnElement[Any]:
    """The number of unanswered template fields of a scored memo (NULL when it has no completeness item
    with points to lose): the completeness item's loss count, wherever it sits in the items list."""
    key = ScoreItemKey.COMPLETENESS.value
    whens = []
    for index in range(_SCORE_ITEMS_MAX):
        if dialect == "postgresql":
            item = Handoff.score.op("->")(literal("items")).op("->")(literal(index))
            item_key = item.op("->>")(literal("key"))
            max_points = item.op("->>")(literal("max_points"))
            losses = func.jsonb_array_length(item.op("->")(literal("losses")))
            whens.append((and_(item_key == key, max_points != "0"), losses))
        else:
            path = f"$.items[{index}]"
            item_key = func.json_extract(Handoff.score, f"{path}.key")
            max_points = func.json_extract(Handoff.score, f"{path}.max_points")
            losses = func.json_array_length(Handoff.score, f"{path}.losses")
            whens.append((and_(item_key == key, max_points > 0), losses))
    return case(*whens, else_=None)


async def load_evidence_counts(*, session: AsyncSession, window: EvidenceWindow) -> EvidenceCounts:
    """What the checklist's data items rest on, counted by the database in one read transaction."""
    dialect = session.get_bind().dialect.name
    losses = _completeness_losses(dialect)
    quarter = select(
        func.count(Handoff.id),
        func.sum(case((losses <= window.unanswered_max, 1), else_=0)),
        func.count(Handoff.memo_score),
        func.avg(Handoff.memo_score),
    ).where(Handoff.created_at >= window.recent_since, Handoff.created_at < window.now)
    weekly = select(func.max(DigestPost.posted_at)).where(
        DigestPost.kind == WEEKLY_DIGEST_KIND,
        DigestPost.posted_at >= window.meeting_since,
        DigestPost.posted_at <= window.now,
    )
    meetings = (
        select(
            func.count(Handoff.id),
            func.count(FeedbackRecord.handoff_id),
            func.count(IsRatingRecord.handoff_id),
        )
        .select_from(Handoff)
        .outerjoin(FeedbackRecord, FeedbackRecord.handoff_id == Handoff.id)
        .outerjoin(IsRatingRecord, IsRatingRecord.handoff_id == Handoff.id)
        .where(
            Handoff.status == HandoffStatus.ACCEPTED,
            Handoff.meeting_at >= window.feedback_since,
            Handoff.meeting_at < window.now,
        )
    )
    closed = select(func.count(CollabIssueRecord.id), func.max(CollabIssueRecord.closed_at)).where(
        CollabIssueRecord.closed_at >= window.closed_since, CollabIssueRecord.closed_at <= window.now
    )
    async with own_transaction(session):
        toss_ups, templated, scored, average = (await session.execute(quarter)).one()
        posted_at = await session.scalar(weekly)
        held, rated, rated_back = (await session.execute(meetings)).one()
        issues, last_closed = (await session.execute(closed)).one()
    return EvidenceCounts(
        recent_toss_ups=int(toss_ups or 0),
        recent_templated=int(templated or 0),
        recent_scored=int(scored or 0),
        recent_average_score=float(average) if average is not None else None,
        weekly_posted_at=_aware(posted_at),
        meetings=int(held or 0),
        meetings_rated=int(rated or 0),
        meetings_rated_back=int(rated_back or 0),
        issues_closed=int(issues or 0),
        last_issue_closed_at=_aware(last_closed),
    )


def _aware(value: object) -> datetime | None:
    """MAX() over a UTCDateTime column comes back through the type on PostgreSQL, as text on SQLite."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# ------------------------------------------------------------------------------------------ results


def _record(row: DiagnosisRow) -> DiagnosisRecord:
    return DiagnosisRecord(
        id=row.id,
        diagnosed_by=row.diagnosed_by,
        diagnosed_at=row.diagnosed_at,
        checked=parse_items(row.items or ()),
    )


async def _by_key(session: AsyncSession, submission_key: str) -> DiagnosisRecord | None:
    async with own_transaction(session):
        row = await session.scalar(select(DiagnosisRow).where(DiagnosisRow.submission_key == submission_key))
        return _record(row) if row is not None else None


async def save_diagnosis(*, session: AsyncSession, data: NewDiagnosis, now: datetime) -> DiagnosisSaved:
    """Store a completed checklist with who and when. The same `submission_key` again (a double click,
    Slack retrying, two replicas racing) returns the stored one with `created=False`."""
    existing = await _by_key(session, data.submission_key)
    if existing is not None:
        return DiagnosisSaved(record=existing, created=False)
    result = diagnose(data.checked)
    try:
        async with own_transaction(session):
            row = DiagnosisRow(
                submission_key=data.submission_key,
                diagnosed_by=data.diagnosed_by,
                diagnosed_at=now,
                items=[item.value for item in result.ordered()],
                checked_count=result.count,
                level=result.level.value,
                channel_id=data.channel_id,
            )
            session.add(row)
            await session.flush()
            record = _record(row)
    except IntegrityError:  # lost a race with the same view submitted concurrently (rolled back)
        existing = await _by_key(session, data.submission_key)
        if existing is None:
            raise
        return DiagnosisSaved(record=existing, created=False)
    return DiagnosisSaved(record=record, created=True)


def _latest(before: datetime | None, since: datetime | None = None) -> Select[tuple[DiagnosisRow]]:
    """The latest diagnosis in [since, before) (either bound optional)."""
    query = select(DiagnosisRow).order_by(DiagnosisRow.diagnosed_at.desc(), DiagnosisRow.id.desc()).limit(1)
    if before is not None:
        query = query.where(DiagnosisRow.diagnosed_at < before)
    if since is not None:
        query = query.where(DiagnosisRow.diagnosed_at >= since)
    return query


async def latest_diagnosis(
    *, session: AsyncSession, before: datetime | None = None
) -> DiagnosisRecord | None:
    """The most recent diagnosis (before `before`, when given)."""
    async with own_transaction(session):
        row = await session.scalar(_latest(before))
        return _record(row) if row is not None else None


async def diagnosis_trend(
    *, session: AsyncSession, start: datetime, end: datetime
) -> tuple[DiagnosisRecord | None, DiagnosisRecord | None]:
    """(the latest diagnosis in [start, end), the latest one before `start`): a period against earlier."""
    async with own_transaction(session):
        current = await session.scalar(_latest(end, start))
        previous = await session.scalar(_latest(start))
        return (
            _record(current) if current is not None else None,
            _record(previous) if previous is not None else None,
        )
