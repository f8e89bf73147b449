"""Toss-up criteria: configuration validation and evaluation, table-driven."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.domain.criteria import (
    BUILTIN_CRITERIA,
    DEFAULT_CRITERIA,
    CriteriaConfig,
    CriteriaEvaluation,
    CriteriaMode,
    Criterion,
    CriterionKind,
    CriterionResult,
    evaluate_criteria,
    unknown_fields,
)
from bot.domain.memo import TEXT_LIMITS, AuthorityLevel, BudgetStatus, HandoffMemo, MemoField, Timeline
from bot.domain.options import LocalizedLabel
from bot.domain.score import ScoreConfig, ScoreItemKey, score_memo

GOOD = HandoffMemo(
    budget_status=BudgetStatus.CONFIRMED,
    authority=AuthorityLevel.DECISION_MAKER,
    need="基幹システムの老朽化で月末処理に3日かかっている",
    timeline=Timeline.MONTHS_3_TO_6,
    competitors="A社と比較検討中",
)


def rule(**kwargs: Any) -> Criterion:
    return Criterion(**{"id": "r", **kwargs})


def one(memo: HandoffMemo, criterion: Criterion) -> CriterionResult:
    evaluation = evaluate_criteria(memo, CriteriaConfig(rules=[criterion]))
    assert len(evaluation.results) == 1
    return evaluation.results[0]


# ------------------------------------------------------------------------------------------ defaults


def test_default_config_is_the_seeds_five_in_gate_mode() -> None:
    config = CriteriaConfig()
    assert config.mode is CriteriaMode.GATE
    assert [(r.id, r.kind, r.field) for r in config.rules] == [
        ("budget", CriterionKind.ONE_OF, "budget_status"),
        ("authority", CriterionKind.ONE_OF, "authority"),
        ("need", CriterionKind.MIN_LENGTH, "need"),
        ("timeline", CriterionKind.TIMELINE_WITHIN, "timeline"),
        ("competitors", CriterionKind.REQUIRED, "competitors"),
    ]
    assert config.rules[0].values == ["confirmed", "planned"]
    assert config.rules[1].values == ["decision_maker", "influencer"]
    assert config.rules[2].min_length == 10
    assert config.rules[3].months == 6
    assert list(config.rules) == list(DEFAULT_CRITERIA)


def test_a_good_memo_passes_the_defaults() -> None:
    evaluation = evaluate_criteria(GOOD, CriteriaConfig())
    assert evaluation.passed
    assert evaluation.failures == ()
    assert [r.criterion_id for r in evaluation.results] == [
        "budget",
        "authority",
        "need",
        "timeline",
        "competitors",
    ]


def test_an_empty_memo_fails_every_default_as_missing() -> None:
    evaluation = evaluate_criteria(HandoffMemo(), CriteriaConfig())
    assert not evaluation.passed
    assert [r.reason_key for r in evaluation.failures] == ["criteria.reason.missing"] * 5


# ------------------------------------------------------------------------------------ every kind × case

KIND_CASES = [
    # REQUIRED
    ("required text ok", rule(kind="required", field="competitors"), {"competitors": "A社"}, None, {}),
    (
        "required none considered",
        rule(kind="required", field="competitors"),
        {"competitors": "なし"},
        None,
        {},
    ),
    ("required none en", rule(kind="required", field="competitors"), {"competitors": "none"}, None, {}),
    ("required missing", rule(kind="required", field="competitors"), {}, "missing", {}),
    ("required blank", rule(kind="required", field="competitors"), {"competitors": "   "}, "missing", {}),
    (
        "required placeholder",
        rule(kind="required", field="competitors"),
        {"competitors": " 未定 "},
        "placeholder",
        {"value": "未定"},
    ),
    (
        "required TBD any case",
        rule(kind="required", field="competitors"),
        {"competitors": "tbd"},
        "placeholder",
        {"value": "tbd"},
    ),
    (
        "required symbols only",
        rule(kind="required", field="competitors"),
        {"competitors": "・・・"},
        "placeholder",
        {"value": "・・・"},
    ),
    ("required select", rule(kind="required", field="lead_source"), {"lead_source": "seminar"}, None, {}),
    ("required date missing", rule(kind="required", field="first_contact_on"), {}, "missing", {}),
    ("required enum", rule(kind="required", field="budget_status"), {"budget_status": "unknown"}, None, {}),
    # ONE_OF
    (
        "one_of ok",
        rule(kind="one_of", field="budget_status", values=["confirmed", "planned"]),
        {"budget_status": "planned"},
        None,
        {},
    ),
    (
        "one_of fail",
        rule(kind="one_of", field="budget_status", values=["confirmed", "planned"]),
        {"budget_status": "unknown"},
        "not_one_of",
        {"value": "unknown"},
    ),
    (
        "one_of missing",
        rule(kind="one_of", field="budget_status", values=["confirmed"]),
        {},
        "missing",
        {},
    ),
    (
        "one_of authority none",
        rule(kind="one_of", field="authority", values=["decision_maker", "influencer"]),
        {"authority": "none"},
        "not_one_of",
        {"value": "none"},
    ),
    (
        "one_of lead source",
        rule(kind="one_of", field="lead_source", values=["seminar", "referral"]),
        {"lead_source": "referral"},
        None,
        {},
    ),
    (
        "one_of lead source fail",
        rule(kind="one_of", field="lead_source", values=["seminar"]),
        {"lead_source": "outbound"},
        "not_one_of",
        {"value": "outbound"},
    ),
    # MIN_LENGTH
    ("min_length ok", rule(kind="min_length", field="need", min_length=5), {"need": "12345"}, None, {}),
    (
        "min_length counts characters, trimmed",
        rule(kind="min_length", field="need", min_length=5),
        {"need": "  課題あり  "},
        "too_short",
        {"length": 4, "min_length": 5},
    ),
    (
        "min_length japanese ok",
        rule(kind="min_length", field="need", min_length=5),
        {"need": "課題がありま"},
        None,
        {},
    ),
    ("min_length missing", rule(kind="min_length", field="need", min_length=5), {}, "missing", {}),
    # TIMELINE_WITHIN missing
    ("timeline missing", rule(kind="timeline_within", field="timeline", months=6), {}, "missing", {}),
]


@pytest.mark.parametrize(
    ("criterion", "answers", "reason", "params"),
    [case[1:] for case in KIND_CASES],
    ids=[case[0] for case in KIND_CASES],
)
def test_every_kind(criterion: Criterion, answers: dict[str, Any], reason: str | None, params: dict) -> None:
    result = one(HandoffMemo(**answers), criterion)
    assert result.criterion_id == "r"
    assert result.field == criterion.field
    assert result.passed is (reason is None)
    assert result.reason_key == (f"criteria.reason.{reason}" if reason else None)
    assert result.params == params


# Every Timeline answer against every window: within_3m → 3, 3_to_6m → 6, 6_to_12m → 12, over_12m beyond.
TIMELINE_TABLE = {
    Timeline.WITHIN_3_MONTHS: {3: True, 6: True, 12: True},
    Timeline.MONTHS_3_TO_6: {3: False, 6: True, 12: True},
    Timeline.MONTHS_6_TO_12: {3: False, 6: False, 12: True},
    Timeline.OVER_12_MONTHS: {3: False, 6: False, 12: False},
    Timeline.UNKNOWN: {3: False, 6: False, 12: False},
}


@pytest.mark.parametrize(
    ("timeline", "months", "passes"),
    [(tl, m, ok) for tl, row in TIMELINE_TABLE.items() for m, ok in row.items()],
)
def test_timeline_within(timeline: Timeline, months: int, passes: bool) -> None:
    result = one(
        HandoffMemo(timeline=timeline), rule(kind="timeline_within", field="timeline", months=months)
    )
    assert result.passed is passes
    if passes:
        assert result.reason_key is None
    elif timeline is Timeline.UNKNOWN:
        assert result.reason_key == "criteria.reason.timeline_unknown"
        assert result.params == {}
    else:
        assert result.reason_key == "criteria.reason.timeline_too_late"
        assert result.params == {"value": timeline.value, "months": months}


def test_every_timeline_value_is_in_the_table() -> None:
    assert set(TIMELINE_TABLE) == set(Timeline)


# ---------------------------------------------------------------------------------- custom selects


def test_custom_select_criteria() -> None:
    config = CriteriaConfig(
        rules=[
            Criterion(id="segment", kind="one_of", field="segment", values=["enterprise", "mid"]),
            Criterion(id="region", kind="required", field="region"),
        ]
    )
    passing = evaluate_criteria(HandoffMemo(custom={"segment": "mid", "region": "east"}), config)
    assert passing.passed
    failing = evaluate_criteria(HandoffMemo(custom={"segment": "smb"}), config)
    assert [(r.criterion_id, r.reason_key, r.params) for r in failing.failures] == [
        ("segment", "criteria.reason.not_one_of", {"value": "smb"}),
        ("region", "criteria.reason.missing", {}),
    ]


def test_unknown_fields_lists_names_neither_memo_fields_nor_custom_keys() -> None:
    config = CriteriaConfig(
        rules=[
            Criterion(id="a", kind="required", field="segment"),
            Criterion(id="b", kind="required", field="regoin"),
            Criterion(id="c", kind="required", field="company"),
            Criterion(id="d", kind="one_of", field="regoin", values=["x"]),
        ]
    )
    assert unknown_fields(config, {"segment", "region"}) == ["regoin"]
    assert unknown_fields(config, ["segment", "regoin"]) == []
    assert unknown_fields(CriteriaConfig(), []) == []


# ------------------------------------------------------------------------------- disabled and order


def test_disabled_rules_are_skipped_and_order_is_config_order() -> None:
    rules = [
        Criterion(id="z", kind="required", field="company"),
        Criterion(id="off", kind="required", field="contact_name", enabled=False),
        Criterion(id="a", kind="required", field="campaign"),
    ]
    evaluation = evaluate_criteria(HandoffMemo(company="ACME"), CriteriaConfig(rules=rules, mode="warn"))
    assert [r.criterion_id for r in evaluation.results] == ["z", "a"]
    assert evaluation.mode is CriteriaMode.WARN
    assert [r.criterion_id for r in evaluation.failures] == ["a"]


def test_no_rules_passes() -> None:
    assert evaluate_criteria(HandoffMemo(), CriteriaConfig(rules=[])).passed


def test_evaluation_is_deterministic() -> None:
    memo = HandoffMemo(need="短い", timeline=Timeline.OVER_12_MONTHS)
    assert evaluate_criteria(memo, CriteriaConfig()) == evaluate_criteria(memo, CriteriaConfig())


# --------------------------------------------------------------------------------- config validation

INVALID = [
    ("bad id", {"id": "Budget!", "kind": "required", "field": "need"}, "id"),
    ("values on required", {"kind": "required", "field": "need", "values": ["a"]}, "'values' is only"),
    (
        "min_length on one_of",
        {"kind": "one_of", "field": "segment", "values": ["a"], "min_length": 3},
        "min_length",
    ),
    ("months on required", {"kind": "required", "field": "need", "months": 6}, "'months' is only"),
    ("one_of without values", {"kind": "one_of", "field": "budget_status"}, "give the accepted answers"),
    ("one_of duplicates", {"kind": "one_of", "field": "segment", "values": ["a", "a"]}, "duplicates"),
    ("one_of unknown enum value", {"kind": "one_of", "field": "budget_status", "values": ["maybe"]}, "maybe"),
    ("one_of on a text field", {"kind": "one_of", "field": "need", "values": ["x"]}, "select fields only"),
    ("min_length without number", {"kind": "min_length", "field": "need"}, "set 'min_length'"),
    ("min_length zero", {"kind": "min_length", "field": "need", "min_length": 0}, "set 'min_length'"),
    ("min_length too long", {"kind": "min_length", "field": "decision_maker", "min_length": 151}, "longer"),
    (
        "min_length on a select",
        {"kind": "min_length", "field": "budget_status", "min_length": 3},
        "text fields",
    ),
    ("min_length on custom", {"kind": "min_length", "field": "segment", "min_length": 3}, "text fields"),
    (
        "timeline on another field",
        {"kind": "timeline_within", "field": "need", "months": 6},
        "'timeline' only",
    ),
    ("timeline odd months", {"kind": "timeline_within", "field": "timeline", "months": 4}, "3, 6 or 12"),
    ("timeline no months", {"kind": "timeline_within", "field": "timeline"}, "3, 6 or 12"),
    ("required yes/no", {"kind": "required", "field": "handoff_call_wanted"}, "always answered"),
    ("unknown kind", {"kind": "regex", "field": "need"}, "kind"),
    ("extra key", {"kind": "required", "field": "need", "weight": 3}, "weight"),
]


@pytest.mark.parametrize(("data", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_criterion(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Criterion(**{"id": "r", **data})
    assert message in str(caught.value)


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(ValidationError, match="unique; repeated: need"):
        CriteriaConfig(rules=[*DEFAULT_CRITERIA, Criterion(id="need", kind="required", field="need")])


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValidationError):
        CriteriaConfig(mode="strict")


def test_config_from_yaml_like_dict_with_label() -> None:
    config = CriteriaConfig.model_validate(
        {
            "mode": "warn",
            "rules": [
                {"id": "budget", "kind": "one_of", "field": "budget_status", "values": ["confirmed"]},
                {
                    "id": "trigger",
                    "kind": "min_length",
                    "field": "trigger",
                    "min_length": 20,
                    "label": {"ja": "検討のきっかけ", "en": "Why now"},
                },
            ],
        }
    )
    assert config.rules[1].label == LocalizedLabel(ja="検討のきっかけ", en="Why now")


# ------------------------------------------------------------------------------------------- JSON


def test_json_round_trip() -> None:
    memo = HandoffMemo(
        budget_status=BudgetStatus.UNKNOWN, need="短い", timeline=Timeline.MONTHS_6_TO_12, competitors="TBD"
    )
    evaluation = evaluate_criteria(memo, CriteriaConfig(mode="warn"))
    stored = json.loads(json.dumps(evaluation.to_json()))
    again = CriteriaEvaluation.from_json(stored)
    assert again == evaluation
    assert again.mode is CriteriaMode.WARN
    assert not again.passed
    assert len(again.failures) == 5


@pytest.mark.parametrize("answer", ["要確認", "後で", "later", "TBD.", "未定。", "ＴＢＤ"])
def test_gate_and_score_agree_on_placeholders(answer: str) -> None:
    memo = HandoffMemo(competitors=answer)
    (result,) = evaluate_criteria(memo, CriteriaConfig(rules=[BUILTIN_CRITERIA["competitors"]])).results
    assert not result.passed


@pytest.mark.parametrize("answer", ["なし", "特になし", "none considered"])
def test_none_considered_still_counts_as_known(answer: str) -> None:
    memo = HandoffMemo(competitors=answer)
    (result,) = evaluate_criteria(memo, CriteriaConfig(rules=[BUILTIN_CRITERIA["competitors"]])).results
    assert result.passed


# ----------------------------------------------------------- one reading of placeholders (issue 13)

ASK_LATER = ScoreConfig(placeholders=["ask later"])


def test_a_teams_own_placeholder_fails_the_gate_where_it_scores_nothing() -> None:
    memo = GOOD.model_copy(update={"competitors": "Ask later."})
    score = score_memo(memo, ASK_LATER).item(ScoreItemKey.COMPETITORS)
    assert score is not None and score.points == 0
    evaluation = evaluate_criteria(memo, CriteriaConfig(), reading=ASK_LATER.reading)
    (failure,) = evaluation.failures
    assert (failure.criterion_id, failure.reason_key) == ("competitors", "criteria.reason.placeholder")
    # ... and what the team took off its list is an answer to both
    memo = GOOD.model_copy(update={"competitors": "TBD"})
    assert evaluate_criteria(memo, CriteriaConfig(), reading=ASK_LATER.reading).passed
    assert score_memo(memo, ASK_LATER).item(ScoreItemKey.COMPETITORS).points == 10  # type: ignore[union-attr]


def test_min_length_refuses_a_long_placeholder_the_score_refuses() -> None:
    config = ScoreConfig(placeholders=["to be confirmed with the customer"])
    memo = GOOD.model_copy(update={"need": "To be confirmed with the customer"})
    (result,) = evaluate_criteria(
        memo, CriteriaConfig(rules=[BUILTIN_CRITERIA["need"]]), reading=config.reading
    ).results
    assert result.reason_key == "criteria.reason.placeholder"


def test_a_select_option_named_like_a_placeholder_is_a_choice() -> None:
    required = rule(kind="required", field="segment")
    assert one(HandoffMemo(custom={"segment": "unknown"}), required).passed


TEXT_FIELDS = sorted(f.value for f in TEXT_LIMITS)


@given(
    field=st.sampled_from(TEXT_FIELDS),
    text=st.one_of(
        st.sampled_from(
            ["ask later", "TBD", "なし", "none", "-", "未定。", "ＴＢＤ", "Ask  Later", "検討中"]
        ),
        st.text(min_size=1, max_size=12),
    ),
    placeholders=st.lists(st.sampled_from(["ask later", "TBD", "なし", "要確認", "-"]), max_size=4),
    none_considered=st.lists(st.sampled_from(["なし", "none", "検討中"]), max_size=2),
)
def test_the_gate_and_the_score_read_every_text_answer_alike(
    field: str, text: str, placeholders: list[str], none_considered: list[str]
) -> None:
    """`required` passes exactly when the score's completeness counts the field as answered."""
    config = ScoreConfig(placeholders=placeholders, none_considered=none_considered)
    memo = HandoffMemo.model_construct(**{field: text})
    (result,) = evaluate_criteria(
        memo, CriteriaConfig(rules=[rule(kind="required", field=field)]), reading=config.reading
    ).results
    lost = score_memo(memo, config).item(ScoreItemKey.COMPLETENESS).losses  # type: ignore[union-attr]
    counted = all(loss.field != field for loss in lost)
    assert result.passed == counted, (field, text, MemoField(field))
