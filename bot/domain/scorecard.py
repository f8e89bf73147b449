"""Rep scorecards (評価制度への反映), in pure Python.

The seed: evaluate 30–40% of each rep on the shared KPIs (共通KPI), the rest on their individual KPIs
(個別KPI), and put the two-way feedback (連携貢献度) into the qualitative part. A scorecard shows one rep,
for a month or a quarter, their individual KPIs beside the team's, one combined figure, and the
feedback they received. Definitions (the README repeats them):

Scope and roles
- The toss-ups *created* in the period (the KPI cohort of `bot.domain.kpi`): their decisions, sheets,
  ratings and outcomes count whenever they happened.
- IS part: the toss-ups the rep made (`is_user_id`). FS part: the toss-ups the rep is the FS rep on
  (`fs_user_id`: assigned, or who accepted an unassigned one). A person on both sides of different
  toss-ups gets both parts. Every rep on a toss-up of the period, either side, gets a scorecard.
- Every KPI is `compute_kpis` over the part's toss-ups (same definitions as `/tossup kpi`).

Individual KPIs
- IS: toss-ups, SQLs and the SQL rate (SQLs / toss-ups), BANT acquisition rate, accepted / returned,
  average memo score (the memo's points, of 100 − the FS rating weight = 70 by default, over the scored
  toss-ups).
- FS: won amount, average deal size (won amount / won deals), post-toss-up win rate, average time to
  accept (hours; business hours when the team has them), feedback sheets sent on time.
- Feedback sheet on time: a sheet is asked for at `feedback_due_at` (`feedback.delay_hours` after the
  meeting, or after the toss-up was made / accepted when that is later). It is *on time* when first
  submitted no later than the first reminder's time, `feedback.remind_every_hours` after that (counted
  in business time when the team has business hours): sent before the bot had to remind. Counted (the
  denominator): the accepted toss-ups with a meeting time whose sheet was submitted, or whose on-time
  limit has passed by `now` without one; a sheet still within its limit is not counted yet. Toss-ups
  without a meeting time have no due time and are not counted. Absences are not taken into account.

Figures, each 0–100
- IS figure = the mean of the SQL rate, the BANT acquisition rate and the average memo score ÷ its
  maximum (each a share 0–1; one without data is left out), × 100.
- FS figure = the mean of the win rate and the on-time feedback rate (one without data left out), × 100.
- Counts, amounts and times (toss-ups, won amount, deal size, time to accept) are shown, not scored:
  nothing configured says what amount is good, and rates compare reps of different territories fairly
  (the seed warns that counting toss-ups pushes IS to quantity over quality).
- individual = the IS and FS figures averaged, weighted by the rep's toss-ups in each role (a rep on one
  side only: that side's figure); None when neither part has a figure.
- shared = the team's post-toss-up win rate (トスアップ後受注率, the seed's shared KPI) × 100; None when no
  toss-up of the period has closed (won or lost).
- combined = (1 − w) × individual + w × shared, w = `scorecards.shared_weight` (default 0.35; the seed
  advises 0.3–0.4); the individual figure alone while shared is None; None while individual is None.

Two-way feedback (連携貢献度) is shown, not scored (the seed puts it in the qualitative evaluation): with
the IS part, FS's sheets on the rep's toss-ups (count, mean stars per rating); with the FS part, IS's
follow-through ratings on the rep's toss-ups (count, mean stars).

Periods (`parse_scorecard_period`): a calendar month (`bot.domain.kpi.parse_period`) or a calendar
quarter (Q1 = January–March) in the team's time zone, local midnight to local midnight. A quarter is a
`PeriodKind.RANGE` period (the KPI module has no quarter kind); `exact_quarter` recognises one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from bot.domain.feedback import RATING_FIELDS, FeedbackConfig, feedback_due_at, feedback_reminder_at
from bot.domain.handoff import HandoffStatus
from bot.domain.kpi import (
    HandoffFacts,
    Kpis,
    Period,
    PeriodKind,
    compute_kpis,
    exact_quarter,
    parse_period,
    parse_quarter,
)
from bot.domain.moments import as_utc
from bot.domain.score import ScoreWeights
from bot.domain.sla import BusinessHours

SHARED_WEIGHT_DEFAULT = 0.35
SHARED_WEIGHT_ADVISED = (0.3, 0.4)  # the seed: 個人評価の30〜40%を共通KPIで評価
FIGURE_MAX = 100.0


class ScorecardConfig(BaseModel):
    """`scorecards:` in app.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The shared KPIs' share of the combined figure; outside 0.3–0.4 is allowed, with a warning.
    shared_weight: float = Field(default=SHARED_WEIGHT_DEFAULT, ge=0, le=1, allow_inf_nan=False)

    @property
    def shared_weight_advised(self) -> bool:
        """Whether `shared_weight` lies in the seed's 0.3–0.4."""
        low, high = SHARED_WEIGHT_ADVISED
        return low <= self.shared_weight <= high

    def warnings(self, prefix: str = "scorecards") -> list[str]:
        """Lines to log at start for settings that are allowed but unadvised, each naming its key."""
        if self.shared_weight_advised:
            return []
        low, high = SHARED_WEIGHT_ADVISED
        return [
            f"{prefix}.shared_weight is {self.shared_weight:g}, outside the {low:g}–{high:g} the method "
            f"advises (30–40% of a rep's evaluation on the shared KPIs); using it as set"
        ]


# ------------------------------------------------------------------------------------------ input


@dataclass(frozen=True, slots=True)
class FeedbackFacts:
    """The two-way feedback on one toss-up of the period (loaded from the database)."""

    handoff_id: int
    meeting_at: datetime | None
    sheet_at: datetime | None = None  # FS's sheet, first submitted (None: no sheet)
    sheet_stars: Mapping[str, int] = field(default_factory=dict)  # rating name → 1..5
    follow_through: int | None = None  # IS's stars for FS's follow-through (None: not rated)


@dataclass(frozen=True)
class ScorecardFacts:
    period: Period
    now: datetime  # when the scorecards are made: sheets whose on-time limit passed count as late
    handoffs: Sequence[HandoffFacts]  # the KPI facts of the period's toss-ups
    feedback: Sequence[FeedbackFacts] = ()  # by toss-up; a toss-up missing here has no sheet or rating


@dataclass(frozen=True)
class ScorecardRules:
    tz: ZoneInfo
    business_hours: BusinessHours | None = None
    weights: ScoreWeights = field(default_factory=ScoreWeights)
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)
    scorecards: ScorecardConfig = field(default_factory=ScorecardConfig)
    currency: str = "JPY"  # what the won amounts are in (app.yaml's `currency`)


# ----------------------------------------------------------------------------------------- output


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


class IsPart(_Model):
    """The rep's individual KPIs as IS (the toss-ups they made)."""

    toss_ups: int
    sqls: int
    accepted: int
    returned: int
    bant_acquisition_rate: float | None
    average_memo_score: float | None
    memo_score_max: int
    figure: float | None  # 0–100

    @property
    def sql_rate(self) -> float | None:
        return _ratio(self.sqls, self.toss_ups)


class FsPart(_Model):
    """The rep's individual KPIs as FS (the toss-ups they are the FS rep on)."""

    toss_ups: int
    accepted: int
    won: int
    lost: int
    win_rate: float | None
    won_amount: int
    average_deal_size: float | None
    average_hours_to_accept: float | None
    sheets_counted: int
    sheets_on_time: int
    figure: float | None  # 0–100

    @property
    def on_time_rate(self) -> float | None:
        return _ratio(self.sheets_on_time, self.sheets_counted)


class SharedKpis(_Model):
    """The team's KPIs of the period: the shared ones, and the team's figure for each individual one."""

    toss_ups: int
    sqls: int
    accepted: int
    returned: int
    acceptance_rate: float | None
    bant_acquisition_rate: float | None
    average_memo_score: float | None
    won: int
    lost: int
    win_rate: float | None  # the shared KPI the combined figure uses
    won_amount: int
    average_deal_size: float | None
    average_lead_time_days: float | None  # shared KPI, shown
    average_hours_to_accept: float | None
    sheets_counted: int
    sheets_on_time: int

    @property
    def sql_rate(self) -> float | None:
        return _ratio(self.sqls, self.toss_ups)

    @property
    def on_time_rate(self) -> float | None:
        return _ratio(self.sheets_on_time, self.sheets_counted)


class Combined(_Model):
    individual: float | None  # 0–100
    shared: float | None  # 0–100
    shared_weight: float
    value: float | None  # 0–100


class MemoRatings(_Model):
    """FS's star ratings of this IS rep's memos (feedback sheets)."""

    count: int
    averages: dict[str, float]  # rating name (RATING_FIELDS) → mean stars; empty when count is 0


class FollowThroughRatings(_Model):
    """IS's star ratings of this FS rep's follow-through."""

    count: int
    average: float | None


class ReceivedFeedback(_Model):
    from_fs: MemoRatings | None = None  # with the IS part
    from_is: FollowThroughRatings | None = None  # with the FS part


class Scorecard(_Model):
    user_id: str
    period_first: date
    period_last: date
    generated_at: datetime
    as_is: IsPart | None
    as_fs: FsPart | None
    shared: SharedKpis
    combined: Combined
    feedback: ReceivedFeedback
    currency: str = "JPY"  # what its amounts are in (the team's `currency` when it was built)

    @property
    def quarter(self) -> int | None:
        """1–4 when the period is a calendar quarter."""
        return exact_quarter(self.period_first, self.period_last)

    @property
    def is_empty(self) -> bool:
        """No toss-up on either side in the period."""
        return self.as_is is None and self.as_fs is None


# ---------------------------------------------------------------------------------------- builder


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _figure(shares: Iterable[float | None]) -> float | None:
    """The mean of the shares that have data, as 0–100."""
    known = [share for share in shares if share is not None]
    return FIGURE_MAX * sum(known) / len(known) if known else None


def sheet_on_time_until(
    handoff: HandoffFacts, meeting_at: datetime | None, rules: ScorecardRules
) -> datetime | None:
    """The last moment FS's sheet on `handoff` counts as on time (the first reminder's time), or None
    when none is expected: not accepted, or no meeting time."""
    if handoff.status is not HandoffStatus.ACCEPTED or meeting_at is None:
        return None
    due = feedback_due_at(
        meeting_at=meeting_at,
        created_at=handoff.created_at,
        accepted_at=handoff.decided_at,
        config=rules.feedback,
    )
    if due is None:
        return None
    return feedback_reminder_at(due, 1, rules.feedback, tz=rules.tz, business_hours=rules.business_hours)


def _sheet_state(
    row: HandoffFacts, facts: FeedbackFacts | None, rules: ScorecardRules, now: datetime
) -> tuple[bool, bool]:
    """(counted, on time) for FS's sheet on one toss-up; see the module docstring."""
    limit = sheet_on_time_until(row, facts.meeting_at if facts else None, rules)
    if facts is None or limit is None:
        return False, False
    if facts.sheet_at is not None:
        return True, as_utc(facts.sheet_at) <= limit
    return limit <= now, False  # not sent: late once the limit has passed, not counted before


def _memo_average(rows: Sequence[HandoffFacts]) -> float | None:
    return _mean([row.memo_score for row in rows if row.memo_score is not None])


def _deal_size(kpis: Kpis) -> float | None:
    return kpis.won_amount / kpis.won if kpis.won else None


class _Builder:
    """The period's toss-ups and feedback, indexed once for every rep's card."""

    def __init__(self, facts: ScorecardFacts, rules: ScorecardRules) -> None:
        self.facts, self.rules = facts, rules
        period = facts.period
        start, end = as_utc(period.start), as_utc(period.end)
        self.rows = [row for row in facts.handoffs if start <= as_utc(row.created_at) < end]
        # Each rep's rows on each side, grouped once (a quarter has many toss-ups and many reps).
        self.by_is: dict[str, list[HandoffFacts]] = defaultdict(list)
        self.by_fs: dict[str, list[HandoffFacts]] = defaultdict(list)
        for row in self.rows:
            self.by_is[row.is_user_id].append(row)
            if row.fs_user_id:
                self.by_fs[row.fs_user_id].append(row)
        self.feedback = {item.handoff_id: item for item in facts.feedback}
        self.now = as_utc(facts.now)
        self.memo_max = rules.weights.memo_max
        # Each toss-up's sheet judged once, for the team and for its FS rep.
        self.sheets = {
            row.id: _sheet_state(row, self.feedback.get(row.id), rules, self.now) for row in self.rows
        }
        self.shared = self._shared()

    def kpis(self, rows: Sequence[HandoffFacts]) -> Kpis:
        period = self.facts.period
        return compute_kpis(
            rows,
            start=period.start,
            end=period.end,
            tz=self.rules.tz,
            business_hours=self.rules.business_hours,
        )

    def timeliness(self, rows: Sequence[HandoffFacts]) -> tuple[int, int]:
        """(sheets counted, sheets on time) over `rows`."""
        states = [self.sheets[row.id] for row in rows]
        return sum(counted for counted, _ in states), sum(on_time for _, on_time in states)

    def _shared(self) -> SharedKpis:
        team = self.kpis(self.rows)
        counted, on_time = self.timeliness(self.rows)
        return SharedKpis(
            toss_ups=team.toss_ups,
            sqls=team.sqls,
            accepted=team.accepted,
            returned=team.returned,
            acceptance_rate=team.acceptance_rate,
            bant_acquisition_rate=team.bant_acquisition_rate,
            average_memo_score=_memo_average(self.rows),
            won=team.won,
            lost=team.lost,
            win_rate=team.win_rate,
            won_amount=team.won_amount,
            average_deal_size=_deal_size(team),
            average_lead_time_days=team.avg_lead_time_days,
            average_hours_to_accept=team.avg_hours_to_accept,
            sheets_counted=counted,
            sheets_on_time=on_time,
        )

    def is_part(self, rows: Sequence[HandoffFacts]) -> IsPart | None:
        if not rows:
            return None
        kpis = self.kpis(rows)
        average = _memo_average(rows)
        sql_rate = _ratio(kpis.sqls, kpis.toss_ups)
        memo_share = average / self.memo_max if average is not None and self.memo_max > 0 else None
        return IsPart(
            toss_ups=kpis.toss_ups,
            sqls=kpis.sqls,
            accepted=kpis.accepted,
            returned=kpis.returned,
            bant_acquisition_rate=kpis.bant_acquisition_rate,
            average_memo_score=average,
            memo_score_max=self.memo_max,
            figure=_figure([sql_rate, kpis.bant_acquisition_rate, memo_share]),
        )

    def fs_part(self, rows: Sequence[HandoffFacts]) -> FsPart | None:
        if not rows:
            return None
        kpis = self.kpis(rows)
        counted, on_time = self.timeliness(rows)
        return FsPart(
            toss_ups=kpis.toss_ups,
            accepted=kpis.accepted,
            won=kpis.won,
            lost=kpis.lost,
            win_rate=kpis.win_rate,
            won_amount=kpis.won_amount,
            average_deal_size=_deal_size(kpis),
            average_hours_to_accept=kpis.avg_hours_to_accept,
            sheets_counted=counted,
            sheets_on_time=on_time,
            figure=_figure([kpis.win_rate, _ratio(on_time, counted)]),
        )

    def memo_ratings(self, rows: Sequence[HandoffFacts]) -> MemoRatings:
        stars = [
            facts.sheet_stars
            for row in rows
            if (facts := self.feedback.get(row.id)) is not None and facts.sheet_stars
        ]
        averages: dict[str, float] = {}
        for name in RATING_FIELDS:
            values = [sheet[name] for sheet in stars if name in sheet]
            if values:
                averages[name] = sum(values) / len(values)
        return MemoRatings(count=len(stars), averages=averages)

    def follow_through(self, rows: Sequence[HandoffFacts]) -> FollowThroughRatings:
        stars = [
            facts.follow_through
            for row in rows
            if (facts := self.feedback.get(row.id)) is not None and facts.follow_through is not None
        ]
        return FollowThroughRatings(count=len(stars), average=_mean(stars))

    def combined(self, as_is: IsPart | None, as_fs: FsPart | None) -> Combined:
        weighted = [
            (part.toss_ups, part.figure) for part in (as_is, as_fs) if part and part.figure is not None
        ]
        count = sum(n for n, _ in weighted)
        individual = sum(n * figure for n, figure in weighted) / count if count else None
        win_rate = self.shared.win_rate
        shared = FIGURE_MAX * win_rate if win_rate is not None else None
        weight = self.rules.scorecards.shared_weight
        if individual is None:
            value = None
        elif shared is None:
            value = individual  # nothing closed yet: the weight has nothing to apply to
        else:
            value = (1 - weight) * individual + weight * shared
        return Combined(individual=individual, shared=shared, shared_weight=weight, value=value)

    def card(self, user_id: str) -> Scorecard:
        own_is, own_fs = self.by_is.get(user_id, []), self.by_fs.get(user_id, [])
        as_is, as_fs = self.is_part(own_is), self.fs_part(own_fs)
        return Scorecard(
            user_id=user_id,
            period_first=self.facts.period.first_day,
            period_last=self.facts.period.last_day,
            generated_at=self.now,
            as_is=as_is,
            as_fs=as_fs,
            shared=self.shared,
            combined=self.combined(as_is, as_fs),
            feedback=ReceivedFeedback(
                from_fs=self.memo_ratings(own_is) if as_is else None,
                from_is=self.follow_through(own_fs) if as_fs else None,
            ),
            currency=self.rules.currency,
        )

    def users(self) -> list[str]:
        return sorted(self.by_is.keys() | self.by_fs.keys())


def build_scorecards(facts: ScorecardFacts, rules: ScorecardRules) -> dict[str, Scorecard]:
    """A scorecard for every rep on a toss-up of the period (IS or FS), keyed by user id (sorted)."""
    builder = _Builder(facts, rules)
    return {user_id: builder.card(user_id) for user_id in builder.users()}


def build_scorecard(facts: ScorecardFacts, rules: ScorecardRules, user_id: str) -> Scorecard:
    """One rep's scorecard, also for a rep with no toss-up in the period (`is_empty`: both parts None)."""
    return _Builder(facts, rules).card(user_id)


def ranked(cards: Iterable[Scorecard]) -> list[Scorecard]:
    """Best combined figure first; cards without one last; ties by user id."""
    return sorted(
        cards, key=lambda card: (card.combined.value is None, -(card.combined.value or 0.0), card.user_id)
    )


# ------------------------------------------------------------------------------------------ periods


def parse_scorecard_period(argument: str, *, now: datetime, tz: ZoneInfo) -> Period | None:
    """The month or quarter `argument` names, seen from `now` in `tz`; None when it names neither.

    Months as `parse_period` reads them ("" / "this" / "今月": this month, "last" / "先月", "2026-11");
    its weeks and day ranges are not scorecard periods. Quarters (calendar, Q1 = January–March):
    "quarter" / "this-quarter" / "今四半期": this one; "last-quarter" / "前四半期": the one before;
    "2026-Q3" / "2026Q3" / "Q3 2026" / "2026年第3四半期"; "Q3" / "第3四半期" (or 第三四半期): this year's.
    NFKC-normalised, case-insensitive, whitespace or "_" read as "-"; years 2000–2100.
    """
    quarter = parse_quarter(argument, now=now, tz=tz)
    if quarter is not None:
        return quarter
    month = parse_period(argument, now=now, tz=tz)
    return month if month is not None and month.kind is PeriodKind.MONTH else None
