"""Routing rules, absences and the round-robin step: pure, no database."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from bot.domain.memo import BudgetStatus, HandoffMemo, MemoField, Timeline
from bot.domain.routing import (
    Absence,
    RouteDecision,
    RouteKind,
    RoutingConfig,
    RoutingRule,
    absent_from_config,
    answer_value,
    channel_now,
    decide,
    match_rule,
    needs_turn,
    next_in_pool,
    unknown_match_keys,
)

DEFAULT = "CDEFAULT"
EAST = "CEAST01"


def memo(**fields: Any) -> HandoffMemo:
    return HandoffMemo(company="株式会社サンプル", **fields)


RULES = [
    RoutingRule(
        name="enterprise-east",
        match={"segment": ["enterprise"], "region": ["east", "north"]},
        channel=EAST,
        pool=["UA01", "UB02"],
    ),
    RoutingRule(name="seminar_budget", match={"lead_source": ["seminar"], "budget_status": ["confirmed"]}),
    RoutingRule(name="fast", match={"timeline": ["within_3m"]}, channel="GPRIVATE1"),
    RoutingRule(name="catch-all", match={}, pool=["UC03"]),
]


# --- matching ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"custom": {"segment": "enterprise", "region": "east"}}, "enterprise-east"),
        ({"custom": {"segment": "enterprise", "region": "north"}}, "enterprise-east"),  # OR within a key
        ({"custom": {"segment": "enterprise", "region": "west"}}, "catch-all"),  # AND across keys
        ({"custom": {"segment": "enterprise"}}, "catch-all"),  # unanswered key: no match
        ({"lead_source": "seminar", "budget_status": BudgetStatus.CONFIRMED}, "seminar_budget"),  # enum
        ({"lead_source": "seminar", "budget_status": BudgetStatus.PLANNED}, "catch-all"),
        ({"timeline": Timeline.WITHIN_3_MONTHS}, "fast"),
        (
            {"custom": {"segment": "enterprise", "region": "east"}, "timeline": Timeline.WITHIN_3_MONTHS},
            "enterprise-east",  # first match wins
        ),
        ({}, "catch-all"),  # the empty match matches everything
    ],
)
def test_match_rule(answers: dict[str, Any], expected: str) -> None:
    rule = match_rule(memo(**answers), RULES)
    assert rule is not None and rule.name == expected


def test_no_rule_matches() -> None:
    assert match_rule(memo(lead_source="web_inquiry"), RULES[:3]) is None
    assert match_rule(memo(), []) is None


def test_enum_answers_compare_by_value() -> None:
    rule = RoutingRule(name="r", match={"budget_status": ["confirmed"], "timeline": ["3_to_6m"]})
    hit = memo(budget_status="confirmed", timeline=Timeline.MONTHS_3_TO_6)
    assert match_rule(hit, [rule]) is rule
    assert match_rule(memo(budget_status=BudgetStatus.UNKNOWN, timeline="3_to_6m"), [rule]) is None


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (BudgetStatus.CONFIRMED, "confirmed"),
        ("seminar", "seminar"),
        (None, None),
        (True, None),
        (date(2025, 1, 1), None),
    ],
)
def test_answer_value(answer: object, expected: str | None) -> None:
    assert answer_value(answer) == expected


def test_non_select_answers_never_match() -> None:
    rule = RoutingRule(name="r", match={"handoff_call_wanted": ["true", "True"]})
    assert match_rule(memo(handoff_call_wanted=True), [rule]) is None


# --- decisions --------------------------------------------------------------------------------------

ENTERPRISE_EAST = {"custom": {"segment": "enterprise", "region": "east"}}


@pytest.mark.parametrize(
    ("answers", "rules", "assignee", "expected"),
    [
        # a rep picked in the memo wins, in the matching rule's channel, without a turn
        (
            {"fs_user_id": "UPICK", **ENTERPRISE_EAST},
            RULES,
            None,
            RouteDecision(RouteKind.CHOSEN, EAST, "UPICK", "enterprise-east"),
        ),
        ({"fs_user_id": "UPICK"}, [], None, RouteDecision(RouteKind.CHOSEN, DEFAULT, "UPICK", None)),
        (
            ENTERPRISE_EAST,
            RULES,
            "UB02",
            RouteDecision(RouteKind.ROUND_ROBIN, EAST, "UB02", "enterprise-east"),
        ),
        (ENTERPRISE_EAST, RULES, None, RouteDecision(RouteKind.ALL_ABSENT, DEFAULT, None, "enterprise-east")),
        (
            {"timeline": Timeline.WITHIN_3_MONTHS},
            RULES,
            None,
            RouteDecision(RouteKind.RULE_CHANNEL, "GPRIVATE1", None, "fast"),
        ),
        (
            {"lead_source": "seminar", "budget_status": "confirmed"},
            RULES,
            None,
            RouteDecision(RouteKind.RULE_CHANNEL, DEFAULT, None, "seminar_budget"),  # no channel: default
        ),
        ({}, RULES, "UC03", RouteDecision(RouteKind.ROUND_ROBIN, DEFAULT, "UC03", "catch-all")),
        ({}, RULES[:3], None, RouteDecision(RouteKind.DEFAULT, DEFAULT, None, None)),
    ],
)
def test_decide(
    answers: dict[str, Any], rules: list[RoutingRule], assignee: str | None, expected: RouteDecision
) -> None:
    the_memo = memo(**answers)
    rule = match_rule(the_memo, rules)
    assert decide(the_memo, rule, default_channel=DEFAULT, assignee=assignee) == expected


@pytest.mark.parametrize(
    ("answers", "rules", "expected"),
    [
        (ENTERPRISE_EAST, RULES, True),
        ({"fs_user_id": "UPICK", **ENTERPRISE_EAST}, RULES, False),  # chosen: no turn taken
        ({"timeline": Timeline.WITHIN_3_MONTHS}, RULES, False),  # rule without a pool
        ({}, RULES[:3], False),  # no rule
    ],
)
def test_needs_turn(answers: dict[str, Any], rules: list[RoutingRule], expected: bool) -> None:
    the_memo = memo(**answers)
    assert needs_turn(the_memo, match_rule(the_memo, rules)) is expected


# --- round-robin ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pool", "last_turn", "unavailable", "expected"),
    [
        (["UA", "UB", "UC"], -1, set(), ("UA", 0)),
        (["UA", "UB", "UC"], 0, set(), ("UB", 1)),
        (["UA", "UB", "UC"], 2, set(), ("UA", 3)),  # wraps around
        (["UA", "UB", "UC"], 0, {"UB"}, ("UC", 2)),  # skips, the skipped turn is used up
        (["UA", "UB", "UC"], 1, {"UC", "UA"}, ("UB", 4)),
        (["UA", "UB", "UC"], 7, {"UA", "UB", "UC"}, None),
        (["UA", "UB"], 1, {"UX"}, ("UA", 2)),  # unknown unavailable ids are ignored
        ([], -1, set(), None),
    ],
)
def test_next_in_pool(
    pool: list[str], last_turn: int, unavailable: set[str], expected: tuple[str, int] | None
) -> None:
    assert next_in_pool(pool, last_turn=last_turn, unavailable=unavailable) == expected


@pytest.mark.parametrize(
    ("pool", "unavailable", "calls"),
    [
        (["UA", "UB", "UC"], set(), 10),
        (["UA", "UB", "UC", "UD"], {"UB"}, 31),
        (["UA", "UB", "UC", "UD", "UE"], {"UA", "UE"}, 100),
        (["UA"], set(), 5),
    ],
)
def test_next_in_pool_is_fair(pool: list[str], unavailable: set[str], calls: int) -> None:
    last = -1
    counts: Counter[str] = Counter()
    turns = []
    for _ in range(calls):
        step = next_in_pool(pool, last_turn=last, unavailable=unavailable)
        assert step is not None
        member, last = step
        counts[member] += 1
        turns.append(last)
    assert set(counts) == set(pool) - unavailable
    assert max(counts.values()) - min(counts.values()) <= 1
    assert turns == sorted(set(turns))  # strictly increasing: no turn handed out twice


def test_fairness_when_someone_comes_back() -> None:
    pool = ["UA", "UB", "UC"]
    last = -1
    order = []
    for unavailable in [{"UB"}, {"UB"}, set(), set(), set()]:
        step = next_in_pool(pool, last_turn=last, unavailable=unavailable)
        assert step is not None
        member, last = step
        order.append(member)
    assert order == ["UA", "UC", "UA", "UB", "UC"]


# --- absences and configuration ---------------------------------------------------------------------


def test_absent_from_config_is_inclusive() -> None:
    config = RoutingConfig(
        absent=[
            Absence(user="UA01", until=date(2025, 12, 1)),
            Absence(user="UB02", until=date(2025, 11, 30)),
        ]
    )
    assert absent_from_config(config, date(2025, 11, 30)) == {"UA01", "UB02"}
    assert absent_from_config(config, date(2025, 12, 1)) == {"UA01"}
    assert absent_from_config(config, date(2025, 12, 2)) == frozenset()
    assert absent_from_config(RoutingConfig(), date(2025, 12, 2)) == frozenset()


def test_config_from_yaml_like_data() -> None:
    config = RoutingConfig.model_validate(
        {
            "rules": [
                {
                    "name": "enterprise-east",
                    "match": {"segment": ["enterprise"], "lead_source": ["seminar", "referral"]},
                    "channel": "C0ENT",
                    "pool": ["U0A", "W0B"],
                },
                {"name": "rest"},
            ],
            "absent": [{"user": "U0A", "until": "2025-12-24"}],
        }
    )
    assert config.rules[1] == RoutingRule(name="rest")
    assert config.rules[1].match == {} and config.rules[1].pool == [] and config.rules[1].channel is None
    assert config.absent == [Absence(user="U0A", until=date(2025, 12, 24))]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rules": [{"name": "Enterprise East"}]}, "name"),
        ({"rules": [{"name": "x" * 41}]}, "name"),
        ({"rules": [{"name": "a"}, {"name": "a"}]}, "routing rule names must be unique: a"),
        ({"rules": [{"name": "a", "channel": "D0DIRECT"}]}, "channel"),
        ({"rules": [{"name": "a", "channel": "#sales"}]}, "channel"),
        ({"rules": [{"name": "a", "pool": ["alice"]}]}, "pool"),
        ({"rules": [{"name": "a", "pool": ["U0A", "U0A"]}]}, "pool lists a rep twice: U0A"),
        ({"rules": [{"name": "a", "match": {"segment": []}}]}, "match"),
        ({"rules": [{"name": "a", "match": {"segment": "enterprise"}}]}, "match"),
        ({"rules": [{"name": "a", "when": {}}]}, "when"),
        ({"absent": [{"user": "U0A"}]}, "until"),
        ({"absent": [{"user": "U0A", "until": "next week"}]}, "until"),
        ({"absent": [{"user": "fiona", "until": "2025-12-24"}]}, "user"),
        ({"reps": []}, "reps"),
    ],
)
def test_invalid_config(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RoutingConfig.model_validate(data)


def test_rules_are_frozen() -> None:
    with pytest.raises(ValidationError):
        RULES[0].name = "other"  # type: ignore[misc]


def test_unknown_match_keys() -> None:
    known = {f.value for f in MemoField} | {"segment"}
    config = RoutingConfig(
        rules=[
            RoutingRule(name="a", match={"segment": ["smb"], "regoin": ["east"]}),
            RoutingRule(name="b", match={"lead_source": ["seminar"], "deal_size": ["large"]}),
            RoutingRule(name="c"),
        ]
    )
    assert unknown_match_keys(config, known) == ["deal_size", "regoin"]
    assert unknown_match_keys(RoutingConfig(rules=RULES), known | {"region"}) == []


# --- the channel a notice not posted yet goes to ---------------------------------------------------------


def test_a_notice_follows_the_configuration_as_it_is_now() -> None:
    """`tossup repost` after the admin fixed app.yaml: the rule's channel as configured now; a rule that
    is gone, or a route to the default channel, goes to the default channel as configured now."""
    east = RouteDecision(RouteKind.ROUND_ROBIN, "CWRONG01", "UA01", "enterprise-east")
    fixed = RoutingConfig(rules=RULES)
    assert channel_now(east, config=fixed, default_channel=DEFAULT) == EAST
    assert channel_now(east, config=RoutingConfig(rules=[]), default_channel=DEFAULT) == DEFAULT
    no_channel = RouteDecision(RouteKind.RULE_CHANNEL, "CWRONG01", None, "seminar_budget")
    assert channel_now(no_channel, config=fixed, default_channel=DEFAULT) == DEFAULT
    for kind in (RouteKind.DEFAULT, RouteKind.ALL_ABSENT):
        route = RouteDecision(kind, "CWRONG01", None, "enterprise-east")
        assert channel_now(route, config=fixed, default_channel=DEFAULT) == DEFAULT
