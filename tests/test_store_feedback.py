"""The feedback loop's tables, on SQLite and PostgreSQL: edits keep history, repeats change nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.handoff import EventKind
from store.feedback import (
    get_feedback,
    get_is_rating,
    get_outcome,
    list_follow_ups,
    recent_sheets_for_is,
    save_feedback,
    save_is_rating,
    save_outcome,
)
from store.handoffs import create_handoff, decide_handoff, get_handoff, list_events
from store.models import Handoff
from store.outbox import NewOutbox
from tests.test_store import NOW, make_memo, new_handoff

Factory = async_sessionmaker[AsyncSession]
SHEET = {"result": "progress", "bant_accuracy": 4, "issue_depth": 3, "memo_completeness": 5, "overall": 4}


async def handoff_id(factory: Factory, key: str = "V-1") -> int:
    async with factory() as session:
        return (await create_handoff(session=session, data=new_handoff(key), now=NOW)).handoff.id


async def test_feedback_is_edited_in_place_with_history_and_repeats_ignored(session_factory: Factory) -> None:
    hid = await handoff_id(session_factory)
    score = {"items": [], "total": 60, "max_total": 100}

    async def save(view: str, sheet: dict, minutes: int) -> int | None:
        async with session_factory() as session:
            return await save_feedback(
                session=session,
                handoff_id=hid,
                rater_id="UFS0001",
                sheet=sheet,
                score=score,
                score_total=60 + minutes,
                now=NOW + timedelta(minutes=minutes),
                outbox=[NewOutbox(kind="feedback_to_is", dedupe_key=f"feedback_to_is:{hid}:{view}")],
            )

    assert await save("V-a", SHEET, 1) == 1
    assert await save("V-a", SHEET, 2) is None  # the same submission again
    assert await save("V-b", {**SHEET, "overall": 5}, 3) == 2
    async with session_factory() as session:
        row = await get_feedback(session=session, handoff_id=hid)
        events = await list_events(session=session, handoff_id=hid)
        stored = await session.scalar(select(Handoff.score_total).where(Handoff.id == hid))
    assert row is not None and row.revisions == 2 and row.data["overall"] == 5
    assert row.at == NOW + timedelta(minutes=1)  # first submitted
    history = [e.detail["sheet"]["overall"] for e in events if e.kind is EventKind.FEEDBACK_SUBMITTED]
    assert history == [4, 5]
    assert stored == 63


async def test_is_rating_and_outcome_replace_and_read_back(session_factory: Factory) -> None:
    hid = await handoff_id(session_factory)
    async with session_factory() as session:
        assert await save_is_rating(
            session=session, handoff_id=hid, rater_id="UIS0001", rating={"follow_through": 4}, now=NOW
        )
        assert await save_outcome(
            session=session,
            handoff_id=hid,
            recorded_by="UFS0001",
            kind="open",
            outcome={"kind": "open"},
            now=NOW,
        )
        won = {"kind": "won", "amount": 1200000, "closed_on": "2025-12-20"}
        assert await save_outcome(
            session=session, handoff_id=hid, recorded_by="UFS0001", kind="won", outcome=won, now=NOW
        )
        rating = await get_is_rating(session=session, handoff_id=hid)
        outcome = await get_outcome(session=session, handoff_id=hid)
        events = await list_events(session=session, handoff_id=hid)
    assert rating is not None and rating.data == {"follow_through": 4}
    assert outcome is not None and outcome.kind == "won" and outcome.data["amount"] == 1200000
    assert [e.kind for e in events].count(EventKind.OUTCOME_RECORDED) == 2


async def test_recent_sheets_for_an_is_rep_newest_first(session_factory: Factory) -> None:
    first, second = await handoff_id(session_factory, "V-1"), await handoff_id(session_factory, "V-2")
    async with session_factory() as session:
        for minutes, hid in ((5, first), (9, second)):
            await save_feedback(
                session=session,
                handoff_id=hid,
                rater_id="UFS0001",
                sheet={**SHEET, "next_info": f"info {hid}"},
                score={},
                score_total=0,
                now=NOW + timedelta(minutes=minutes),
            )
        sheets = await recent_sheets_for_is(session=session, is_user_id="UIS0001")
        assert await get_handoff(session=session, handoff_id=first) is not None
    assert [s["next_info"] for _, s in sheets] == [f"info {second}", f"info {first}"]


async def test_follow_ups_owe_something_once_the_meeting_took_place_or_without_a_meeting_time(
    session_factory: Factory,
) -> None:
    meeting = NOW + timedelta(days=1)
    ids = {}
    for name, meeting_at in (("past", meeting), ("ahead", meeting + timedelta(days=2)), ("no time", None)):
        memo = make_memo().model_copy(update={"meeting_at": meeting_at})
        async with session_factory() as session:
            created = await create_handoff(session=session, data=new_handoff(f"V-{name}", memo), now=NOW)
            await decide_handoff(
                session=session,
                handoff_id=created.handoff.id,
                actor_id="UFS0001",
                decision=EventKind.ACCEPTED,
                now=NOW,
            )
        ids[name] = created.handoff.id

    async def owed(met_by: datetime | None) -> list[int]:
        async with session_factory() as session:
            found = await list_follow_ups(session=session, user_id="UFS0001", met_by=met_by)
        return [follow_up.handoff.id for follow_up in found]

    assert await owed(meeting + timedelta(hours=1)) == [ids["no time"], ids["past"]]  # newest first
    assert await owed(meeting - timedelta(minutes=1)) == [ids["no time"]]
    assert await owed(None) == [ids["no time"], ids["ahead"], ids["past"]]
