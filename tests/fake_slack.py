"""A fake Slack Web API (and Socket Mode server), spoken over real HTTP on 127.0.0.1.

Point slack_sdk / slack_bolt at it with ``AsyncWebClient(token=..., base_url=fake.base_url)``.
Every request is recorded in :attr:`FakeSlack.calls`; state that matters to tests (posted messages,
opened views, DM channels, uploaded files) is kept in plain dicts so tests can assert on it.

Slack behaviour reproduced (as Slack's API reference, https://api.slack.com/methods, and slack_sdk say):

* answers are HTTP 200 ``{"ok": true, ...}`` / ``{"ok": false, "error": ...}``;
* ``Authorization: Bearer <token>`` (or a ``token`` body field) is required (``not_authed``); an ``xoxb-``
  token other than ``bot_token`` is ``invalid_auth``; ``xapp-`` tokens only work for
  ``apps.connections.open`` and that method only takes them (``not_allowed_token_type``);
* bodies may be JSON, form-encoded or query parameters (slack_sdk sends ``users.info`` and
  ``chat.getPermalink`` as GET with a query string, ``conversations.open`` as POST with a query string);
* ``trigger_id`` works once (``trigger_exchanged``); cheap view / message limits are validated;
* every answer carries the token's scopes (``X-OAuth-Scopes``, from :attr:`FakeSlack.scopes`);
  ``conversations.info`` knows the channels of :attr:`FakeSlack.channels` and needs ``channels:read``
  (``groups:read`` for a private one), answering ``missing_scope`` / ``channel_not_found`` as Slack does.

State changes happen when a request is processed; a :meth:`FakeSlack.slow` delay is applied afterwards,
before answering, and the call is recorded when the answer is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import WSMsgType, web

__all__ = ["Call", "FakeSlack"]

_JSON_FIELDS = ("view", "blocks", "attachments", "metadata", "files")

Handler = Callable[[dict[str, Any]], dict[str, Any]]

DEFAULT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "im:write",
    "users:read",
    "files:write",
    "channels:history",
    "groups:history",
    "im:history",
)


@dataclass
class Call:
    """One request the fake received."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    status: int
    response: dict[str, Any] = field(default_factory=dict)  # the JSON answered ({} for non-JSON answers)

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass
class _Failure:
    status: int  # 200 means an {"ok": false, "error": error} answer
    error: str = ""
    retry_after: int | None = None
    remaining: int = 1


class _ApiError(Exception):
    def __init__(self, error: str, *messages: str) -> None:
        super().__init__(error)
        self.error = error
        self.messages = list(messages)


def _text_len(obj: Any) -> int:
    if isinstance(obj, dict):
        return len(str(obj.get("text", "")))
    return len(str(obj or ""))


class FakeSlack:
    """In-process fake of the Slack Web API and Socket Mode websocket."""

    def __init__(
        self, *, bot_token: str = "xoxb-test", team_id: str = "T0TEAM", bot_user_id: str = "U0BOT"
    ) -> None:
        self.bot_token = bot_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = "B0BOT"
        self.app_id = "A0APP"

        self.calls: list[Call] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}  # view_id -> current view (as answered)
        self.home_views: dict[str, dict[str, Any]] = {}  # user_id -> last published Home view
        self.files: dict[str, dict[str, Any]] = {}  # file_id -> {"filename", "length", "data", ...}
        self.socket_received: list[dict[str, Any]] = []  # every JSON frame a socket client sent

        self._failures: dict[str, deque[_Failure]] = {}
        self._outages: dict[str, tuple[float, _Failure]] = {}  # method → (until, failure), fail_for()
        self._slow: dict[str, float] = {}
        self._stall: dict[str, float] = {}
        self.stalled: list[str] = []  # methods of requests held by stall(), as they arrived
        self.dropped: list[str] = []  # of those, the ones whose client disconnected: never processed
        self.unreadable_channels: set[str] = set()  # history/replies answer not_in_channel (no scope)
        # The bot token's scopes, sent back in every answer's X-OAuth-Scopes header as Slack does
        # (manifests/http.yaml's list by default); conversations.info needs channels:read / groups:read.
        self.scopes: list[str] = list(DEFAULT_SCOPES)
        # Channels conversations.info knows: id → {"name", "is_private", "is_member", "is_archived"}. Only
        # these answer conversations.info (others: channel_not_found), and for these conversations.history
        # answers as Slack does for a channel the bot is not in (not_in_channel, or channel_not_found when
        # private); channels not listed here behave as before.
        self.channels: dict[str, dict[str, Any]] = {}
        self._used_triggers: set[str] = set()
        self._seq = itertools.count(1)
        self._last_ts_us = 0
        self._handlers: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "users.info": self._users_info,
            "apps.connections.open": self._apps_connections_open,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }

        self._runner: web.AppRunner | None = None
        self._port = 0
        self._closing = asyncio.Event()
        self._changed = asyncio.Event()
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_connected = asyncio.Event()
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_get("/socket", self._handle_socket)
        app.router.add_post("/upload/{file_id}", self._handle_upload)
        app.router.add_post("/response/{rid}", self._handle_response_url)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        self._closing.set()
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code=1001, message=b"server shutdown"), 1.0)
        for fut in self._acks.values():
            fut.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def origin(self) -> str:
        """Where this fake's ``response_url``s live (the bot's ``SLACK_RESPONSE_URL_ORIGINS`` in tests)."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/api/"

    @property
    def socket_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/socket"

    @property
    def response_url_base(self) -> str:
        """Prefix for fake ``response_url``s (pass to ``SlackDriver(response_url_base=...)``)."""
        return f"http://127.0.0.1:{self._port}/response/"

    # ------------------------------------------------------------------ inspection
    def calls_to(self, method: str, *, ok_only: bool = True) -> list[Call]:
        return [c for c in self.calls if c.method == method and (c.ok or not ok_only)]

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        try:
            return self.messages[(channel, ts)]
        except KeyError:
            known = ", ".join(f"{c}/{t}" for c, t in self.messages) or "none"
            raise AssertionError(f"no message {channel}/{ts}; known: {known}") from None

    async def wait_for(
        self,
        method: str,
        *,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - API mandated by the brief
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait until at least ``count`` ok calls to ``method`` (matching ``where``) were answered."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self._changed.clear()
            found = [c for c in self.calls_to(method) if where is None or where(c)]
            if len(found) >= count:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"expected {count} ok call(s) to {method}, got {len(found)} within {timeout}s; "
                    f"received:\n{self.describe_calls()}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def assert_no_more(self, method: str, *, count: int, settle: float = 0.3) -> None:
        await asyncio.sleep(settle)
        found = self.calls_to(method)
        assert len(found) == count, (
            f"expected exactly {count} ok call(s) to {method}, got {len(found)}:\n{self.describe_calls()}"
        )

    def describe_calls(self) -> str:
        if not self.calls:
            return "  (no calls)"
        lines = []
        for c in self.calls:
            outcome = "ok" if c.ok else (c.response.get("error") or f"HTTP {c.status}")
            args = {k: v for k, v in c.args.items() if k not in ("blocks", "view")}
            lines.append(f"  {c.method} -> {outcome} {json.dumps(args, default=str)[:200]}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ failure injection
    def fail_next(
        self, method: str, *, status: int = 500, times: int = 1, retry_after: int | None = None
    ) -> None:
        """The next ``times`` calls to ``method`` answer HTTP ``status`` (429 → ratelimited + Retry-After)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        self._failures.setdefault(method, deque()).append(
            _Failure(
                status=status,
                error="ratelimited" if status == 429 else "",
                retry_after=retry_after,
                remaining=times,
            )
        )

    def error_next(self, method: str, error: str, *, times: int = 1) -> None:
        """The next ``times`` calls to ``method`` answer HTTP 200 ``{"ok": false, "error": error}``."""
        self._failures.setdefault(method, deque()).append(_Failure(status=200, error=error, remaining=times))

    def slow(self, method: str, seconds: float) -> None:
        """Delay every answer to ``method`` by ``seconds`` (0 removes the delay)."""
        if seconds > 0:
            self._slow[method] = seconds
        else:
            self._slow.pop(method, None)

    def stall(self, method: str, seconds: float) -> None:
        """Hold every request to ``method`` for ``seconds`` *before* Slack processes it (0 removes it).

        A client that goes away while held (its process killed) never had its request processed: the
        case of a bot that dies between deciding to post and Slack posting. Held requests are listed in
        :attr:`stalled` as they arrive; :attr:`dropped` lists those whose client vanished.
        """
        if seconds > 0:
            self._stall[method] = seconds
        else:
            self._stall.pop(method, None)

    async def wait_stalled(self, method: str, *, count: int = 1, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while sum(1 for m in self.stalled if m == method) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"no stalled {method} within {timeout}s")
            await asyncio.sleep(0.02)

    def fail_for(
        self, method: str, seconds: float, *, status: int = 500, retry_after: int | None = None
    ) -> None:
        """Every call to ``method`` in the next ``seconds`` answers HTTP ``status`` (an outage, or a
        long rate limit: 429 with ``Retry-After``)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        failure = _Failure(
            status=status, error="ratelimited" if status == 429 else "", retry_after=retry_after
        )
        self._outages[method] = (time.monotonic() + seconds, failure)

    def _take_failure(self, method: str) -> _Failure | None:
        outage = self._outages.get(method)
        if outage is not None:
            if time.monotonic() < outage[0]:
                return outage[1]
            del self._outages[method]
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.popleft()
        return failure

    # ------------------------------------------------------------------ HTTP plumbing
    async def _parse_args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    args.update(body)
            else:
                form = await request.post()
                args.update({k: v for k, v in form.items() if isinstance(v, str)})
        for key in _JSON_FIELDS:
            value = args.get(key)
            if isinstance(value, str):
                with contextlib.suppress(ValueError):
                    args[key] = json.loads(value)
        return args

    async def _delay(self, method: str) -> None:
        seconds = self._slow.get(method, 0)
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)

    async def _held(self, method: str, request: web.Request) -> bool:
        """Hold a request stall() asks for; False when its client died meanwhile (never processed)."""
        held = self._stall.get(method, 0)
        if held <= 0:
            return True
        self.stalled.append(method)
        until = time.monotonic() + held
        while time.monotonic() < until and method in self._stall and not self._closing.is_set():
            if request.transport is None or request.transport.is_closing():
                self.dropped.append(method)  # the client died while held: Slack never saw it
                return False
            await asyncio.sleep(0.02)
        return True

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._changed.set()

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        headers = dict(request.headers)
        try:
            args = await self._parse_args(request)
        except ValueError:
            args = {}
            body: dict[str, Any] = {"ok": False, "error": "invalid_json"}
        else:
            if not await self._held(method, request):
                return web.Response(status=499)
            failure = self._take_failure(method)
            if failure is not None and failure.status != 200:
                await self._delay(method)
                return self._http_failure(method, args, headers, failure)
            if failure is not None:
                body = {"ok": False, "error": failure.error}
            else:
                body = self._dispatch(method, args, request.headers.get("Authorization", ""))
        await self._delay(method)
        self._record(Call(method, args, headers, 200, body))
        return web.json_response(body, headers={"X-OAuth-Scopes": ",".join(self.scopes)})

    def _http_failure(
        self, method: str, args: dict[str, Any], headers: dict[str, str], failure: _Failure
    ) -> web.Response:
        if failure.status == 429:
            body = {"ok": False, "error": "ratelimited"}
            self._record(Call(method, args, headers, 429, body))
            return web.json_response(body, status=429, headers={"Retry-After": str(failure.retry_after or 1)})
        self._record(Call(method, args, headers, failure.status, {}))
        extra = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else None
        return web.Response(
            status=failure.status, text=f"fake slack: injected HTTP {failure.status}", headers=extra
        )

    def _dispatch(self, method: str, args: dict[str, Any], authorization: str) -> dict[str, Any]:
        token = authorization.removeprefix("Bearer ").strip() if authorization.startswith("Bearer ") else ""
        token = token or str(args.get("token") or "")
        if not token:
            return {"ok": False, "error": "not_authed"}
        handler = self._handlers.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method", "req_method": method}
        is_app_token = token.startswith("xapp-")
        if (method == "apps.connections.open") != is_app_token:
            return {"ok": False, "error": "not_allowed_token_type"}
        if token.startswith("xoxb-") and token != self.bot_token:
            return {"ok": False, "error": "invalid_auth"}
        try:
            return {"ok": True, **handler(args)}
        except _ApiError as e:
            body: dict[str, Any] = {"ok": False, "error": e.error}
            if e.messages:
                body["response_metadata"] = {"messages": e.messages}
            return body

    def _next_ts(self) -> str:
        """Slack's ts: the server's time in µs, strictly increasing (two posts never share one)."""
        us = max(int(time.time() * 1_000_000), self._last_ts_us + 100)
        self._last_ts_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._seq):06d}{uuid.uuid4().hex[:4].upper()}"

    # ------------------------------------------------------------------ methods
    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://fake.slack.test/",
            "team": "Fake Team",
            "user": "tossup",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.socket_url}

    # views --------------------------------------------------------------
    def _use_trigger(self, args: dict[str, Any]) -> None:
        trigger_id = args.get("trigger_id")
        if not trigger_id:
            raise _ApiError("invalid_arguments", "[ERROR] missing required field: trigger_id")
        if trigger_id in self._used_triggers:
            raise _ApiError("trigger_exchanged")
        self._used_triggers.add(trigger_id)

    def _check_view(self, args: dict[str, Any], *, home: bool = False) -> dict[str, Any]:
        view = args.get("view")
        if not isinstance(view, dict):
            raise _ApiError("invalid_arguments", "[ERROR] missing required field: view")
        errors: list[str] = []
        vtype = view.get("type")
        if vtype not in (("home",) if home else ("modal",)):
            errors.append(f"[ERROR] invalid view type: {vtype!r} [json-pointer:/view/type]")
        blocks = view.get("blocks")
        if not isinstance(blocks, list):
            errors.append("[ERROR] missing required field: blocks [json-pointer:/view/blocks]")
            blocks = []
        if len(blocks) > 100:
            errors.append("[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]")
        if len(str(view.get("private_metadata", ""))) > 3000:
            errors.append("[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]")
        if len(str(view.get("callback_id", ""))) > 255:
            errors.append("[ERROR] must be less than 256 characters [json-pointer:/view/callback_id]")
        if vtype == "modal":
            if "title" not in view:
                errors.append("[ERROR] missing required field: title [json-pointer:/view/title]")
            for key in ("title", "submit", "close"):
                if key in view and _text_len(view[key]) > 24:
                    errors.append(f"[ERROR] must be less than 25 characters [json-pointer:/view/{key}/text]")
            has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
            if has_input and "submit" not in view:
                errors.append("[ERROR] submit is required with input blocks [json-pointer:/view]")
        elif vtype == "home":
            for key in ("submit", "close"):
                if key in view:
                    errors.append(f"[ERROR] {key} is not allowed for home views [json-pointer:/view/{key}]")
        if errors:
            raise _ApiError("invalid_arguments", *errors)
        return view

    def _store_view(
        self, view: dict[str, Any], *, view_id: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        view_id = view_id or self._new_id("V")
        stored = {
            **view,
            "id": view_id,
            "team_id": self.team_id,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            **extra,
        }
        self.views[view_id] = stored
        return stored

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        view = self._check_view(args)
        self._use_trigger(args)
        stored = self._store_view(view)
        stored["root_view_id"] = stored["id"]
        return {"view": stored}

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        view = self._check_view(args)
        self._use_trigger(args)
        return {"view": self._store_view(view)}

    def _find_view_id(self, args: dict[str, Any]) -> str:
        view_id = args.get("view_id")
        external_id = args.get("external_id")
        if not view_id and not external_id:
            raise _ApiError("invalid_arguments", "[ERROR] view_id or external_id is required")
        if not view_id:
            view_id = next(
                (vid for vid, v in self.views.items() if v.get("external_id") == external_id), None
            )
        if not view_id or view_id not in self.views:
            raise _ApiError("not_found")
        return view_id

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = self._find_view_id(args)
        old = self.views[view_id]
        view = self._check_view(args, home=old.get("type") == "home")
        if args.get("hash") and args["hash"] != old["hash"]:
            raise _ApiError("hash_conflict")
        return {"view": self._store_view(view, view_id=view_id)}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = args.get("user_id")
        if not user_id:
            raise _ApiError("invalid_arguments", "[ERROR] missing required field: user_id")
        view = self._check_view(args, home=True)
        old = self.home_views.get(user_id)
        if old is not None and args.get("hash") and args["hash"] != old["hash"]:
            raise _ApiError("hash_conflict")
        stored = self._store_view(view, view_id=old["id"] if old else None)
        self.home_views[user_id] = stored
        return {"view": stored}

    # chat ---------------------------------------------------------------
    @staticmethod
    def _dm_channel(channel: str) -> str:
        return "D" + channel if channel[:1] in ("U", "W") else channel

    @staticmethod
    def _check_content(args: dict[str, Any]) -> None:
        blocks = args.get("blocks")
        if not args.get("text") and not blocks and not args.get("attachments"):
            raise _ApiError("no_text")
        if blocks is not None and (not isinstance(blocks, list) or len(blocks) > 50):
            raise _ApiError("invalid_blocks", "[ERROR] no more than 50 items allowed [json-pointer:/blocks]")

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel"):
            raise _ApiError("channel_not_found")
        self._check_content(args)
        channel = self._dm_channel(str(args["channel"]))
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "text": str(args.get("text") or "")[:40_000],
            "blocks": args.get("blocks") or [],
            "ts": ts,
            "team": self.team_id,
        }
        for key in ("thread_ts", "attachments", "metadata"):
            if args.get(key):
                message[key] = args[key]
        self.messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "message": dict(message)}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel") or ""), str(args.get("ts") or "")
        if not channel:
            raise _ApiError("channel_not_found")
        message = self.messages.get((channel, ts))
        if message is None:
            raise _ApiError("message_not_found")
        self._check_content(args)
        if "text" in args:
            message["text"] = str(args["text"] or "")[:40_000]
        if "blocks" in args:
            message["blocks"] = args["blocks"] or []
        if "attachments" in args:
            message["attachments"] = args["attachments"]
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {"channel": channel, "ts": ts, "text": message["text"], "message": dict(message)}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel"):
            raise _ApiError("channel_not_found")
        if not args.get("user"):
            raise _ApiError("user_not_in_channel")
        self._check_content(args)
        return {"message_ts": self._next_ts()}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel") or ""), str(args.get("message_ts") or "")
        if not channel:
            raise _ApiError("channel_not_found")
        if not ts:
            raise _ApiError("message_not_found")
        return {
            "channel": channel,
            "permalink": f"https://fake.slack.test/archives/{channel}/p{ts.replace('.', '')}",
        }

    # conversations / users --------------------------------------------
    def _listing(self, args: dict[str, Any], found: list[dict[str, Any]]) -> dict[str, Any]:
        """One page of `found` (already ordered) as Slack pages: limit, cursor, has_more; metadata only
        with include_all_metadata (Slack leaves it out otherwise)."""
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        limit = max(1, min(int(args.get("limit") or 100), 999))
        start = int(str(args.get("cursor") or "0") or 0)
        page = found[start : start + limit]
        messages = [{k: v for k, v in m.items() if k != "metadata" or with_metadata} for m in page]
        more = start + limit < len(found)
        return {
            "messages": messages,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    @staticmethod
    def _after(message: dict[str, Any], args: dict[str, Any]) -> bool:
        oldest, latest = args.get("oldest"), args.get("latest")
        ts = float(message["ts"])
        return (oldest is None or ts >= float(oldest)) and (latest is None or ts <= float(latest))

    def _known_channel(self, channel: str, *, scope: str) -> dict[str, Any] | None:
        """A channel of :attr:`channels` as the bot may see it, checking `scope`'s channels: / groups:
        variant; None for a channel not listed there."""
        known = self.channels.get(channel)
        if known is None:
            return None
        needed = f"{'groups' if known.get('is_private') else 'channels'}:{scope}"
        if needed not in self.scopes:
            raise _ApiError("missing_scope")
        if known.get("is_private") and not known.get("is_member"):
            raise _ApiError("channel_not_found")  # a private channel is invisible to a non-member
        return known

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        known = self._known_channel(channel, scope="read")
        if known is None:
            raise _ApiError("channel_not_found")
        return {
            "channel": {
                "id": channel,
                "name": known.get("name", channel.lower()),
                "is_channel": not known.get("is_private"),
                "is_private": bool(known.get("is_private")),
                "is_member": bool(known.get("is_member")),
                "is_archived": bool(known.get("is_archived")),
            }
        }

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Top-level messages of a channel, newest first (thread replies are not listed)."""
        channel = self._dm_channel(str(args.get("channel") or ""))
        if not channel:
            raise _ApiError("channel_not_found")
        known = self._known_channel(channel, scope="history")
        if known is not None and not known.get("is_member"):
            raise _ApiError("not_in_channel")
        if channel in self.unreadable_channels:
            raise _ApiError("not_in_channel")
        found = [
            m
            for (c, ts), m in self.messages.items()
            if c == channel and m.get("thread_ts") in (None, ts) and self._after(m, args)
        ]
        found.sort(key=lambda m: float(m["ts"]), reverse=True)
        return self._listing(args, found)

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        """A thread: its parent, then the replies, oldest first."""
        channel = self._dm_channel(str(args.get("channel") or ""))
        parent_ts = str(args.get("ts") or "")
        if channel in self.unreadable_channels:
            raise _ApiError("not_in_channel")
        if (channel, parent_ts) not in self.messages:
            raise _ApiError("thread_not_found")
        found = [
            m
            for (c, ts), m in self.messages.items()
            if c == channel and (ts == parent_ts or m.get("thread_ts") == parent_ts) and self._after(m, args)
        ]
        found.sort(key=lambda m: float(m["ts"]))
        return self._listing(args, found)

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            return {"channel": {"id": str(args["channel"])}}
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if not users:
            raise _ApiError("users_list_not_supplied")
        if len(users) == 1:
            return {"channel": {"id": "D" + users[0]}, "no_op": True, "already_open": True}
        return {"channel": {"id": "G" + "".join(sorted(users))}}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args.get("user") or "")
        profile = self.users.get(user_id)
        if profile is None:
            raise _ApiError("user_not_found")
        tz = str(profile.get("tz", "UTC"))
        try:
            offset = datetime.now(ZoneInfo(tz)).utcoffset()
        except (ZoneInfoNotFoundError, ValueError):
            offset = None
        real_name = str(profile.get("real_name", user_id))
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": user_id.lower(),
            "real_name": real_name,
            "tz": tz,
            "tz_label": tz,
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "is_bot": False,
            "is_admin": False,
            "deleted": False,
            "profile": {"real_name": real_name, "display_name": profile.get("display_name", real_name)},
        }
        user.update({k: v for k, v in profile.items() if k != "locale"})
        if str(args.get("include_locale", "")).lower() in ("true", "1") and "locale" in profile:
            user["locale"] = profile["locale"]
        return {"user": user}

    # files ----------------------------------------------------------------
    def _files_get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("filename") or not args.get("length"):
            raise _ApiError("invalid_arguments")
        file_id = self._new_id("F")
        self.files[file_id] = {
            "id": file_id,
            "filename": args["filename"],
            "length": int(args["length"]),
            "alt_txt": args.get("alt_txt"),
            "data": None,
        }
        return {"upload_url": f"http://127.0.0.1:{self._port}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        items = args.get("files")
        if not isinstance(items, list) or not items:
            raise _ApiError("invalid_arguments")
        answered = []
        for item in items:
            record = self.files.get(str(item.get("id")))
            if record is None or record["data"] is None:
                raise _ApiError("file_not_found")
            record.update(
                title=item.get("title") or record["filename"],
                channel=args.get("channel_id"),
                thread_ts=args.get("thread_ts"),
                initial_comment=args.get("initial_comment"),
            )
            answered.append({"id": record["id"], "name": record["filename"], "title": record["title"]})
        channel = args.get("channel_id")
        if channel:  # Slack shares the files into the channel (or thread) as a message of the bot's
            ts = self._next_ts()
            message: dict[str, Any] = {
                "type": "message",
                "user": self.bot_user_id,
                "bot_id": self.bot_id,
                "text": str(args.get("initial_comment") or ""),
                "ts": ts,
                "files": answered,
            }
            if args.get("thread_ts"):
                message["thread_ts"] = args["thread_ts"]
            self.messages[(self._dm_channel(str(channel)), ts)] = message
        return {"files": answered}

    async def _handle_upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        data = await request.read()
        record = self.files.get(file_id)
        if record is None:
            return web.Response(status=404, text="not found")
        record["data"] = data
        self._record(
            Call(
                "file.upload",
                {"file_id": file_id, "size": len(data)},
                dict(request.headers),
                200,
                {"ok": True},
            )
        )
        return web.Response(text=f"OK - {len(data)}")

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = {}
        args = {**(body if isinstance(body, dict) else {}), "response_url_id": request.match_info["rid"]}
        failure = self._take_failure("response_url")
        if failure is not None:  # e.g. an expired response_url: Slack answers 404 "expired_url"
            status = failure.status if failure.status != 200 else 404
            self._record(Call("response_url", args, dict(request.headers), status, {"ok": False}))
            return web.Response(status=status, text=failure.error or "expired_url")
        self._record(Call("response_url", args, dict(request.headers), 200, {"ok": True}))
        return web.Response(text="ok")

    # ------------------------------------------------------------------ Socket Mode
    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True, timeout=1.0)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len([s for s in self._sockets if not s.closed]),
                "debug_info": {"host": "fake-slack", "build_number": 1, "approximate_connection_time": 3600},
                "connection_info": {"app_id": self.app_id},
            }
        )
        self._socket_connected.set()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    frame = json.loads(msg.data)
                except ValueError:
                    continue
                if not isinstance(frame, dict):
                    continue
                self.socket_received.append(frame)
                envelope_id = frame.get("envelope_id")
                if isinstance(envelope_id, str):
                    fut = self._acks.setdefault(envelope_id, asyncio.get_running_loop().create_future())
                    if not fut.done():
                        fut.set_result(frame)
        finally:
            self._sockets.remove(ws)
            if not any(not s.closed for s in self._sockets):
                self._socket_connected.clear()
        return ws

    def _live_socket(self) -> web.WebSocketResponse:
        for ws in reversed(self._sockets):
            if not ws.closed:
                return ws
        raise AssertionError("no Socket Mode client is connected")

    async def wait_socket_connected(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        try:
            await asyncio.wait_for(self._socket_connected.wait(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"no Socket Mode client connected within {timeout}s; calls:\n{self.describe_calls()}"
            ) from None

    async def socket_send(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = False,
        retry_attempt: int = 0,
    ) -> str:
        """Send a ``slash_commands`` / ``interactive`` / ``events_api`` envelope; returns its envelope_id."""
        ws = self._live_socket()
        envelope_id = str(uuid.uuid4())
        self._acks.setdefault(envelope_id, asyncio.get_running_loop().create_future())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if envelope_type == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = "timeout" if retry_attempt else ""
        await ws.send_json(envelope)
        return envelope_id

    async def socket_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        """The ack the client sent for ``envelope_id``: ``{"envelope_id", "payload"?}``."""
        fut = self._acks.setdefault(envelope_id, asyncio.get_running_loop().create_future())
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            raise AssertionError(f"no ack for envelope {envelope_id} within {timeout}s") from None

    async def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask the client to reconnect, as Slack does (``{"type": "disconnect", "reason": ...}``)."""
        await self._live_socket().send_json(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "fake-slack"}}
        )
