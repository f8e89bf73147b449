"""How long Slack waits for tossup's answer, against a bare Bolt app measured in the same run.

Slack gives an app 3 seconds to answer a slash command or a modal submission. This sends signed requests
over loopback into (1) a bare AsyncApp whose listeners only ack, and (2) the real bot (SQLite, fake Slack),
and reports tossup's median and p95 as ratios of the baseline's, so the figures survive a noisy machine.

    .venv/bin/python -m bench.ack_latency [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot.app import Bot, build_bot
from bot.domain.handoff import EventKind
from bot.i18n import Lang
from bot.settings import Settings
from modals.ids import CallbackId
from modals.metadata import HandoffActionMeta, MemoModalMeta, dump_meta
from store.handoffs import decide_handoff
from tests.conftest import IS_USER, SIGNING_SECRET, free_port, team_config
from tests.fake_slack import FakeSlack
from tests.memo_state import full_memo_answers, memo_state
from tests.slack_driver import Response, SlackDriver
from tests.test_feedback_modals import full_sheet_state

Send = Callable[[SlackDriver, int], Awaitable[Response]]


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    port = free_port()
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


def bare_app(slack: FakeSlack) -> web.Application:
    bolt = AsyncApp(token="xoxb-test", signing_secret=SIGNING_SECRET)
    bolt.client.base_url = slack.base_url

    @bolt.command("/tossup")
    async def command(ack) -> None:  # type: ignore[no-untyped-def]
        await ack()

    @bolt.view(CallbackId.HANDOFF_MEMO.value)
    async def submission(ack) -> None:  # type: ignore[no-untyped-def]
        await ack()

    @bolt.view(CallbackId.FEEDBACK_SHEET.value)
    async def sheet(ack) -> None:  # type: ignore[no-untyped-def]
        await ack()

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post("/slack/events", events)
    return app


async def slash(driver: SlackDriver, _: int) -> Response:
    return await driver.slash("Acme Corp", user_id=IS_USER)


def submission_sender() -> Send:
    meta = dump_meta(MemoModalMeta.model_validate({"channel_id": "C0GENERAL", "lang": "ja"}))
    now = datetime.now(UTC)
    values = memo_state(
        full_memo_answers(
            meeting_at=now.replace(microsecond=0) + timedelta(days=3),
            first_contact_on=(now - timedelta(days=10)).date(),
            fs_user_id="U0FS",
        )
    )

    async def send(driver: SlackDriver, i: int) -> Response:
        return await driver.view_submission(
            CallbackId.HANDOFF_MEMO, values, user_id=IS_USER, view_id=f"VBENCH{i:06d}", private_metadata=meta
        )

    return send


def feedback_sender(handoff_id: int) -> Send:
    """The FS rep sends the feedback sheet again and again (each one an edit: a revision and its events)."""
    meta = dump_meta(HandoffActionMeta(handoff_id=handoff_id, lang=Lang.JA))
    values = full_sheet_state()

    async def send(driver: SlackDriver, i: int) -> Response:
        return await driver.view_submission(
            CallbackId.FEEDBACK_SHEET, values, user_id="U0FS", view_id=f"VSHEET{i:06d}", private_metadata=meta
        )

    return send


async def accept_first(bot: Bot) -> int:
    async with bot.services.sessions() as session:
        result = await decide_handoff(
            session=session, handoff_id=1, actor_id="U0FS", decision=EventKind.ACCEPTED, now=datetime.now(UTC)
        )
    assert result.handoff is not None
    return result.handoff.id


async def measure(url: str, send: Send, requests: int) -> list[float]:
    timings: list[float] = []
    async with SlackDriver(url, SIGNING_SECRET) as driver:
        for i in range(requests + 10):
            started = time.perf_counter()
            response = await send(driver, i)
            elapsed = time.perf_counter() - started
            assert response.status == 200, response.text
            if i >= 10:  # warm-up: first auth.test, first connection, SQLite file creation
                timings.append(elapsed * 1000)
    return timings


def summary(name: str, timings: list[float], baseline: list[float] | None) -> str:
    p50 = statistics.median(timings)
    p95 = statistics.quantiles(timings, n=20)[18]
    line = f"{name:<31} median {p50:6.1f} ms   p95 {p95:6.1f} ms"
    if baseline is not None:
        line += (
            f"   = {p50 / statistics.median(baseline):4.2f}x / "
            f"{p95 / statistics.quantiles(baseline, n=20)[18]:4.2f}x the bare app"
        )
    return line


async def main(requests: int) -> None:
    async with FakeSlack() as slack:
        slack.users[IS_USER] = {"locale": "ja-JP"}
        bare_runner, bare_url = await serve(bare_app(slack))
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                slack_bot_token="xoxb-test",
                slack_signing_secret=SIGNING_SECRET,
                slack_api_url=slack.base_url,
                slack_response_url_origins=f"https://hooks.slack.invalid,{slack.origin}",  # the driver's URLs
                database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
            )
            bot = await build_bot(settings, team_config())
            bot_runner, bot_url = await serve(bot.web_app())
            try:
                submit = submission_sender()
                # Each scenario: the bare app, then tossup, back to back, so both see the same load.
                base_slash = await measure(bare_url, slash, requests)
                bot_slash = await measure(bot_url, slash, requests)
                base_submit = await measure(bare_url, submit, requests)
                bot_submit = await measure(bot_url, submit, requests)
                rate = feedback_sender(await accept_first(bot))
                base_rate = await measure(bare_url, rate, requests)
                bot_rate = await measure(bot_url, rate, requests)
            finally:
                await bot_runner.cleanup()
                await bot.close()
                await bare_runner.cleanup()
    print(f"{requests} signed requests each over loopback; Slack's deadline is 3000 ms")
    print(summary("bare Bolt: /tossup ack", base_slash, None))
    print(summary("tossup:    /tossup ack", bot_slash, base_slash))
    print(summary("bare Bolt: memo submit ack", base_submit, None))
    print(summary("tossup:    memo submit ack", bot_submit, base_submit))
    print(summary("bare Bolt: feedback sheet ack", base_rate, None))
    print(summary("tossup:    feedback sheet ack", bot_rate, base_rate))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200)
    asyncio.run(main(parser.parse_args().requests))
