"""Self-tests: FakeSlack answers slack_sdk's real clients like Slack, SlackDriver signs like Slack."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from tests.fake_slack import FakeSlack
from tests.slack_driver import SlackDriver, sign, static_state, text_state, users_state

SECRET = "test-signing-secret"
MODAL = {
    "type": "modal",
    "callback_id": "tossup_new",
    "title": {"type": "plain_text", "text": "New toss-up"},
    "submit": {"type": "plain_text", "text": "Send"},
    "blocks": [
        {
            "type": "input",
            "block_id": "company",
            "label": {"type": "plain_text", "text": "Company"},
            "element": {"type": "plain_text_input", "action_id": "value"},
        }
    ],
}


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    # No shared session: slack_sdk opens (and closes) one aiohttp session per request.
    return AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)


# ---------------------------------------------------------------------- Web API
async def test_auth_test_and_bearer_required(slack: FakeSlack, client: AsyncWebClient) -> None:
    resp = await client.auth_test()
    assert (resp["team_id"], resp["user_id"], resp["bot_id"]) == ("T0TEAM", "U0BOT", "B0BOT")
    assert slack.calls[0].headers["Authorization"] == "Bearer xoxb-test"

    with pytest.raises(SlackApiError) as err:
        await AsyncWebClient(base_url=slack.base_url).auth_test()
    assert err.value.response["error"] == "not_authed"
    with pytest.raises(SlackApiError) as err:
        await AsyncWebClient(token="xoxb-other", base_url=slack.base_url).auth_test()
    assert err.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as err:
        await client.api_call("chat.nonsense")
    assert err.value.response["error"] == "unknown_method"
    assert len(slack.calls_to("auth.test", ok_only=False)) == 3
    assert len(slack.calls_to("auth.test")) == 1


async def test_post_update_permalink(slack: FakeSlack, client: AsyncWebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hello*"}}]
    first = await client.chat_postMessage(channel="C1", text="hello", blocks=blocks)
    second = await client.chat_postMessage(channel="C1", text="reply", thread_ts=first["ts"])
    assert float(second["ts"]) > float(first["ts"])
    assert first["channel"] == "C1" and first["message"]["text"] == "hello"
    assert slack.message("C1", second["ts"])["thread_ts"] == first["ts"]
    call = slack.calls_to("chat.postMessage")[0]
    assert call.args["blocks"] == blocks  # decoded JSON, whatever the encoding

    updated = await client.chat_update(channel="C1", ts=first["ts"], text="bye", blocks=[])
    assert updated["text"] == "bye"
    assert slack.message("C1", first["ts"])["text"] == "bye"
    assert slack.message("C1", first["ts"])["blocks"] == []

    link = await client.chat_getPermalink(channel="C1", message_ts=first["ts"])
    assert link["permalink"] == f"https://fake.slack.test/archives/C1/p{first['ts'].replace('.', '')}"

    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel="C1", ts="1.000000", text="x")
    assert err.value.response["error"] == "message_not_found"
    with pytest.raises(SlackApiError) as err, pytest.warns(UserWarning, match="text"):
        await client.chat_postMessage(channel="C1")
    assert err.value.response["error"] == "no_text"


async def test_dm_by_user_id_and_conversations_open(slack: FakeSlack, client: AsyncWebClient) -> None:
    opened = await client.conversations_open(users="U42")
    assert opened["channel"]["id"] == "DU42"
    posted = await client.chat_postMessage(channel="U42", text="psst")
    assert posted["channel"] == "DU42"
    assert slack.message("DU42", posted["ts"])["text"] == "psst"
    eph = await client.chat_postEphemeral(channel="C1", user="U42", text="only you")
    assert eph["message_ts"]


async def test_server_error_once_then_ok(slack: FakeSlack, client: AsyncWebClient) -> None:
    client.retry_handlers.append(
        AsyncServerErrorRetryHandler(interval_calculator=FixedValueRetryIntervalCalculator(0.01))
    )
    slack.fail_next("chat.postMessage", status=500)
    resp = await client.chat_postMessage(channel="C1", text="hi")
    assert resp["ok"]
    assert [c.status for c in slack.calls_to("chat.postMessage", ok_only=False)] == [500, 200]
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert len(slack.messages) == 1


async def test_server_error_without_retry_handler_raises(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.fail_next("chat.postMessage", status=503)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="hi")
    assert err.value.response.status_code == 503
    assert not slack.messages


async def test_rate_limit_retry_after_honoured(slack: FakeSlack, client: AsyncWebClient) -> None:
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    resp = await client.chat_postMessage(channel="C1", text="hi")
    assert resp["ok"]
    assert time.monotonic() - started >= 1.0
    failed, ok = slack.calls_to("chat.postMessage", ok_only=False)
    assert failed.status == 429 and failed.response == {"ok": False, "error": "ratelimited"}
    assert ok.status == 200


async def test_rate_limit_without_handler_surfaces_retry_after(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=7, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            await client.chat_postMessage(channel="C1", text="hi")
        assert err.value.response["error"] == "ratelimited"
        assert err.value.response.headers["Retry-After"] == "7"
    assert (await client.chat_postMessage(channel="C1", text="hi"))["ok"]


async def test_error_next(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.error_next("users.info", "fatal_error")
    slack.users["U1"] = {"real_name": "Aiko"}
    with pytest.raises(SlackApiError) as err:
        await client.users_info(user="U1")
    assert err.value.response["error"] == "fatal_error"
    assert (await client.users_info(user="U1"))["user"]["real_name"] == "Aiko"


async def test_slow_answer(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.slow("chat.postMessage", 0.3)
    started = time.monotonic()
    task = asyncio.create_task(client.chat_postMessage(channel="C1", text="hi"))
    await asyncio.sleep(0.1)
    assert not slack.calls_to("chat.postMessage")  # recorded when answered
    calls = await slack.wait_for("chat.postMessage", timeout=2)
    assert len(calls) == 1
    await task
    assert time.monotonic() - started >= 0.3

    slow_client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, timeout=1)
    slack.slow("chat.postMessage", 2)
    with pytest.raises(asyncio.TimeoutError):
        await slow_client.chat_postMessage(channel="C1", text="too slow")
    assert len(slack.messages) == 2  # Slack did post it: the client just gave up waiting
    slack.slow("chat.postMessage", 0)
    started = time.monotonic()
    await client.chat_postMessage(channel="C1", text="fast again")
    assert time.monotonic() - started < 0.5


async def test_views_open_trigger_once_update_publish(slack: FakeSlack, client: AsyncWebClient) -> None:
    opened = await client.views_open(trigger_id="1.2.abc", view=MODAL)
    view = opened["view"]
    assert view["id"].startswith("V") and view["hash"] and view["callback_id"] == "tossup_new"
    assert slack.calls_to("views.open")[0].args["view"]["type"] == "modal"

    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id="1.2.abc", view=MODAL)
    assert err.value.response["error"] == "trigger_exchanged"

    updated = await client.views_update(view_id=view["id"], hash=view["hash"], view=MODAL)
    assert updated["view"]["id"] == view["id"]
    with pytest.raises(SlackApiError) as err:
        await client.views_update(view_id=view["id"], hash=view["hash"], view=MODAL)
    assert err.value.response["error"] == "hash_conflict"
    with pytest.raises(SlackApiError) as err:
        await client.views_update(view_id="VNOPE", view=MODAL)
    assert err.value.response["error"] == "not_found"

    pushed = await client.views_push(trigger_id="1.3.def", view=MODAL)
    assert pushed["view"]["id"] != view["id"]

    home = await client.views_publish(user_id="U1", view={"type": "home", "blocks": []})
    assert home["view"]["id"] and slack.home_views["U1"]["type"] == "home"


async def test_views_validation(slack: FakeSlack, client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        await client.api_call("views.open", json={"trigger_id": "t1"})
    assert err.value.response["error"] == "invalid_arguments"
    long_title = {**MODAL, "title": {"type": "plain_text", "text": "x" * 25}}
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id="t2", view=long_title)
    assert err.value.response["error"] == "invalid_arguments"
    assert "title" in err.value.response["response_metadata"]["messages"][0]
    no_submit = {k: v for k, v in MODAL.items() if k != "submit"}
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id="t3", view=no_submit)
    assert err.value.response["error"] == "invalid_arguments"
    with pytest.raises(SlackApiError) as err:
        await client.views_open(view=MODAL, trigger_id="")
    assert err.value.response["error"] == "invalid_arguments"


async def test_users_info_locale_only_when_asked(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.users["U1"] = {"locale": "ja-JP", "tz": "Asia/Tokyo", "real_name": "Sato Aiko"}
    plain = (await client.users_info(user="U1"))["user"]
    assert "locale" not in plain
    assert plain["tz"] == "Asia/Tokyo" and plain["tz_offset"] == 9 * 3600
    assert plain["real_name"] == "Sato Aiko" and plain["is_bot"] is False
    with_locale = (await client.users_info(user="U1", include_locale=True))["user"]
    assert with_locale["locale"] == "ja-JP"
    assert slack.calls_to("users.info")[1].args["include_locale"] in ("true", "1", True)
    with pytest.raises(SlackApiError) as err:
        await client.users_info(user="U404")
    assert err.value.response["error"] == "user_not_found"


async def test_files_upload_v2(slack: FakeSlack, client: AsyncWebClient) -> None:
    resp = await client.files_upload_v2(channel="C1", content=b"\x89PNG...", filename="kpi.png", title="KPI")
    assert resp["file"]["title"] == "KPI"
    (record,) = slack.files.values()
    assert record["data"] == b"\x89PNG..." and record["channel"] == "C1"


async def test_wait_for_and_assert_no_more(slack: FakeSlack, client: AsyncWebClient) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await client.chat_postMessage(channel="C1", text="a")
        await client.chat_postMessage(channel="C2", text="b")

    task = asyncio.create_task(later())
    calls = await slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == "C2")
    assert calls[0].args["text"] == "b"
    await task
    await slack.assert_no_more("chat.postMessage", count=2, settle=0.05)
    with pytest.raises(AssertionError, match=r"chat\.postMessage -> ok"):
        await slack.wait_for("chat.postMessage", count=3, timeout=0.1)


# ---------------------------------------------------------------------- Socket Mode
async def test_socket_mode_round_trip(slack: FakeSlack) -> None:
    web_client = AsyncWebClient(base_url=slack.base_url)
    sm = SocketModeClient(app_token="xapp-1-test", web_client=web_client, ping_interval=0.5)
    received: list[SocketModeRequest] = []

    async def listener(c: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        received.append(req)
        await c.send_socket_mode_response(
            SocketModeResponse(envelope_id=req.envelope_id, payload={"text": "ack"})
        )

    sm.socket_mode_request_listeners.append(listener)
    try:
        await sm.connect()
        await slack.wait_socket_connected()
        assert slack.calls_to("apps.connections.open")[0].headers["Authorization"] == "Bearer xapp-1-test"
        envelope_id = await slack.socket_send(
            "slash_commands", {"command": "/tossup", "text": "help"}, accepts_response_payload=True
        )
        ack = await slack.socket_ack(envelope_id)
        assert ack == {"envelope_id": envelope_id, "payload": {"text": "ack"}}
        assert received[0].type == "slash_commands" and received[0].accepts_response_payload
        assert received[0].payload["text"] == "help"

        # Slack asks clients to reconnect now and then: the client fetches a new URL and reconnects.
        await slack.socket_disconnect()
        await slack.wait_for("apps.connections.open", count=2)
        await asyncio.sleep(0.1)
        envelope_id = await slack.socket_send("events_api", {"event": {"type": "app_home_opened"}})
        assert (await slack.socket_ack(envelope_id))["envelope_id"] == envelope_id
    finally:
        await asyncio.wait_for(sm.close(), 3)


@pytest.mark.parametrize("auto_reconnect", [False, True])
async def test_socket_mode_fake_stops_first_without_hanging(auto_reconnect: bool) -> None:
    fake = FakeSlack()
    await fake.start()
    web_client = AsyncWebClient(base_url=fake.base_url)
    sm = SocketModeClient(
        app_token="xapp-1-test",
        web_client=web_client,
        auto_reconnect_enabled=auto_reconnect,
        ping_interval=0.2,
    )
    try:
        await sm.connect()
        await fake.wait_socket_connected()
        await asyncio.wait_for(fake.stop(), 3)
        await asyncio.sleep(0.3)  # let the client notice and (try to) reconnect
    finally:
        await asyncio.wait_for(sm.close(), 3)


async def test_bolt_socket_mode_acks(slack: FakeSlack) -> None:
    """AsyncApp + AsyncSocketModeHandler against the fake: what a Bolt ack looks like on the wire."""
    app = AsyncApp(client=AsyncWebClient(token=slack.bot_token, base_url=slack.base_url))

    @app.command("/tossup")
    async def on_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack(text=f"got {command['text']}")

    @app.view("tossup_new")
    async def on_submit(ack: AsyncAck) -> None:
        await ack(response_action="errors", errors={"company": "required"})

    handler = AsyncSocketModeHandler(app, "xapp-1-test")
    try:
        await handler.connect_async()
        await slack.wait_socket_connected()
        eid = await slack.socket_send(
            "slash_commands",
            {"command": "/tossup", "text": "hi", "user_id": "U1", "team_id": "T0TEAM", "channel_id": "C1"},
            accepts_response_payload=True,
        )
        assert (await slack.socket_ack(eid))["payload"] == {"text": "got hi"}

        view = {"id": "V1", "type": "modal", "callback_id": "tossup_new", "state": {"values": {}}}
        eid = await slack.socket_send(
            "interactive",
            {"type": "view_submission", "user": {"id": "U1"}, "team": {"id": "T0TEAM"}, "view": view},
            accepts_response_payload=True,
        )
        ack = await slack.socket_ack(eid)
        assert ack["payload"] == {"response_action": "errors", "errors": {"company": "required"}}

        # No listener matches → Bolt answers 404 internally and sends NO ack at all.
        eid = await slack.socket_send("slash_commands", {"command": "/other", "team_id": "T0TEAM"})
        with pytest.raises(AssertionError, match="no ack"):
            await slack.socket_ack(eid, timeout=0.3)
    finally:
        await asyncio.wait_for(handler.close_async(), 3)
        if app.client.session is not None:
            await app.client.session.close()


# ---------------------------------------------------------------------- SlackDriver
def test_driver_signature_verifies() -> None:
    body = b"command=%2Ftossup&text=hello"
    ts = int(time.time())
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(body, str(ts), sign(SECRET, ts, body))
    assert not verifier.is_valid(body, str(ts), sign("wrong", ts, body))
    assert not verifier.is_valid(body, str(ts - 301), sign(SECRET, ts - 301, body))


class _Recorder:
    """A bare aiohttp endpoint that records what the driver sends."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read()))
        return web.Response(status=200, text="")


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[_Recorder, str]]:
    rec = _Recorder()
    app = web.Application()
    app.router.add_post("/slack/events", rec.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield rec, f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_driver_requests_are_signed_and_shaped(recorder: tuple[_Recorder, str]) -> None:
    rec, base = recorder
    verifier = SignatureVerifier(SECRET)
    async with SlackDriver(base, SECRET) as driver:
        resp = await driver.slash("new", user_id="U1")
        assert resp.status == 200 and resp.json() is None
        await driver.block_action("approve", value="42", user_id="U2", channel_id="C1", message_ts="1.000100")
        values = {"company": {"value": text_state("ACME")}, "owner": {"value": users_state("U3")}}
        await driver.view_submission("tossup_new", values, user_id="U1", private_metadata="{}")
        await driver.event({"type": "app_home_opened", "user": "U1", "tab": "home"}, retry_num=1)
        await driver.block_action("pick", user_id="U2", view={"id": "V9", "callback_id": "tossup_new"})
    assert len(rec.requests) == 5
    for headers, body in rec.requests:
        assert verifier.is_valid_request(body, headers)

    slash = {k: v[0] for k, v in parse_qs(rec.requests[0][1].decode()).items()}
    assert slash["command"] == "/tossup" and slash["text"] == "new" and slash["user_id"] == "U1"
    assert slash["trigger_id"] and slash["team_id"] == "T0TEAM"

    action = json.loads(parse_qs(rec.requests[1][1].decode())["payload"][0])
    assert action["type"] == "block_actions" and action["actions"][0]["value"] == "42"
    assert action["container"]["message_ts"] == "1.000100" and action["channel"]["id"] == "C1"

    submission = json.loads(parse_qs(rec.requests[2][1].decode())["payload"][0])
    assert submission["view"]["state"]["values"]["company"]["value"]["value"] == "ACME"
    assert submission["view"]["callback_id"] == "tossup_new"

    headers, body = rec.requests[3]
    assert headers["X-Slack-Retry-Num"] == "1"
    assert json.loads(body)["event"]["type"] == "app_home_opened"

    in_view = json.loads(parse_qs(rec.requests[4][1].decode())["payload"][0])
    assert in_view["container"] == {"type": "view", "view_id": "V9"} and in_view["view"]["id"] == "V9"
    assert "channel" not in in_view and "message" not in in_view


async def test_driver_into_bolt_over_http(slack: FakeSlack) -> None:
    """End to end: driver → aiohttp-mounted AsyncApp → fake Slack (views.open, respond via response_url)."""
    app = AsyncApp(
        client=AsyncWebClient(token=slack.bot_token, base_url=slack.base_url), signing_secret=SECRET
    )
    seen: dict[str, Any] = {}

    @app.command("/tossup")
    async def on_command(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=MODAL)

    @app.action("approve")
    async def on_approve(ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack()
        await respond(text="approved")

    @app.view("tossup_new")
    async def on_submit(ack: AsyncAck, view: dict[str, Any]) -> None:
        seen["values"] = view["state"]["values"]
        await ack()

    async def endpoint(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", endpoint)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with SlackDriver(base, SECRET, response_url_base=slack.response_url_base) as driver:
            assert (await driver.slash("new")).status == 200
            (opened,) = await slack.wait_for("views.open")
            assert opened.args["view"]["callback_id"] == "tossup_new"

            assert (await driver.block_action("approve", user_id="U1", channel_id="C1")).status == 200
            (responded,) = await slack.wait_for("response_url")
            assert responded.args["text"] == "approved"

            values = {"company": {"value": text_state("ACME")}, "stage": {"s": static_state("hot")}}
            assert (await driver.view_submission("tossup_new", values, user_id="U1")).status == 200
            assert seen["values"]["stage"]["s"]["selected_option"]["value"] == "hot"

            stale = int(time.time()) - 600
            body = b"command=%2Ftossup&text=x"
            forged = await driver.send_raw(
                body, content_type="application/x-www-form-urlencoded", signature="v0=00"
            )
            assert forged.status == 401
            old = await driver.send_raw(
                body, content_type="application/x-www-form-urlencoded", timestamp=stale
            )
            assert old.status == 401
    finally:
        await runner.cleanup()
        if app.client.session is not None:
            await app.client.session.close()
