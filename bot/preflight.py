"""What stops the bot from starting, said in one line naming the setting and the fix; and `tossup check`.

`tossup check` reads the environment and app.yaml, then (unless `--offline`) asks the database whether
the migrations `tossup run` would apply go through (a dry run, rolled back), and Slack whether the tokens
work, which scopes the app has, and whether the bot can post in each channel it posts to. Nothing is
written to the database and nothing is posted.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import sys
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.config import AppConfig, ConfigError, load_config
from bot.settings import Settings, SettingsError, StoreSettings, load_settings, load_store_settings
from bot.slack import make_client, slack_error_code
from store.db import DatabaseLocationError, dry_run_migrations, make_engine, missing_sqlite_file

# The bot scopes of manifests/*.yaml: a token missing one fails some feature later, not at start.
REQUIRED_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "im:write",
    "users:read",
    "files:write",
    "channels:history",
    "groups:history",
    "im:history",
)

_INVITE = "invite the bot to it (/invite @your-bot in the channel)"


class SlackCheckError(Exception):
    """Slack refused or could not be reached; the message names the setting."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def slack_problem(setting: str, exc: BaseException, api_url: str) -> str:
    """One line for a failed Slack call made with `setting`'s token: blames the token only when Slack
    itself (its JSON answer) refused it; anything else is the URL's (or the network's) fault."""
    if isinstance(exc, SlackApiError):
        data = exc.response.data
        status = exc.response.status_code
        if isinstance(data, dict) and "ok" in data:
            return f"{setting}: Slack refused it ({slack_error_code(exc)})"
        if status >= 500:
            return (
                f"SLACK_API_URL: {api_url} answered HTTP {status}: Slack may be down (try again later), "
                "or the URL is not Slack's Web API"
            )
        return (
            f"SLACK_API_URL: {api_url} did not answer like Slack's Web API (HTTP {status}, not Slack's "
            "JSON): it must end in /api/, e.g. https://slack.com/api/"
        )
    return f"SLACK_API_URL: cannot reach Slack at {api_url} ({type(exc).__name__})"


def database_problem(exc: BaseException, settings: StoreSettings) -> str:
    """One line for a database that cannot be opened or migrated: the path or URL, and what to do."""
    is_set = "database_url" in settings.model_fields_set
    if isinstance(exc, DatabaseLocationError):
        if is_set:
            return (
                f"DATABASE_URL: the SQLite file {exc.path} cannot be written: {exc.reason}: {exc.fix}, "
                "or point DATABASE_URL at a writable place"
            )
        return (
            f"database: the SQLite file {exc.path} (the default, as DATABASE_URL is not set) cannot be "
            f"written: {exc.reason}: run tossup from a writable directory, or set DATABASE_URL, e.g. "
            "sqlite+aiosqlite:////var/lib/tossup/tossup.db"
        )
    where = "DATABASE_URL" if is_set else f"database (default {settings.database_url}, DATABASE_URL not set)"
    return f"{where}: cannot open the database: {_first_line(exc)}"


def port_problem(exc: OSError, *, host: str, port: int) -> str:
    """One line for a listening socket that cannot be opened."""
    if exc.errno == errno.EADDRINUSE:
        return (
            f"PORT: {port} is already in use on {host} (another tossup, or another program, listens there): "
            "stop it, or set PORT to a free port"
        )
    if exc.errno == errno.EACCES:
        return (
            f"PORT: not allowed to listen on {port} (below 1024 needs privileges): set PORT to 1024 or above"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"HOST: {host} is not an address of this machine: set HOST to 0.0.0.0 or one of its addresses"
    return f"PORT: cannot listen on {host}:{port} ({exc.strerror or _first_line(exc)}): set PORT or HOST"


# ------------------------------------------------------------------------------------------ tossup check


@dataclass
class CheckReport:
    """What `tossup check` found: lines that passed, problems (each one line naming a key and the fix),
    and warnings (allowed, but worth knowing)."""

    passed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _notice_channels(config: AppConfig) -> list[tuple[str, str]]:
    """(setting, channel id) for every channel the bot posts to, the notice channel first."""
    found = [("channels.fs", config.channels.fs)]
    for index, rule in enumerate(config.routing.rules):
        if rule.channel:
            found.append((f"routing.rules[{index}] (name: {rule.name}).channel", rule.channel))
    for kind in type(config.digests).model_fields:
        schedule = getattr(config.digests, kind)
        if schedule is not None and schedule.channel:  # left out: channels.fs, checked above
            found.append((f"digests.{kind}.channel", schedule.channel))
    return found


async def check(*, offline: bool) -> CheckReport:
    report = CheckReport()
    try:
        store_settings = load_store_settings()
    except SettingsError as exc:
        report.problems.append(str(exc))
        return report
    config: AppConfig | None = None
    try:
        config = load_config(store_settings.tossup_config)
    except ConfigError as exc:
        report.problems += str(exc).splitlines()
    else:
        report.warnings += config.scorecards.warnings()
        report.passed.append(
            f"{store_settings.tossup_config}: OK (language {config.locale}, time zone {config.timezone})"
        )
    settings: Settings | None = None
    try:
        settings = load_settings()
    except SettingsError as exc:
        report.problems.append(str(exc))
    else:
        mode = "Socket Mode" if settings.socket_mode else f"HTTP on {settings.host}:{settings.port}"
        report.passed.append(f"environment: OK ({mode})")
    if offline:
        report.passed.append("--offline: the database and Slack were not asked")
        return report
    await _check_database(store_settings, report)
    if settings is not None:
        await _check_slack(settings, config, report)
    return report


async def _check_database(settings: StoreSettings, report: CheckReport) -> None:
    try:
        engine = make_engine(settings.database_url)  # a SQLite file's directory is checked here
    except (OSError, ValueError) as exc:
        report.problems.append(database_problem(exc, settings))
        return
    url = engine.url.render_as_string(hide_password=True)
    file = missing_sqlite_file(engine.url)
    if file is not None:  # connecting would create it: say what `tossup run` will do instead
        await engine.dispose()
        report.passed.append(f"database {url}: {file} does not exist yet; `tossup run` creates it there")
        return
    try:
        current, head = await dry_run_migrations(engine)
    except (OSError, SQLAlchemyError) as exc:
        report.problems.append(database_problem(exc, settings))
        return
    finally:
        await engine.dispose()
    state = (
        f"schema up to date ({head})"
        if current == head
        else f"schema at {current or 'none'}; `tossup run` will migrate it to {head} (dry run passed)"
    )
    report.passed.append(f"database {url}: reachable, {state}")


async def _ask(call: Awaitable[Any]) -> Any:
    try:
        return await call
    except (SlackApiError, aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise SlackCheckError from exc


async def _check_slack(settings: Settings, config: AppConfig | None, report: CheckReport) -> None:
    client = make_client(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    api_url = settings.slack_api_url
    try:
        auth = await _ask(client.auth_test())
    except SlackCheckError as exc:
        report.problems.append(slack_problem("SLACK_BOT_TOKEN", exc.__cause__ or exc, api_url))
        return
    report.passed.append(
        f"SLACK_BOT_TOKEN: OK (bot @{auth.get('user')} in {auth.get('team')}, user id {auth.get('user_id')})"
    )
    scopes = _granted_scopes(auth.headers)
    if scopes is not None:
        missing = [scope for scope in REQUIRED_SCOPES if scope not in scopes]
        if missing:
            report.problems.append(
                f"SLACK_BOT_TOKEN: the app lacks the scope{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)}: add them under OAuth & Permissions (or from manifests/), reinstall "
                "the app and copy the new token"
            )
    if settings.slack_app_token:
        try:
            await _ask(client.apps_connections_open(app_token=settings.slack_app_token))
        except SlackCheckError as exc:
            report.problems.append(slack_problem("SLACK_APP_TOKEN", exc.__cause__ or exc, api_url))
        else:
            report.passed.append("SLACK_APP_TOKEN: OK (Socket Mode can connect)")
    if config is None:
        return
    for setting, channel in _notice_channels(config):
        await _check_channel(client, setting, channel, scopes, report)


def _granted_scopes(headers: dict[str, Any]) -> frozenset[str] | None:
    """The scopes Slack says the token has (its X-OAuth-Scopes header); None when it did not say."""
    raw = next((value for key, value in headers.items() if key.lower() == "x-oauth-scopes"), None)
    if isinstance(raw, list):
        raw = ",".join(raw)
    if raw is None:
        return None
    return frozenset(part.strip() for part in str(raw).split(",") if part.strip())


async def _check_channel(
    client: AsyncWebClient,
    setting: str,
    channel: str,
    scopes: frozenset[str] | None,
    report: CheckReport,
) -> None:
    """Whether the bot can post in `channel`, asked without posting: conversations.info, or when the app
    may not read channel details (no channels:read), conversations.history of one message."""
    can_post_unjoined = scopes is None or "chat:write.public" in scopes
    try:
        info = (await _ask(client.conversations_info(channel=channel)))["channel"]
    except SlackCheckError as exc:
        code = slack_error_code(exc.__cause__) if isinstance(exc.__cause__, Exception) else "error"
        if code != "missing_scope":
            report.problems.append(_channel_refused(setting, channel, code))
            return
        await _check_channel_by_history(client, setting, channel, can_post_unjoined, report)
        return
    name = f"#{info.get('name', channel)} ({channel})"
    if info.get("is_archived"):
        report.problems.append(
            f"{setting}: {name} is archived: unarchive it, or set {setting} to another one"
        )
    elif info.get("is_member"):
        report.passed.append(f"{setting}: posts go to {name}; the bot is a member and can post there")
    elif not info.get("is_private") and can_post_unjoined:
        report.passed.append(f"{setting}: posts go to {name}; the bot can post there (chat:write.public)")
    else:
        report.problems.append(f"{setting}: the bot cannot post in {name}: {_INVITE}")


async def _check_channel_by_history(
    client: AsyncWebClient, setting: str, channel: str, can_post_unjoined: bool, report: CheckReport
) -> None:
    try:
        await _ask(client.conversations_history(channel=channel, limit=1))
    except SlackCheckError as exc:
        code = slack_error_code(exc.__cause__) if isinstance(exc.__cause__, Exception) else "error"
        if code == "not_in_channel" and can_post_unjoined:
            report.passed.append(
                f"{setting}: posts go to {channel}, a public channel; the bot can post (chat:write.public)"
            )
        elif code == "missing_scope":
            report.warnings.append(
                f"{setting}: cannot tell whether the bot can post in {channel} (the app has neither "
                "channels:read nor channels:history): reinstall the app from manifests/, which asks "
                "channels:history (groups:history for a private channel)"
            )
        else:
            report.problems.append(_channel_refused(setting, channel, code))
        return
    report.passed.append(f"{setting}: posts go to {channel}; the bot is a member and can post there")


def _channel_refused(setting: str, channel: str, code: str) -> str:
    if code in ("channel_not_found", "not_in_channel"):
        return (
            f"{setting}: the bot cannot see channel {channel} ({code}): check the ID (channel details, at "
            f"the bottom); for a private channel, {_INVITE}"
        )
    return f"{setting}: Slack refused to describe channel {channel} ({code})"


def run_check(*, offline: bool) -> int:
    """`tossup check`: print what passed (stdout) and every problem, one line each (stderr); the exit
    code is 0 when nothing is wrong, 2 (like any start-up failure) otherwise."""
    for chatty in ("alembic", "slack_sdk"):  # the dry run's and retries' INFO lines are not the report
        logging.getLogger(chatty).setLevel(logging.WARNING)
    report = asyncio.run(check(offline=offline))
    for line in report.passed:
        print(f"tossup: {line}")
    sys.stdout.flush()  # piped, stdout is buffered: what passed still reads before the problems
    for line in report.warnings:
        print(f"tossup: warning: {line}", file=sys.stderr)
    for line in report.problems:
        print(f"tossup: {line}", file=sys.stderr)
    if report.ok:
        print("tossup: check passed" + (" (format only)" if offline else ""))
        return 0
    count = len(report.problems)
    print(f"tossup: check failed: {count} problem{'s' if count != 1 else ''} above", file=sys.stderr)
    return 2
