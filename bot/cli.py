"""`tossup` command line: `tossup run` starts the bot; `tossup check` only validates the set-up;
`tossup digest weekly|monthly [--period YYYY-MM-DD] [--post]` previews (or posts) a week's meeting agenda
or a month's review."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Coroutine, Sequence
from datetime import date
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.app import EVENTS_PATH, HEALTH_PATH, Bot, StartupError, build_bot
from bot.config import AppConfig, ConfigError, load_config
from bot.delivery import queue_notice_repost, utc_now
from bot.digests import DigestKind, DigestOutcome, DigestStatus, compute_digest, period_of, post_digest
from bot.domain.agenda import WeeklyAgenda
from bot.domain.kpi import Period, month_before, month_of
from bot.domain.quarterly import QuarterlyReview
from bot.domain.scorecard import parse_scorecard_period
from bot.export import export_from_cli
from bot.i18n import Lang
from bot.logs import setup_logging
from bot.preflight import database_problem, port_problem, run_check
from bot.scorecards import ScorecardBatch, compute_scorecards, send_scorecards
from bot.settings import Settings, SettingsError, load_log_settings, load_settings, load_store_settings
from modals.agenda import agenda_as_text
from modals.monthly import review_as_text
from modals.quarterly import quarterly_as_text
from modals.scorecard import overview_as_text, scorecard_as_text
from store.db import DatabaseLocationError, make_engine, make_sessionmaker, migrate

log = logging.getLogger("tossup")


def _load() -> tuple[Settings, AppConfig]:
    settings = load_settings()
    config = load_config(settings.tossup_config)
    for warning in config.scorecards.warnings():  # allowed, but outside what the method advises
        print(f"tossup: warning: {warning}", file=sys.stderr)
    return settings, config


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


EXIT_REPOST_NOT_FOUND = 1  # `tossup repost <id>` of a number no toss-up has


async def _repost(handoff_id: int) -> tuple[int, str]:
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


async def _preview(kind: DigestKind, day: date | None) -> str:
    store_settings = load_store_settings()
    config = load_config(store_settings.tossup_config)
    engine = make_engine(store_settings.database_url)
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


async def _post(kind: DigestKind, day: date | None) -> DigestOutcome:
    settings, config = _load()
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


def _report(kind: DigestKind, outcome: DigestOutcome) -> tuple[int, str]:
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


async def _preview_scorecards(text: str | None) -> str:
    store_settings = load_store_settings()
    config = load_config(store_settings.tossup_config)
    period = _scorecard_period(text, config)
    engine = make_engine(store_settings.database_url)
    try:
        await migrate(engine)
        cards = await compute_scorecards(make_sessionmaker(engine), config, period=period, now=utc_now())
    finally:
        await engine.dispose()
    lang, tz = config.locale, config.tz
    texts = [overview_as_text(cards.values(), lang=lang, tz=tz, period=period)]
    texts += [scorecard_as_text(card, lang=lang, tz=tz) for card in cards.values() if not card.is_empty]
    return "\n\n".join(texts)


async def _post_scorecards(text: str | None) -> ScorecardBatch:
    settings, config = _load()
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


def _export_csv(first: date | None, last: date | None, *, out: Path | None, lang: str | None) -> int:
    """`tossup export`: the CSV to `out` or standard output; what was written, on standard error."""
    store_settings = load_store_settings()
    config = load_config(store_settings.tossup_config)
    with open(out, "wb") if out else contextlib.nullcontext(sys.stdout.buffer) as stream:
        result = asyncio.run(
            export_from_cli(
                store_settings.database_url,
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
    print(f"tossup: export: {count} toss-ups of {days} to {where}", file=sys.stderr)
    return EXIT_OK


def _period_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-12-04") from exc


def _version() -> str:
    try:
        return package_version("tossup")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tossup", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="start the bot (the default)")
    check = sub.add_parser(
        "check", help="check the environment, app.yaml, the database and Slack (tokens, channels), then exit"
    )
    check.add_argument("--offline", action="store_true", help="check the settings' format only")
    repost = sub.add_parser("repost", help="post a toss-up's notice again after Slack refused it for good")
    repost.add_argument(
        "handoff_id", type=int, help="the toss-up's number: #123 in the notice, the IS rep's DMs and the log"
    )
    digest = sub.add_parser("digest", help="preview a digest as text, or post it now (--post)")
    digest.add_argument("kind", choices=[k.value for k in DigestKind], help="which digest")
    digest.add_argument(
        "--period",
        type=_period_day,
        metavar="YYYY-MM-DD",
        help="any day of the week or month (default: this week; for monthly, last month)",
    )
    digest.add_argument(
        "--post", action="store_true", help="post it to the configured channel now (once per week, ever)"
    )
    cards = sub.add_parser("scorecards", help="preview the reps' scorecards, or DM them now (--post)")
    cards.add_argument("--period", metavar="PERIOD", help="a month (2026-11, last) or a quarter (2026-Q3)")
    cards.add_argument("--post", action="store_true", help="DM each rep theirs and managers all (once, ever)")
    export = sub.add_parser("export", help="the toss-ups of a period as CSV (UTF-8 with BOM, for Excel)")
    export.add_argument("--from", dest="first", type=_period_day, metavar="YYYY-MM-DD", help="first day")
    export.add_argument("--to", dest="last", type=_period_day, metavar="YYYY-MM-DD", help="last day")
    export.add_argument("--out", type=Path, metavar="FILE", help="write to FILE (default: standard output)")
    export.add_argument("--lang", choices=[lang.value for lang in Lang], help="headers (default: app.yaml)")
    args = parser.parse_args(argv)
    try:
        setup_logging(load_log_settings())
        if args.command == "check":
            return run_check(offline=args.offline)
        if args.command == "digest":
            if not args.post:
                print(asyncio.run(_preview(DigestKind(args.kind), args.period)))
                return EXIT_OK
            kind = DigestKind(args.kind)
            code, line = _report(kind, asyncio.run(_post(kind, args.period)))
            print(f"tossup: {line}", file=sys.stdout if code == EXIT_OK else sys.stderr)
            return code
        if args.command == "scorecards":
            if not args.post:
                print(asyncio.run(_preview_scorecards(args.period)))
                return EXIT_OK
            batch = asyncio.run(_post_scorecards(args.period))
            print(f"tossup: scorecards: {batch.sent} sent now, {batch.already} sent before (not again)")
            return EXIT_OK
        if args.command == "export":
            return _export_csv(args.first, args.last, out=args.out, lang=args.lang)
        if args.command == "repost":
            code, line = asyncio.run(_repost(args.handoff_id))
            print(f"tossup: {line}", file=sys.stdout if code == 0 else sys.stderr)
            return code
        asyncio.run(_run())
    except (SettingsError, ConfigError, StartupError) as exc:
        for line in str(exc).splitlines():  # app.yaml: one line per problem
            print(f"tossup: {line}", file=sys.stderr)
        return 2
    except DatabaseLocationError as exc:  # commands that open the database without build_bot
        print(f"tossup: {database_problem(exc, load_store_settings())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
