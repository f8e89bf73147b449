"""App Home: published each time a rep opens the tab."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.feedback import follow_ups_due
from bot.domain.handoff import HandoffStatus
from bot.domain.memo import is_slack_user_id
from bot.kpis import team_kpis_this_month
from bot.services import Services
from modals.home import build_home
from store.feedback import list_follow_ups
from store.handoffs import list_handoffs

HOME_LIST_SIZE = 10

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: Services) -> None:
    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return  # the Messages tab needs nothing from us
        user_id = event.get("user")
        if not is_slack_user_id(user_id):  # Slack always names who opened it; there is no one to show
            log.warning("app_home_opened without a Slack user id; nothing published")
            return
        lang = await services.users.lang(user_id)
        roles = services.config.roles
        # Unassigned toss-ups wait for whoever may take them: FS members (anyone, with none configured).
        takes_unassigned = not roles.field_sales or user_id in roles.field_sales or user_id in roles.managers
        async with services.sessions() as session:
            tossed_up = await list_handoffs(session=session, is_user_id=user_id, limit=HOME_LIST_SIZE)
            waiting = await list_handoffs(
                session=session,
                fs_user_id=user_id,
                unassigned=takes_unassigned,
                statuses=[HandoffStatus.PENDING],
                limit=HOME_LIST_SIZE,
            )
            owed = await list_follow_ups(session=session, user_id=user_id)
        now = services.clock()
        follow_ups = follow_ups_due(owed, now=now)[:HOME_LIST_SIZE]
        team_kpis = (
            await team_kpis_this_month(services.sessions, config=services.config, now=now)
            if user_id in roles.managers
            else None
        )
        view = build_home(
            lang=lang,
            tz=services.config.tz,
            tossed_up=tossed_up,
            waiting=waiting,
            follow_ups=follow_ups,
            team_kpis=team_kpis,
        )
        await client.views_publish(user_id=user_id, view=view)
