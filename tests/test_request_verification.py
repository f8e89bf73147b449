"""Issue 9 §1: a request that fails verification does nothing — no Slack call, no POST to the response_url
it names, nothing stored, no user text in the logs — and a verified one only ever responds on Slack's hosts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_bolt.request.async_request import AsyncBoltRequest
from sqlalchemy import func, select

from bot.app import bolt_request_of
from bot.verification import is_allowed_response_url, is_signed_by_slack
from modals.ids import ActionId, BlockId, CallbackId
from store.models import Handoff, HandoffEvent, OutboxMessage
from tests.conftest import FS_CHANNEL, IS_USER, OTHER_USER, SIGNING_SECRET, Harness
from tests.slack_driver import sign

MARKER = "SECRET-CUSTOMER-TEXT-7f3a"  # user text that must never reach a log line


class Listener:
    """A server the attacker controls: records every request it receives."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/steal"

    async def _handle(self, request: web.Request) -> web.Response:
        self.received.append(request.path)
        return web.json_response({"ok": True})

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def attacker() -> AsyncIterator[Listener]:
    listener = Listener()
    await listener.start()
    try:
        yield listener
    finally:
        await listener.stop()


def action_body(response_url: str, *, user: str = OTHER_USER) -> bytes:
    """A block action that, were it trusted, would make the bot answer `user` (a refusal) somewhere."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "name": MARKER, "team_id": "T0TEAM"},
        "team": {"id": "T0TEAM", "domain": "fake"},
        "api_app_id": "A0APP",
        "container": {"type": "message", "message_ts": "1.2", "channel_id": "C0VICTIM"},
        "channel": {"id": "C0VICTIM", "name": "victim"},
        "trigger_id": "1.2.3",
        "actions": [
            {
                "action_id": ActionId.HANDOFF_ACCEPT,
                "block_id": BlockId.NOTICE_ACTIONS,
                "type": "button",
                "value": "1",
                "action_ts": "1.2",
                "text": {"type": "plain_text", "text": MARKER},
            }
        ],
        "response_url": response_url,
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


async def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded", **headers}
        ) as resp,
    ):
        return resp.status


async def stored_rows(h: Harness) -> int:
    async with h.bot.services.sessions() as session:
        counts = [
            await session.scalar(select(func.count()).select_from(model))
            for model in (Handoff, HandoffEvent, OutboxMessage)
        ]
    return sum(c or 0 for c in counts)


def bad_headers(body: bytes) -> dict[str, dict[str, str]]:
    now = int(time.time())
    good = sign(SIGNING_SECRET, now, body)
    return {
        "timestamp not a number": {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": good},
        "timestamp empty": {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": good},
        "timestamp with a sign": {"X-Slack-Request-Timestamp": f"+{now}", "X-Slack-Signature": good},
        "timestamp with a fraction": {"X-Slack-Request-Timestamp": f"{now}.0", "X-Slack-Signature": good},
        "timestamp in Arabic-Indic digits": {
            "X-Slack-Request-Timestamp": "".join(chr(0x660 + int(d)) for d in str(now)),
            "X-Slack-Signature": good,
        },
        "timestamp huge": {"X-Slack-Request-Timestamp": "9" * 40, "X-Slack-Signature": good},
        "timestamp missing": {"X-Slack-Signature": good},
        "signature missing": {"X-Slack-Request-Timestamp": str(now)},
        "signature empty": {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": ""},
        "signature not hex": {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v0=" + "z" * 64},
        "signature from another secret": {
            "X-Slack-Request-Timestamp": str(now),
            "X-Slack-Signature": sign("another-secret", now, body),
        },
        "stale": {
            "X-Slack-Request-Timestamp": str(now - 600),
            "X-Slack-Signature": sign(SIGNING_SECRET, now - 600, body),
        },
    }


async def test_unverified_requests_get_401_and_do_nothing(
    harness: Harness, attacker: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    caplog.set_level(logging.INFO)  # the level the bot logs at
    for response_url in (attacker.url, h.slack.response_url_base + "victim"):
        body = action_body(response_url)
        for case, headers in bad_headers(body).items():
            status = await post(h.driver.url, body, headers)
            assert status == 401, case
    await asyncio.sleep(0.3)  # anything the bot would do after answering has had its chance
    assert h.slack.calls == [], h.slack.describe_calls()
    assert attacker.received == []
    assert await stored_rows(h) == 0
    assert all(MARKER not in record.getMessage() for record in caplog.records)


async def test_unsigned_body_that_is_not_even_a_payload_is_refused_before_parsing(harness: Harness) -> None:
    h = harness
    for body in (b"payload=%7Bnot-json", b"\xff\xfe\x00", b"payload=%5B1%2C2%5D", b"[1, 2]"):
        assert await post(h.driver.url, body, {"X-Slack-Request-Timestamp": "x"}) == 401
    await asyncio.sleep(0.2)
    assert h.slack.calls == []


async def test_signed_body_that_is_not_a_payload_is_a_quiet_400(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    for body in (b"payload=%7Bnot-json", b"\xff\xfe\x00", b"payload=%5B1%2C2%5D", b"payload=%22text%22"):
        now = int(time.time())
        headers = {
            "X-Slack-Request-Timestamp": str(now),
            "X-Slack-Signature": sign(SIGNING_SECRET, now, body),
        }
        assert await post(h.driver.url, body, headers) == 400, body
    await asyncio.sleep(0.2)
    assert h.slack.calls == []
    assert not any(record.exc_info for record in caplog.records)


async def post_declaring(h: Harness, encoding: str, body: bytes) -> int:
    """The status of a POST whose body is not what its Content-Encoding says (sent raw: aiohttp's client
    would encode it)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", int(h.url.rsplit(":", 1)[1]))
    head = (
        "POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
        f"Content-Encoding: {encoding}\r\nX-Slack-Request-Timestamp: 1\r\nX-Slack-Signature: v0=00\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    writer.write(head + body)
    await writer.drain()
    status_line = (await asyncio.wait_for(reader.read(200), 5)).split(b"\r\n", 1)[0]
    writer.close()
    return int(status_line.split()[1])


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_body_that_is_not_what_its_encoding_says_is_a_quiet_400(
    harness: Harness, encoding: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert await post_declaring(harness, encoding, b'{"type": "event_callback"}') == 400
    assert not any(record.levelno >= logging.ERROR or record.exc_info for record in caplog.records)
    assert harness.slack.calls == []


async def test_a_command_whose_text_or_channel_says_payload_is_a_command(harness: Harness) -> None:
    """Bolt reads any form body with "payload" in it as an interactive payload (finding none, as {}): a
    company, a channel or a handle with that word must still reach `/tossup`."""
    h = harness
    response = await h.driver.slash("Payload Systems payload株式会社", user_id=IS_USER)
    assert response.status == 200, response.text
    (opened,) = await h.slack.wait_for("views.open")
    assert opened.args["view"]["callback_id"] == CallbackId.HANDOFF_MEMO
    fields = h.driver.slash_fields("help", user_id=IS_USER)
    fields["channel_name"] = "payload-dev"
    response = await h.driver.send_form(fields)
    assert response.status == 200, response.text
    assert (response.json() or {}).get("response_type") == "ephemeral", response.text


async def test_verified_request_never_posts_to_a_response_url_off_slacks_hosts(
    harness: Harness, attacker: Listener
) -> None:
    """A signed click by someone who may not accept gets its refusal by chat.postEphemeral instead."""
    h = harness
    body = action_body(attacker.url)
    now = int(time.time())
    headers = {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": sign(SIGNING_SECRET, now, body)}
    assert await post(h.driver.url, body, headers) == 200
    (ephemeral,) = await h.slack.wait_for("chat.postEphemeral")
    assert ephemeral.args["user"] == OTHER_USER and ephemeral.args["channel"] == "C0VICTIM"
    assert attacker.received == []
    assert h.slack.calls_to("response_url", ok_only=False) == []


async def test_verified_request_answers_through_slacks_response_url(harness: Harness) -> None:
    h = harness
    response = await h.driver.block_action(
        ActionId.HANDOFF_ACCEPT,
        value="1",
        block_id=BlockId.NOTICE_ACTIONS,
        user_id=OTHER_USER,
        channel_id=FS_CHANNEL,
    )
    assert response.status == 200
    (private,) = await h.slack.wait_for("response_url")
    assert private.args["response_type"] == "ephemeral"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    timestamp=st.one_of(st.none(), st.text(max_size=20), st.integers().map(str)),
    signature=st.one_of(
        st.none(), st.text(max_size=80), st.binary(max_size=32).map(lambda b: "v0=" + b.hex())
    ),
)
async def test_fuzzed_signature_headers_never_get_through(
    harness: Harness, attacker: Listener, timestamp: str | None, signature: str | None
) -> None:
    h = harness
    headers = {
        name: value
        for name, value in (("X-Slack-Request-Timestamp", timestamp), ("X-Slack-Signature", signature))
        if value is not None and value.isprintable() and value.isascii()  # what an HTTP header can carry
    }
    assert await post(h.driver.url, action_body(attacker.url), headers) == 401
    assert h.slack.calls == [] and attacker.received == []


# ---------------------------------------------------------------- the checks themselves, directly


@given(
    body=st.binary(max_size=200),
    timestamp=st.one_of(st.none(), st.text(max_size=30)),
    signature=st.one_of(st.none(), st.text(max_size=80)),
)
def test_is_signed_by_slack_never_raises_and_refuses_what_slack_did_not_sign(
    body: bytes, timestamp: str | None, signature: str | None
) -> None:
    # Random text is never Slack's HMAC; the point is that no header shape makes it raise.
    assert (
        is_signed_by_slack(secret=SIGNING_SECRET, body=body, timestamp=timestamp, signature=signature)
        is False
    )


@given(body=st.binary(max_size=200), age=st.integers(min_value=-300, max_value=300))
def test_is_signed_by_slack_accepts_slacks_own_signature_within_five_minutes(body: bytes, age: int) -> None:
    now = 1_800_000_000
    timestamp = now - age
    signature = sign(SIGNING_SECRET, timestamp, body)
    assert is_signed_by_slack(
        secret=SIGNING_SECRET, body=body, timestamp=str(timestamp), signature=signature, now=now
    )
    assert not is_signed_by_slack(
        secret=SIGNING_SECRET, body=body + b"x", timestamp=str(timestamp), signature=signature, now=now
    )
    for too_far in (timestamp + 301, timestamp - 301):
        assert not is_signed_by_slack(
            secret=SIGNING_SECRET, body=body, timestamp=str(timestamp), signature=signature, now=too_far
        )


SLACK = ("https://hooks.slack.com", "https://hooks.slack-gov.com")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://hooks.slack.com/commands/T0/1/abc", True),
        ("https://hooks.slack.com:443/actions/T0/1/abc", True),
        ("https://HOOKS.SLACK.COM/actions/T0/1/abc", True),
        ("https://hooks.slack-gov.com/actions/T0/1/abc", True),
        ("http://hooks.slack.com/actions/T0/1/abc", False),  # not TLS
        ("https://hooks.slack.com.evil.example/x", False),
        ("https://hooks.slack.com@evil.example/x", False),
        ("https://evil.example@hooks.slack.com/x", False),  # credentials in a URL are not Slack's
        ("https://hooks.slack.com:8443/x", False),
        ("https://169.254.169.254/latest/meta-data", False),
        ("file:///etc/passwd", False),
        ("https://hooks.slack.com:99999/x", False),
        ("", False),
        (None, False),
        (["https://hooks.slack.com/x"], False),
    ],
)
def test_only_slacks_hosts_are_response_urls(url: object, allowed: bool) -> None:
    assert is_allowed_response_url(url, origins=SLACK) is allowed


async def test_the_apps_own_guard_refuses_without_the_http_door(harness: Harness, attacker: Listener) -> None:
    """The second fence on its own: a request handed straight to the Bolt app (as another adapter
    would) is verified there too, before authorization's auth.test or any listener runs."""
    h = harness
    body = action_body(attacker.url)
    for case, headers in bad_headers(body).items():
        request = AsyncBoltRequest(
            body=body.decode(),
            headers={"content-type": "application/x-www-form-urlencoded", **headers},
        )
        response = await h.bot.app.async_dispatch(request)
        assert response.status == 401, case
    await asyncio.sleep(0.2)
    assert h.slack.calls == [] and attacker.received == []


async def test_the_doors_mark_cannot_come_from_a_client(harness: Harness, attacker: Listener) -> None:
    """The guard takes the HTTP door's word that a signature was checked; that word is an object only
    the door holds. Whatever a client puts in a request (headers, body, a context key of the same name
    set by another adapter from client data), the guard computes the signature itself."""
    h = harness
    body = action_body(attacker.url)
    for case, headers in bad_headers(body).items():
        request = AsyncBoltRequest(
            body=body.decode(),
            headers={"content-type": FORM, "x-tossup-signed-at-the-door": "1", **headers},
        )
        request.context["tossup_signed_at_the_door"] = (
            True  # the key's name, with a value a client could give
        )
        response = await h.bot.app.async_dispatch(request)
        assert response.status == 401, case
    await asyncio.sleep(0.2)
    assert h.slack.calls == [] and attacker.received == []


FORM = "application/x-www-form-urlencoded"
FORM_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(
    fields=st.dictionaries(
        st.sampled_from(["command", "text", "channel_name", "user_name", "team_domain", "trigger_id"]),
        st.one_of(FORM_TEXT, st.sampled_from(["payload", "payload=1", "&payload=", "{payload}"])),
        min_size=1,
    )
)
def test_a_form_without_a_payload_field_is_read_as_its_fields(fields: dict[str, str]) -> None:
    request = bolt_request_of(urlencode(fields), query="", headers={"content-type": FORM})
    assert request.body == fields


@settings(max_examples=100, deadline=None)
@given(payload=st.dictionaries(st.sampled_from(["type", "user", "view", "text"]), FORM_TEXT, min_size=1))
def test_a_form_with_a_payload_field_is_read_as_that_payload(payload: dict[str, str]) -> None:
    body = urlencode({"payload": json.dumps(payload)})
    assert bolt_request_of(body, query="", headers={"content-type": FORM}).body == payload
