"""The app factory: settings + app.yaml in, a wired Bolt app, web server and background tasks out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.answer_at_ack import TossupApp
from bot.config import AppConfig
from bot.delivery import Clock, Delivery, utc_now
from bot.errors import StartupError
from bot.preflight import database_problem, slack_problem
from bot.scheduler import make_scheduler
from bot.services import Services
from bot.settings import Settings
from bot.slack import MethodThrottle, SlackUsers, http_session, make_client
from bot.verification import (
    SlackRequestGuard,
    is_signed_by_slack,
    mark_signed_at_the_door,
    unverified_response,
)
from handlers import register_all
from handlers.deadline import REQUEST_RECEIVED_AT
from handlers.errors import answer_failure
from handlers.payload import shape_refusal
from store.db import make_engine, make_read_engine, make_sessionmaker, migrate

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
CLIENT_TIMEOUT_SECONDS = 10  # one Slack call of the handlers (the outbox has delivery.slack_timeout_seconds)
LATE_WORK_GRACE_SECONDS = 10  # at shutdown, for what listeners do after their acks


def bolt_request_of(body: str, *, query: str, headers: dict[str, str]) -> AsyncBoltRequest:
    """Bolt's request for a verified HTTP body. Bolt takes a form with "payload" anywhere in it for an
    interactive payload and, finding no `payload` field, reads it as {}: a slash command whose text,
    channel or user name holds the word would be refused. Such a form is read as the form it is."""
    request = AsyncBoltRequest(body=body, query=query, headers=headers)
    if request.body == {} and body and not body.lstrip().startswith(("{", "[")):
        form = dict(parse_qsl(body, keep_blank_values=True))
        if form and "payload" not in form:
            request.body = form
            request.context = build_async_context(AsyncBoltContext({}), form)
    return request


@dataclass(repr=False)
class Bot:
    settings: Settings
    services: Services
    app: TossupApp
    engine: AsyncEngine
    read_engine: AsyncEngine | None = None  # SQLite: long reads beside the one writer (store.db)
    http: tuple[aiohttp.ClientSession, ...] = ()  # the Slack clients' connections, closed with the bot

    def __repr__(self) -> str:  # the settings say which bot; the rest is machinery (and big)
        return f"Bot({self.settings!r})"

    @property
    def delivery(self) -> Delivery:
        return self.services.delivery

    def web_app(self) -> web.Application:
        """The HTTP side: Slack posts to /slack/events; /healthz answers 200 while the database does."""
        web_app = web.Application()
        if not self.settings.socket_mode:  # in Socket Mode events arrive over the websocket only
            web_app.router.add_post(EVENTS_PATH, self._slack_events)
        web_app.router.add_get(HEALTH_PATH, self._health)
        return web_app

    async def _slack_events(self, request: web.Request) -> web.Response:
        """Verify the signature on the raw bytes before anything else reads them; only then parse."""
        REQUEST_RECEIVED_AT.set(time.monotonic())  # the listener's ack budget counts from here
        try:
            raw_body = await request.read()
        except RequestPayloadError:  # not what its Content-Encoding says, or cut short: nobody's payload
            log.warning("refused a request whose body could not be read")
            # The rest is unreadable too: aiohttp would linger reading it after the answer and log that
            # failure as an unhandled exception. The connection is closed after the 400.
            request.content.feed_eof()
            refused = web.json_response({"error": "unreadable body"}, status=400)
            refused.force_close()
            return refused
        if not is_signed_by_slack(
            secret=self.settings.slack_signing_secret or "",
            body=raw_body,
            timestamp=request.headers.get("X-Slack-Request-Timestamp"),
            signature=request.headers.get("X-Slack-Signature"),
        ):
            log.warning("refused a request that failed Slack signature verification")
            return await to_aiohttp_response(unverified_response())
        try:
            bolt_request = bolt_request_of(
                raw_body.decode("utf-8"), query=request.query_string, headers=dict(request.headers)
            )
        # Not UTF-8, not JSON, JSON but not an object, nested past the parser's depth, or shaped so that
        # Bolt's own context building trips (`authorizations: {}` is a KeyError there).
        except (ValueError, TypeError, AttributeError, LookupError, RecursionError):
            bolt_request = None
        if bolt_request is None or not isinstance(bolt_request.body, dict):
            log.warning("refused a signed request whose body is not a Slack payload")
            return web.json_response({"error": "malformed request"}, status=400)
        mark_signed_at_the_door(bolt_request)
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))

    async def _health(self, _request: web.Request) -> web.Response:
        try:
            async with (self.read_engine or self.engine).connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:
            log.warning("health check: database unreachable: %s", exc)
            return web.json_response({"ok": False, "database": "unreachable"}, status=503)
        return web.json_response({"ok": True})

    @contextlib.asynccontextmanager
    async def background(self) -> AsyncIterator[AsyncIOScheduler]:
        """Run the outbox retry loop and the scheduled jobs for as long as the block lasts."""
        task = asyncio.create_task(self.delivery.run_forever(), name="tossup-outbox")
        scheduler = make_scheduler(self.services)
        scheduler.start()
        try:
            yield scheduler
        finally:
            scheduler.shutdown(wait=False)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def check_slack(self) -> None:
        """Ask Slack whether the tokens work before serving, so a wrong one is one clear line at start."""
        client = self.app.client
        await self._ask_slack("SLACK_BOT_TOKEN", client.auth_test())
        if self.settings.slack_app_token:
            await self._ask_slack(
                "SLACK_APP_TOKEN", client.apps_connections_open(app_token=self.settings.slack_app_token)
            )

    async def _ask_slack(self, setting: str, call: Awaitable[object]) -> None:
        try:
            await call
        except (SlackApiError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            # The token is blamed only when Slack's own JSON refused it; a 404 page is the URL's fault.
            raise StartupError(slack_problem(setting, exc, self.settings.slack_api_url)) from exc

    async def close(self) -> None:
        await self.app.finish_running(LATE_WORK_GRACE_SECONDS)  # what listeners do after their acks
        await self.delivery.wait_idle()
        await self.engine.dispose()
        if self.read_engine is not None:
            await self.read_engine.dispose()
        for session in self.http:
            await session.close()


async def build_bot(settings: Settings, config: AppConfig, *, clock: Clock = utc_now) -> Bot:
    """Migrate the database and wire every listener. Nothing is posted to Slack here."""
    try:
        engine = make_engine(settings.database_url)
    except OSError as exc:  # the SQLite file's directory cannot be created or written
        raise StartupError(database_problem(exc, settings)) from exc
    try:
        await migrate(engine)
    except (OSError, SQLAlchemyError) as exc:
        await engine.dispose()
        raise StartupError(database_problem(exc, settings)) from exc
    read_engine = make_read_engine(settings.database_url)
    sessions = make_sessionmaker(engine, read_engine)
    http = (http_session(CLIENT_TIMEOUT_SECONDS), http_session(config.delivery.slack_timeout_seconds))
    client = make_client(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=CLIENT_TIMEOUT_SECONDS,
        session=http[0],
    )
    users = SlackUsers(client=client, default=config.locale)
    # The outbox has a client of its own without automatic retries: it retries itself, after looking
    # for what an attempt with an unknown outcome may already have posted.
    outbox_client = make_client(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=config.delivery.slack_timeout_seconds,
        retries=False,
        session=http[1],
    )
    delivery = Delivery(
        client=outbox_client,
        sessions=sessions,
        config=config,
        users=users,
        clock=clock,
        lease=timedelta(seconds=config.delivery.lease_seconds),
        throttle=MethodThrottle(
            clock=clock,
            first_backoff=config.delivery.first_retry_seconds,
            max_backoff=config.delivery.max_retry_seconds,
        ),
    )
    services = Services(config=config, sessions=sessions, delivery=delivery, users=users, clock=clock)
    app = TossupApp(
        # a listener's failure after its ack is answered as Bolt's error handler answers one before it
        on_late_failure=lambda error, args: answer_failure(
            services, error, body=args.body, client=args.client, respond=args.respond, context=args.context
        ),
        name="tossup",  # without a name Bolt walks the whole call stack (inspect.stack) to make one up
        client=client,
        signing_secret=settings.slack_signing_secret or "",  # unused in Socket Mode
        # Bolt's verification raises on a non-numeric timestamp (its error handler then saw an unverified
        # body) and logs bodies; ours refuses quietly and runs before authorization's auth.test call.
        request_verification_enabled=False,
        before_authorize=SlackRequestGuard(
            signing_secret=settings.slack_signing_secret or "",
            response_url_origins=settings.response_url_origins,
            refuse=shape_refusal,
        ),
        # Bolt's own "ignoring self events" etc. stay on; its error page must not leak a stack trace.
        raise_error_for_unhandled_request=False,
    )

    register_all(app, services)
    return Bot(
        settings=settings, services=services, app=app, engine=engine, read_engine=read_engine, http=http
    )
