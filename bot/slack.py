"""The Slack Web API client the whole bot shares, with retries for rate limits and outages."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.i18n import Lang, normalize_locale

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


def make_client(*, token: str, base_url: str, timeout: int = 10) -> AsyncWebClient:
    """A client that retries connection errors, 429s (honouring Retry-After) and 5xx answers."""
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


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

    @property
    def is_active_person(self) -> bool:
        return not (self.is_bot or self.deleted)


@dataclass
class SlackUsers:
    """What the bot needs to know of a Slack user (their language; whether they are a real, active
    person), from users.info, cached per user for `ttl` seconds.

    A lookup never makes a 3-second deadline slip: past `lookup_timeout` the answer is unknown (None),
    and the team's language is used. Failures are not cached, so a passing outage pins nothing.
    """

    client: AsyncWebClient
    default: Lang
    ttl: float = 3600.0
    lookup_timeout: float = 1.0
    _cache: dict[str, tuple[float, SlackUser]] = field(default_factory=dict)

    async def lang(self, user_id: str | None, *, hint: str | None = None) -> Lang:
        """The language to speak to `user_id`: a locale Slack sent with the request wins."""
        if hint:
            return normalize_locale(hint, self.default)
        user = await self.get(user_id) if user_id else None
        return user.lang if user else self.default

    async def get(self, user_id: str) -> SlackUser | None:
        cached = self._cache.get(user_id)
        now = time.monotonic()
        if cached and now - cached[0] < self.ttl:
            return cached[1]
        try:
            response = await asyncio.wait_for(
                self.client.users_info(user=user_id, include_locale=True), self.lookup_timeout
            )
        except (TimeoutError, SlackApiError, OSError) as exc:
            log.info("users.info %s failed (%s)", user_id, slack_error_code(exc))
            return None
        info = response.get("user") or {}
        user = SlackUser(
            id=user_id,
            lang=normalize_locale(info.get("locale"), self.default),
            is_bot=bool(info.get("is_bot")) or info.get("id") == "USLACKBOT",
            deleted=bool(info.get("deleted")),
        )
        self._cache[user_id] = (now, user)
        return user
