"""What each `tossup` sub-command does; `bot.cli` parses the command line and imports this module only
once the arguments are read (so `--help`, `--version` and a bad setting answer without loading the bot)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Coroutine
from datetime import date
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.app import EVENTS_PATH, HEALTH_PATH, Bot, build_bot
from bot.config import AppConfig, ConfigError
from bot.delivery import queue_notice_repost, utc_now
from bot.digests import DigestOutcome, DigestStatus, compute_digest, period_of, post_digest
from bot.domain.agenda import WeeklyAgenda
from bot.domain.digest_kind import DigestKind
from bot.domain.kpi import Period, month_before, month_of
from bot.domain.quarterly import QuarterlyReview
from bot.domain.scorecard import parse_scorecard_period
from bot.errors import StartupError
from bot.export import export_from_cli
from bot.i18n import Lang
from bot.preflight import database_problem, port_problem
from bot.scorecards import ScorecardBatch, compute_scorecards, send_scorecards
from bot.settings import Settings, StoreSettings, load_store_settings
from modals.agenda import agenda_as_text
from modals.monthly import review_as_text
from modals.quarterly import quarterly_as_text
from modals.scorecard import overview_as_text, scorecard_as_text
from store.db import DatabaseLocationError, make_engine, make_sessionmaker, migrate, missing_sqlite_file

log = logging.getLogger("tossup")


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
    try:
        await site.start()
    except OSError as exc:  # e.g. the port is taken: one line naming PORT, not a traceback
        await runner.cleanup()
        raise StartupError(port_problem(exc, host=settings.host, port=settings.port)) from exc
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


def settle_heap() -> None:
    """Keep the garbage collector's full scans short once the bot is up: the start-up objects (modules,
    the app and its listeners, the configuration, ~50k) are frozen out of its sight. Unfrozen, every
    scan of the oldest generation walked them all and held the event loop, so every ack in flight,
    for 50-300 ms (bench.load: /tossup p99 at 10 in flight 5-7x the bare app's; frozen 1.2-1.4x). A
    larger young threshold was measured too (5,000, 20,000): no better."""
    gc.collect()
    gc.freeze()


async def run(settings: Settings, config: AppConfig) -> None:
    bot = await build_bot(settings, config)
    try:
        await bot.check_slack()
    except StartupError:
        await bot.close()
        raise
    settle_heap()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        # Stop gracefully (containers send SIGTERM): sends under way finish and are recorded.
        loop.add_signal_handler(signum, stop.set)
    never_started = False
    try:
        await serve(bot, stop=stop)
    except StartupError:  # the port taken, …: its one line says it all, not "stopped" before it
        never_started = True
        raise
    finally:
        await bot.close()
        if not never_started:
            log.info("tossup stopped")


EXIT_REPOST_NOT_FOUND = 1  # `tossup repost <id>` of a number no toss-up has


async def repost(handoff_id: int) -> tuple[int, str]:
    """Queue the notice in the database only (no Slack token needed): the running bot posts it."""
    store_settings = load_store_settings()
    engine = make_engine(store_settings.database_url)
    try:
        await migrate(engine)
        outcome = await queue_notice_repost(make_sessionmaker(engine), handoff_id=handoff_id, now=utc_now())
    finally:
        await engine.dispose()
    tossup = f"toss-up #{handoff_id}"
    return {
        "queued": (0, f"{tossup}: notice queued; the running bot posts it at its next retry poll"),
        "already_posted": (0, f"{tossup}: its notice is already posted; nothing to do"),
        "not_found": (
            EXIT_REPOST_NOT_FOUND,
            f"{tossup}: no such toss-up (its number is in the notice, the IS rep's DMs and the log)",
        ),
    }[outcome]


# Exit codes of `tossup digest`: what happened, for scripts and cron wrappers.
EXIT_OK = 0  # previewed, or posted now
EXIT_QUEUED = 1  # claimed, but Slack has not taken it yet: the running bot's delivery loop retries
EXIT_SETUP = 2  # environment or app.yaml problem (one line names the key)
EXIT_ALREADY_POSTED = 3  # this period was claimed before: nothing posted again
EXIT_NOT_CONFIGURED = 4  # --post without the digest in app.yaml


async def preview_digest(kind: DigestKind, day: date | None, store: StoreSettings, config: AppConfig) -> str:
    engine = make_engine(store.database_url)
    try:
        await migrate(engine)
        now = utc_now()
        period = period_of(kind, day, config, now=now)
        content = await compute_digest(kind, make_sessionmaker(engine), config, period=period, now=now)
    finally:
        await engine.dispose()
    if isinstance(content, WeeklyAgenda):
        return agenda_as_text(content, lang=config.locale, tz=config.tz)
    if isinstance(content, QuarterlyReview):
        return quarterly_as_text(content, lang=config.locale, tz=config.tz, config=config)
    return review_as_text(content, lang=config.locale, tz=config.tz, config=config)


async def post_digest_now(
    kind: DigestKind, day: date | None, settings: Settings, config: AppConfig
) -> DigestOutcome:
    bot = await build_bot(settings, config)
    try:
        now = utc_now()
        return await post_digest(
            kind,
            sessions=bot.services.sessions,
            config=config,
            send_now=bot.delivery.deliver_digests,
            period=period_of(kind, day, config, now=now),
            now=now,
            claimed_by="cli",
        )
    finally:
        await bot.close()


def report_digest(kind: DigestKind, outcome: DigestOutcome) -> tuple[int, str]:
    digest = outcome.digest
    where = f"<#{digest.channel_id}>" if digest else "the channel"
    period = f"{kind} digest of {digest.period_start}" if digest else f"the {kind} digest"
    match outcome.status:
        case DigestStatus.POSTED:
            return EXIT_OK, f"{period}: posted to {where} (ts {digest.lead_ts if digest else '?'})"
        case DigestStatus.QUEUED:
            return EXIT_QUEUED, f"{period}: claimed, but Slack has not taken it yet; the running bot retries"
        case DigestStatus.ALREADY_CLAIMED:
            when = (
                f" at {digest.posted_at:%Y-%m-%d %H:%M} UTC (ts {digest.lead_ts})"
                if digest and digest.posted_at
                else (" (still queued)")
            )
            return EXIT_ALREADY_POSTED, f"{period}: already posted to {where}{when}; nothing posted again"
        case _:
            return (
                EXIT_NOT_CONFIGURED,
                f"digests.{kind} is not set in app.yaml: add {{ channel, cron }} to post",
            )


def _scorecard_period(text: str | None, config: AppConfig) -> Period:
    now = utc_now()
    if text is None:  # the month before this one: what the monthly schedule sends
        return month_before(month_of(now.astimezone(config.tz).date(), config.tz), config.tz)
    period = parse_scorecard_period(text, now=now, tz=config.tz)
    if period is None:
        raise ConfigError(f"--period {text!r}: name a month (2026-11, last) or a quarter (2026-Q3)")
    return period


async def preview_scorecards(text: str | None, store: StoreSettings, config: AppConfig) -> str:
    period = _scorecard_period(text, config)
    engine = make_engine(store.database_url)
    try:
        await migrate(engine)
        cards = await compute_scorecards(make_sessionmaker(engine), config, period=period, now=utc_now())
    finally:
        await engine.dispose()
    lang, tz = config.locale, config.tz
    texts = [overview_as_text(cards.values(), lang=lang, tz=tz, period=period)]
    texts += [scorecard_as_text(card, lang=lang, tz=tz) for card in cards.values() if not card.is_empty]
    return "\n\n".join(texts)


async def post_scorecards(text: str | None, settings: Settings, config: AppConfig) -> ScorecardBatch:
    period = _scorecard_period(text, config)
    bot = await build_bot(settings, config)
    try:
        return await send_scorecards(
            sessions=bot.services.sessions,
            config=config,
            send_now=bot.delivery.deliver_digests,
            period=period,
            now=utc_now(),
            claimed_by="cli",
        )
    finally:
        await bot.close()


def export_csv(
    first: date | None,
    last: date | None,
    *,
    out: Path | None,
    lang: str | None,
    store: StoreSettings,
    config: AppConfig,
) -> int:
    """`tossup export`: the CSV to `out` or standard output; what was written, on standard error."""
    try:
        target = open(out, "wb") if out else contextlib.nullcontext(sys.stdout.buffer)
    except OSError as exc:
        raise StartupError(
            f"--out {out}: {exc.strerror or exc}: name a file in a directory that exists and you may write to"
        ) from exc
    with target as stream:
        result = asyncio.run(
            export_from_cli(
                store.database_url,
                config,
                first=first,
                last=last,
                lang=Lang(lang) if lang else config.locale,
                out=stream,
                now=utc_now(),
            )
        )
        stream.flush()
    if not isinstance(result, tuple):
        print("tossup: export: --from comes after --to", file=sys.stderr)
        return EXIT_SETUP
    period, count = result
    where = out or "standard output"
    days = f"{period.first_day}..{period.last_day}"
    print(
        f"tossup: export: {count:,} toss-up{'' if count == 1 else 's'} of {days} to {where}", file=sys.stderr
    )
    return EXIT_OK


def dispatch(
    args: argparse.Namespace, settings: Settings | StoreSettings | None, config: AppConfig | None
) -> int:
    """Run the sub-command `args` names with the settings `bot.cli` has already read (one line for a
    bad one before the bot was loaded); returns the exit code."""
    try:
        return _dispatch(args, settings, config)
    except DatabaseLocationError as exc:  # commands that open the database without build_bot
        raise StartupError(database_problem(exc, load_store_settings())) from exc


def _require_the_bots_database(database_url: str) -> None:
    """Every command but `tossup run` works on the bot's own database: a SQLite file that is not there
    means this is not where the bot runs (connecting would make an empty one, and a digest posted from
    it would tell the channel nothing happened)."""
    missing = missing_sqlite_file(database_url)
    if missing is not None:
        raise StartupError(
            f"DATABASE_URL: no database at {missing}: run this where `tossup run` runs, "
            "or set DATABASE_URL to the bot's database"
        )


def _dispatch(
    args: argparse.Namespace, settings: Settings | StoreSettings | None, config: AppConfig | None
) -> int:
    if args.command not in (None, "run"):  # no sub-command is `tossup run`: it makes the database
        _require_the_bots_database(settings.database_url if settings else load_store_settings().database_url)
    if args.command == "repost":
        code, line = asyncio.run(repost(args.handoff_id))
        print(f"tossup: {line}", file=sys.stdout if code == 0 else sys.stderr)
        return code
    assert settings is not None and config is not None
    if args.command == "export":
        assert isinstance(settings, StoreSettings)
        return export_csv(args.first, args.last, out=args.out, lang=args.lang, store=settings, config=config)
    if args.command in ("digest", "scorecards") and not args.post:
        assert isinstance(settings, StoreSettings)
        if args.command == "digest":
            print(asyncio.run(preview_digest(DigestKind(args.kind), args.period, settings, config)))
        else:
            print(asyncio.run(preview_scorecards(args.period, settings, config)))
        return EXIT_OK
    assert isinstance(settings, Settings)
    if args.command == "digest":
        kind = DigestKind(args.kind)
        code, line = report_digest(kind, asyncio.run(post_digest_now(kind, args.period, settings, config)))
        print(f"tossup: {line}", file=sys.stdout if code == EXIT_OK else sys.stderr)
        return code
    if args.command == "scorecards":
        batch = asyncio.run(post_scorecards(args.period, settings, config))
        print(f"tossup: scorecards: {batch.sent} sent now, {batch.already} sent before (not again)")
        return EXIT_OK
    asyncio.run(run(settings, config))
    return EXIT_OK
