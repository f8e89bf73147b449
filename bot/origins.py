"""Where the bot may send a `response_url` POST: Slack's hooks hosts (kept free of Slack's SDK, so the
settings can be read before the bot is loaded)."""

from __future__ import annotations

from urllib.parse import urlsplit

SLACK_RESPONSE_URL_ORIGINS = ("https://hooks.slack.com", "https://hooks.slack-gov.com")


def normalize_origin(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL (default ports dropped), or None when it is not one."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    default_port = 443 if parts.scheme == "https" else 80
    host = parts.hostname.lower()
    return f"{parts.scheme}://{host}" if port in (None, default_port) else f"{parts.scheme}://{host}:{port}"
