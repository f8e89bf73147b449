"""Rep scorecards (bot/domain/scorecard.py) over data worked out by hand; the arithmetic is in the comments.

November 2026 in Tokyo: [2026-10-31 15:00 UTC, 2026-11-30 15:00 UTC); now = 2026-12-01 00:00 UTC.
Defaults: memo maximum 70, feedback due 2 h after the meeting, on time until 24 h after that, w = 0.35.

#  IS  FS  created  crit BANT memo decided meeting  sheet (on time until)    stars    IS→FS outcome
1  IS1 FS1 11-02 0h pass yes  70   acc +4h 11-05 0h 11-06 1h (11-06 2h) on    4,4,5,5  4     won 2,000,000
2  IS1 FS1 11-08 0h pass yes  63   acc +2h 11-10 0h 11-12 0h (11-11 2h) late  3,1,2,2  –     lost
3  IS1 FS2 11-09 0h fail yes  21   ret +3h –        –                         –        –     –
4  IS2 FS1 11-12 0h pass yes  35   acc +6h 11-20 0h none (11-21 2h): late     –        2     won 1,000,000
5  IS2 FS2 11-20 0h none no   49   acc +8h 11-29 23h none (12-01 1h): not yet –        –     –
6  IS1 IS2 11-14 0h pass yes  70   acc +1h 11-15 0h 11-15 3h (11-16 2h) on    5,4,5,5  5     won 3,000,000
X  IS1 FS1 START − 1 s (outside the period, won 9,999,999)
(UTC; stars: BANT accuracy, issue depth, memo completeness, overall; first contact → won: #1 60 d,
#4 24 d, #6 45 d)

Team: 6 toss-ups, 5 SQLs, accepted 5 / returned 1, BANT 5/6, memo (70+63+21+35+49+70)/6 = 51.33, won 3 lost 1
→ win rate 0.75 → shared 75.0; won ¥6,000,000, deal size ¥2,000,000, lead time 43 d, to accept 21/5 = 4.2 h,
sheets counted #1 #2 #4 #6, on time #1 #6 → 2/4.
IS1 as IS (#1 #2 #3 #6): SQL 3/4, BANT 4/4, memo 224/4 = 56 → 56/70 = 0.8 → (0.75 + 1 + 0.8)/3 = 85.0;
   combined 0.65 × 85 + 0.35 × 75 = 81.5; FS's stars on #1 #2 #6: 4.0, 3.0, 4.0, 4.0 (3 sheets).
IS2 as IS (#4 #5): SQL 2/2, BANT 1/2, memo 42 → 0.6 → (1 + 0.5 + 0.6)/3 = 70.0; no sheets.
   as FS (#6): won 1/1, sheets 1/1 → 100.0; individual (2 × 70 + 1 × 100)/3 = 80.0 → combined 78.25;
   IS's follow-through on #6: 5.
FS1 as FS (#1 #2 #4): win 2/3, sheets on time 1/3 → 50.0 → combined 58.75; ¥3,000,000, deal ¥1,500,000,
   to accept 12/3 = 4.0 h; follow-through on #1 #4: (4 + 2)/2 = 3.0.
FS2 as FS (#3 #5): nothing closed, no sheet counted → no figure, combined None; to accept 8.0 h.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.domain.feedback import FeedbackConfig
from bot.domain.handoff import HandoffStatus
from bot.domain.kpi import HandoffFacts, PeriodKind, parse_period, quarter_before, quarter_of
from bot.domain.outcome import Outcome
from bot.domain.score import ScoreWeights
from bot.domain.scorecard import (
    FeedbackFacts,
    Scorecard,
    ScorecardConfig,
    ScorecardFacts,
    ScorecardRules,
    build_scorecard,
    build_scorecards,
    exact_quarter,
    parse_scorecard_period,
    ranked,
    sheet_on_time_until,
)
from bot.domain.sla import BusinessHours

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 12, 1, tzinfo=UTC)
_NOVEMBER = parse_period("2026-11", now=NOW, tz=TOKYO)
assert _NOVEMBER is not None
NOVEMBER = _NOVEMBER
START = NOVEMBER.start
ACC, RET = HandoffStatus.ACCEPTED, HandoffStatus.RETURNED
RULES = ScorecardRules(tz=TOKYO)


def utc(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def handoff(
    id: int,
    is_user: str,
    fs_user: str | None,
    created: datetime,
    *,
    criteria: bool | None,
    bant: bool,
    memo: int,
    status: HandoffStatus,
    decided_after_h: float,
    first_contact: date | None = None,
    outcome: Outcome | None = None,
) -> HandoffFacts:
    return HandoffFacts(
        id=id,
        is_user_id=is_user,
        fs_user_id=fs_user,
        created_at=created,
        status=status,
        decided_at=created + timedelta(hours=decided_after_h),
        criteria_passed=criteria,
        bant_complete=bant,
        memo_score=memo,
        first_contact_on=first_contact,
        outcome=outcome,
        rated=False,
    )


def stars(bant: int, issue: int, completeness: int, overall: int) -> dict[str, int]:
    return {
        "bant_accuracy": bant,
        "issue_depth": issue,
        "memo_completeness": completeness,
        "overall": overall,
    }


HANDOFFS = [
    handoff(
        1,
        "IS1",
        "FS1",
        utc(11, 2),
        criteria=True,
        bant=True,
        memo=70,
        status=ACC,
        decided_after_h=4,
        first_contact=date(2026, 10, 1),
        outcome=Outcome.won(2_000_000, date(2026, 11, 30)),
    ),
    handoff(
        2,
        "IS1",
        "FS1",
        utc(11, 8),
        criteria=True,
        bant=True,
        memo=63,
        status=ACC,
        decided_after_h=2,
        outcome=Outcome.lost("予算が確保できなかった"),
    ),
    handoff(3, "IS1", "FS2", utc(11, 9), criteria=False, bant=True, memo=21, status=RET, decided_after_h=3),
    handoff(
        4,
        "IS2",
        "FS1",
        utc(11, 12),
        criteria=True,
        bant=True,
        memo=35,
        status=ACC,
        decided_after_h=6,
        first_contact=date(2026, 11, 1),
        outcome=Outcome.won(1_000_000, date(2026, 11, 25)),
    ),
    handoff(5, "IS2", "FS2", utc(11, 20), criteria=None, bant=False, memo=49, status=ACC, decided_after_h=8),
    handoff(
        6,
        "IS1",
        "IS2",
        utc(11, 14),
        criteria=True,
        bant=True,
        memo=70,
        status=ACC,
        decided_after_h=1,
        first_contact=date(2026, 10, 16),
        outcome=Outcome.won(3_000_000, date(2026, 11, 30)),
    ),
    handoff(
        99,
        "IS1",
        "FS1",
        START - timedelta(seconds=1),
        criteria=True,
        bant=True,
        memo=70,
        status=ACC,
        decided_after_h=1,
        outcome=Outcome.won(9_999_999, date(2026, 11, 1)),
    ),
]
FEEDBACK = [
    FeedbackFacts(1, utc(11, 5), sheet_at=utc(11, 6, 1), sheet_stars=stars(4, 4, 5, 5), follow_through=4),
    FeedbackFacts(2, utc(11, 10), sheet_at=utc(11, 12), sheet_stars=stars(3, 1, 2, 2)),
    FeedbackFacts(4, utc(11, 20), follow_through=2),
    FeedbackFacts(5, utc(11, 29, 23)),
    FeedbackFacts(6, utc(11, 15), sheet_at=utc(11, 15, 3), sheet_stars=stars(5, 4, 5, 5), follow_through=5),
    FeedbackFacts(99, utc(10, 30), sheet_at=utc(10, 30, 1), sheet_stars=stars(1, 1, 1, 1), follow_through=1),
]
FACTS = ScorecardFacts(period=NOVEMBER, now=NOW, handoffs=HANDOFFS, feedback=FEEDBACK)


@pytest.fixture(scope="module")
def cards() -> dict[str, Scorecard]:
    return build_scorecards(FACTS, RULES)


# -------------------------------------------------------------------------------------- the team


def test_every_rep_of_the_period_gets_a_card_sorted(cards: dict[str, Scorecard]) -> None:
    assert list(cards) == ["FS1", "FS2", "IS1", "IS2"]
    for user_id, card in cards.items():
        assert card.user_id == user_id
        assert (card.period_first, card.period_last) == (date(2026, 11, 1), date(2026, 11, 30))
        assert card.generated_at == NOW and card.quarter is None


def test_the_shared_kpis_are_the_teams(cards: dict[str, Scorecard]) -> None:
    shared = cards["IS1"].shared
    assert all(card.shared == shared for card in cards.values())
    assert (shared.toss_ups, shared.sqls, shared.accepted, shared.returned) == (6, 5, 5, 1)
    assert shared.acceptance_rate == pytest.approx(5 / 6)
    assert shared.bant_acquisition_rate == pytest.approx(5 / 6)
    assert shared.average_memo_score == pytest.approx(308 / 6)
    assert (shared.won, shared.lost, shared.win_rate) == (3, 1, 0.75)
    assert (shared.won_amount, shared.average_deal_size) == (6_000_000, 2_000_000)
    assert shared.average_lead_time_days == pytest.approx(43.0)
    assert shared.average_hours_to_accept == pytest.approx(4.2)
    assert (shared.sheets_counted, shared.sheets_on_time, shared.on_time_rate) == (4, 2, 0.5)
    assert shared.sql_rate == pytest.approx(5 / 6)


# ------------------------------------------------------------------------------------------- reps


def test_an_is_rep(cards: dict[str, Scorecard]) -> None:
    card = cards["IS1"]
    assert card.as_fs is None and card.feedback.from_is is None
    part = card.as_is
    assert part is not None
    assert (part.toss_ups, part.sqls, part.accepted, part.returned) == (4, 3, 3, 1)
    assert (part.sql_rate, part.bant_acquisition_rate) == (0.75, 1.0)
    assert (part.average_memo_score, part.memo_score_max) == (56.0, 70)
    assert part.figure == pytest.approx(85.0)
    combined = card.combined
    assert (combined.individual, combined.shared, combined.shared_weight) == (pytest.approx(85.0), 75.0, 0.35)
    assert combined.value == pytest.approx(81.5)
    from_fs = card.feedback.from_fs
    assert from_fs is not None and from_fs.count == 3
    assert from_fs.averages == pytest.approx(
        {"bant_accuracy": 4.0, "issue_depth": 3.0, "memo_completeness": 4.0, "overall": 4.0}
    )


def test_an_fs_rep(cards: dict[str, Scorecard]) -> None:
    card = cards["FS1"]
    assert card.as_is is None and card.feedback.from_fs is None
    part = card.as_fs
    assert part is not None
    assert (part.toss_ups, part.accepted, part.won, part.lost) == (3, 3, 2, 1)
    assert part.win_rate == pytest.approx(2 / 3)
    assert (part.won_amount, part.average_deal_size) == (3_000_000, 1_500_000)
    assert part.average_hours_to_accept == pytest.approx(4.0)
    assert (part.sheets_counted, part.sheets_on_time) == (3, 1)  # #1 on time, #2 late, #4 never sent
    assert part.figure == pytest.approx(50.0)
    assert card.combined.value == pytest.approx(58.75)
    from_is = card.feedback.from_is
    assert from_is is not None and (from_is.count, from_is.average) == (2, 3.0)


def test_a_rep_on_both_sides_gets_both_parts_weighted_by_toss_ups(cards: dict[str, Scorecard]) -> None:
    card = cards["IS2"]
    assert card.as_is is not None and card.as_fs is not None
    assert (card.as_is.toss_ups, card.as_is.sqls, card.as_is.bant_acquisition_rate) == (2, 2, 0.5)
    assert card.as_is.average_memo_score == 42.0
    assert card.as_is.figure == pytest.approx(70.0)
    assert (card.as_fs.toss_ups, card.as_fs.won, card.as_fs.win_rate, card.as_fs.won_amount) == (
        1,
        1,
        1.0,
        3_000_000,
    )
    assert (card.as_fs.sheets_counted, card.as_fs.sheets_on_time, card.as_fs.figure) == (1, 1, 100.0)
    assert card.combined.individual == pytest.approx(80.0)
    assert card.combined.value == pytest.approx(78.25)
    assert card.feedback.from_fs is not None and card.feedback.from_fs.count == 0
    assert card.feedback.from_fs.averages == {}
    assert card.feedback.from_is is not None and (
        card.feedback.from_is.count,
        card.feedback.from_is.average,
    ) == (
        1,
        5.0,
    )


def test_a_rep_without_any_figure(cards: dict[str, Scorecard]) -> None:
    card = cards["FS2"]
    assert card.as_fs is not None
    assert (card.as_fs.toss_ups, card.as_fs.accepted, card.as_fs.won, card.as_fs.lost) == (2, 1, 0, 0)
    assert (card.as_fs.win_rate, card.as_fs.average_deal_size, card.as_fs.on_time_rate) == (None, None, None)
    assert card.as_fs.sheets_counted == 0  # #3 was returned, #5 is still within its limit
    assert card.as_fs.average_hours_to_accept == pytest.approx(8.0)
    assert card.as_fs.figure is None
    assert (card.combined.individual, card.combined.value) == (None, None)
    assert card.combined.shared == 75.0
    assert card.feedback.from_is is not None and (
        card.feedback.from_is.count,
        card.feedback.from_is.average,
    ) == (
        0,
        None,
    )


def test_ranked_best_combined_first_none_last(cards: dict[str, Scorecard]) -> None:
    assert [card.user_id for card in ranked(cards.values())] == ["IS1", "IS2", "FS1", "FS2"]
    tied = [cards["IS1"].model_copy(update={"user_id": user}) for user in ("U2", "U1")]
    assert [card.user_id for card in ranked(tied)] == ["U1", "U2"]


# -------------------------------------------------------------------------------- the combination


@pytest.mark.parametrize(
    ("weight", "is1", "fs1"),
    [
        (0.3, 0.7 * 85 + 0.3 * 75, 0.7 * 50 + 0.3 * 75),  # 82.0, 57.5
        (0.4, 0.6 * 85 + 0.4 * 75, 0.6 * 50 + 0.4 * 75),  # 81.0, 60.0
        (0.0, 85.0, 50.0),
        (1.0, 75.0, 75.0),
    ],
)
def test_the_shared_weight_sets_the_shared_kpis_share(weight: float, is1: float, fs1: float) -> None:
    rules = replace(RULES, scorecards=ScorecardConfig(shared_weight=weight))
    cards = build_scorecards(FACTS, rules)
    assert cards["IS1"].combined.value == pytest.approx(is1)
    assert cards["FS1"].combined.value == pytest.approx(fs1)
    assert cards["IS1"].combined.shared_weight == weight


def test_with_nothing_closed_the_combined_figure_is_the_individual_one() -> None:
    open_only = [replace(row, outcome=None) for row in HANDOFFS]
    cards = build_scorecards(replace(FACTS, handoffs=open_only), RULES)
    # IS1 keeps 85; FS1 has no win rate, only sheets on time 1/3 → 33.3
    assert cards["IS1"].combined.shared is None
    assert cards["IS1"].combined.value == pytest.approx(85.0)
    assert cards["FS1"].combined.value == pytest.approx(100 / 3)


def test_the_memo_maximum_follows_the_score_weights() -> None:
    weights = ScoreWeights(
        bant=20, issue=15, competitors=10, decision_process=10, completeness=25, fs_rating=20
    )
    cards = build_scorecards(FACTS, replace(RULES, weights=weights))
    part = cards["IS1"].as_is
    assert part is not None and part.memo_score_max == 80
    assert part.figure == pytest.approx(100 * (0.75 + 1 + 56 / 80) / 3)  # 81.67


def test_a_rep_with_no_toss_up_gets_an_empty_card() -> None:
    card = build_scorecard(FACTS, RULES, "U0NOBODY")
    assert card.is_empty and card.combined.value is None
    assert card.feedback.from_fs is None and card.feedback.from_is is None
    assert card.shared.toss_ups == 6


def test_an_empty_period() -> None:
    assert build_scorecards(replace(FACTS, handoffs=[], feedback=[]), RULES) == {}


def test_the_card_is_frozen_and_round_trips_as_json(cards: dict[str, Scorecard]) -> None:
    for card in cards.values():
        assert Scorecard.model_validate_json(card.model_dump_json()) == card
        assert Scorecard.model_validate(card.model_dump(mode="json")) == card
    with pytest.raises(ValidationError):
        cards["IS1"].user_id = "U0OTHER"  # type: ignore[misc]


# ----------------------------------------------------------------------------- sheets on time


def test_on_time_is_until_the_first_reminder_counted_from_the_due_time() -> None:
    row = HANDOFFS[0]  # created 11-02 00:00, accepted 04:00
    # meeting 11-05 00:00 → due 02:00 → on time until 11-06 02:00 (exactly then still counts)
    assert sheet_on_time_until(row, utc(11, 5), RULES) == utc(11, 6, 2)
    # a meeting before FS accepted: due 2 h after the acceptance
    assert sheet_on_time_until(row, utc(11, 1), RULES) == utc(11, 3, 6)
    assert sheet_on_time_until(row, None, RULES) is None
    assert sheet_on_time_until(HANDOFFS[2], utc(11, 10), RULES) is None  # returned: no sheet expected
    config = FeedbackConfig(delay_hours=0, remind_every_hours=48)
    assert sheet_on_time_until(row, utc(11, 5), replace(RULES, feedback=config)) == utc(11, 7)

    def counted(sheet_at: datetime | None, now: datetime = NOW) -> tuple[int, int]:
        facts = ScorecardFacts(
            period=NOVEMBER,
            now=now,
            handoffs=[row],
            feedback=[FeedbackFacts(1, utc(11, 5), sheet_at=sheet_at)],
        )
        part = build_scorecards(facts, RULES)["FS1"].as_fs
        assert part is not None
        return part.sheets_counted, part.sheets_on_time

    assert counted(utc(11, 6, 2)) == (1, 1)
    assert counted(utc(11, 6, 2) + timedelta(microseconds=1)) == (1, 0)
    assert counted(utc(11, 3)) == (1, 1)  # sent before it was even asked for
    assert counted(None) == (1, 0)  # the limit has passed
    assert counted(None, now=utc(11, 6, 2)) == (1, 0)
    assert counted(None, now=utc(11, 6, 1)) == (0, 0)  # not late yet: not counted


def test_on_time_counts_business_hours_when_the_team_has_them() -> None:
    hours = BusinessHours(start=time(9), end=time(18))
    rules = replace(RULES, business_hours=hours, feedback=FeedbackConfig(delay_hours=0, remind_every_hours=2))
    friday = HANDOFFS[0]  # accepted Mon 11-02 13:00 JST
    meeting = datetime(2026, 11, 6, 17, tzinfo=TOKYO)  # Friday 17:00 JST: due then
    # 1 business hour left on Friday, the second on Monday 09:00–10:00
    assert sheet_on_time_until(friday, meeting, rules) == datetime(2026, 11, 9, 10, tzinfo=TOKYO)
    assert sheet_on_time_until(friday, meeting, RULES) == datetime(2026, 11, 7, 19, tzinfo=TOKYO)


# ------------------------------------------------------------------------------------------ config


def test_the_shared_weight_default_and_advice() -> None:
    assert ScorecardConfig().shared_weight == 0.35
    for advised in (0.3, 0.35, 0.4):
        config = ScorecardConfig(shared_weight=advised)
        assert config.shared_weight_advised and config.warnings() == []
    for unadvised in (0.0, 0.29, 0.41, 1.0):
        config = ScorecardConfig(shared_weight=unadvised)
        assert not config.shared_weight_advised
        [line] = config.warnings()
        assert line.startswith(f"scorecards.shared_weight is {unadvised:g}, outside the 0.3–0.4")
    for invalid in (-0.1, 1.01, float("nan"), "a lot"):
        with pytest.raises(ValidationError, match="shared_weight"):
            ScorecardConfig(shared_weight=invalid)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        ScorecardConfig.model_validate({"shared_weigth": 0.3})


# ----------------------------------------------------------------------------------------- periods


def period(argument: str, now: datetime = NOW) -> tuple[PeriodKind, date, date] | None:
    result = parse_scorecard_period(argument, now=now, tz=TOKYO)
    return None if result is None else (result.kind, result.first_day, result.last_day)


Q3 = (PeriodKind.RANGE, date(2026, 7, 1), date(2026, 9, 30))
Q4 = (PeriodKind.RANGE, date(2026, 10, 1), date(2026, 12, 31))


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("", (PeriodKind.MONTH, date(2026, 12, 1), date(2026, 12, 31))),  # 09:00 on 1 Dec in Tokyo
        ("last", (PeriodKind.MONTH, date(2026, 11, 1), date(2026, 11, 30))),
        ("先月", (PeriodKind.MONTH, date(2026, 11, 1), date(2026, 11, 30))),
        ("2026-11", (PeriodKind.MONTH, date(2026, 11, 1), date(2026, 11, 30))),
        ("２０２６／０２", (PeriodKind.MONTH, date(2026, 2, 1), date(2026, 2, 28))),
        ("2026-Q3", Q3),
        ("2026q3", Q3),
        (" 2026/Q3 ", Q3),
        ("Q3 2026", Q3),
        ("q3", Q3),
        ("2026年第3四半期", Q3),
        ("2026年 第３四半期", Q3),
        ("第3四半期", Q3),
        ("第三四半期", Q3),
        ("quarter", Q4),
        ("this quarter", Q4),
        ("今四半期", Q4),
        ("last-quarter", Q3),
        ("前四半期", Q3),
        ("2026-Q1", (PeriodKind.RANGE, date(2026, 1, 1), date(2026, 3, 31))),
        ("2024-q1", (PeriodKind.RANGE, date(2024, 1, 1), date(2024, 3, 31))),
        ("week", None),  # weeks and day ranges are not scorecard periods
        ("2026-11-01..2026-11-30", None),
        ("2026-Q5", None),
        ("2026-Q0", None),
        ("1999-Q1", None),
        ("第5四半期", None),
        ("2026-13", None),
        ("soon", None),
    ],
)
def test_parse_scorecard_period(argument: str, expected: tuple[PeriodKind, date, date] | None) -> None:
    assert period(argument) == expected


def test_a_quarter_runs_from_local_midnight_to_local_midnight() -> None:
    q4 = parse_scorecard_period("2026-Q4", now=NOW, tz=TOKYO)
    assert q4 is not None
    assert (q4.start, q4.end) == (
        datetime(2026, 9, 30, 15, tzinfo=UTC),
        datetime(2026, 12, 31, 15, tzinfo=UTC),
    )
    assert quarter_of(date(2026, 11, 18), TOKYO) == q4
    assert quarter_before(quarter_of(date(2026, 2, 1), TOKYO), TOKYO).first_day == date(2025, 10, 1)
    # "last quarter" in January is the previous year's Q4
    assert period("last-quarter", now=utc(1, 10)) == (PeriodKind.RANGE, date(2025, 10, 1), date(2025, 12, 31))


def test_exact_quarter() -> None:
    assert exact_quarter(date(2026, 7, 1), date(2026, 9, 30)) == 3
    assert exact_quarter(date(2026, 10, 1), date(2026, 12, 31)) == 4
    assert exact_quarter(date(2026, 11, 1), date(2026, 11, 30)) is None
    assert exact_quarter(date(2026, 8, 1), date(2026, 10, 31)) is None
    assert exact_quarter(date(2026, 7, 1), date(2026, 9, 29)) is None
    cards = build_scorecards(replace(FACTS, period=quarter_of(date(2026, 11, 1), TOKYO)), RULES)
    assert cards["IS1"].quarter == 4
    assert cards["IS1"].shared.toss_ups == 7  # the quarter takes in X (31 Oct JST) too
