"""The collaboration-issue table, on SQLite and PostgreSQL: one issue per submission, closed exactly once,
listed most urgent first."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.issues import ISSUE_ID_MAX, CollabIssue, Level, most_urgent_first
from store.issue_models import CollabIssueRecord
from store.issues import (
    NewIssue,
    close_issue,
    count_open_issues,
    create_issue,
    find_issue_submission,
    get_issue,
    list_closed_issues,
    list_open_issues,
)
from store.models import Base, OutboxMessage
from store.outbox import NewOutbox

Factory = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
H, L = Level.HIGH, Level.LOW


def new_issue(key: str, impact: Level = H, urgency: Level = H, **changes: object) -> NewIssue:
    data: dict[str, object] = {
        "submission_key": key,
        "problem": f"問題 {key}",
        "impact": impact,
        "urgency": urgency,
        "raised_by": "U0IS",
        "owner_id": "U0OWNER",
        "channel_id": "C0GENERAL",
    }
    data.update(changes)
    return NewIssue(**data)  # type: ignore[arg-type]


def owner_dm(issue: CollabIssue) -> list[NewOutbox]:
    return [
        NewOutbox(
            kind="issue_owner_dm", dedupe_key=f"issue_owner_dm:{issue.id}", payload={"issue_id": issue.id}
        )
    ]


async def create(factory: Factory, key: str, *, minutes: int = 0, **kwargs: object) -> CollabIssue:
    async with factory() as session:
        result = await create_issue(
            session=session,
            data=new_issue(key, **kwargs),
            now=NOW + timedelta(minutes=minutes),
            outbox=owner_dm,
        )
    assert result.created
    return result.issue


async def count(factory: Factory, model: type) -> int:
    async with factory() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def close(
    factory: Factory, issue_id: int, who: str = "U0FS", decision: str = "決定", minutes: int = 60
):
    async with factory() as session:
        return await close_issue(
            session=session,
            issue_id=issue_id,
            closed_by=who,
            decision=decision,
            now=NOW + timedelta(minutes=minutes),
            outbox=[
                NewOutbox(kind="issue_closed", dedupe_key=f"issue_closed:{issue_id}", payload={"by": who})
            ],
        )


async def test_migration_matches_the_model(session_factory: Factory) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = session_factory.kw["bind"]
    async with engine.connect() as connection:
        diff = await connection.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
            )
        )
    mine = [d for d in diff if "collab_issues" in repr(d)]
    assert mine == []


async def test_an_issue_is_stored_with_who_and_when_and_read_back(session_factory: Factory) -> None:
    issue = await create(session_factory, "V-1", impact=H, urgency=L)
    assert issue == CollabIssue(
        id=issue.id,
        problem="問題 V-1",
        impact=H,
        urgency=L,
        raised_by="U0IS",
        raised_at=NOW,
        owner_id="U0OWNER",
    )
    async with session_factory() as session:
        assert await get_issue(session=session, issue_id=issue.id) == issue
        assert await find_issue_submission(session=session, submission_key="V-1") == issue
        row = await session.get(CollabIssueRecord, issue.id)
        assert row is not None and row.channel_id == "C0GENERAL"
        (queued,) = (await session.scalars(select(OutboxMessage))).all()
    assert queued.dedupe_key == f"issue_owner_dm:{issue.id}" and queued.payload == {"issue_id": issue.id}
    assert queued.handoff_id is None


async def test_the_same_submission_twice_is_one_issue(session_factory: Factory) -> None:
    first = await create(session_factory, "V-1")
    async with session_factory() as session:
        again = await create_issue(
            session=session, data=new_issue("V-1", problem="other"), now=NOW, outbox=owner_dm
        )
    assert again.created is False and again.issue == first
    assert await count(session_factory, CollabIssueRecord) == 1
    assert await count(session_factory, OutboxMessage) == 1


async def test_two_replicas_storing_the_same_submission_at_once_store_one(session_factory: Factory) -> None:
    async def submit() -> bool:
        async with session_factory() as session:
            result = await create_issue(session=session, data=new_issue("V-race"), now=NOW, outbox=owner_dm)
            return result.created

    results = await asyncio.gather(*(submit() for _ in range(4)))
    assert sorted(results) == [False, False, False, True]
    assert await count(session_factory, CollabIssueRecord) == 1
    assert await count(session_factory, OutboxMessage) == 1


async def test_an_issue_is_closed_once_and_a_second_close_sees_the_first(session_factory: Factory) -> None:
    issue = await create(session_factory, "V-1")
    first = await close(session_factory, issue.id, "U0FS", "理由の選択を必須にする", minutes=60)
    assert first.outcome == "closed" and first.issue is not None
    assert (first.issue.closed_by, first.issue.decision) == ("U0FS", "理由の選択を必須にする")
    assert first.issue.closed_at == NOW + timedelta(minutes=60) and not first.issue.is_open

    second = await close(session_factory, issue.id, "U0MANAGER", "別の決定", minutes=90)
    assert second.outcome == "already_closed" and second.issue == first.issue  # untouched
    assert await count(session_factory, OutboxMessage) == 2  # the owner DM and one close post


async def test_concurrent_closes_close_once(session_factory: Factory) -> None:
    issue = await create(session_factory, "V-1")
    results = await asyncio.gather(
        *(close(session_factory, issue.id, f"U0CLOSER{n}", f"決定 {n}") for n in range(4))
    )
    outcomes = sorted(r.outcome for r in results)
    assert outcomes == ["already_closed"] * 3 + ["closed"]
    winner = next(r for r in results if r.outcome == "closed").issue
    assert all(r.issue == winner for r in results)
    async with session_factory() as session:
        posts = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "issue_closed"))
        ).all()
    assert [p.payload["by"] for p in posts] == [winner.closed_by]


@pytest.mark.parametrize("issue_id", [0, -1, 999_999, ISSUE_ID_MAX, ISSUE_ID_MAX + 1, 2**63, 10**30])
async def test_unknown_and_out_of_range_ids_are_not_found(session_factory: Factory, issue_id: int) -> None:
    await create(session_factory, "V-1")
    async with session_factory() as session:
        assert await get_issue(session=session, issue_id=issue_id) is None
    result = await close(session_factory, issue_id)
    assert result.outcome == "not_found" and result.issue is None
    assert await count(session_factory, OutboxMessage) == 1  # nothing queued for it


async def test_open_issues_most_urgent_first_oldest_first_within(session_factory: Factory) -> None:
    made = [
        await create(session_factory, "consider", impact=L, urgency=L, minutes=0),
        await create(session_factory, "important", impact=H, urgency=L, minutes=1),
        await create(session_factory, "urgent-new", impact=L, urgency=H, minutes=5),
        await create(session_factory, "top-new", impact=H, urgency=H, minutes=6),
        await create(session_factory, "urgent-old", impact=L, urgency=H, minutes=2),
        await create(session_factory, "top-old", impact=H, urgency=H, minutes=3),
        await create(session_factory, "closed", impact=H, urgency=H, minutes=-10),
    ]
    await close(session_factory, made[-1].id)
    async with session_factory() as session:
        listed = await list_open_issues(session=session)
        top_three = await list_open_issues(session=session, limit=3)
        open_count = await count_open_issues(session=session)
    keys = [i.problem.removeprefix("問題 ") for i in listed]
    assert keys == ["top-old", "top-new", "urgent-old", "urgent-new", "important", "consider"]
    assert listed == most_urgent_first(made[:-1])
    assert top_three == listed[:3]  # ordered in SQL, so LIMIT keeps the most urgent
    assert open_count == 6 and all(i.is_open for i in listed)


async def test_closed_issues_of_a_period(session_factory: Factory) -> None:
    issues = [await create(session_factory, f"V-{n}") for n in range(4)]
    for n, minutes in enumerate([-1, 0, 59, 60]):  # closed just before, at the start, inside, at the end
        await close(session_factory, issues[n].id, minutes=minutes)
    async with session_factory() as session:
        closed = await list_closed_issues(session=session, start=NOW, end=NOW + timedelta(minutes=60))
        assert await count_open_issues(session=session) == 0
        assert await list_open_issues(session=session) == []
    assert [i.id for i in closed] == [issues[1].id, issues[2].id]  # [start, end)
    assert all(i.decision == "決定" and i.closed_by == "U0FS" for i in closed)
