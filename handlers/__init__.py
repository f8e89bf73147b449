"""Slack listeners, one module per group; each exposes `register(app, services)`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.services import Services
from handlers import command, diagnose, errors, fallback, feedback, home, issues, memo, notice


def register_all(app: AsyncApp, services: Services) -> None:
    # `fallback` last: it takes only what no other listener did.
    for group in (errors, command, memo, notice, feedback, issues, diagnose, home, fallback):
        group.register(app, services)
