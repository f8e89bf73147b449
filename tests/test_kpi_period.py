"""KPI periods (`parse_period`): months and Monday weeks in the team's time zone, as [start, end) in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.kpi import Period, PeriodKind, parse_period

TOKYO = ZoneInfo("Asia/Tokyo")
UTC_ZONE = ZoneInfo("UTC")
NEW_YORK = ZoneInfo("America/New_York")
# Wednesday 2026-11-18 12:00 in Tokyo.
NOW = datetime(2026, 11, 18, 3, 0, tzinfo=UTC)
MONTH, WEEK = PeriodKind.MONTH, PeriodKind.WEEK


def jst(year: int, month: int, day: int) -> datetime:
    """Local midnight in Tokyo (UTC+9, no DST), in UTC."""
    return datetime(year, month, day, tzinfo=UTC) - timedelta(hours=9)


def period(kind: PeriodKind, first: date, last: date, start: datetime, end: datetime) -> Period:
    return Period(kind=kind, start=start, end=end, first_day=first, last_day=last)


NOVEMBER = period(MONTH, date(2026, 11, 1), date(2026, 11, 30), jst(2026, 11, 1), jst(2026, 12, 1))
OCTOBER = period(MONTH, date(2026, 10, 1), date(2026, 10, 31), jst(2026, 10, 1), jst(2026, 11, 1))
THIS_WEEK = period(WEEK, date(2026, 11, 16), date(2026, 11, 22), jst(2026, 11, 16), jst(2026, 11, 23))
LAST_WEEK = period(WEEK, date(2026, 11, 9), date(2026, 11, 15), jst(2026, 11, 9), jst(2026, 11, 16))
FEBRUARY_2024 = period(MONTH, date(2024, 2, 1), date(2024, 2, 29), jst(2024, 2, 1), jst(2024, 3, 1))
Q4 = period(PeriodKind.RANGE, date(2026, 10, 1), date(2026, 12, 31), jst(2026, 10, 1), jst(2027, 1, 1))
Q3 = period(PeriodKind.RANGE, date(2026, 7, 1), date(2026, 9, 30), jst(2026, 7, 1), jst(2026, 10, 1))


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("", NOVEMBER),
        ("   ", NOVEMBER),
        ("month", NOVEMBER),
        ("this", NOVEMBER),
        ("This-Month", NOVEMBER),
        ("今月", NOVEMBER),
        (" 今月 ", NOVEMBER),
        ("last", OCTOBER),
        ("LAST-MONTH", OCTOBER),
        ("last month", OCTOBER),
        ("先月", OCTOBER),
        ("2026-10", OCTOBER),
        ("2026/10", OCTOBER),
        ("2026-11", NOVEMBER),
        ("２０２６－１１", NOVEMBER),  # full-width digits and hyphen (NFKC)
        ("２０２６／１０", OCTOBER),
        ("2024-02", FEBRUARY_2024),  # leap year
        ("2024-2", FEBRUARY_2024),
        ("week", THIS_WEEK),
        ("WEEK", THIS_WEEK),
        ("今週", THIS_WEEK),
        ("last-week", LAST_WEEK),
        ("last_week", LAST_WEEK),
        ("先週", LAST_WEEK),
        ("2026年11月", NOVEMBER),
        ("2026年10月", OCTOBER),
        # quarters, as `/tossup scorecard` reads them: the seed reviews the shared KPIs by quarter too
        ("2026-Q4", Q4),
        ("quarter", Q4),
        ("今四半期", Q4),
        ("last-quarter", Q3),
        ("2026年第3四半期", Q3),
        ("Q3", Q3),
    ],
)
def test_arguments(argument: str, expected: Period) -> None:
    assert parse_period(argument, now=NOW, tz=TOKYO) == expected


@pytest.mark.parametrize(
    "argument",
    [
        "foo",
        "2026-13",
        "2026-00",
        "2026-1-1",
        "1999-12",
        "2101-01",
        "26-11",
        "2026",
        "2026-11x",
        "next",
        "last-year",
        "lastweek",
        "٢٠٢٦-١١",  # Arabic-Indic digits are not NFKC-folded to ASCII: refused
    ],
)
def test_rejected(argument: str) -> None:
    assert parse_period(argument, now=NOW, tz=TOKYO) is None


def test_year_bounds_are_inclusive() -> None:
    assert parse_period("2000-01", now=NOW, tz=TOKYO) is not None
    december_2100 = parse_period("2100-12", now=NOW, tz=UTC_ZONE)
    assert december_2100 is not None
    assert december_2100.end == datetime(2101, 1, 1, tzinfo=UTC)


def test_last_month_in_january_is_last_december() -> None:
    now = datetime(2027, 1, 10, 3, 0, tzinfo=UTC)
    assert parse_period("last", now=now, tz=TOKYO) == period(
        MONTH, date(2026, 12, 1), date(2026, 12, 31), jst(2026, 12, 1), jst(2027, 1, 1)
    )


def test_this_month_in_december_ends_on_new_year() -> None:
    now = datetime(2026, 12, 31, 14, 0, tzinfo=UTC)  # 23:00 JST on New Year's Eve
    assert parse_period("", now=now, tz=TOKYO) == period(
        MONTH, date(2026, 12, 1), date(2026, 12, 31), jst(2026, 12, 1), jst(2027, 1, 1)
    )


def test_a_week_across_the_new_year() -> None:
    now = datetime(2027, 1, 1, 3, 0, tzinfo=UTC)  # Friday
    assert parse_period("week", now=now, tz=TOKYO) == period(
        WEEK, date(2026, 12, 28), date(2027, 1, 3), jst(2026, 12, 28), jst(2027, 1, 4)
    )
    assert parse_period("last-week", now=now, tz=TOKYO) == period(
        WEEK, date(2026, 12, 21), date(2026, 12, 27), jst(2026, 12, 21), jst(2026, 12, 28)
    )


def test_monday_is_in_its_own_week_and_sunday_night_too() -> None:
    monday_early = datetime(2026, 11, 15, 15, 0, tzinfo=UTC)  # Mon 2026-11-16 00:00 JST
    sunday_late = datetime(2026, 11, 22, 14, 59, tzinfo=UTC)  # Sun 23:59 JST
    assert parse_period("week", now=monday_early, tz=TOKYO) == THIS_WEEK
    assert parse_period("week", now=sunday_late, tz=TOKYO) == THIS_WEEK


def test_the_team_time_zone_decides_the_day() -> None:
    # 2026-11-30 20:00 UTC is already December 1 (05:00) in Tokyo, still November 30 in UTC.
    now = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
    tokyo = parse_period("", now=now, tz=TOKYO)
    utc = parse_period("", now=now, tz=UTC_ZONE)
    assert tokyo is not None and utc is not None
    assert (tokyo.first_day, tokyo.start) == (date(2026, 12, 1), datetime(2026, 11, 30, 15, 0, tzinfo=UTC))
    assert (utc.first_day, utc.start, utc.end) == (
        date(2026, 11, 1),
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    )
    # The same month named explicitly: Tokyo's midnight is 15:00 UTC the day before.
    named = parse_period("2026-11", now=now, tz=TOKYO)
    assert named == NOVEMBER


def test_bounds_are_aware_utc() -> None:
    result = parse_period("", now=NOW, tz=TOKYO)
    assert result is not None
    assert result.start.tzinfo is UTC and result.end.tzinfo is UTC


def test_a_naive_now_is_read_as_utc() -> None:
    assert parse_period("", now=NOW.replace(tzinfo=None), tz=TOKYO) == NOVEMBER


def test_dst_month_bounds_use_each_midnight_offset() -> None:
    # New York: EDT (UTC−4) until 2026-11-01 02:00, then EST (UTC−5); EDT again from 2026-03-08.
    now = datetime(2026, 11, 18, 17, 0, tzinfo=UTC)
    november = parse_period("", now=now, tz=NEW_YORK)
    assert november == period(
        MONTH,
        date(2026, 11, 1),
        date(2026, 11, 30),
        datetime(2026, 11, 1, 4, 0, tzinfo=UTC),  # midnight EDT, DST ends later that night
        datetime(2026, 12, 1, 5, 0, tzinfo=UTC),  # midnight EST
    )
    march = parse_period("2026-03", now=now, tz=NEW_YORK)
    assert march is not None
    assert march.start == datetime(2026, 3, 1, 5, 0, tzinfo=UTC)  # EST
    assert march.end == datetime(2026, 4, 1, 4, 0, tzinfo=UTC)  # EDT
    assert march.end - march.start == timedelta(days=31) - timedelta(hours=1)


def test_dst_week_is_one_hour_short_or_long() -> None:
    # The week of 2026-03-08 (DST starts Sunday 02:00) is 167 hours; of 2026-11-01 (DST ends) 169.
    spring = parse_period("week", now=datetime(2026, 3, 4, 17, 0, tzinfo=UTC), tz=NEW_YORK)
    assert spring is not None and spring.first_day == date(2026, 3, 2)
    assert spring.start == datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
    assert spring.end == datetime(2026, 3, 9, 4, 0, tzinfo=UTC)
    assert spring.end - spring.start == timedelta(hours=167)
    autumn = parse_period("last-week", now=datetime(2026, 11, 4, 17, 0, tzinfo=UTC), tz=NEW_YORK)
    assert autumn is not None and (autumn.first_day, autumn.last_day) == (
        date(2026, 10, 26),
        date(2026, 11, 1),
    )
    assert autumn.end - autumn.start == timedelta(hours=169)


Q4 = period(PeriodKind.RANGE, date(2026, 10, 1), date(2026, 12, 31), jst(2026, 10, 1), jst(2027, 1, 1))


@pytest.mark.parametrize(
    "argument",
    [
        "2026-10-01..2026-12-31",
        "2026/10/1 .. 2026/12/31",
        "2026-10-01~2026-12-31",
        "２０２６－１０－０１〜２０２６－１２－３１",
    ],
)
def test_a_range_of_days_includes_both_ends(argument: str) -> None:
    assert parse_period(argument, now=NOW, tz=TOKYO) == Q4


def test_a_one_day_range() -> None:
    day = parse_period("2026-11-18..2026-11-18", now=NOW, tz=TOKYO)
    assert day is not None and (day.start, day.end) == (jst(2026, 11, 18), jst(2026, 11, 19))


@pytest.mark.parametrize(
    "argument",
    ["2026-12-31..2026-10-01", "2026-02-30..2026-03-01", "2020-01-01..2026-01-01", "1999-12-31..2000-01-02"],
)
def test_a_backwards_impossible_or_huge_range_is_refused(argument: str) -> None:
    assert parse_period(argument, now=NOW, tz=TOKYO) is None
