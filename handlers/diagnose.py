"""The collaboration diagnosis: `/tossup diagnose` (routed here from handlers/command.py) opens the
checklist, its submission stores the result and answers with the level, the action and the next steps."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.diagnosis import diagnosis_view, may_diagnose_team, record_diagnosis
from bot.i18n import t
from bot.services import Services
from bot.slack import slack_error_code
from handlers.common import actor_id, open_modal, submission_key, tell, view_values, where_to_answer
from handlers.invocation import Invocation
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

log = logging.getLogger(__name__)
_FIRST_BLOCK = next(iter(GROUP_BLOCKS.values())).value  # where a form-wide error shows


async def open_diagnosis_modal(call: Invocation) -> None:
    """`/tossup diagnose`: ack at once, open a "counting…" modal with the trigger, then fill it in."""
    services, lang, user = call.services, call.lang, call.user
    if not may_diagnose_team(services.config, user):
        await call.answer(build_diagnosis_refusal("not_allowed", lang=lang))
        return
    await call.ack()
    external_id = f"diagnosis-{uuid.uuid4().hex}"  # the loading modal is found again by this id
    await open_modal(
        call.client,
        body=call.body,
        view=build_loading_modal(lang=lang, external_id=external_id),
        lang=lang,
        respond=call.respond,
    )
    view = await diagnosis_view(
        services.sessions,
        services.config,
        lang=lang,
        reader_tz=await services.users.zone(user, fallback=services.config.tz),
        channel_id=call.channel,
        now=services.clock(),
    )
    try:
        await call.client.views_update(external_id=external_id, view=view)
    except Exception as exc:  # closed meanwhile, or never opened (open_modal told them): nothing to fill
        log.info("could not fill the diagnosis modal (%s)", slack_error_code(exc))


def register(app: AsyncApp, services: Services) -> None:
    @app.view(CallbackId.DIAGNOSIS)
    async def submit_diagnosis(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        actor, key = actor_id(body), submission_key(view)
        meta = await where_to_answer(services, body, view, DiagnosisModalMeta)
        if not actor or key is None:  # Slack always sends both: no diagnosis without who answered it
            await ack(
                response_action="errors", errors={_FIRST_BLOCK: t(meta.lang, "handler.incomplete_request")}
            )
            return
        if not may_diagnose_team(services.config, actor):  # roles may have changed since it opened
            await ack(response_action="errors", errors={_FIRST_BLOCK: refusal_text("not_allowed", meta.lang)})
            return
        checked = parse_diagnosis_submission(view_values(view))
        if checked is None:  # no checkboxes at all: not what Slack sends; nothing is kept
            log.warning("a diagnosis form came back without its checkboxes")
            unreadable = t(meta.lang, "handler.form_unreadable")
            await ack(response_action="errors", errors={_FIRST_BLOCK: unreadable})
            return
        try:
            saved = await record_diagnosis(
                services.sessions,
                checked=checked,
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
