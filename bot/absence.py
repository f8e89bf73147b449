"""`/tossup away`: an FS rep marks themselves away, so round-robin routing and SLA reminders skip them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import AppConfig
from store.routing import absent_users, clear_absence, list_absences, set_absence

OFF_WORDS = frozenset({"off", "back", "解除", "戻り"})
AWAY_MAX_DAYS = 366

AwayOutcome = Literal["set", "cleared", "not_away", "status", "bad_date"]


async def away_command(
    *, sessions: async_sessionmaker[AsyncSession], config: AppConfig, user: str, argument: str, now: datetime
) -> tuple[AwayOutcome, date | None]:
    """`away` (check), `away off` (back) or `away YYYY-MM-DD` (the last day away, within a year)."""
    argument = argument.strip()
    today = now.astimezone(config.tz).date()
    async with sessions() as session:
        if not argument:
            until = dict(await list_absences(session=session, today=today)).get(user)
            return ("status" if until else "not_away"), until
        if argument.lower() in OFF_WORDS:
            was_away = user in await absent_users(session=session, today=today)
            await clear_absence(session=session, user_id=user)
            return ("cleared" if was_away else "not_away"), None
        try:
            until = date.fromisoformat(argument)
        except ValueError:
            return "bad_date", None
        if not today <= until <= today + timedelta(days=AWAY_MAX_DAYS):
            return "bad_date", None
        await set_absence(session=session, user_id=user, until=until, set_by=user, now=now)
    return "set", until
