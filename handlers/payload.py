"""The shape every signed payload must have before Bolt looks at it.

Bolt reads a payload's routing fields as if Slack always sent them well formed: `body["event"]["type"]`,
`body["view"]["callback_id"]`, `body["actions"][0]["action_id"]` — in its own middleware (ignoring self
events, authorization), in listener matching, and again while building the error handler's arguments. A
signed payload with `event: null`, `view: "x"` or `actions: []` therefore raised *inside* Bolt and came
back as an HTTP 500 with a traceback, before any listener of ours could answer. The request guard
(`bot/verification.py`) runs `shape_refusal` right after the signature check, and it refuses such a
payload with a 400 and one log line naming what is wrong (never the payload: it may hold customer text).

Only routing is checked here. Everything a listener reads beyond it (the user, the trigger, the form's
values, `private_metadata`) is checked by the listener, which can still answer the person.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)

# The payload types the app listens for; anything else is nothing Slack sends to this app.
INTERACTIVE_TYPES = frozenset({"block_actions", "view_submission", "view_closed"})
EVENT_TYPES = frozenset({"event_callback", "url_verification"})
QUIETLY_ACKED_TYPES = frozenset({"app_rate_limited"})  # Slack telling us, nothing to do
ID_MAX_LENGTH = 255  # action, block and callback ids (Slack allows 255 characters)


def _id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= ID_MAX_LENGTH


def payload_problem(body: Mapping[str, Any]) -> str | None:
    """What makes `body` unroutable (a fixed phrase, never a piece of the body), or None when Bolt can
    route it safely."""
    if "event" in body and not isinstance(body["event"], Mapping):
        return "event is not an object"
    if "command" in body and "type" not in body:
        return None if _id(body["command"]) else "command is not a string"
    kind = body.get("type")
    if not isinstance(kind, str):
        return "no payload type"
    if kind in EVENT_TYPES | QUIETLY_ACKED_TYPES:
        if kind == "event_callback" and not _id(body.get("event", {}).get("type")):
            return "event without a type"
        return None
    if kind not in INTERACTIVE_TYPES:
        return "a payload type this app does not handle"
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            return "block_actions without actions"
        first = actions[0]
        if not isinstance(first, Mapping) or not _id(first.get("action_id")):
            return "an action without an action_id"
        if "block_id" in first and not isinstance(first["block_id"], str | None):
            return "an action whose block_id is not a string"
        return None
    view = body.get("view")
    if not isinstance(view, Mapping) or not _id(view.get("callback_id")):
        return "a view without a callback_id"
    if view.get("type") != "modal":  # Bolt reads view.type; a workflow_step view would need more
        return "a view that is not a modal"
    return None


def shape_refusal(req: AsyncBoltRequest) -> BoltResponse | None:
    """The answer to a verified request whose payload Bolt could not route (a 400, or a quiet 200 for
    the notices Slack sends that nothing listens to), or None to let it through. Run by the request
    guard right after the signature check, ahead of Bolt's own middleware, which would raise on them."""
    body = req.body if isinstance(req.body, Mapping) else {}
    kind = body.get("type")
    if isinstance(kind, str) and kind in QUIETLY_ACKED_TYPES:  # (a list or dict is not hashable)
        log.info("Slack says %s", kind)
        return BoltResponse(status=200, body="")
    problem = payload_problem(body)
    if problem is not None:
        log.warning("refused a signed request whose payload Slack would not send: %s", problem)
        return BoltResponse(status=400, body={"error": "malformed payload"})
    return None
