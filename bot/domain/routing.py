"""Toss-up routing: which FS channel gets the notice and which FS rep is assigned. Pure: no Slack, no I/O.

Rules come from app.yaml (`RoutingConfig`). The round-robin counter lives in the database
(`store.routing.take_turn`), so this module only decides; the one stateful step is injected by the caller.

Intended call sequence (the submission handler)::

    rule = match_rule(memo, config.rules)
    assignee = None
    if needs_turn(memo, rule):                      # no rep picked in the memo, a rule with a pool matched
        unavailable = absent_from_config(config, today) | await store.routing.absent_users(
            session=session, today=today
        )
        assignee = await store.routing.take_turn(
            session=session, rule=rule.name, pool=rule.pool, unavailable=unavailable, now=now
        )
    decision = decide(memo, rule, default_channel=app_config.channels.fs, assignee=assignee)
    # post to decision.channel_id, assign decision.fs_user_id (may be None), and explain it with
    # decision.kind + decision.rule ("rule: enterprise-east, round-robin").

Outcomes (`RouteKind`):

- CHOSEN: the IS rep picked an FS rep in the memo; that rep wins. The channel is the matching rule's
  channel (or the default one); no round-robin turn is taken. `rule` names the matching rule, if any.
- ROUND_ROBIN: a rule with a pool matched; its next available member is assigned, in the rule's channel.
- RULE_CHANNEL: a rule without a pool matched: its channel, nobody assigned.
- ALL_ABSENT: a rule with a pool matched but every member is away: the default channel, nobody
  assigned; `rule` still names the rule so the notice can say why.
- DEFAULT: no rule matched: the default channel, nobody assigned.

Round-robin: turns are counted per rule (0, 1, 2, …); turn n belongs to `pool[n % len(pool)]`. A member
who is away is skipped and the turn number moves past them, so while the same members are away every
available member gets the same number of toss-ups (±1) whatever the order of calls.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum, StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from bot.domain.memo import HandoffMemo

__all__ = [
    "Absence",
    "RouteDecision",
    "RouteKind",
    "RoutingConfig",
    "RoutingRule",
    "absent_from_config",
    "answer_value",
    "decide",
    "match_rule",
    "needs_turn",
    "next_in_pool",
    "rule_matches",
    "unknown_match_keys",
]

RULE_NAME_PATTERN = r"^[a-z0-9_\-]{1,40}$"
CHANNEL_ID_PATTERN = r"^[CG][A-Z0-9]{2,}$"
USER_ID_PATTERN = r"^[UW][A-Z0-9]{2,}$"

ChannelId = Annotated[str, StringConstraints(pattern=CHANNEL_ID_PATTERN)]
UserId = Annotated[str, StringConstraints(pattern=USER_ID_PATTERN)]
MatchKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MatchValue = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class RoutingRule(BaseModel):
    """One rule of app.yaml's `routing.rules`: tried in order, the first that matches the memo wins."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=RULE_NAME_PATTERN)]
    # memo field (MemoField value) or custom select key → accepted option values. Every key must match
    # (AND); one of the listed values must be the answer (OR). An empty dict matches every memo.
    match: dict[MatchKey, Annotated[list[MatchValue], Field(min_length=1)]] = Field(default_factory=dict)
    channel: ChannelId | None = None  # None: the default FS channel
    pool: list[UserId] = Field(default_factory=list)  # empty: nobody assigned, just the channel

    @field_validator("pool")
    @classmethod
    def _distinct_pool(cls, pool: list[str]) -> list[str]:
        duplicates = sorted({user for user in pool if pool.count(user) > 1})
        if duplicates:
            raise ValueError(f"pool lists a rep twice: {', '.join(duplicates)}")
        return pool


class Absence(BaseModel):
    """An FS rep away until `until` (inclusive: the last day away), from app.yaml's `routing.absent`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user: Annotated[str, Field(pattern=USER_ID_PATTERN)]
    until: date


class RoutingConfig(BaseModel):
    """app.yaml's `routing` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[RoutingRule] = Field(default_factory=list)
    absent: list[Absence] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> RoutingConfig:
        names = [rule.name for rule in self.rules]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"routing rule names must be unique: {', '.join(duplicates)}")
        return self


class RouteKind(StrEnum):
    CHOSEN = "chosen"  # the IS rep picked the FS rep in the memo
    ROUND_ROBIN = "round_robin"  # a rule matched; its pool's next available rep
    RULE_CHANNEL = "rule_channel"  # a rule matched; it has no pool
    ALL_ABSENT = "all_absent"  # a rule matched; every rep of its pool is away
    DEFAULT = "default"  # no rule matched


@dataclass(frozen=True)
class RouteDecision:
    kind: RouteKind
    channel_id: str
    fs_user_id: str | None
    rule: str | None  # the matching rule's name (for the notice's "why"), None when none matched


def answer_value(answer: object) -> str | None:
    """A memo answer as the option value a rule compares with: enums by their value, text as is.

    Anything else (no answer, dates, yes/no) is not a select answer and never matches.
    """
    if isinstance(answer, Enum):
        return str(answer.value)
    if isinstance(answer, str):
        return answer
    return None


def rule_matches(memo: HandoffMemo, rule: RoutingRule) -> bool:
    for key, accepted in rule.match.items():
        value = answer_value(memo.answer(key))
        if value is None or value not in accepted:
            return False
    return True


def match_rule(memo: HandoffMemo, rules: Sequence[RoutingRule]) -> RoutingRule | None:
    """The first rule, in order, whose every condition the memo meets; None when none does."""
    for rule in rules:
        if rule_matches(memo, rule):
            return rule
    return None


def absent_from_config(config: RoutingConfig, today: date) -> frozenset[str]:
    """Reps app.yaml marks away on `today` (`until` is the last day away, inclusive)."""
    return frozenset(absence.user for absence in config.absent if absence.until >= today)


def next_in_pool(
    pool: Sequence[str], *, last_turn: int, unavailable: Collection[str]
) -> tuple[str, int] | None:
    """The round-robin step after `last_turn` (-1 before the first turn): `(member, turn_used)`.

    The member for turn n is `pool[n % len(pool)]`; unavailable members are skipped (their turn number
    is used up). None when the pool is empty or every member is unavailable.
    """
    size = len(pool)
    for step in range(1, size + 1):
        turn = last_turn + step
        member = pool[turn % size]
        if member not in unavailable:
            return member, turn
    return None


def needs_turn(memo: HandoffMemo, rule: RoutingRule | None) -> bool:
    """Whether a round-robin turn must be taken: no rep chosen in the memo and the rule has a pool."""
    return not memo.fs_user_id and rule is not None and bool(rule.pool)


def decide(
    memo: HandoffMemo, rule: RoutingRule | None, *, default_channel: str, assignee: str | None
) -> RouteDecision:
    """The routing decision, given the matching rule and the rep the round-robin turn gave (if taken).

    `assignee` is only looked at when `needs_turn(memo, rule)`: None there means every member was away.
    """
    name = rule.name if rule is not None else None
    rule_channel = (rule.channel if rule is not None else None) or default_channel
    if memo.fs_user_id:
        return RouteDecision(RouteKind.CHOSEN, rule_channel, memo.fs_user_id, name)
    if rule is None:
        return RouteDecision(RouteKind.DEFAULT, default_channel, None, None)
    if not rule.pool:
        return RouteDecision(RouteKind.RULE_CHANNEL, rule_channel, None, name)
    if assignee is None:
        return RouteDecision(RouteKind.ALL_ABSENT, default_channel, None, name)
    return RouteDecision(RouteKind.ROUND_ROBIN, rule_channel, assignee, name)


def channel_now(route: RouteDecision, *, config: RoutingConfig, default_channel: str) -> str:
    """Where a routed toss-up's notice goes under the configuration as it is now: its rule's channel while
    the rule is there, else the default one. A notice not posted yet follows a fixed app.yaml (a wrong
    channel corrected, then `tossup repost`) rather than the channel it was first refused in."""
    if route.kind in (RouteKind.DEFAULT, RouteKind.ALL_ABSENT):
        return default_channel
    rule = next((rule for rule in config.rules if rule.name == route.rule), None)
    return (rule.channel if rule is not None else None) or default_channel


def unknown_match_keys(config: RoutingConfig, known_keys: Collection[str]) -> list[str]:
    """Match keys of the rules that are not memo answers (`AppConfig.select_keys`), sorted, for app.yaml's
    validation: a typo there would make a rule silently never match."""
    used = {key for rule in config.rules for key in rule.match}
    return sorted(used - set(known_keys))
