"""Issue 13: the cause of `test_the_full_loop_from_toss_up_to_kpis`'s rare failure, made certain.

A handler's own drain was still between Slack's answer to a notice update and recording it done when the
clock jumped past the row's lease (the test moves its clock by hours; in production a VM resumed or an
NTP step does it, or a send slower than the lease). The next drain of the same process took the row as
"in doubt" and sent the notice update twice, so the notice's `chat.update`s were counted wrong. A process
now never claims a row it is itself sending; another process still takes over a dead one's rows.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.delivery import PostKind
from modals.ids import ActionId, CallbackId
from store.models import OutboxMessage
from tests.conftest import FS_USER, Harness
from tests.test_feedback_flow import accepted, open_modal, sheet_values, submit


async def refresh_row(h: Harness) -> OutboxMessage | None:
    async with h.bot.services.sessions() as session:
        return await session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.kind == PostKind.NOTICE_REFRESH,
                OutboxMessage.dedupe_key.not_like("%:accepted"),
            )
        )


async def test_a_row_being_sent_is_not_sent_again_by_its_own_process_when_the_clock_jumps(
    harness: Harness,
) -> None:
    h = harness
    handoff = await accepted(h)
    # the acceptance's channel notice, its DM copy and the IS rep's confirmation
    assert len(h.slack.calls_to("chat.update")) == 3
    h.slack.slow("chat.update", 0.4)  # the feedback sheet's notice update is still under way …
    modal = await open_modal(h, ActionId.FEEDBACK_OPEN, handoff.id, user=FS_USER)
    assert (await submit(h, CallbackId.FEEDBACK_SHEET, modal, sheet_values(), user=FS_USER)).status == 200
    for _ in range(100):
        row = await refresh_row(h)
        if row is not None and row.lease_owner is not None:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the notice update was never claimed")
    h.clock.advance(hours=2)  # … when the clock passes its 5-minute lease
    await h.bot.delivery.drain()  # the scheduler's drain, in the same process
    h.slack.slow("chat.update", 0)
    await h.slack.wait_for("chat.update", count=6)
    for _ in range(100):  # the handler's drain records it done
        row = await refresh_row(h)
        if row is not None and row.done_at is not None:
            break
        await asyncio.sleep(0.02)
    await h.bot.delivery.drain()
    assert len(h.slack.calls_to("chat.update")) == 6  # the sheet's three updates, once each
    row = await refresh_row(h)
    assert row is not None and row.done_at is not None and not row.in_doubt
