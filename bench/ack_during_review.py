"""Does building the monthly review (the heaviest read, with its two charts) hold up everyone else's acks?

Seeds the bot's own SQLite database with `--size` toss-ups over two years (bench.digest's generator),
serves the real bot on loopback against the fake Slack, and times `/tossup` acks twice in the same run:
idle, then while the monthly review of the last complete month and its charts are built again and again in
the same process (as the scheduler would). Reports p50 / p99 and the busy / idle ratio (target: p99 ≤ 1.5×).

    .venv/bin/python -m bench.ack_during_review [--size 100000] [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.ack_latency import measure, serve, slash
from bench.digest import bench_config, friday_morning, seed
from bot import charts
from bot.app import build_bot
from bot.digests import compute_monthly_review
from bot.domain.kpi import month_before, month_of, week_of
from bot.settings import Settings
from modals.monthly import kpi_chart_data, score_chart_data
from store.db import for_reading
from tests.conftest import IS_USER, SIGNING_SECRET
from tests.fake_slack import FakeSlack

BUSY_BUILDS = 3  # builds of the review (with its charts) the busy phase lasts at least


def p99(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=100)[98]


async def main(size: int, requests: int) -> None:
    config = bench_config()
    async with FakeSlack() as slack:
        slack.users[IS_USER] = {"locale": "ja-JP"}
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                slack_bot_token="xoxb-test",
                slack_signing_secret=SIGNING_SECRET,
                slack_api_url=slack.base_url,
                slack_response_url_origins=f"https://hooks.slack.invalid,{slack.origin}",  # the driver's URLs
                database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
            )
            bot = await build_bot(settings, config)
            now = friday_morning(week_of(datetime.now(UTC).astimezone(config.tz).date(), config.tz), config)
            seeded = await seed(
                bot.engine, size, now=now, config=config, rng=random.Random(8), span_days=730, stale=0.01
            )
            print(f"{size:,} toss-ups seeded in {seeded.seconds:.1f} s", flush=True)
            month = month_before(month_of(now.astimezone(config.tz).date(), config.tz), config.tz)
            runner, url = await serve(bot.web_app())
            builds: list[float] = []

            reads = for_reading(bot.services.sessions)  # as the scheduler reads it (bot/digests.py)

            async def review_forever() -> None:
                lang = config.locale
                while True:
                    started = asyncio.get_running_loop().time()
                    review = await compute_monthly_review(reads, config, month=month, now=now)
                    score, kpi = score_chart_data(review, lang=lang), kpi_chart_data(review, lang=lang)
                    await charts.render(charts.score_trend_chart, lang=lang, **score)  # type: ignore[arg-type]
                    await charts.render(charts.kpi_chart, lang=lang, **kpi)  # type: ignore[arg-type]
                    builds.append((asyncio.get_running_loop().time() - started) * 1000)

            try:
                idle = await measure(url, slash, requests)
                busy_task = asyncio.create_task(review_forever())
                await asyncio.sleep(0.2)
                busy: list[float] = []
                # At least `requests` acks and at least BUSY_BUILDS whole builds: acks answered at once can
                # all be done before one build of the review at 100k is.
                while len(busy) < requests or len(builds) < BUSY_BUILDS:
                    busy += await measure(url, slash, 50)
                busy_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await busy_task
            finally:
                await runner.cleanup()
                await bot.close()
    ratio = p99(busy) / p99(idle)
    print(
        f"/tossup ack, idle:                 p50 {statistics.median(idle):6.1f} ms   p99 {p99(idle):6.1f} ms"
    )
    print(
        f"/tossup ack, review being built:   p50 {statistics.median(busy):6.1f} ms   p99 {p99(busy):6.1f} ms"
    )
    built = statistics.median(builds or [0])
    print(
        f"monthly review + charts built {len(builds)} times while {len(busy)} acks were timed, "
        f"median {built:.0f} ms"
    )
    print(f"p99 busy / idle = {ratio:.2f}x (target <= 1.5x): {'met' if ratio <= 1.5 else 'NOT met'}")
    print(f"reproduce: .venv/bin/python -m bench.ack_during_review --size {size} --requests {requests}")


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.size, arguments.requests))


if __name__ == "__main__":
    cli()
