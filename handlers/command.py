"""`/tossup` — opens the handoff memo modal, or answers a sub-command (help, criteria, away, kpi, issue)."""

from __future__ import annotations

import logging
import unicodedata
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.absence import away_command
from bot.domain.handoff import may_toss_up
from bot.feedback_loop import learning_for
from bot.kpis import kpi_report
from bot.scorecards import scorecard_report
from bot.services import Services
from handlers.common import actor_id, open_modal, slack_channel, tell, trigger_id, user_lang
from handlers.issues import open_issue_modal
from modals.memo import build_memo_modal
from modals.messages import (
    Message,
    build_away,
    build_help,
    build_incomplete_request,
    build_not_inside_sales,
)
from modals.metadata import MemoModalMeta
from modals.quality import build_criteria_definition

HELP_WORDS = frozenset({"help", "ヘルプ", "-h", "--help"})
CRITERIA_WORDS = frozenset({"criteria", "基準", "sql"})
AWAY_WORDS = frozenset({"away", "不在"})
KPI_WORDS = frozenset({"kpi", "kpis", "成果"})
ISSUE_WORDS = frozenset({"issue", "issues", "課題", "連携課題"})  # log a collaboration issue
SCORECARD_WORDS = frozenset({"scorecard", "scorecards", "スコアカード", "評価"})
COMPANY_PREFILL_MAX = 150

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: Services) -> None:
    config = services.config

    @app.command("/tossup")
    async def tossup(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        raw_text = body.get("text")
        text = raw_text.strip() if isinstance(raw_text, str) else ""
        # NFKC: a Japanese IME's full-width space (U+3000) separates a sub-command like an ASCII one.
        word, _, argument = unicodedata.normalize("NFKC", text).partition(" ")
        argument = argument.strip()
        lang = await user_lang(services, body)
        answer: Message | None = None
        if not actor_id(body) or trigger_id(body) is None:
            # Slack always sends both; without them nobody can be named in a record or shown a form.
            log.warning("a /tossup command came without a user or a trigger_id")
            answer = build_incomplete_request(lang=lang)
        elif text.lower() in HELP_WORDS:
            answer = build_help(lang=lang)
        elif text.lower() in CRITERIA_WORDS:
            answer = build_criteria_definition(
                config.criteria, lang, config.custom_labels, option_labels=config.option_labels
            )
        elif word.lower() in AWAY_WORDS:
            outcome, until = await away_command(
                sessions=services.sessions,
                config=config,
                user=actor_id(body),
                argument=argument,
                now=services.clock(),
            )
            answer = build_away(lang=lang, outcome=outcome, until=until)
        elif word.lower() in KPI_WORDS:
            answer = await kpi_report(
                services.sessions,
                config=config,
                argument=argument,
                user_id=actor_id(body),
                now=services.clock(),
                lang=lang,
            )
        elif word.lower() in SCORECARD_WORDS:  # a read over the period: ack first, answer privately after
            await ack()
            message = await scorecard_report(
                services.sessions,
                config=config,
                argument=argument,
                user_id=actor_id(body),
                now=services.clock(),
                lang=lang,
            )
            channel = slack_channel(body.get("channel_id"))
            await tell(client, respond=respond, channel=channel, user=actor_id(body), message=message)
            return
        elif word.lower() in ISSUE_WORDS:  # acks itself: a modal, or privately why not
            await open_issue_modal(
                services, ack=ack, body=body, client=client, respond=respond, lang=lang, problem=argument
            )
            return
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
            meta=MemoModalMeta(channel_id=slack_channel(body.get("channel_id")), lang=lang),
            prefill_company=text[:COMPANY_PREFILL_MAX] or None,
            now=services.clock(),
            learning=await learning_for(services.sessions, is_user_id=actor_id(body), config=config),
        )
        await open_modal(client, body=body, view=view, lang=lang, respond=respond)
