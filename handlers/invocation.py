"""One `/tossup …` request as every sub-command sees it (handlers/command.py routes it; the issue and
diagnosis modals open from handlers/issues.py and handlers/diagnose.py), with the ways to answer it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.i18n import Lang
from bot.services import Services
from handlers.common import actor_id, slack_channel, tell
from modals.messages import Message, build_computing

log = logging.getLogger(__name__)

# `kpi_report` or `scorecard_report`: (sessions, *, config, argument, user_id, now, lang) → the answer.
PeriodReport = Callable[..., Awaitable[Message]]


@dataclass(frozen=True)
class Invocation:
    """One `/tossup …` request, as every sub-command sees it."""

    services: Services
    ack: AsyncAck
    body: dict[str, Any]
    client: AsyncWebClient
    respond: AsyncRespond
    lang: Lang
    argument: str  # what follows the sub-command's word, NFKC-normalised and stripped
    raw_argument: str  # the same as typed (a company name keeps its own spelling)

    @property
    def user(self) -> str:
        return actor_id(self.body)

    @property
    def channel(self) -> str | None:
        """Where the command was typed (a modal's answer goes there), when it looks like a channel id."""
        return slack_channel(self.body.get("channel_id"))

    async def answer(self, message: Message) -> None:
        """A private answer in the ack itself: for what takes no time to build."""
        await self.ack(text=message[0], blocks=message[1], response_type="ephemeral")

    async def answer_after(self, build: Awaitable[Message]) -> None:
        """Ack at once with a "computing…" note, then replace it with the answer `build` makes.

        A read over a period may take a while at scale; Slack's 3-second ack never waits for it.
        """
        await self.answer(build_computing(lang=self.lang))
        message = await build
        if self.respond.response_url:
            try:
                sent = await self.respond(
                    text=message[0], blocks=message[1], response_type="ephemeral", replace_original=True
                )
                if sent.status_code == 200:
                    return
            except Exception as exc:  # the answer must still arrive: tell() tries the other ways
                log.info("replacing the computing note failed (%s)", type(exc).__name__)
        await tell(self.client, respond=None, channel=self.channel, user=self.user, message=message)

    async def answer_report(self, report: PeriodReport, *, now: datetime) -> None:
        """`report` over what was typed after the word (a period, a rep), after a "computing…" note."""
        services = self.services
        await self.answer_after(
            report(
                services.sessions,
                config=services.config,
                argument=self.argument,
                user_id=self.user,
                now=now,
                lang=self.lang,
            )
        )
