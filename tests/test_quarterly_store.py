"""The quarterly review's loader on SQLite and PostgreSQL: the quarter's toss-ups only (local midnight
to local midnight in Tokyo), each with its criteria results, score items (the FS rating once rated),
status and outcome kind."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.criteria import (
    CriteriaConfig,
    CriteriaEvaluation,
    CriteriaMode,
    Criterion,
    CriterionKind,
    CriterionResult,
    evaluate_criteria,
)
from bot.domain.handoff import EventKind, HandoffStatus
from bot.domain.outcome import OutcomeKind
from bot.domain.quarterly import (
    ItemPoints,
    QuarterlyRules,
    TossUpFacts,
    build_quarterly_review,
    quarter_of,
)
from bot.domain.score import ScoreBreakdown, ScoreConfig, ScoreItem, ScoreItemKey, score_memo
from store.feedback import save_feedback, save_outcome
from store.handoffs import create_handoff, decide_handoff
from store.models import Handoff
from store.quarterly import load_quarterly_facts
from tests.test_store import make_memo, new_handoff

Factory = async_sessionmaker[AsyncSession]
TOKYO = ZoneInfo("Asia/Tokyo")
Q4 = quarter_of(date(2025, 11, 1), TOKYO)  # 2025-10-01 00:00 JST (Sep 30 15:00 UTC) … 2026-01-01 00:00 JST

WARN_FAILED = CriteriaEvaluation(
    results=(
        CriterionResult("budget", "budget_status", False, "criteria.reason.not_one_of", {"value": "unknown"}),
        CriterionResult("need", "need", True),
    ),
    mode=CriteriaMode.WARN,
)
ALL_PASSED = CriteriaEvaluation(
    results=(CriterionResult("budget", "budget_status", True), CriterionResult("need", "need", True)),
    mode=CriteriaMode.WARN,
)
MEMO_SCORE = ScoreBreakdown(
    items=(ScoreItem(ScoreItemKey.BANT, 12, 20), ScoreItem(ScoreItemKey.ISSUE, 15, 15))
)


def jst(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TOKYO).astimezone(UTC)


async def toss(
    factory: Factory,
    key: str,
    at: datetime,
    *,
    criteria: CriteriaEvaluation | None = None,
    score: ScoreBreakdown | None = None,
    override: str | None = None,
) -> int:
    data = replace(new_handoff(key), criteria=criteria, score=score, override_reason=override)
    async with factory() as session:
        return (await create_handoff(session=session, data=data, now=at)).handoff.id


async def decide(factory: Factory, handoff_id: int, decision: EventKind, at: datetime) -> None:
    async with factory() as session:
        result = await decide_handoff(
            session=session, handoff_id=handoff_id, actor_id="UFS0001", decision=decision, now=at
        )
    assert result.outcome == "applied"


async def outcome(factory: Factory, handoff_id: int, kind: str, data: dict, at: datetime) -> None:
    async with factory() as session:
        assert await save_outcome(
            session=session, handoff_id=handoff_id, recorded_by="UFS0001", kind=kind, outcome=data, now=at
        )


async def test_the_quarter_toss_ups_with_criteria_score_status_and_outcome(session_factory: Factory) -> None:
    f = session_factory
    await toss(f, "before", jst(2025, 9, 30, 23, 59), criteria=WARN_FAILED, override="急ぎ")
    first = await toss(
        f, "first", jst(2025, 10, 1), criteria=WARN_FAILED, score=MEMO_SCORE, override="決裁者と面談予定"
    )
    last = await toss(f, "last", jst(2025, 12, 31, 23, 59), criteria=ALL_PASSED, score=MEMO_SCORE)
    bare = await toss(f, "bare", jst(2025, 11, 15, 10))
    await toss(f, "after", jst(2026, 1, 1), criteria=ALL_PASSED, score=MEMO_SCORE)

    # first: accepted, rated by FS (its score gains the FS rating, 24/30), won
    await decide(f, first, EventKind.ACCEPTED, jst(2025, 10, 2))
    rated = ScoreBreakdown(items=(*MEMO_SCORE.items, ScoreItem(ScoreItemKey.FS_RATING, 24, 30)))
    async with f() as session:
        assert await save_feedback(
            session=session,
            handoff_id=first,
            rater_id="UFS0001",
            sheet={"result": "progress", "overall": 4},
            score=rated.to_json(),
            score_total=rated.total,
            now=jst(2025, 10, 10),
        )
    won = {"kind": "won", "amount": 1_200_000, "closed_on": "2025-12-20"}
    await outcome(f, first, "won", won, jst(2025, 12, 20))
    # last: returned; a stored FS rating item without a sheet (never rated) does not count
    await decide(f, last, EventKind.RETURNED, jst(2026, 1, 5))
    async with f() as session:
        unrated = ScoreBreakdown(items=(*MEMO_SCORE.items, ScoreItem(ScoreItemKey.FS_RATING, 0, 30)))
        await session.execute(update(Handoff).where(Handoff.id == last).values(score=unrated.to_json()))
        await session.commit()
    # bare: still pending, the deal marked open
    await outcome(f, bare, "open", {"kind": "open"}, jst(2025, 11, 20))

    async with f() as session:
        facts = await load_quarterly_facts(session=session, quarter=Q4)

    assert facts.quarter == Q4
    assert Q4.start == datetime(2025, 9, 30, 15, tzinfo=UTC) and Q4.end == datetime(
        2025, 12, 31, 15, tzinfo=UTC
    )
    memo_items = {"bant": ItemPoints(12, 20), "issue": ItemPoints(15, 15)}
    assert list(facts.toss_ups) == [
        TossUpFacts(
            id=first,
            status=HandoffStatus.ACCEPTED,
            outcome=OutcomeKind.WON,
            criteria={"budget": False, "need": True},
            criteria_passed=False,
            items={**memo_items, "fs_rating": ItemPoints(24, 30)},
            criteria_fields={"budget": "budget_status", "need": "need"},
        ),
        TossUpFacts(
            id=last,
            status=HandoffStatus.RETURNED,
            outcome=None,
            criteria={"budget": True, "need": True},
            criteria_passed=True,
            items=memo_items,
            criteria_fields={"budget": "budget_status", "need": "need"},
        ),
        TossUpFacts(id=bare, status=HandoffStatus.PENDING, outcome=OutcomeKind.OPEN),
    ]

    review = build_quarterly_review(facts, QuarterlyRules(criteria=CriteriaConfig()))
    assert (review.toss_ups, review.won, review.accepted, review.returned) == (3, 1, 1, 1)
    assert (review.evaluated, review.overrides, review.scored) == (2, 1, 2)


async def test_an_empty_quarter(session_factory: Factory) -> None:
    await toss(session_factory, "earlier", Q4.start - timedelta(microseconds=1))
    await toss(session_factory, "later", Q4.end)
    async with session_factory() as session:
        facts = await load_quarterly_facts(session=session, quarter=Q4)
    assert list(facts.toss_ups) == []
    assert build_quarterly_review(facts, QuarterlyRules(criteria=CriteriaConfig())).is_empty


async def test_a_real_memo_with_thirty_criteria_and_its_score(session_factory: Factory) -> None:
    # Every one of the 30 results a configuration may hold, and a score as the scorer writes it (with
    # its loss lists), are read back.
    rules = [Criterion(id=f"rule_{n:02d}", kind=CriterionKind.REQUIRED, field="company") for n in range(29)]
    rules.append(Criterion(id="timeline", kind=CriterionKind.TIMELINE_WITHIN, field="timeline", months=3))
    memo = make_memo()  # timeline 3–6 months: fails a 3-month window
    evaluation = evaluate_criteria(memo, CriteriaConfig(mode=CriteriaMode.WARN, rules=rules))
    score = score_memo(memo, ScoreConfig())
    hid = await toss(
        session_factory, "real", jst(2025, 11, 1), criteria=evaluation, score=score, override="理由"
    )
    async with session_factory() as session:
        (facts,) = (await load_quarterly_facts(session=session, quarter=Q4)).toss_ups
    assert facts.id == hid and len(facts.criteria) == 30
    assert facts.criteria == {**{f"rule_{n:02d}": True for n in range(29)}, "timeline": False}
    assert facts.criteria_fields["timeline"] == "timeline" and facts.criteria_passed is False
    assert facts.items == {item.key.value: ItemPoints(item.points, item.max_points) for item in score.items}
    assert any(item.losses for item in score.items)  # the loss lists stayed in the database
