"""`/tossup` — opens the handoff memo modal, or answers a sub-command (help, criteria, away)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.handoff import may_toss_up
from bot.i18n import Lang
from bot.services import Services
from handlers.common import actor_id, user_lang
from modals.memo import build_memo_modal
from modals.messages import Message, build_away, build_help, build_not_inside_sales
from modals.metadata import MemoModalMeta
from modals.quality import build_criteria_definition
from store.routing import absent_users, clear_absence, list_absences, set_absence

HELP_WORDS = frozenset({"help", "ヘルプ", "-h", "--help"})
CRITERIA_WORDS = frozenset({"criteria", "基準", "sql"})
AWAY_WORDS = frozenset({"away", "不在"})
OFF_WORDS = frozenset({"off", "back", "解除", "戻り"})
COMPANY_PREFILL_MAX = 150
AWAY_MAX_DAYS = 366


def register(app: AsyncApp, services: Services) -> None:
    config = services.config

    async def away(user: str, argument: str, lang: Lang) -> Message:
        """`/tossup away [YYYY-MM-DD | off]`: mark yourself away so round-robin routing skips you."""
        now = services.clock()
        today = now.astimezone(config.tz).date()
        async with services.sessions() as session:
            if not argument:
                until = dict(await list_absences(session=session, today=today)).get(user)
                return build_away(lang=lang, outcome="status" if until else "not_away", until=until)
            if argument.lower() in OFF_WORDS:
                away_now = user in await absent_users(session=session, today=today)
                await clear_absence(session=session, user_id=user)
                return build_away(lang=lang, outcome="cleared" if away_now else "not_away")
            try:
                until = date.fromisoformat(argument)
            except ValueError:
                return build_away(lang=lang, outcome="bad_date")
            if not today <= until <= today + timedelta(days=AWAY_MAX_DAYS):
                return build_away(lang=lang, outcome="bad_date")
            await set_absence(session=session, user_id=user, until=until, set_by=user, now=now)
        return build_away(lang=lang, outcome="set", until=until)

    @app.command("/tossup")
    async def tossup(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        text = (body.get("text") or "").strip()
        word, _, argument = text.partition(" ")
        lang = await user_lang(services, body)
        answer: Message | None = None
        if text.lower() in HELP_WORDS:
            answer = build_help(lang=lang)
        elif text.lower() in CRITERIA_WORDS:
            answer = build_criteria_definition(
                config.criteria, lang, config.custom_labels, option_labels=config.option_labels
            )
        elif word.lower() in AWAY_WORDS:
            answer = await away(actor_id(body), argument.strip(), lang)
        elif not may_toss_up(
            actor_id=actor_id(body), inside_sales=config.roles.inside_sales, managers=config.roles.managers
        ):
            answer = build_not_inside_sales(lang=lang)
        if answer is not None:
            await ack(text=answer[0], blocks=answer[1], response_type="ephemeral")
            return
        await ack()
        view = build_memo_modal(
            lang=lang,
            config=config,
            meta=MemoModalMeta(channel_id=body.get("channel_id"), lang=lang),
            prefill_company=text[:COMPANY_PREFILL_MAX] or None,
            now=services.clock(),
        )
        await client.views_open(trigger_id=body["trigger_id"], view=view)
