"""The handoff memo modal: opening it to revise or edit a toss-up, its submission, the memo's history.

Each listener acks, reads the payload, and calls one flow of `bot.submission`.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.memo import MemoField
from bot.i18n import t
from bot.services import Services
from bot.slack import slack_error_code
from bot.submission import MemoForm, MemoFormFor, edit_form, history_form, revise_form, submit_memo_form
from handlers.common import (
    action_handoff_id,
    actor_id,
    as_dict,
    clicker,
    open_modal,
    source_channel,
    submission_key,
    team_id,
    tell,
    trigger_id,
    user_lang,
    view_values,
)
from handlers.deadline import ack_in_time
from modals.ids import ActionId, CallbackId
from modals.metadata import MemoModalMeta, load_meta

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: Services) -> None:
    def reopens_memo(action_id: ActionId, form: MemoFormFor) -> None:
        """A button that opens the memo again, filled in by `form` for its toss-up, or says privately why
        not."""

        async def open_memo_again(
            ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
        ) -> None:
            await ack()
            if (clicked := await clicker(services, client, body, respond)) is None:
                return
            actor, lang = clicked
            channel = source_channel(body)
            opened = await form(
                services, handoff_id=action_handoff_id(body), actor=actor, lang=lang, channel_id=channel
            )
            if isinstance(opened, View):
                await open_modal(client, body=body, view=opened, lang=lang, respond=respond)
            else:
                await tell(client, respond=respond, channel=channel, user=actor, message=opened)

        app.action(action_id)(open_memo_again)

    # From the IS rep's DM about a return: the memo again, filled in, to fix and toss up anew.
    reopens_memo(ActionId.HANDOFF_REVISE, revise_form)
    # From the IS rep's DM confirmation or App Home: the memo again, filled in, until FS decides.
    reopens_memo(ActionId.HANDOFF_EDIT, edit_form)

    @app.view(CallbackId.HANDOFF_MEMO)
    async def submit_memo(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        """A new toss-up or the edit of a pending one: checked and stored (bot.submission), then sent."""
        raw_meta = view.get("private_metadata")
        try:
            meta = load_meta(MemoModalMeta, raw_meta)
        except ValueError:
            meta = None
        form = MemoForm(
            meta=meta,
            meta_unreadable=meta is None and bool(raw_meta),
            lang=meta.lang if meta is not None else await user_lang(services, body),
            actor=actor_id(body),
            key=submission_key(view),
            team_id=team_id(body, view),
            values=view_values(view),
        )
        late = {MemoField.COMPANY.value: t(form.lang, "deadline.press_again")}
        await ack_in_time(ack, submit_and_send(ack, form), late_errors=late)

    async def submit_and_send(ack: AsyncAck, form: MemoForm) -> None:
        submitted = await submit_memo_form(services, form)
        if submitted.errors:
            await ack(response_action="errors", errors=submitted.errors)
        else:
            await ack()
        if submitted.deliver_for is not None:
            await services.delivery.deliver_for(submitted.deliver_for)

    @app.action(ActionId.HANDOFF_HISTORY)
    async def memo_history(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        """Every version of an edited memo (from the memo view): pushed onto it, or opened."""
        await ack()
        if (clicked := await clicker(services, client, body, respond)) is None:
            return
        actor, lang = clicked
        shown = await history_form(services, handoff_id=action_handoff_id(body), actor=actor, lang=lang)
        if not isinstance(shown, View):
            await tell(client, respond=respond, channel=source_channel(body), user=actor, message=shown)
        elif as_dict(body.get("container")).get("type") == "view" and await push_modal(client, body, shown):
            return
        else:
            await open_modal(client, body=body, view=shown, lang=lang, respond=respond)


async def push_modal(client: AsyncWebClient, body: dict[str, Any], view: View) -> bool:
    """views.push onto the modal the button is in; False when Slack refuses (then it is opened instead)."""
    trigger = trigger_id(body)
    if trigger is None:
        return False
    try:
        await client.views_push(trigger_id=trigger, view=view)
    except SlackApiError as exc:
        log.info("views.push refused (%s); opening the history instead", slack_error_code(exc))
        return False
    return True
