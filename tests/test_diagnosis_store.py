"""The diagnosis store on SQLite and PostgreSQL: the evidence counted in SQL, results saved once, the
latest and the trend read back."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.diagnosis import DiagnosisItem, DiagnosisLevel
from bot.domain.handoff import HandoffStatus
from bot.domain.issues import Level
from bot.domain.score import ScoreBreakdown, ScoreItem, ScoreItemKey, ScoreLoss
from store.diagnosis import (
    EvidenceWindow,
    NewDiagnosis,
    diagnosis_trend,
    latest_diagnosis,
    load_evidence_counts,
    save_diagnosis,
)
from store.diagnosis_models import DiagnosisRow
from store.issue_models import CollabIssueRecord
from store.models import DigestPost, FeedbackRecord, Handoff, IsRatingRecord

Factory = async_sessionmaker[AsyncSession]

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
RECENT_SINCE = datetime(2026, 9, 30, 15, 0, tzinfo=UTC)  # 2026-10-01 00:00 in Tokyo


def window(now: datetime = NOW) -> EvidenceWindow:
    return EvidenceWindow(
        now=now,
        recent_since=RECENT_SINCE,
        meeting_since=now - timedelta(days=14),
        feedback_since=now - timedelta(days=30),
        closed_since=now - timedelta(days=60),
        unanswered_max=5,
    )


def score(unanswered: int, *, completeness_first: bool = False, rated: bool = False) -> dict[str, Any]:
    losses = tuple(ScoreLoss(f"field_{i}", "score.loss.unanswered") for i in range(unanswered))
    completeness = ScoreItem(ScoreItemKey.COMPLETENESS, 15 - unanswered // 2, 15, losses)
    others = [
        ScoreItem(ScoreItemKey.BANT, 20, 20),
        ScoreItem(ScoreItemKey.ISSUE, 15, 15),
        ScoreItem(ScoreItemKey.COMPETITORS, 10, 10),
        ScoreItem(ScoreItemKey.DECISION_PROCESS, 10, 10),
    ]
    items = [completeness, *others] if completeness_first else [*others, completeness]
    if rated:
        items.append(ScoreItem(ScoreItemKey.FS_RATING, 20, 30))
    return ScoreBreakdown(items=tuple(items)).to_json()


class Seed:
    def __init__(self, factory: Factory) -> None:
        self.factory = factory
        self.count = 0

    async def handoff(
        self,
        created: datetime,
        *,
        unanswered: int | None = 0,
        status: HandoffStatus = HandoffStatus.PENDING,
        meeting: datetime | None = None,
        rated: bool = False,
        rated_back: bool = False,
        **score_options: bool,
    ) -> int:
        self.count += 1
        breakdown = score(unanswered, **score_options) if unanswered is not None else None
        async with self.factory() as session, session.begin():
            row = Handoff(
                submission_key=f"V{self.count}",
                team_id="T0001",
                is_user_id="U0IS",
                channel_id="C0FS",
                status=status,
                company=f"Company {self.count}",
                memo={},
                lang="ja",
                created_at=created,
                meeting_at=meeting,
                score=breakdown,
                score_total=breakdown["total"] if breakdown else None,
                memo_score=60 + self.count if breakdown else None,
            )
            session.add(row)
            await session.flush()
            if rated:
                session.add(
                    FeedbackRecord(
                        handoff_id=row.id,
                        rater_id="U0FS",
                        sheet={},
                        submitted_at=created,
                        updated_at=created,
                    )
                )
            if rated_back:  # IS rated FS's follow-through
                session.add(IsRatingRecord(handoff_id=row.id, rater_id="U0IS", rating={}, rated_at=created))
            return row.id

    async def digest(self, start: date, posted_at: datetime | None, kind: str = "weekly") -> None:
        async with self.factory() as session, session.begin():
            session.add(
                DigestPost(
                    kind=kind,
                    channel_id="C0MEET",
                    period_start=start,
                    period_end=start + timedelta(days=6),
                    lang="ja",
                    content={},
                    claimed_by="schedule",
                    claimed_at=posted_at or NOW,
                    posted_at=posted_at,
                )
            )

    async def issue(self, closed_at: datetime | None) -> None:
        self.count += 1
        async with self.factory() as session, session.begin():
            session.add(
                CollabIssueRecord(
                    submission_key=f"VI{self.count}",
                    problem="p",
                    impact=Level.HIGH,
                    urgency=Level.LOW,
                    raised_by="U0IS",
                    raised_at=NOW - timedelta(days=90),
                    closed_by="U0FS" if closed_at else None,
                    closed_at=closed_at,
                    decision="d" if closed_at else None,
                )
            )


async def counts(factory: Factory, now: datetime = NOW) -> Any:
    async with factory() as session:
        return await load_evidence_counts(session=session, window=window(now))


async def test_an_empty_database_has_no_evidence(session_factory: Factory) -> None:
    found = await counts(session_factory)
    assert (found.recent_toss_ups, found.recent_templated, found.recent_scored) == (0, 0, 0)
    assert found.recent_average_score is None and found.weekly_posted_at is None
    assert (found.meetings, found.meetings_rated, found.issues_closed) == (0, 0, 0)
    assert found.last_issue_closed_at is None


async def test_the_evidence_is_counted_over_its_windows(session_factory: Factory) -> None:
    seed = Seed(session_factory)
    day = timedelta(days=1)
    # Recent: 0, 5 (templated), 6 unanswered (not), one unscored; one before the window; one in the future.
    await seed.handoff(NOW - 10 * day, unanswered=0)
    await seed.handoff(NOW - 20 * day, unanswered=5, completeness_first=True)  # found wherever it sits
    await seed.handoff(NOW - 30 * day, unanswered=6, rated=False)
    await seed.handoff(NOW - 5 * day, unanswered=None)
    await seed.handoff(RECENT_SINCE - day, unanswered=0)
    await seed.handoff(NOW + day, unanswered=0)
    # Meetings of the last 30 days, accepted: three, two with a sheet; one older; one returned; one ahead.
    accepted = HandoffStatus.ACCEPTED
    await seed.handoff(NOW - 60 * day, status=accepted, meeting=NOW - 2 * day, rated=True, rated_back=True)
    await seed.handoff(NOW - 60 * day, status=accepted, meeting=NOW - 29 * day, rated=True, unanswered=None)
    await seed.handoff(NOW - 60 * day, status=accepted, meeting=NOW - 3 * day)
    await seed.handoff(NOW - 90 * day, status=accepted, meeting=NOW - 31 * day, rated=True, rated_back=True)
    await seed.handoff(NOW - 60 * day, status=HandoffStatus.RETURNED, meeting=NOW - 3 * day, rated=True)
    await seed.handoff(NOW - 60 * day, status=accepted, meeting=NOW + day, rated=True)
    # Weekly agendas: one posted 20 days ago, one 6 days ago, one claimed but not posted; a monthly.
    await seed.digest(date(2026, 10, 26), NOW - 20 * day)
    await seed.digest(date(2026, 11, 9), NOW - 6 * day)
    await seed.digest(date(2026, 11, 16), None)
    await seed.digest(date(2026, 11, 1), NOW - 1 * day, kind="monthly")
    # Issues: closed 59 and 10 days ago, one 61 days ago, one open.
    await seed.issue(NOW - 59 * day)
    await seed.issue(NOW - 10 * day)
    await seed.issue(NOW - 61 * day)
    await seed.issue(None)

    found = await counts(session_factory)
    assert (found.recent_toss_ups, found.recent_templated, found.recent_scored) == (4, 2, 3)
    assert found.recent_average_score == (61 + 62 + 63) / 3
    assert found.weekly_posted_at == NOW - 6 * day
    assert (found.meetings, found.meetings_rated, found.meetings_rated_back) == (3, 2, 1)
    assert (found.issues_closed, found.last_issue_closed_at) == (2, NOW - 10 * day)

    # Sixteen days on, the agenda is too old and an issue has left the window.
    later = await counts(session_factory, NOW + 16 * day)
    assert later.weekly_posted_at is None
    assert later.issues_closed == 1


async def test_a_rated_breakdown_and_zero_completeness_weight(session_factory: Factory) -> None:
    seed = Seed(session_factory)
    await seed.handoff(NOW - timedelta(days=1), unanswered=2, rated=True)
    async with session_factory() as session, session.begin():
        # A team that weighs completeness 0: nothing can be said about the template.
        session.add(
            Handoff(
                submission_key="VZ",
                team_id="T0001",
                is_user_id="U0IS",
                channel_id="C0FS",
                status=HandoffStatus.PENDING,
                company="Zero",
                memo={},
                lang="ja",
                created_at=NOW - timedelta(days=1),
                score=ScoreBreakdown(items=(ScoreItem(ScoreItemKey.COMPLETENESS, 0, 0),)).to_json(),
            )
        )
    found = await counts(session_factory)
    assert (found.recent_toss_ups, found.recent_templated) == (2, 1)


async def test_a_diagnosis_is_saved_once_and_read_back(session_factory: Factory) -> None:
    checked = frozenset(
        {DiagnosisItem.CRITERIA_AGREED, DiagnosisItem.MEMO_TEMPLATE, DiagnosisItem.SHARED_KPI}
    )
    data = NewDiagnosis(submission_key="VD1", diagnosed_by="U0MANAGER", checked=checked, channel_id="C0GEN")
    async with session_factory() as session:
        first = await save_diagnosis(session=session, data=data, now=NOW)
    async with session_factory() as session:
        again = await save_diagnosis(session=session, data=data, now=NOW + timedelta(minutes=1))
    assert first.created and not again.created
    assert again.record == first.record
    assert (first.record.count, first.record.level, first.record.checked) == (
        3,
        DiagnosisLevel.NEEDS_WORK,
        checked,
    )
    async with session_factory() as session:
        row = await session.scalar(select(DiagnosisRow))
        total = await session.scalar(select(func.count()).select_from(DiagnosisRow))
    assert total == 1 and row is not None
    # Stored in the checklist's order, with the count and the level as columns.
    assert row.items == ["criteria_agreed", "shared_kpi", "memo_template"]
    assert (row.checked_count, row.level, row.diagnosed_by, row.diagnosed_at) == (
        3,
        "needs_work",
        "U0MANAGER",
        NOW,
    )


async def test_concurrent_saves_of_one_view_store_one(session_factory: Factory) -> None:
    data = NewDiagnosis(submission_key="VD2", diagnosed_by="U0IS", checked=frozenset())

    async def save() -> bool:
        async with session_factory() as session:
            return (await save_diagnosis(session=session, data=data, now=NOW)).created

    results = await asyncio.gather(*(save() for _ in range(4)))
    assert sorted(results) == [False, False, False, True]


async def test_latest_and_trend(session_factory: Factory) -> None:
    async with session_factory() as session:
        assert await latest_diagnosis(session=session) is None

    async def save(key: str, at: datetime, items: set[DiagnosisItem]) -> None:
        data = NewDiagnosis(submission_key=key, diagnosed_by="U0IS", checked=frozenset(items))
        async with session_factory() as session:
            await save_diagnosis(session=session, data=data, now=at)

    month_start, month_end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    all_items = set(DiagnosisItem)
    await save("VA", month_start - timedelta(days=40), set(list(DiagnosisItem)[:2]))
    await save("VB", month_start - timedelta(days=1), set(list(DiagnosisItem)[:4]))
    await save("VC", month_start + timedelta(days=2), set(list(DiagnosisItem)[:6]))
    await save("VD", month_start + timedelta(days=9), all_items - {DiagnosisItem.SHARED_KPI})
    await save("VE", month_end + timedelta(days=1), set())

    async with session_factory() as session:
        current, previous = await diagnosis_trend(session=session, start=month_start, end=month_end)
        latest = await latest_diagnosis(session=session)
        before = await latest_diagnosis(session=session, before=month_end)
    assert current is not None and previous is not None and latest is not None and before is not None
    assert (current.count, current.level) == (9, DiagnosisLevel.EXCELLENT)
    assert (previous.count, previous.level) == (4, DiagnosisLevel.NEEDS_WORK)
    assert (latest.count, latest.level) == (0, DiagnosisLevel.ALERT)
    assert before.id == current.id

    async with session_factory() as session:
        empty_month = await diagnosis_trend(
            session=session, start=month_start - timedelta(days=300), end=month_start - timedelta(days=270)
        )
    assert empty_month == (None, None)


async def test_the_migration_matches_the_model(session_factory: Factory) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from store.models import Base

    async with session_factory.kw["bind"].connect() as connection:
        diff = await connection.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
            )
        )
    assert [d for d in diff if "diagnoses" in repr(d)] == []
