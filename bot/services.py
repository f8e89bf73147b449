"""What every handler needs, assembled once by the app factory."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import AppConfig
from bot.delivery import Clock, Delivery
from bot.slack import SlackUsers


@dataclass(frozen=True)
class Services:
    config: AppConfig
    sessions: async_sessionmaker[AsyncSession]
    delivery: Delivery
    users: SlackUsers
    clock: Clock
