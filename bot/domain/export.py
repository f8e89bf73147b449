"""The CSV export's pure rules: which days `/tossup export [from] [to]` names, and cells made safe.

Pure Python: no Slack, no database, no catalog.

Days (`parse_export_range`): NFKC-normalised (full-width digits work), case-insensitive, surrounding
whitespace ignored.
- nothing: this calendar month in the team's time zone;
- one day `YYYY-MM-DD` (or `YYYY/MM/DD`): from that day to today, both included;
- two days (separated by spaces, `..`, `~` or `〜`): from the first to the second, both included;
- any period `/tossup kpi` accepts (`last-month`, `先月`, `2026-11`, `this-week`, …): that period.
Years 2000–2100. The first day may not come after the last (`RangeProblem.REVERSED`); anything else that
is not a day is `RangeProblem.UNREADABLE`. Periods are [start, end) in UTC, from local midnight of the
first day to local midnight after the last.

Cells (`guard_cell`): spreadsheet programs run a cell that starts with `=`, `+`, `-` or `@` (and, in
some, a tab or carriage return before one) as a formula: such a cell gets a leading `'`, which shows the
text as typed and runs nothing (the OWASP "CSV injection" advice).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.kpi import PERIOD_YEAR_MAX, PERIOD_YEAR_MIN, Period, PeriodKind, current_month, parse_period

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_DAY = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})")
_BETWEEN = re.compile(r"\s*(?:\.\.|~|〜)\s*|\s+")


class RangeProblem(StrEnum):
    UNREADABLE = "unreadable"  # not a day or a period
    REVERSED = "reversed"  # the first day is after the last


def guard_cell(text: str) -> str:
    """`text` as a spreadsheet shows it and never runs: a leading `'` when it could start a formula."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _day(text: str) -> date | None:
    match = _DAY.fullmatch(text)
    if match is None:
        return None
    try:
        day = date(*(int(part) for part in match.groups()))
    except ValueError:
        return None
    return day if PERIOD_YEAR_MIN <= day.year <= PERIOD_YEAR_MAX else None


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def days_period(first: date, last: date, tz: ZoneInfo) -> Period:
    """From local midnight of `first` to local midnight after `last` (both days included)."""
    return Period(
        kind=PeriodKind.RANGE,
        start=_local_midnight(first, tz),
        end=_local_midnight(last + timedelta(days=1), tz),
        first_day=first,
        last_day=last,
    )


def export_period(
    first: date | None, last: date | None, *, now: datetime, tz: ZoneInfo
) -> Period | RangeProblem:
    """The days between `first` and `last` (both included); this month without either, today when `last`
    is missing, the first of `last`'s month when `first` is."""
    if first is None and last is None:
        return current_month(now=now, tz=tz)
    today = (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(tz).date()
    last = last or today
    first = first or last.replace(day=1)
    if first > last:
        return RangeProblem.REVERSED
    return days_period(first, last, tz)


def parse_export_range(argument: str, *, now: datetime, tz: ZoneInfo) -> Period | RangeProblem:
    """The days `argument` names (see the module rules), or why it names none."""
    text = unicodedata.normalize("NFKC", argument).strip().lower()
    if not text:
        return current_month(now=now, tz=tz)
    parts = [part for part in _BETWEEN.split(text) if part]
    days = [_day(part) for part in parts]
    if 1 <= len(parts) <= 2 and all(day is not None for day in days):
        first, last = days[0], days[-1] if len(days) == 2 else None
        return export_period(first, last, now=now, tz=tz)
    period = parse_period(text, now=now, tz=tz)
    return period if period is not None else RangeProblem.UNREADABLE
