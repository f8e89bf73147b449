"""Logging for every `tossup` command: `LOG_LEVEL` for the bot's own loggers, `LOG_LIBRARY_LEVEL` for the
libraries' chatter (APScheduler's ticks, aiohttp's access lines, Bolt, SQLAlchemy, Alembic's migration
steps), and `LOG_FORMAT=json` for log shippers: one JSON object per line."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

from bot.settings import LogSettings

# The bot's own loggers: `logging.getLogger(__name__)` in these packages, and the CLI's "tossup".
OWN_LOGGERS = ("tossup", "bot", "handlers", "store", "modals")
# slack_sdk's Web API client decides whether to format its debug lines (every request's and answer's whole
# body) from this logger's own level, not its effective one: left NOTSET, it formats them on every call
# only for them to be dropped (~0.07 ms a post). It is given a level of its own, here and in make_client.
SLACK_CLIENT_LOGGER = "slack_sdk.web.async_base_client"
# Named explicitly (besides the root) because some set their own level, e.g. SQLAlchemy with echo on.
LIBRARY_LOGGERS = (
    "apscheduler",
    "aiohttp",
    "slack_bolt",
    "slack_sdk",
    SLACK_CLIENT_LOGGER,
    "sqlalchemy",
    "alembic",
    "asyncio",
)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, and exc_info (the
    traceback as one string) when there is one. Newlines stay escaped, so a record is always one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


class _DropMessage(logging.Filter):
    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self.message


# Bolt reads SLACK_BOT_TOKEN from the environment by itself and, since we hand it a client built with that
# same token, warns at every start that its `token` is unused. Nothing is unused: drop that one line.
# Bolt's `warning_client_prioritized_and_token_skipped()`, as text: importing Bolt here would load it for
# `--version` and for a bad setting too (tests/test_logs.py checks the two agree).
BOLT_TOKEN_WARNING = "As you gave `client` as well, `token` will be unused."
_BOLT_TOKEN_WARNING = _DropMessage(BOLT_TOKEN_WARNING)

_handler: logging.Handler | None = None  # the one this module installed on the root logger


def setup_logging(settings: LogSettings, *, stream: TextIO | None = None) -> None:
    """Route every record to stderr (or `stream`) in the chosen format, at the chosen levels. Calling it
    again replaces what it set up before (and leaves any other handler alone)."""
    global _handler
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    _handler = handler
    root.setLevel(settings.log_library_level)  # everything not ours, named or not
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(settings.log_library_level)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(settings.log_level)
    bolt = logging.getLogger("slack_bolt.AsyncApp")
    if _BOLT_TOKEN_WARNING not in bolt.filters:
        bolt.addFilter(_BOLT_TOKEN_WARNING)
    logging.captureWarnings(True)  # Python warnings in the same format (one JSON line each)
