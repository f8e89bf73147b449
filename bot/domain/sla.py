"""Acceptance SLA: when a pending toss-up gets reminders and an escalation, in pure time arithmetic.

Timing rule (also for the README)
---------------------------------
A toss-up's *deadline* is `accept_within_hours` after it was tossed up (default 24 h). With
`business_hours` set, only time inside the team's working windows counts (in the team's time zone,
weekends outside `days` and `holidays` skipped): 2 h from Friday 17:00 with 09:00–18:00 is Monday 10:00.
Without it, hours are plain elapsed hours.

* Reminder 1 goes to the assigned FS rep (a DM) at the deadline; reminder k (k ≥ 2) follows
  `repeat_every_hours` × (k − 1) after the deadline (default: 1 reminder, so no repeats).
* One escalation (FS channel thread and/or managers) follows `escalate_after_hours` after the deadline
  (default 8 h; 0 escalates together with the first reminder). No escalation when both
  `escalate_to_channel` and `escalate_to_managers` are off.
* Repeats and the escalation are measured in the same clock as the deadline (business hours when set),
  so with business hours every step falls inside a working window.
* Steps stop as soon as the toss-up is accepted or returned: the caller only asks for PENDING ones.

Hours are elapsed hours, not wall-clock hours: across a DST change a 24 h deadline lands at a different
wall-clock time. Working windows themselves are wall-clock (09:00–18:00 local on every working day).
A moment exactly at a window's end counts as inside it (windows are closed intervals).
Naive datetimes are read as UTC, like the rest of the bot; results are aware UTC.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.domain.moments import as_utc

_WEEKDAYS = {name: n for n, name in enumerate(("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"))}
MAX_HOURS = 24 * 90  # a longer SLA is a configuration mistake, and it bounds the day-by-day walk
_MAX_DAYS_SEARCHED = 366 * 5  # how far ahead a working day is looked for (holidays are a finite list)


class BusinessHours(BaseModel):
    """The team's working windows: `start`–`end` local time on `days` (Mon=0 … Sun=6), except holidays."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: time = time(9, 0)
    end: time = time(18, 0)
    days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    holidays: list[date] = Field(default_factory=list)

    @field_validator("days", mode="before")
    @classmethod
    def _day_names(cls, days: object) -> object:
        """MON … SUN (as in the digests' cron) read as 0 … 6; anything else is left to the check below."""
        if not isinstance(days, list):
            return days
        named = [_WEEKDAYS.get(d.strip().upper()[:3], d) if isinstance(d, str) else d for d in days]
        unknown = [d for d in named if isinstance(d, str) and not d.strip().isdigit()]
        if unknown:
            raise ValueError(f"working days are 0 (Monday) … 6 (Sunday) or MON … SUN, not {unknown}")
        return named

    @field_validator("days")
    @classmethod
    def _check_days(cls, days: list[int]) -> list[int]:
        if not days:
            raise ValueError("give at least one working day (0 = Monday … 6 = Sunday)")
        bad = [d for d in days if not 0 <= d <= 6]
        if bad:
            raise ValueError(f"working days are 0 (Monday) … 6 (Sunday), not {bad}")
        return sorted(set(days))

    @field_validator("start", "end", mode="before")
    @classmethod
    def _written_as_hh_mm(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            # YAML 1.1 reads an unquoted 18:00 as a base-60 number (1080); 25:00 (1500) is no time even quoted
            hours, minutes = divmod(int(value), 60)
            if value != int(value) or not (0 <= hours <= 23 and 0 <= minutes <= 59):
                raise ValueError('is not a time of day: write it in quotes as "HH:MM", like "09:00"')
            written = f"{hours:02d}:{minutes:02d}"
            raise ValueError(
                f'write the time in quotes, like "{written}" (unquoted, YAML reads it as a number)'
            )
        if isinstance(value, str) and re.fullmatch(r"[0-9]:[0-5][0-9]", value.strip()):
            return "0" + value.strip()  # "9:00", as people write it
        return value

    @field_validator("start", "end")
    @classmethod
    def _naive_time(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("give a local time without a time zone (the team's timezone applies)")
        return value

    @model_validator(mode="after")
    def _start_before_end(self) -> BusinessHours:
        if self.start >= self.end:
            raise ValueError(f"start ({self.start}) must be before end ({self.end})")
        return self

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.holidays


class SlaConfig(BaseModel):
    """The acceptance SLA of app.yaml (see the module docstring for when each step is due)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    accept_within_hours: float = Field(default=24.0, gt=0, le=MAX_HOURS, allow_inf_nan=False)
    reminders: int = Field(default=1, ge=0, le=5)
    repeat_every_hours: float = Field(default=4.0, gt=0, le=MAX_HOURS, allow_inf_nan=False)
    escalate_after_hours: float = Field(default=8.0, ge=0, le=MAX_HOURS, allow_inf_nan=False)
    business_hours: BusinessHours | None = None
    escalate_to_channel: bool = True
    escalate_to_managers: bool = True

    @property
    def escalates(self) -> bool:
        return self.escalate_to_channel or self.escalate_to_managers

    @model_validator(mode="after")
    def _reminders_before_escalation(self) -> SlaConfig:
        last_repeat = (self.reminders - 1) * self.repeat_every_hours
        if self.escalates and self.reminders > 1 and last_repeat > self.escalate_after_hours:
            raise ValueError(
                f"the last reminder ({self.reminders - 1} × repeat_every_hours = {last_repeat:g} h after the "
                f"deadline) would come after the escalation (escalate_after_hours = "
                f"{self.escalate_after_hours:g} h): lower reminders or repeat_every_hours, or raise "
                "escalate_after_hours"
            )
        return self


class SlaStepKind(StrEnum):
    REMINDER = "reminder"  # DM to the assigned FS rep
    ESCALATION = "escalation"  # FS channel (thread under the notice) and/or managers


_KIND_ORDER = {SlaStepKind.REMINDER: 0, SlaStepKind.ESCALATION: 1}


@dataclass(frozen=True, slots=True)
class SlaStep:
    kind: SlaStepKind
    number: int  # 1-based, per kind
    due_at: datetime  # aware UTC

    @property
    def key(self) -> str:
        """Stable per toss-up: "reminder-1", "reminder-2", "escalation-1" (the dedupe key's suffix)."""
        return f"{self.kind.value}-{self.number}"


# ---------------------------------------------------------------- time arithmetic


def _windows(after: datetime, tz: ZoneInfo, hours: BusinessHours) -> Iterator[tuple[datetime, datetime]]:
    """The working windows (UTC start, UTC end) that end at or after `after`, in time order."""
    day = after.astimezone(tz).date() - timedelta(days=1)  # a window of the previous local day may remain
    for _ in range(_MAX_DAYS_SEARCHED):
        if hours.is_working_day(day):
            begin = datetime.combine(day, hours.start, tzinfo=tz).astimezone(UTC)
            end = datetime.combine(day, hours.end, tzinfo=tz).astimezone(UTC)
            if end >= after and end >= begin:
                yield begin, end
        day += timedelta(days=1)
    raise ValueError("no working day within five years: check business_hours.days and holidays")


def add_business_time(
    start: datetime, hours: float, *, tz: ZoneInfo, business_hours: BusinessHours | None
) -> datetime:
    """The earliest moment at which `hours` have elapsed since `start`, counting only business time.

    Without business hours it is `start + hours`. With them, only time inside working windows counts:
    the result is inside a window (possibly exactly at its end) whenever `hours` > 0; `hours` == 0 gives
    `start` unchanged.
    """
    if not math.isfinite(hours) or hours < 0:
        raise ValueError(f"hours must be a finite number ≥ 0, not {hours}")
    origin = as_utc(start)
    remaining = timedelta(hours=hours)
    if business_hours is None or hours == 0:
        return origin + remaining
    for begin, end in _windows(origin, tz, business_hours):
        begin = max(begin, origin)
        if remaining <= end - begin:
            return begin + remaining
        remaining -= end - begin
    raise AssertionError("unreachable: _windows raises when it runs out")


def deliverable_at(moment: datetime, *, tz: ZoneInfo, business_hours: BusinessHours | None) -> datetime:
    """The first moment ≥ `moment` inside working hours (when a DM may go out); `moment` without them."""
    at = as_utc(moment)
    if business_hours is None:
        return at
    begin, _ = next(_windows(at, tz, business_hours))
    return max(begin, at)


def time_to_decide(
    created_at: datetime, decided_at: datetime, *, tz: ZoneInfo, business_hours: BusinessHours | None
) -> timedelta:
    """How long a toss-up waited for its decision (the "time to accept" KPI), in business time when set.

    Zero when `decided_at` is not after `created_at`.
    """
    origin, finish = as_utc(created_at), as_utc(decided_at)
    if finish <= origin:
        return timedelta(0)
    if business_hours is None:
        return finish - origin
    total = timedelta(0)
    for begin, end in _windows(origin, tz, business_hours):
        if begin >= finish:
            break
        total += min(end, finish) - max(begin, origin)
    return total


# ---------------------------------------------------------------- the plan


def sla_deadline(created_at: datetime, config: SlaConfig, *, tz: ZoneInfo) -> datetime:
    """When the toss-up should have been accepted or returned (aware UTC)."""
    return add_business_time(
        created_at, config.accept_within_hours, tz=tz, business_hours=config.business_hours
    )


def overdue_created_before(now: datetime, config: SlaConfig, *, tz: ZoneInfo) -> datetime | None:
    """The latest creation time whose acceptance deadline has passed at `now` (None: no SLA, or none).

    A deadline only moves later as the creation time does, so the toss-ups past their deadline are exactly
    those created up to this moment: a read selects them with one indexed range, whatever the history.
    """
    if not config.enabled:
        return None
    now = as_utc(now)
    low = now - timedelta(days=3660)  # far enough back for any SLA the config allows
    if sla_deadline(low, config, tz=tz) > now:
        return None
    high = now
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if sla_deadline(middle, config, tz=tz) <= now:
            low = middle
        else:
            high = middle
    return low


def sla_plan(created_at: datetime, config: SlaConfig, *, tz: ZoneInfo) -> list[SlaStep]:
    """Every SLA step of a toss-up created at `created_at`, in time order (empty when disabled)."""
    if not config.enabled:
        return []
    deadline = sla_deadline(created_at, config, tz=tz)

    def after_deadline(hours: float) -> datetime:
        return add_business_time(deadline, hours, tz=tz, business_hours=config.business_hours)

    steps = [
        SlaStep(SlaStepKind.REMINDER, k, after_deadline((k - 1) * config.repeat_every_hours))
        for k in range(1, config.reminders + 1)
    ]
    if config.escalates:
        steps.append(SlaStep(SlaStepKind.ESCALATION, 1, after_deadline(config.escalate_after_hours)))
    return sorted(steps, key=lambda s: (s.due_at, _KIND_ORDER[s.kind], s.number))


def due_steps(created_at: datetime, config: SlaConfig, *, tz: ZoneInfo, now: datetime) -> list[SlaStep]:
    """The steps due by `now` (a prefix of `sla_plan`); the caller skips those it already sent."""
    current = as_utc(now)
    return [step for step in sla_plan(created_at, config, tz=tz) if step.due_at <= current]
