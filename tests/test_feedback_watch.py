"""The feedback loop's minute tick (bot/feedback_watch.py) on both backends: the request for the sheet
after the meeting, its reminders, who is asked and when; time is injected, never slept."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, event, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import Bot
from bot.config import AppConfig
from bot.delivery import PostKind, feedback_reminder_post
from bot.domain.feedback import AwaitingSheet, feedback_owner
from bot.domain.handoff import EventKind, HandoffSnapshot, HandoffStatus, ReturnReason
from bot.feedback_watch import chase_from, queue_due_feedback_requests
from bot.scheduler import FEEDBACK_JOB_ID
from store.feedback import SheetToChase, list_awaiting_sheets, save_feedback, sheets_to_chase
from store.handoffs import create_handoff, decide_handoff
from store.models import Handoff, OutboxMessage
from store.outbox import enqueue_many, queued_at
from store.routing import set_absence
from tests.conftest import Harness, team_config
from tests.test_store import make_memo, new_handoff

Factory = async_sessionmaker[AsyncSession]

TOKYO = ZoneInfo("Asia/Tokyo")
FS_REP, OTHER_FS = "UFS0001", "UFS0002"
SHEET = {"result": "progress", "bant_accuracy": 4, "issue_depth": 3, "memo_completeness": 5, "overall": 4}


def tokyo(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026, Tokyo time (the 20th is a Friday, the 23rd a Monday)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=TOKYO)


CREATED = tokyo(16, 10)  # Monday
ACCEPTED_AT = tokyo(16, 11)
MEETING = tokyo(18, 14)  # Wednesday
DUE = MEETING + timedelta(hours=2)  # the default delay_hours
DEFAULT = team_config()  # delay 2 h, a reminder every 24 h, at most 3; no business hours
WORKING_HOURS = {"start": "09:00", "end": "18:00", "days": [0, 1, 2, 3, 4]}


async def toss_up(
    factory: Factory,
    key: str = "V-1",
    *,
    meeting_at: datetime | None = MEETING,
    fs_user_id: str | None = FS_REP,
    decision: EventKind | None = EventKind.ACCEPTED,
    decided_by: str = FS_REP,
) -> HandoffSnapshot:
    """A toss-up created Monday 10:00 and (by default) accepted an hour later by its FS rep."""
    data = replace(
        new_handoff(key, make_memo().model_copy(update={"meeting_at": meeting_at})), fs_user_id=fs_user_id
    )
    async with factory() as session:
        created = (await create_handoff(session=session, data=data, now=CREATED)).handoff
        if decision is None:
            return created
        result = await decide_handoff(
            session=session,
            handoff_id=created.id,
            actor_id=decided_by,
            decision=decision,
            now=ACCEPTED_AT,
            reason=ReturnReason.BANT_INCOMPLETE if decision is EventKind.RETURNED else None,
        )
    assert result.outcome == "applied" and result.handoff is not None
    return result.handoff


async def tick(factory: Factory, now: datetime, config: AppConfig = DEFAULT) -> int:
    return await queue_due_feedback_requests(sessions=factory, config=config, now=now)


async def outbox(factory: Factory) -> list[OutboxMessage]:
    async with factory() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def keys(factory: Factory) -> list[str]:
    return [row.dedupe_key for row in await outbox(factory)]


async def rate(factory: Factory, handoff_id: int, now: datetime) -> None:
    async with factory() as session:
        revision = await save_feedback(
            session=session,
            handoff_id=handoff_id,
            rater_id=FS_REP,
            sheet=SHEET,
            score={},
            score_total=0,
            now=now,
        )
    assert revision == 1


# ---------------------------------------------------------------- the request


async def test_no_meeting_time_no_request(session_factory: Factory) -> None:
    await toss_up(session_factory, meeting_at=None)
    assert await tick(session_factory, DUE + timedelta(days=30)) == 0
    assert await outbox(session_factory) == []


async def test_nothing_before_due_then_exactly_the_request_once(session_factory: Factory) -> None:
    handoff = await toss_up(session_factory)
    assert await tick(session_factory, DUE - timedelta(minutes=1)) == 0
    assert await outbox(session_factory) == []

    assert await tick(session_factory, DUE) == 1
    assert await tick(session_factory, DUE) == 0  # the same tick again (a restart, a second replica)
    assert await tick(session_factory, DUE + timedelta(minutes=1)) == 0
    (row,) = await outbox(session_factory)
    assert row.kind == PostKind.FEEDBACK_REQUEST
    assert row.dedupe_key == f"feedback_request:{handoff.id}"
    assert row.handoff_id == handoff.id
    assert row.next_attempt_at == DUE and row.created_at == DUE


async def test_replicas_ticking_at_once_queue_the_request_once(session_factory: Factory) -> None:
    await toss_up(session_factory)
    await asyncio.gather(*(tick(session_factory, DUE) for _ in range(3)))
    assert len(await outbox(session_factory)) == 1


async def test_a_meeting_before_the_acceptance_is_asked_about_after_it(session_factory: Factory) -> None:
    await toss_up(session_factory, meeting_at=tokyo(16, 10, 30))  # held before FS accepted at 11:00
    assert await tick(session_factory, tokyo(16, 12, 59)) == 0
    assert await tick(session_factory, tokyo(16, 13)) == 1  # accepted + 2 h


async def test_pending_and_returned_toss_ups_are_never_asked(session_factory: Factory) -> None:
    await toss_up(session_factory, "V-pending", decision=None)
    await toss_up(session_factory, "V-returned", decision=EventKind.RETURNED)
    assert await tick(session_factory, DUE + timedelta(days=10)) == 0
    assert await outbox(session_factory) == []


# ---------------------------------------------------------------- reminders


async def test_reminders_every_24_hours_up_to_max_reminders(session_factory: Factory) -> None:
    config = team_config(feedback={"max_reminders": 2})
    handoff = await toss_up(session_factory)
    assert await tick(session_factory, DUE, config) == 1
    assert await tick(session_factory, DUE + timedelta(hours=24, minutes=-1), config) == 0

    first = DUE + timedelta(hours=24)
    assert await tick(session_factory, first, config) == 1
    assert await tick(session_factory, first, config) == 0
    second = DUE + timedelta(hours=48)
    assert await tick(session_factory, second, config) == 1
    assert await tick(session_factory, DUE + timedelta(days=30), config) == 0  # never more than 2

    rows = await outbox(session_factory)
    assert [row.dedupe_key for row in rows] == [
        f"feedback_request:{handoff.id}",
        f"feedback_reminder:{handoff.id}:1",
        f"feedback_reminder:{handoff.id}:2",
    ]
    assert [row.kind for row in rows[1:]] == [PostKind.FEEDBACK_REMINDER] * 2
    assert [row.payload for row in rows[1:]] == [{"number": 1}, {"number": 2}]
    assert [row.next_attempt_at for row in rows[1:]] == [first, second]


async def test_after_a_long_gap_only_the_latest_reminder_is_queued(session_factory: Factory) -> None:
    handoff = await toss_up(session_factory)
    await tick(session_factory, DUE)
    later = DUE + timedelta(days=3, hours=5)  # reminders 1, 2 and 3 are all due
    assert await tick(session_factory, later) == 1
    assert await tick(session_factory, later + timedelta(days=5)) == 0  # 3 was the last
    rows = await outbox(session_factory)
    assert [row.dedupe_key for row in rows] == [
        f"feedback_request:{handoff.id}",
        f"feedback_reminder:{handoff.id}:3",
    ]
    assert rows[1].payload == {"number": 3} and rows[1].next_attempt_at == later


async def test_reminders_count_from_when_the_request_was_queued(session_factory: Factory) -> None:
    """A request queued late (the bot was down for days) is not followed at once by a reminder."""
    handoff = await toss_up(session_factory)
    late = DUE + timedelta(days=5)
    assert await tick(session_factory, late) == 1
    assert await tick(session_factory, late + timedelta(hours=23)) == 0
    assert await tick(session_factory, late + timedelta(hours=24)) == 1
    assert await keys(session_factory) == [
        f"feedback_request:{handoff.id}",
        f"feedback_reminder:{handoff.id}:1",
    ]


async def test_no_reminders_when_max_reminders_is_zero(session_factory: Factory) -> None:
    config = team_config(feedback={"max_reminders": 0})
    handoff = await toss_up(session_factory)
    assert await tick(session_factory, DUE, config) == 1
    assert await tick(session_factory, DUE + timedelta(days=30), config) == 0
    assert await keys(session_factory) == [f"feedback_request:{handoff.id}"]


async def test_submitting_the_sheet_stops_the_reminders(session_factory: Factory) -> None:
    handoff = await toss_up(session_factory)
    await tick(session_factory, DUE)
    await rate(session_factory, handoff.id, DUE + timedelta(hours=3))
    assert await tick(session_factory, DUE + timedelta(days=2)) == 0
    assert await keys(session_factory) == [f"feedback_request:{handoff.id}"]


async def test_a_sheet_filled_before_the_request_means_no_request(session_factory: Factory) -> None:
    handoff = await toss_up(session_factory)
    await rate(session_factory, handoff.id, MEETING + timedelta(minutes=30))  # from the accepted notice
    assert await tick(session_factory, DUE) == 0
    assert await outbox(session_factory) == []


# ---------------------------------------------------------------- who is asked


async def test_an_unassigned_toss_up_asks_the_fs_member_who_accepted_it(session_factory: Factory) -> None:
    handoff = await toss_up(session_factory, fs_user_id=None, decided_by=OTHER_FS)
    assert handoff.fs_user_id is None and feedback_owner(handoff) == OTHER_FS
    assert await tick(session_factory, DUE) == 1
    assert await keys(session_factory) == [f"feedback_request:{handoff.id}"]


async def test_an_owner_away_in_app_yaml_is_asked_once_back(session_factory: Factory) -> None:
    config = team_config(routing={"absent": [{"user": FS_REP, "until": "2026-11-19"}]})
    handoff = await toss_up(session_factory)
    assert await tick(session_factory, DUE, config) == 0
    assert await tick(session_factory, tokyo(19, 23, 59), config) == 0  # the last day away, in Tokyo
    back = tokyo(20, 0)
    assert await tick(session_factory, back, config) == 1
    (row,) = await outbox(session_factory)
    assert row.dedupe_key == f"feedback_request:{handoff.id}" and row.next_attempt_at == back


async def test_an_owner_away_by_command_gets_no_reminder_until_back(session_factory: Factory) -> None:
    handoff = await toss_up(session_factory)
    await tick(session_factory, DUE)
    async with session_factory() as session:
        await set_absence(session=session, user_id=FS_REP, until=date(2026, 11, 22), set_by=FS_REP, now=DUE)
    assert await tick(session_factory, DUE + timedelta(days=2)) == 0  # reminders 1 and 2 due, but away
    back = tokyo(23, 0)
    assert await tick(session_factory, back) == 1  # only the latest of those now due
    assert await keys(session_factory) == [
        f"feedback_request:{handoff.id}",
        f"feedback_reminder:{handoff.id}:3",
    ]


async def test_only_unrated_accepted_toss_ups_with_a_meeting_time_are_candidates(
    session_factory: Factory,
) -> None:
    first = await toss_up(session_factory, "V-1")
    await toss_up(session_factory, "V-pending", decision=None)
    rated = await toss_up(session_factory, "V-rated")
    await toss_up(session_factory, "V-returned", decision=EventKind.RETURNED)
    await toss_up(session_factory, "V-last", meeting_at=None)
    await rate(session_factory, rated.id, DUE)
    async with session_factory() as session:
        candidates = await list_awaiting_sheets(session=session)
    assert [c.handoff_id for c in candidates] == [first.id]  # no meeting time: nothing to ask about
    (awaiting,) = candidates
    assert awaiting == AwaitingSheet(
        handoff_id=first.id,
        fs_user_id=first.fs_user_id,
        decided_by=first.decided_by,
        created_at=first.created_at,
        decided_at=first.decided_at,
        meeting_at=MEETING,
    )
    assert awaiting.owner == FS_REP


async def test_queued_at_gives_each_existing_keys_creation_time(session_factory: Factory) -> None:
    handoff = await toss_up(session_factory)
    await tick(session_factory, DUE)
    request = f"feedback_request:{handoff.id}"
    async with session_factory() as session:
        assert await queued_at(session=session, keys=[request, "nope", request]) == {request: DUE}
        assert await queued_at(session=session, keys=[]) == {}


# ---------------------------------------------------------------- business hours


async def test_business_hours_delay_the_request_and_count_reminders(session_factory: Factory) -> None:
    config = team_config(sla={"business_hours": WORKING_HOURS})
    handoff = await toss_up(session_factory, meeting_at=tokyo(20, 18))  # Friday 18:00 → due 20:00
    friday_night = tokyo(20, 20)
    assert await tick(session_factory, friday_night - timedelta(minutes=1), config) == 0
    assert await tick(session_factory, friday_night, config) == 1
    (request,) = await outbox(session_factory)
    assert request.dedupe_key == f"feedback_request:{handoff.id}"
    monday_morning = tokyo(23, 9)
    assert request.next_attempt_at == monday_morning and request.created_at == monday_morning

    # 24 business hours from Monday 09:00: Monday 9 h, Tuesday 9 h, Wednesday 6 h → Wednesday 15:00.
    assert await tick(session_factory, tokyo(22, 12), config) == 0  # Sunday: a calendar day has passed
    assert await tick(session_factory, tokyo(25, 14, 59), config) == 0
    assert await tick(session_factory, tokyo(25, 15), config) == 1
    reminder = (await outbox(session_factory))[-1]
    assert reminder.dedupe_key == f"feedback_reminder:{handoff.id}:1"
    assert reminder.next_attempt_at == tokyo(25, 15)


async def test_business_hours_hold_a_reminder_found_at_night(session_factory: Factory) -> None:
    config = team_config(sla={"business_hours": WORKING_HOURS}, feedback={"remind_every_hours": 9})
    handoff = await toss_up(session_factory)  # due Wednesday 16:00, inside working hours
    assert await tick(session_factory, DUE, config) == 1
    # Reminder 1 is due Thursday 16:00 (9 business hours); the bot only ticks again at 22:00.
    assert await tick(session_factory, tokyo(19, 22), config) == 1
    reminder = (await outbox(session_factory))[-1]
    assert reminder.dedupe_key == f"feedback_reminder:{handoff.id}:1"
    assert reminder.next_attempt_at == tokyo(20, 9)


# ---------------------------------------------------------------- feedback_owner


def snapshot(**changes: object) -> HandoffSnapshot:
    base = HandoffSnapshot(
        id=1,
        team_id="T0001",
        is_user_id="UIS0001",
        fs_user_id=FS_REP,
        channel_id="CFS0001",
        status=HandoffStatus.ACCEPTED,
        memo=make_memo(),
        created_at=CREATED,
        decided_by=FS_REP,
        decided_at=ACCEPTED_AT,
    )
    return replace(base, **changes)


def test_feedback_owner_is_the_assigned_rep() -> None:
    assert feedback_owner(snapshot()) == FS_REP
    assert feedback_owner(snapshot(decided_by="U0MANAGER")) == FS_REP  # a manager accepted for them
    assert feedback_owner(snapshot(status=HandoffStatus.PENDING, decided_by=None, decided_at=None)) == FS_REP


def test_feedback_owner_of_an_unassigned_toss_up_is_who_accepted_it() -> None:
    assert feedback_owner(snapshot(fs_user_id=None, decided_by=OTHER_FS)) == OTHER_FS


def test_feedback_owner_none_when_nobody_assigned_and_not_accepted() -> None:
    pending = snapshot(fs_user_id=None, status=HandoffStatus.PENDING, decided_by=None, decided_at=None)
    assert feedback_owner(pending) is None
    returned = snapshot(fs_user_id=None, status=HandoffStatus.RETURNED, decided_by=OTHER_FS)
    assert feedback_owner(returned) is None  # whoever returned it never met the customer


# ---------------------------------------------------------------- the running bot


async def test_the_running_bot_schedules_the_feedback_tick(harness: Harness) -> None:
    bot: Bot = harness.bot
    async with bot.background() as scheduler:
        job = scheduler.get_job(FEEDBACK_JOB_ID)
        assert job is not None and job.trigger.interval == timedelta(seconds=60)


async def test_a_meeting_long_past_is_not_asked_about_but_a_queued_request_is_still_reminded(
    session_factory: Factory,
) -> None:
    await toss_up(session_factory, "V-stale")  # the bot first ticks 15 days after it fell due: too late
    assert await tick(session_factory, DUE + timedelta(days=15)) == 0
    assert await outbox(session_factory) == []

    async with session_factory() as session:  # asked in time, the reminders go on past the 14 days
        await session.execute(delete(OutboxMessage))
        await session.commit()
    handoff = await toss_up(session_factory, "V-fresh")
    config = team_config(feedback={"remind_every_hours": 24 * 10, "max_reminders": 2})
    assert await tick(session_factory, DUE, config) == 2  # both toss-ups' requests: both fresh now
    assert await tick(session_factory, DUE + timedelta(days=20), config) == 2
    assert f"feedback_reminder:{handoff.id}:2" in await keys(session_factory)


# ---------------------------------------------------------------- what the tick reads (issue 10)


async def test_a_toss_up_whose_last_reminder_is_queued_is_no_longer_read(session_factory: Factory) -> None:
    handoff = await toss_up(session_factory)
    for day in range(4):  # the request, then reminders 1, 2 and 3 (the last): one a day
        assert await tick(session_factory, DUE + timedelta(days=day)) == 1
    chase = chase_from(DUE + timedelta(days=4), DEFAULT)
    async with session_factory() as session:
        left = await sheets_to_chase(
            session=session,
            scan_from=DUE - timedelta(days=60),
            ask_from=DUE - timedelta(days=60),
            chase_from=chase,
            request_key_prefix="feedback_request:",
            last_key=("feedback_reminder:", ":3"),
        )
    assert left == []  # nothing more to send: not a candidate any more, however long it stays unrated
    assert f"feedback_reminder:{handoff.id}:3" in await keys(session_factory)
    assert await tick(session_factory, DUE + timedelta(days=30)) == 0


async def test_a_reminder_falls_due_at_most_ask_within_days_before_it_is_sent(
    session_factory: Factory,
) -> None:
    """Like the request, a reminder is not sent about a meeting long past: an owner back from a month away
    is not reminded (the last reminder fell due more than `ask_within_days` before)."""
    handoff = await toss_up(session_factory)
    assert await tick(session_factory, DUE) == 1
    async with session_factory() as session:
        await set_absence(session=session, user_id=FS_REP, until=date(2026, 12, 31), set_by=FS_REP, now=DUE)
    assert await tick(session_factory, DUE + timedelta(days=5)) == 0  # away
    assert await tick(session_factory, tokyo(30, 12) + timedelta(days=32)) == 0  # back on 1 Jan: too late
    assert await keys(session_factory) == [f"feedback_request:{handoff.id}"]


async def chase_around_due(factory: Factory, *, last_reminder: int) -> list[SheetToChase]:
    """`sheets_to_chase` as the tick would call it around DUE (a 30-day scan, 14 days to ask, 3 to chase)."""
    async with factory() as session:
        return await sheets_to_chase(
            session=session,
            scan_from=DUE - timedelta(days=30),
            ask_from=DUE - timedelta(days=14),
            chase_from=DUE - timedelta(days=3),
            request_key_prefix="feedback_request:",
            last_key=("feedback_reminder:", f":{last_reminder}"),
            reminder_kind=PostKind.FEEDBACK_REMINDER,
        )


async def test_the_tick_reads_the_recent_toss_ups_only(session_factory: Factory) -> None:
    """Old unrated toss-ups (never asked, or asked and reminded to the last) cost the tick nothing: it
    runs the same statements, and queues the fresh request alone."""
    months_ago = timedelta(days=60)
    for n in range(5):  # tossed up, accepted and met two months before: far too old to be asked
        old = await toss_up(session_factory, f"V-old-{n}", meeting_at=MEETING - months_ago)
        async with session_factory() as session:
            await session.execute(
                update(Handoff)
                .where(Handoff.id == old.id)
                .values(created_at=CREATED - months_ago, decided_at=ACCEPTED_AT - months_ago)
            )
            await session.commit()
    fresh = await toss_up(session_factory, "V-fresh")
    candidates = await chase_around_due(session_factory, last_reminder=3)
    assert [c.awaiting.handoff_id for c in candidates] == [fresh.id]
    assert candidates[0].requested_at is None
    assert await tick(session_factory, DUE) == 1
    assert await keys(session_factory) == [f"feedback_request:{fresh.id}"]


async def test_a_meeting_still_ahead_is_not_read_before_it_can_be_due(session_factory: Factory) -> None:
    """With `due_by` (the tick passes now − delay) a toss-up whose meeting is still ahead is left in the
    database, not handed to the tick to find it not due: the usual minute reads only what may be due."""
    ahead = await toss_up(session_factory, "V-ahead", meeting_at=DUE + timedelta(days=5))
    met = await toss_up(session_factory, "V-met")

    async def chased(due_by: datetime) -> list[int]:
        async with session_factory() as session:
            found = await sheets_to_chase(
                session=session,
                scan_from=DUE - timedelta(days=30),
                ask_from=DUE - timedelta(days=14),
                chase_from=DUE - timedelta(days=3),
                request_key_prefix="feedback_request:",
                last_key=("feedback_reminder:", ":3"),
                due_by=due_by,
            )
        return [c.awaiting.handoff_id for c in found]

    delay = timedelta(hours=DEFAULT.feedback.delay_hours)
    assert await chased(DUE - delay) == [met.id]
    assert await chased(DUE + timedelta(days=5)) == [ahead.id, met.id]  # its meeting has taken place
    assert await tick(session_factory, DUE) == 1
    assert await keys(session_factory) == [f"feedback_request:{met.id}"]


async def test_a_tick_with_nothing_new_to_queue_reads_no_absences(session_factory: Factory) -> None:
    """Most minutes everything due is queued already: the tick reads its candidates and the reminders
    queued, not who is away (`/tossup away` is read only when something is left to queue)."""
    engine = session_factory.kw["bind"]
    ran: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        ran.append(statement)

    await toss_up(session_factory, "V-1")
    reminder_due = DUE + timedelta(hours=24)
    assert await tick(session_factory, DUE) == 1  # the request
    assert await tick(session_factory, reminder_due) == 1  # its first reminder
    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        assert await tick(session_factory, reminder_due + timedelta(minutes=1)) == 0
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert len(ran) == 1, ran  # the candidates, with the latest reminder queued
    assert not any("fs_absences" in statement for statement in ran)


async def test_the_latest_reminder_queued_is_read_by_its_number_not_its_text(
    session_factory: Factory,
) -> None:
    """Up to 10 reminders: ":10" is later than ":9" although it sorts before it as text."""
    handoff = await toss_up(session_factory)
    ten = team_config(feedback={"max_reminders": 10, "ask_within_days": 30})
    tenth_due = DUE + timedelta(days=10, hours=1)
    assert await tick(session_factory, DUE, ten) == 1  # the request
    async with session_factory() as session:
        await enqueue_many(
            session=session,
            messages={handoff.id: [feedback_reminder_post(handoff_id=handoff.id, number=9)]},
            now=DUE,
        )
    assert await tick(session_factory, tenth_due, ten) == 1  # the 10th, after the 9th
    (candidate,) = await chase_around_due(session_factory, last_reminder=11)
    assert candidate.last_reminder_key == f"feedback_reminder:{handoff.id}:10"
    assert await tick(session_factory, tenth_due + timedelta(minutes=1), ten) == 0  # not again, nor the 9th
