"""Registered last: whatever no other listener took is acknowledged quietly.

Without these, Bolt answers an unknown button, form or event with a 404 (Slack shows the person a
warning sign) and logs a warning describing the request. Here it is one line naming only the kind and
the id Slack routes by, never the payload's text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.services import Services

log = logging.getLogger(__name__)

ANY = re.compile(r"")  # matches every id (the payload guard made sure each is a string)
_LOGGABLE = re.compile(r"[A-Za-z0-9_./:-]{1,60}")


def _routing_id(body: Mapping[str, Any]) -> str:
    actions = body.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], Mapping):
        raw = actions[0].get("action_id")
    elif isinstance(body.get("view"), Mapping):
        raw = body["view"].get("callback_id")
    elif isinstance(body.get("event"), Mapping):
        raw = body["event"].get("type")
    else:
        raw = body.get("command")
    # Only an id shaped like the ones the bot itself writes is logged: anything else may be anyone's text.
    return raw if isinstance(raw, str) and _LOGGABLE.fullmatch(raw) else "an unexpected id"


def register(app: AsyncApp, services: Services) -> None:
    async def ignore(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        log.info("ignored a %s nothing listens for (%s)", body.get("type") or "command", _routing_id(body))

    app.action(ANY)(ignore)
    app.view(ANY)(ignore)  # view_submission (an unknown form closes without a word)
    app.view_closed(ANY)(ignore)
    app.command(ANY)(ignore)
    app.event(ANY)(ignore)
