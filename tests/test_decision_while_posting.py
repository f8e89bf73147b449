"""FS decides while the toss-up's notice, its DM copy or the IS rep's confirmation is still being posted
(Slack slow), and another replica runs the decision's refresh before that post is recorded: the refresh
cannot update a message it does not know yet, so each post reads the toss-up back with its record and
brings itself up to date in place. Over the wire, both databases; the second replica is a second
`Delivery` on the same database draining what is due."""

from __future__ import annotations

import asyncio
import json

import pytest

from modals.ids import ActionId
from tests.conftest import FS_CHANNEL, FS_USER, IS_USER, Harness
from tests.db_fixtures import BACKENDS
from tests.test_tossup_flow import click, confirmation_recorded, only_handoff, submit_memo

HELD_IN = {"notice": FS_CHANNEL, "dm copy": f"D{FS_USER}", "confirmation": f"D{IS_USER}"}


@pytest.mark.takes(3)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("held", list(HELD_IN))
async def test_a_decision_while_a_post_is_under_way_leaves_no_message_stale(
    harness: Harness, held: str
) -> None:
    h = harness
    other_replica = h.other_replica()
    h.slack.slow("chat.postMessage", 0.8)  # each post answered 0.8 s late: the decision lands meanwhile
    assert (await submit_memo(h)).status == 200
    for _ in range(500):
        if any(channel == HELD_IN[held] for channel, _ in h.slack.messages):
            break
        await asyncio.sleep(0.01)
    handoff = await only_handoff(h)
    notice_ts = next((ts for channel, ts in h.slack.messages if channel == FS_CHANNEL), None)
    await click(h, ActionId.HANDOFF_ACCEPT, handoff.id, user=FS_USER, ts=notice_ts)
    for _ in range(500):
        if (await only_handoff(h)).status.value != "pending":
            break
        await asyncio.sleep(0.01)
    await other_replica.drain()  # the decision's rows, taken by the other replica before the post is recorded
    await confirmation_recorded(h)
    await h.bot.delivery.settled()
    h.slack.slow("chat.postMessage", 0)

    stored = await only_handoff(h)
    notice = h.slack.message(FS_CHANNEL, stored.notice_ts)
    dm_copy = h.slack.message(stored.dm_channel_id, stored.dm_ts)
    confirmation = h.slack.message(stored.is_dm_channel_id, stored.is_dm_ts)
    assert stored.status.value == "accepted"
    assert ActionId.HANDOFF_ACCEPT not in json.dumps(notice["blocks"])  # no Accept button left anywhere
    assert ActionId.HANDOFF_ACCEPT not in json.dumps(dm_copy["blocks"])
    assert ActionId.HANDOFF_EDIT not in json.dumps(confirmation["blocks"])  # nor the IS rep's Edit
