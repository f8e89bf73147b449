"""Small pieces every handler group shares: who is asking, where, in which language, and how to answer.

Everything here reads a payload that came through the client, so nothing here raises on any JSON shape:
an id that is missing, of the wrong type or not shaped like Slack's reads as None (or "" for the actor),
and callers answer that as "not found" or "incomplete request".
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import slack_channel
from bot.domain.handoff import HandoffSnapshot
from bot.domain.memo import is_slack_user_id
from bot.i18n import Lang, t
from bot.services import Services
from bot.slack import slack_error_code
from modals.messages import build_incomplete_request, build_modal_failed
from modals.metadata import ID_MAX, SLACK_TS_PATTERN, HandoffActionMeta, Meta, load_meta, parse_id
from store.handoffs import get_handoff

log = logging.getLogger(__name__)

_TS_RE = re.compile(SLACK_TS_PATTERN)
_VIEW_ID_RE = re.compile(r"V[A-Z0-9]{2,40}")
_TEAM_ID_RE = re.compile(r"[TE][A-Z0-9]{2,40}")
_LOCALE_RE = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*")
# Slack's trigger ids look like "12345.98765.abcd2358fdea"; only the shape an HTTP form can carry is
# checked here (Slack itself refuses one it did not issue, and that refusal is answered like any other).
_TRIGGER_RE = re.compile(r"[0-9A-Za-z._-]{1,255}")

# Slack errors of views.open that mean our view is wrong (a bug), not that the click was stale or forged.
_VIEW_BUGS = frozenset({"invalid_arguments", "invalid_blocks", "invalid_view", "view_too_large"})


def as_dict(value: object) -> Mapping[str, Any]:
    """`value` when it is a JSON object, else an empty one: `as_dict(body.get("user")).get("id")` is safe."""
    return value if isinstance(value, Mapping) else {}


def actor_id(body: Mapping[str, Any]) -> str:
    """Who clicked, submitted or typed the command: a Slack user id, or "" when the payload names none."""
    user = body.get("user")
    raw = user.get("id") if isinstance(user, Mapping) else body.get("user_id")
    return raw if is_slack_user_id(raw) else ""


def locale_hint(body: Mapping[str, Any]) -> str | None:
    """Slack sends a locale on some payloads (`user.locale`, `locale`); when it does, it wins."""
    for raw in (as_dict(body.get("user")).get("locale"), body.get("locale")):
        if isinstance(raw, str) and _LOCALE_RE.fullmatch(raw):
            return raw
    return None


async def user_lang(services: Services, body: Mapping[str, Any]) -> Lang:
    return await services.users.lang(actor_id(body) or None, hint=locale_hint(body))


async def where_to_answer(
    services: Services, body: Mapping[str, Any], view: Mapping[str, Any], meta_type: type[Meta]
) -> Meta:
    """A submitted modal's metadata when it only says where to answer and in which language: when it came
    back unreadable, the submission carries on without it, answered in the submitter's language."""
    try:
        return load_meta(meta_type, view.get("private_metadata"))
    except ValueError:
        return meta_type(lang=await user_lang(services, body))


def source_channel(body: Mapping[str, Any]) -> str | None:
    """The channel a button was clicked in (a channel notice or the FS rep's DM copy), or where a slash
    command was typed."""
    return (
        slack_channel(as_dict(body.get("container")).get("channel_id"))
        or slack_channel(as_dict(body.get("channel")).get("id"))
        or slack_channel(body.get("channel_id"))
    )


def source_message_ts(body: Mapping[str, Any]) -> str | None:
    for raw in (as_dict(body.get("container")).get("message_ts"), as_dict(body.get("message")).get("ts")):
        if isinstance(raw, str) and _TS_RE.fullmatch(raw):
            return raw
    return None


def action_value(body: Mapping[str, Any]) -> str | None:
    """The `value` of the clicked button (the first action), when there is one and it is a string."""
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    value = as_dict(first).get("value")
    return value if isinstance(value, str) else None


def action_handoff_id(body: Mapping[str, Any]) -> int | None:
    """The toss-up a button acts on (its value is the toss-up's id); None when it names none we could hold."""
    return parse_id(action_value(body))


def trigger_id(body: Mapping[str, Any]) -> str | None:
    raw = body.get("trigger_id")
    return raw if isinstance(raw, str) and _TRIGGER_RE.fullmatch(raw) else None


def submission_key(view: Mapping[str, Any]) -> str | None:
    """A submitted modal's view id (what makes a double submission one): None unless it is Slack-shaped."""
    raw = view.get("id")
    return raw if isinstance(raw, str) and _VIEW_ID_RE.fullmatch(raw) else None


def view_values(view: Mapping[str, Any]) -> Mapping[str, Any]:
    """`view.state.values`, or {} when the submission carries none (every input then reads as unanswered)."""
    return as_dict(as_dict(view.get("state")).get("values"))


def team_id(body: Mapping[str, Any], view: Mapping[str, Any]) -> str:
    for raw in (as_dict(body.get("team")).get("id"), view.get("team_id")):
        if isinstance(raw, str) and _TEAM_ID_RE.fullmatch(raw):
            return raw
    return ""


async def clicker(
    services: Services, client: AsyncWebClient, body: Mapping[str, Any], respond: AsyncRespond | None
) -> tuple[str, Lang] | None:
    """(who clicked, in which language) of a button payload; when it names no Slack user (Slack always
    does), the click is answered through its response_url as incomplete, and None returned: nothing is
    looked up or done for nobody."""
    lang = await user_lang(services, body)
    actor = actor_id(body)
    if actor:
        return actor, lang
    log.warning("a click came without a Slack user id")
    await tell(client, respond=respond, channel=None, user="", message=build_incomplete_request(lang=lang))
    return None


async def load_handoff(services: Services, handoff_id: int | None) -> HandoffSnapshot | None:
    """The toss-up `handoff_id` names; an id outside the column's range is simply not found (it never
    reaches the database, where it would overflow)."""
    if handoff_id is None or not 1 <= handoff_id <= ID_MAX:
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
    then chat.postEphemeral in `channel`, and last a DM, so the answer always arrives somewhere. Without
    a Slack user id (a payload that names none) only the response_url can answer.
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
    if not is_slack_user_id(user):
        log.warning("could not answer a request that names no Slack user")
        return
    channel = slack_channel(channel)
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


async def open_modal(
    client: AsyncWebClient,
    *,
    body: Mapping[str, Any],
    view: View,
    lang: Lang,
    respond: AsyncRespond | None = None,
) -> None:
    """views.open with the request's trigger_id. When there is none, or Slack refuses it (expired, used,
    or not one Slack issued), the person is told privately that the form could not open, and one line is
    logged without a traceback: a stale or forged click is not a bug. A view Slack finds invalid is."""
    trigger = trigger_id(body)
    if trigger is None:
        log.warning("a request that opens a modal came without a usable trigger_id")
    else:
        try:
            await client.views_open(trigger_id=trigger, view=view)
            return
        except SlackApiError as exc:
            code = slack_error_code(exc)
            if code in _VIEW_BUGS:
                details = as_dict(exc.response.data).get("response_metadata") if exc.response else None
                log.error("views.open refused our view (%s): %s", code, as_dict(details).get("messages"))
            else:
                log.warning("views.open refused the trigger (%s)", code)
    message = build_modal_failed(lang=lang)
    await tell(client, respond=respond, channel=source_channel(body), user=actor_id(body), message=message)


async def read_action_form(
    services: Services, ack: AsyncAck, body: Mapping[str, Any], view: Mapping[str, Any], block: str
) -> tuple[HandoffActionMeta, str, str] | None:
    """(the toss-up form's metadata, the submitter, the view id), each checked before anything else: they
    came back through the client. When one is unusable the form is answered with an error on `block`
    (the person is looking at it) and None returned: nothing is read further, nothing stored."""
    try:
        meta: HandoffActionMeta | None = load_meta(HandoffActionMeta, view.get("private_metadata"))
    except ValueError:
        meta = None
    actor, key = actor_id(body), submission_key(view)
    if meta is not None and actor and key is not None:
        return meta, actor, key
    log.warning("a form about a toss-up came back unreadable (metadata, user or view id)")
    lang = meta.lang if meta is not None else await user_lang(services, body)
    problem = "handler.form_unreadable" if meta is None else "handler.incomplete_request"
    await ack(response_action="errors", errors={str(block): t(lang, problem)})
    return None
