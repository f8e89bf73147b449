"""Collaboration issues (連携課題): what IS and FS agree to fix, placed on the seed's impact × urgency matrix.

Logged with `/tossup issue`, listed in section 4 of every weekly agenda (most urgent first) until closed
with one line of what was decided.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

PROBLEM_MAX = 1000  # what the problem is
DECISION_MAX = 500  # what was decided when it was closed


class Level(StrEnum):
    HIGH = "high"
    LOW = "low"


class Quadrant(StrEnum):
    """The seed's matrix: 最優先 (impact and urgency high), 要対応 (urgent only), 重要 (impact only), 検討."""

    TOP = "top"  # 最優先
    URGENT = "urgent"  # 要対応
    IMPORTANT = "important"  # 重要
    CONSIDER = "consider"  # 検討


QUADRANT_ORDER: tuple[Quadrant, ...] = (Quadrant.TOP, Quadrant.URGENT, Quadrant.IMPORTANT, Quadrant.CONSIDER)


def quadrant(*, impact: Level, urgency: Level) -> Quadrant:
    if impact is Level.HIGH and urgency is Level.HIGH:
        return Quadrant.TOP
    if urgency is Level.HIGH:
        return Quadrant.URGENT
    if impact is Level.HIGH:
        return Quadrant.IMPORTANT
    return Quadrant.CONSIDER


@dataclass(frozen=True, slots=True)
class CollabIssue:
    """One logged collaboration issue, open or closed."""

    id: int
    problem: str
    impact: Level
    urgency: Level
    raised_by: str
    raised_at: datetime
    owner_id: str | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None
    decision: str | None = None

    @property
    def quadrant(self) -> Quadrant:
        return quadrant(impact=self.impact, urgency=self.urgency)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


def most_urgent_first(issues: Iterable[CollabIssue]) -> list[CollabIssue]:
    """最優先, then 要対応, 重要, 検討; the oldest first within a quadrant (it has waited longest)."""
    return sorted(issues, key=lambda issue: (QUADRANT_ORDER.index(issue.quadrant), issue.raised_at, issue.id))


# ---------------------------------------------------------------- checks (pure: modals and flow use them)

# The largest id the store's INTEGER column can hold (PostgreSQL int4): anything above is "not found",
# never a database error.
ISSUE_ID_MAX = 2**31 - 1


class IssueField(StrEnum):
    """The inputs of the issue modal and of the close modal."""

    PROBLEM = "problem"
    IMPACT = "impact"
    URGENCY = "urgency"
    OWNER = "owner"
    DECISION = "decision"


class IssueError(StrEnum):
    """Why an input was refused; the catalog has one message per code (`issues.error.<code>`)."""

    REQUIRED = "required"
    TOO_LONG = "too_long"
    CHOOSE_LEVEL = "choose_level"
    OWNER_NOT_A_PERSON = "owner_not_a_person"


class IssueRefusal(StrEnum):
    """Why a click or a submission about an issue did nothing (`issues.refusal.<code>`)."""

    NOT_ALLOWED = "not_allowed"  # not IS, FS or a manager when the team lists them
    BAD_VALUE = "bad_value"  # a button or form that names no issue (tampered, or not ours)
    NOT_FOUND = "not_found"  # a well-formed id that is not in the database


@dataclass(frozen=True, slots=True)
class IssueDraft:
    """An issue as submitted: anything missing or odd reads as None (see `issue_problems`)."""

    problem: str | None = None
    impact: Level | None = None
    urgency: Level | None = None
    owner_id: str | None = None


def parse_issue_id(raw: object) -> int | None:
    """The issue id a button carries (ASCII digits, 1 … ISSUE_ID_MAX); None for anything else.

    Strict on purpose: `int()` would also take " 7", "+7", "٧" or "1_000", none of which we ever send.
    """
    if not isinstance(raw, str) or not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        return None
    value = int(raw)
    return value if 1 <= value <= ISSUE_ID_MAX else None


def issue_problems(draft: IssueDraft) -> dict[IssueField, IssueError]:
    """What is wrong with a submitted issue, per field; empty when it can be stored."""
    problems: dict[IssueField, IssueError] = {}
    if not draft.problem:
        problems[IssueField.PROBLEM] = IssueError.REQUIRED
    elif len(draft.problem) > PROBLEM_MAX:
        problems[IssueField.PROBLEM] = IssueError.TOO_LONG
    if draft.impact is None:
        problems[IssueField.IMPACT] = IssueError.CHOOSE_LEVEL
    if draft.urgency is None:
        problems[IssueField.URGENCY] = IssueError.CHOOSE_LEVEL
    return problems


def decision_problem(decision: str | None) -> IssueError | None:
    """What is wrong with the one line of what was decided, if anything."""
    if not decision:
        return IssueError.REQUIRED
    if len(decision) > DECISION_MAX:
        return IssueError.TOO_LONG
    return None
