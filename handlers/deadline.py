"""Slack waits 3 seconds for an ack; past that Bolt stops waiting for the listener and answers HTTP 404
("unhandled request"), and the person sees a generic error with no idea whether anything was kept.

A modal submission does its checks and its one transaction before it acks (so a refusal can be shown on
the form). `ack_in_time` bounds that: if the work has not acked within ACK_BUDGET_SECONDS of the request's
arrival at the HTTP door (the database locked by a long write, the machine overloaded), the form is
answered with a field error asking to press the button again, and the work goes on in the background.
Whatever it keeps is found again by the view's submission key when the person presses again: nothing is
lost and nothing is kept twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from contextvars import ContextVar
from typing import Any

from slack_bolt.async_app import AsyncAck

ACK_BUDGET_SECONDS = 2.5

# When the request being handled reached the HTTP door (time.monotonic()): Slack's 3 seconds started then,
# not when the listener began (after Bolt's parsing and middleware, which an overloaded machine slows).
# Unset in Socket Mode: the listener's start is the best known.
REQUEST_RECEIVED_AT: ContextVar[float | None] = ContextVar("request_received_at", default=None)

log = logging.getLogger(__name__)
_finishing: set[asyncio.Task[None]] = set()  # late work still running: referenced until it ends


async def ack_in_time(
    ack: AsyncAck,
    work: Coroutine[Any, Any, None],
    *,
    late_errors: dict[str, str],
    budget: float = ACK_BUDGET_SECONDS,
) -> None:
    """Run `work` (which acks `ack` itself); when it has not acked within `budget` seconds of the request's
    arrival, ack with `late_errors` (input block_id → message) and let `work` finish on its own."""
    task: asyncio.Task[None] = asyncio.ensure_future(work)
    received_at = REQUEST_RECEIVED_AT.get()
    left = budget if received_at is None else budget - (time.monotonic() - received_at)
    try:
        await asyncio.wait_for(asyncio.shield(task), max(left, 0.0))
        return
    except TimeoutError:
        if ack.response is not None:  # it acked in time and is now doing its post-ack part
            _keep(task)
            return
    log.warning("a form took over %.1f s to check and keep: asked the person to press again", budget)
    await ack(response_action="errors", errors=late_errors)
    _keep(task)


def _keep(task: asyncio.Task[None]) -> None:
    _finishing.add(task)
    task.add_done_callback(_finished)


def _finished(task: asyncio.Task[None]) -> None:
    _finishing.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("a form's late work failed", exc_info=task.exception())
