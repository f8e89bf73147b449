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
