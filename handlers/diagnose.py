"""The collaboration diagnosis: `/tossup diagnose` (routed here from handlers/command.py) opens the
checklist, its submission stores the result and answers with the level, the action and the next steps."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.diagnosis import diagnosis_view, may_diagnose_team, record_diagnosis
from bot.i18n import Lang, t
from bot.services import Services
from bot.slack import slack_error_code
from handlers.common import actor_id, open_modal, slack_channel, submission_key, tell, user_lang, view_values
from modals.diagnose import (
    GROUP_BLOCKS,
    DiagnosisModalMeta,
    build_diagnosis_refusal,
    build_diagnosis_result,
    build_loading_modal,
    parse_diagnosis_submission,
    refusal_text,
)
from modals.ids import CallbackId
from modals.metadata import load_meta

log = logging.getLogger(__name__)
_FIRST_BLOCK = next(iter(GROUP_BLOCKS.values())).value  # where a form-wide error shows


async def open_diagnosis_modal(
    services: Services,
    *,
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond | None = None,
    lang: Lang,
) -> None:
    """`/tossup diagnose`: ack at once, open a "counting…" modal with the trigger, then fill it in."""
    user = actor_id(body)
    if not may_diagnose_team(services.config, user):
        text, blocks = build_diagnosis_refusal("not_allowed", lang=lang)
        await ack(text=text, blocks=blocks, response_type="ephemeral")
        return
    await ack()
    external_id = f"diagnosis-{uuid.uuid4().hex}"  # the loading modal is found again by this id
    await open_modal(
        client,
        body=body,
        view=build_loading_modal(lang=lang, external_id=external_id),
        lang=lang,
        respond=respond,
    )
    view = await diagnosis_view(
        services.sessions,
        services.config,
        lang=lang,
        reader_tz=await services.users.zone(user, fallback=services.config.tz),
        channel_id=slack_channel(body.get("channel_id")),
        now=services.clock(),
    )
    try:
        await client.views_update(external_id=external_id, view=view)
    except Exception as exc:  # closed meanwhile, or never opened (open_modal told them): nothing to fill
        log.info("could not fill the diagnosis modal (%s)", slack_error_code(exc))


def register(app: AsyncApp, services: Services) -> None:
    @app.view(CallbackId.DIAGNOSIS)
    async def submit_diagnosis(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        actor, key = actor_id(body), submission_key(view)
        try:
            meta = load_meta(DiagnosisModalMeta, view.get("private_metadata"))
        except ValueError:  # only where to answer and the language: carry on without them
            meta = DiagnosisModalMeta(lang=await user_lang(services, body))
        if not actor or key is None:  # Slack always sends both: no diagnosis without who answered it
            await ack(
                response_action="errors", errors={_FIRST_BLOCK: t(meta.lang, "handler.incomplete_request")}
            )
            return
        if not may_diagnose_team(services.config, actor):  # roles may have changed since it opened
            await ack(response_action="errors", errors={_FIRST_BLOCK: refusal_text("not_allowed", meta.lang)})
            return
        try:
            saved = await record_diagnosis(
                services.sessions,
                checked=parse_diagnosis_submission(view_values(view)),
                actor_id=actor,
                submission_key=key,
                channel_id=meta.channel_id,
                now=services.clock(),
            )
        except Exception:
            log.exception("could not store the diagnosis of %s", actor)
            await ack(
                response_action="errors", errors={_FIRST_BLOCK: refusal_text("store_failed", meta.lang)}
            )
            return
        await ack()
        if saved.created:  # the same view again (double click, Slack retry) was answered the first time
            zone = await services.users.zone(actor, fallback=services.config.tz)
            message = build_diagnosis_result(record=saved.record, lang=meta.lang, tz=zone)
            await tell(client, channel=meta.channel_id, user=actor, message=message)
