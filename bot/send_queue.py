"""The sends that follow a request, bounded: a request is answered at once and names what is due now (a
toss-up's id); a few workers send it. A burst of submissions then never has 50 sends fighting the next
submissions' acks for the event loop and the database.

The queue only says "look now": what to send is in the outbox, committed before the request was answered.
A hint dropped (queue full, process stopped) is sent by the outbox's retry loop at its next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class SendQueue:
    def __init__(
        self, send: Callable[[int], Awaitable[object]], *, workers: int, capacity: int = 1000
    ) -> None:
        self._send = send
        self._workers_max = workers
        self._queue: asyncio.Queue[int] = asyncio.Queue(capacity)
        self._queued: set[int] = set()  # a toss-up already waiting is not queued twice
        self._workers: list[asyncio.Task[None]] = []

    def kick(self, key: int) -> bool:
        """Have `key`'s due messages sent soon; False when the queue is full (the retry loop sends them)."""
        if key in self._queued:
            return True
        try:
            self._queue.put_nowait(key)
        except asyncio.QueueFull:
            log.warning("the send queue is full; toss-up %s is sent at the outbox's next poll", key)
            return False
        self._queued.add(key)
        if len(self._workers) < self._workers_max:  # started on demand, in the loop that serves requests
            self._workers.append(asyncio.create_task(self._work(), name=f"tossup-send-{len(self._workers)}"))
        return True

    async def _work(self) -> None:
        while True:
            key = await self._queue.get()
            self._queued.discard(key)  # changes from here on need another look: queue it again
            try:
                await self._send(key)
            except Exception:
                log.exception("sending what is due for toss-up %s failed; the retry loop tries again", key)
            finally:
                self._queue.task_done()

    async def join(self) -> None:
        """Until every key kicked so far has been sent (or tried)."""
        await self._queue.join()

    async def close(self, grace: float) -> None:
        """Let what is queued go out for up to `grace` seconds, then stop the workers."""
        if self._workers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), grace)
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers.clear()
