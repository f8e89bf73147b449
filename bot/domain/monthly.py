"""The monthly IS/FS review (月次連携ミーティング), in pure Python.

The seed's monthly agenda, for managers and the sales lead, in four time-boxed sections:

1. KPIs (20 min): the month's shared KPIs against the previous month's, with the change — toss-ups, SQLs,
   acceptance rate, BANT acquisition rate, post-toss-up win rate, lead time, time to accept, won amount,
   average deal size (案件単価) — and the marketing loop (三位一体): toss-ups, acceptance and win rate by
   lead source and campaign.
2. Quality score (15 min): the team's average memo score over the last six months, each score item's
   average and the weakest item (the largest share of its points lost), each IS rep's average.
3. Cases (20 min): the month's success cases (won, then accepted: best score first) and cases to learn
   from (returned, lost, then accepted ones FS rated: lowest score first) with FS's "good" and "improve"
   lines. A toss-up FS has not decided yet is neither.
4. Improvement measures (25 min): the open collaboration issues on the impact × urgency matrix and the
   ones closed this month with what was decided.

Definitions are the KPI module's (`bot.domain.kpi`: the month's toss-ups as a cohort); a score is read
as a share of its maximum (x/70 before FS rates it, x/100 after) when cases are ranked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot.domain.agenda import IssueLine, NoticeRef
from bot.domain.diagnosis import DiagnosisTrend
from bot.domain.handoff import HandoffStatus
from bot.domain.issues import CollabIssue, Quadrant, most_urgent_first
from bot.domain.kpi import HandoffFacts, Kpis, Period, compute_kpis
from bot.domain.moments import as_utc
from bot.domain.outcome import OutcomeKind
from bot.domain.score import MEMO_SCORE_MAX, ScoreItemKey, ScoreWeights
from bot.domain.sla import BusinessHours

TREND_MONTHS = 6
CASES_MAX = 3  # best and worst handoffs shown


class MonthlySection(StrEnum):
    KPIS = "kpis"
    SCORE = "score"
    CASES = "cases"
    MEASURES = "measures"


MONTHLY_MINUTES: dict[MonthlySection, int] = {
    MonthlySection.KPIS: 20,
    MonthlySection.SCORE: 15,
    MonthlySection.CASES: 20,
    MonthlySection.MEASURES: 25,
}


class KpiKey(StrEnum):
    """The monthly KPIs, in the order the review lists them; `rate` ones are fractions 0..1."""

    TOSS_UPS = "toss_ups"
    SQLS = "sqls"
    ACCEPTANCE_RATE = "acceptance_rate"
    BANT_RATE = "bant_acquisition_rate"
    WIN_RATE = "win_rate"
    LEAD_TIME_DAYS = "avg_lead_time_days"
    HOURS_TO_ACCEPT = "avg_hours_to_accept"
    WON_AMOUNT = "won_amount"
    DEAL_SIZE = "avg_deal_size"


RATE_KEYS = frozenset({KpiKey.ACCEPTANCE_RATE, KpiKey.BANT_RATE, KpiKey.WIN_RATE})


def kpi_value(kpis: Kpis, key: KpiKey) -> float | None:
    if key is KpiKey.DEAL_SIZE:
        return kpis.won_amount / kpis.won if kpis.won else None
    value = getattr(kpis, key.value)
    return float(value) if value is not None else None


# ------------------------------------------------------------------------------------------ input


@dataclass(frozen=True, slots=True)
class ClosedInMonth:
    """Deals closed in the month by their close date, whenever they were tossed up: the KPIs follow the
    month's toss-ups (a cohort), so a deal tossed up earlier and won this month is in no KPI of it."""

    won: int = 0
    won_amount: int = 0
    lost: int = 0


@dataclass(frozen=True, slots=True)
class MonthPoint:
    """One month of the trend: counts and the average memo score of the toss-ups created in it."""

    month: date  # its first day
    toss_ups: int
    won: int
    lost: int
    average_memo_score: float | None

    @property
    def win_rate(self) -> float | None:
        decided = self.won + self.lost
        return self.won / decided if decided else None


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """A handoff of the month considered for best / worst."""

    id: int
    company: str
    is_user_id: str
    fs_user_id: str | None
    score_total: int
    rated: bool
    outcome: OutcomeKind | None
    status: HandoffStatus = HandoffStatus.ACCEPTED
    good: str | None = None
    improve: str | None = None
    notice_channel_id: str | None = None
    notice_ts: str | None = None
    revision_of_id: int | None = None  # the returned toss-up it revises
    revision_notice_channel_id: str | None = None  # … and its notice, for the link on the mark
    revision_notice_ts: str | None = None


@dataclass(frozen=True, slots=True)
class SourceFacts:
    """The month's toss-ups of one lead source and campaign, counted by how they went."""

    lead_source: str | None
    campaign: str | None
    toss_ups: int
    accepted: int
    returned: int
    won: int
    lost: int


@dataclass(frozen=True)
class MonthlyFacts:
    month: Period
    previous: Period
    now: datetime
    facts: Sequence[HandoffFacts]  # the toss-ups of the previous month and this one (KPI facts)
    trend: Sequence[MonthPoint]  # oldest first, this month last
    best: Sequence[CaseFacts]
    worst: Sequence[CaseFacts]
    sources: Sequence[SourceFacts]
    open_issues: Sequence[CollabIssue] = field(default_factory=tuple)
    closed_issues: Sequence[CollabIssue] = field(default_factory=tuple)
    # The month's latest collaboration diagnosis against the latest one before it (/tossup diagnose).
    diagnosis: DiagnosisTrend = field(default_factory=DiagnosisTrend)
    closed: ClosedInMonth = field(default_factory=ClosedInMonth)


@dataclass(frozen=True)
class MonthlyRules:
    tz: ZoneInfo
    business_hours: BusinessHours | None
    weights: ScoreWeights
    currency: str = "JPY"  # what the won amounts are in (app.yaml's `currency`)


# ----------------------------------------------------------------------------------------- output


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KpiLine(_Model):
    key: KpiKey
    current: float | None
    previous: float | None

    @property
    def change(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous


class TrendPoint(_Model):
    month: date
    toss_ups: int
    won: int
    win_rate: float | None
    average: float | None  # memo score, of MonthlyReview.memo_score_max


class ItemLine(_Model):
    key: ScoreItemKey
    average: float
    max_points: int

    @property
    def share(self) -> float:
        """The share of the item's points kept on average (1.0: nothing lost)."""
        return self.average / self.max_points if self.max_points else 1.0


class RepLine(_Model):
    user_id: str
    toss_ups: int
    average: float | None


class CaseLine(_Model):
    id: int
    company: str
    is_user_id: str
    fs_user_id: str | None
    score: int
    score_max: int
    outcome: OutcomeKind | None
    good: str | None
    improve: str | None
    notice: NoticeRef = NoticeRef()
    status: HandoffStatus | None = None  # None in reviews stored before it was kept
    revision_of: int | None = None  # 🔁 the returned toss-up it revises, as the weekly agenda marks it
    revision_notice: NoticeRef = NoticeRef()  # … linked from the mark


class SourceLine(_Model):
    lead_source: str | None
    campaign: str | None
    toss_ups: int
    accepted: int
    won: int
    acceptance_rate: float | None
    win_rate: float | None


class ClosedIssueLine(_Model):
    id: int
    problem: str
    quadrant: Quadrant
    decision: str | None
    closed_by: str | None
    closed_at: datetime


class ClosedLine(_Model):
    won: int
    won_amount: int
    lost: int


class MonthlyReview(_Model):
    month_start: date
    month_end: date
    generated_at: datetime
    kpis: list[KpiLine]
    trend: list[TrendPoint]  # oldest first, this month last
    items: list[ItemLine]  # the score table's order, FS rating included when anything was rated
    weakest: ScoreItemKey | None
    by_rep: list[RepLine]  # IS reps, best average first
    best: list[CaseLine]
    worst: list[CaseLine]
    sources: list[SourceLine]  # most toss-ups first
    open_issues: list[IssueLine]
    closed_issues: list[ClosedIssueLine]
    memo_score_max: int = MEMO_SCORE_MAX  # what a memo could score that month (the team's weights)
    currency: str = "JPY"  # what its amounts are in (the team's `currency` when it was built)
    # Deals closed in the month by close date (None: a review stored before this was counted).
    closed: ClosedLine | None = None
    # Default: digests frozen before the diagnosis existed still load.
    diagnosis: DiagnosisTrend = DiagnosisTrend()

    @property
    def toss_ups(self) -> int:
        return self.trend[-1].toss_ups if self.trend else 0

    @property
    def is_empty(self) -> bool:
        """No toss-up this month or last, nothing open or closed: one line says so."""
        current = next((line for line in self.kpis if line.key is KpiKey.TOSS_UPS), None)
        counts = (current.current or 0, current.previous or 0) if current else (0, 0)
        return not any(counts) and not self.open_issues and not self.closed_issues

    def section_count(self, section: MonthlySection) -> int:
        match section:
            case MonthlySection.KPIS:
                return self.toss_ups
            case MonthlySection.SCORE:
                return sum(1 for point in self.trend if point.average is not None)
            case MonthlySection.CASES:
                return len(self.best) + len(self.worst)
            case MonthlySection.MEASURES:
                return len(self.open_issues) + len(self.closed_issues)


# ---------------------------------------------------------------------------------------- builder


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _kpis(facts: MonthlyFacts, rules: MonthlyRules) -> list[KpiLine]:
    def of(period: Period) -> Kpis:
        return compute_kpis(
            facts.facts, start=period.start, end=period.end, tz=rules.tz, business_hours=rules.business_hours
        )

    current, previous = of(facts.month), of(facts.previous)
    return [
        KpiLine(key=key, current=kpi_value(current, key), previous=kpi_value(previous, key)) for key in KpiKey
    ]


def _month_rows(facts: MonthlyFacts) -> list[HandoffFacts]:
    start, end = as_utc(facts.month.start), as_utc(facts.month.end)
    return [f for f in facts.facts if start <= as_utc(f.created_at) < end]


def _items(rows: Sequence[HandoffFacts], weights: ScoreWeights) -> list[ItemLine]:
    points: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        for key, value in row.score_items.items():
            points[key].append(value)
    lines = []
    for key in ScoreItemKey:
        values = points.get(key.value)
        if values and weights.of(key) > 0:
            lines.append(ItemLine(key=key, average=sum(values) / len(values), max_points=weights.of(key)))
    return lines


def weakest_item(items: Sequence[ItemLine]) -> ScoreItemKey | None:
    """The item that loses the largest share of its points (ties: the score table's order); None when
    no item lost anything."""
    losing = [item for item in items if item.share < 1.0]
    if not losing:
        return None
    return min(losing, key=lambda item: (item.share, list(ScoreItemKey).index(item.key))).key


def _reps(rows: Sequence[HandoffFacts]) -> list[RepLine]:
    by_user: dict[str, list[HandoffFacts]] = defaultdict(list)
    for row in rows:
        by_user[row.is_user_id].append(row)
    reps = []
    for user, own in by_user.items():
        scores = [row.memo_score for row in own if row.memo_score is not None]
        reps.append(
            RepLine(user_id=user, toss_ups=len(own), average=sum(scores) / len(scores) if scores else None)
        )
    reps.sort(key=lambda rep: (rep.average is None, -(rep.average or 0.0), rep.user_id))
    return reps


def case_share(case: CaseFacts, memo_max: int = MEMO_SCORE_MAX) -> float:
    """A score as the share of what it could be: x/100 once rated, x/`memo_max` (70 by default) before."""
    whole = 100 if case.rated else memo_max  # 0 when the weights give every point to FS's rating
    return case.score_total / whole if whole > 0 else 0.0


def success_rank(case: CaseFacts, memo_max: int = MEMO_SCORE_MAX) -> tuple[int, float, int] | None:
    """Where a toss-up stands among the month's success cases (smallest first), None when it is none:
    won, then accepted and rated by FS, then accepted; the best share of its possible score first."""
    if case.status is not HandoffStatus.ACCEPTED or case.outcome is OutcomeKind.LOST:
        return None
    tier = 0 if case.outcome is OutcomeKind.WON else 1 if case.rated else 2
    return tier, -case_share(case, memo_max), case.id


def lesson_rank(case: CaseFacts, memo_max: int = MEMO_SCORE_MAX) -> tuple[int, float, int] | None:
    """Where a toss-up stands among the cases to learn from (smallest first), None when it is none:
    returned, then lost, then accepted ones FS rated; the lowest share of its possible score first.
    Never a won one, nor one FS has not decided or rated (nothing to learn from it yet)."""
    if case.outcome is OutcomeKind.WON:
        return None
    if case.status is HandoffStatus.RETURNED:
        tier = 0
    elif case.outcome is OutcomeKind.LOST:
        tier = 1
    elif case.status is HandoffStatus.ACCEPTED and case.rated:
        tier = 2
    else:
        return None
    return tier, case_share(case, memo_max), case.id


def split_cases(
    best: Sequence[CaseFacts], worst: Sequence[CaseFacts], memo_max: int = MEMO_SCORE_MAX
) -> tuple[list, list]:
    """(success cases, cases to learn from), at most CASES_MAX each and none in both. An accepted toss-up
    FS rated, with no outcome yet, can be either: such ones are split, the better half a success. A
    returned or lost one is never a success, so no case to learn from means none was returned or lost."""
    successes = sorted(
        {c.id: c for c in best if success_rank(c)}.values(),
        key=lambda c: success_rank(c, memo_max),  # type: ignore[arg-type,return-value]
    )
    lessons = sorted(
        {c.id: c for c in worst if lesson_rank(c)}.values(),
        key=lambda c: lesson_rank(c, memo_max),  # type: ignore[arg-type,return-value]
    )
    either = {c.id for c in successes} & {c.id for c in lessons}
    tied = [c for c in successes if c.id in either]  # best first: the worse half goes to the lessons
    demoted = {c.id for c in tied[len(tied) - len(tied) // 2 :]}
    chosen = [c for c in successes if c.id not in demoted][:CASES_MAX]
    chosen_ids = {c.id for c in chosen}
    return chosen, [c for c in lessons if c.id not in chosen_ids][:CASES_MAX]


def _case(case: CaseFacts, memo_max: int) -> CaseLine:
    return CaseLine(
        id=case.id,
        company=case.company,
        is_user_id=case.is_user_id,
        fs_user_id=case.fs_user_id,
        score=case.score_total,
        score_max=100 if case.rated else memo_max,
        outcome=case.outcome,
        good=case.good,
        improve=case.improve,
        notice=NoticeRef(channel_id=case.notice_channel_id, ts=case.notice_ts),
        status=case.status,
        revision_of=case.revision_of_id,
        revision_notice=NoticeRef(channel_id=case.revision_notice_channel_id, ts=case.revision_notice_ts),
    )


def _sources(facts: MonthlyFacts) -> list[SourceLine]:
    lines = [
        SourceLine(
            lead_source=row.lead_source,
            campaign=row.campaign,
            toss_ups=row.toss_ups,
            accepted=row.accepted,
            won=row.won,
            acceptance_rate=_ratio(row.accepted, row.accepted + row.returned),
            win_rate=_ratio(row.won, row.won + row.lost),
        )
        for row in facts.sources
    ]
    lines.sort(key=lambda line: (-line.toss_ups, line.lead_source or "", line.campaign or ""))
    return lines


def build_monthly_review(facts: MonthlyFacts, rules: MonthlyRules) -> MonthlyReview:
    """The month's review from its facts: pure, tested on data worked out by hand."""
    rows = _month_rows(facts)
    items = _items(rows, rules.weights)
    memo_max = rules.weights.memo_max
    best, worst = split_cases(facts.best, facts.worst, memo_max)
    return MonthlyReview(
        month_start=facts.month.first_day,
        month_end=facts.month.last_day,
        generated_at=as_utc(facts.now),
        kpis=_kpis(facts, rules),
        trend=[
            TrendPoint(
                month=point.month,
                toss_ups=point.toss_ups,
                won=point.won,
                win_rate=point.win_rate,
                average=point.average_memo_score,
            )
            for point in facts.trend
        ],
        items=items,
        weakest=weakest_item(items),
        by_rep=_reps(rows),
        best=[_case(case, memo_max) for case in best],
        worst=[_case(case, memo_max) for case in worst],
        sources=_sources(facts),
        memo_score_max=memo_max,
        currency=rules.currency,
        closed=ClosedLine(won=facts.closed.won, won_amount=facts.closed.won_amount, lost=facts.closed.lost),
        open_issues=[
            IssueLine.of(issue) for issue in most_urgent_first(i for i in facts.open_issues if i.is_open)
        ],
        closed_issues=[
            ClosedIssueLine(
                id=issue.id,
                problem=issue.problem,
                quadrant=issue.quadrant,
                decision=issue.decision,
                closed_by=issue.closed_by,
                closed_at=as_utc(issue.closed_at),
            )
            for issue in facts.closed_issues
            if issue.closed_at is not None
        ],
        diagnosis=facts.diagnosis,
    )
