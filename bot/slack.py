"""The Slack Web API client the whole bot shares, with retries for rate limits and outages."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.i18n import Lang, normalize_locale
from bot.logs import SLACK_CLIENT_LOGGER

log = logging.getLogger(__name__)

# Errors that no retry can fix: the message is dropped (and logged) instead of retried for days.
PERMANENT_SLACK_ERRORS = frozenset(
    {
        "account_inactive",
        "cant_update_message",
        "edit_window_closed",
        "message_not_found",
        "cannot_dm_bot",
        "channel_not_found",
        "invalid_auth",
        "invalid_blocks",
        "is_archived",
        "msg_blocks_too_long",
        "msg_too_long",
        "no_text",
        "not_authed",
        "not_in_channel",
        "restricted_action",
        "too_many_attachments",
        "user_not_found",
        "user_not_visible",
    }
)


def make_client(
    *,
    token: str,
    base_url: str,
    timeout: float = 10,
    retries: bool = True,
    session: aiohttp.ClientSession | None = None,
) -> AsyncWebClient:
    """A client that retries connection errors, 429s (honouring Retry-After) and 5xx answers.

    `retries=False` is for the outbox: a post retried inside the client after a timeout or a 5xx may be
    a second copy of one Slack already made, so the outbox retries itself, after looking for it first.
    `session` (from `http_session`): connections kept open between calls instead of one new connection
    per call; without it (or once it is closed) each call opens its own.
    """
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        session=session,
        logger=_client_logger(),
        timeout=int(timeout) if float(timeout).is_integer() else timeout,  # type: ignore[arg-type]
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ]
        if retries
        else [],
    )


def _client_logger() -> logging.Logger:
    """slack_sdk's client logger with a level of its own (bot.logs.SLACK_CLIENT_LOGGER says why): the one
    it inherits, when logging was not set up (tests, benchmarks, a library user)."""
    logger = logging.getLogger(SLACK_CLIENT_LOGGER)
    if logger.level == logging.NOTSET:
        logger.setLevel(logger.getEffectiveLevel())
    return logger


def http_session(timeout: float) -> aiohttp.ClientSession:
    """Kept-alive connections to Slack for one client. A client given a session uses the session's
    timeout, not its own: each client needs a session with its own `timeout`. Close it on shutdown."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))


def retry_after_seconds(exc: SlackApiError, default: float = 1.0) -> float:
    """Slack's Retry-After (seconds) on a 429; `default` when it is missing or unreadable."""
    headers = exc.response.headers or {}
    raw = headers.get("Retry-After") or headers.get("retry-after")
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    try:
        return max(float(raw), 0.0) if raw is not None else default
    except (TypeError, ValueError):
        return default


_LOST_AFTER_SENDING = (
    TimeoutError,
    aiohttp.ServerDisconnectedError,
    aiohttp.ClientOSError,
    aiohttp.ClientPayloadError,
)


def is_ambiguous(exc: BaseException) -> bool:
    """Whether a failed call may still have been carried out by Slack: a timeout, a connection lost after
    the request went out, or a 5xx. A refused connection, a 429 or an `ok: false` answer means not."""
    if isinstance(exc, SlackApiError):
        return exc.response.status_code >= 500
    if isinstance(exc, aiohttp.ClientConnectorError):
        return False
    return isinstance(
        exc,
        TimeoutError | aiohttp.ServerDisconnectedError | aiohttp.ClientOSError | aiohttp.ClientPayloadError,
    )


@dataclass
class MethodThrottle:
    """When this process may call each Slack method again: shared by every send of the process.

    A 429 pauses its method for Retry-After; 5xx answers and lost connections back the method off
    exponentially (`first_backoff` seconds, doubling up to `max_backoff`); a success clears it. So an
    outage costs one attempt per method per window, however many messages wait.
    """

    clock: Callable[[], datetime]
    first_backoff: float = 5.0
    max_backoff: float = 300.0
    _until: dict[str, datetime] = field(default_factory=dict)
    _failures: dict[str, int] = field(default_factory=dict)

    def paused_until(self, method: str) -> datetime | None:
        until = self._until.get(method)
        return until if until is not None and until > self.clock() else None

    def next_release(self) -> datetime | None:
        """When the earliest current pause ends (None: nothing is paused)."""
        now = self.clock()
        pending = [until for until in self._until.values() if until > now]
        return min(pending) if pending else None

    def rate_limited(self, method: str, retry_after: float) -> None:
        self._pause(method, max(retry_after, 1.0))

    def failed(self, method: str) -> None:
        count = self._failures.get(method, 0)
        self._failures[method] = count + 1
        self._pause(method, min(self.first_backoff * 2**count, self.max_backoff))

    def succeeded(self, method: str) -> None:
        self._failures.pop(method, None)
        self._until.pop(method, None)

    def _pause(self, method: str, seconds: float) -> None:
        until = self.clock() + timedelta(seconds=seconds)
        self._until[method] = max(until, self._until.get(method, until))
        log.warning("Slack %s paused for %.0f s in this process", method, seconds)


def slack_error_code(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        data = exc.response.data  # a dict for Slack's JSON answers, a str for a bare 5xx page
        error = data.get("error") if isinstance(data, dict) else None
        return str(error or f"http_{exc.response.status_code}")
    return type(exc).__name__


def is_permanent(exc: Exception) -> bool:
    return isinstance(exc, SlackApiError) and slack_error_code(exc) in PERMANENT_SLACK_ERRORS


@dataclass(frozen=True, slots=True)
class SlackUser:
    id: str
    lang: Lang
    is_bot: bool
    deleted: bool
    tz: ZoneInfo | None = None  # their own Slack time zone; None when Slack names none we know
    name: str | None = None  # their full name as their Slack profile gives it (None: none given)

    @property
    def is_active_person(self) -> bool:
        return not (self.is_bot or self.deleted)


@dataclass
class SlackUsers:
    """What the bot needs to know of a Slack user (their language; whether they are a real, active
    person), from users.info, cached per user for `ttl` seconds.

    A lookup never makes a 3-second deadline slip: past `lookup_timeout` the answer is unknown (None),
    and the team's language is used. A failure is remembered for `failure_ttl` seconds only: long enough
    that an outage (or a user Slack does not know) costs one slow lookup, not one per message, short
    enough that a passing outage pins nothing.
    """

    client: AsyncWebClient
    default: Lang
    ttl: float = 3600.0
    lookup_timeout: float = 1.0
    failure_ttl: float = 60.0
    _cache: dict[str, tuple[float, SlackUser]] = field(default_factory=dict)
    _failed: dict[str, float] = field(default_factory=dict)

    async def lang(self, user_id: str | None, *, hint: str | None = None) -> Lang:
        """The language to speak to `user_id`: a locale Slack sent with the request wins."""
        if hint:
            return normalize_locale(hint, self.default)
        user = await self.get(user_id) if user_id else None
        return user.lang if user else self.default

    async def zone(self, user_id: str | None, *, fallback: ZoneInfo) -> ZoneInfo:
        """The time zone to show `user_id` times in: their own Slack zone, else `fallback` (the team's)."""
        user = await self.get(user_id) if user_id else None
        return user.tz if user and user.tz else fallback

    async def names(self, user_ids: Iterable[str]) -> dict[str, str]:
        """Each user's full name, for those Slack names (looked up side by side, each cached)."""
        ids = sorted(set(user_ids))
        users = await asyncio.gather(*(self.get(user_id) for user_id in ids))
        return {user.id: user.name for user in users if user is not None and user.name}

    async def get(self, user_id: str) -> SlackUser | None:
        cached = self._cache.get(user_id)
        now = time.monotonic()
        if cached and now - cached[0] < self.ttl:
            return cached[1]
        failed_at = self._failed.get(user_id)
        if failed_at is not None and now - failed_at < self.failure_ttl:
            return None
        try:
            response = await asyncio.wait_for(
                self.client.users_info(user=user_id, include_locale=True), self.lookup_timeout
            )
        except (TimeoutError, SlackApiError, OSError) as exc:
            log.info("users.info %s failed (%s)", user_id, slack_error_code(exc))
            self._failed[user_id] = time.monotonic()
            return None
        info = response.get("user") or {}
        user = SlackUser(
            id=user_id,
            lang=normalize_locale(info.get("locale"), self.default),
            is_bot=bool(info.get("is_bot")) or info.get("id") == "USLACKBOT",
            deleted=bool(info.get("deleted")),
            tz=slack_zone(info.get("tz")),
            name=_full_name(info),
        )
        self._failed.pop(user_id, None)
        self._cache[user_id] = (now, user)
        return user


def _full_name(info: dict[str, Any]) -> str | None:
    profile = info.get("profile") if isinstance(info.get("profile"), dict) else {}
    for name in (profile.get("real_name"), info.get("real_name"), profile.get("display_name")):
        if isinstance(name, str) and name.strip():
            return name.strip()
    return None


def slack_zone(name: object) -> ZoneInfo | None:
    """The zone users.info names (`tz`, an IANA name such as "America/New_York"); None when it is missing
    or not one this machine knows, so the caller falls back to the team's zone."""
    if not isinstance(name, str) or not name.strip():
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):  # unknown name, or not a zone name at all
        return None
