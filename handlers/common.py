"""Small pieces every handler group shares: who is asking, where, in which language, and how to answer."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.handoff import HandoffSnapshot
from bot.i18n import Lang
from bot.services import Services
from bot.slack import slack_error_code
from store.handoffs import get_handoff

log = logging.getLogger(__name__)


def actor_id(body: dict[str, Any]) -> str:
    user = body.get("user") or {}
    return str(user.get("id") or body.get("user_id") or "")


def locale_hint(body: dict[str, Any]) -> str | None:
    """Slack sends a locale on some payloads (`user.locale`, `locale`); when it does, it wins."""
    user = body.get("user") or {}
    return user.get("locale") or body.get("locale")


async def user_lang(services: Services, body: dict[str, Any]) -> Lang:
    return await services.users.lang(actor_id(body), hint=locale_hint(body))


def source_channel(body: dict[str, Any]) -> str | None:
    """The channel a button was clicked in (a channel notice or the FS rep's DM copy)."""
    container = body.get("container") or {}
    channel = body.get("channel") or {}
    return container.get("channel_id") or channel.get("id")


def source_message_ts(body: dict[str, Any]) -> str | None:
    container = body.get("container") or {}
    message = body.get("message") or {}
    return container.get("message_ts") or message.get("ts")


def action_value(body: dict[str, Any]) -> str | None:
    actions = body.get("actions") or [{}]
    return actions[0].get("value")


def action_handoff_id(body: dict[str, Any]) -> int | None:
    """The toss-up a button acts on (its value is the toss-up's id)."""
    try:
        return int(action_value(body) or "")
    except ValueError:
        return None


async def load_handoff(services: Services, handoff_id: int | None) -> HandoffSnapshot | None:
    if handoff_id is None:
        return None
    async with services.sessions() as session:
        return await get_handoff(session=session, handoff_id=handoff_id)


async def tell(
    client: AsyncWebClient,
    *,
    respond: AsyncRespond | None = None,
    channel: str | None,
    user: str,
    message: tuple[str, list[Any]],
) -> None:
    """A private answer where the user is.

    First through the request's response_url (works in any channel, even one the bot never joined),
    then chat.postEphemeral in `channel`, and last a DM, so the answer always arrives somewhere.
    """
    text, blocks = message
    if respond is not None and respond.response_url:
        try:
            answer = await respond(
                text=text, blocks=blocks, response_type="ephemeral", replace_original=False
            )
            if answer.status_code == 200:
                return
            log.info("response_url answered %s; trying an ephemeral", answer.status_code)
        except Exception as exc:
            log.info("response_url failed (%s); trying an ephemeral", type(exc).__name__)
    if channel:
        try:
            await client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks)
            return
        except Exception as exc:
            log.info("ephemeral to %s in %s failed (%s); sending a DM", user, channel, slack_error_code(exc))
    try:
        opened = await client.conversations_open(users=user)
        await client.chat_postMessage(channel=opened["channel"]["id"], text=text, blocks=blocks)
    except Exception as exc:
        log.warning("could not tell %s anything (%s)", user, slack_error_code(exc))
