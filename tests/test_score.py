"""Memo quality score: hand-worked examples and properties over any memo (hypothesis)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.domain.answers import normalize_answer
from bot.domain.memo import (
    TEXT_LIMITS,
    AuthorityLevel,
    BudgetStatus,
    HandoffMemo,
    MemoField,
    Temperature,
    Timeline,
)
from bot.domain.score import (
    COMPLETENESS_FIELDS,
    ScoreBreakdown,
    ScoreConfig,
    ScoreItemKey,
    ScoreWeights,
    points_for,
    score_memo,
)

CONFIG = ScoreConfig()

GOOD_ANSWERS: dict[str, Any] = {
    "company": "株式会社サンプル",
    "contact_name": "山田太郎",
    "contact_title": "情報システム部長",
    "contact_email": "taro.yamada@example.co.jp",
    "contact_phone": "03-1234-5678",
    "meeting_at": datetime(2030, 12, 1, 5, 0, tzinfo=UTC),
    "crm_url": "https://crm.example.com/leads/1",
    "lead_source": "seminar",
    "campaign": "DXセミナー2030",
    "budget_status": BudgetStatus.CONFIRMED,
    "budget_note": "概算300万円、来期予算で確保済み",
    "authority": AuthorityLevel.DECISION_MAKER,
    "decision_maker": "佐藤常務",
    "need": "月次決算に3日かかっており、2日短縮したい",
    "timeline": Timeline.MONTHS_3_TO_6,
    "current_issue": "経費精算が紙で回っていて月末に経理が残業している",
    "background": "拠点が増えて申請件数が2年で倍になった",
    "impact": "月末の残業代が月40万円、締めが遅れて経営報告が遅い",
    "expected_effect": "締めを2営業日短縮し、残業を半減させたい",
    "trigger": "監査法人から証憑管理の指摘を受けた",
    "competitors": "A社のクラウド経費精算と比較中",
    "concerns": "既存の会計ソフトとの連携に不安がある",
    "decision_process": "部長が比較表を作り、常務が決裁、稟議は2週間",
    "first_contact_on": date(2030, 10, 1),
    "interactions": "資料DL後に電話2回、デモ動画を視聴済み",
    "temperature": Temperature.HOT,
    "value_to_stress": "会計ソフト連携の実績と導入支援の手厚さ",
    "topics_to_avoid": "前回導入で失敗したB社製品の話",
    "other_notes": "商談には経理課長も同席予定です",
}
GOOD = HandoffMemo(**GOOD_ANSWERS)


def points(memo: HandoffMemo, config: ScoreConfig = CONFIG) -> dict[str, int]:
    return {item.key.value: item.points for item in score_memo(memo, config).items}


def losses(
    memo: HandoffMemo, key: ScoreItemKey, config: ScoreConfig = CONFIG
) -> list[tuple[str | None, str]]:
    item = score_memo(memo, config).item(key)
    assert item is not None
    return [(loss.field, loss.reason_key.removeprefix("score.loss.")) for loss in item.losses]


def good(**changes: Any) -> HandoffMemo:
    return HandoffMemo(**{**GOOD_ANSWERS, **changes})


# -------------------------------------------------------------------------------------- whole memos


def test_a_complete_good_memo_scores_70() -> None:
    breakdown = score_memo(GOOD, CONFIG)
    assert breakdown.total == 70
    assert breakdown.max_total == 70
    assert all(item.losses == () for item in breakdown.items)
    assert [i.key for i in breakdown.items] == [
        ScoreItemKey.BANT,
        ScoreItemKey.ISSUE,
        ScoreItemKey.COMPETITORS,
        ScoreItemKey.DECISION_PROCESS,
        ScoreItemKey.COMPLETENESS,
    ]
    assert [i.max_points for i in breakdown.items] == [20, 15, 10, 10, 15]


def test_an_empty_memo_scores_0_and_explains_everything() -> None:
    breakdown = score_memo(HandoffMemo(), CONFIG)
    assert breakdown.total == 0
    assert all(item.points == 0 and item.losses for item in breakdown.items)
    assert len(breakdown.item(ScoreItemKey.COMPLETENESS).losses) == len(COMPLETENESS_FIELDS) == 29  # type: ignore[union-attr]


def test_the_fs_rep_and_the_handoff_call_do_not_count_for_completeness() -> None:
    assert MemoField.FS_USER_ID not in COMPLETENESS_FIELDS
    assert MemoField.HANDOFF_CALL_WANTED not in COMPLETENESS_FIELDS
    assert points(good(fs_user_id=None, handoff_call_wanted=True))["completeness"] == 15


# --------------------------------------------------------------------------------------------- BANT


@pytest.mark.parametrize(
    ("changes", "bant", "expected_losses"),
    [
        ({}, 20, []),
        ({"budget_status": BudgetStatus.PLANNED}, 20, []),
        ({"budget_status": BudgetStatus.UNKNOWN}, 15, [("budget_status", "budget_unknown")]),
        # unknown gets nothing even with a specific note: the note cannot be checked to be about budget
        ({"budget_status": BudgetStatus.UNKNOWN, "budget_note": "来期に予算申請する予定とのこと"}, 15, None),
        ({"budget_status": None}, 15, [("budget_status", "missing")]),
        ({"authority": AuthorityLevel.INFLUENCER}, 20, []),
        # authority: half a part (2.5) each for the level and for the named decision maker; 17.5 → 18 → cap 19
        ({"authority": AuthorityLevel.NONE}, 18, [("authority", "no_authority")]),
        ({"decision_maker": None}, 18, [("decision_maker", "missing")]),
        ({"decision_maker": "未定"}, 18, [("decision_maker", "placeholder")]),
        ({"decision_maker": "山田"}, 20, []),  # names are short: no minimum length
        ({"need": "コスト削減"}, 15, [("need", "too_short")]),
        ({"need": "TBD"}, 15, [("need", "placeholder")]),
        ({"timeline": Timeline.UNKNOWN}, 15, [("timeline", "timeline_unknown")]),
        ({"timeline": Timeline.OVER_12_MONTHS}, 20, []),  # known, even if it fails the criteria
        ({"timeline": None}, 15, [("timeline", "missing")]),
        (
            {
                "budget_status": None,
                "authority": None,
                "decision_maker": None,
                "need": None,
                "timeline": None,
            },
            0,
            None,
        ),
    ],
)
def test_bant(changes: dict[str, Any], bant: int, expected_losses: list | None) -> None:
    memo = good(**changes)
    assert points(memo)["bant"] == bant
    if expected_losses is not None:
        assert losses(memo, ScoreItemKey.BANT) == expected_losses


# ------------------------------------------------------------------------------------ specific text


@pytest.mark.parametrize(
    ("current_issue", "reason"),
    [
        (None, "missing"),
        ("   ", "missing"),
        ("TBD", "placeholder"),
        ("tbd", "placeholder"),
        ("Ｎ／Ａ", "placeholder"),  # full-width is normalised
        ("未定。", "placeholder"),
        ("？", "placeholder"),
        ("---", "placeholder"),
        ("特になし", "placeholder"),
        ("人手不足", "too_short"),  # 4 characters
        ("   人手不足で困る   ", "too_short"),  # 7 characters after trimming
        ("人手不足で困っています", None),  # 11
    ],
)
def test_specific_text(current_issue: str | None, reason: str | None) -> None:
    memo = good(current_issue=current_issue)
    item_losses = losses(memo, ScoreItemKey.ISSUE)
    if reason is None:
        assert item_losses == []
        assert points(memo)["issue"] == 15
    else:
        assert item_losses == [("current_issue", reason)]
        assert points(memo)["issue"] == 11  # 15 × 3/4 = 11.25 → 11


def test_too_short_reports_length_and_minimum() -> None:
    item = score_memo(good(impact="遅い"), CONFIG).item(ScoreItemKey.ISSUE)
    assert item is not None
    assert item.losses[0].params == {"length": 2, "min_length": 10}


def test_a_copy_of_an_earlier_field_is_not_specific() -> None:
    copied = GOOD_ANSWERS["need"]
    memo = good(background="  " + copied.upper() + " ")  # same after whitespace and case normalisation
    item = score_memo(memo, CONFIG).item(ScoreItemKey.ISSUE)
    assert item is not None
    assert [(loss.field, loss.reason_key, loss.params) for loss in item.losses] == [
        ("background", "score.loss.copy", {"other": "need"})
    ]
    # the first holder keeps its credit
    assert points(memo)["bant"] == 20


def test_min_specific_length_is_configurable() -> None:
    memo = good(current_issue="人手不足")
    assert points(memo, ScoreConfig(min_specific_length=4))["issue"] == 15
    assert points(memo, ScoreConfig(min_specific_length=5))["issue"] == 11


def test_placeholders_are_configurable() -> None:
    memo = good(current_issue="これから確認して記入します")
    assert points(memo)["issue"] == 15
    assert points(memo, ScoreConfig(placeholders=["これから確認して記入します"]))["issue"] == 11


@pytest.mark.parametrize(("specific", "issue"), [(4, 15), (3, 11), (2, 8), (1, 4), (0, 0)])
def test_issue_is_proportional(specific: int, issue: int) -> None:
    fields = ["current_issue", "background", "impact", "expected_effect"]
    memo = good(**{f: None for f in fields[specific:]})
    assert points(memo)["issue"] == issue  # 15 × n/4 rounded half up: 11.25, 7.5 → 8, 3.75 → 4


# -------------------------------------------------------------------------------------- competitors


@pytest.mark.parametrize(
    ("competitors", "earned", "reason"),
    [
        ("A社と比較中", True, None),
        ("HubSpot", True, None),  # stated: a name is enough, no minimum length
        ("なし", True, None),  # none considered is knowledge
        ("特になし", True, None),
        ("None considered", True, None),
        ("競合なし。", True, None),
        ("TBD", False, "placeholder"),
        ("不明", False, "placeholder"),
        ("-", False, "placeholder"),
        (None, False, "missing"),
    ],
)
def test_competitors(competitors: str | None, earned: bool, reason: str | None) -> None:
    memo = good(competitors=competitors)
    assert points(memo)["competitors"] == (10 if earned else 0)
    assert losses(memo, ScoreItemKey.COMPETITORS) == ([] if earned else [("competitors", reason)])


def test_none_considered_counts_as_answered_for_completeness_but_other_placeholders_do_not() -> None:
    assert points(good(competitors="なし"))["completeness"] == 15
    assert points(good(competitors="TBD"))["completeness"] == 14  # 15 × 28/29 = 14.48 → 14
    assert losses(good(competitors="TBD"), ScoreItemKey.COMPLETENESS) == [("competitors", "unanswered")]


def test_competitors_copied_from_another_field_is_lost() -> None:
    memo = good(competitors=GOOD_ANSWERS["concerns"], concerns=None)
    # competitors comes first in the template, so concerns would be the copy: here concerns is empty
    assert points(memo)["competitors"] == 10
    memo = good(competitors=GOOD_ANSWERS["trigger"])
    assert losses(memo, ScoreItemKey.COMPETITORS) == [("competitors", "copy")]


def test_none_considered_is_configurable() -> None:
    config = ScoreConfig(none_considered=["検討していない"])
    assert points(good(competitors="検討していない"), config)["competitors"] == 10
    assert points(good(competitors="なし"), config)["competitors"] == 0


# --------------------------------------------------------------------------------- decision process


@pytest.mark.parametrize(
    ("changes", "expected", "lost_fields"),
    [
        ({}, 10, []),
        ({"decision_process": "稟議で決まる"}, 5, ["decision_process"]),
        ({"decision_maker": None}, 5, ["decision_maker"]),
        ({"decision_process": None, "decision_maker": "-"}, 0, ["decision_process", "decision_maker"]),
    ],
)
def test_decision_process(changes: dict[str, Any], expected: int, lost_fields: list[str]) -> None:
    memo = good(**changes)
    assert points(memo)["decision_process"] == expected
    assert [f for f, _ in losses(memo, ScoreItemKey.DECISION_PROCESS)] == lost_fields


# ------------------------------------------------------------------------------------- completeness


@pytest.mark.parametrize(("empty", "expected"), [(0, 15), (1, 14), (2, 14), (3, 13), (14, 8), (29, 0)])
def test_completeness_is_proportional_rounded_half_up(empty: int, expected: int) -> None:
    memo = good(**{f.value: None for f in COMPLETENESS_FIELDS[:empty]})
    assert points(memo)["completeness"] == expected
    assert len(losses(memo, ScoreItemKey.COMPLETENESS)) == empty


def test_unknown_answers_are_answers_for_completeness() -> None:
    memo = good(budget_status=BudgetStatus.UNKNOWN, timeline=Timeline.UNKNOWN, authority=AuthorityLevel.NONE)
    assert points(memo)["completeness"] == 15


# -------------------------------------------------------------------------------- rounding, weights


@pytest.mark.parametrize(
    ("weight", "earned", "complete", "expected"),
    [
        (20, Fraction(1), True, 20),
        (20, Fraction(7, 8), False, 18),  # 17.5 → 18
        (15, Fraction(1, 2), False, 8),  # 7.5 → 8 (half up)
        (15, Fraction(28, 29), False, 14),
        (5, Fraction(28, 29), False, 4),  # 4.83 would round to 5: capped, a loss always costs a point
        (1, Fraction(1, 2), False, 0),
        (0, Fraction(1), True, 0),
        (10, Fraction(0), False, 0),
    ],
)
def test_points_for(weight: int, earned: Fraction, complete: bool, expected: int) -> None:
    assert points_for(weight, earned, complete=complete) == expected


def test_custom_weights() -> None:
    weights = ScoreWeights(
        bant=40, issue=10, competitors=0, decision_process=10, completeness=10, fs_rating=30
    )
    config = ScoreConfig(weights=weights)
    breakdown = score_memo(GOOD, config)
    assert breakdown.total == breakdown.max_total == 70
    memo = good(need=None, competitors=None)
    breakdown = score_memo(memo, config)
    by_key = {i.key: i for i in breakdown.items}
    assert by_key[ScoreItemKey.BANT].points == 30  # 40 × 3/4
    assert by_key[ScoreItemKey.COMPETITORS].max_points == 0
    assert by_key[ScoreItemKey.COMPETITORS].losses == ()  # nothing to lose
    assert by_key[ScoreItemKey.COMPLETENESS].points == 9  # 10 × 27/29 = 9.31


def test_fs_rating_weight_changes_the_memo_maximum() -> None:
    weights = ScoreWeights(
        bant=25, issue=20, competitors=10, decision_process=10, completeness=15, fs_rating=20
    )
    assert score_memo(GOOD, ScoreConfig(weights=weights)).max_total == 80


@pytest.mark.parametrize(
    "weights",
    [
        {"bant": 25},  # 105
        {"fs_rating": 0},  # 70
        {"bant": -5, "issue": 40},  # negative
    ],
)
def test_weights_must_be_non_negative_and_add_up_to_100(weights: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        ScoreWeights(**weights)


def test_weights_error_names_the_sum() -> None:
    with pytest.raises(ValidationError, match="must add up to 100, these add up to 105"):
        ScoreWeights(bant=25)


def test_unknown_config_keys_are_refused() -> None:
    with pytest.raises(ValidationError):
        ScoreConfig.model_validate({"weights": {"bant": 20, "speed": 1}})
    with pytest.raises(ValidationError):
        ScoreConfig.model_validate({"min_specific_length": 0})


# ------------------------------------------------------------------------------------------- JSON


def test_json_round_trip() -> None:
    breakdown = score_memo(good(need="TBD", background=GOOD_ANSWERS["need"], impact="遅い"), CONFIG)
    stored = json.loads(json.dumps(breakdown.to_json()))
    assert stored["total"] == breakdown.total
    assert ScoreBreakdown.from_json(stored) == breakdown


# -------------------------------------------------------------------------------------- properties

SPECIFIC_TEXTS = st.text(alphabet="あいうえおかきくけこ課題予算決裁abcdef0123 ", min_size=10, max_size=60)
TEXTS = st.one_of(
    st.none(),
    st.sampled_from(["TBD", "未定", "-", "なし", "特になし", "？", "none", "  ", "HubSpot", "山田", "短い"]),
    st.text(max_size=12),
    SPECIFIC_TEXTS,
    st.sampled_from([GOOD_ANSWERS["need"], GOOD_ANSWERS["current_issue"]]),  # duplicates across fields
)


@st.composite
def memos(draw: st.DrawFn) -> HandoffMemo:
    answers: dict[str, Any] = {}
    for field in TEXT_LIMITS:
        answers[field.value] = draw(TEXTS)
    answers["budget_status"] = draw(st.none() | st.sampled_from(BudgetStatus))
    answers["authority"] = draw(st.none() | st.sampled_from(AuthorityLevel))
    answers["timeline"] = draw(st.none() | st.sampled_from(Timeline))
    answers["temperature"] = draw(st.none() | st.sampled_from(Temperature))
    answers["lead_source"] = draw(st.none() | st.just("seminar"))
    answers["meeting_at"] = draw(st.none() | st.just(datetime(2030, 1, 1, tzinfo=UTC)))
    answers["first_contact_on"] = draw(st.none() | st.just(date(2029, 12, 1)))
    answers["handoff_call_wanted"] = draw(st.booleans())
    return HandoffMemo(**answers)


WEIGHTS = st.sampled_from(
    [
        ScoreWeights(),
        ScoreWeights(bant=40, issue=10, competitors=0, decision_process=10, completeness=10, fs_rating=30),
        ScoreWeights(bant=1, issue=1, competitors=1, decision_process=1, completeness=1, fs_rating=95),
        ScoreWeights(bant=5, issue=5, competitors=5, decision_process=5, completeness=50, fs_rating=30),
    ]
)
PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(memos(), WEIGHTS)
def test_total_is_within_bounds_and_every_lost_point_is_explained(
    memo: HandoffMemo, weights: ScoreWeights
) -> None:
    breakdown = score_memo(memo, ScoreConfig(weights=weights))
    assert 0 <= breakdown.total <= breakdown.max_total == 100 - weights.fs_rating
    assert breakdown.total == sum(item.points for item in breakdown.items)
    for item in breakdown.items:
        assert 0 <= item.points <= item.max_points
        assert (item.points < item.max_points) == bool(item.losses), item
        for loss in item.losses:
            assert loss.reason_key.startswith("score.loss.")


@PROPERTY_SETTINGS
@given(memos(), WEIGHTS, st.data())
def test_filling_a_field_with_specific_unique_text_never_lowers_the_total(
    memo: HandoffMemo, weights: ScoreWeights, data: st.DataObject
) -> None:
    empty = [f for f in TEXT_LIMITS if not memo.is_filled(f)]
    empty += [
        f for f in (MemoField.BUDGET_STATUS, MemoField.AUTHORITY, MemoField.TIMELINE) if memo.value(f) is None
    ]
    if not empty:
        return
    field = data.draw(st.sampled_from(empty))
    if field in TEXT_LIMITS:
        taken = {normalize_answer(str(memo.value(f))) for f in TEXT_LIMITS if memo.is_filled(f)}
        text = data.draw(
            SPECIFIC_TEXTS.filter(lambda s: normalize_answer(s) not in taken and len(s.strip()) >= 10)
        )
        value: object = text[: TEXT_LIMITS[field]]
    else:
        enum = {MemoField.BUDGET_STATUS: BudgetStatus, MemoField.AUTHORITY: AuthorityLevel}.get(
            field, Timeline
        )
        value = data.draw(st.sampled_from(list(enum)))
    config = ScoreConfig(weights=weights)
    before = score_memo(memo, config)
    after = score_memo(memo.model_copy(update={field.value: value}), config)
    assert after.total >= before.total
    for old, new in zip(before.items, after.items, strict=True):
        assert new.points >= old.points, (field, old, new)


@PROPERTY_SETTINGS
@given(memos())
def test_json_round_trip_for_any_memo(memo: HandoffMemo) -> None:
    breakdown = score_memo(memo, CONFIG)
    assert ScoreBreakdown.from_json(json.loads(json.dumps(breakdown.to_json()))) == breakdown
