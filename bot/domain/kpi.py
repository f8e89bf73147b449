"""Shared KPIs (共通KPI) and per-rep KPIs (個別KPI) over toss-ups, in pure Python.

The store loads one `HandoffFacts` per toss-up; `compute_kpis` turns those of a period (and optionally one
rep) into `Kpis`. Definitions (the README repeats them):

- Period: the toss-ups *created* in [start, end) (a cohort): their decisions, ratings and outcomes count
  whenever they happened, so a period's win rate is the win rate of the toss-ups made in it.
- Rep: `user` keeps the toss-ups where the user is the IS rep OR the FS rep (`fs_user_id`: the assigned
  rep, or whoever accepted an unassigned toss-up — `fs_rep_on`), so a won deal
  counts for both (共通KPI: credit goes to IS and FS). Rep totals therefore do not add up to the team's.
- toss_ups: toss-ups created in the period.
- sqls: toss-ups that did not fail the toss-up criteria (criteria passed, or no criteria evaluated —
  a team without criteria treats every toss-up as an SQL); warn-mode overrides of failed criteria are not.
- accepted / returned / pending: by current status.
- acceptance_rate: accepted / (accepted + returned); None when nothing was decided.
- bant_acquisition_rate: toss-ups whose four BANT items are known (`bant_complete`) / toss-ups.
- rated: toss-ups whose FS feedback sheet was submitted.
- won / lost: toss-ups with that outcome; open or unrecorded outcomes count in neither.
- win_rate (post-toss-up win rate, トスアップ後受注率): won / (won + lost); None when none closed.
- won_amount: sum of the amounts of the won deals.
- avg_lead_time_days (リードタイム): mean calendar days from first contact to the won date, over won deals
  with both dates.
- avg_hours_to_accept: mean hours from toss-up to acceptance over accepted toss-ups (elapsed hours, or
  business hours when `business_hours` is given).
- avg_quality_score: mean of the full 100-point score (memo points + FS rating points) over the toss-ups
  FS rated: only they have one (an unrated memo's x/70 in a "/ 100" mean would read as a poor score).
- avg_items: per score item key, the mean points over the toss-ups that have that item (fs_rating: the
  rated ones only).
Every mean or rate is None when its denominator is zero. Naive datetimes are read as UTC.

Periods (`parse_period`, for `/tossup kpi [period]`): a calendar month or a Monday-to-Sunday week in the
team's time zone, as [start, end) in UTC from local midnight to local midnight.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.answers import has_no_content
from bot.domain.handoff import HandoffStatus
from bot.domain.memo import BudgetStatus, HandoffMemo, Timeline
from bot.domain.moments import as_utc
from bot.domain.outcome import Outcome, OutcomeKind
from bot.domain.score import ScoreItemKey
from bot.domain.sla import BusinessHours, time_to_decide


def bant_complete(memo: HandoffMemo) -> bool:
    """All four BANT items known: budget confirmed or planned (not unknown), authority answered (any level,
    "none" included: it is known), need stated with some content, timeline chosen and not unknown."""
    return bant_answers_complete(
        budget_status=memo.budget_status,
        authority=memo.authority,
        need=memo.need,
        timeline=memo.timeline,
    )


def bant_answers_complete(
    *, budget_status: str | None, authority: str | None, need: str | None, timeline: str | None
) -> bool:
    """`bant_complete` on the four answers as stored (a read takes them straight out of the memo's JSON)."""
    return (
        budget_status is not None
        and budget_status != BudgetStatus.UNKNOWN
        and authority is not None
        and need is not None
        and not has_no_content(need)
        and timeline is not None
        and timeline != Timeline.UNKNOWN
    )


@dataclass(frozen=True, slots=True)  # slots: a year at 100k toss-ups is 50,000 of them in memory
class HandoffFacts:
    """What the KPIs need to know about one toss-up (loaded from the database)."""

    id: int
    is_user_id: str
    fs_user_id: str | None  # the FS rep on it: assigned, or who accepted it unassigned (`fs_rep_on`)
    created_at: datetime
    status: HandoffStatus
    decided_at: datetime | None
    criteria_passed: bool | None  # None: no criteria evaluated
    bant_complete: bool
    memo_score: int | None  # the memo's points (first 70), None when not scored
    score_items: dict[str, int] = field(default_factory=dict)  # item key → points, fs_rating when rated
    first_contact_on: date | None = None
    outcome: Outcome | None = None
    outcome_at: datetime | None = None
    rated: bool = False


@dataclass(frozen=True)
class Kpis:
    toss_ups: int
    sqls: int
    accepted: int
    returned: int
    pending: int
    acceptance_rate: float | None
    bant_acquisition_rate: float | None
    rated: int
    won: int
    lost: int
    win_rate: float | None
    won_amount: int
    avg_lead_time_days: float | None
    avg_hours_to_accept: float | None
    avg_quality_score: float | None
    avg_items: dict[str, float]


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _mean(values: list[float] | list[int]) -> float | None:
    return sum(values) / len(values) if values else None


def _in_period(facts: Iterable[HandoffFacts], start: datetime, end: datetime) -> list[HandoffFacts]:
    lo, hi = as_utc(start), as_utc(end)
    if lo >= hi:
        raise ValueError(f"the period must end after it starts ({start} … {end})")
    return [f for f in facts if lo <= as_utc(f.created_at) < hi]


def _kind(f: HandoffFacts) -> OutcomeKind | None:
    return f.outcome.kind if f.outcome is not None else None


def _compute(rows: list[HandoffFacts], *, tz: ZoneInfo, business_hours: BusinessHours | None) -> Kpis:
    accepted = [f for f in rows if f.status is HandoffStatus.ACCEPTED]
    returned = [f for f in rows if f.status is HandoffStatus.RETURNED]
    won = [f for f in rows if _kind(f) is OutcomeKind.WON]
    lost = [f for f in rows if _kind(f) is OutcomeKind.LOST]

    lead_days = [
        (f.outcome.closed_on - f.first_contact_on).days
        for f in won
        if f.outcome is not None
        and f.outcome.closed_on is not None
        and f.first_contact_on is not None
        # a close date typed before the first contact (refused since 2026-12-07) is no lead time
        and f.outcome.closed_on >= f.first_contact_on
    ]
    hours_to_accept = [
        time_to_decide(f.created_at, f.decided_at, tz=tz, business_hours=business_hours) / timedelta(hours=1)
        for f in accepted
        if f.decided_at is not None
    ]
    fs_key = ScoreItemKey.FS_RATING.value
    totals = [
        f.memo_score + f.score_items.get(fs_key, 0) for f in rows if f.memo_score is not None and f.rated
    ]
    per_item: dict[str, list[int]] = defaultdict(list)
    for f in rows:
        for key, points in f.score_items.items():
            per_item[key].append(points)

    return Kpis(
        toss_ups=len(rows),
        sqls=sum(1 for f in rows if f.criteria_passed is not False),
        accepted=len(accepted),
        returned=len(returned),
        pending=sum(1 for f in rows if f.status is HandoffStatus.PENDING),
        acceptance_rate=_ratio(len(accepted), len(accepted) + len(returned)),
        bant_acquisition_rate=_ratio(sum(1 for f in rows if f.bant_complete), len(rows)),
        rated=sum(1 for f in rows if f.rated),
        won=len(won),
        lost=len(lost),
        win_rate=_ratio(len(won), len(won) + len(lost)),
        won_amount=sum(f.outcome.amount or 0 for f in won if f.outcome is not None),
        avg_lead_time_days=_mean(lead_days),
        avg_hours_to_accept=_mean(hours_to_accept),
        avg_quality_score=_mean(totals),
        avg_items={key: sum(values) / len(values) for key, values in sorted(per_item.items())},
    )


def compute_kpis(
    facts: Iterable[HandoffFacts],
    *,
    start: datetime,
    end: datetime,
    user: str | None = None,
    tz: ZoneInfo | None = None,
    business_hours: BusinessHours | None = None,
) -> Kpis:
    """The KPIs of the toss-ups created in [start, end), for the team or (with `user`) one rep.

    See the module docstring for every definition. `tz` and `business_hours` only change
    `avg_hours_to_accept` (counted in business hours when given; `tz` defaults to UTC).
    """
    rows = _in_period(facts, start, end)
    if user is not None:
        rows = [f for f in rows if user in (f.is_user_id, f.fs_user_id)]
    return _compute(rows, tz=tz or ZoneInfo("UTC"), business_hours=business_hours)


def kpis_by_rep(
    facts: Iterable[HandoffFacts],
    *,
    start: datetime,
    end: datetime,
    tz: ZoneInfo | None = None,
    business_hours: BusinessHours | None = None,
) -> dict[str, Kpis]:
    """`compute_kpis` for every IS and FS rep of a toss-up created in [start, end), keyed by user id
    (sorted). A rep who is both IS and FS on different toss-ups gets one entry covering both."""
    # One pass sorts the toss-ups to their reps (not one pass over every toss-up per rep).
    by_user: dict[str, list[HandoffFacts]] = defaultdict(list)
    for f in _in_period(facts, start, end):
        by_user[f.is_user_id].append(f)
        if f.fs_user_id is not None and f.fs_user_id != f.is_user_id:
            by_user[f.fs_user_id].append(f)
    zone = tz or ZoneInfo("UTC")
    return {user: _compute(by_user[user], tz=zone, business_hours=business_hours) for user in sorted(by_user)}


# ------------------------------------------------------------------------------------------- periods


class PeriodKind(StrEnum):
    MONTH = "month"
    WEEK = "week"
    RANGE = "range"  # any days, first to last


@dataclass(frozen=True)
class Period:
    """A KPI period: [start, end) in UTC, from local midnight of `first_day` to local midnight of the day
    after `last_day` in the team's time zone."""

    kind: PeriodKind
    start: datetime  # aware UTC, inclusive
    end: datetime  # aware UTC, exclusive
    first_day: date  # local dates, for labels
    last_day: date


PERIOD_YEAR_MIN, PERIOD_YEAR_MAX = 2000, 2100

_THIS_MONTH = frozenset({"", "month", "this", "this-month", "今月"})
_LAST_MONTH = frozenset({"last", "last-month", "先月"})
_THIS_WEEK = frozenset({"week", "this-week", "今週"})
_LAST_WEEK = frozenset({"last-week", "先週"})
_YEAR_MONTH = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})")
_YEAR_MONTH_JA = re.compile(r"([0-9]{4})年-?([0-9]{1,2})月")  # 2026年11月
_DAY = r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})"
_DAY_RANGE = re.compile(rf"{_DAY}-*(?:\.\.|~|〜)-*{_DAY}")
RANGE_DAYS_MAX = 366 * 3  # a range covers at most about three years


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of `day` in `tz`, in UTC."""
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def _days(kind: PeriodKind, first: date, last: date, tz: ZoneInfo) -> Period:
    """From the local midnight starting `first` to the one ending `last` (both days included)."""
    return Period(
        kind=kind,
        start=_local_midnight(first, tz),
        end=_local_midnight(last + timedelta(days=1), tz),
        first_day=first,
        last_day=last,
    )


def _month_period(year: int, month: int, tz: ZoneInfo) -> Period:
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return _days(PeriodKind.MONTH, date(year, month, 1), following - timedelta(days=1), tz)


def _range_period(*parts: int, tz: ZoneInfo) -> Period | None:
    """First and last day (both included) from (year, month, day, year, month, day); None when invalid."""
    try:
        first, last = date(*parts[:3]), date(*parts[3:])
    except ValueError:
        return None
    years_ok = all(PERIOD_YEAR_MIN <= day.year <= PERIOD_YEAR_MAX for day in (first, last))
    if not years_ok or first > last or (last - first).days >= RANGE_DAYS_MAX:
        return None
    return _days(PeriodKind.RANGE, first, last, tz)


def _week_period(monday: date, tz: ZoneInfo) -> Period:
    return _days(PeriodKind.WEEK, monday, monday + timedelta(days=6), tz)


def month_of(day: date, tz: ZoneInfo) -> Period:
    """The calendar month `day` falls in, in the team's time zone."""
    return _month_period(day.year, day.month, tz)


def month_before(period: Period, tz: ZoneInfo, months: int = 1) -> Period:
    """The calendar month `months` before the one `period` starts in."""
    index = period.first_day.year * 12 + period.first_day.month - 1 - months
    return _month_period(index // 12, index % 12 + 1, tz)


def quarter_period(year: int, quarter: int, tz: ZoneInfo) -> Period:
    """Calendar quarter `quarter` (1–4) of `year` in the team's time zone (a RANGE period of its days)."""
    if not 1 <= quarter <= 4:
        raise ValueError(f"a quarter is 1–4, not {quarter}")
    first = date(year, 3 * quarter - 2, 1)
    following = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return _days(PeriodKind.RANGE, first, following - timedelta(days=1), tz)


def quarter_number(day: date) -> int:
    """1–4: the calendar quarter `day` falls in."""
    return (day.month - 1) // 3 + 1


def exact_quarter(first_day: date, last_day: date) -> int | None:
    """1–4 when [first_day, last_day] is exactly a calendar quarter, else None."""
    if first_day.day != 1 or first_day.month % 3 != 1:
        return None
    quarter = quarter_number(first_day)
    expected = quarter_period(first_day.year, quarter, ZoneInfo("UTC")).last_day
    return quarter if last_day == expected else None


def quarter_of(day: date, tz: ZoneInfo) -> Period:
    """The calendar quarter `day` falls in."""
    return quarter_period(day.year, quarter_number(day), tz)


def quarter_before(period: Period, tz: ZoneInfo) -> Period:
    """The calendar quarter before the one `period` starts in."""
    index = period.first_day.year * 4 + (period.first_day.month - 1) // 3 - 1
    return quarter_period(index // 4, index % 4 + 1, tz)


def week_of(day: date, tz: ZoneInfo) -> Period:
    """The Monday-to-Sunday week `day` falls in, in the team's time zone."""
    return _week_period(day - timedelta(days=day.weekday()), tz)


def current_month(*, now: datetime, tz: ZoneInfo) -> Period:
    """The calendar month `now` falls in, in the team's time zone."""
    today = as_utc(now).astimezone(tz).date()
    return _month_period(today.year, today.month, tz)


_THIS_QUARTER = frozenset({"quarter", "q", "this-quarter", "今四半期", "当四半期", "この四半期"})
_LAST_QUARTER = frozenset({"last-quarter", "前四半期", "先四半期"})
_QUARTER_DIGITS = {"1": 1, "2": 2, "3": 3, "4": 4, "一": 1, "二": 2, "三": 3, "四": 4}
_QUARTER_PATTERNS = (
    re.compile(r"(?P<year>[0-9]{4})[-/]?q(?P<q>[1-4])"),  # 2026-Q3, 2026Q3, 2026/q3
    re.compile(r"q(?P<q>[1-4])(?:[-/]?(?P<year>[0-9]{4}))?"),  # Q3 2026, Q3 (this year)
    re.compile(r"(?:(?P<year>[0-9]{4})年-?)?第?(?P<q>[1-4一二三四])四半期"),  # 2026年第3四半期, 第三四半期
)


def _normalized(argument: str) -> str:
    text = unicodedata.normalize("NFKC", argument).strip().lower()
    return re.sub(r"[\s_]+", "-", text)


def parse_quarter(argument: str, *, now: datetime, tz: ZoneInfo) -> Period | None:
    """The calendar quarter `argument` names (Q1 = January–March), seen from `now` in `tz`, else None:
    "quarter" / "this-quarter" / "今四半期": this one; "last-quarter" / "前四半期": the one before;
    "2026-Q3" / "2026Q3" / "Q3 2026" / "2026年第3四半期"; "Q3" / "第3四半期" (or 第三四半期): this year's.
    NFKC-normalised, case-insensitive, whitespace or "_" read as "-"; years 2000–2100."""
    text = _normalized(argument)
    today = as_utc(now).astimezone(tz).date()
    if text in _THIS_QUARTER:
        return quarter_of(today, tz)
    if text in _LAST_QUARTER:
        return quarter_before(quarter_of(today, tz), tz)
    for pattern in _QUARTER_PATTERNS:
        match = pattern.fullmatch(text)
        if match is not None:
            year = int(match.group("year") or today.year)
            if not PERIOD_YEAR_MIN <= year <= PERIOD_YEAR_MAX:
                return None
            return quarter_period(year, _QUARTER_DIGITS[match.group("q")], tz)
    return None


def parse_period(argument: str, *, now: datetime, tz: ZoneInfo) -> Period | None:
    """The period `argument` names, seen from `now` in the team's time zone `tz`; None when it names none.

    Case-insensitive, NFKC-normalised (full-width digits work), surrounding whitespace ignored, and inner
    whitespace or "_" read as "-" ("last month" = "last-month"):
    - "" / "month" / "this" / "this-month" / "今月": this calendar month;
    - "last" / "last-month" / "先月": the previous month;
    - "YYYY-MM" or "YYYY/MM": that month (year 2000–2100, month 1–12);
    - "week" / "this-week" / "今週": this week, Monday 00:00 to next Monday 00:00;
    - "last-week" / "先週": the previous week;
    - "YYYY-MM-DD..YYYY-MM-DD" (or "~" / "〜" between): those days, both included (at most about three
      years, the first not after the last);
    - a calendar quarter as `parse_quarter` reads it ("2026-Q4", "last-quarter", "2026年第4四半期");
    - "2026年11月": that month.
    A naive `now` is read as UTC.
    """
    text = _normalized(argument)
    today = as_utc(now).astimezone(tz).date()
    quarter = parse_quarter(argument, now=now, tz=tz)
    if quarter is not None:
        return quarter
    if text in _THIS_MONTH:
        return current_month(now=now, tz=tz)
    if text in _LAST_MONTH:
        if today.month == 1:
            return _month_period(today.year - 1, 12, tz)
        return _month_period(today.year, today.month - 1, tz)
    if text in _THIS_WEEK or text in _LAST_WEEK:
        monday = today - timedelta(days=today.weekday())
        if text in _LAST_WEEK:
            monday -= timedelta(days=7)
        return _week_period(monday, tz)
    ranged = _DAY_RANGE.fullmatch(text)
    if ranged is not None:
        return _range_period(*(int(part) for part in ranged.groups()), tz=tz)
    match = _YEAR_MONTH.fullmatch(text) or _YEAR_MONTH_JA.fullmatch(text)
    if match is None:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (PERIOD_YEAR_MIN <= year <= PERIOD_YEAR_MAX and 1 <= month <= 12):
        return None
    return _month_period(year, month, tz)
