"""Issue 10: the outbox leases a batch of rows in one transaction (not one transaction per row), and never
lets a lease run out mid-send: once half the lease is gone the untried rows are given back, not left to
expire (a row whose lease expired is "in doubt" and costs a search of the channel before it is sent).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.delivery import CLAIM_BATCH, PostKind, submission_posts, utc_now
from store.handoffs import create_handoff
from store.models import OutboxMessage
from store.outbox import NewOutbox, enqueue
from tests.conftest import Harness
from tests.test_store import new_handoff
from tests.test_tossup_flow import tossed_up


async def leased_by(h: Harness, owner: str) -> int:
    async with h.bot.services.sessions() as session:
        rows = await session.scalars(select(OutboxMessage.id).where(OutboxMessage.lease_owner == owner))
        return len(rows.all())


async def test_a_batch_gives_back_what_it_has_no_lease_left_for_and_sends_each_once(harness: Harness) -> None:
    h = harness
    handoff = await tossed_up(h)
    await h.bot.delivery.wait_idle()
    updates_before = len(h.slack.calls_to("chat.update"))
    async with h.bot.services.sessions() as session:
        await enqueue(
            session=session,
            messages=[NewOutbox(PostKind.NOTICE_REFRESH, f"batch-refresh-{n}") for n in range(3)],
            handoff_id=handoff.id,
            now=datetime.now(UTC),
        )
    # A real clock and a 1-second lease: each refresh (three chat.updates of 0.2 s: the channel notice, the
    # FS rep's DM copy, the IS rep's confirmation) takes more than half.
    worker = h.other_replica(clock=utc_now, lease=timedelta(seconds=1))
    replica = h.other_replica(clock=utc_now, lease=timedelta(seconds=1))
    h.slack.slow("chat.update", 0.2)
    first = asyncio.create_task(worker.drain())
    for _ in range(500):  # the first worker leases the batch …
        if await leased_by(h, worker.owner):
            break
        await asyncio.sleep(0.01)
    sent_by_replica = 0
    while not first.done():  # … while another replica keeps looking for rows whose lease ran out
        sent_by_replica += await replica.drain()
        await asyncio.sleep(0.05)
    assert await first + sent_by_replica == 3
    h.slack.slow("chat.update", 0)

    assert len(h.slack.calls_to("chat.update")) - updates_before == 9  # 3 refreshes × 3 messages
    assert h.slack.calls_to("conversations.history") == []  # no lease ran out: nothing was in doubt
    async with h.bot.services.sessions() as session:
        rows = (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.dedupe_key.like("batch-refresh-%"))
            )
        ).all()
    assert [(row.done_at is not None, row.in_doubt, row.attempts) for row in rows] == [(True, False, 0)] * 3


async def test_drain_returns_once_what_another_drain_of_the_process_holds_is_sent(harness: Harness) -> None:
    """The CI failure of 2026-12-03: a tick's drain returned while the post-ack drain, still looping, held
    the rows the tick had just queued; the test then read Slack before they were sent."""
    h = harness
    handoff = await tossed_up(h)
    await h.bot.delivery.wait_idle()
    async with h.bot.services.sessions() as session:
        await enqueue(
            session=session,
            messages=[NewOutbox(PostKind.NOTICE_REFRESH, "held-refresh")],
            handoff_id=handoff.id,
            now=h.clock(),
        )
    updates_before = len(h.slack.calls_to("chat.update"))
    h.slack.slow("chat.update", 0.2)
    try:
        holder = asyncio.create_task(h.bot.delivery.drain())
        for _ in range(500):  # the first drain holds the row …
            if await leased_by(h, h.bot.delivery.owner):
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the first drain never leased the row")
        assert await h.bot.delivery.drain() == 0  # … a second one sends nothing itself, and waits for it
        assert (
            len(h.slack.calls_to("chat.update")) - updates_before == 3
        )  # the notice, its DM copy, the IS DM
        assert await holder == 1
    finally:
        h.slack.slow("chat.update", 0)


async def test_a_batch_that_cuts_a_toss_up_in_two_never_sends_its_confirmation_ahead_of_its_notice(
    harness: Harness,
) -> None:
    """Seen in bench.load at 1 in flight: a drain's batch of CLAIM_BATCH rows ended with a toss-up's
    notice; the post-ack send of that toss-up took its confirmation, found the notice not posted yet and
    put it off to the retry loop's next poll (~15 s late for the IS rep)."""
    h = harness
    services = h.bot.services
    per_toss_up = len(submission_posts(submission_key="x"))
    count = CLAIM_BATCH // per_toss_up + 1  # the first batch ends inside the last toss-up
    async with services.sessions() as session:
        stored = [
            (
                await create_handoff(
                    session=session,
                    data=new_handoff(f"V-CUT-{n}"),
                    outbox=submission_posts(submission_key=f"V-CUT-{n}"),
                    now=h.clock(),
                )
            ).handoff
            for n in range(count)
        ]
    cut = stored[-1]
    h.slack.slow("chat.postMessage", 0.1)
    try:
        first = asyncio.create_task(h.bot.delivery.drain())
        for _ in range(500):  # the drain holds its first batch, the cut toss-up's notice last …
            if await leased_by(h, h.bot.delivery.owner):
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the drain never leased its batch")
        await h.bot.delivery.deliver_for(cut.id)  # … when the cut toss-up's own send looks for its posts
        await h.bot.delivery.settled()
        await first
    finally:
        h.slack.slow("chat.postMessage", 0)

    async with services.sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.handoff_id == cut.id))).all()
    # each sent on its first attempt, none put off for a retry
    assert sorted((row.kind, row.done_at is not None, row.attempts) for row in rows) == sorted(
        (post.kind, True, 0) for post in submission_posts(submission_key="x")
    )
    channel = [c for c in h.slack.calls_to("chat.postMessage") if c.args["channel"] == cut.channel_id]
    assert len(channel) == count  # one notice per toss-up, none twice
