"""The collaboration-issue domain: the seed's matrix, its order, the checks and who may act."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.handoff import is_team_member
from bot.domain.issues import (
    DECISION_MAX,
    ISSUE_ID_MAX,
    PROBLEM_MAX,
    CollabIssue,
    IssueDraft,
    IssueError,
    IssueField,
    Level,
    Quadrant,
    decision_problem,
    issue_problems,
    most_urgent_first,
    parse_issue_id,
    quadrant,
)

H, L = Level.HIGH, Level.LOW
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def issue(n: int, impact: Level, urgency: Level, *, minutes: int = 0) -> CollabIssue:
    return CollabIssue(
        id=n, problem=f"problem {n}", impact=impact, urgency=urgency, raised_by="U0IS",
        raised_at=T0 + timedelta(minutes=minutes),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("impact", "urgency", "expected"),
    [(H, H, Quadrant.TOP), (L, H, Quadrant.URGENT), (H, L, Quadrant.IMPORTANT), (L, L, Quadrant.CONSIDER)],
)
def test_the_seeds_matrix(impact: Level, urgency: Level, expected: Quadrant) -> None:
    # 影響度:大 × 緊急度:高 = 最優先; 緊急度だけ高 = 要対応; 影響度だけ大 = 重要; どちらでもない = 検討
    assert quadrant(impact=impact, urgency=urgency) is expected
    assert issue(1, impact, urgency).quadrant is expected


def test_most_urgent_first_then_oldest_first() -> None:
    issues = [
        issue(1, L, L, minutes=0),
        issue(2, H, L, minutes=1),
        issue(3, L, H, minutes=2),
        issue(4, H, H, minutes=3),
        issue(5, H, H, minutes=-5),  # older: waited longer, comes first in its quadrant
        issue(6, L, H, minutes=-1),
    ]
    assert [i.id for i in most_urgent_first(issues)] == [5, 4, 6, 3, 2, 1]


@pytest.mark.parametrize("raw", ["1", "42", str(ISSUE_ID_MAX)])
def test_issue_ids_that_a_button_may_carry(raw: str) -> None:
    assert parse_issue_id(raw) == int(raw)


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "0",
        "-1",
        "+7",
        " 7",
        "7 ",
        "1_000",
        "٧",
        "７",
        "abc",
        "1.0",
        str(ISSUE_ID_MAX + 1),
        "9" * 40,
        7,
    ],
)
def test_anything_else_names_no_issue(raw: object) -> None:
    assert parse_issue_id(raw) is None


@given(st.text(max_size=30))
def test_parse_issue_id_never_raises_and_round_trips(raw: str) -> None:
    parsed = parse_issue_id(raw)
    assert parsed is None or (str(parsed) == raw and 1 <= parsed <= ISSUE_ID_MAX)


def test_a_complete_issue_has_no_problems() -> None:
    assert issue_problems(IssueDraft(problem="x" * PROBLEM_MAX, impact=H, urgency=L)) == {}


def test_each_missing_or_long_field_is_named() -> None:
    assert issue_problems(IssueDraft()) == {
        IssueField.PROBLEM: IssueError.REQUIRED,
        IssueField.IMPACT: IssueError.CHOOSE_LEVEL,
        IssueField.URGENCY: IssueError.CHOOSE_LEVEL,
    }
    long = IssueDraft(problem="x" * (PROBLEM_MAX + 1), impact=L, urgency=L)
    assert issue_problems(long) == {IssueField.PROBLEM: IssueError.TOO_LONG}


def test_the_decision_is_one_required_line_of_limited_length() -> None:
    assert decision_problem(None) is IssueError.REQUIRED
    assert decision_problem("") is IssueError.REQUIRED
    assert decision_problem("x" * DECISION_MAX) is None
    assert decision_problem("x" * (DECISION_MAX + 1)) is IssueError.TOO_LONG


def test_without_is_or_fs_members_listed_anyone_may_log_and_close() -> None:
    assert is_team_member(actor_id="U0ANYONE")
    assert is_team_member(actor_id="U0ANYONE", managers=["U0M"])  # managers alone restrict nothing
    assert is_team_member(actor_id="U0ANYONE", inside_sales=["U0IS"])  # anyone may be FS


def test_with_is_and_fs_listed_only_they_and_managers_may() -> None:
    roles = {"inside_sales": ["U0IS"], "field_sales": ["U0FS"], "managers": ["U0M"]}
    assert is_team_member(actor_id="U0IS", **roles)
    assert is_team_member(actor_id="U0FS", **roles)
    assert is_team_member(actor_id="U0M", **roles)
    assert not is_team_member(actor_id="U0OTHER", **roles)
