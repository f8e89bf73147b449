"""What the SLA's minute tick reads (issue 10), on both backends: the overdue pending toss-ups come with the
SLA posts already queued for them in one statement, so a tick runs the same few statements however many
toss-ups are overdue, and queues each post once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery import PostKind
from bot.sla_watch import queue_due_sla_steps
from store.handoffs import create_handoff
from store.models import Handoff, OutboxMessage
from store.routing import set_absence
from store.sla import overdue_pending
from tests.conftest import team_config
from tests.test_store import new_handoff

Factory = async_sessionmaker[AsyncSession]

CREATED = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)
CONFIG = team_config(roles={"managers": ["UMGR0001"]})  # no business hours: 24 h to decide by default


async def overdue(factory: Factory, count: int) -> list[int]:
    """`count` pending toss-ups created at CREATED whose notice reached Slack."""
    ids = []
    async with factory() as session:
        for n in range(count):
            created = await create_handoff(session=session, data=new_handoff(f"V-{n}"), now=CREATED)
            ids.append(created.handoff.id)
        await session.execute(update(Handoff).values(notice_channel_id="CFS0001", notice_ts="1.000001"))
        await session.commit()
    return ids


async def statements_of_a_tick(factory: Factory, now: datetime) -> tuple[int, int]:
    """(posts queued, SQL statements run) by one tick at `now`."""
    engine = factory.kw["bind"]
    ran: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        ran.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        queued = await queue_due_sla_steps(sessions=factory, config=CONFIG, now=now)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    return queued, len(ran)


async def test_overdue_toss_ups_come_with_their_queued_sla_keys(session_factory: Factory) -> None:
    first, second = await overdue(session_factory, 2)
    later = CREATED + timedelta(days=3)  # the reminder and the escalations are all due
    assert (await statements_of_a_tick(session_factory, later))[0] == 2 * 3  # reminder, channel, manager
    async with session_factory() as session:
        candidates = await overdue_pending(
            session=session,
            created_before=later,
            queued_kinds=[PostKind.SLA_REMINDER, PostKind.SLA_ESCALATION],
        )
        bare = await overdue_pending(session=session, created_before=later)
    assert [c.id for c in candidates] == [first, second] == [c.id for c in bare]
    assert candidates[0].queued == {
        f"sla:{first}:reminder-1",
        f"sla:{first}:escalation-1:channel",
        f"sla:{first}:escalation-1:UMGR0001",
    }
    assert bare[0].queued == frozenset()


async def test_a_tick_runs_the_same_statements_however_many_are_overdue(session_factory: Factory) -> None:
    await overdue(session_factory, 3)
    later = CREATED + timedelta(days=3)
    few = await statements_of_a_tick(session_factory, later)
    again = await statements_of_a_tick(session_factory, later)
    await overdue_more(session_factory)
    many = await statements_of_a_tick(session_factory, later)
    steady = await statements_of_a_tick(session_factory, later)
    assert few[0] == 9 and many[0] == 27 * 3  # each post once
    assert again == (0, 1) and steady == (0, 1)  # nothing new: the candidates with their keys, nothing else


async def overdue_more(factory: Factory) -> None:
    async with factory() as session:
        for n in range(3, 30):
            await create_handoff(session=session, data=new_handoff(f"V-{n}"), now=CREATED)
        await session.execute(update(Handoff).values(notice_channel_id="CFS0001", notice_ts="1.000001"))
        await session.commit()


async def test_an_fs_rep_away_by_command_gets_no_reminder_but_the_escalations_go(
    session_factory: Factory,
) -> None:
    await overdue(session_factory, 3)  # assigned to UFS0001
    later = CREATED + timedelta(days=3)
    async with session_factory() as session:
        await set_absence(
            session=session,
            user_id="UFS0001",
            until=later.date() + timedelta(days=1),
            set_by="UFS0001",
            now=CREATED,
        )
    assert (await statements_of_a_tick(session_factory, later))[0] == 3 * 2  # the channel and the manager
    async with session_factory() as session:
        kinds = (await session.scalars(select(OutboxMessage.kind))).all()
    assert PostKind.SLA_REMINDER not in kinds and kinds.count(PostKind.SLA_ESCALATION) == 6
