"""5-field cron expressions (minute hour day month weekday) as people write them, on APScheduler.

APScheduler's own `CronTrigger.from_crontab` numbers weekdays from Monday = 0, so the `5` a team
writes for Friday would fire on Saturday; here weekday numbers follow cron (0 or 7 = Sunday, 1 = Monday).
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NUMBER = re.compile(r"(?<![0-9])([0-7])(?![0-9])")


def _weekday_names(field: str) -> str:
    """Cron's weekday numbers as names ("1-5" → "mon-fri")."""
    return _NUMBER.sub(lambda match: _WEEKDAYS[int(match.group(1))], field)


def parse_cron(expression: str, *, tz: ZoneInfo) -> CronTrigger:
    """A trigger in `tz` (DST-safe: APScheduler computes wall-clock times in the zone).

    Raises ValueError with a short reason when the expression is not 5 valid fields.
    """
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"{expression!r} is not 5 fields (minute hour day month weekday)")
    minute, hour, day, month, weekday = fields
    if "/" in weekday:  # APScheduler would step from Monday, cron from Sunday: say it plainly instead
        raise ValueError(f"{expression!r}: write weekdays as names or lists (MON,WED,FRI), not steps")
    try:
        return CronTrigger(
            minute=minute, hour=hour, day=day, month=month, day_of_week=_weekday_names(weekday), timezone=tz
        )
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{expression!r}: {exc}") from exc


def first_fire_between(trigger: CronTrigger, start: datetime, end: datetime) -> datetime | None:
    """The trigger's first fire time in [start, end], or None."""
    fire = trigger.get_next_fire_time(None, start)
    return fire if fire is not None and fire <= end else None
