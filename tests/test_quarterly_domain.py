"""The quarterly criteria review in pure Python, on a quarter worked out by hand.

29 toss-ups in six kinds (warn mode: 13 failed a criterion and were tossed up anyway), the default five
criteria, and four score items (points of their maximum; the FS rating only on rated toss-ups):

| kind | n | status   | outcome | failed criteria    | bant  | issue | competitors | completeness | fs    |
|------|---|----------|---------|--------------------|-------|-------|-------------|--------------|-------|
| A    | 8 | accepted | won     | —                  | 20/20 | 15/15 | 0/10        | 15/15        | 27/30 |
| B    | 4 | accepted | lost    | —                  | 16/20 | 6/15  | 10/10       | 11/15        | —     |
| C    | 2 | returned | —       | —                  | 20/20 | 15/15 | 10/10       | 15/15        | —     |
| D    | 3 | accepted | won     | budget             | 10/20 | 12/15 | 0/10        | 12/15        | 20/30 |
| E    | 7 | accepted | lost    | budget, timeline   | 15/20 | 8/15  | 10/10       | 12/15        | —     |
| F    | 3 | returned | —       | budget             | 5/20  | 8/15  | 10/10       | 9/15         | —     |
| G    | 2 | pending  | —       | (none evaluated)   | (no score)                                          |

Met for an item: at least 80 % of its maximum — bant ≥ 16, issue ≥ 12, competitors ≥ 8, completeness
≥ 12, fs ≥ 24.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.criteria import CriteriaConfig, CriteriaMode, Criterion, CriterionKind
from bot.domain.handoff import HandoffStatus
from bot.domain.kpi import PeriodKind, month_of
from bot.domain.outcome import OutcomeKind
from bot.domain.quarterly import (
    Group,
    ItemPoints,
    QuarterlyFacts,
    QuarterlyReview,
    QuarterlyRules,
    QuarterlySection,
    TossUpFacts,
    build_quarterly_review,
    quarter_before,
    quarter_of,
)
from bot.domain.score import ScoreItemKey

TOKYO = ZoneInfo("Asia/Tokyo")
Q3 = quarter_of(date(2026, 8, 15), TOKYO)
WARN = CriteriaConfig(mode=CriteriaMode.WARN)
CRITERIA = ("budget", "authority", "need", "timeline", "competitors")

ACCEPTED, RETURNED, PENDING = HandoffStatus.ACCEPTED, HandoffStatus.RETURNED, HandoffStatus.PENDING
WON, LOST = OutcomeKind.WON, OutcomeKind.LOST

ITEMS = ("bant", "issue", "competitors", "completeness", "fs_rating")
MAXIMA = (20, 15, 10, 15, 30)
# The table above: count, status, outcome, failed criteria, points of ITEMS (None: not rated / no item)
Points = tuple[int, int, int, int, int | None]
KINDS: list[tuple[int, HandoffStatus, OutcomeKind | None, tuple[str, ...], Points]] = [
    (8, ACCEPTED, WON, (), (20, 15, 0, 15, 27)),  # A
    (4, ACCEPTED, LOST, (), (16, 6, 10, 11, None)),  # B
    (2, RETURNED, None, (), (20, 15, 10, 15, None)),  # C
    (3, ACCEPTED, WON, ("budget",), (10, 12, 0, 12, 20)),  # D
    (7, ACCEPTED, LOST, ("budget", "timeline"), (15, 8, 10, 12, None)),  # E
    (3, RETURNED, None, ("budget",), (5, 8, 10, 9, None)),  # F
]


def toss_ups() -> list[TossUpFacts]:
    rows: list[TossUpFacts] = []
    for count, status, outcome, failed, points in KINDS:
        scored = zip(ITEMS, points, MAXIMA, strict=True)
        items = {key: ItemPoints(got, most) for key, got, most in scored if got is not None}
        for _ in range(count):
            rows.append(
                TossUpFacts(
                    id=len(rows) + 1,
                    status=status,
                    outcome=outcome,
                    criteria={cid: cid not in failed for cid in CRITERIA},
                    criteria_passed=not failed,
                    items=items,
                )
            )
    for _ in range(2):  # G: pending, no criteria evaluated, no score
        rows.append(TossUpFacts(id=len(rows) + 1, status=PENDING, outcome=None))
    return rows


def review(rows: list[TossUpFacts] | None = None, criteria: CriteriaConfig = WARN) -> QuarterlyReview:
    return build_quarterly_review(
        QuarterlyFacts(quarter=Q3, toss_ups=toss_ups() if rows is None else rows),
        QuarterlyRules(criteria=criteria),
    )


def group(toss_ups: int, accepted: int, returned: int, won: int, lost: int) -> Group:
    return Group(toss_ups=toss_ups, accepted=accepted, returned=returned, won=won, lost=lost)


# ------------------------------------------------------------------------------------------ quarters


@pytest.mark.parametrize(
    ("day", "first", "last"),
    [
        (date(2026, 1, 1), date(2026, 1, 1), date(2026, 3, 31)),
        (date(2026, 5, 31), date(2026, 4, 1), date(2026, 6, 30)),
        (date(2026, 9, 30), date(2026, 7, 1), date(2026, 9, 30)),
        (date(2026, 12, 31), date(2026, 10, 1), date(2026, 12, 31)),
    ],
)
def test_a_quarter_is_three_calendar_months_in_the_team_time_zone(day: date, first: date, last: date) -> None:
    quarter = quarter_of(day, TOKYO)
    assert (quarter.kind, quarter.first_day, quarter.last_day) == (PeriodKind.RANGE, first, last)
    # Tokyo is UTC+9: local midnight is 15:00 UTC the day before
    assert quarter.start == datetime(first.year, first.month, first.day, tzinfo=TOKYO).astimezone(UTC)
    assert quarter.start.hour == 15 and quarter.end.hour == 15


def test_the_quarter_before() -> None:
    q1 = quarter_of(date(2026, 2, 10), TOKYO)
    assert quarter_before(q1, TOKYO).first_day == date(2025, 10, 1)
    assert quarter_before(q1, TOKYO).last_day == date(2025, 12, 31)
    assert quarter_before(q1, TOKYO).end == q1.start
    assert quarter_before(Q3, TOKYO) == quarter_of(date(2026, 4, 1), TOKYO)
    # from any period: the quarter before the one it starts in (a review on 1 July looks back on Q2)
    assert quarter_before(month_of(date(2026, 7, 1), TOKYO), TOKYO).first_day == date(2026, 4, 1)


# ---------------------------------------------------------------------------------------- the review


def test_the_quarter_counts() -> None:
    r = review()
    assert (r.quarter_start, r.quarter_end) == (date(2026, 7, 1), date(2026, 9, 30))
    assert (r.toss_ups, r.accepted, r.returned, r.won, r.lost, r.still_open) == (29, 22, 5, 11, 11, 7)
    assert (r.evaluated, r.overrides, r.scored) == (27, 13, 27)
    assert (r.mode, r.min_sample, r.met_percent) == (CriteriaMode.WARN, 10, 80)
    assert not r.is_empty


def test_criteria_met_and_not_met_with_both_rates() -> None:
    lines = {line.criterion_id: line for line in review().criteria}
    budget = lines["budget"]  # met: A B C; not met: D E F
    assert budget.met == group(14, 12, 2, 8, 4)
    assert budget.not_met == group(13, 10, 3, 3, 7)
    assert budget.met.win_rate == pytest.approx(8 / 12)
    assert budget.not_met.win_rate == pytest.approx(3 / 10)
    assert budget.win_gap == pytest.approx(8 / 12 - 3 / 10)  # +36.7 points
    assert budget.met.acceptance_rate == pytest.approx(12 / 14)
    assert budget.not_met.acceptance_rate == pytest.approx(10 / 13)
    assert budget.acceptance_gap == pytest.approx(12 / 14 - 10 / 13)
    assert (budget.win_small, budget.acceptance_small, budget.rank) == (False, False, 1)
    assert (budget.field, budget.configured) == ("budget_status", True)

    timeline = lines["timeline"]  # not met: E only — 7 lost, 7 accepted
    assert timeline.met == group(20, 15, 5, 11, 4)
    assert timeline.not_met == group(7, 7, 0, 0, 7)
    assert timeline.win_gap == pytest.approx(11 / 15 - 0)
    assert (timeline.win_small, timeline.acceptance_small, timeline.rank) == (True, True, None)

    need = lines["need"]  # everyone met it: no "not met" side
    assert need.met == group(27, 22, 5, 11, 11) and need.not_met == group(0, 0, 0, 0, 0)
    assert need.win_gap is None and need.not_met.win_rate is None and need.not_met.acceptance_rate is None
    assert (need.win_small, need.acceptance_small, need.rank) == (True, True, None)


def test_criteria_order_ranked_first_then_small_samples_in_app_yaml_order() -> None:
    assert [(line.criterion_id, line.rank) for line in review().criteria] == [
        ("budget", 1),
        ("authority", None),
        ("need", None),
        ("timeline", None),
        ("competitors", None),
    ]


def test_score_items_met_at_80_percent_of_their_points() -> None:
    lines = {line.key: line for line in review().items}
    assert list(lines) == [
        ScoreItemKey.ISSUE,
        ScoreItemKey.BANT,
        ScoreItemKey.COMPETITORS,
        ScoreItemKey.COMPLETENESS,
        ScoreItemKey.FS_RATING,
    ]
    assert {key: (line.threshold, line.max_points) for key, line in lines.items()} == {
        ScoreItemKey.ISSUE: (12, 15),
        ScoreItemKey.BANT: (16, 20),
        ScoreItemKey.COMPETITORS: (8, 10),
        ScoreItemKey.COMPLETENESS: (12, 15),
        ScoreItemKey.FS_RATING: (24, 30),
    }
    bant = lines[ScoreItemKey.BANT]  # 16/20 (B) is met, 15/20 (E) is not
    assert (bant.met, bant.not_met) == (group(14, 12, 2, 8, 4), group(13, 10, 3, 3, 7))
    issue = lines[ScoreItemKey.ISSUE]  # met: A C D (12/15 exactly is met); not met: B E F
    assert (issue.met, issue.not_met) == (group(13, 11, 2, 11, 0), group(14, 11, 3, 0, 11))
    assert issue.win_gap == pytest.approx(1.0)
    assert issue.acceptance_gap == pytest.approx(11 / 13 - 11 / 14)
    competitors = lines[ScoreItemKey.COMPETITORS]  # met by the ones that lost: the gap is negative
    assert (competitors.met, competitors.not_met) == (group(16, 11, 5, 0, 11), group(11, 11, 0, 11, 0))
    assert competitors.win_gap == pytest.approx(-1.0)
    completeness = lines[ScoreItemKey.COMPLETENESS]  # met: A C D E (12/15); not met: B (11) F (9)
    assert (completeness.met, completeness.not_met) == (group(20, 18, 2, 11, 7), group(7, 4, 3, 0, 4))
    fs = lines[ScoreItemKey.FS_RATING]  # rated ones only: A 27/30 met, D 20/30 not
    assert (fs.met, fs.not_met) == (group(8, 8, 0, 8, 0), group(3, 3, 0, 3, 0))


def test_only_large_samples_are_ranked_by_the_win_rate_gap() -> None:
    r = review()
    assert [(line.key, line.rank, line.win_small, line.acceptance_small) for line in r.items] == [
        (ScoreItemKey.ISSUE, 1, False, False),  # +100 points
        (ScoreItemKey.BANT, 2, False, False),  # +36.7
        (ScoreItemKey.COMPETITORS, 3, False, False),  # −100: met it, and lost
        (ScoreItemKey.COMPLETENESS, None, True, True),  # 4 closed deals below 12/15
        (ScoreItemKey.FS_RATING, None, True, True),  # 3 rated below 24/30
    ]
    gap = 8 / 12 - 3 / 10
    assert [(f.section, f.key, f.win_gap) for f in r.findings] == [
        (QuarterlySection.SCORE_ITEMS, "issue", pytest.approx(1.0)),
        (QuarterlySection.CRITERIA, "budget", pytest.approx(gap)),  # equal gaps: criteria first
        (QuarterlySection.SCORE_ITEMS, "bant", pytest.approx(gap)),
        (QuarterlySection.SCORE_ITEMS, "competitors", pytest.approx(-1.0)),
    ]
    assert (r.section_count(QuarterlySection.CRITERIA), r.section_count(QuarterlySection.SCORE_ITEMS)) == (
        1,
        3,
    )


def test_the_win_rate_sample_is_the_closed_deals_not_the_toss_ups() -> None:
    # E's seven lost deals still open: budget's "not met" side keeps 13 toss-ups but only 3 + 1 closed.
    rows = [row if row.id not in range(18, 25) else replace(row, outcome=None) for row in toss_ups()]
    budget = next(line for line in review(rows).criteria if line.criterion_id == "budget")
    assert budget.not_met == group(13, 10, 3, 3, 0)
    assert (budget.win_small, budget.acceptance_small, budget.rank) == (True, False, None)


def test_gate_mode_has_no_not_met_side() -> None:
    # Gate mode refuses a memo that fails: every stored toss-up passed every criterion.
    rows = [
        replace(
            row, criteria=dict.fromkeys(row.criteria, True), criteria_passed=True if row.criteria else None
        )
        for row in toss_ups()
    ]
    r = review(rows, CriteriaConfig())
    assert (r.mode, r.overrides, r.evaluated) == (CriteriaMode.GATE, 0, 27)
    assert [line.criterion_id for line in r.criteria] == list(CRITERIA)
    for line in r.criteria:
        assert line.met == group(27, 22, 5, 11, 11)
        assert line.not_met == group(0, 0, 0, 0, 0)
        assert (line.win_small, line.acceptance_small, line.rank, line.win_gap) == (True, True, None, None)
    assert r.section_count(QuarterlySection.CRITERIA) == 0
    assert all(finding.section is QuarterlySection.SCORE_ITEMS for finding in r.findings)


def test_criteria_no_longer_in_app_yaml_are_listed_after_the_current_ones() -> None:
    config = CriteriaConfig(
        rules=[
            Criterion(id="need", kind=CriterionKind.MIN_LENGTH, field="need", min_length=10),
            Criterion(
                id="budget",
                kind=CriterionKind.ONE_OF,
                field="budget_status",
                values=["confirmed"],
                enabled=False,
            ),
        ]
    )
    rows = [
        TossUpFacts(
            id=1,
            status=ACCEPTED,
            outcome=WON,
            criteria={"need": True, "budget": False, "segment": False},
            criteria_passed=False,
            criteria_fields={"need": "need", "budget": "budget_status", "segment": "segment"},
        )
    ]
    lines = review(rows, config).criteria
    assert [(line.criterion_id, line.field, line.configured) for line in lines] == [
        ("need", "need", True),
        ("budget", "budget_status", False),  # disabled now
        ("segment", "segment", False),  # removed: named by the field it tested
    ]
    assert lines[1].not_met == group(1, 1, 0, 1, 0)


def test_an_item_weighted_zero_or_unknown_is_left_out() -> None:
    rows = [
        TossUpFacts(
            id=1,
            status=ACCEPTED,
            outcome=WON,
            items={"bant": ItemPoints(0, 0), "mystery": ItemPoints(3, 5), "issue": ItemPoints(12, 15)},
        )
    ]
    assert [line.key for line in review(rows).items] == [ScoreItemKey.ISSUE]


def test_a_quarter_without_toss_ups_is_empty() -> None:
    r = review([])
    assert r.is_empty and r.toss_ups == 0 and r.items == [] and r.findings == []
    assert [line.criterion_id for line in r.criteria] == list(CRITERIA)  # each says: nothing to compare
    assert r.section_count(QuarterlySection.CRITERIA) == 0


def test_the_review_is_frozen_and_survives_json() -> None:
    r = review()
    again = QuarterlyReview.model_validate_json(r.model_dump_json())
    assert again == r
    assert again.criteria[0].win_gap == pytest.approx(8 / 12 - 3 / 10)
    with pytest.raises(Exception):  # noqa: B017 (pydantic's frozen error)
        r.toss_ups = 1  # type: ignore[misc]
