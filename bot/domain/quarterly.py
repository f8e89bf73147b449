"""The quarterly criteria review (四半期: トスアップ基準・プロセスの見直し), in pure Python.

The seed's improvement cycle ends each quarter with IS and FS revising the toss-up criteria (SQL定義) on
evidence. For each toss-up criterion and each quality-score item this compares the quarter's toss-ups
that met it with those that did not:

- post-toss-up win rate (トスアップ後受注率): won / (won + lost); open or unrecorded outcomes count in
  neither;
- acceptance rate: accepted / (accepted + returned); pending toss-ups count in neither.

Definitions (the README repeats them):
- Quarter: a calendar quarter (Jan–Mar, Apr–Jun, Jul–Sep, Oct–Dec) in the team's time zone; its
  toss-ups are those *created* in it (a cohort, as the KPIs count), their decisions and outcomes as
  recorded when the review is built.
- Criterion met / not met: the criterion's result stored with the toss-up at submission. A toss-up
  without that criterion evaluated is in neither group. In gate mode a failing memo is refused, so
  "not met" samples only come from warn-mode overrides (`overrides`): the review says so when there are
  none.
- Score item met: the item kept at least `met_percent` (80) % of its maximum points. Not "all its
  points": every graded item loses a point for any miss (the scorer caps a lossy item at max − 1), so
  one optional field left empty (memo completeness) or one 4-star rating (FS rating) would put almost
  every toss-up in "not met" and the comparison would say nothing. 80 % keeps the binary items binary
  (competitors is 0 or all; a decision process half-known is 5 of 10) and splits the graded ones at
  "mostly there". The FS rating counts only for rated toss-ups (as in the KPIs).
- Small sample: fewer than `min_sample` (10) toss-ups on either side of a comparison — for the win
  rate, decided deals (won + lost); for the acceptance rate, decided toss-ups (accepted + returned).
  Small samples are shown and marked, never ranked.
- Findings: the comparisons whose win rates are not small samples, ranked by the win-rate gap
  (met − not met), largest first: at the top the criteria that predict wins; at the bottom (gap ≤ 0)
  those that only cost toss-ups. Ties keep the app.yaml / score-table order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from bot.domain.criteria import CriteriaConfig, CriteriaMode
from bot.domain.handoff import HandoffStatus
from bot.domain.kpi import Period, PeriodKind, quarter_before, quarter_number, quarter_of  # noqa: F401 (re-exported)
from bot.domain.outcome import OutcomeKind
from bot.domain.score import ScoreItemKey

MIN_SAMPLE = 10  # fewer on either side of a comparison: a small sample, never ranked
MET_PERCENT = 80  # a score item is met when it kept at least this share of its maximum points
FINDINGS_HEADLINE = 3  # findings the lead message shows


class QuarterlySection(StrEnum):
    CRITERIA = "criteria"
    SCORE_ITEMS = "score_items"


# ------------------------------------------------------------------------------------------ periods


# ------------------------------------------------------------------------------------------ input


@dataclass(frozen=True, slots=True)
class ItemPoints:
    points: int
    max_points: int


@dataclass(frozen=True, slots=True)
class TossUpFacts:
    """One toss-up of the quarter, as the review needs it."""

    id: int
    status: HandoffStatus
    outcome: OutcomeKind | None  # None: no outcome recorded
    # criterion id → passed, as evaluated at submission; {} when no criteria were evaluated
    criteria: Mapping[str, bool] = field(default_factory=dict)
    criteria_passed: bool | None = None  # False: tossed up despite failing (a warn-mode override)
    # ScoreItemKey value → points of its maximum; fs_rating only once FS rated the toss-up
    items: Mapping[str, ItemPoints] = field(default_factory=dict)
    # criterion id → the memo field it tested (names a criterion since removed from app.yaml)
    criteria_fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class QuarterlyFacts:
    quarter: Period
    toss_ups: Sequence[TossUpFacts]


@dataclass(frozen=True)
class QuarterlyRules:
    criteria: CriteriaConfig  # the team's criteria now: their order, and which are still in use
    min_sample: int = MIN_SAMPLE
    met_percent: int = MET_PERCENT


# ----------------------------------------------------------------------------------------- output


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


class Group(_Model):
    """The toss-ups on one side of a comparison, counted by how they went."""

    toss_ups: int = 0
    accepted: int = 0
    returned: int = 0
    won: int = 0
    lost: int = 0

    @property
    def decided(self) -> int:
        """Deals that closed (won + lost): the win rate's sample."""
        return self.won + self.lost

    @property
    def judged(self) -> int:
        """Toss-ups FS accepted or returned: the acceptance rate's sample."""
        return self.accepted + self.returned

    @property
    def win_rate(self) -> float | None:
        return _ratio(self.won, self.decided)

    @property
    def acceptance_rate(self) -> float | None:
        return _ratio(self.accepted, self.judged)


class Comparison(_Model):
    met: Group
    not_met: Group
    win_small: bool  # fewer than min_sample decided deals on either side: marked, never ranked
    acceptance_small: bool  # fewer than min_sample accepted + returned on either side
    rank: int | None = None  # 1 = the section's largest win-rate gap among those not small; None: small

    @property
    def win_gap(self) -> float | None:
        """Win rate met − not met (a fraction: 0.25 is 25 points); None when a side has no closed deal."""
        met, not_met = self.met.win_rate, self.not_met.win_rate
        return met - not_met if met is not None and not_met is not None else None

    @property
    def acceptance_gap(self) -> float | None:
        met, not_met = self.met.acceptance_rate, self.not_met.acceptance_rate
        return met - not_met if met is not None and not_met is not None else None


class CriterionLine(Comparison):
    criterion_id: str
    field: str | None  # the memo field it tests (names a criterion no longer in app.yaml)
    configured: bool  # an enabled rule of app.yaml now; False: evaluated this quarter, since removed


class ItemLine(Comparison):
    key: ScoreItemKey
    max_points: int  # the item's maximum (the largest seen this quarter, should the weights have changed)
    threshold: int  # points needed of max_points to count as met


class Finding(_Model):
    section: QuarterlySection
    key: str  # a criterion id or a ScoreItemKey value
    win_gap: float


class QuarterlyReview(_Model):
    quarter_start: date
    quarter_end: date
    mode: CriteriaMode  # the criteria's mode now (gate: no "not met" samples to expect)
    min_sample: int
    met_percent: int
    toss_ups: int
    accepted: int
    returned: int
    won: int
    lost: int
    evaluated: int  # toss-ups with criteria evaluated
    overrides: int  # toss-ups that failed a criterion and were tossed up anyway (warn mode)
    scored: int  # toss-ups with a quality score
    criteria: list[CriterionLine]  # ranked (largest gap first), then the small samples in app.yaml order
    items: list[ItemLine]  # ranked first, then the small samples in the score table's order
    findings: list[Finding]  # every ranked comparison of both sections, largest win-rate gap first

    @property
    def is_empty(self) -> bool:
        """No toss-up this quarter: one line says so."""
        return self.toss_ups == 0

    @property
    def still_open(self) -> int:
        """Toss-ups whose deal has not closed (open or no outcome yet)."""
        return self.toss_ups - self.won - self.lost

    def lines(self, section: QuarterlySection) -> Sequence[CriterionLine] | Sequence[ItemLine]:
        return self.criteria if section is QuarterlySection.CRITERIA else self.items

    def section_count(self, section: QuarterlySection) -> int:
        """The section's findings: comparisons with enough data to rank."""
        return sum(1 for line in self.lines(section) if line.rank is not None)


# ---------------------------------------------------------------------------------------- builder


class _Tally:
    """Counts of one side of a comparison while the toss-ups are read."""

    __slots__ = ("accepted", "lost", "returned", "toss_ups", "won")

    def __init__(self) -> None:
        self.toss_ups = self.accepted = self.returned = self.won = self.lost = 0

    def add(self, row: TossUpFacts) -> None:
        self.toss_ups += 1
        self.accepted += row.status is HandoffStatus.ACCEPTED
        self.returned += row.status is HandoffStatus.RETURNED
        self.won += row.outcome is OutcomeKind.WON
        self.lost += row.outcome is OutcomeKind.LOST

    def group(self) -> Group:
        return Group(
            toss_ups=self.toss_ups,
            accepted=self.accepted,
            returned=self.returned,
            won=self.won,
            lost=self.lost,
        )


_Line = TypeVar("_Line", bound=Comparison)


def _pair() -> tuple[_Tally, _Tally]:
    return _Tally(), _Tally()


def _small(met: Group, not_met: Group, rules: QuarterlyRules) -> tuple[bool, bool]:
    floor = max(rules.min_sample, 1)  # a side with nothing decided has no rate: always small
    return min(met.decided, not_met.decided) < floor, min(met.judged, not_met.judged) < floor


def _threshold(max_points: int, percent: int) -> int:
    return -(-max_points * percent // 100)  # ceil, in integers: 80 % of 15 is 12


def _ranked(lines: list[_Line]) -> list[_Line]:
    """Lines with a rank (largest win-rate gap first; ties keep their order), then the small samples."""
    large = [line for line in lines if not line.win_small]
    order = sorted(range(len(large)), key=lambda i: (-(large[i].win_gap or 0.0), i))
    ranked = [large[i].model_copy(update={"rank": place}) for place, i in enumerate(order, start=1)]
    return ranked + [line for line in lines if line.win_small]


def _criteria(facts: QuarterlyFacts, rules: QuarterlyRules) -> list[CriterionLine]:
    enabled = [rule.id for rule in rules.criteria.rules if rule.enabled]
    configured_fields = {rule.id: rule.field for rule in rules.criteria.rules}
    seen: dict[str, tuple[_Tally, _Tally]] = {cid: _pair() for cid in enabled}
    fields: dict[str, str] = {}
    for row in facts.toss_ups:
        for cid, passed in row.criteria.items():
            met, not_met = seen.setdefault(cid, _pair())
            (met if passed else not_met).add(row)
            if cid in row.criteria_fields:
                fields.setdefault(cid, row.criteria_fields[cid])
    # Enabled rules first in app.yaml order (with or without data), then retired ones seen in the data.
    order = enabled + sorted(cid for cid in seen if cid not in enabled)
    lines = []
    for cid in order:
        met, not_met = (tally.group() for tally in seen[cid])
        win_small, acceptance_small = _small(met, not_met, rules)
        lines.append(
            CriterionLine(
                criterion_id=cid,
                field=configured_fields.get(cid, fields.get(cid)),
                configured=cid in enabled,
                met=met,
                not_met=not_met,
                win_small=win_small,
                acceptance_small=acceptance_small,
            )
        )
    return _ranked(lines)


def _items(facts: QuarterlyFacts, rules: QuarterlyRules) -> list[ItemLine]:
    seen: dict[ScoreItemKey, tuple[_Tally, _Tally]] = {}
    maxima: dict[ScoreItemKey, int] = {}
    for row in facts.toss_ups:
        for raw, points in row.items.items():
            if raw not in ScoreItemKey._value2member_map_ or points.max_points <= 0:
                continue  # an unknown key or an item weighted 0 says nothing
            key = ScoreItemKey(raw)
            met, not_met = seen.setdefault(key, _pair())
            # points × 100 ≥ max × percent: each toss-up against its own maximum, in integers
            kept = points.points * 100 >= points.max_points * rules.met_percent
            (met if kept else not_met).add(row)
            maxima[key] = max(maxima.get(key, 0), points.max_points)
    lines = []
    for key in ScoreItemKey:
        if key not in seen:
            continue
        met, not_met = (tally.group() for tally in seen[key])
        win_small, acceptance_small = _small(met, not_met, rules)
        lines.append(
            ItemLine(
                key=key,
                max_points=maxima[key],
                threshold=_threshold(maxima[key], rules.met_percent),
                met=met,
                not_met=not_met,
                win_small=win_small,
                acceptance_small=acceptance_small,
            )
        )
    return _ranked(lines)


def _findings(criteria: list[CriterionLine], items: list[ItemLine]) -> list[Finding]:
    candidates = [
        Finding(section=QuarterlySection.CRITERIA, key=line.criterion_id, win_gap=line.win_gap)
        for line in criteria
        if line.rank is not None and line.win_gap is not None
    ] + [
        Finding(section=QuarterlySection.SCORE_ITEMS, key=line.key.value, win_gap=line.win_gap)
        for line in items
        if line.rank is not None and line.win_gap is not None
    ]
    # sorted() is stable: equal gaps keep criteria before items, each in its section's rank order
    return sorted(candidates, key=lambda finding: -finding.win_gap)


def build_quarterly_review(facts: QuarterlyFacts, rules: QuarterlyRules) -> QuarterlyReview:
    """The quarter's criteria review from its toss-ups: pure, tested on data worked out by hand."""
    total = _Tally()
    for row in facts.toss_ups:
        total.add(row)
    criteria = _criteria(facts, rules)
    items = _items(facts, rules)
    return QuarterlyReview(
        quarter_start=facts.quarter.first_day,
        quarter_end=facts.quarter.last_day,
        mode=rules.criteria.mode,
        min_sample=rules.min_sample,
        met_percent=rules.met_percent,
        toss_ups=total.toss_ups,
        accepted=total.accepted,
        returned=total.returned,
        won=total.won,
        lost=total.lost,
        evaluated=sum(1 for row in facts.toss_ups if row.criteria),
        overrides=sum(1 for row in facts.toss_ups if row.criteria_passed is False),
        scored=sum(1 for row in facts.toss_ups if row.items),
        criteria=criteria,
        items=items,
        findings=_findings(criteria, items),
    )
