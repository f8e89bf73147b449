"""The handoff memo modal's submission: validate, store, then post the notice."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.assignment import routing_plan
from bot.delivery import submission_posts
from bot.domain.handoff import may_toss_up
from bot.domain.memo import MemoField
from bot.feedback_loop import learning_for
from bot.i18n import t
from bot.intake import check_memo, revision_problem
from bot.services import Services
from handlers.common import (
    action_handoff_id,
    actor_id,
    clicker,
    load_handoff,
    open_modal,
    source_channel,
    submission_key,
    team_id,
    tell,
    user_lang,
    view_values,
)
from modals.ids import ActionId, CallbackId
from modals.memo import build_memo_modal, parse_memo_submission, parse_override_reason
from modals.messages import build_handoff_missing, build_not_yours
from modals.metadata import MemoModalMeta, load_meta
from store.handoffs import NewHandoff, create_handoff, find_submission

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: Services) -> None:
    config = services.config

    @app.action(ActionId.HANDOFF_REVISE)
    async def revise(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        """From the IS rep's DM about a return: the memo again, filled in, to fix and toss up anew."""
        await ack()
        if (clicked := await clicker(services, client, body, respond)) is None:
            return
        actor, lang = clicked
        handoff = await load_handoff(services, action_handoff_id(body))
        if handoff is None or handoff.is_user_id != actor:
            problem = (
                build_handoff_missing(lang=lang)
                if handoff is None
                else build_not_yours(lang=lang, is_user_id=handoff.is_user_id)
            )
            await tell(client, respond=respond, channel=source_channel(body), user=actor, message=problem)
            return
        view = build_memo_modal(
            lang=lang,
            config=config,
            meta=MemoModalMeta(channel_id=source_channel(body), lang=lang, revises=handoff.id),
            prefill=handoff.memo,
            now=services.clock(),
            learning=await learning_for(services.sessions, is_user_id=actor, config=config),
        )
        await open_modal(client, body=body, view=view, lang=lang, respond=respond)

    @app.view(CallbackId.HANDOFF_MEMO)
    async def submit_memo(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        raw_meta = view.get("private_metadata")
        try:
            meta = load_meta(MemoModalMeta, raw_meta)
        except ValueError:
            meta = None
        lang = meta.lang if meta is not None else await user_lang(services, body)
        actor, key = actor_id(body), submission_key(view)

        def refuse(message_key: str) -> dict[str, str]:
            return {MemoField.COMPANY.value: t(lang, message_key)}

        if meta is None and raw_meta:  # tampered (the bot always writes a valid one): it may name a revision
            log.warning("a memo submission came back with unreadable private_metadata")
            await ack(response_action="errors", errors=refuse("handler.form_unreadable"))
            return
        meta = meta or MemoModalMeta(lang=lang)  # none at all: nothing to revise, nowhere in particular
        if not actor or key is None:  # Slack always sends both: no toss-up without its IS rep and key
            log.warning("a memo submission came without a user or a view id")
            await ack(response_action="errors", errors=refuse("handler.incomplete_request"))
            return
        roles = config.roles
        if not may_toss_up(actor_id=actor, inside_sales=roles.inside_sales, managers=roles.managers):
            await ack(response_action="errors", errors=refuse("message.form.not_inside_sales"))
            return
        values = view_values(view)
        memo = parse_memo_submission(values, config=config)
        checked = await check_memo(
            memo,
            override_reason=parse_override_reason(values),
            config=config,
            users=services.users,
            now=services.clock(),
            lang=lang,
            is_user_id=actor,
        )
        if checked.errors:
            await ack(response_action="errors", errors=checked.errors)
            return
        async with services.sessions() as session:
            stored = await find_submission(session=session, submission_key=key)
        if stored is not None:  # the same view again (double click, Slack retry): one toss-up
            await ack()
            await services.delivery.deliver_for(stored.id)
            return
        # `revises` came back through the client: it may only link to a toss-up of this IS rep's that FS
        # returned. A forged one is refused on the form rather than dropped, so the rep is not misled.
        if meta.revises is not None and await revision_problem(
            services.sessions, revises=meta.revises, is_user_id=actor
        ):
            log.warning("a memo named a toss-up it may not revise; refused on the form")
            await ack(response_action="errors", errors=refuse("message.form.bad_revision"))
            return

        now = services.clock()
        turn, route = await routing_plan(sessions=services.sessions, config=config, memo=memo, now=now)
        data = NewHandoff(
            submission_key=key,
            team_id=team_id(body, view),
            is_user_id=actor,
            fs_user_id=memo.fs_user_id,
            channel_id=config.channels.fs,
            memo=memo,
            lang=lang,
            revision_of_id=meta.revises,
            criteria=checked.criteria,
            override_reason=checked.override_reason,
            score=checked.score,
            turn=turn,
            decide_route=route,
        )
        try:
            async with services.sessions() as session:
                result = await create_handoff(
                    session=session,
                    data=data,
                    outbox=submission_posts(submission_key=key),
                    now=now,
                )
        except Exception:
            log.exception("could not store the toss-up of %s", data.is_user_id)
            # The modal stays open with everything the rep typed: nothing is lost, they can submit again.
            await ack(
                response_action="errors", errors={MemoField.COMPANY.value: t(lang, "handler.store_failed")}
            )
            return
        await ack()
        await services.delivery.deliver_for(result.handoff.id)
