"""The feedback loop's pure domain: sheet validation, FS rating points, due and reminder times, the learning
loop, outcomes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.domain.feedback import (
    RATING_FIELDS,
    FeedbackConfig,
    FeedbackSheet,
    IsRating,
    MeetingResult,
    complete_score,
    feedback_due_at,
    feedback_reminder_at,
    feedback_reminders_due,
    fs_rating_item,
    learning_items,
    requested_items,
)
from bot.domain.outcome import Outcome, OutcomeKind
from bot.domain.score import ScoreBreakdown, ScoreItem, ScoreItemKey, ScoreLoss
from bot.domain.sla import BusinessHours

TOKYO = ZoneInfo("Asia/Tokyo")
UTC_ZONE = ZoneInfo("UTC")
HOURS = BusinessHours(start=time(9), end=time(18))


def sheet(
    bant: int = 5, issue: int = 5, memo: int = 5, overall: int = 5, **texts: str | None
) -> FeedbackSheet:
    return FeedbackSheet(
        result=MeetingResult.PROGRESS,
        bant_accuracy=bant,
        issue_depth=issue,
        memo_completeness=memo,
        overall=overall,
        **texts,
    )


# ----------------------------------------------------------------------------------------- validation


def test_sheet_accepts_the_seed_fields_and_blank_texts_become_none() -> None:
    s = FeedbackSheet(
        result="on_hold",
        bant_accuracy=3,
        issue_depth=4,
        memo_completeness=2,
        overall=3,
        good="  決裁者の名前があって助かった ",
        improve="   ",
        next_info="",
    )
    assert s.result is MeetingResult.ON_HOLD
    assert s.good == "決裁者の名前があって助かった"
    assert s.improve is None and s.next_info is None
    assert s.stars == {"bant_accuracy": 3, "issue_depth": 4, "memo_completeness": 2, "overall": 3}


@pytest.mark.parametrize("stars", [0, 6, -1, 3.5])
def test_sheet_refuses_stars_outside_1_to_5(stars: float) -> None:
    with pytest.raises(ValidationError):
        FeedbackSheet(result="progress", bant_accuracy=stars, issue_depth=5, memo_completeness=5, overall=5)


def test_sheet_refuses_unknown_result_extra_fields_and_long_text() -> None:
    with pytest.raises(ValidationError):
        FeedbackSheet(result="won", bant_accuracy=5, issue_depth=5, memo_completeness=5, overall=5)
    with pytest.raises(ValidationError):
        sheet(rater="U1")
    with pytest.raises(ValidationError):
        sheet(good="x" * 2001)
    assert sheet(good="x" * 2000).good == "x" * 2000


def test_sheet_is_frozen() -> None:
    s = sheet()
    with pytest.raises(ValidationError):
        s.overall = 1  # type: ignore[misc]


def test_is_rating() -> None:
    assert IsRating(follow_through=4, comment=" すぐ連絡してくれた ").comment == "すぐ連絡してくれた"
    assert IsRating(follow_through=1, comment=" ").comment is None
    for bad in ({"follow_through": 0}, {"follow_through": 6}, {"follow_through": 3, "comment": "x" * 2001}):
        with pytest.raises(ValidationError):
            IsRating(**bad)
    with pytest.raises(ValidationError):
        IsRating(follow_through=3, extra="x")


def test_feedback_config_defaults_and_bounds() -> None:
    config = FeedbackConfig()
    assert (config.delay_hours, config.remind_every_hours, config.max_reminders) == (2, 24, 3)
    assert config.anonymous is False and config.learning_loop_items == 5  # items, a line each
    for bad in (
        {"max_reminders": 11},
        {"max_reminders": -1},
        {"learning_loop_items": 11},
        {"remind_every_hours": 0},
        {"delay_hours": -1},
        {"delay_hours": float("inf")},
        {"typo": 1},
    ):
        with pytest.raises(ValidationError):
            FeedbackConfig(**bad)


# ---------------------------------------------------------------------------------------- FS rating


@pytest.mark.parametrize(
    ("stars", "weight", "points"),
    [
        ((5, 5, 5, 5), 30, 30),  # (20 − 4) / 16 × 30 = 30
        ((1, 1, 1, 1), 30, 0),  # (4 − 4) / 16 × 30 = 0
        ((5, 5, 5, 4), 30, 28),  # 15/16 × 30 = 28.125 → 28
        ((3, 5, 5, 5), 30, 26),  # 14/16 × 30 = 26.25 → 26
        ((4, 4, 4, 5), 30, 24),  # 13/16 × 30 = 24.375 → 24
        ((3, 3, 3, 3), 30, 15),  # 8/16 × 30 = 15
        ((4, 4, 4, 4), 30, 23),  # 12/16 × 30 = 22.5 → 23 (half up)
        ((2, 2, 2, 2), 30, 8),  # 4/16 × 30 = 7.5 → 8 (half up)
        ((1, 1, 1, 2), 30, 2),  # 1/16 × 30 = 1.875 → 2
        ((5, 5, 5, 4), 20, 19),  # 15/16 × 20 = 18.75 → 19
        ((5, 5, 5, 4), 8, 7),  # 15/16 × 8 = 7.5 → 8, capped at 8 − 1 because a star was lost
        ((5, 5, 5, 5), 8, 8),
    ],
)
def test_fs_rating_points(stars: tuple[int, int, int, int], weight: int, points: int) -> None:
    item = fs_rating_item(sheet(*stars), weight)
    assert item.key is ScoreItemKey.FS_RATING
    assert (item.points, item.max_points) == (points, weight)


def test_fs_rating_losses_name_each_rating_below_five() -> None:
    item = fs_rating_item(sheet(bant=3, issue=5, memo=4, overall=5), 30)
    assert item.losses == (
        ScoreLoss(None, "score.loss.rating", {"rating": "bant_accuracy", "stars": 3}),
        ScoreLoss(None, "score.loss.rating", {"rating": "memo_completeness", "stars": 4}),
    )
    assert fs_rating_item(sheet(), 30).losses == ()
    assert len(fs_rating_item(sheet(1, 1, 1, 1), 30).losses) == 4


def test_fs_rating_not_rated_and_zero_weight() -> None:
    item = fs_rating_item(None, 30)
    assert (item.points, item.max_points) == (0, 30)
    assert item.losses == (ScoreLoss(None, "score.loss.not_rated"),)
    assert fs_rating_item(sheet(), 0) == ScoreItem(ScoreItemKey.FS_RATING, 0, 0, ())
    assert fs_rating_item(None, 0) == ScoreItem(ScoreItemKey.FS_RATING, 0, 0, ())


def test_fs_rating_survives_json() -> None:
    item = fs_rating_item(sheet(bant=2), 30)
    assert ScoreItem.from_json(item.to_json()) == item


stars_st = st.integers(min_value=1, max_value=5)


@given(stars_st, stars_st, stars_st, stars_st, st.integers(min_value=1, max_value=100))
def test_fs_rating_every_lost_point_is_explained(b: int, i: int, m: int, o: int, weight: int) -> None:
    item = fs_rating_item(sheet(b, i, m, o), weight)
    assert 0 <= item.points <= weight
    all_five = (b, i, m, o) == (5, 5, 5, 5)
    assert (item.points == weight) == all_five
    assert bool(item.losses) == (not all_five)
    assert len(item.losses) == sum(1 for s in (b, i, m, o) if s < 5)


@given(stars_st, stars_st, stars_st, stars_st, stars_st)
def test_fs_rating_is_monotonic(b: int, i: int, m: int, o: int, extra: int) -> None:
    lower = fs_rating_item(sheet(b, i, m, o), 30).points
    higher = fs_rating_item(sheet(max(b, extra), i, m, o), 30).points
    assert higher >= lower


# ----------------------------------------------------------------------------------- complete score

MEMO_SCORE = ScoreBreakdown(
    items=(
        ScoreItem(ScoreItemKey.BANT, 15, 20, (ScoreLoss("timeline", "score.loss.missing"),)),
        ScoreItem(ScoreItemKey.ISSUE, 15, 15),
        ScoreItem(ScoreItemKey.COMPETITORS, 10, 10),
        ScoreItem(
            ScoreItemKey.DECISION_PROCESS, 5, 10, (ScoreLoss("decision_process", "score.loss.missing"),)
        ),
        ScoreItem(ScoreItemKey.COMPLETENESS, 12, 15, (ScoreLoss("campaign", "score.loss.unanswered"),)),
    )
)


def test_complete_score_adds_the_fs_item() -> None:
    full = complete_score(MEMO_SCORE, sheet(bant=3), 30)
    # memo 15 + 15 + 10 + 5 + 12 = 57 of 70; FS (3+5+5+5 − 4)/16 × 30 = 26.25 → 26
    assert full.total == 57 + 26 == 83
    assert full.max_total == 100
    assert full.items[:5] == MEMO_SCORE.items
    assert full.items[5].key is ScoreItemKey.FS_RATING
    assert MEMO_SCORE.total == 57  # the input is untouched


def test_complete_score_replaces_an_existing_fs_item_in_place() -> None:
    first = complete_score(MEMO_SCORE, sheet(1, 1, 1, 1), 30)
    assert first.total == 57
    second = complete_score(first, sheet(), 30)
    assert second.total == 87
    assert [i.key for i in second.items] == [i.key for i in first.items]
    assert sum(1 for i in second.items if i.key is ScoreItemKey.FS_RATING) == 1
    unrated = complete_score(second, None, 30)
    assert unrated.total == 57 and unrated.max_total == 100
    assert ScoreBreakdown.from_json(second.to_json()) == second


# ------------------------------------------------------------------------------------------- timing

MEETING = datetime(2024, 6, 5, 5, 0, tzinfo=UTC)  # Wed 14:00 in Tokyo
CREATED = datetime(2024, 6, 3, 1, 0, tzinfo=UTC)


def test_due_is_meeting_plus_delay() -> None:
    config = FeedbackConfig()
    due = feedback_due_at(meeting_at=MEETING, created_at=CREATED, accepted_at=None, config=config)
    assert due == datetime(2024, 6, 5, 7, 0, tzinfo=UTC)
    accepted = CREATED + timedelta(hours=1)
    assert feedback_due_at(meeting_at=MEETING, created_at=CREATED, accepted_at=accepted, config=config) == due
    zero = FeedbackConfig(delay_hours=0)
    assert feedback_due_at(meeting_at=MEETING, created_at=CREATED, accepted_at=None, config=zero) == MEETING


def test_due_never_before_creation_or_acceptance() -> None:
    config = FeedbackConfig(delay_hours=2)
    late_accept = MEETING + timedelta(hours=5)  # FS accepted after the meeting had taken place
    due = feedback_due_at(meeting_at=MEETING, created_at=CREATED, accepted_at=late_accept, config=config)
    assert due == late_accept + timedelta(hours=2)
    past_meeting = CREATED - timedelta(days=1)  # the meeting was before the toss-up
    due = feedback_due_at(meeting_at=past_meeting, created_at=CREATED, accepted_at=None, config=config)
    assert due == CREATED + timedelta(hours=2)


def test_due_without_meeting_time_is_none() -> None:
    assert (
        feedback_due_at(meeting_at=None, created_at=CREATED, accepted_at=CREATED, config=FeedbackConfig())
        is None
    )


def test_due_reads_naive_as_utc() -> None:
    due = feedback_due_at(
        meeting_at=MEETING.replace(tzinfo=None), created_at=CREATED.replace(tzinfo=None), accepted_at=None,
        config=FeedbackConfig(),
    )  # fmt: skip
    assert due == datetime(2024, 6, 5, 7, 0, tzinfo=UTC)
    assert due is not None and due.tzinfo is not None


def test_reminders_in_elapsed_hours() -> None:
    config = FeedbackConfig(remind_every_hours=24, max_reminders=3)
    due = datetime(2024, 6, 5, 7, 0, tzinfo=UTC)

    def at(now: datetime) -> list[int]:
        return feedback_reminders_due(due, config, now=now, tz=UTC_ZONE, business_hours=None)

    assert at(due) == []
    assert at(due + timedelta(hours=23, minutes=59)) == []
    assert at(due + timedelta(hours=24)) == [1]
    assert at(due + timedelta(hours=48)) == [1, 2]
    assert at(due + timedelta(days=30)) == [1, 2, 3]  # never more than max_reminders
    assert (
        feedback_reminders_due(
            due,
            FeedbackConfig(max_reminders=0),
            now=due + timedelta(days=30),
            tz=UTC_ZONE,
            business_hours=None,
        )
        == []
    )


def test_reminders_in_business_hours() -> None:
    # due Friday 2024-06-07 17:00 Tokyo (08:00 UTC); 09:00–18:00 Mon–Fri; every 2 business hours
    config = FeedbackConfig(remind_every_hours=2, max_reminders=3)
    due = datetime(2024, 6, 7, 8, 0, tzinfo=UTC)

    def at(now_tokyo: datetime) -> list[int]:
        return feedback_reminders_due(due, config, now=now_tokyo, tz=TOKYO, business_hours=HOURS)

    # reminder 1: Friday 17:00–18:00 (1 h) + Monday 09:00–10:00 (1 h) → Monday 10:00 Tokyo
    assert feedback_reminder_at(due, 1, config, tz=TOKYO, business_hours=HOURS) == datetime(
        2024, 6, 10, 10, 0, tzinfo=TOKYO
    )
    assert at(datetime(2024, 6, 8, 12, 0, tzinfo=TOKYO)) == []  # Saturday: nothing, though 19 h passed
    assert at(datetime(2024, 6, 10, 9, 59, tzinfo=TOKYO)) == []
    assert at(datetime(2024, 6, 10, 10, 0, tzinfo=TOKYO)) == [1]
    assert at(datetime(2024, 6, 10, 12, 0, tzinfo=TOKYO)) == [1, 2]  # Monday 12:00
    assert at(datetime(2024, 6, 10, 14, 0, tzinfo=TOKYO)) == [1, 2, 3]  # Monday 14:00
    assert at(datetime(2024, 7, 1, tzinfo=TOKYO)) == [1, 2, 3]


def test_reminder_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        feedback_reminder_at(MEETING, 0, FeedbackConfig(), tz=UTC_ZONE, business_hours=None)


# ------------------------------------------------------------------------------------ learning loop


def at_day(day: int) -> datetime:
    return datetime(2024, 6, day, 9, 0, tzinfo=UTC)


def test_learning_items_newest_first_deduplicated_limited() -> None:
    sheets = [
        (at_day(1), sheet(next_info="決裁者の名前")),
        (at_day(5), sheet(next_info="競合の検討状況")),
        (at_day(3), sheet(next_info=None)),
        (at_day(4), sheet(next_info="  予算の金額感  ")),
        (at_day(6), sheet(next_info="ＢＵＤＧＥＴ  range")),
        (at_day(7), sheet(next_info="budget range")),  # same as day 6 after NFKC/case/space: newest kept
        (at_day(2), sheet(next_info="・・・")),  # no letters: skipped
    ]
    assert learning_items(sheets, 3) == ["budget range", "競合の検討状況", "予算の金額感"]
    assert learning_items(sheets, 10) == ["budget range", "競合の検討状況", "予算の金額感", "決裁者の名前"]
    assert learning_items(sheets, 0) == []
    assert learning_items([], 3) == []


def test_learning_items_ties_keep_the_later_entry_first() -> None:
    same = at_day(3)
    sheets = [(same, sheet(next_info="A")), (same, sheet(next_info="B"))]
    assert learning_items(sheets, 2) == ["B", "A"]


def test_learning_items_are_the_lines_of_the_answers() -> None:
    sheets = [
        (at_day(1), sheet(next_info="決裁者の名前\n予算の金額感")),
        (at_day(2), sheet(next_info="・導入時期\n・決裁者の名前。\n\n・・・")),
    ]
    assert learning_items(sheets, 10) == ["導入時期", "決裁者の名前。", "予算の金額感"]
    assert learning_items(sheets, 2) == ["導入時期", "決裁者の名前。"]


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("Number of users\nContract renewal date", ["Number of users", "Contract renewal date"]),
        ("- a\n* b\n• c\n・d\n1. e\n2) f\n（3）g", ["a", "b", "c", "d", "e", "f", "g"]),
        ("  \n。\n---\n", []),
        (None, []),
        ("2024 budget", ["2024 budget"]),  # a number that is not a list marker stays
        ("3.5億円以上の予算があるか", ["3.5億円以上の予算があるか"]),  # a decimal is no list number
        ("12.5% growth expected\n1.5 FTE headcount", ["12.5% growth expected", "1.5 FTE headcount"]),
        ("-10% discount asked\n- budget owner", ["-10% discount asked", "budget owner"]),
    ],
)
def test_requested_items(text: str | None, items: list[str]) -> None:
    assert requested_items(text) == items


# ------------------------------------------------------------------------------------------- outcome


def test_outcome_valid_kinds() -> None:
    won = Outcome(kind="won", amount=1_200_000, closed_on=date(2024, 7, 1))
    assert won.kind is OutcomeKind.WON and won == Outcome.won(1_200_000, date(2024, 7, 1))
    assert Outcome(kind="won", amount=0, closed_on=date(2024, 7, 1)).amount == 0
    lost = Outcome(kind="lost", lost_reason=" 予算が取れなかった ")
    assert lost.lost_reason == "予算が取れなかった" and lost.closed_on is None
    assert Outcome.lost("競合に決定", date(2024, 7, 2)).closed_on == date(2024, 7, 2)
    assert Outcome(kind="open") == Outcome.still_open()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "won", "closed_on": date(2024, 7, 1)}, "needs its amount"),
        ({"kind": "won", "amount": 10}, "needs the date it was won"),
        ({"kind": "won", "amount": 10, "closed_on": date(2024, 7, 1), "lost_reason": "x"}, "no lost_reason"),
        ({"kind": "lost"}, "needs a lost_reason"),
        ({"kind": "lost", "lost_reason": "   "}, "needs a lost_reason"),
        ({"kind": "lost", "lost_reason": "price", "amount": 5}, "only a won deal has an amount"),
        ({"kind": "open", "amount": 5, "closed_on": date(2024, 7, 1)}, "open deal has no amount, closed_on"),
        ({"kind": "open", "lost_reason": "x"}, "open deal has no lost_reason"),
    ],
)
def test_outcome_refusals_say_why(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Outcome(**data)


def test_outcome_field_bounds() -> None:
    with pytest.raises(ValidationError):
        Outcome(kind="won", amount=-1, closed_on=date(2024, 7, 1))
    with pytest.raises(ValidationError):
        Outcome(kind="lost", lost_reason="x" * 1001)
    with pytest.raises(ValidationError):
        Outcome(kind="draw")
    with pytest.raises(ValidationError):
        Outcome(kind="open", note="x")


def test_rating_weights_count_some_ratings_more_and_unlisted_ones_once() -> None:
    weights = FeedbackConfig(rating_weights={"overall": 2}).rating_weights
    assert weights == {"bant_accuracy": 1, "issue_depth": 1, "memo_completeness": 1, "overall": 2}
    # 1★ 1★ 1★ 5★: overall counts double, so 2×4 of 5×4 possible steps → 30 × 8/20 = 12
    item = fs_rating_item(sheet(1, 1, 1, 5), 30, weights)
    assert item.points == 12 and {loss.params["rating"] for loss in item.losses} == {
        "bant_accuracy",
        "issue_depth",
        "memo_completeness",
    }
    assert fs_rating_item(sheet(1, 1, 1, 5), 30).points == 8  # the default: all four equally


def test_a_rating_weighted_zero_does_not_count_nor_cost_points() -> None:
    weights = FeedbackConfig(rating_weights={"memo_completeness": 0}).rating_weights
    item = fs_rating_item(sheet(5, 5, 1, 5), 30, weights)
    assert item.points == 30 and item.losses == ()


@pytest.mark.parametrize("bad", [{"speed": 1}, dict.fromkeys(RATING_FIELDS, 0), {"overall": -1}])
def test_rating_weights_are_checked(bad: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        FeedbackConfig(rating_weights=bad)
