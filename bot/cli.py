"""`tossup` command line: `tossup run` starts the bot; `tossup check` only validates the set-up."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Coroutine, Sequence
from typing import Any

from aiohttp import web

from bot.app import EVENTS_PATH, HEALTH_PATH, Bot, StartupError, build_bot
from bot.config import AppConfig, ConfigError, load_config
from bot.delivery import queue_notice_repost, utc_now
from bot.settings import Settings, SettingsError, load_settings
from store.db import make_engine, make_sessionmaker, migrate

log = logging.getLogger("tossup")


def _load() -> tuple[Settings, AppConfig]:
    settings = load_settings()
    return settings, load_config(settings.tossup_config)


async def _until_stopped(work: Coroutine[Any, Any, object], stop: asyncio.Event) -> bool:
    """Run `work` unless `stop` is set first (then `work` is cancelled); True when `work` finished."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if task.done():
        task.result()
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return False


async def serve(bot: Bot, *, stop: asyncio.Event | None = None) -> None:
    """Serve until cancelled (or `stop` is set): HTTP events or Socket Mode, plus the retry loop."""
    settings = bot.settings
    stop = stop or asyncio.Event()
    runner = web.AppRunner(bot.web_app())
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    socket_handler = None
    try:
        if settings.socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            socket_handler = AsyncSocketModeHandler(bot.app, settings.slack_app_token)
            if not await _until_stopped(socket_handler.connect_async(), stop):
                return  # stopped while still connecting
            log.info("tossup is up in Socket Mode (health on :%s%s)", settings.port, HEALTH_PATH)
        else:
            log.info(
                "tossup is up: Slack posts to :%s%s (health on %s)", settings.port, EVENTS_PATH, HEALTH_PATH
            )
        async with bot.background():
            await stop.wait()
    finally:
        if socket_handler is not None:
            await socket_handler.close_async()
        await runner.cleanup()


async def _run() -> None:
    settings, config = _load()
    bot = await build_bot(settings, config)
    try:
        await bot.check_slack()
    except StartupError:
        await bot.close()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        # Stop gracefully (containers send SIGTERM): sends under way finish and are recorded.
        loop.add_signal_handler(signum, stop.set)
    try:
        await serve(bot, stop=stop)
    finally:
        await bot.close()
        log.info("tossup stopped")


async def _repost(handoff_id: int) -> str:
    settings = load_settings()
    engine = make_engine(settings.database_url)
    try:
        await migrate(engine)
        outcome = await queue_notice_repost(make_sessionmaker(engine), handoff_id=handoff_id, now=utc_now())
    finally:
        await engine.dispose()
    return {
        "queued": f"toss-up {handoff_id}: notice queued; the running bot posts it at its next retry poll",
        "already_posted": f"toss-up {handoff_id}: its notice is already posted; nothing to do",
        "not_found": f"toss-up {handoff_id}: no such toss-up",
    }[outcome]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tossup", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="start the bot (the default)")
    sub.add_parser("check", help="validate the environment and app.yaml, then exit")
    repost = sub.add_parser("repost", help="post a toss-up's notice again after Slack refused it for good")
    repost.add_argument(
        "handoff_id", type=int, help="the toss-up's number (in the bot's log and the database)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "check":
            _, config = _load()
            print(f"tossup: configuration OK (notices go to {config.channels.fs}, language {config.locale})")
            return 0
        if args.command == "repost":
            print(f"tossup: {asyncio.run(_repost(args.handoff_id))}")
            return 0
        asyncio.run(_run())
    except (SettingsError, ConfigError, StartupError) as exc:
        print(f"tossup: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
