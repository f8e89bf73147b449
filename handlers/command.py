"""`/tossup` — opens the handoff memo modal, or answers a sub-command (help, criteria, away, kpi, issue, …).

Each sub-command is one entry of `SUB_COMMANDS`: its words (English and Japanese) and the function that
answers it. A first word that looks like a sub-command (lower-case ASCII) but is none gets the help, with
the nearest sub-command suggested, rather than a memo for a company of that name.
"""

from __future__ import annotations

import difflib
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.absence import away_command
from bot.domain.handoff import may_toss_up
from bot.domain.kpi import parse_period
from bot.export import export_command
from bot.kpis import kpi_report
from bot.scorecards import scorecard_report
from bot.services import Services
from bot.submission import memo_modal
from handlers.common import actor_id, open_modal, trigger_id, user_lang
from handlers.diagnose import open_diagnosis_modal
from handlers.invocation import Invocation
from handlers.issues import open_issue_modal
from modals.kpi import build_kpi_usage
from modals.messages import (
    build_away,
    build_help,
    build_incomplete_request,
    build_not_inside_sales,
    build_unknown_command,
)
from modals.metadata import MemoModalMeta
from modals.quality import build_criteria_definition

COMPANY_PREFILL_MAX = 150
# What a mistyped sub-command looks like: one lower-case ASCII word ("exprot", "hepl"). A company typed
# after /tossup is capitalised or Japanese as a rule; `/tossup memo acme` prefills a lower-case one.
_COMMAND_LIKE = re.compile(r"[a-z][a-z-]*")

log = logging.getLogger(__name__)


SubCommand = Callable[[Invocation], Awaitable[None]]


async def _help(call: Invocation) -> None:
    await call.answer(build_help(lang=call.lang))


async def _criteria(call: Invocation) -> None:
    config = call.services.config
    await call.answer(
        build_criteria_definition(
            config.criteria, call.lang, config.custom_labels, option_labels=config.option_labels
        )
    )


async def _away(call: Invocation) -> None:
    services = call.services
    outcome, until = await away_command(
        sessions=services.sessions,
        config=services.config,
        user=call.user,
        argument=call.argument,
        now=services.clock(),
    )
    await call.answer(build_away(lang=call.lang, outcome=outcome, until=until))


async def _kpi(call: Invocation) -> None:
    services = call.services
    now = services.clock()
    if parse_period(call.argument, now=now, tz=services.config.tz) is None:
        await call.answer(build_kpi_usage(lang=call.lang))  # nothing to compute: say how to name a period
        return
    await call.answer_report(kpi_report, now=now)


async def _scorecard(call: Invocation) -> None:
    await call.answer_report(scorecard_report, now=call.services.clock())


async def open_memo(call: Invocation, *, company: str | None) -> None:
    """The handoff memo modal (IS reps and managers), the company filled in when one was typed."""
    config = call.services.config
    if not may_toss_up(
        actor_id=call.user, inside_sales=config.roles.inside_sales, managers=config.roles.managers
    ):
        await call.answer(build_not_inside_sales(lang=call.lang))
        return
    await call.ack()
    view = await memo_modal(
        call.services,
        actor=call.user,
        lang=call.lang,
        meta=MemoModalMeta(channel_id=call.channel, lang=call.lang),
        prefill_company=(company or "")[:COMPANY_PREFILL_MAX] or None,
    )
    await open_modal(call.client, body=call.body, view=view, lang=call.lang, respond=call.respond)


async def _export(call: Invocation) -> None:  # answered at once; a manager's CSV follows by DM
    await export_command(
        call.services,
        answer=call.answer,
        user_id=call.user,
        argument=call.argument,
        lang=call.lang,
        request_key=trigger_id(call.body) or "",
    )


async def _memo(call: Invocation) -> None:
    await open_memo(call, company=call.raw_argument)


# word(s) → what answers them. Words are matched after NFKC and lower-casing.
SUB_COMMANDS: dict[frozenset[str], SubCommand] = {
    frozenset({"help", "ヘルプ", "-h", "--help"}): _help,
    frozenset({"criteria", "基準", "sql"}): _criteria,
    frozenset({"away", "不在"}): _away,
    frozenset({"kpi", "kpis", "成果"}): _kpi,
    frozenset({"scorecard", "scorecards", "スコアカード", "評価"}): _scorecard,
    frozenset({"issue", "issues", "課題", "連携課題"}): open_issue_modal,  # log a collaboration issue
    frozenset({"diagnose", "diagnosis", "診断", "現状診断"}): open_diagnosis_modal,  # the 10-item checklist
    frozenset({"memo", "new", "メモ", "新規"}): _memo,  # the memo, for a company named explicitly
    frozenset({"export", "エクスポート"}): _export,  # managers: the toss-ups as CSV, by DM
}


def sub_command_words() -> list[str]:
    """Every word `/tossup` answers as a sub-command (for help and the manifests' usage hint)."""
    return sorted(word for words in SUB_COMMANDS for word in words)


def find_sub_command(word: str) -> SubCommand | None:
    folded = word.lower()
    return next((run for words, run in SUB_COMMANDS.items() if folded in words), None)


def nearest_sub_command(word: str) -> str | None:
    ascii_words = [w for w in sub_command_words() if _COMMAND_LIKE.fullmatch(w)]
    close = difflib.get_close_matches(word.lower(), ascii_words, n=1, cutoff=0.6)
    return close[0] if close else None


def register(app: AsyncApp, services: Services) -> None:
    @app.command("/tossup")
    async def tossup(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        raw_text = body.get("text")
        text = raw_text.strip() if isinstance(raw_text, str) else ""
        # str.split() also splits at a Japanese IME's full-width space (U+3000), like an ASCII one.
        word, raw_argument = [*text.split(maxsplit=1), "", ""][:2]
        word = unicodedata.normalize("NFKC", word)
        argument = unicodedata.normalize("NFKC", raw_argument).strip()
        lang = await user_lang(services, body)
        call = Invocation(services, ack, body, client, respond, lang, argument, raw_argument.strip())
        if not actor_id(body) or trigger_id(body) is None:
            # Slack always sends both; without them nobody can be named in a record or shown a form.
            log.warning("a /tossup command came without a user or a trigger_id")
            await call.answer(build_incomplete_request(lang=lang))
        elif (run := find_sub_command(word)) is not None:
            await run(call)
        elif _COMMAND_LIKE.fullmatch(word):
            await call.answer(build_unknown_command(lang=lang, word=word, nearest=nearest_sub_command(word)))
        else:
            await open_memo(call, company=text)
