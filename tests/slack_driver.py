"""Drive a running bot over HTTP with signed requests shaped like Slack's.

``SlackDriver`` signs every request as Slack does (``X-Slack-Signature: v0=HMAC_SHA256(secret,
"v0:{ts}:{raw body}")``, ``X-Slack-Request-Timestamp``). Slash commands and interactivity are
form-encoded (interactivity as one ``payload`` field holding JSON); Events API deliveries are JSON.

The ``*_state`` helpers build entries of ``view.state.values[block_id][action_id]`` exactly as Slack
sends them in a ``view_submission`` payload.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode

import aiohttp

__all__ = [
    "Response",
    "SlackDriver",
    "checkboxes_state",
    "date_state",
    "datetime_state",
    "email_state",
    "option",
    "radio_state",
    "sign",
    "static_state",
    "text_state",
    "url_state",
    "users_state",
]

API_APP_ID = "A0APP"
VERIFICATION_TOKEN = "fake-verification-token"  # legacy field Slack still sends; Bolt ignores it
BOT_USER_ID = "U0BOT"


def sign(signing_secret: str, timestamp: int, body: bytes) -> str:
    """Slack's request signature for ``body`` sent at ``timestamp``."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Response:
    status: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> dict[str, Any] | None:
        """The JSON body, or None when the body is empty."""
        if not self.text.strip():
            return None
        data = json.loads(self.text)
        if not isinstance(data, dict):
            raise AssertionError(f"expected a JSON object, got {self.text!r}")
        return data


class SlackDriver:
    """Sends signed Slack requests (slash commands, interactivity, events) into a bot over HTTP."""

    def __init__(
        self,
        base_url: str,
        signing_secret: str,
        *,
        path: str = "/slack/events",
        team_id: str = "T0TEAM",
        response_url_base: str | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/" + path.lstrip("/")
        self.signing_secret = signing_secret
        self.team_id = team_id
        # e.g. FakeSlack.response_url_base so respond() lands in the fake; else an unroutable Slack URL
        self.response_url_base = response_url_base or "https://hooks.slack.invalid/response/"
        self._seq = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ ids
    def _n(self) -> int:
        return next(self._seq)

    def new_trigger_id(self) -> str:
        return f"{int(time.time())}.{self._n()}.{uuid.uuid4().hex[:20]}"

    def new_view_id(self) -> str:
        return f"VDRV{self._n():05d}{uuid.uuid4().hex[:4].upper()}"

    def new_response_url(self) -> str:
        return f"{self.response_url_base}{self._n()}-{uuid.uuid4().hex[:12]}"

    def _user(self, user_id: str) -> dict[str, Any]:
        name = user_id.lower()
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _team(self) -> dict[str, Any]:
        return {"id": self.team_id, "domain": "fake"}

    # ------------------------------------------------------------------ transport
    async def send_raw(
        self,
        body: bytes,
        *,
        content_type: str,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """POST ``body`` as is; signs it unless ``signature`` is given (use for forged / stale tests)."""
        ts = int(time.time()) if timestamp is None else timestamp
        sent = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature if signature is not None else sign(self.signing_secret, ts, body),
            **(headers or {}),
        }
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.post(self.url, data=body, headers=sent) as resp:
            return Response(resp.status, await resp.text(), dict(resp.headers))

    async def send_form(self, fields: dict[str, str]) -> Response:
        """A signed form-encoded request (how slash commands arrive)."""
        return await self.send_raw(
            urlencode(fields).encode(), content_type="application/x-www-form-urlencoded"
        )

    async def send_payload(self, payload: Any) -> Response:
        """A signed interactivity request: `payload` (any JSON value, so tests may send odd shapes) as the
        form's one `payload` field."""
        return await self.send_form({"payload": json.dumps(payload)})

    async def send_json(self, body: Any) -> Response:
        """A signed Events API style request: `body` (any JSON value) as the raw JSON body."""
        return await self.send_raw(json.dumps(body).encode(), content_type="application/json")

    # ------------------------------------------------------------------ requests
    async def slash(
        self,
        text: str = "",
        *,
        command: str = "/tossup",
        user_id: str = "U0IS",
        channel_id: str = "C0GENERAL",
        trigger_id: str | None = None,
    ) -> Response:
        return await self.send_form(
            self.slash_fields(
                text, command=command, user_id=user_id, channel_id=channel_id, trigger_id=trigger_id
            )
        )

    def slash_fields(
        self,
        text: str = "",
        *,
        command: str = "/tossup",
        user_id: str = "U0IS",
        channel_id: str = "C0GENERAL",
        trigger_id: str | None = None,
    ) -> dict[str, str]:
        """The form fields of a slash command, as Slack sends them."""
        return {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": "fake",
            "channel_id": channel_id,
            "channel_name": "general" if channel_id.startswith("C") else "directmessage",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": API_APP_ID,
            "is_enterprise_install": "false",
            "response_url": self.new_response_url(),
            "trigger_id": trigger_id or self.new_trigger_id(),
        }

    async def block_action(
        self,
        action_id: str,
        *,
        value: str | None = None,
        block_id: str = "actions",
        user_id: str,
        channel_id: str | None = None,
        message_ts: str | None = None,
        view: dict[str, Any] | None = None,
        trigger_id: str | None = None,
    ) -> Response:
        return await self.send_payload(
            self.block_action_payload(
                action_id,
                value=value,
                block_id=block_id,
                user_id=user_id,
                channel_id=channel_id,
                message_ts=message_ts,
                view=view,
                trigger_id=trigger_id,
            )
        )

    def block_action_payload(
        self,
        action_id: str,
        *,
        value: str | None = None,
        block_id: str = "actions",
        user_id: str,
        channel_id: str | None = None,
        message_ts: str | None = None,
        view: dict[str, Any] | None = None,
        trigger_id: str | None = None,
    ) -> dict[str, Any]:
        """A ``block_actions`` payload of one button click, as Slack sends it."""
        action_ts = f"{time.time():.6f}"
        container: dict[str, Any]
        if view is not None:
            view = {"id": self.new_view_id(), **view}
            container = {"type": "view", "view_id": view["id"]}
        else:
            container = {
                "type": "message",
                "message_ts": message_ts or action_ts,
                "channel_id": channel_id,
                "is_ephemeral": False,
            }
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "type": "button",
            "text": {"type": "plain_text", "text": action_id, "emoji": True},
            "action_ts": action_ts,
        }
        if value is not None:
            action["value"] = value
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": API_APP_ID,
            "token": VERIFICATION_TOKEN,
            "container": container,
            "trigger_id": trigger_id or self.new_trigger_id(),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "actions": [action],
            "response_url": self.new_response_url(),
            "state": {"values": {}},
        }
        if channel_id is not None:
            payload["channel"] = {"id": channel_id, "name": "general" if channel_id[:1] == "C" else "dm"}
        if message_ts is not None:
            payload["message"] = {
                "type": "message",
                "ts": message_ts,
                "user": BOT_USER_ID,
                "text": "",
                "blocks": [],
            }
        if view is not None:
            payload["view"] = view
        return payload

    async def view_submission(
        self,
        callback_id: str,
        values: dict[str, Any],
        *,
        user_id: str,
        view_id: str | None = None,
        private_metadata: str = "",
        trigger_id: str | None = None,
        hash: str | None = None,
    ) -> Response:
        return await self.send_payload(
            self.view_submission_payload(
                callback_id,
                values,
                user_id=user_id,
                view_id=view_id,
                private_metadata=private_metadata,
                trigger_id=trigger_id,
                hash=hash,
            )
        )

    def view_submission_payload(
        self,
        callback_id: str,
        values: dict[str, Any],
        *,
        user_id: str,
        view_id: str | None = None,
        private_metadata: str = "",
        trigger_id: str | None = None,
        hash: str | None = None,
    ) -> dict[str, Any]:
        """A ``view_submission`` payload of a modal with `values` as its ``view.state.values``."""
        view_id = view_id or self.new_view_id()
        return {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": API_APP_ID,
            "token": VERIFICATION_TOKEN,
            "trigger_id": trigger_id or self.new_trigger_id(),
            "view": {
                "id": view_id,
                "team_id": self.team_id,
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": private_metadata,
                "state": {"values": values},
                "hash": hash or f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
                "title": {"type": "plain_text", "text": "Tossup", "emoji": True},
                "blocks": [],
                "root_view_id": view_id,
                "previous_view_id": None,
                "app_id": API_APP_ID,
                "external_id": "",
                "bot_id": "B0BOT",
            },
            "response_urls": [],
            "enterprise": None,
            "is_enterprise_install": False,
        }

    async def view_closed(
        self, callback_id: str, *, user_id: str, view_id: str | None = None, private_metadata: str = ""
    ) -> Response:
        """A ``view_closed`` payload (only sent when the modal had ``notify_on_close``)."""
        view_id = view_id or self.new_view_id()
        return await self.send_payload(
            {
                "type": "view_closed",
                "team": self._team(),
                "user": self._user(user_id),
                "api_app_id": API_APP_ID,
                "token": VERIFICATION_TOKEN,
                "view": {
                    "id": view_id,
                    "team_id": self.team_id,
                    "type": "modal",
                    "callback_id": callback_id,
                    "private_metadata": private_metadata,
                    "state": {"values": {}},
                    "blocks": [],
                },
                "is_cleared": False,
            }
        )

    async def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None
    ) -> Response:
        """An Events API ``event_callback`` delivery; ``retry_num`` adds Slack's retry headers."""
        envelope = self.event_envelope(event, event_id=event_id)
        headers = None
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.send_raw(
            json.dumps(envelope).encode(), content_type="application/json", headers=headers
        )

    def event_envelope(self, event: Any, *, event_id: str | None = None) -> dict[str, Any]:
        """The ``event_callback`` envelope Slack wraps an event in."""
        return {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "api_app_id": API_APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{self._n():06d}{uuid.uuid4().hex[:6].upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }


# ---------------------------------------------------------------------- view.state.values helpers
def option(value: str, text: str | None = None) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text or value, "emoji": True}, "value": value}


def text_state(value: str | None) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def email_state(value: str | None) -> dict[str, Any]:
    return {"type": "email_text_input", "value": value}


def url_state(value: str | None) -> dict[str, Any]:
    return {"type": "url_text_input", "value": value}


def static_state(value: str | None) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": option(value) if value is not None else None}


def radio_state(value: str | None) -> dict[str, Any]:
    return {"type": "radio_buttons", "selected_option": option(value) if value is not None else None}


def users_state(user_id: str | None) -> dict[str, Any]:
    return {"type": "users_select", "selected_user": user_id}


def date_state(date: str | None) -> dict[str, Any]:
    return {"type": "datepicker", "selected_date": date}


def datetime_state(unix_ts: int | None) -> dict[str, Any]:
    return {"type": "datetimepicker", "selected_date_time": unix_ts}


def checkboxes_state(values: list[str]) -> dict[str, Any]:
    return {"type": "checkboxes", "selected_options": [option(v) for v in values]}
