"""Moments as the domain compares them: aware, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def as_utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive one (as SQLite hands stored times back) is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def local_days_before(moment: datetime, days: int, tz: ZoneInfo) -> datetime:
    """The same local time `days` calendar days before `moment` in `tz`, in UTC: across a DST change
    that is an hour more or less than `days` × 24 h (a week of Fridays at 09:00 stays at 09:00)."""
    local = as_utc(moment).astimezone(tz)
    earlier = (local.replace(tzinfo=None) - timedelta(days=days)).replace(tzinfo=tz)
    return earlier.astimezone(UTC)
