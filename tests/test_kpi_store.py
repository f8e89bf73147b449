"""`load_kpi_facts` on SQLite and PostgreSQL: period bounds, ratings, outcomes, scores, then the KPIs.

The period is November 2026 in Tokyo: [2026-10-31 15:00 UTC, 2026-11-30 15:00 UTC).

#  IS  FS   created      criteria BANT  memo items (bant/issue/comp/dp/compl) decided  rated outcome
A  IS1 FS1  START        passed   yes   20/10/5/5/10 = 50                     acc +4h  fs 24 won 1,000,000
B  IS1 FS2  11-10 01:00  failed   no    10/10/10/5/5 = 40                     ret +2h  –     –
C  IS2 FS1  11-15 01:00  none     yes   20/15/10/5/10 = 60                    acc +10h fs 30 lost (after END)
D  IS2 FS2  11-20 01:00  passed   yes   – (no score)                          pending  –     –
E  IS1 FS1  END − 1 s    passed   no    5/5/5/5/10 = 30 (+ fs 20 stored)      acc +6h  –     won 500,000
(UTC times; acc = accepted, ret = returned; E's stored fs_rating item has no feedback sheet behind it.)
Outside: F at START − 1 µs, G at END (excluded).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.criteria import CriteriaEvaluation, CriteriaMode, CriterionResult
from bot.domain.handoff import EventKind, HandoffStatus, ReturnReason
from bot.domain.kpi import HandoffFacts, compute_kpis, parse_period
from bot.domain.memo import BudgetStatus, HandoffMemo, Timeline
from bot.domain.monthly import split_cases
from bot.domain.outcome import Outcome, OutcomeKind
from bot.domain.score import ScoreBreakdown, ScoreItem, ScoreItemKey
from store.feedback import save_feedback, save_outcome
from store.handoffs import NewHandoff, create_handoff, decide_handoff
from store.kpi import load_kpi_facts
from store.monthly import load_cases
from tests.test_store import make_memo

Factory = async_sessionmaker[AsyncSession]
TOKYO = ZoneInfo("Asia/Tokyo")
_PERIOD = parse_period("2026-11", now=datetime(2026, 11, 18, tzinfo=UTC), tz=TOKYO)
assert _PERIOD is not None
PERIOD = _PERIOD
START, END = PERIOD.start, PERIOD.end
WEIGHTS = {
    "bant": 20,
    "issue": 15,
    "competitors": 10,
    "decision_process": 10,
    "completeness": 15,
    "fs_rating": 30,
}
SHEET = {"result": "progress", "bant_accuracy": 4, "issue_depth": 3, "memo_completeness": 5, "overall": 4}


def breakdown(**points: int) -> ScoreBreakdown:
    return ScoreBreakdown(
        items=tuple(ScoreItem(ScoreItemKey(key), value, WEIGHTS[key]) for key, value in points.items())
    )


def memo_scores(bant: int, issue: int, competitors: int, dp: int, completeness: int) -> dict[str, int]:
    return {
        "bant": bant,
        "issue": issue,
        "competitors": competitors,
        "decision_process": dp,
        "completeness": completeness,
    }


def criteria(passed: bool | None) -> CriteriaEvaluation | None:
    if passed is None:
        return None
    return CriteriaEvaluation(
        results=(CriterionResult("budget", "budget_status", passed),), mode=CriteriaMode.WARN
    )


def memo(*, bant: bool, first_contact: date | None) -> HandoffMemo:
    base = make_memo()
    update: dict[str, object] = {"first_contact_on": first_contact}
    if not bant:
        update["budget_status"] = BudgetStatus.UNKNOWN
        update["timeline"] = Timeline.UNKNOWN
    return base.model_copy(update=update)


class Builder:
    def __init__(self, factory: Factory) -> None:
        self.factory = factory
        self.count = 0

    async def toss_up(
        self,
        created: datetime,
        *,
        is_user: str = "IS1",
        fs_user: str | None = "FS1",
        passed: bool | None = True,
        bant: bool = True,
        score: ScoreBreakdown | None = None,
        first_contact: date | None = None,
    ) -> int:
        self.count += 1
        data = NewHandoff(
            submission_key=f"V-{self.count}",
            team_id="T0001",
            is_user_id=is_user,
            fs_user_id=fs_user,
            channel_id="CFS0001",
            memo=memo(bant=bant, first_contact=first_contact),
            lang="ja",
            criteria=criteria(passed),
            score=score,
        )
        async with self.factory() as session:
            return (await create_handoff(session=session, data=data, now=created)).handoff.id

    async def decide(self, hid: int, decision: EventKind, at: datetime) -> None:
        reason = ReturnReason.BANT_INCOMPLETE if decision is EventKind.RETURNED else None
        async with self.factory() as session:
            result = await decide_handoff(
                session=session, handoff_id=hid, actor_id="FS1", decision=decision, now=at, reason=reason
            )
        assert result.outcome == "applied"

    async def rate(self, hid: int, score: ScoreBreakdown, at: datetime) -> None:
        async with self.factory() as session:
            await save_feedback(
                session=session,
                handoff_id=hid,
                rater_id="FS1",
                sheet=SHEET,
                score=score.to_json(),
                score_total=score.total,
                now=at,
            )

    async def outcome(self, hid: int, outcome: Outcome, at: datetime) -> None:
        async with self.factory() as session:
            await save_outcome(
                session=session,
                handoff_id=hid,
                recorded_by="FS1",
                kind=outcome.kind.value,
                outcome=outcome.model_dump(mode="json"),
                now=at,
            )


async def load(factory: Factory, start: datetime = START, end: datetime = END) -> list[HandoffFacts]:
    async with factory() as session:
        return await load_kpi_facts(session=session, start=start, end=end)


async def seed(factory: Factory) -> dict[str, int]:
    """The table in the module docstring; returns the ids by letter."""
    b = Builder(factory)
    ids: dict[str, int] = {}
    a_memo = memo_scores(20, 10, 5, 5, 10)
    ids["F"] = await b.toss_up(START - timedelta(microseconds=1), score=breakdown(**a_memo))
    ids["A"] = await b.toss_up(START, score=breakdown(**a_memo), first_contact=date(2026, 10, 1))
    await b.decide(ids["A"], EventKind.ACCEPTED, START + timedelta(hours=4))
    await b.rate(ids["A"], breakdown(**a_memo, fs_rating=24), START + timedelta(days=3))
    await b.outcome(ids["A"], Outcome.won(1_000_000, date(2026, 12, 15)), START + timedelta(days=45))

    created_b = datetime(2026, 11, 10, 1, 0, tzinfo=UTC)
    ids["B"] = await b.toss_up(
        created_b, fs_user="FS2", passed=False, bant=False, score=breakdown(**memo_scores(10, 10, 10, 5, 5))
    )
    await b.decide(ids["B"], EventKind.RETURNED, created_b + timedelta(hours=2))

    created_c = datetime(2026, 11, 15, 1, 0, tzinfo=UTC)
    c_memo = memo_scores(20, 15, 10, 5, 10)
    ids["C"] = await b.toss_up(created_c, is_user="IS2", passed=None, score=breakdown(**c_memo))
    await b.decide(ids["C"], EventKind.ACCEPTED, created_c + timedelta(hours=10))
    await b.rate(ids["C"], breakdown(**c_memo, fs_rating=30), created_c + timedelta(days=2))
    await b.outcome(ids["C"], Outcome.lost("競合に決まった"), END + timedelta(days=10))

    ids["D"] = await b.toss_up(datetime(2026, 11, 20, 1, 0, tzinfo=UTC), is_user="IS2", fs_user="FS2")

    created_e = END - timedelta(seconds=1)
    # A stored FS rating item without a feedback sheet: not rated, so it must not count.
    ids["E"] = await b.toss_up(
        created_e, bant=False, score=breakdown(**memo_scores(5, 5, 5, 5, 10), fs_rating=20)
    )
    await b.decide(ids["E"], EventKind.ACCEPTED, created_e + timedelta(hours=6))
    await b.outcome(ids["E"], Outcome.won(500_000, date(2026, 12, 20)), created_e + timedelta(days=20))

    ids["G"] = await b.toss_up(END, score=breakdown(**a_memo))
    await b.outcome(ids["G"], Outcome.won(9_999_999, date(2026, 12, 1)), END + timedelta(days=1))
    return ids


async def test_the_period_is_start_inclusive_end_exclusive_and_ordered_by_id(
    session_factory: Factory,
) -> None:
    ids = await seed(session_factory)
    facts = await load(session_factory)
    assert [f.id for f in facts] == [ids[k] for k in "ABCDE"]
    assert facts[0].created_at == START and facts[-1].created_at == END - timedelta(seconds=1)
    assert all(f.created_at.tzinfo is not None for f in facts)
    # moving the bounds by a microsecond brings F in and leaves A out
    earlier = await load(session_factory, START - timedelta(microseconds=1), START)
    assert [f.id for f in earlier] == [ids["F"]]
    assert [f.id for f in await load(session_factory, END, END + timedelta(days=1))] == [ids["G"]]
    assert await load(session_factory, END + timedelta(days=1), END + timedelta(days=2)) == []


async def test_each_toss_up_is_mapped(session_factory: Factory) -> None:
    ids = await seed(session_factory)
    by_id = {f.id: f for f in await load(session_factory)}
    a, b, c, d, e = (by_id[ids[k]] for k in "ABCDE")

    assert (a.is_user_id, a.fs_user_id, a.status) == ("IS1", "FS1", HandoffStatus.ACCEPTED)
    assert a.decided_at == START + timedelta(hours=4)
    assert (a.criteria_passed, a.bant_complete, a.rated) == (True, True, True)
    assert a.memo_score == 50  # the memo items only: fs_rating is not memo points
    assert a.score_items == {**memo_scores(20, 10, 5, 5, 10), "fs_rating": 24}
    assert a.first_contact_on == date(2026, 10, 1)
    assert a.outcome == Outcome.won(1_000_000, date(2026, 12, 15))
    assert a.outcome_at == START + timedelta(days=45)

    assert (b.status, b.criteria_passed, b.bant_complete, b.rated) == (
        HandoffStatus.RETURNED,
        False,
        False,
        False,
    )
    assert (b.memo_score, b.outcome, b.outcome_at) == (40, None, None)
    assert b.first_contact_on is None

    assert (c.criteria_passed, c.rated, c.memo_score) == (None, True, 60)  # no criteria evaluated
    assert c.score_items["fs_rating"] == 30
    assert c.outcome is not None and c.outcome.kind is OutcomeKind.LOST
    assert c.outcome_at == END + timedelta(days=10)  # recorded after the period: still loaded

    assert (d.status, d.decided_at, d.memo_score, d.score_items) == (HandoffStatus.PENDING, None, None, {})
    assert (d.rated, d.outcome) == (False, None)

    assert (e.rated, e.memo_score) == (False, 30)
    assert e.score_items == memo_scores(5, 5, 5, 5, 10)  # the stored fs_rating item is left out: not rated
    assert e.outcome is not None and e.outcome.kind is OutcomeKind.WON


async def test_an_edited_sheet_and_a_replaced_outcome_are_loaded_once(session_factory: Factory) -> None:
    b = Builder(session_factory)
    score = breakdown(**memo_scores(20, 10, 5, 5, 10))
    hid = await b.toss_up(START + timedelta(hours=1), score=score)
    await b.decide(hid, EventKind.ACCEPTED, START + timedelta(hours=2))
    await b.rate(hid, breakdown(**memo_scores(20, 10, 5, 5, 10), fs_rating=12), START + timedelta(days=1))
    await b.rate(hid, breakdown(**memo_scores(20, 10, 5, 5, 10), fs_rating=18), START + timedelta(days=2))
    await b.outcome(hid, Outcome.still_open(), START + timedelta(days=3))
    await b.outcome(hid, Outcome.lost("予算"), START + timedelta(days=4))
    facts = await load(session_factory)
    assert len(facts) == 1
    assert facts[0].score_items["fs_rating"] == 18 and facts[0].memo_score == 50
    assert facts[0].outcome == Outcome.lost("予算") and facts[0].outcome_at == START + timedelta(days=4)


async def test_a_naive_bound_is_refused(session_factory: Factory) -> None:
    with pytest.raises(StatementError, match="naive"):
        await load(session_factory, START.replace(tzinfo=None), END)


async def test_end_to_end_kpis_worked_out_by_hand(session_factory: Factory) -> None:
    await seed(session_factory)
    facts = await load(session_factory)
    k = compute_kpis(facts, start=START, end=END, tz=TOKYO)
    assert k.toss_ups == 5  # A B C D E; F before the start, G at the (excluded) end
    assert k.sqls == 4  # all but B (criteria failed); C has none evaluated and counts
    assert (k.accepted, k.returned, k.pending) == (3, 1, 1)  # A C E / B / D
    assert k.acceptance_rate == 0.75  # 3 / 4 decided
    assert k.bant_acquisition_rate == 0.6  # A C D of 5
    assert k.rated == 2  # A C (E's stored fs_rating item without a sheet does not count)
    assert (k.won, k.lost) == (2, 1)  # won A E, lost C (recorded after the period: cohort)
    assert k.win_rate == pytest.approx(2 / 3)
    assert k.won_amount == 1_500_000  # 1,000,000 + 500,000; G's 9,999,999 is outside
    assert k.avg_lead_time_days == 75.0  # A: 10-01 → 12-15 = 31 + 30 + 14 days; E has no first contact
    assert k.avg_hours_to_accept == pytest.approx(20 / 3)  # (4 + 10 + 6) / 3
    # totals: A 50 + 24 = 74, B 40, C 60 + 30 = 90, E 30 (not rated: no fs points); D unscored
    assert k.avg_quality_score == 82.0  # the rated ones: A 74, C 90 (B and E have no FS rating)
    assert k.avg_items == {
        "bant": 13.75,  # (20 + 10 + 20 + 5) / 4
        "completeness": 8.75,  # (10 + 5 + 10 + 10) / 4
        "competitors": 7.5,  # (5 + 10 + 10 + 5) / 4
        "decision_process": 5.0,
        "fs_rating": 27.0,  # (24 + 30) / 2, the rated ones only
        "issue": 10.0,  # (10 + 10 + 15 + 5) / 4
    }

    is1 = compute_kpis(facts, start=START, end=END, user="IS1", tz=TOKYO)  # A B E
    assert (is1.toss_ups, is1.won, is1.lost, is1.win_rate, is1.won_amount) == (3, 2, 0, 1.0, 1_500_000)
    fs1 = compute_kpis(facts, start=START, end=END, user="FS1", tz=TOKYO)  # A C E
    assert (fs1.toss_ups, fs1.won, fs1.lost, fs1.rated) == (3, 2, 1, 2)


async def test_the_fs_member_who_accepted_an_unassigned_toss_up_is_credited(session_factory: Factory) -> None:
    b = Builder(session_factory)
    taken = await b.toss_up(START + timedelta(days=1), fs_user=None)
    await b.decide(taken, EventKind.ACCEPTED, START + timedelta(days=1, hours=2))  # accepted by FS1
    await b.outcome(taken, Outcome.won(800_000, date(2026, 11, 30)), START + timedelta(days=20))
    returned = await b.toss_up(START + timedelta(days=2), fs_user=None)
    await b.decide(returned, EventKind.RETURNED, START + timedelta(days=2, hours=1))
    facts = await load(session_factory)
    assert [(f.id, f.fs_user_id) for f in facts] == [(taken, "FS1"), (returned, None)]
    mine = compute_kpis(facts, start=START, end=END, user="FS1")
    assert (mine.toss_ups, mine.won, mine.won_amount) == (1, 1, 800_000)


async def test_the_months_cases_are_successes_and_lessons_by_outcome_then_score(
    session_factory: Factory,
) -> None:
    """The monthly review's cases, read in SQL and split in the domain: a won toss-up is a success whatever
    its score, a returned or lost one is a case to learn from whatever its score; D (undecided) is neither."""
    ids = await seed(session_factory)
    async with session_factory() as session:
        best, worst = await load_cases(session=session, month=PERIOD)
    successes, lessons = split_cases(best, worst)
    assert [(c.id, c.score_total, c.rated) for c in successes] == [
        (ids["A"], 74, True),  # won, 74/100
        (ids["E"], 50, False),  # won, 50/70: a smaller share than A's
    ]
    assert [(c.id, c.status, c.outcome) for c in lessons] == [
        (ids["B"], HandoffStatus.RETURNED, None),  # returned first
        (ids["C"], HandoffStatus.ACCEPTED, OutcomeKind.LOST),  # lost, though FS rated it 90/100
    ]


async def test_the_months_cases_with_every_point_in_fs_rating(session_factory: Factory) -> None:
    """score.weights.fs_rating: 100 leaves a memo nothing to score: an unrated toss-up's share is 0, not a
    division by zero (in SQL or in the split)."""
    await seed(session_factory)
    async with session_factory() as session:
        best, worst = await load_cases(session=session, month=PERIOD, memo_max=0)
    successes, lessons = split_cases(best, worst, 0)
    assert successes and lessons
