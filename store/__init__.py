"""The database layer of tossup. Knows nothing of Slack; builds on `bot.domain`."""

from store.db import DEFAULT_DATABASE_URL, make_engine, make_sessionmaker, migrate
from store.handoffs import (
    CreateResult,
    DecisionResult,
    EventRecord,
    HandoffNotFoundError,
    NewHandoff,
    create_handoff,
    decide_handoff,
    get_handoff,
    list_events,
    list_handoffs,
    record_event,
    record_notice,
    to_snapshot,
)
from store.outbox import (
    NewOutbox,
    OutboxItem,
    claim_due,
    enqueue,
    mark_done,
    mark_failed,
    pending_count,
)

__all__ = [
    "DEFAULT_DATABASE_URL",
    "CreateResult",
    "DecisionResult",
    "EventRecord",
    "HandoffNotFoundError",
    "NewHandoff",
    "NewOutbox",
    "OutboxItem",
    "claim_due",
    "create_handoff",
    "decide_handoff",
    "enqueue",
    "get_handoff",
    "list_events",
    "list_handoffs",
    "make_engine",
    "make_sessionmaker",
    "mark_done",
    "mark_failed",
    "migrate",
    "pending_count",
    "record_event",
    "record_notice",
    "to_snapshot",
]
