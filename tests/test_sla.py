"""Acceptance SLA time arithmetic (bot/domain/sla.py): hand-worked cases and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.domain.sla import (
    BusinessHours,
    SlaConfig,
    SlaStep,
    SlaStepKind,
    add_business_time,
    deliverable_at,
    due_steps,
    sla_deadline,
    sla_plan,
    time_to_decide,
)

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
WORKDAYS = BusinessHours()  # Mon–Fri 09:00–18:00
# 2026-11-20 is a Friday; 2026-11-23 (Mon) is 勤労感謝の日.
HOLIDAY_MONDAY = BusinessHours(holidays=[date(2026, 11, 23)])
SUN_TO_THU = BusinessHours(start=time(8, 0), end=time(17, 0), days=[6, 0, 1, 2, 3])


def tokyo(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TOKYO)


def new_york(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NEW_YORK)


# ---------------------------------------------------------------- add_business_time


ADD_CASES = [
    # (why, start, hours, tz, business hours, expected)
    ("friday evening rolls over the weekend", tokyo(20, 17), 2, TOKYO, WORKDAYS, tokyo(23, 10)),
    ("saturday counts from monday morning", tokyo(21, 12), 1, TOKYO, WORKDAYS, tokyo(23, 10)),
    ("before opening counts from opening", tokyo(23, 7), 1, TOKYO, WORKDAYS, tokyo(23, 10)),
    ("after closing counts from next opening", tokyo(23, 20), 1, TOKYO, WORKDAYS, tokyo(24, 10)),
    ("ending exactly at closing stays that day", tokyo(23, 16), 2, TOKYO, WORKDAYS, tokyo(23, 18)),
    ("starting exactly at closing", tokyo(23, 18), 1, TOKYO, WORKDAYS, tokyo(24, 10)),
    ("starting exactly at opening", tokyo(23, 9), 9, TOKYO, WORKDAYS, tokyo(23, 18)),
    ("one working day from mid-morning", tokyo(24, 10), 9, TOKYO, WORKDAYS, tokyo(25, 10)),
    ("24 business hours span three days", tokyo(24, 9), 24, TOKYO, WORKDAYS, tokyo(26, 15)),
    ("a holiday monday is skipped", tokyo(20, 17), 2, TOKYO, HOLIDAY_MONDAY, tokyo(24, 10)),
    ("sunday-to-thursday week: friday off", tokyo(19, 16), 2, TOKYO, SUN_TO_THU, tokyo(22, 9)),
    ("zero hours on a weekend stays put", tokyo(21, 12), 0, TOKYO, WORKDAYS, tokyo(21, 12)),
    ("minutes count", tokyo(23, 17, 45), 0.5, TOKYO, WORKDAYS, tokyo(24, 9, 15)),
    ("calendar hours ignore weekends", tokyo(20, 17), 24, TOKYO, None, tokyo(21, 17)),
    ("calendar hours, zero", tokyo(20, 17), 0, TOKYO, None, tokyo(20, 17)),
    # US DST starts Sun 2026-03-08 02:00 (EST → EDT): 24 elapsed hours end at 13:00 wall time.
    ("calendar hours across spring forward", new_york(3, 7, 12), 24, NEW_YORK, None, new_york(3, 8, 13)),
    ("calendar hours across fall back", new_york(10, 31, 12), 24, NEW_YORK, None, new_york(11, 1, 11)),
    # Business windows are wall-clock: Monday after the change still opens at 09:00 local (13:00 UTC).
    ("business hours across spring forward", new_york(3, 6, 17), 2, NEW_YORK, WORKDAYS, new_york(3, 9, 10)),
    ("business hours across fall back", new_york(10, 30, 17), 2, NEW_YORK, WORKDAYS, new_york(11, 2, 10)),
]


@pytest.mark.parametrize(
    ("start", "hours", "tz", "hours_config", "expected"),
    [case[1:] for case in ADD_CASES],
    ids=[case[0] for case in ADD_CASES],
)
def test_add_business_time(
    start: datetime, hours: float, tz: ZoneInfo, hours_config: BusinessHours | None, expected: datetime
) -> None:
    result = add_business_time(start, hours, tz=tz, business_hours=hours_config)
    assert result == expected
    assert result.tzinfo is UTC


def test_spring_forward_monday_is_an_hour_earlier_in_utc() -> None:
    result = add_business_time(new_york(3, 6, 17), 2, tz=NEW_YORK, business_hours=WORKDAYS)
    assert result == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)  # EDT: UTC−4


def test_naive_start_is_utc() -> None:
    naive = datetime(2026, 11, 20, 8, 0)  # Fri 17:00 in Tokyo
    assert add_business_time(naive, 2, tz=TOKYO, business_hours=WORKDAYS) == tokyo(23, 10)


@pytest.mark.parametrize("hours", [-1.0, float("nan"), float("inf")])
def test_bad_hours_are_refused(hours: float) -> None:
    with pytest.raises(ValueError):
        add_business_time(tokyo(23, 10), hours, tz=TOKYO, business_hours=WORKDAYS)


# ---------------------------------------------------------------- deliverable_at, time_to_decide


DELIVERABLE_CASES = [
    ("inside hours: now", tokyo(23, 12), WORKDAYS, tokyo(23, 12)),
    ("saturday: monday opening", tokyo(21, 12), WORKDAYS, tokyo(23, 9)),
    ("exactly at opening", tokyo(23, 9), WORKDAYS, tokyo(23, 9)),
    ("exactly at closing still counts", tokyo(23, 18), WORKDAYS, tokyo(23, 18)),
    ("just after closing: next morning", tokyo(23, 18, 1), WORKDAYS, tokyo(24, 9)),
    ("holiday: the day after", tokyo(23, 8), HOLIDAY_MONDAY, tokyo(24, 9)),
    ("calendar mode: now", tokyo(21, 3), None, tokyo(21, 3)),
]


@pytest.mark.parametrize(
    ("moment", "hours_config", "expected"),
    [case[1:] for case in DELIVERABLE_CASES],
    ids=[case[0] for case in DELIVERABLE_CASES],
)
def test_deliverable_at(moment: datetime, hours_config: BusinessHours | None, expected: datetime) -> None:
    assert deliverable_at(moment, tz=TOKYO, business_hours=hours_config) == expected


DECIDE_CASES = [
    ("over a weekend", tokyo(20, 17), tokyo(23, 10), WORKDAYS, timedelta(hours=2)),
    ("all outside hours", tokyo(21, 9), tokyo(22, 20), WORKDAYS, timedelta(0)),
    ("over a holiday", tokyo(20, 17), tokyo(24, 10), HOLIDAY_MONDAY, timedelta(hours=2)),
    ("same day", tokyo(23, 9, 30), tokyo(23, 11), WORKDAYS, timedelta(hours=1, minutes=30)),
    ("calendar", tokyo(20, 17), tokyo(23, 10), None, timedelta(days=2, hours=17)),
    ("decided before created", tokyo(23, 10), tokyo(23, 9), WORKDAYS, timedelta(0)),
    ("decided before created, calendar", tokyo(23, 10), tokyo(23, 9), None, timedelta(0)),
]


@pytest.mark.parametrize(
    ("created", "decided", "hours_config", "expected"),
    [case[1:] for case in DECIDE_CASES],
    ids=[case[0] for case in DECIDE_CASES],
)
def test_time_to_decide(
    created: datetime, decided: datetime, hours_config: BusinessHours | None, expected: timedelta
) -> None:
    assert time_to_decide(created, decided, tz=TOKYO, business_hours=hours_config) == expected


# ---------------------------------------------------------------- the plan


def step(kind: SlaStepKind, number: int, due_at: datetime) -> SlaStep:
    return SlaStep(kind, number, due_at.astimezone(UTC))


R, E = SlaStepKind.REMINDER, SlaStepKind.ESCALATION

PLAN_CASES = [
    (
        "defaults: reminder at 24 h, escalation 8 h later",
        SlaConfig(),
        [step(R, 1, tokyo(21, 17)), step(E, 1, tokyo(22, 1))],
    ),
    (
        "business hours: one working day, escalate next day",
        SlaConfig(accept_within_hours=9, business_hours=WORKDAYS),
        [step(R, 1, tokyo(23, 17)), step(E, 1, tokyo(24, 16))],
    ),
    (
        "repeats, and a tie with the escalation puts the reminder first",
        SlaConfig(accept_within_hours=2, reminders=3, repeat_every_hours=2, escalate_after_hours=4),
        [
            step(R, 1, tokyo(20, 19)),
            step(R, 2, tokyo(20, 21)),
            step(R, 3, tokyo(20, 23)),
            step(E, 1, tokyo(20, 23)),
        ],
    ),
    (
        "no reminders: escalation only",
        SlaConfig(reminders=0, escalate_after_hours=0),
        [step(E, 1, tokyo(21, 17))],
    ),
    (
        "no escalation targets: reminders only",
        SlaConfig(escalate_to_channel=False, escalate_to_managers=False),
        [step(R, 1, tokyo(21, 17))],
    ),
    ("disabled", SlaConfig(enabled=False), []),
]


@pytest.mark.parametrize(
    ("config", "expected"), [case[1:] for case in PLAN_CASES], ids=[case[0] for case in PLAN_CASES]
)
def test_sla_plan(config: SlaConfig, expected: list[SlaStep]) -> None:
    assert sla_plan(tokyo(20, 17), config, tz=TOKYO) == expected


def test_step_keys_are_stable_dedupe_keys() -> None:
    config = SlaConfig(reminders=2, repeat_every_hours=1)
    assert [s.key for s in sla_plan(tokyo(20, 17), config, tz=TOKYO)] == [
        "reminder-1",
        "reminder-2",
        "escalation-1",
    ]


def test_deadline() -> None:
    config = SlaConfig(accept_within_hours=2, business_hours=WORKDAYS)
    assert sla_deadline(tokyo(20, 17), config, tz=TOKYO) == tokyo(23, 10)


def test_due_steps_over_time() -> None:
    created, config = tokyo(20, 17), SlaConfig()
    assert due_steps(created, config, tz=TOKYO, now=tokyo(21, 16, 59)) == []
    assert [s.key for s in due_steps(created, config, tz=TOKYO, now=tokyo(21, 17))] == ["reminder-1"]
    assert [s.key for s in due_steps(created, config, tz=TOKYO, now=tokyo(25, 0))] == [
        "reminder-1",
        "escalation-1",
    ]


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    "raw",
    [
        {"start": "18:00", "end": "09:00"},
        {"start": "09:00", "end": "09:00"},
        {"days": []},
        {"days": [7]},
        {"days": [-1]},
        {"weekends": True},
    ],
)
def test_bad_business_hours(raw: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        BusinessHours.model_validate(raw)


def test_business_hours_from_yaml_like_values() -> None:
    parsed = BusinessHours.model_validate(
        {"start": "10:00", "end": "19:30", "days": [4, 0, 0], "holidays": ["2026-12-31"]}
    )
    assert parsed.start == time(10, 0) and parsed.end == time(19, 30)
    assert parsed.days == [0, 4]
    assert parsed.holidays == [date(2026, 12, 31)]


@pytest.mark.parametrize(
    "raw",
    [
        {"accept_within_hours": 0},
        {"accept_within_hours": -3},
        {"accept_within_hours": "nan"},
        {"reminders": 6},
        {"reminders": -1},
        {"repeat_every_hours": 0},
        {"escalate_after_hours": -1},
        {"reminders": 3, "repeat_every_hours": 4, "escalate_after_hours": 4},  # reminder 3 after escalation
        {"escalate_to": "channel"},
    ],
)
def test_bad_sla_config(raw: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SlaConfig.model_validate(raw)


def test_many_reminders_allowed_without_escalation() -> None:
    config = SlaConfig(reminders=5, escalate_to_channel=False, escalate_to_managers=False)
    assert [s.number for s in sla_plan(tokyo(20, 17), config, tz=TOKYO)] == [1, 2, 3, 4, 5]


# ---------------------------------------------------------------- properties

ZONES = [TOKYO, NEW_YORK, ZoneInfo("Europe/London"), ZoneInfo("Australia/Sydney"), ZoneInfo("Asia/Kolkata")]

moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
zones = st.sampled_from(ZONES)
hours_values = st.floats(min_value=0, max_value=100, allow_nan=False, allow_infinity=False)


@st.composite
def business_hours(draw: st.DrawFn) -> BusinessHours:
    start_minute = draw(st.integers(min_value=0, max_value=22 * 60))
    end_minute = draw(st.integers(min_value=start_minute + 60, max_value=24 * 60 - 1))
    days = draw(st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=7, unique=True))
    holidays = draw(st.lists(st.dates(min_value=date(2025, 1, 1), max_value=date(2029, 6, 30)), max_size=10))
    return BusinessHours(
        start=time(*divmod(start_minute, 60)), end=time(*divmod(end_minute, 60)), days=days, holidays=holidays
    )


maybe_hours = st.one_of(st.none(), business_hours())


def inside(moment: datetime, tz: ZoneInfo, hours: BusinessHours) -> bool:
    day = moment.astimezone(tz).date()
    begin = datetime.combine(day, hours.start, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day, hours.end, tzinfo=tz).astimezone(UTC)
    return hours.is_working_day(day) and begin <= moment <= end


@settings(max_examples=200, deadline=None)
@given(moments, st.tuples(hours_values, hours_values), zones, maybe_hours)
def test_monotone_in_hours(
    start: datetime, pair: tuple[float, float], tz: ZoneInfo, hours: BusinessHours | None
) -> None:
    low, high = sorted(pair)
    assert add_business_time(start, low, tz=tz, business_hours=hours) <= add_business_time(
        start, high, tz=tz, business_hours=hours
    )


@settings(max_examples=200, deadline=None)
@given(st.tuples(moments, moments), hours_values, zones, maybe_hours)
def test_monotone_in_start(
    pair: tuple[datetime, datetime], amount: float, tz: ZoneInfo, hours: BusinessHours | None
) -> None:
    early, late = sorted(pair)
    assert add_business_time(early, amount, tz=tz, business_hours=hours) <= add_business_time(
        late, amount, tz=tz, business_hours=hours
    )


@settings(max_examples=200, deadline=None)
@given(moments, hours_values, zones, business_hours())
def test_result_inside_business_hours(
    start: datetime, amount: float, tz: ZoneInfo, hours: BusinessHours
) -> None:
    result = add_business_time(start, amount, tz=tz, business_hours=hours)
    assert result >= start
    if amount == 0:
        assert result == start
    else:
        assert inside(result, tz, hours)


@settings(max_examples=200, deadline=None)
@given(moments, hours_values, zones, maybe_hours)
def test_time_to_decide_inverts_add_business_time(
    start: datetime, amount: float, tz: ZoneInfo, hours: BusinessHours | None
) -> None:
    end = add_business_time(start, amount, tz=tz, business_hours=hours)
    waited = time_to_decide(start, end, tz=tz, business_hours=hours)
    assert abs(waited - timedelta(hours=amount)) <= timedelta(microseconds=1)


@settings(max_examples=200, deadline=None)
@given(moments, zones, business_hours())
def test_deliverable_at_is_the_first_inside_moment(
    start: datetime, tz: ZoneInfo, hours: BusinessHours
) -> None:
    first = deliverable_at(start, tz=tz, business_hours=hours)
    assert first >= start
    assert inside(first, tz, hours)
    assert deliverable_at(first, tz=tz, business_hours=hours) == first
    assert (first == start) == inside(start, tz, hours)
    # nothing inside business hours lies strictly between: no business time has passed
    assert time_to_decide(start, first, tz=tz, business_hours=hours) == timedelta(0)


@st.composite
def sla_configs(draw: st.DrawFn) -> SlaConfig:
    reminders = draw(st.integers(min_value=0, max_value=5))
    repeat = draw(st.floats(min_value=0.25, max_value=12))
    extra = draw(st.floats(min_value=0, max_value=24))
    return SlaConfig(
        enabled=draw(st.booleans()),
        accept_within_hours=draw(st.floats(min_value=0.1, max_value=72)),
        reminders=reminders,
        repeat_every_hours=repeat,
        escalate_after_hours=max(reminders - 1, 0) * repeat + extra,
        business_hours=draw(maybe_hours),
        escalate_to_channel=draw(st.booleans()),
        escalate_to_managers=draw(st.booleans()),
    )


@settings(max_examples=200, deadline=None)
@given(moments, sla_configs(), zones, moments)
def test_plan_sorted_and_due_steps_a_prefix(
    created: datetime, config: SlaConfig, tz: ZoneInfo, now: datetime
) -> None:
    plan = sla_plan(created, config, tz=tz)
    assert [s.due_at for s in plan] == sorted(s.due_at for s in plan)
    assert len({s.key for s in plan}) == len(plan)
    if plan:
        assert plan[0].due_at >= sla_deadline(created, config, tz=tz) >= created
    due = due_steps(created, config, tz=tz, now=now)
    assert due == plan[: len(due)]
    assert all(s.due_at <= now for s in due)
    assert all(s.due_at > now for s in plan[len(due) :])
    # reminders come first, numbered 1.., and escalation last
    kinds = [s.kind for s in plan]
    assert kinds == sorted(kinds, key=[SlaStepKind.REMINDER, SlaStepKind.ESCALATION].index)
    reminders = [s.number for s in plan if s.kind is SlaStepKind.REMINDER]
    assert reminders == list(range(1, len(reminders) + 1))
