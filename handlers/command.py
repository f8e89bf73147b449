"""`/tossup` — opens the handoff memo modal, or answers a sub-command."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.handoff import may_toss_up
from bot.services import Services
from handlers.common import actor_id, user_lang
from modals.memo import build_memo_modal
from modals.messages import build_help, build_not_inside_sales
from modals.metadata import MemoModalMeta

HELP_WORDS = frozenset({"help", "ヘルプ", "-h", "--help"})
COMPANY_PREFILL_MAX = 150


def register(app: AsyncApp, services: Services) -> None:
    @app.command("/tossup")
    async def tossup(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        text = (body.get("text") or "").strip()
        lang = await user_lang(services, body)
        if text.lower() in HELP_WORDS:
            help_text, blocks = build_help(lang=lang)
            await ack(text=help_text, blocks=blocks, response_type="ephemeral")
            return
        roles = services.config.roles
        if not may_toss_up(actor_id=actor_id(body), inside_sales=roles.inside_sales, managers=roles.managers):
            refusal_text, blocks = build_not_inside_sales(lang=lang)
            await ack(text=refusal_text, blocks=blocks, response_type="ephemeral")
            return
        await ack()
        view = build_memo_modal(
            lang=lang,
            config=services.config,
            meta=MemoModalMeta(channel_id=body.get("channel_id"), lang=lang),
            prefill_company=text[:COMPANY_PREFILL_MAX] or None,
            now=services.clock(),
        )
        await client.views_open(trigger_id=body["trigger_id"], view=view)
