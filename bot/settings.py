"""Secrets and deployment knobs from the environment (never from app.yaml)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.origins import SLACK_RESPONSE_URL_ORIGINS, normalize_origin
from store.defaults import DEFAULT_DATABASE_URL

SLACK_API_DEFAULT = "https://slack.com/api/"


S = TypeVar("S", bound=BaseSettings)


def without_password(database_url: str) -> str:
    """The URL with any password replaced by ***."""
    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # a port that is not a number is a ValueError
        return "(not a database URL)"


class SettingsError(Exception):
    """The environment cannot start the bot; the message names the variable to set."""


class StoreSettings(BaseSettings):
    """What a command that only reads the database needs (`tossup digest` previews): no Slack secrets."""

    # hide_input_in_errors: a refused token or URL is not repeated in the error (chained to tracebacks).
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", hide_input_in_errors=True
    )

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Settings end up in tracebacks and test reports: the database password stays out of them."""
        for name, value in super().__repr_args__():
            yield name, (without_password(value) if name == "database_url" else value)

    database_url: str = DEFAULT_DATABASE_URL
    tossup_config: Path = Path("app.yaml")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must be sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db")
        return value


class Settings(StoreSettings):
    # Secrets: left out of the settings' repr (tracebacks, test reports).
    slack_bot_token: str = Field(description="Bot token (xoxb-…) from OAuth & Permissions", repr=False)
    slack_signing_secret: str | None = Field(
        default=None, description="Signing secret from Basic Information (HTTP mode)", repr=False
    )
    slack_app_token: str | None = Field(
        default=None, description="App-level token (xapp-…): Socket Mode", repr=False
    )
    slack_api_url: str = SLACK_API_DEFAULT
    # Where respond() may POST: Slack's own response_url hosts (a test points this at its fake Slack).
    slack_response_url_origins: str = ",".join(SLACK_RESPONSE_URL_ORIGINS)
    port: int = Field(default=3000, ge=1, le=65535)
    host: str = "0.0.0.0"

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: str) -> str:
        if not value.startswith("xoxb-"):
            raise ValueError("must start with xoxb- (the Bot User OAuth Token)")
        return value

    @field_validator("slack_signing_secret")
    @classmethod
    def _signing_secret(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not re.fullmatch(r"[0-9a-zA-Z]{8,}", value):
            raise ValueError("must be the app's Signing Secret (letters and digits)")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith("xapp-"):
            raise ValueError("must start with xapp- (an app-level token with connections:write)")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not re.match(r"^https?://", value):
            raise ValueError("must be an http(s) URL ending in /api/")
        # slack_sdk joins with urljoin: without the trailing slash the last path part is dropped.
        return value if value.endswith("/") else value + "/"

    @field_validator("slack_response_url_origins")
    @classmethod
    def _response_url_origins(cls, value: str) -> str:
        origins = [part.strip() for part in value.split(",") if part.strip()]
        if not origins or any(normalize_origin(origin) != origin.rstrip("/") for origin in origins):
            raise ValueError("must be comma-separated origins such as https://hooks.slack.com")
        return ",".join(origin.rstrip("/") for origin in origins)

    @property
    def response_url_origins(self) -> tuple[str, ...]:
        return tuple(self.slack_response_url_origins.split(","))

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None


def _from_environment(cls: type[S]) -> S:
    try:
        return cls()  # values come from the environment
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "environment"
        if first["type"] == "missing":
            raise SettingsError(f"{name} is not set: {_HOW_TO_GET.get(name, 'see README')}") from exc
        message = first["msg"].removeprefix("Value error, ")
        raise SettingsError(f"{name}: {message}") from exc


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")


def _one_of(raw: str, allowed: tuple[str, ...]) -> str:
    """The one of `allowed` that `raw` names (case and surrounding spaces aside), as `allowed` spells it."""
    named = raw.strip().upper()
    for choice in allowed:
        if choice.upper() == named:
            return choice
    raise ValueError(f"must be one of {', '.join(allowed)} (got {raw!r})")


class LogSettings(BaseSettings):
    """How much the bot logs, and how: read before anything else, by every command."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    log_level: str = "INFO"  # tossup's own loggers
    log_library_level: str = "WARNING"  # the libraries' chatter (scheduler ticks, access lines, Bolt)
    log_format: str = "text"

    @field_validator("log_level", "log_library_level")
    @classmethod
    def _level(cls, value: str) -> str:
        return _one_of(value, LOG_LEVELS)

    @field_validator("log_format")
    @classmethod
    def _format(cls, value: str) -> str:
        return _one_of(value, LOG_FORMATS)


def load_log_settings() -> LogSettings:
    """LOG_LEVEL, LOG_LIBRARY_LEVEL and LOG_FORMAT: no secrets needed."""
    return _from_environment(LogSettings)


def load_store_settings() -> StoreSettings:
    """DATABASE_URL and TOSSUP_CONFIG only: enough to read the database and app.yaml."""
    return _from_environment(StoreSettings)


def load_settings(*, serving: bool = True) -> Settings:
    """The bot's settings from the environment. `serving=False` (a command that only posts, like `tossup
    digest --post`): no request is received, so no signing secret is needed."""
    settings = _from_environment(Settings)
    if serving and not settings.socket_mode and settings.slack_signing_secret is None:
        raise SettingsError(
            "SLACK_SIGNING_SECRET is not set: HTTP mode needs it to verify requests "
            f"({_HOW_TO_GET['SLACK_SIGNING_SECRET']}), or set SLACK_APP_TOKEN for Socket Mode"
        )
    return settings


_HOW_TO_GET = {
    "SLACK_BOT_TOKEN": "copy the Bot User OAuth Token (xoxb-…) from your app's OAuth & Permissions page",
    "SLACK_SIGNING_SECRET": "copy the Signing Secret from your app's Basic Information page",
}
