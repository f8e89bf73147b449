"""App Home: published each time a person opens the tab, with every time in their own zone."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.app_home import home_content
from bot.domain.memo import is_slack_user_id
from bot.services import Services
from modals.home import build_home

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
        config = services.config
        lang = await services.users.lang(user_id)
        zone = await services.users.zone(user_id, fallback=config.tz)
        content = await home_content(services.sessions, config=config, user_id=user_id, now=services.clock())
        view = build_home(
            lang=lang,
            tz=zone,
            team_tz=config.tz,
            tossed_up=content.tossed_up,
            waiting=content.waiting,
            follow_ups=content.follow_ups,
            team_kpis=content.team_kpis,
            received=content.received,
            my_kpis=content.my_kpis,
            diagnosis=content.diagnosis,
            may_toss_up=content.may_toss_up,
            currency=config.currency,
            outcomes=content.outcomes,
            overdue=content.overdue,
            workspace_url=await services.delivery.workspace_url(),
        )
        await client.views_publish(user_id=user_id, view=view)
