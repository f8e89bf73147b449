"""Rep scorecards (評価制度への反映) sent by DM: each rep their own, each manager everyone's, exactly once.

On the monthly schedule (the same cron as the monthly review, for the same month) every rep with a
toss-up in the month gets their scorecard by DM and every manager the overview. Each (card, person,
period) is claimed in the database with the DM that carries it, all in one transaction (`store.digests`),
so a batch cut off half-way — Slack down, the process killed — resumes from the queue, and a second run
of the batch (a replica, a restart, `tossup scorecards --post`) sends nothing twice. Scorecards are never
posted in a channel.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import AppConfig
from bot.digests import DigestKind, due_period
from bot.domain.kpi import Period
from bot.domain.scorecard import (
    Scorecard,
    ScorecardRules,
    build_scorecards,
    parse_scorecard_period,
)
from bot.domain.scorecard import build_scorecard as build_card
from bot.i18n import Lang
from modals.messages import Message
from modals.scorecard import (
    build_scorecard,
    build_scorecard_not_yours,
    build_scorecard_overview,
    build_scorecard_usage,
)
from store.db import for_reading
from store.digests import NewClaim, claim_digests
from store.outbox import NewOutbox
from store.scorecard import load_scorecard_facts

log = logging.getLogger(__name__)

SCORECARD = "scorecard"  # one rep's card, to that rep
SCORECARD_OVERVIEW = "scorecard_overview"  # every rep's, to one manager
SCORECARD_KINDS = frozenset({SCORECARD, SCORECARD_OVERVIEW})
SCORECARD_DM = "scorecard_dm"  # the outbox kind of the DM that carries either


@dataclass(frozen=True)
class ScorecardBatch:
    sent: int  # cards and overviews claimed now (queued, and sent unless Slack refused for now)
    already: int  # claimed before: nothing sent again


def scorecard_rules(config: AppConfig) -> ScorecardRules:
    return ScorecardRules(
        tz=config.tz,
        business_hours=config.sla.business_hours,
        weights=config.score.weights,
        feedback=config.feedback,
        scorecards=config.scorecards,
        currency=config.currency,
    )


async def compute_scorecards(
    sessions: async_sessionmaker[AsyncSession], config: AppConfig, *, period: Period, now: datetime
) -> dict[str, Scorecard]:
    """Every rep's scorecard of `period` (computed off the event loop: it walks every toss-up per rep)."""
    async with for_reading(sessions)() as session:
        facts = await load_scorecard_facts(session=session, period=period, now=now)
    return await asyncio.to_thread(build_scorecards, facts, scorecard_rules(config))


async def compute_scorecard(
    sessions: async_sessionmaker[AsyncSession],
    config: AppConfig,
    *,
    period: Period,
    now: datetime,
    user_id: str,
) -> Scorecard:
    """One rep's scorecard (`/tossup scorecard`), an empty one when they had no toss-up."""
    async with for_reading(sessions)() as session:
        facts = await load_scorecard_facts(session=session, period=period, now=now)
    return await asyncio.to_thread(build_card, facts, scorecard_rules(config), user_id)


def _dm(digest_id: int) -> list[NewOutbox]:
    return [
        NewOutbox(
            kind=SCORECARD_DM, dedupe_key=f"{SCORECARD_DM}:{digest_id}", payload={"digest_id": digest_id}
        )
    ]


async def send_scorecards(
    *,
    sessions: async_sessionmaker[AsyncSession],
    config: AppConfig,
    send_now: Callable[[], Awaitable[object]] | None,
    period: Period,
    now: datetime,
    claimed_by: str,
) -> ScorecardBatch:
    """Claim and send the period's scorecards: one DM per rep with a toss-up, one overview per manager."""
    cards = await compute_scorecards(sessions, config, period=period, now=now)
    lang = config.locale.value
    claims = [
        NewClaim(SCORECARD, user, period.first_day, period.last_day, lang, card.model_dump(mode="json"), _dm)
        for user, card in cards.items()
        if not card.is_empty
    ]
    if cards:
        overview = {"cards": [card.model_dump(mode="json") for card in cards.values()]}
        claims += [
            NewClaim(SCORECARD_OVERVIEW, manager, period.first_day, period.last_day, lang, overview, _dm)
            for manager in config.roles.managers
        ]
    async with sessions() as session:
        claimed = await claim_digests(session=session, claims=claims, claimed_by=claimed_by, now=now)
    new = sum(1 for digest_id in claimed if digest_id is not None)
    log.info("scorecards for %s: %s claimed now, %s before", period.first_day, new, len(claimed) - new)
    if new and send_now is not None:
        await send_now()
    return ScorecardBatch(sent=new, already=len(claimed) - new)


async def send_due_scorecards(
    *,
    sessions: async_sessionmaker[AsyncSession],
    config: AppConfig,
    send_now: Callable[[], Awaitable[object]] | None,
    now: datetime,
) -> ScorecardBatch | None:
    """The monthly job's second half: the scorecards of the month the review covers, once it is due."""
    monthly = config.digests.monthly
    period = due_period(DigestKind.MONTHLY, monthly, now=now, config=config) if monthly else None
    if period is None:
        return None
    return await send_scorecards(
        sessions=sessions, config=config, send_now=send_now, period=period, now=now, claimed_by="schedule"
    )


_REP = re.compile(r"<@(?P<mention>[UW][A-Z0-9]{2,})(?:\|[^>]*)?>|(?P<id>[UW][A-Z0-9]{2,})")
_TEAM = frozenset({"team", "all", "overview", "チーム", "全員", "一覧"})  # the managers' overview


async def scorecard_report(
    sessions: async_sessionmaker[AsyncSession],
    *,
    config: AppConfig,
    argument: str,
    user_id: str,
    now: datetime,
    lang: Lang,
) -> Message:
    """`/tossup scorecard [@rep | team] [period]`: the asker's own scorecard (this month by default); a
    manager may name any rep, or ask for every rep's (`team`: the overview the monthly schedule sends
    managers; also what a manager with no toss-up of their own gets). Only ever answered privately."""
    words = argument.split()
    target = user_id
    manager = user_id in config.roles.managers
    overview = bool(words) and words[0].lower() in _TEAM
    if overview:
        words = words[1:]
        if not manager:
            return build_scorecard_not_yours(lang=lang)
    elif words and (named := _REP.fullmatch(words[0])) is not None:
        target = named.group("mention") or named.group("id")
        words = words[1:]
        if target != user_id and not manager:
            return build_scorecard_not_yours(lang=lang)
    period = parse_scorecard_period(" ".join(words), now=now, tz=config.tz)
    if period is None:
        return build_scorecard_usage(lang=lang)
    this_month = not words  # the default: on the 1st it is empty, and last month's is what people want
    if not overview:
        card = await compute_scorecard(sessions, config, period=period, now=now, user_id=target)
        if not (card.is_empty and manager and target == user_id):
            # (the hint's command shows the asker's own card: not offered for a rep a manager named)
            return build_scorecard(card, lang=lang, tz=config.tz, try_last=this_month and target == user_id)
    cards = await compute_scorecards(sessions, config, period=period, now=now)
    return build_scorecard_overview(
        cards.values(), lang=lang, tz=config.tz, period=period, try_last=this_month
    )
