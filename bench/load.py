"""Acks under concurrency and sustained memo submissions: tossup against a bare Bolt app, in one run.

Both servers run as their own process (`python -m bot run`; `python -m bench.bare_app`) against the same
fake Slack over loopback, and receive the same signed requests: `/tossup` (ack + views.open) and a valid
memo submission (ack, then the notice and the DMs). For 1, 10 and 50 requests in flight it prints ack p50
and p99 as ratios of the bare app's, the submissions acked per second, and errors (any answer that is not
a plain 200 ack). tossup runs on SQLite, and on the local PostgreSQL with two replicas sharing the load.

    .venv/bin/python -m bench.load                      # SQLite and PostgreSQL, 300 requests per step
    .venv/bin/python -m bench.load --requests 5 --concurrency 1,2   # the CI smoke size (no timing)
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.domain.memo import MemoField
from modals.ids import CallbackId
from modals.metadata import MemoModalMeta, dump_meta
from tests.conftest import FS_USER, IS_USER, SIGNING_SECRET, free_port
from tests.db_fixtures import drop_database, fresh_database
from tests.fake_slack import FakeSlack
from tests.memo_state import full_memo_answers, memo_state
from tests.slack_driver import Response, SlackDriver

FS_CHANNEL = "C0FS"
CONFIG = f"""locale: ja
timezone: Asia/Tokyo
channels: {{ fs: {FS_CHANNEL} }}
"""
CONCURRENCY = (1, 10, 50)
POSTS_PER_SUBMISSION = 3  # tossup: the notice, its DM copy to the FS rep, the IS rep's confirmation


@dataclass
class Server:
    """A server process under load: one or more replicas (URLs served round-robin)."""

    name: str
    processes: list[asyncio.subprocess.Process]
    urls: list[str]

    async def stop(self) -> None:
        for process in self.processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()


def _tail(log: Path) -> str:
    return log.read_bytes()[-2000:].decode(errors="replace")


async def _up(url: str, process: asyncio.subprocess.Process, log: Path) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise SystemExit(f"{url}: the server exited with {process.returncode}: {_tail(log)}")
            try:
                async with session.get(url + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"{url}: the server did not come up")


async def _spawn(
    args: Sequence[str], env: dict[str, str], cwd: Path
) -> tuple[asyncio.subprocess.Process, str]:
    port = free_port()
    log = cwd / f"server-{port}.log"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        *([] if args[1] == "bot" else ["--port", str(port)]),
        env={**env, "PORT": str(port), "HOST": "127.0.0.1"},
        cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    await _up(url, process, log)
    return process, url


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TOSSUP_", "DATABASE_URL"))}
    return {**env, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}  # bench.bare_app from any cwd


async def bare_server(slack: FakeSlack, cwd: Path) -> Server:
    process, url = await _spawn(
        [
            "-m",
            "bench.bare_app",
            "--slack-api-url",
            slack.base_url,
            "--token",
            slack.bot_token,
            "--signing-secret",
            SIGNING_SECRET,
        ],
        _clean_env(),
        cwd,
    )
    return Server("bare Bolt", [process], [url])


async def tossup_server(slack: FakeSlack, cwd: Path, database_url: str, replicas: int) -> Server:
    config = cwd / "app.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    env = {
        **_clean_env(),
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.base_url,
        "SLACK_RESPONSE_URL_ORIGINS": slack.origin,
        "DATABASE_URL": database_url,
        "TOSSUP_CONFIG": str(config),
        "LOG_LEVEL": "WARNING",
    }
    started = [await _spawn(["-m", "bot", "run"], env, cwd) for _ in range(replicas)]
    backend = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    name = f"tossup {backend}" + (f" ×{replicas}" if replicas > 1 else "")
    return Server(name, [p for p, _ in started], [u for _, u in started])


Send = Callable[[SlackDriver, int], Awaitable[Response]]
_serial = itertools.count()


async def slash(driver: SlackDriver, _: int) -> Response:
    return await driver.slash("Acme Corp", user_id=IS_USER)


def submit_sender() -> Send:
    meta = dump_meta(MemoModalMeta.model_validate({"channel_id": "C0GENERAL", "lang": "ja"}))
    now = datetime.now(UTC)
    answers = full_memo_answers(
        meeting_at=now.replace(microsecond=0) + timedelta(days=3),
        first_contact_on=(now - timedelta(days=10)).date(),
        fs_user_id=FS_USER,
    )

    async def send(driver: SlackDriver, _: int) -> Response:
        serial = next(_serial)  # a new modal each time, for another company: a new toss-up
        values = memo_state({**answers, MemoField.COMPANY: f"Company {serial:08d}"})
        return await driver.view_submission(
            CallbackId.HANDOFF_MEMO,
            values,
            user_id=IS_USER,
            view_id=f"VLOAD{serial:08d}",
            private_metadata=meta,
        )

    return send


@dataclass
class Step:
    latencies_ms: list[float]
    errors: int
    seconds: float
    first_error: str = ""

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p99(self) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds


def _is_error(response: Response) -> bool:
    # A plain ack is 200 with an empty body; "errors" would be the bot refusing a valid memo.
    return response.status != 200 or "errors" in response.text


async def load(server: Server, send: Send, *, requests: int, concurrency: int, slack: FakeSlack) -> Step:
    # response_urls on the fake Slack's origin, which tossup allows as it allows Slack's own hosts (any
    # other is dropped with a warning per request: a cost Slack's real requests never bring)
    drivers = [
        SlackDriver(url, SIGNING_SECRET, response_url_base=slack.response_url_base) for url in server.urls
    ]
    for driver in drivers:
        await driver.__aenter__()
    try:
        for i in range(5):  # warm-up: connections, the first auth.test, caches
            await send(drivers[i % len(drivers)], i)
        latencies: list[float] = []
        errors = 0
        first_error = ""
        queue = iter(range(requests))

        async def worker(w: int) -> None:
            nonlocal errors, first_error
            for i in queue:
                # By the request's number alone: (w + i) was always even when the workers moved in step
                # (worker w taking request w, w + c, …), so one replica got every request.
                driver = drivers[i % len(drivers)]
                started = time.perf_counter()
                try:
                    response = await send(driver, i)
                    answer = f"{response.status} {response.text}" if _is_error(response) else ""
                except aiohttp.ClientError as exc:
                    answer = repr(exc)
                latencies.append((time.perf_counter() - started) * 1000)
                errors += bool(answer)
                first_error = first_error or answer[:300]

        began = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        return Step(latencies, errors, time.perf_counter() - began, first_error)
    finally:
        for driver in drivers:
            await driver.__aexit__(None, None, None)


async def drained(slack: FakeSlack, expected_posts: int, limit_s: float = 120.0) -> float:
    """Seconds until the fake Slack holds `expected_posts` chat.postMessage calls (the post-ack work)."""
    began = time.perf_counter()
    while len(slack.calls_to("chat.postMessage")) < expected_posts:
        if time.perf_counter() - began > limit_s:
            return float("inf")
        await asyncio.sleep(0.05)
    return time.perf_counter() - began


def ratio(value: float, base: float) -> str:
    return f"{value / base:5.2f}×" if base else "  n/a"


async def run(
    requests: int, backends: Sequence[str], only: str | None = None, concurrency: Sequence[int] = CONCURRENCY
) -> None:
    rows: list[str] = []
    async with FakeSlack() as slack:
        slack.users.update({IS_USER: {"locale": "ja-JP"}, FS_USER: {"locale": "ja-JP"}})
        with tempfile.TemporaryDirectory() as tmp:
            cwd = Path(tmp)
            bare = await bare_server(slack, cwd)  # no database: the same baseline for every backend
            try:
                for backend in backends:
                    try:
                        rows += await run_backend(slack, cwd, bare, backend, requests, only, concurrency)
                    except pytest.skip.Exception as unreachable:  # no PostgreSQL here: say so, go on
                        rows.append(f"{backend}: not measured: {unreachable.msg}")
                        print(rows[-1], flush=True)
            finally:
                await bare.stop()
    print(f"\n{requests} requests per step; ratios are tossup / the bare app in the same run")
    print("\n".join(rows))


async def run_backend(
    slack: FakeSlack,
    cwd: Path,
    bare: Server,
    backend: str,
    requests: int,
    only: str | None,
    concurrency: Sequence[int],
) -> list[str]:
    """Each kind of request at each concurrency, the bare app then tossup on `backend` back to back."""
    rows: list[str] = []
    replicas = 2 if backend == "postgresql" else 1
    database_url = await fresh_database(backend, cwd)
    tossup = await tossup_server(slack, cwd, database_url, replicas)
    try:
        kinds = (("/tossup", slash), ("memo submit", submit_sender()))
        for kind, send in [k for k in kinds if only is None or k[0] == only]:
            for in_flight in concurrency:
                # Back to back so both see the same machine; each starts with Slack drained.
                base = await load(bare, send, requests=requests, concurrency=in_flight, slack=slack)
                posts_before = len(slack.calls_to("chat.postMessage"))
                mine = await load(tossup, send, requests=requests, concurrency=in_flight, slack=slack)
                tail = ""
                if kind == "memo submit":
                    expected = posts_before + (requests + 5) * POSTS_PER_SUBMISSION
                    tail = f"  all posted {await drained(slack, expected):5.1f} s after"
                rows.append(
                    f"{tossup.name:<20} {kind:<12} c={in_flight:<3} "
                    f"p50 {mine.p50:7.1f} ms {ratio(mine.p50, base.p50)}  "
                    f"p99 {mine.p99:7.1f} ms {ratio(mine.p99, base.p99)}  "
                    f"{mine.rate:7.1f}/s ({ratio(mine.rate, base.rate)} of {base.rate:6.1f}/s)  "
                    f"errors {mine.errors} (bare {base.errors}){tail}"
                )
                print(rows[-1], flush=True)
                if mine.first_error:
                    print(f"  first error: {mine.first_error}", flush=True)
    finally:
        await tossup.stop()
        await drop_database(database_url)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--only", choices=["/tossup", "memo submit"], help="one kind of request")
    parser.add_argument("--concurrency", default=",".join(map(str, CONCURRENCY)), help="requests in flight")
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    concurrency = [int(c) for c in args.concurrency.split(",") if c.strip()]
    asyncio.run(run(args.requests, backends, args.only, concurrency))


if __name__ == "__main__":
    main()
