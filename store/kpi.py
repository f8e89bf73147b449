"""What the shared KPIs need from the database: one `HandoffFacts` per toss-up of a period.

One read (the toss-ups left-outer-joined with their feedback sheet and outcome), ending its own read
transaction like every store read; returns frozen dataclasses, never ORM objects. The arithmetic lives in
`bot.domain.kpi`. The memo's JSON is never decoded here: the five answers the KPIs need are extracted by
the database (`->>` / `json_extract`), so a year of toss-ups is not a year of memos parsed in Python.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Text, and_, cast, column, func, literal, or_, select, true
from sqlalchemy.dialects.postgresql import JSONPATH
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import FromClause

from bot.domain.handoff import HandoffStatus, fs_rep_on
from bot.domain.kpi import HandoffFacts, bant_answers_complete
from bot.domain.outcome import Outcome
from bot.domain.score import ScoreItemKey
from store._tx import own_transaction
from store.models import FeedbackRecord, Handoff, OutcomeRecord

__all__ = ["load_kpi_facts"]


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:  # not a date the memo would store: unknown, as a missing one
        return None


# A stored breakdown lists at most one item per score table row (the FS rating last, once rated): the
# database hands over each item's key and points, not the whole breakdown with every loss's details.
_SCORE_ITEMS_MAX = len(ScoreItemKey)
_MEMO_ANSWERS = ("budget_status", "authority", "need", "timeline", "first_contact_on")


def _answer_columns(dialect: str) -> tuple[list[Any], FromClause | None]:
    """The memo's five answers and each score item's key and points, as the database extracts them, and
    (PostgreSQL) the memo's answers as a row to join.

    SQLite parses a JSON document once per `json_extract` call, so it gets one call per document with
    every path (the values come back as one small JSON array). PostgreSQL decompresses a stored jsonb
    again for every operator on it (`->>` on five answers and fourteen item paths: 103 ms for a year at
    10k), so it reads the answers as one record (`jsonb_to_record`) and the items' keys and points as two
    arrays (39 ms).
    """
    if dialect == "sqlite":
        item_paths = [(index, part) for index in range(_SCORE_ITEMS_MAX) for part in ("key", "points")]
        return [
            func.json_extract(Handoff.memo, *(f"$.{name}" for name in _MEMO_ANSWERS)).label("answers"),
            func.json_extract(Handoff.score, *(f"$.items[{i}].{part}" for i, part in item_paths)).label(
                "items"
            ),
        ], None
    answers = (
        func.jsonb_to_record(Handoff.memo)
        .table_valued(*(column(name, Text) for name in _MEMO_ANSWERS))
        .render_derived(name="answers", with_types=True)
    )
    # As text, decoded with the rest in `_to_facts`' thread: a jsonb result is decoded by the driver on
    # the event loop (a year's rows held acks back).
    item_lists = [
        cast(func.jsonb_path_query_array(Handoff.score, literal(f"$.items[*].{part}", JSONPATH)), Text)
        for part in ("key", "points")
    ]
    return [
        *(answers.c[name] for name in _MEMO_ANSWERS),
        item_lists[0].label("item_keys"),
        item_lists[1].label("item_points"),
    ], answers


def _answers(row: Any, dialect: str) -> tuple[list[Any], list[Any]]:
    """(the five memo answers, the item keys and points interleaved), whichever way they were read."""
    if dialect == "sqlite":
        answers = json.loads(row.answers) if row.answers else [None] * len(_MEMO_ANSWERS)
        items = json.loads(row.items) if row.items else []
        return answers, items
    mapping = row._mapping
    keys, points = (json.loads(text) if text else [] for text in (row.item_keys, row.item_points))
    items = [value for pair in zip(keys, points, strict=False) for value in pair]
    return [mapping[name] for name in _MEMO_ANSWERS], items


def _item_points(keys_and_points: list[Any]) -> dict[str, int] | None:
    points = {}
    for key, value in zip(keys_and_points[::2], keys_and_points[1::2], strict=False):
        if key is None:
            break
        points[str(key)] = int(value or 0)
    return points or None


def _score_facts(points: dict[str, int] | None, *, rated: bool) -> tuple[int | None, dict[str, int]]:
    """(memo points, item key → points) from a stored breakdown's item points: the memo points leave
    out the FS rating, and the items list it only when the toss-up was rated."""
    if not points:
        return None, {}
    fs_rating = ScoreItemKey.FS_RATING.value
    items = {key: value for key, value in points.items() if key != fs_rating or rated}
    return sum(value for key, value in points.items() if key != fs_rating), items


async def load_kpi_facts(
    *, session: AsyncSession, start: datetime, end: datetime, user_id: str | None = None
) -> list[HandoffFacts]:
    """The toss-ups created in [start, end) (aware datetimes), with their feedback and outcome, by id;
    with `user_id`, only those that rep is on (IS, or FS as `fs_rep_on` credits), for one rep's KPIs.

    rated: an FS feedback sheet exists; outcome / outcome_at: the recorded outcome and when it was last
    recorded; memo_score: the stored score's points without the FS rating (None when not scored).
    """
    dialect = session.get_bind().dialect.name
    answer_columns, answers = _answer_columns(dialect)
    query = (
        select(
            Handoff.id,
            Handoff.is_user_id,
            Handoff.fs_user_id,
            Handoff.created_at,
            Handoff.status,
            Handoff.decided_at,
            Handoff.decided_by,
            Handoff.criteria_passed,
            *answer_columns,
            FeedbackRecord.handoff_id.label("rated_id"),
            OutcomeRecord.outcome,
            OutcomeRecord.recorded_at,
        )
        .outerjoin(FeedbackRecord, FeedbackRecord.handoff_id == Handoff.id)
        .outerjoin(OutcomeRecord, OutcomeRecord.handoff_id == Handoff.id)
        .where(Handoff.created_at >= start, Handoff.created_at < end)
        .order_by(Handoff.id)
    )
    if (
        answers is not None
    ):  # a function in FROM may read the toss-up's columns (PostgreSQL: implicitly LATERAL)
        query = query.outerjoin(answers, true())
    if user_id is not None:  # a superset of `fs_rep_on`'s rule; `compute_kpis(user=…)` keeps the exact set
        query = query.where(
            or_(
                Handoff.is_user_id == user_id,
                Handoff.fs_user_id == user_id,
                and_(Handoff.fs_user_id.is_(None), Handoff.decided_by == user_id),
            )
        )
    async with own_transaction(session):
        connection = await session.connection()  # plain rows: no ORM entities to build
        result = await connection.execute(query)  # fetched whole: the driver's rows are in memory now
    # Turning thousands of rows into facts (the column types' conversions included, which `all()` runs)
    # is CPU work: off the event loop, so acks are never behind it.
    return await asyncio.to_thread(_to_facts, result, dialect)


def _to_facts(rows: Iterable[Any], dialect: str) -> list[HandoffFacts]:
    facts: list[HandoffFacts] = []
    # A period's toss-ups share a few reps and a few score breakdowns: one object each, not one per row
    # (a year at 100k toss-ups is 50,000 facts; the facts only ever read them).
    shared: dict[Any, Any] = {}
    for row in rows:  # one row at a time off the buffered result: no second list of every row
        rated = row.rated_id is not None
        (budget_status, authority, need, timeline, first_contact_on), item_values = _answers(row, dialect)
        memo_score, items = _score_facts(_item_points(item_values), rated=rated)
        items = shared.setdefault(tuple(items.items()), items)
        fs_user_id = fs_rep_on(
            fs_user_id=row.fs_user_id, status=HandoffStatus(row.status), decided_by=row.decided_by
        )
        facts.append(
            HandoffFacts(
                id=row.id,
                is_user_id=shared.setdefault(row.is_user_id, row.is_user_id),
                # The FS rep credited: the assigned one, or who accepted an unassigned toss-up.
                fs_user_id=shared.setdefault(fs_user_id, fs_user_id),
                created_at=row.created_at,
                status=HandoffStatus(row.status),
                decided_at=row.decided_at,
                criteria_passed=row.criteria_passed,
                bant_complete=bant_answers_complete(
                    budget_status=budget_status, authority=authority, need=need, timeline=timeline
                ),
                memo_score=memo_score,
                score_items=items,
                first_contact_on=_day(first_contact_on),
                outcome=Outcome.model_validate(row.outcome) if row.outcome is not None else None,
                outcome_at=row.recorded_at if row.outcome is not None else None,
                rated=rated,
            )
        )
    return facts
