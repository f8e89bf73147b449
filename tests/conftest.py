"""Shared fixtures: a fake Slack over the wire, the real bot on a loopback port, a signed driver."""

from __future__ import annotations

import gc
import inspect
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from bot.app import Bot, build_bot
from bot.config import AppConfig
from bot.delivery import Delivery
from bot.settings import Settings
from tests import db_fixtures
from tests.db_fixtures import *  # noqa: F403  (session_factory and database fixtures for both backends)
from tests.db_fixtures import POSTGRES_UNREACHABLE, drop_database, fresh_database
from tests.fake_slack import FakeSlack
from tests.scheduling import long_tests_first
from tests.slack_driver import SlackDriver

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
FS_CHANNEL = "C0FSCHAN"
IS_USER = "U0IS"
FS_USER = "U0FS"
OTHER_USER = "U0OTHER"
MANAGER = "U0MANAGER"


class Clock:
    """A clock the tests move by hand: retries and deadlines without sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def team_config(**overrides: object) -> AppConfig:
    data: dict[str, object] = {"locale": "ja", "timezone": "Asia/Tokyo", "channels": {"fs": FS_CHANNEL}}
    data.update(overrides)
    return AppConfig.model_validate(data)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: two workers per core (at most 8). Many tests wait on real timeouts, subprocesses and
    sockets, so a core has room for a second worker (measured on 2 cores: 136 s with 2, 122 s with 4;
    after the CPU cuts of 2026-12-03: 78 s with 4, 81 s with 5, 88 s with 6, 102 s with 3)."""
    return min(8, 2 * (os.cpu_count() or 1))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "takes(seconds): a long test (mostly waiting on real timers), started first on its worker"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, the `takes` tests start first, on the workers beyond the cores (tests/scheduling.py);
    every worker computes the same order from the same collection, as xdist requires."""

    def seconds_of(item: pytest.Item) -> float | None:
        marker = item.get_closest_marker("takes")
        return float(marker.args[0]) if marker else None

    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    cores = os.cpu_count() or 1
    lanes = workers - cores if workers > cores else workers  # while they wait, the cores stay busy
    items[:] = long_tests_first(items, seconds_of, workers, lanes)


def pytest_collection_finish(session: pytest.Session) -> None:
    """What a test process holds once every test module is imported (~150k objects: the bot, Bolt,
    SQLAlchemy, hypothesis) is frozen out of the collector's full scans, as `tossup run` does
    (bot.commands.settle_heap): each full collection walked all of it again (measured: ~10 % of the suite's
    CPU; 169-182 s of CPU with the freeze against 192-204 s without, alternating runs)."""
    gc.collect()
    gc.freeze()


SKIP_LINE = inspect.getsourcelines(db_fixtures.unreachable_postgres)[1]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Every test skipped for want of PostgreSQL is reported at one place, so `-ra` folds them into one
    line ("SKIPPED [73] tests/db_fixtures.py: PostgreSQL not reachable …") instead of one per test."""
    outcome = yield
    report = outcome.get_result()
    longrepr = report.longrepr
    if report.skipped and isinstance(longrepr, tuple) and POSTGRES_UNREACHABLE in longrepr[2]:
        report.longrepr = (db_fixtures.__file__, SKIP_LINE, longrepr[2])


@dataclass
class Harness:
    slack: FakeSlack
    bot: Bot
    driver: SlackDriver
    clock: Clock
    url: str

    def other_replica(self, **settings: Any) -> Delivery:
        """The delivery of another replica on the same database and Slack (its own owner, leases and
        in-process bookkeeping); `settings`: its clock, lease…; the harness's clock by default."""
        services = self.bot.services
        return Delivery(
            client=self.bot.delivery.client,
            sessions=services.sessions,
            config=services.config,
            users=services.users,
            **{"clock": self.clock, **settings},
        )

    async def ask(self, text: str, *, user_id: str, channel_id: str = "C0GENERAL") -> dict[str, Any]:
        """`/tossup <text>`'s private answer: the ack's own, or what replaced its "computing…" note."""
        fields = self.driver.slash_fields(text, user_id=user_id, channel_id=channel_id)
        acked = (await self.driver.send_form(fields)).json()
        assert acked is not None and acked["response_type"] == "ephemeral", acked
        if not acked["text"].startswith("⏳"):
            return dict(acked)
        url_id = fields["response_url"].rsplit("/", 1)[-1]
        (answer,) = await self.slack.wait_for(
            "response_url", where=lambda call: call.args["response_url_id"] == url_id
        )
        assert answer.args.get("replace_original") is True, answer.args
        return dict(answer.args)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    fake.users.update(
        {
            # Everyone in the team's zone unless a test moves them (each person sees times in their own).
            IS_USER: {"locale": "ja-JP", "tz": "Asia/Tokyo", "real_name": "井上 IS"},
            FS_USER: {"locale": "en-US", "tz": "Asia/Tokyo", "real_name": "Fiona FS"},
            OTHER_USER: {"locale": "en-US", "tz": "Asia/Tokyo", "real_name": "Oscar Other"},
            MANAGER: {"locale": "ja-JP", "tz": "Asia/Tokyo", "real_name": "真壁 Manager"},
        }
    )
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
def config() -> AppConfig:
    """Override in a test module (or parametrize) for other team settings."""
    return team_config(roles={"managers": [MANAGER]})


@pytest.fixture
def backend() -> str:
    """The database the bot runs on; parametrize `backend` with "postgresql" to run a test there too."""
    return "sqlite"


@pytest.fixture
async def harness(slack: FakeSlack, tmp_path, config: AppConfig, backend: str) -> AsyncIterator[Harness]:
    port = free_port()
    # Migrated already (SQLite: a copy of one migrated file); the bot's own migration at start is then a
    # no-op here, and is tested from an empty database in tests/test_store.py and tests/test_cli.py.
    database_url = await fresh_database(backend, tmp_path, migrated=True)
    settings = Settings(
        slack_bot_token="xoxb-test",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.base_url,
        slack_response_url_origins=slack.origin,
        database_url=database_url,
        port=port,
        host="127.0.0.1",
    )
    clock = Clock()
    bot = await build_bot(settings, config, clock=clock)
    runner = web.AppRunner(bot.web_app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}"
    driver = SlackDriver(url, SIGNING_SECRET, response_url_base=slack.response_url_base)
    try:
        yield Harness(slack=slack, bot=bot, driver=driver, clock=clock, url=url)
    finally:
        await driver.close()
        await runner.cleanup()
        await bot.close()
        await drop_database(database_url)
