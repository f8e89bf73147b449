"""Who gets a new toss-up: app.yaml's routing rules, with the round-robin turn kept in the database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import AppConfig
from bot.domain.memo import HandoffMemo
from bot.domain.routing import RouteDecision, absent_from_config, decide, match_rule, needs_turn
from store.db import for_reading
from store.handoffs import TurnRequest
from store.routing import absent_users


async def routing_plan(
    *,
    sessions: async_sessionmaker[AsyncSession],
    config: AppConfig,
    memo: HandoffMemo,
    is_user_id: str,
    now: datetime,
) -> tuple[TurnRequest | None, Callable[[str | None], RouteDecision]]:
    """How `memo` is routed, for `submit_handoff` to apply in the toss-up's own transaction.

    The rep picked in the memo wins; else the first matching rule's pool takes turns, skipping reps away
    (app.yaml or `/tossup away`) and the one tossing it up (who may not decide their own toss-up, as the
    memo form refuses them as its FS rep); else the default FS channel. The turn itself is taken when the
    toss-up is stored, so a refused or doubled submission never uses one up.
    """
    routing = config.routing
    rule = match_rule(memo, routing.rules)
    turn = None
    if rule is not None and needs_turn(memo, rule):
        today = now.astimezone(config.tz).date()
        async with for_reading(sessions)() as session:
            away = absent_from_config(routing, today) | await absent_users(session=session, today=today)
        turn = TurnRequest(rule=rule.name, pool=tuple(rule.pool), unavailable=frozenset({*away, is_user_id}))

    def route(assignee: str | None) -> RouteDecision:
        return decide(memo, rule, default_channel=config.channels.fs, assignee=assignee)

    return turn, route
