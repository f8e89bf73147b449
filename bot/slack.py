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


@dataclass
class LocaleResolver:
    """Which language to speak to a Slack user: the locale Slack reports for them, else the team's.

    users.info is asked once per user per `ttl` seconds, and never allowed to make a 3-second
    deadline slip: past `lookup_timeout` the team's language is used.
    """

    client: AsyncWebClient
    default: Lang
    ttl: float = 3600.0
    lookup_timeout: float = 1.0
    _cache: dict[str, tuple[float, Lang]] = field(default_factory=dict)

    async def for_user(self, user_id: str | None, *, hint: str | None = None) -> Lang:
        if hint:
            return normalize_locale(hint, self.default)
        if not user_id:
            return self.default
        cached = self._cache.get(user_id)
        now = time.monotonic()
        if cached and now - cached[0] < self.ttl:
            return cached[1]
        try:
            response = await asyncio.wait_for(
                self.client.users_info(user=user_id, include_locale=True), self.lookup_timeout
            )
        except (TimeoutError, SlackApiError, OSError) as exc:
            # Not cached: a passing outage should not pin the wrong language for an hour.
            log.info("no locale for %s (%s); using %s", user_id, slack_error_code(exc), self.default)
            return self.default
        lang = normalize_locale((response.get("user") or {}).get("locale"), self.default)
        self._cache[user_id] = (now, lang)
        return lang
