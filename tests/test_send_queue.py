"""The bounded queue of sends that follow requests (bot.send_queue), run directly: no Slack, no database."""

from __future__ import annotations

import asyncio

from bot.send_queue import SendQueue


async def test_join_returns_once_every_kicked_key_was_sent_and_a_key_kicked_twice_is_sent_once() -> None:
    sent: list[int] = []
    release = asyncio.Event()

    async def send(key: int) -> None:
        await release.wait()
        sent.append(key)

    queue = SendQueue(send, workers=2)
    for key in (1, 2, 2, 3):  # 2 kicked again while it waits: queued once
        assert queue.kick(key)
    joined = asyncio.create_task(queue.join())
    await asyncio.sleep(0.01)
    assert not joined.done()  # nothing sent yet
    release.set()
    await asyncio.wait_for(joined, 1)
    assert sorted(sent) == [1, 2, 3]
    await queue.close(grace=1)


async def test_a_failing_send_is_counted_done_and_the_worker_goes_on() -> None:
    sent: list[int] = []

    async def send(key: int) -> None:
        if key == 1:
            raise RuntimeError("Slack down")
        sent.append(key)

    queue = SendQueue(send, workers=1)
    queue.kick(1)
    queue.kick(2)
    await asyncio.wait_for(queue.join(), 1)
    assert sent == [2]
    await queue.close(grace=1)
