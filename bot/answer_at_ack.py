"""Slack's answer goes out the moment a listener acks, not at Bolt's next 10 ms check.

By default Bolt's async runner starts a listener as a task and then looks at `ack.response` every 10 ms
(`asyncio.sleep(0.01)` in `slack_bolt/listener/asyncio_runner.py`): every ack waited for that poll, and a
memo submission whose checks and one transaction took just over it waited two (bench.load: a lone
submission acked in 14 ms or 25 ms, nothing between). `TossupApp` runs Bolt with
`process_before_response=True` (the response is sent when the listener returns) and registers each
listener wrapped: the wrapper runs it as a task and returns as soon as it acks; what it does after its ack
goes on in the background, and a failure there is answered as Bolt's error handler would have answered it.
An event listener (Bolt acks events itself) returns at once and runs in the background.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.kwargs_injection.async_args import AsyncArgs
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)

Listener = Callable[..., Awaitable[Any]]
LateFailure = Callable[[Exception, AsyncArgs], Awaitable[None]]


class _SignallingAck(AsyncAck):
    """The request's ack, which also tells the wrapper it was called."""

    def __init__(self, real: AsyncAck) -> None:  # no super().__init__(): the real ack keeps the response
        self._real = real
        self.called = asyncio.Event()

    @property  # type: ignore[override]
    def response(self) -> BoltResponse | None:
        return self._real.response

    @response.setter
    def response(self, value: BoltResponse | None) -> None:
        self._real.response = value

    async def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        try:
            return await self._real(*args, **kwargs)
        finally:
            self.called.set()


def answering_at_ack(
    listener: Listener,
    *,
    running: set[asyncio.Task[Any]],
    on_late_failure: LateFailure,
    acks_itself: bool = True,
) -> Listener:
    """`listener` as Bolt should call it in process-before-response mode (see the module's docstring);
    its work after the ack is held in `running` until it ends."""
    names = list(inspect.signature(listener).parameters)

    async def answer(args: AsyncArgs) -> None:
        ack = _SignallingAck(args.ack)
        work = asyncio.ensure_future(listener(**{n: ack if n == "ack" else getattr(args, n) for n in names}))
        if acks_itself:
            called = asyncio.ensure_future(ack.called.wait())
            try:
                await asyncio.wait({work, called}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                called.cancel()
            if not ack.called.is_set():  # it ended without acking (Bolt acks for it) or failed before
                await work  # a failure before the answer reaches Bolt's error handler, as before
                return
        running.add(work)
        work.add_done_callback(lambda done: _finished(done, args, running, on_late_failure))

    answer.__name__ = answer.__qualname__ = getattr(listener, "__qualname__", "listener")
    return answer


def _finished(
    work: asyncio.Task[Any], args: AsyncArgs, running: set[asyncio.Task[Any]], on_late_failure: LateFailure
) -> None:
    running.discard(work)
    if work.cancelled() or work.exception() is None:
        return
    error = work.exception()
    assert isinstance(error, Exception)
    answering = asyncio.ensure_future(on_late_failure(error, args))
    running.add(answering)
    answering.add_done_callback(lambda done: _answered(done, running))


def _answered(answering: asyncio.Task[None], running: set[asyncio.Task[Any]]) -> None:
    running.discard(answering)
    if not answering.cancelled() and answering.exception() is not None:
        log.error("answering a failed listener failed too", exc_info=answering.exception())


class TossupApp(AsyncApp):
    """Bolt's AsyncApp whose listeners answer Slack the moment they ack (`answering_at_ack`)."""

    def __init__(self, *, on_late_failure: LateFailure, **kwargs: Any) -> None:
        super().__init__(process_before_response=True, **kwargs)
        self._on_late_failure = on_late_failure
        self._running: set[asyncio.Task[Any]] = set()  # work after an ack: referenced until it ends

    async def finish_running(self, grace: float) -> bool:
        """Wait up to `grace` seconds for the listeners' work after their acks (and for the answers to
        its failures), including work that starts meanwhile; True when none is left."""
        deadline = asyncio.get_running_loop().time() + grace
        while self._running:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return False
            await asyncio.wait(set(self._running), timeout=left)
        return True

    def _answering(self, register: Callable[..., Any], *, acks_itself: bool = True) -> Callable[..., Any]:
        def wrapped(listener: Listener) -> Listener:
            return answering_at_ack(
                listener,
                running=self._running,
                on_late_failure=self._on_late_failure,
                acks_itself=acks_itself,
            )

        def decorator(*functions: Listener) -> Listener:
            register(*(wrapped(f) for f in functions))
            return functions[0]  # the decorated name stays the listener itself

        return decorator

    def action(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return self._answering(super().action(*args, **kwargs))

    def view(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return self._answering(super().view(*args, **kwargs))

    def view_closed(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return self._answering(super().view_closed(*args, **kwargs))

    def command(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return self._answering(super().command(*args, **kwargs))

    def event(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return self._answering(super().event(*args, **kwargs), acks_itself=False)
