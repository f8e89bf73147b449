"""The handoff memo modal's submission: validate, store, then post the notice."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.delivery import submission_posts
from bot.domain.memo import MemoField, validate_memo
from bot.i18n import t
from bot.services import Services
from handlers.common import actor_id
from modals.ids import CallbackId
from modals.memo import memo_errors, parse_memo_submission
from modals.metadata import MemoModalMeta, load_meta
from store.handoffs import NewHandoff, create_handoff

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: Services) -> None:
    config = services.config

    @app.view(CallbackId.HANDOFF_MEMO)
    async def submit_memo(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            lang = load_meta(MemoModalMeta, view.get("private_metadata") or "").lang
        except ValueError:
            lang = config.locale
        memo = parse_memo_submission(view["state"]["values"], config=config)
        problems = validate_memo(
            memo, now=services.clock(), team_tz=config.tz, allowed_lead_sources=config.lead_source_values
        )
        if problems:
            await ack(response_action="errors", errors=memo_errors(problems, lang))
            return

        data = NewHandoff(
            submission_key=view["id"],  # the same view submitted twice is one toss-up
            team_id=(body.get("team") or {}).get("id") or view.get("team_id") or "",
            is_user_id=actor_id(body),
            fs_user_id=memo.fs_user_id,
            channel_id=config.channels.fs,
            memo=memo,
            lang=lang,
        )
        try:
            async with services.sessions() as session:
                result = await create_handoff(
                    session=session,
                    data=data,
                    outbox=submission_posts(
                        submission_key=view["id"], has_assignee=memo.fs_user_id is not None
                    ),
                    now=services.clock(),
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
