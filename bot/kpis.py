"""`/tossup kpi [period]`: the shared KPIs of a period, for the team and the asker (managers: per rep).

Slack-free: loads the period's toss-ups, computes with bot.domain.kpi, and builds the message.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import AppConfig
from bot.domain.kpi import (
    HandoffFacts,
    Kpis,
    Period,
    compute_kpis,
    current_month,
    parse_period,
)
from bot.i18n import Lang
from bot.kpi_worker import period_kpis
from modals.kpi import build_kpi_report, build_kpi_usage
from modals.messages import Message
from store.db import for_reading
from store.kpi import load_kpi_facts


async def _facts(
    sessions: async_sessionmaker[AsyncSession], config: AppConfig, period: Period
) -> tuple[list[HandoffFacts], dict[str, Any]]:
    """The period's toss-ups, and the keyword arguments that compute KPIs over them in the team's time."""
    async with for_reading(sessions)() as session:
        facts = await load_kpi_facts(session=session, start=period.start, end=period.end)
    return facts, _window(config, period)


def _window(config: AppConfig, period: Period) -> dict[str, Any]:
    """`compute_kpis`'s keyword arguments for `period` in the team's time."""
    return {
        "start": period.start,
        "end": period.end,
        "tz": config.tz,
        "business_hours": config.sla.business_hours,
    }


async def team_kpis_this_month(
    sessions: async_sessionmaker[AsyncSession], *, config: AppConfig, now: datetime
) -> tuple[Period, Kpis]:
    """The team's KPIs of the current month (for the managers' App Home); the arithmetic over the month's
    toss-ups runs in a worker thread, so the event loop (and every ack) is never behind it."""
    period = current_month(now=now, tz=config.tz)
    facts, window = await _facts(sessions, config, period)
    return period, await asyncio.to_thread(compute_kpis, facts, **window)


async def kpi_report(
    sessions: async_sessionmaker[AsyncSession],
    *,
    config: AppConfig,
    argument: str,
    user_id: str,
    now: datetime,
    lang: Lang,
) -> Message:
    """The report for the period `argument` names (this month when empty), or how to name one."""
    period = parse_period(argument, now=now, tz=config.tz)
    if period is None:
        return build_kpi_usage(lang=lang)
    # A year of toss-ups is seconds of arithmetic: never on the event loop, so nobody's ack waits behind it
    # (a large period in the KPI process: bot/kpi_worker.py).
    team, mine, by_rep = await period_kpis(
        sessions,
        period=period,
        window=_window(config, period),
        user_id=user_id,
        manager=user_id in config.roles.managers,
    )
    return build_kpi_report(
        period=period,
        team=team,
        lang=lang,
        tz=config.tz,
        user_id=user_id,
        mine=mine,
        by_rep=by_rep,
        currency=config.currency,
        try_last=not argument.strip(),
    )
