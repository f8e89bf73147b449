"""Slack request verification: a request Slack did not sign does nothing at all.

Checked at the HTTP door, before the body is even parsed (`is_signed_by_slack`), and by the first of the
app's own middleware (`SlackRequestGuard`) for any request that did not come through that door (it takes
the door's word, `mark_signed_at_the_door`, rather than computing the HMAC twice); the guard also refuses
any `response_url` that is not on one of Slack's own hosts. Only a request that passed both is marked
`VERIFIED` in its context; the error handler acts on nothing else. Nothing here raises on what a client
sends, and nothing here logs the body.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.origins import normalize_origin

log = logging.getLogger(__name__)

VERIFIED = "tossup_request_verified"  # context key: set only by this module, never from the body
_SIGNED_AT_THE_DOOR = "tossup_signed_at_the_door"  # context key whose value is _DOOR alone
_DOOR = object()  # no payload, however crafted, makes this object: the mark cannot be forged
MAX_REQUEST_AGE_SECONDS = 5 * 60  # Slack's replay window

_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: int() would also take "١٢" or " 12"
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


def is_signed_by_slack(
    *, secret: str, body: bytes, timestamp: str | None, signature: str | None, now: float | None = None
) -> bool:
    """True only when `signature` is Slack's v0 HMAC of `body` at `timestamp`, within the replay window.

    Any malformed header (missing, empty, not digits, not hex) is simply False: this never raises.
    """
    if not secret or timestamp is None or signature is None:
        return False
    if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > MAX_REQUEST_AGE_SECONDS:
        return False
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def mark_signed_at_the_door(req: AsyncBoltRequest) -> None:
    """The HTTP door checked this request's signature on its raw bytes (`is_signed_by_slack`)."""
    req.context[_SIGNED_AT_THE_DOOR] = _DOOR


def is_allowed_response_url(url: object, *, origins: Iterable[str]) -> bool:
    """A `response_url` the bot may POST to: on one of `origins` (Slack's hooks hosts), nothing else."""
    if not isinstance(url, str) or not url:
        return False
    origin = normalize_origin(url)
    return origin is not None and origin in set(origins)


class SlackRequestGuard(AsyncMiddleware):
    """The app's first middleware (in place of Bolt's own verification, which raises on a timestamp that
    is not a number and logs the whole body when a signature fails).

    HTTP requests must carry a valid signature; Socket Mode requests arrive over the websocket the app
    token opened, so Slack already vouched for them. A `response_url` off Slack's hosts is dropped, so
    `respond()` cannot be pointed anywhere else (the answer goes by chat.postEphemeral or DM instead).
    """

    def __init__(
        self,
        *,
        signing_secret: str,
        response_url_origins: Iterable[str],
        refuse: Callable[[AsyncBoltRequest], BoltResponse | None] | None = None,
    ) -> None:
        self.signing_secret = signing_secret
        self.response_url_origins = frozenset(response_url_origins)
        # Checks a verified payload's shape before Bolt's own middleware reads it (they raise on some).
        self.refuse = refuse

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        signed = (
            req.mode == "socket_mode"
            or req.context.get(_SIGNED_AT_THE_DOOR) is _DOOR
            or is_signed_by_slack(
                secret=self.signing_secret,
                body=req.raw_body.encode("utf-8"),
                timestamp=_first_header(req, "x-slack-request-timestamp"),
                signature=_first_header(req, "x-slack-signature"),
            )
        )
        if not signed:
            log.warning("refused a request that failed Slack signature verification")
            return unverified_response()
        refusal = self.refuse(req) if self.refuse is not None else None
        if refusal is not None:
            return refusal
        response_url = req.context.get("response_url")
        if response_url is not None and not is_allowed_response_url(
            response_url, origins=self.response_url_origins
        ):
            log.warning("dropped a response_url that is not on Slack's hosts")
            req.context["response_url"] = None
            req.context.pop("respond", None)
        req.context[VERIFIED] = True
        return await next()


def _first_header(req: AsyncBoltRequest, name: str) -> str | None:
    values = req.headers.get(name) or []
    return values[0] if values else None


def unverified_response() -> BoltResponse:
    return BoltResponse(status=401, body={"error": "invalid request"})
