"""Memo quality score (品質スコア): the first 70 of 100 points, known at toss-up time.

Pure Python. The seed's table (品質スコアの設計例) with configurable weights (`score:` in app.yaml).
Every point is explained: each item lists why it lost points (`score.loss.*` catalog keys).

Rules (the README repeats them):
- A text answer is *specific* when, after trimming, it is not a placeholder ("TBD", "未定", "-", "なし"…,
  or only symbols), has at least `min_specific_length` characters (characters, so Japanese counts
  fairly), and is not a copy of an earlier field of the memo (same text after NFKC, case and whitespace
  normalisation; the field that comes first in the template keeps the credit).
- A text answer is *stated* when it is not a placeholder and (for competitors) not a copy; no minimum
  length, because names ("山田部長", "HubSpot") are short. Used for the decision maker and competitors.
- BANT (4 equal parts): budget confirmed or planned (unknown gets nothing, whatever the note says: a note
  cannot be checked to be about the budget); authority: half for decision maker/influencer, half for the
  decision maker named; need specific; timeline chosen and not unknown ("over 12 months" is known).
- Issue/background: current issue, background, impact, expected effect: a quarter each when specific.
- Competitors: stated, or a "none considered" answer ("なし", "特になし", "none"…), which is knowledge.
- Decision process: half for the decision process specific, half for the decision maker named.
- Memo completeness: share of the 29 template fields answered (all but the FS rep and the yes/no handoff
  call; a placeholder is not an answer, "none considered" is one for competitors).
- Points: weight × earned share, rounded half up to an integer, but an item that lost anything scores at
  most weight − 1, so every missing point has a reason and every reason costs a point.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from enum import StrEnum
from fractions import Fraction
from functools import cached_property
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.domain.answers import DEFAULT_NONE_CONSIDERED, DEFAULT_PLACEHOLDERS, AnswerReading, normalize_answer
from bot.domain.memo import (
    TEXT_LIMITS,
    AuthorityLevel,
    BudgetStatus,
    HandoffMemo,
    MemoField,
    Timeline,
)


class ScoreItemKey(StrEnum):
    BANT = "bant"
    ISSUE = "issue"
    COMPETITORS = "competitors"
    DECISION_PROCESS = "decision_process"
    COMPLETENESS = "completeness"
    FS_RATING = "fs_rating"


MEMO_ITEMS: tuple[ScoreItemKey, ...] = (
    ScoreItemKey.BANT,
    ScoreItemKey.ISSUE,
    ScoreItemKey.COMPETITORS,
    ScoreItemKey.DECISION_PROCESS,
    ScoreItemKey.COMPLETENESS,
)

# The template fields memo completeness counts: all but the FS rep (routing picks one) and the yes/no call.
COMPLETENESS_FIELDS: tuple[MemoField, ...] = tuple(
    f for f in MemoField if f not in {MemoField.FS_USER_ID, MemoField.HANDOFF_CALL_WANTED}
)
ISSUE_FIELDS: tuple[MemoField, ...] = (
    MemoField.CURRENT_ISSUE,
    MemoField.BACKGROUND,
    MemoField.IMPACT,
    MemoField.EXPECTED_EFFECT,
)
# Text fields, in template order: a later one holding the same text as an earlier one is a copy.
_TEXT_FIELDS: tuple[MemoField, ...] = tuple(f for f in MemoField if f in TEXT_LIMITS)


# What a memo scores with the default weights (100 − fs_rating 30); a team's own: ScoreWeights.memo_max.
# The default of digests stored before a team's maximum was kept with them.
MEMO_SCORE_MAX = 70


class ScoreWeights(BaseModel):
    """Points per item; non-negative integers summing to exactly 100 (the seed's table by default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bant: Annotated[int, Field(ge=0)] = 20
    issue: Annotated[int, Field(ge=0)] = 15
    competitors: Annotated[int, Field(ge=0)] = 10
    decision_process: Annotated[int, Field(ge=0)] = 10
    completeness: Annotated[int, Field(ge=0)] = 15
    fs_rating: Annotated[int, Field(ge=0)] = 30

    @model_validator(mode="after")
    def _sum_to_100(self) -> Self:
        total = sum(self.of(key) for key in ScoreItemKey)
        if total != 100:
            parts = ", ".join(f"{key.value} {self.of(key)}" for key in ScoreItemKey)
            raise ValueError(f"score weights must add up to 100, these add up to {total} ({parts})")
        return self

    def of(self, key: ScoreItemKey) -> int:
        return int(getattr(self, key.value))

    @property
    def memo_max(self) -> int:
        """What a memo can score: everything but the FS rating (70 with the default weights)."""
        return 100 - self.of(ScoreItemKey.FS_RATING)


class ScoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    weights: ScoreWeights = Field(default_factory=ScoreWeights)
    min_specific_length: Annotated[int, Field(ge=1, le=500)] = 10
    placeholders: list[str] = Field(default_factory=lambda: list(DEFAULT_PLACEHOLDERS))
    # Competitor answers meaning "none considered": known, so they earn the competitors item.
    none_considered: list[str] = Field(default_factory=lambda: list(DEFAULT_NONE_CONSIDERED))

    @cached_property
    def reading(self) -> AnswerReading:
        """How text answers are read, by the score AND the criteria gate (one reading of placeholders)."""
        return AnswerReading.of(self.placeholders, self.none_considered)


@dataclass(frozen=True)
class ScoreLoss:
    """One reason an item lost points: `reason_key` is a `score.loss.*` catalog key."""

    field: str | None
    reason_key: str
    params: dict[str, object] = dc_field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "reason_key": self.reason_key, "params": dict(self.params)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScoreLoss:
        field = data.get("field")
        return cls(
            field=str(field) if field is not None else None,
            reason_key=str(data["reason_key"]),
            params=dict(data.get("params") or {}),
        )


@dataclass(frozen=True)
class ScoreItem:
    key: ScoreItemKey
    points: int
    max_points: int
    losses: tuple[ScoreLoss, ...] = ()

    @property
    def lost(self) -> int:
        return self.max_points - self.points

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key.value,
            "points": self.points,
            "max_points": self.max_points,
            "losses": [loss.to_json() for loss in self.losses],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScoreItem:
        return cls(
            key=ScoreItemKey(data["key"]),
            points=int(data["points"]),
            max_points=int(data["max_points"]),
            losses=tuple(ScoreLoss.from_json(loss) for loss in data.get("losses") or ()),
        )


@dataclass(frozen=True)
class ScoreBreakdown:
    items: tuple[ScoreItem, ...]

    @property
    def total(self) -> int:
        return sum(item.points for item in self.items)

    @property
    def max_total(self) -> int:
        return sum(item.max_points for item in self.items)

    def item(self, key: ScoreItemKey) -> ScoreItem | None:
        return next((i for i in self.items if i.key is key), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "max_total": self.max_total,
            "items": [item.to_json() for item in self.items],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScoreBreakdown:
        return cls(items=tuple(ScoreItem.from_json(item) for item in data.get("items") or ()))


# ------------------------------------------------------------------------------------------ scoring


def points_for(weight: int, earned: Fraction, *, complete: bool) -> int:
    """`weight × earned` rounded half up; below the weight whenever anything was lost."""
    if weight <= 0:
        return 0
    raw = weight * earned
    points = int(raw + Fraction(1, 2))  # floor(x + ½) on a non-negative Fraction: round half up
    if not complete:
        points = min(points, weight - 1)
    return max(0, min(points, weight))


class _Reader:
    """Classifies the memo's text answers once: placeholder, too short, copy of an earlier field."""

    def __init__(self, memo: HandoffMemo, config: ScoreConfig) -> None:
        self.memo = memo
        self.min_length = config.min_specific_length
        self.reading = config.reading
        self.copy_of: dict[MemoField, MemoField] = {}
        first_holder: dict[str, MemoField] = {}
        for f in _TEXT_FIELDS:
            text = self._text(f)
            if text is None:
                continue
            key = normalize_answer(text)
            if key in first_holder:
                self.copy_of[f] = first_holder[key]
            else:
                first_holder[key] = f

    def _text(self, field: MemoField) -> str | None:
        value = self.memo.value(field)
        if isinstance(value, str) and not isinstance(value, StrEnum) and value.strip():
            return value.strip()
        return None

    def is_placeholder(self, text: str) -> bool:
        return self.reading.is_placeholder(text)

    def is_none_considered(self, field: MemoField) -> bool:
        text = self._text(field)
        return text is not None and self.reading.is_none_considered(field.value, text)

    def is_answered(self, field: MemoField) -> bool:
        """Counts for memo completeness: answered, and a text answer says something (the criteria gate's
        `required` asks the same `AnswerReading.is_answer`)."""
        if not self.memo.is_filled(field):
            return False
        text = self._text(field)
        if text is None:
            return True  # a select, date or picker answer
        return self.reading.is_answer(field.value, text)

    def text_problem(self, field: MemoField, *, min_length: bool, copies: bool) -> ScoreLoss | None:
        """Why the text of `field` is not specific (or not stated), or None when it is."""
        text = self._text(field)
        if text is None:
            return ScoreLoss(field.value, "score.loss.missing")
        if self.is_placeholder(text):
            return ScoreLoss(field.value, "score.loss.placeholder", {"value": text[:40]})
        if min_length and len(text) < self.min_length:
            return ScoreLoss(
                field.value, "score.loss.too_short", {"length": len(text), "min_length": self.min_length}
            )
        if copies and field in self.copy_of:
            return ScoreLoss(field.value, "score.loss.copy", {"other": self.copy_of[field].value})
        return None

    def specific(self, field: MemoField) -> ScoreLoss | None:
        return self.text_problem(field, min_length=True, copies=True)


def _item(key: ScoreItemKey, weight: int, parts: list[tuple[Fraction, ScoreLoss | None]]) -> ScoreItem:
    """An item from weighted parts (share of the item, the loss when the part was not earned)."""
    earned = sum((share for share, loss in parts if loss is None), Fraction(0))
    losses = tuple(loss for _, loss in parts if loss is not None)
    if weight <= 0:
        return ScoreItem(key, 0, 0, ())
    return ScoreItem(key, points_for(weight, earned, complete=not losses), weight, losses)


def _bant(memo: HandoffMemo, reader: _Reader) -> list[tuple[Fraction, ScoreLoss | None]]:
    quarter, eighth = Fraction(1, 4), Fraction(1, 8)
    budget: ScoreLoss | None = None
    if memo.budget_status is None:
        budget = ScoreLoss(MemoField.BUDGET_STATUS.value, "score.loss.missing")
    elif memo.budget_status not in {BudgetStatus.CONFIRMED, BudgetStatus.PLANNED}:
        budget = ScoreLoss(MemoField.BUDGET_STATUS.value, "score.loss.budget_unknown")
    authority: ScoreLoss | None = None
    if memo.authority is None:
        authority = ScoreLoss(MemoField.AUTHORITY.value, "score.loss.missing")
    elif memo.authority not in {AuthorityLevel.DECISION_MAKER, AuthorityLevel.INFLUENCER}:
        authority = ScoreLoss(MemoField.AUTHORITY.value, "score.loss.no_authority")
    timeline: ScoreLoss | None = None
    if memo.timeline is None:
        timeline = ScoreLoss(MemoField.TIMELINE.value, "score.loss.missing")
    elif memo.timeline is Timeline.UNKNOWN:
        timeline = ScoreLoss(MemoField.TIMELINE.value, "score.loss.timeline_unknown")
    return [
        (quarter, budget),
        (eighth, authority),
        (eighth, reader.text_problem(MemoField.DECISION_MAKER, min_length=False, copies=False)),
        (quarter, reader.specific(MemoField.NEED)),
        (quarter, timeline),
    ]


def score_memo(memo: HandoffMemo, config: ScoreConfig) -> ScoreBreakdown:
    """The memo items of the quality score (FS_RATING comes with the feedback sheet). Pure."""
    reader = _Reader(memo, config)
    weights = config.weights
    half, quarter = Fraction(1, 2), Fraction(1, 4)

    competitors: ScoreLoss | None = None
    if not reader.is_none_considered(MemoField.COMPETITORS):
        competitors = reader.text_problem(MemoField.COMPETITORS, min_length=False, copies=True)

    share = Fraction(1, len(COMPLETENESS_FIELDS))
    completeness = [
        (share, None if reader.is_answered(f) else ScoreLoss(f.value, "score.loss.unanswered"))
        for f in COMPLETENESS_FIELDS
    ]
    items = (
        _item(ScoreItemKey.BANT, weights.bant, _bant(memo, reader)),
        _item(ScoreItemKey.ISSUE, weights.issue, [(quarter, reader.specific(f)) for f in ISSUE_FIELDS]),
        _item(ScoreItemKey.COMPETITORS, weights.competitors, [(Fraction(1), competitors)]),
        _item(
            ScoreItemKey.DECISION_PROCESS,
            weights.decision_process,
            [
                (half, reader.specific(MemoField.DECISION_PROCESS)),
                (half, reader.text_problem(MemoField.DECISION_MAKER, min_length=False, copies=False)),
            ],
        ),
        _item(ScoreItemKey.COMPLETENESS, weights.completeness, completeness),
    )
    return ScoreBreakdown(items=items)
