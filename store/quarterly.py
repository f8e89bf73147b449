"""What the quarterly criteria review needs from the database: one `TossUpFacts` per toss-up of the quarter.

One statement over the quarter's range of the indexed creation time (the toss-ups left-outer-joined with
their feedback sheet, to know whether FS rated them, and their outcome), in one read transaction ended
before returning. Per-criterion results and per-item points live in the toss-ups' JSON (`criteria`,
`score`, as `CriteriaEvaluation.to_json` / `ScoreBreakdown.to_json` write them): only the quarter's rows
are read, and only the few attributes needed are taken out of their JSON in SQL, so the cost follows the
quarter, not the history. Frozen dataclasses out (`bot.domain.quarterly`), never ORM rows; the
arithmetic is the domain's.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ColumnElement, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.handoff import HandoffStatus
from bot.domain.kpi import Period
from bot.domain.outcome import OutcomeKind
from bot.domain.quarterly import ItemPoints, QuarterlyFacts, TossUpFacts
from bot.domain.score import ScoreItemKey
from store._tx import own_transaction
from store.models import FeedbackRecord, Handoff, OutcomeRecord

__all__ = ["load_quarterly_facts"]


CRITERIA_SLOTS = 30  # CriteriaConfig allows at most 30 rules: a stored evaluation has at most 30 results
ITEM_SLOTS = len(ScoreItemKey)  # one item per key: the memo's five, then the FS rating once rated
_FS_RATING = ScoreItemKey.FS_RATING.value

# Each toss-up's criteria results and score items come out of its JSON in SQL as one small flat JSON array
# per document, attribute by attribute (["budget", "need", "budget_status", "need", false, true]), so
# neither document is decoded whole in Python on the event loop's thread (a score's loss lists are most of
# its size). SQLite: one json_extract with every slot's path (one parse per document; absent slots are
# null). PostgreSQL: one JSON path query per attribute, concatenated.
_ARRAYS = {
    "criteria": ("criteria", "results", CRITERIA_SLOTS, ("criterion_id", "field", "passed")),
    "items": ("score", "items", ITEM_SLOTS, ("key", "points", "max_points")),
}


def _array_columns(dialect: str) -> list[ColumnElement[str]]:
    columns = []
    for name, (column, array, slots, attributes) in _ARRAYS.items():
        if dialect == "sqlite":
            paths = ", ".join(f"'$.{array}[{slot}].{attr}'" for attr in attributes for slot in range(slots))
            sql = f"json_extract(handoffs.{column}, {paths})"
        else:
            queries = [
                f"jsonb_path_query_array(handoffs.{column}, '$.{array}[*].{attr}')" for attr in attributes
            ]
            sql = f"({' || '.join(queries)})::text"
        columns.append(literal_column(sql).label(name))
    return columns


def _slots(packed: str | None) -> list[tuple[Any, Any, Any]]:
    """The (a, b, c) of each slot of a flat array holding all a's, then all b's, then all c's; the
    absent slots (null) left out."""
    if packed is None:
        return []
    values = json.loads(packed)
    third = len(values) // 3
    return [
        slot
        for slot in zip(values[:third], values[third : 2 * third], values[2 * third :], strict=True)
        if None not in slot
    ]


def _criteria(packed: str | None) -> tuple[dict[str, bool], dict[str, str]]:
    """Criterion id → passed, and → the memo field it tested."""
    slots = _slots(packed)
    return {str(cid): bool(ok) for cid, _, ok in slots}, {str(cid): str(field) for cid, field, _ in slots}


def _items(packed: str | None, *, rated: bool) -> dict[str, ItemPoints]:
    """Item key → points of its maximum; the FS rating only once FS rated the toss-up (before that its
    0 points are "not yet", not a miss — the KPIs count it the same way)."""
    return {
        str(key): ItemPoints(points=int(points), max_points=int(most))
        for key, points, most in _slots(packed)
        if key != _FS_RATING or rated
    }


async def load_quarterly_facts(*, session: AsyncSession, quarter: Period) -> QuarterlyFacts:
    """The toss-ups created in the quarter [start, end), by id: status, outcome kind, each criterion's
    result as evaluated at submission, each score item's points."""
    query = (
        select(
            Handoff.id,
            Handoff.status,
            Handoff.criteria_passed,
            FeedbackRecord.handoff_id.label("rated_id"),
            OutcomeRecord.kind.label("outcome"),
            *_array_columns(session.get_bind().dialect.name),
        )
        .outerjoin(FeedbackRecord, FeedbackRecord.handoff_id == Handoff.id)
        .outerjoin(OutcomeRecord, OutcomeRecord.handoff_id == Handoff.id)
        .where(Handoff.created_at >= quarter.start, Handoff.created_at < quarter.end)
        .order_by(Handoff.id)
    )
    async with own_transaction(session):
        rows = (await session.execute(query)).all()
    toss_ups = []
    for row in rows:
        passed, fields = _criteria(row.criteria)
        toss_ups.append(
            TossUpFacts(
                id=row.id,
                status=HandoffStatus(row.status),
                outcome=OutcomeKind(row.outcome) if row.outcome else None,
                criteria=passed,
                criteria_passed=row.criteria_passed,
                items=_items(row.items, rated=row.rated_id is not None),
                criteria_fields=fields,
            )
        )
    return QuarterlyFacts(quarter=quarter, toss_ups=toss_ups)
