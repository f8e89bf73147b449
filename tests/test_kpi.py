"""Shared KPIs over FIXED data whose answers were worked out by hand (the arithmetic is in the comments).

Two weeks, 2024-06-03 (Mon) 00:00 UTC … 2024-06-17 00:00 UTC; IS reps IS1, IS2; FS reps FS1, FS2.

#  IS  FS   created      status   decided  criteria BANT memo fs  bant  first  outcome
1  IS1 FS1  06-03 09:00  accepted +4 h     passed   yes  60   24  20    05-01  won 1,000,000 on 06-20
2  IS1 FS2  06-04 10:00  accepted +24 h    passed   no   50   15  15    05-10  lost
3  IS1 FS1  06-05 09:00  returned +2 h     failed   no   30   –   5     05-20  –
4  IS2 FS2  06-06 09:00  accepted +2 h     none     yes  65   30  20    04-01  won 500,000 on 06-30
5  IS2 FS1  06-10 09:00  pending  –        passed   yes  55   –   20    05-15  –
6  IS2 FS2  06-11 09:00  accepted +30 h    passed   yes  70   20  20    06-01  open
7  IS1 –    06-12 09:00  pending  –        passed   no   –    –   –     –      –
8  IS2 FS1  06-14 09:00  accepted +8 h     passed   yes  40   –   5     –      won 300,000 on 07-01
(memo = memo points, fs = FS rating points, bant = the bant score item, first = first contact; UTC times)
Outside the period: #9 (06-02 23:59, before the start) and #10 (06-17 00:00, the end is excluded; rep IS3).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.handoff import HandoffStatus
from bot.domain.kpi import HandoffFacts, Kpis, bant_complete, compute_kpis, kpis_by_rep
from bot.domain.memo import AuthorityLevel, BudgetStatus, HandoffMemo, Timeline
from bot.domain.outcome import Outcome
from bot.domain.sla import BusinessHours

START = datetime(2024, 6, 3, tzinfo=UTC)
END = datetime(2024, 6, 17, tzinfo=UTC)
ACC, RET, PEND = HandoffStatus.ACCEPTED, HandoffStatus.RETURNED, HandoffStatus.PENDING


def facts(
    id: int,
    is_user: str,
    fs_user: str | None,
    created: datetime,
    status: HandoffStatus,
    decided_after_h: float | None,
    criteria: bool | None,
    bant: bool,
    memo: int | None,
    fs: int | None,
    bant_item: int | None,
    first_contact: date | None,
    outcome: Outcome | None,
) -> HandoffFacts:
    items: dict[str, int] = {}
    if bant_item is not None:
        items["bant"] = bant_item
    if fs is not None:
        items["fs_rating"] = fs
    return HandoffFacts(
        id=id,
        is_user_id=is_user,
        fs_user_id=fs_user,
        created_at=created,
        status=status,
        decided_at=created + timedelta(hours=decided_after_h) if decided_after_h is not None else None,
        criteria_passed=criteria,
        bant_complete=bant,
        memo_score=memo,
        score_items=items,
        first_contact_on=first_contact,
        outcome=outcome,
        outcome_at=created + timedelta(days=10) if outcome is not None else None,
        rated=fs is not None,
    )


def utc(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


FACTS = [
    facts(1, "IS1", "FS1", utc(6, 3, 9), ACC, 4, True, True, 60, 24, 20, date(2024, 5, 1),
          Outcome.won(1_000_000, date(2024, 6, 20))),
    facts(2, "IS1", "FS2", utc(6, 4, 10), ACC, 24, True, False, 50, 15, 15, date(2024, 5, 10),
          Outcome.lost("予算が確保できなかった")),
    facts(3, "IS1", "FS1", utc(6, 5, 9), RET, 2, False, False, 30, None, 5, date(2024, 5, 20), None),
    facts(4, "IS2", "FS2", utc(6, 6, 9), ACC, 2, None, True, 65, 30, 20, date(2024, 4, 1),
          Outcome.won(500_000, date(2024, 6, 30))),
    facts(5, "IS2", "FS1", utc(6, 10, 9), PEND, None, True, True, 55, None, 20, date(2024, 5, 15), None),
    facts(6, "IS2", "FS2", utc(6, 11, 9), ACC, 30, True, True, 70, 20, 20, date(2024, 6, 1),
          Outcome.still_open()),
    facts(7, "IS1", None, utc(6, 12, 9), PEND, None, True, False, None, None, None, None, None),
    facts(8, "IS2", "FS1", utc(6, 14, 9), ACC, 8, True, True, 40, None, 5, None,
          Outcome.won(300_000, date(2024, 7, 1))),
    # outside the period
    facts(9, "IS1", "FS1", utc(6, 2, 23, 59), ACC, 1, True, True, 70, 30, 20, date(2024, 5, 1),
          Outcome.won(9_999_999, date(2024, 6, 10))),
    facts(10, "IS3", "FS2", utc(6, 17), ACC, 1, True, True, 70, 30, 20, date(2024, 5, 1),
          Outcome.won(9_999_999, date(2024, 6, 30))),
]  # fmt: skip


def kpis(user: str | None = None) -> Kpis:
    return compute_kpis(FACTS, start=START, end=END, user=user)


def test_team_kpis() -> None:
    k = kpis()
    assert k.toss_ups == 8  # #1–#8; #9 before the start, #10 at the (excluded) end
    assert k.sqls == 7  # all but #3 (criteria failed); #4 has no criteria evaluated and counts
    assert (k.accepted, k.returned, k.pending) == (5, 1, 2)  # accepted #1 #2 #4 #6 #8, returned #3
    assert k.acceptance_rate == pytest.approx(5 / 6)  # 5 accepted / 6 decided
    assert k.bant_acquisition_rate == 0.625  # #1 #4 #5 #6 #8 = 5 / 8
    assert k.rated == 4  # #1 #2 #4 #6
    assert (k.won, k.lost) == (3, 1)  # won #1 #4 #8, lost #2; #6 open
    assert k.win_rate == 0.75  # 3 / (3 + 1)
    assert k.won_amount == 1_800_000  # 1,000,000 + 500,000 + 300,000
    # #1: 05-01 → 06-20 = 31 + 19 = 50 days; #4: 04-01 → 06-30 = 30 + 31 + 29 = 90 days; #8 no first contact
    assert k.avg_lead_time_days == 70.0  # (50 + 90) / 2
    assert k.avg_hours_to_accept == pytest.approx(13.6)  # (4 + 24 + 2 + 30 + 8) / 5 = 68 / 5
    # totals: #1 60+24=84, #2 50+15=65, #3 30, #4 65+30=95, #5 55, #6 70+20=90, #8 40; #7 unscored
    assert k.avg_quality_score == 83.5  # the rated ones: #1 84, #2 65, #4 95, #6 90 = 334 / 4
    # bant: (20+15+5+20+20+20+5) / 7 = 105 / 7 = 15; fs_rating over the rated: (24+15+30+20) / 4 = 89 / 4
    assert k.avg_items == {"bant": 15.0, "fs_rating": 22.25}


def test_is1_kpis() -> None:
    k = kpis("IS1")  # #1 #2 #3 #7
    assert (k.toss_ups, k.sqls) == (4, 3)  # #3 failed criteria
    assert (k.accepted, k.returned, k.pending) == (2, 1, 1)
    assert k.acceptance_rate == pytest.approx(2 / 3)
    assert k.bant_acquisition_rate == 0.25  # #1 only
    assert (k.won, k.lost, k.win_rate) == (1, 1, 0.5)
    assert k.won_amount == 1_000_000
    assert k.avg_lead_time_days == 50.0
    assert k.avg_hours_to_accept == 14.0  # (4 + 24) / 2
    assert k.avg_quality_score == 74.5  # (84 + 65) / 2: #3 (30) is not rated
    assert k.avg_items == {"bant": pytest.approx(40 / 3), "fs_rating": 19.5}  # (20+15+5)/3, (24+15)/2


def test_is2_kpis() -> None:
    k = kpis("IS2")  # #4 #5 #6 #8
    assert (k.toss_ups, k.sqls) == (4, 4)
    assert (k.accepted, k.returned, k.pending) == (3, 0, 1)
    assert k.acceptance_rate == 1.0
    assert k.bant_acquisition_rate == 1.0
    assert (k.won, k.lost, k.win_rate) == (2, 0, 1.0)  # #4 #8
    assert k.won_amount == 800_000  # 500,000 + 300,000
    assert k.avg_lead_time_days == 90.0  # #4 only (#8 has no first contact)
    assert k.avg_hours_to_accept == pytest.approx(40 / 3)  # (2 + 30 + 8) / 3
    assert k.avg_quality_score == 92.5  # (95 + 90) / 2: #5 (55) and #8 (40) are not rated
    assert k.avg_items == {"bant": 16.25, "fs_rating": 25.0}  # (20+20+20+5)/4, (30+20)/2


def test_fs1_kpis() -> None:
    k = kpis("FS1")  # #1 #3 #5 #8
    assert (k.toss_ups, k.sqls) == (4, 3)
    assert (k.accepted, k.returned, k.pending) == (2, 1, 1)
    assert k.acceptance_rate == pytest.approx(2 / 3)
    assert k.bant_acquisition_rate == 0.75  # #1 #5 #8
    assert k.rated == 1  # #1: FS1 owes feedback on #8
    assert (k.won, k.lost, k.win_rate) == (2, 0, 1.0)  # #1 #8
    assert k.won_amount == 1_300_000
    assert k.avg_lead_time_days == 50.0  # #1 only
    assert k.avg_hours_to_accept == 6.0  # (4 + 8) / 2
    assert k.avg_quality_score == 84.0  # #1 alone is rated
    assert k.avg_items == {"bant": 12.5, "fs_rating": 24.0}  # (20+5+20+5)/4, 24/1


def test_fs2_kpis() -> None:
    k = kpis("FS2")  # #2 #4 #6
    assert (k.toss_ups, k.sqls, k.accepted, k.returned, k.pending) == (3, 3, 3, 0, 0)
    assert k.acceptance_rate == 1.0
    assert k.bant_acquisition_rate == pytest.approx(2 / 3)  # #4 #6
    assert (k.won, k.lost, k.win_rate) == (1, 1, 0.5)  # won #4, lost #2
    assert k.won_amount == 500_000
    assert k.avg_lead_time_days == 90.0
    assert k.avg_hours_to_accept == pytest.approx(56 / 3)  # (24 + 2 + 30) / 3
    assert k.avg_quality_score == pytest.approx(250 / 3)  # (65 + 95 + 90) / 3
    assert k.avg_items == {"bant": pytest.approx(55 / 3), "fs_rating": pytest.approx(65 / 3)}


def test_a_win_is_credited_to_both_reps() -> None:
    by_rep = kpis_by_rep(FACTS, start=START, end=END)
    assert list(by_rep) == ["FS1", "FS2", "IS1", "IS2"]  # IS3 only appears outside the period
    assert by_rep["IS1"] == kpis("IS1") and by_rep["FS2"] == kpis("FS2")
    # deal #1 counts for IS1 and for FS1; IS wins add up to the team's, and so do FS wins (#7 has no FS)
    assert by_rep["IS1"].won + by_rep["IS2"].won == kpis().won == 3
    assert by_rep["FS1"].won + by_rep["FS2"].won == 3
    assert by_rep["FS1"].toss_ups + by_rep["FS2"].toss_ups == 7


def test_unknown_rep_and_empty_period() -> None:
    empty = Kpis(
        toss_ups=0, sqls=0, accepted=0, returned=0, pending=0, acceptance_rate=None,
        bant_acquisition_rate=None, rated=0, won=0, lost=0, win_rate=None, won_amount=0,
        avg_lead_time_days=None, avg_hours_to_accept=None, avg_quality_score=None, avg_items={},
    )  # fmt: skip
    assert kpis("U_NOBODY") == empty
    assert compute_kpis([], start=START, end=END) == empty
    assert compute_kpis(FACTS, start=utc(8, 1), end=utc(9, 1)) == empty
    assert kpis_by_rep([], start=START, end=END) == {}


def test_nothing_decided_or_closed_gives_none_not_zero_division() -> None:
    pending = [facts(1, "IS1", "FS1", utc(6, 3, 9), PEND, None, True, False, None, None, None, None, None)]
    k = compute_kpis(pending, start=START, end=END)
    assert (k.toss_ups, k.pending) == (1, 1)
    assert k.acceptance_rate is None and k.win_rate is None
    assert k.bant_acquisition_rate == 0.0  # a real zero: one toss-up, no BANT
    assert k.avg_lead_time_days is None and k.avg_hours_to_accept is None and k.avg_quality_score is None
    # only open outcomes: no win rate yet
    opened = [
        facts(1, "IS1", "FS1", utc(6, 3, 9), ACC, 1, True, True, 50, None, None, None, Outcome.still_open())
    ]
    k = compute_kpis(opened, start=START, end=END)
    assert (k.won, k.lost, k.win_rate, k.won_amount) == (0, 0, None, 0)
    assert k.avg_quality_score is None  # unrated: no 100-point score yet (its memo's 50/70 is not one)


def test_period_bounds() -> None:
    # [start, end): the start instant is in, the end instant is out
    day = compute_kpis(FACTS, start=utc(6, 3, 9), end=utc(6, 4, 10))
    assert day.toss_ups == 1  # #1 at 06-03 09:00; #2 at 06-04 10:00 is the excluded end
    # naive bounds are read as UTC
    naive = compute_kpis(FACTS, start=START.replace(tzinfo=None), end=END.replace(tzinfo=None))
    assert naive == kpis()
    with pytest.raises(ValueError, match="end after it starts"):
        compute_kpis(FACTS, start=END, end=START)


def test_hours_to_accept_in_business_hours() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    hours = BusinessHours(start=time(9), end=time(18))
    friday_5pm = datetime(2024, 6, 7, 17, 0, tzinfo=tokyo)
    one = [facts(1, "IS1", "FS1", friday_5pm, ACC, 65, True, True, None, None, None, None, None)]
    # accepted Monday 10:00 Tokyo: 65 elapsed hours, 2 business hours (Fri 17–18, Mon 9–10)
    assert compute_kpis(one, start=START, end=END).avg_hours_to_accept == 65.0
    assert compute_kpis(one, start=START, end=END, tz=tokyo, business_hours=hours).avg_hours_to_accept == 2.0
    assert (
        kpis_by_rep(one, start=START, end=END, tz=tokyo, business_hours=hours)["FS1"].avg_hours_to_accept
        == 2.0
    )


def memo(**answers: object) -> HandoffMemo:
    base: dict[str, object] = {
        "budget_status": BudgetStatus.CONFIRMED,
        "authority": AuthorityLevel.INFLUENCER,
        "need": "在庫管理の自動化",
        "timeline": Timeline.WITHIN_3_MONTHS,
    }
    base.update(answers)
    return HandoffMemo(**base)


def test_bant_complete() -> None:
    assert bant_complete(memo())
    assert bant_complete(memo(budget_status=BudgetStatus.PLANNED, authority=AuthorityLevel.NONE))
    assert bant_complete(memo(timeline=Timeline.OVER_12_MONTHS))
    assert not bant_complete(memo(budget_status=BudgetStatus.UNKNOWN))
    assert not bant_complete(memo(budget_status=None))
    assert not bant_complete(memo(authority=None))
    assert not bant_complete(memo(need=None))
    assert not bant_complete(memo(need="・・・"))
    assert not bant_complete(memo(timeline=Timeline.UNKNOWN))
    assert not bant_complete(HandoffMemo())


def test_a_close_date_typed_before_the_first_contact_is_no_lead_time() -> None:
    """Refused on the outcome form since 2026-12-07; one stored before is left out, not averaged in as a
    negative lead time."""
    typo = replace(FACTS[0], outcome=Outcome.won(1_000_000, date(2024, 4, 30)))  # first contact 05-01
    k = compute_kpis([typo, *FACTS[1:]], start=START, end=END)
    assert k.won == 3 and k.avg_lead_time_days == 90.0  # #4 only: #1's typo and #8 (no first contact) out
