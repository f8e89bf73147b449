"""When a listener fails after it acked, the person who clicked still hears about it, calmly.

Listeners answer malformed input themselves (a field error, a private "not found", a quiet 400 from the
payload guard), so reaching this handler means a bug or an outage: it is logged with its traceback. The
handler itself reads the body only through `handlers.common`, which never raises on any shape.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services
from bot.verification import VERIFIED
from handlers.common import actor_id, source_channel, tell, user_lang
from modals.messages import build_internal_error, build_modal_failed

log = logging.getLogger(__name__)

LOGGED_KINDS = frozenset({"block_actions", "view_submission", "view_closed", "event_callback"})


def register(app: AsyncApp, services: Services) -> None:
    @app.error
    async def on_error(
        error: Exception,
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
        context: AsyncBoltContext,
    ) -> None:
        await answer_failure(services, error, body=body, client=client, respond=respond, context=context)


async def answer_failure(
    services: Services,
    error: Exception,
    *,
    body: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    """Bolt's error handler, and what a listener's work after its ack (bot.answer_at_ack) fails into."""
    if not context.get(VERIFIED):
        # Failed before the request guard vouched for it: the body may be anyone's, so act on none of it.
        log.warning("refused to act on an unverified request (%s)", type(error).__name__)
        return
    kind = body.get("type")
    kind = kind if isinstance(kind, str) and kind in LOGGED_KINDS else "command"
    log.error("listener failed (%s)", kind, exc_info=error)
    user = actor_id(body)
    if not user or kind == "view_submission":
        return  # a failed submission is shown by Slack on the form itself
    lang = await user_lang(services, body)
    response = error.response if isinstance(error, SlackApiError) else None
    if response is not None and str(response.api_url).endswith("views.open"):
        message = build_modal_failed(lang=lang)
    else:
        message = build_internal_error(lang=lang)
    await tell(client, respond=respond, channel=source_channel(body), user=user, message=message)
