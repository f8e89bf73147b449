"""The store on both backends: every test runs on SQLite and on PostgreSQL.

The fixtures (`session_factory`, `database_url`, …) come from tests/db_fixtures.py via conftest.py.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain.handoff import EventKind, HandoffStatus, ReturnReason
from bot.domain.memo import AuthorityLevel, BudgetStatus, HandoffMemo, Temperature, Timeline
from store.db import (
    alembic_config,
    current_revision,
    head_revision,
    make_engine,
    make_sessionmaker,
    migrate,
)
from store.handoffs import (
    HandoffNotFoundError,
    NewHandoff,
    create_handoff,
    decide_handoff,
    get_handoff,
    list_events,
    list_handoffs,
    record_event,
    record_notice,
    record_notice_and_read,
)
from store.models import Handoff, HandoffEvent, OutboxMessage
from store.outbox import (
    NewOutbox,
    add_outbox_rows,
    claim_due,
    enqueue,
    is_repeat,
    mark_done,
    mark_failed,
    pending_count,
)
from tests.db_fixtures import drop_database, fresh_database

# The newest migration (the schema every upgrade must end at), read from the scripts themselves.
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()

Factory = async_sessionmaker[AsyncSession]

JST = timezone(timedelta(hours=9))
NOW = datetime(2025, 11, 25, 3, 0, 0, 123456, tzinfo=UTC)
LEASE = timedelta(seconds=30)
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def engine_of(factory: Factory) -> AsyncEngine:
    engine = factory.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    return engine


def make_memo(company: str = "株式会社サンプル") -> HandoffMemo:
    return HandoffMemo(
        company=company,
        contact_name="山田 太郎",
        contact_title="情報システム部 部長",
        contact_email="yamada@example.co.jp",
        meeting_at=datetime(2025, 12, 1, 14, 30, tzinfo=JST),
        crm_url="https://crm.example.com/deals/42",
        lead_source="seminar",
        budget_status=BudgetStatus.PLANNED,
        budget_note="来期予算で500万円程度",
        authority=AuthorityLevel.DECISION_MAKER,
        need="営業日報の自動化",
        timeline=Timeline.MONTHS_3_TO_6,
        current_issue="Excel運用が限界",
        first_contact_on=date(2025, 11, 10),
        temperature=Temperature.HOT,
        handoff_call_wanted=True,
    )


def new_handoff(key: str = "V-1", memo: HandoffMemo | None = None) -> NewHandoff:
    return NewHandoff(
        submission_key=key,
        team_id="T0001",
        is_user_id="UIS0001",
        fs_user_id="UFS0001",
        channel_id="CFS0001",
        memo=memo or make_memo(),
        lang="ja",
    )


def notices(key: str) -> list[NewOutbox]:
    return [
        NewOutbox(kind="notice_channel", dedupe_key=f"notice_channel:{key}", payload={"x": "チャンネル"}),
        NewOutbox(kind="notice_dm", dedupe_key=f"notice_dm:{key}"),
    ]


async def create(factory: Factory, key: str = "V-1", outbox: list[NewOutbox] | None = None) -> int:
    async with factory() as session:
        result = await create_handoff(session=session, data=new_handoff(key), outbox=outbox or [], now=NOW)
    assert result.created
    return result.handoff.id


async def count(factory: Factory, model: type[Handoff] | type[HandoffEvent] | type[OutboxMessage]) -> int:
    async with factory() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# --- migrations -------------------------------------------------------------------------------------


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    # migrate() compares against head_revision() without importing Alembic; it must agree with Alembic.
    assert head_revision() == HEAD


async def test_the_schemas_revision_is_read_as_alembic_reads_it(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        assert await current_revision(engine) is None  # never migrated: no version table
        await migrate(engine)
        assert await current_revision(engine) == HEAD
    finally:
        await engine.dispose()


async def test_migrate_twice_is_a_noop(session_factory: Factory) -> None:
    engine = engine_of(session_factory)
    await create(session_factory)
    await migrate(engine)
    await migrate(engine)
    async with engine.connect() as connection:
        versions = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
    assert versions == [(HEAD,)]
    assert await count(session_factory, Handoff) == 1  # data untouched


async def test_migrations_match_the_models(session_factory: Factory) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from store.models import Base

    async with engine_of(session_factory).connect() as connection:
        diff = await connection.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
            )
        )
    assert diff == []


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_two_processes_migrating_at_once(kind: str, tmp_path: Path) -> None:
    url = await fresh_database(kind, tmp_path, migrated=False)
    script = (
        "import asyncio, sys\n"
        "from store.db import make_engine, migrate\n"
        "async def main():\n"
        "    engine = make_engine(sys.argv[1])\n"
        "    await migrate(engine)\n"
        "    await engine.dispose()\n"
        "asyncio.run(main())\n"
    )
    try:
        processes = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                script,
                url,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=str(PROJECT_ROOT),
            )
            for _ in range(3)
        ]
        outputs = await asyncio.gather(*(p.communicate() for p in processes))
        for process, (_, stderr) in zip(processes, outputs, strict=True):
            assert process.returncode == 0, stderr.decode()
        engine = make_engine(url)
        try:
            async with engine.connect() as connection:
                versions = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
                handoffs = (await connection.execute(text("SELECT count(*) FROM handoffs"))).scalar()
        finally:
            await engine.dispose()
        assert versions == [(HEAD,)]
        assert handoffs == 0
    finally:
        await drop_database(url)


async def test_make_engine_creates_the_sqlite_directory(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "bot.db"
    engine = make_engine(f"sqlite:///{path}")  # a bare scheme gets the async driver
    try:
        await migrate(engine)
        async with engine.connect() as connection:
            assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        await engine.dispose()
    assert path.exists()


async def test_a_sqlite_connection_back_in_the_pool_mid_transaction_is_rolled_back(tmp_path: Path) -> None:
    """The pool rolls back only connections inside a transaction (store.db): one returned holding SQLite's
    write lock must not keep it, nor its uncommitted write."""
    engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        async with engine.connect() as connection:  # the one writer, taken and left mid-transaction
            driver = (await connection.get_raw_connection()).driver_connection
            await driver.execute("BEGIN IMMEDIATE")
            await driver.execute("INSERT INTO t VALUES (1)")
            assert driver.in_transaction
        async with engine.begin() as connection:  # the same connection (pool of one): usable, lock free
            await connection.exec_driver_sql("INSERT INTO t VALUES (2)")
        async with engine.connect() as connection:
            assert (await connection.exec_driver_sql("SELECT x FROM t")).scalars().all() == [2]
            driver = (await connection.get_raw_connection()).driver_connection
        assert not driver.in_transaction
    finally:
        await engine.dispose()


async def test_database_url_is_a_fresh_migrated_database(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        factory = make_sessionmaker(engine)
        handoff_id = await create(factory)
        async with factory() as session:
            assert (await get_handoff(session=session, handoff_id=handoff_id)) is not None
        assert await count(factory, Handoff) == 1
    finally:
        await engine.dispose()


# --- handoffs ---------------------------------------------------------------------------------------


async def test_create_and_get_round_trip(session_factory: Factory) -> None:
    memo = make_memo()
    async with session_factory() as session:
        result = await create_handoff(
            session=session, data=new_handoff("V-1", memo), outbox=notices("V-1"), now=NOW
        )
    assert result.created
    created = result.handoff
    assert created.status is HandoffStatus.PENDING
    assert created.memo == memo

    async with session_factory() as session:
        got = await get_handoff(session=session, handoff_id=created.id)
    assert got == created
    assert got.memo == memo
    assert got.memo.meeting_at == memo.meeting_at and got.memo.meeting_at.utcoffset() is not None
    assert got.memo.first_contact_on == date(2025, 11, 10)
    assert got.memo.budget_status is BudgetStatus.PLANNED
    assert got.memo.temperature is Temperature.HOT
    assert got.created_at == NOW and got.created_at.tzinfo is UTC
    assert (got.team_id, got.is_user_id, got.fs_user_id, got.channel_id) == (
        "T0001",
        "UIS0001",
        "UFS0001",
        "CFS0001",
    )
    assert got.decided_by is None and got.notice_ts is None

    async with session_factory() as session:
        row = await session.scalar(select(Handoff).where(Handoff.id == created.id))
        assert row is not None
        assert row.company == "株式会社サンプル"
        assert row.lang == "ja"
        assert row.version == 1
        assert row.meeting_at == datetime(2025, 12, 1, 5, 30, tzinfo=UTC)
        assert row.meeting_at.tzinfo is UTC  # aware UTC back, on SQLite too

    events = await _events(session_factory, created.id)
    assert [(e.kind, e.actor_user_id, e.at) for e in events] == [(EventKind.SUBMITTED, "UIS0001", NOW)]
    async with session_factory() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert [(r.kind, r.handoff_id, r.next_attempt_at, r.attempts) for r in rows] == [
        ("notice_channel", created.id, NOW, 0),
        ("notice_dm", created.id, NOW, 0),
    ]
    assert rows[0].payload == {"x": "チャンネル"}


async def test_get_unknown_handoff_is_none(session_factory: Factory) -> None:
    async with session_factory() as session:
        assert await get_handoff(session=session, handoff_id=12345) is None


async def _events(factory: Factory, handoff_id: int) -> list:
    async with factory() as session:
        return await list_events(session=session, handoff_id=handoff_id)


async def test_same_submission_key_twice_is_one_handoff(session_factory: Factory) -> None:
    async with session_factory() as session:
        first = await create_handoff(session=session, data=new_handoff("V-1"), outbox=notices("V-1"), now=NOW)
        second = await create_handoff(
            session=session,
            data=new_handoff("V-1", make_memo("別の会社")),
            outbox=notices("V-1"),
            now=NOW + timedelta(seconds=1),
        )
    assert first.created and not second.created
    assert second.handoff == first.handoff
    assert await count(session_factory, Handoff) == 1
    assert await count(session_factory, HandoffEvent) == 1
    assert await count(session_factory, OutboxMessage) == 2


async def test_concurrent_creates_with_the_same_key(session_factory: Factory) -> None:
    async def submit(company: str) -> bool:
        async with session_factory() as session:
            result = await create_handoff(
                session=session,
                data=new_handoff("V-race", make_memo(company)),
                outbox=notices("V-race"),
                now=NOW,
            )
            return result.created

    outcomes = await asyncio.gather(*(submit(f"Co {i}") for i in range(4)))
    assert sorted(outcomes) == [False, False, False, True]
    assert await count(session_factory, Handoff) == 1
    assert await count(session_factory, HandoffEvent) == 1
    assert await count(session_factory, OutboxMessage) == 2


async def test_naive_datetimes_are_refused(session_factory: Factory) -> None:
    async with session_factory() as session:
        with pytest.raises(StatementError, match="naive datetime"):
            await create_handoff(session=session, data=new_handoff(), now=datetime(2025, 1, 1))
    assert await count(session_factory, Handoff) == 0


async def test_decide_accept(session_factory: Factory) -> None:
    handoff_id = await create(session_factory)
    later = NOW + timedelta(minutes=5)
    async with session_factory() as session:
        result = await decide_handoff(
            session=session,
            handoff_id=handoff_id,
            actor_id="UFS0001",
            decision=EventKind.ACCEPTED,
            now=later,
            outbox=[NewOutbox(kind="decision_dm", dedupe_key=f"decision:{handoff_id}")],
        )
    assert result.outcome == "applied"
    assert result.handoff is not None
    assert result.handoff.status is HandoffStatus.ACCEPTED
    assert result.handoff.decided_by == "UFS0001"
    assert result.handoff.decided_at == later and result.handoff.decided_at.tzinfo is UTC
    assert result.handoff.return_reason is None

    events = await _events(session_factory, handoff_id)
    assert [(e.kind, e.actor_user_id, e.at) for e in events] == [
        (EventKind.SUBMITTED, "UIS0001", NOW),
        (EventKind.ACCEPTED, "UFS0001", later),
    ]
    async with session_factory() as session:
        row = await session.scalar(select(Handoff).where(Handoff.id == handoff_id))
        assert row is not None and row.version == 2
        outbox = (await session.scalars(select(OutboxMessage))).all()
    assert [(o.kind, o.handoff_id, o.next_attempt_at) for o in outbox] == [("decision_dm", handoff_id, later)]


async def test_decide_return_then_already_decided(session_factory: Factory) -> None:
    handoff_id = await create(session_factory)
    async with session_factory() as session:
        returned = await decide_handoff(
            session=session,
            handoff_id=handoff_id,
            actor_id="UFS0001",
            decision=EventKind.RETURNED,
            now=NOW,
            reason=ReturnReason.BANT_INCOMPLETE,
            note="予算の裏付けがない",
        )
        # the same session again: answers from the database, not from its identity map
        again = await decide_handoff(
            session=session,
            handoff_id=handoff_id,
            actor_id="UMGR001",
            decision=EventKind.ACCEPTED,
            now=NOW + timedelta(minutes=1),
            outbox=[NewOutbox(kind="decision_dm", dedupe_key="never")],
        )
    assert returned.outcome == "applied"
    assert returned.handoff is not None
    assert returned.handoff.status is HandoffStatus.RETURNED
    assert returned.handoff.return_reason is ReturnReason.BANT_INCOMPLETE
    assert returned.handoff.return_note == "予算の裏付けがない"

    assert again.outcome == "already_decided"
    assert again.handoff == returned.handoff  # as the first decision left it
    events = await _events(session_factory, handoff_id)
    assert [e.kind for e in events] == [EventKind.SUBMITTED, EventKind.RETURNED]
    assert events[1].detail == {"reason": "bant_incomplete", "note": "予算の裏付けがない"}
    assert await count(session_factory, OutboxMessage) == 0


async def test_decide_unknown_handoff(session_factory: Factory) -> None:
    async with session_factory() as session:
        result = await decide_handoff(
            session=session, handoff_id=999, actor_id="U1", decision=EventKind.ACCEPTED, now=NOW
        )
    assert result.outcome == "not_found" and result.handoff is None


async def test_decide_refuses_non_decisions(session_factory: Factory) -> None:
    handoff_id = await create(session_factory)
    async with session_factory() as session:
        with pytest.raises(ValueError):
            await decide_handoff(
                session=session, handoff_id=handoff_id, actor_id="U1", decision=EventKind.SUBMITTED, now=NOW
            )
        with pytest.raises(ValueError):
            await decide_handoff(
                session=session,
                handoff_id=handoff_id,
                actor_id="U1",
                decision=EventKind.ACCEPTED,
                now=NOW,
                reason=ReturnReason.OTHER,
            )


async def test_concurrent_decisions_apply_exactly_once(session_factory: Factory) -> None:
    for round_ in range(3):
        handoff_id = await create(session_factory, key=f"V-{round_}")

        async def decide(actor: str, decision: EventKind, handoff_id: int = handoff_id) -> str:
            async with session_factory() as session:
                result = await decide_handoff(
                    session=session,
                    handoff_id=handoff_id,
                    actor_id=actor,
                    decision=decision,
                    now=NOW,
                    reason=ReturnReason.TOO_EARLY if decision is EventKind.RETURNED else None,
                    outbox=[NewOutbox(kind="decision_dm", dedupe_key=f"decision:{handoff_id}:{actor}")],
                )
                return result.outcome

        outcomes = await asyncio.gather(
            decide("UFS0001", EventKind.ACCEPTED),
            decide("UFS0002", EventKind.ACCEPTED),
            decide("UMGR001", EventKind.RETURNED),
        )
        assert sorted(outcomes) == ["already_decided", "already_decided", "applied"]
        events = await _events(session_factory, handoff_id)
        assert events[0].kind is EventKind.SUBMITTED
        assert len(events) == 2
        async with session_factory() as session:
            outbox = await session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.handoff_id == handoff_id)
            )
            row = await session.scalar(select(Handoff).where(Handoff.id == handoff_id))
        assert outbox == 1
        assert row is not None and row.version == 2


async def test_record_event_with_outbox(session_factory: Factory) -> None:
    handoff_id = await create(session_factory)
    asked = NOW + timedelta(minutes=2)
    async with session_factory() as session:
        await record_event(
            session=session,
            handoff_id=handoff_id,
            kind=EventKind.QUESTION_ASKED,
            actor_id="UFS0001",
            now=asked,
            detail={"question": "決裁者は誰ですか？"},
            outbox=[NewOutbox(kind="question", dedupe_key="question:1", payload={"text": "決裁者は？"})],
        )
    events = await _events(session_factory, handoff_id)
    assert [(e.kind, e.actor_user_id, e.at, e.detail) for e in events][1:] == [
        (EventKind.QUESTION_ASKED, "UFS0001", asked, {"question": "決裁者は誰ですか？"})
    ]
    async with session_factory() as session:
        claimed = await claim_due(session=session, now=asked, owner="w", lease=LEASE)
    assert [(c.kind, c.handoff_id, c.payload) for c in claimed] == [
        ("question", handoff_id, {"text": "決裁者は？"})
    ]


async def test_record_event_repeated_with_same_outbox_key_writes_nothing(
    session_factory: Factory,
) -> None:
    handoff_id = await create(session_factory)
    outbox = [NewOutbox(kind="question", dedupe_key="question:1:V1", payload={"text": "?"})]
    results = []
    for _ in range(2):
        async with session_factory() as session:
            results.append(
                await record_event(
                    session=session,
                    handoff_id=handoff_id,
                    kind=EventKind.QUESTION_ASKED,
                    actor_id="UFS0001",
                    now=NOW,
                    outbox=outbox,
                )
            )
    assert results == [True, False]
    kinds = [e.kind for e in await _events(session_factory, handoff_id)]
    assert kinds.count(EventKind.QUESTION_ASKED) == 1
    assert await count(session_factory, OutboxMessage) == 1


async def test_record_event_errors(session_factory: Factory) -> None:
    handoff_id = await create(session_factory)
    async with session_factory() as session:
        with pytest.raises(HandoffNotFoundError):
            await record_event(
                session=session, handoff_id=4242, kind=EventKind.QUESTION_ASKED, actor_id="U1", now=NOW
            )
        with pytest.raises(ValueError):
            await record_event(
                session=session, handoff_id=handoff_id, kind=EventKind.ACCEPTED, actor_id="U1", now=NOW
            )
        # the session is usable after the failures
        assert (await get_handoff(session=session, handoff_id=handoff_id)) is not None
    assert await count(session_factory, HandoffEvent) == 1


async def notice_in_channel(session: AsyncSession, handoff_id: int, **extra: Any) -> bool:
    """The channel notice recorded as posted at CFS0001 / 1.000100."""
    return await record_notice(
        session=session,
        handoff_id=handoff_id,
        where="channel",
        channel_id="CFS0001",
        ts="1.000100",
        now=NOW,
        **extra,
    )


async def test_record_notice_is_idempotent(session_factory: Factory) -> None:
    handoff_id = await create(session_factory)
    async with session_factory() as session:
        assert await notice_in_channel(session, handoff_id)
        assert not await notice_in_channel(session, handoff_id)
        assert await record_notice(
            session=session, handoff_id=handoff_id, where="dm", channel_id="DFS0001", ts="2.000200", now=NOW
        )
        assert not await record_notice(
            session=session, handoff_id=handoff_id, where="dm", channel_id="DFS0001", ts="2.000200", now=NOW
        )
        assert not await record_notice(
            session=session, handoff_id=777, where="dm", channel_id="DFS0001", ts="2.000200", now=NOW
        )
        got = await get_handoff(session=session, handoff_id=handoff_id)
    assert got is not None
    assert (got.notice_channel_id, got.notice_ts, got.dm_channel_id, got.dm_ts) == (
        "CFS0001",
        "1.000100",
        "DFS0001",
        "2.000200",
    )
    events = await _events(session_factory, handoff_id)
    assert [(e.kind, e.detail) for e in events] == [
        (EventKind.SUBMITTED, {}),
        (EventKind.NOTICE_POSTED, {"channel_id": "CFS0001", "ts": "1.000100"}),
    ]


async def test_deleting_a_handoff_cascades(session_factory: Factory) -> None:
    keep = await create(session_factory, key="V-keep", outbox=notices("V-keep"))
    gone = await create(session_factory, key="V-gone", outbox=notices("V-gone"))
    async with session_factory() as session:
        await record_event(
            session=session, handoff_id=gone, kind=EventKind.QUESTION_ASKED, actor_id="U1", now=NOW
        )
        await session.execute(delete(Handoff).where(Handoff.id == gone))
        await session.commit()
    assert await count(session_factory, Handoff) == 1
    async with session_factory() as session:
        event_owners = set((await session.scalars(select(HandoffEvent.handoff_id))).all())
        outbox_owners = set((await session.scalars(select(OutboxMessage.handoff_id))).all())
    assert event_owners == {keep}
    assert outbox_owners == {keep}


# --- outbox -----------------------------------------------------------------------------------------


async def test_enqueue_ignores_duplicate_keys(session_factory: Factory) -> None:
    handoff_id = await create(session_factory, outbox=notices("V-1"))
    async with session_factory() as session:
        await enqueue(
            session=session,
            messages=[*notices("V-1"), NewOutbox(kind="notice_refresh", dedupe_key="refresh:1")],
            handoff_id=handoff_id,
            now=NOW,
        )
        await enqueue(
            session=session,
            messages=[NewOutbox(kind="notice_refresh", dedupe_key="refresh:1", payload={"other": 1})],
            handoff_id=handoff_id,
            now=NOW,
        )
        await enqueue(session=session, messages=[], handoff_id=None, now=NOW)
        assert await pending_count(session=session) == 3
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert [r.dedupe_key for r in rows] == ["notice_channel:V-1", "notice_dm:V-1", "refresh:1"]
    assert rows[2].payload == {}


async def test_a_notice_recorded_with_its_outbox_row_marks_the_row_done_in_the_same_commit(
    session_factory: Factory,
) -> None:
    handoff_id = await create(session_factory, outbox=notices("V-1"))
    async with session_factory() as session:
        channel_row, dm_row = await claim_due(session=session, now=NOW, owner="w", lease=LEASE)
        assert await notice_in_channel(session, handoff_id, done_item_id=channel_row.id)
        rows = {
            row.id: row
            for row in await session.scalars(select(OutboxMessage).execution_options(populate_existing=True))
        }
    assert rows[channel_row.id].done_at == NOW and rows[channel_row.id].lease_owner is None
    assert rows[dm_row.id].done_at is None and rows[dm_row.id].lease_owner == "w"  # untouched


async def test_a_confirmation_recorded_and_read_back_in_one_trip(session_factory: Factory) -> None:
    """record_notice_and_read: the record (its outbox row marked done in the same commit) and the toss-up
    as it is once recorded, a decision made before it included."""
    handoff_id = await create(session_factory, outbox=notices("V-1"))
    async with session_factory() as session:
        await decide_handoff(
            session=session, handoff_id=handoff_id, actor_id="UFS0001", decision=EventKind.ACCEPTED, now=NOW
        )
    async with session_factory() as session:
        row, _ = await claim_due(session=session, now=NOW, owner="w", lease=LEASE)
        current = await record_notice_and_read(
            session=session,
            handoff_id=handoff_id,
            where="is_dm",
            channel_id="DIS0001",
            ts="1.000200",
            now=NOW,
            done_item_id=row.id,
        )
        done = await session.scalar(select(OutboxMessage.done_at).where(OutboxMessage.id == row.id))
    assert current is not None and (current.is_dm_channel_id, current.is_dm_ts) == ("DIS0001", "1.000200")
    assert current.status is HandoffStatus.ACCEPTED and done == NOW
    async with session_factory() as session:
        assert (
            await record_notice_and_read(
                session=session, handoff_id=999_999, where="is_dm", channel_id="D", ts="1.1", now=NOW
            )
            is None
        )


async def test_one_statement_counts_only_the_new_rows_of_a_batch(session_factory: Factory) -> None:
    handoff_id = await create(session_factory, outbox=notices("V-1"))
    fresh = NewOutbox(kind="notice_refresh", dedupe_key="refresh:2")
    async with session_factory() as session, session.begin():
        assert await add_outbox_rows(session, [*notices("V-1"), fresh], handoff_id=handoff_id, now=NOW) == 1
        assert await is_repeat(session, [*notices("V-1"), fresh], handoff_id=handoff_id, now=NOW)
        assert not await is_repeat(
            session, [fresh, NewOutbox(kind="k", dedupe_key="new")], handoff_id=None, now=NOW
        )


async def test_enqueue_without_handoff(session_factory: Factory) -> None:
    async with session_factory() as session:
        await enqueue(
            session=session, messages=[NewOutbox(kind="k", dedupe_key="d")], handoff_id=None, now=NOW
        )
        items = await claim_due(session=session, now=NOW, owner="w", lease=LEASE)
    assert [(i.handoff_id, i.kind, i.dedupe_key, i.attempts, i.created_at) for i in items] == [
        (None, "k", "d", 0, NOW)
    ]


async def test_claim_respects_next_attempt_at_and_leases(session_factory: Factory) -> None:
    async with session_factory() as session:
        await enqueue(
            session=session, messages=[NewOutbox(kind="k", dedupe_key="early")], handoff_id=None, now=NOW
        )
        await enqueue(
            session=session,
            messages=[NewOutbox(kind="k", dedupe_key="late")],
            handoff_id=None,
            now=NOW + timedelta(minutes=10),
        )
        assert await claim_due(session=session, now=NOW - timedelta(seconds=1), owner="a", lease=LEASE) == []
        first = await claim_due(session=session, now=NOW, owner="a", lease=LEASE)
        assert [i.dedupe_key for i in first] == ["early"]
        # leased: nobody else gets it, not even the same owner, until the lease ends
        assert await claim_due(session=session, now=NOW + timedelta(seconds=10), owner="b", lease=LEASE) == []
        # the later one becomes due on time
        later = await claim_due(session=session, now=NOW + timedelta(minutes=10), owner="b", lease=LEASE)
        assert [i.dedupe_key for i in later] == ["early", "late"]  # "early"'s lease expired meanwhile
        assert await pending_count(session=session) == 2


async def test_claim_limit_order_and_handoff_filter(session_factory: Factory) -> None:
    one = await create(session_factory, key="V-1", outbox=notices("V-1"))
    two = await create(session_factory, key="V-2", outbox=notices("V-2"))
    async with session_factory() as session:
        only_two = await claim_due(session=session, now=NOW, owner="a", lease=LEASE, handoff_id=two)
        assert [i.handoff_id for i in only_two] == [two, two]
        assert await claim_due(session=session, now=NOW, owner="a", lease=LEASE, limit=0) == []
        three = await create(session_factory, key="V-3", outbox=notices("V-3"))
        # the limit is reached at one's first row: the batch takes the rest of that toss-up, no more
        limited = await claim_due(session=session, now=NOW, owner="a", lease=LEASE, limit=1)
        assert [(i.handoff_id, i.kind) for i in limited] == [(one, "notice_channel"), (one, "notice_dm")]
        rest = await claim_due(session=session, now=NOW, owner="a", lease=LEASE)
        assert [(i.handoff_id, i.kind) for i in rest] == [(three, "notice_channel"), (three, "notice_dm")]


async def test_a_batch_never_ends_inside_a_toss_up_whoever_claims_next(session_factory: Factory) -> None:
    """Two processes' drains: the first's batch reaches its limit at a toss-up's notice; the second must not
    get that toss-up's DM copy (sent beside the notice it waits for, it would find it not posted yet and
    wait for the next poll). A drain of some kinds only takes just those."""
    first = await create(session_factory, key="V-1", outbox=notices("V-1"))
    second = await create(session_factory, key="V-2", outbox=notices("V-2"))
    async with session_factory() as session:
        only_channel = await claim_due(
            session=session, now=NOW, owner="kinds", lease=LEASE, limit=1, kinds=["notice_channel"]
        )
        assert [(i.handoff_id, i.kind) for i in only_channel] == [(first, "notice_channel")]
        batch = await claim_due(session=session, now=NOW, owner="replica-a", lease=LEASE, limit=2)
        assert [(i.handoff_id, i.kind) for i in batch] == [
            (first, "notice_dm"),
            (second, "notice_channel"),
            (second, "notice_dm"),
        ]
        assert await claim_due(session=session, now=NOW, owner="replica-b", lease=LEASE) == []


async def test_concurrent_claimers_never_share_a_row(session_factory: Factory) -> None:
    async with session_factory() as session:
        await enqueue(
            session=session,
            messages=[NewOutbox(kind="k", dedupe_key=f"m{i}") for i in range(30)],
            handoff_id=None,
            now=NOW,
        )

    async def worker(name: str) -> list[int]:
        async with session_factory() as session:
            return [
                i.id for i in await claim_due(session=session, now=NOW, owner=name, lease=LEASE, limit=20)
            ]

    results = await asyncio.gather(*(worker(f"w{n}") for n in range(4)))
    claimed = [item for result in results for item in result]
    assert len(claimed) == len(set(claimed)) == 30  # 4 workers x limit 20: all taken, none twice
    again = await asyncio.gather(*(worker(f"w{n}") for n in range(4)))
    assert again == [[], [], [], []]  # everything is leased now
    async with session_factory() as session:
        rows = (await session.execute(select(OutboxMessage.id, OutboxMessage.lease_owner))).all()
    owners = {row.id: row.lease_owner for row in rows}
    for n, result in enumerate(results):
        assert all(owners[item] == f"w{n}" for item in result)


async def test_mark_done(session_factory: Factory) -> None:
    async with session_factory() as session:
        await enqueue(
            session=session, messages=[NewOutbox(kind="k", dedupe_key="d")], handoff_id=None, now=NOW
        )
        [item] = await claim_due(session=session, now=NOW, owner="a", lease=LEASE)
        assert await mark_done(session=session, item_id=item.id, owner="a", now=NOW + timedelta(seconds=1))
        assert not await mark_done(
            session=session, item_id=item.id, owner="a", now=NOW + timedelta(seconds=2)
        )
        assert await pending_count(session=session) == 0
        assert await claim_due(session=session, now=NOW + timedelta(hours=1), owner="b", lease=LEASE) == []
        row = await session.scalar(select(OutboxMessage))
    assert row is not None
    assert row.done_at == NOW + timedelta(seconds=1) and row.done_at.tzinfo is UTC
    assert row.lease_owner is None and row.lease_until is None
    # done keys stay: enqueueing the same key again does not post twice
    async with session_factory() as session:
        await enqueue(
            session=session, messages=[NewOutbox(kind="k", dedupe_key="d")], handoff_id=None, now=NOW
        )
        assert await pending_count(session=session) == 0


async def test_mark_failed_retries_then_gives_up(session_factory: Factory) -> None:
    async with session_factory() as session:
        await enqueue(
            session=session, messages=[NewOutbox(kind="k", dedupe_key="d")], handoff_id=None, now=NOW
        )
        [item] = await claim_due(session=session, now=NOW, owner="a", lease=LEASE)
        retry_at = NOW + timedelta(minutes=1)
        assert await mark_failed(
            session=session, item_id=item.id, owner="a", now=NOW, error="ratelimited", retry_at=retry_at
        )
        # not due before retry_at, even though the lease was released
        assert (
            await claim_due(session=session, now=retry_at - timedelta(seconds=1), owner="a", lease=LEASE)
            == []
        )
        [again] = await claim_due(session=session, now=retry_at, owner="b", lease=LEASE)
        assert again.id == item.id and again.attempts == 1
        # only the lease holder may fail it
        assert not await mark_failed(
            session=session, item_id=item.id, owner="a", now=retry_at, error="x", retry_at=None
        )
        assert await mark_failed(
            session=session,
            item_id=item.id,
            owner="b",
            now=retry_at,
            error="channel_not_found",
            retry_at=None,
        )
        assert await pending_count(session=session) == 0
        assert await claim_due(session=session, now=NOW + timedelta(days=1), owner="c", lease=LEASE) == []
        row = await session.scalar(select(OutboxMessage).execution_options(populate_existing=True))
    assert row is not None
    assert row.attempts == 2
    assert row.last_error == "channel_not_found"
    assert row.given_up_at == retry_at
    assert row.done_at is None and row.lease_owner is None


async def test_expired_lease_can_be_reclaimed(session_factory: Factory) -> None:
    async with session_factory() as session:
        await enqueue(
            session=session, messages=[NewOutbox(kind="k", dedupe_key="d")], handoff_id=None, now=NOW
        )
        [item] = await claim_due(session=session, now=NOW, owner="crashed", lease=LEASE)
        assert await claim_due(session=session, now=NOW + LEASE, owner="b", lease=LEASE) == []
        [again] = await claim_due(
            session=session, now=NOW + LEASE + timedelta(seconds=1), owner="b", lease=LEASE
        )
        assert again.id == item.id
        row = await session.scalar(select(OutboxMessage).execution_options(populate_existing=True))
        assert row is not None and row.lease_owner == "b"
        assert row.lease_until == NOW + 2 * LEASE + timedelta(seconds=1)
        # the late first worker cannot fail it under the new owner's feet
        assert not await mark_failed(
            session=session, item_id=item.id, owner="crashed", now=NOW, error="x", retry_at=NOW
        )
        assert await mark_done(session=session, item_id=item.id, owner="b", now=NOW + timedelta(minutes=1))


async def test_list_handoffs_filters_newest_first(session_factory: Factory) -> None:
    async with session_factory() as session:
        for i, (fs_user, minutes) in enumerate([("UFS0001", 0), (None, 1), ("UFS0002", 2), ("UFS0001", 3)]):
            data = replace(new_handoff(f"V-{i}"), fs_user_id=fs_user)
            await create_handoff(session=session, data=data, now=NOW + timedelta(minutes=minutes))
        mine = await list_handoffs(session=session, fs_user_id="UFS0001")
        mine_or_open = await list_handoffs(session=session, fs_user_id="UFS0001", unassigned=True)
        open_only = await list_handoffs(session=session, unassigned=True)
        by_is = await list_handoffs(session=session, is_user_id="UIS0001", limit=2)
        none_pending = await list_handoffs(session=session, statuses=[HandoffStatus.ACCEPTED])
    assert [h.created_at for h in mine] == [NOW + timedelta(minutes=3), NOW]
    assert [h.fs_user_id for h in mine_or_open] == ["UFS0001", None, "UFS0001"]
    assert [h.fs_user_id for h in open_only] == [None]
    assert len(by_is) == 2 and by_is[0].created_at == NOW + timedelta(minutes=3)
    assert none_pending == []
