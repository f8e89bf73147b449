"""Who gets a new toss-up: app.yaml's routing rules, with the round-robin turn kept in the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import AppConfig
from bot.domain.memo import HandoffMemo
from bot.domain.routing import RouteDecision, absent_from_config, decide, match_rule, needs_turn
from store.routing import absent_users, take_turn


async def assign(
    *, sessions: async_sessionmaker[AsyncSession], config: AppConfig, memo: HandoffMemo, now: datetime
) -> RouteDecision:
    """The channel and FS rep for `memo`: the rep picked in the memo wins; else the first matching rule's
    pool in turn, skipping reps away (app.yaml or `/tossup away`); else the default FS channel."""
    routing = config.routing
    rule = match_rule(memo, routing.rules)
    assignee = None
    if rule is not None and needs_turn(memo, rule):
        today = now.astimezone(config.tz).date()
        async with sessions() as session:
            away = absent_from_config(routing, today) | await absent_users(session=session, today=today)
            assignee = await take_turn(
                session=session, rule=rule.name, pool=rule.pool, unavailable=away, now=now
            )
    return decide(memo, rule, default_channel=config.channels.fs, assignee=assignee)
