"""The toss-up notice's buttons: Accept, Return to IS, Ask a question, View memo — and their modals."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.decisions import ask_question, decide, may_decide
from bot.domain.handoff import EventKind, HandoffSnapshot, Refusal
from bot.domain.memo_edit import may_see_history
from bot.i18n import Lang
from bot.services import Services
from handlers.common import (
    action_handoff_id,
    actor_id,
    clicker,
    load_handoff,
    open_modal,
    read_action_form,
    source_channel,
    source_message_ts,
    tell,
    view_values,
)
from modals.decision import (
    build_question_modal,
    build_return_modal,
    parse_question_submission,
    parse_return_submission,
    question_errors,
    return_errors,
)
from modals.ids import ActionId, BlockId, CallbackId
from modals.memo_view import build_memo_view
from modals.messages import build_handoff_missing, build_refusal, refusal_form_error
from modals.metadata import HandoffActionMeta

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: Services) -> None:
    config = services.config

    async def clicked_handoff(
        body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, lang: Lang
    ) -> HandoffSnapshot | None:
        """The toss-up behind a notice button; when it is gone the clicker is told so and None returned."""
        handoff = await load_handoff(services, action_handoff_id(body))
        if handoff is None:
            await tell(
                client,
                respond=respond,
                channel=source_channel(body),
                user=actor_id(body),
                message=build_handoff_missing(lang=lang),
            )
        return handoff

    async def open_for_clicked(
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
        build: Callable[[HandoffSnapshot, Lang], View],
    ) -> None:
        """Open a modal about the toss-up behind a notice button (the clicker is told if it is gone)."""
        if (clicked := await clicker(services, client, body, respond)) is None:
            return
        lang = clicked[1]
        handoff = await clicked_handoff(body, client, respond, lang)
        if handoff is not None:
            await open_modal(client, body=body, view=build(handoff, lang), lang=lang, respond=respond)

    def action_meta(body: dict[str, Any], handoff: HandoffSnapshot, lang: Lang) -> HandoffActionMeta:
        return HandoffActionMeta(
            handoff_id=handoff.id,
            channel_id=source_channel(body),
            message_ts=source_message_ts(body),
            lang=lang,
        )

    @app.action(ActionId.HANDOFF_ACCEPT)
    async def accept(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        if (clicked := await clicker(services, client, body, respond)) is None:
            return
        actor, lang = clicked
        handoff = await clicked_handoff(body, client, respond, lang)
        if handoff is None:
            return
        refused = await decide(services, handoff, actor=actor, decision=EventKind.ACCEPTED)
        if refused is not None:
            message = build_refusal(refused.refusal, handoff=refused.handoff, lang=lang)
            await tell(client, respond=respond, channel=source_channel(body), user=actor, message=message)
            return
        await services.delivery.deliver_for(handoff.id)

    @app.action(ActionId.HANDOFF_RETURN)
    async def open_return(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        if (clicked := await clicker(services, client, body, respond)) is None:
            return
        actor, lang = clicked
        handoff = await clicked_handoff(body, client, respond, lang)
        if handoff is None:
            return
        if (refused := may_decide(services, handoff, actor)) is not None:
            message = build_refusal(refused.refusal, handoff=refused.handoff, lang=lang)
            await tell(client, respond=respond, channel=source_channel(body), user=actor, message=message)
            return
        view = build_return_modal(
            lang=lang, meta=action_meta(body, handoff, lang), company=handoff.memo.company or ""
        )
        await open_modal(client, body=body, view=view, lang=lang, respond=respond)

    @app.view(CallbackId.RETURN_REASON)
    async def submit_return(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        readable = await read_action_form(services, ack, body, view, BlockId.RETURN_REASON)
        if readable is None:
            return
        meta, actor, _ = readable
        submission = parse_return_submission(view_values(view))
        errors = return_errors(submission, meta.lang)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        handoff = await load_handoff(services, meta.handoff_id)
        refused = await decide(
            services,
            handoff,
            actor=actor,
            decision=EventKind.RETURNED,
            reason=submission.reason,
            note=submission.note,
        )
        if refused is not None:
            # Said on the form itself, where the rep is looking (plain text: Slack shows no markup there).
            error = refusal_form_error(refused.refusal, handoff=refused.handoff, lang=meta.lang)
            await ack(response_action="errors", errors={BlockId.RETURN_REASON.value: error})
            return
        await ack()
        await services.delivery.deliver_for(meta.handoff_id)

    @app.action(ActionId.HANDOFF_ASK)
    async def open_question(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()

        def question_modal(handoff: HandoffSnapshot, lang: Lang) -> View:
            meta = action_meta(body, handoff, lang)
            return build_question_modal(lang=lang, meta=meta, company=handoff.memo.company or "")

        await open_for_clicked(body, client, respond, question_modal)

    @app.view(CallbackId.QUESTION)
    async def submit_question(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        readable = await read_action_form(services, ack, body, view, BlockId.QUESTION_TEXT)
        if readable is None:
            return
        meta, actor, key = readable
        question = parse_question_submission(view_values(view))
        errors = question_errors(question, meta.lang)
        if errors or question is None:
            await ack(response_action="errors", errors=errors)
            return
        asked = await ask_question(
            services, handoff_id=meta.handoff_id, asker=actor, key=key, question=question
        )
        if not asked:
            missing = refusal_form_error(Refusal.MISSING, handoff=None, lang=meta.lang)
            await ack(response_action="errors", errors={BlockId.QUESTION_TEXT.value: missing})
            return
        await ack()
        await services.delivery.deliver_for(meta.handoff_id)

    @app.action(ActionId.HANDOFF_VIEW)
    async def view_memo(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        reader = actor_id(body) or ""
        zone = await services.users.zone(reader or None, fallback=config.tz)  # the reader's times
        roles = config.roles

        def memo_view(handoff: HandoffSnapshot, lang: Lang) -> View:
            history = may_see_history(
                handoff, actor_id=reader, fs_members=roles.field_sales, managers=roles.managers
            )
            return build_memo_view(handoff=handoff, lang=lang, tz=zone, config=config, with_history=history)

        await open_for_clicked(body, client, respond, memo_view)
