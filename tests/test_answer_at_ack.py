"""bot.answer_at_ack: Slack gets its answer the moment a listener acks; what the listener does after the
ack goes on, is held until it ends, and a failure there is answered through `on_late_failure`.

A real `TossupApp` with listeners of the test's own, driven through Bolt's own dispatch with requests
signed as Slack signs them (the whole bot's use of it runs in every flow test).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_bolt.async_app import AsyncAck
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.kwargs_injection.async_args import AsyncArgs
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.answer_at_ack import TossupApp
from tests.slack_driver import sign

SECRET = "test-signing-secret"


def signed(body: str, content_type: str) -> AsyncBoltRequest:
    now = int(time.time())
    headers = {
        "content-type": content_type,
        "x-slack-request-timestamp": str(now),
        "x-slack-signature": sign(SECRET, now, body.encode()),
    }
    return AsyncBoltRequest(body=body, headers=headers)


def command(text: str = "") -> AsyncBoltRequest:
    form = {"command": "/tossup", "text": text, "user_id": "U1", "team_id": "T1", "channel_id": "C1"}
    return signed(urlencode(form), "application/x-www-form-urlencoded")


def event() -> AsyncBoltRequest:
    body = {
        "type": "event_callback",
        "team_id": "T1",
        "api_app_id": "A1",
        "event": {"type": "app_home_opened", "user": "U1", "tab": "home"},
        "event_id": "Ev1",
        "event_time": 1,
    }
    return signed(json.dumps(body), "application/json")


class Failures:
    def __init__(self) -> None:
        self.late: list[tuple[Exception, dict[str, Any]]] = []

    async def on_late_failure(self, error: Exception, args: AsyncArgs) -> None:
        self.late.append((error, args.body))


def make_app(failures: Failures) -> TossupApp:
    return TossupApp(
        on_late_failure=failures.on_late_failure,
        name="test",
        signing_secret=SECRET,
        authorize=authorize,  # no auth.test: nothing here talks to Slack
    )


async def authorize(team_id: str | None, **_: Any) -> AuthorizeResult:
    return AuthorizeResult(enterprise_id=None, team_id=team_id, bot_token="xoxb-test", bot_user_id="U0BOT")


async def test_the_answer_goes_out_at_the_ack_and_the_rest_is_held_until_it_ends() -> None:
    failures = Failures()
    app = make_app(failures)
    release = asyncio.Event()
    finished: list[str] = []

    @app.command("/tossup")
    async def answer(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack(text=f"working on {body['text']}")
        await release.wait()
        finished.append(body["text"])

    response = await asyncio.wait_for(app.async_dispatch(command("kpi")), timeout=2)
    assert (response.status, response.body) == (200, "working on kpi")
    assert finished == []  # the answer did not wait for the work after the ack
    assert await app.finish_running(grace=0.05) is False  # held: shutdown waits for it

    release.set()
    assert await app.finish_running(grace=2) is True
    assert finished == ["kpi"] and failures.late == []


async def test_a_failure_after_the_ack_is_answered_through_on_late_failure() -> None:
    failures = Failures()
    app = make_app(failures)
    caught: list[Exception] = []

    @app.error
    async def bolt_error_handler(error: Exception) -> None:
        caught.append(error)

    @app.command("/tossup")
    async def answer(ack: AsyncAck) -> None:
        await ack()
        await asyncio.sleep(0)
        raise RuntimeError("the database went away")

    response = await app.async_dispatch(command("help"))
    assert response.status == 200
    assert await app.finish_running(grace=2) is True
    ((error, body),) = failures.late
    assert isinstance(error, RuntimeError) and body["text"] == "help"  # the request it answers
    assert caught == []  # Bolt's handler had already answered Slack: it is not called twice


async def test_a_failure_before_the_ack_reaches_bolts_error_handler_as_without_the_wrapper() -> None:
    failures = Failures()
    app = make_app(failures)

    @app.error
    async def bolt_error_handler(error: Exception, response: BoltResponse) -> BoltResponse:
        return BoltResponse(status=200, body=f"sorry: {error}")

    @app.command("/tossup")
    async def answer(ack: AsyncAck) -> None:
        raise ValueError("unreadable")

    response = await app.async_dispatch(command())
    assert (response.status, response.body) == (200, "sorry: unreadable")
    assert failures.late == [] and await app.finish_running(grace=0) is True


async def test_an_event_is_acked_at_once_and_its_listener_runs_behind_it() -> None:
    failures = Failures()
    app = make_app(failures)
    release = asyncio.Event()
    seen: list[str] = []

    @app.event("app_home_opened")
    async def home(event: dict[str, Any]) -> None:
        await release.wait()
        seen.append(event["user"])

    response = await asyncio.wait_for(app.async_dispatch(event()), timeout=2)
    assert response.status == 200 and seen == []
    release.set()
    assert await app.finish_running(grace=2) is True
    assert seen == ["U1"]


async def test_the_decorated_name_stays_the_listener_itself() -> None:
    app = make_app(Failures())

    @app.command("/tossup")
    async def answer(ack: AsyncAck) -> None:
        await ack()

    assert answer.__name__ == "answer"
    await answer(ack=AsyncAck())  # callable as written, e.g. from another listener
