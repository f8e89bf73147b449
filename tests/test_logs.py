"""Logs an operator can live with: the bot's own lines at INFO, the libraries' chatter (scheduler ticks,
access lines, Bolt, migrations) only from WARNING, `LOG_LEVEL` / `LOG_LIBRARY_LEVEL` to change either, and
`LOG_FORMAT=json` for log shippers; plus `tossup --version`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import signal
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import aiohttp

from bot.logs import BOLT_TOKEN_WARNING, LIBRARY_LOGGERS, SLACK_CLIENT_LOGGER, JsonFormatter
from bot.slack import make_client
from tests.cli_process import start_cold
from tests.fake_slack import FakeSlack
from tests.test_cli import run_cli, slack_env, write_config

# A weekly digest makes the scheduler run a job at start (its catch-up), so there is chatter to hide.
DIGEST = 'digests:\n  weekly: { channel: C0MEETING, cron: "0 9 * * FRI" }\n'
TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ")


async def run_bot_until(env: dict[str, str], cwd: Path, seen: Callable[[str], bool]) -> list[str]:
    """Start `python -m bot run`, ask /healthz once, stop it with SIGTERM after a stderr line satisfies
    `seen`; every stderr line."""
    process = await start_cold("run", env=env, cwd=cwd)
    stderr = process.stderr
    assert stderr is not None
    lines: list[str] = []
    found, ended = asyncio.Event(), asyncio.Event()

    async def read() -> None:  # all along, so a chatty bot never blocks on a full pipe
        while line := (await stderr.readline()).decode():
            lines.append(line.rstrip("\n"))
            if seen(lines[-1]):
                found.set()
        ended.set()

    reader = asyncio.create_task(read())
    waiters = [asyncio.create_task(found.wait()), asyncio.create_task(ended.wait())]
    try:
        with contextlib.suppress(TimeoutError):  # then the assertion below shows what the bot said
            async with asyncio.timeout(60), aiohttp.ClientSession() as session:
                while not ended.is_set():  # one request: aiohttp would log an access line
                    with contextlib.suppress(aiohttp.ClientError):
                        async with session.get(f"http://127.0.0.1:{env['PORT']}/healthz") as response:
                            if response.status == 200:
                                break
                    await asyncio.sleep(0.1)
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
        await reader
    assert found.is_set() and process.returncode == 0, "\n".join(lines)
    return lines


async def test_by_default_only_the_bots_own_lines_show(slack: FakeSlack, tmp_path: Path) -> None:
    env = slack_env(slack, tmp_path)
    write_config(tmp_path / "app.yaml", extra=DIGEST)
    lines = await run_bot_until(env, tmp_path, lambda line: "weekly digest:" in line)
    text = "\n".join(lines)
    assert all(TEXT_LINE.match(line) for line in lines), text
    assert " INFO tossup: tossup is up" in text and " INFO bot.scheduler: weekly digest:" in text
    assert " INFO tossup: tossup stopped" in text
    for chatter in ("apscheduler", "aiohttp.access", "slack_bolt", "slack_sdk", "sqlalchemy", "alembic"):
        assert chatter not in text, text
    assert "will be unused" not in text  # Bolt's warning at every start


async def test_json_lines_and_the_two_levels(slack: FakeSlack, tmp_path: Path) -> None:
    env = slack_env(slack, tmp_path, LOG_FORMAT="JSON", LOG_LEVEL="warning", LOG_LIBRARY_LEVEL="info")
    write_config(tmp_path / "app.yaml", extra=DIGEST)
    lines = await run_bot_until(env, tmp_path, lambda line: "executed successfully" in line)
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(set(record) == {"time", "level", "logger", "message"} for record in records), lines
    loggers = {record["logger"] for record in records}
    libraries = {"apscheduler.executors.default", "alembic.runtime.migration", "aiohttp.access"}
    assert libraries <= loggers, loggers  # at INFO, as asked
    assert not any(name == "tossup" or name.startswith("bot.") for name in loggers)  # ours at WARNING
    assert "will be unused" not in "\n".join(lines)  # dropped whatever the level


def test_a_json_record_keeps_its_traceback_on_one_line() -> None:
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        record = logging.LogRecord(
            "bot.delivery", logging.ERROR, __file__, 1, "送信失敗 %s", ("#7",), sys.exc_info()
        )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert (
        entry["level"] == "ERROR" and entry["logger"] == "bot.delivery" and entry["message"] == "送信失敗 #7"
    )
    assert entry["exc_info"].startswith("Traceback") and "ZeroDivisionError" in entry["exc_info"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", entry["time"])


def test_a_bad_log_setting_is_one_line_naming_it(tmp_path: Path) -> None:
    result = run_cli("run", env={"LOG_LEVEL": "loud", "LOG_FORMAT": "json"}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "tossup: LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got 'loud')"
    ]


def test_version_comes_from_the_package_metadata(tmp_path: Path) -> None:
    result = run_cli("--version", env={}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"tossup {version('tossup')}"


def test_the_dropped_bolt_warning_is_bolts_own_text() -> None:
    from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

    assert BOLT_TOKEN_WARNING == warning_client_prioritized_and_token_skipped()


def test_the_slack_clients_logger_has_a_level_of_its_own_as_slack_sdk_reads_only_that() -> None:
    """slack_sdk formats its debug lines (whole bodies) whenever its client logger's own level is NOTSET,
    whatever the effective level: the client is given that logger with the level it inherits."""
    logger = logging.getLogger(SLACK_CLIENT_LOGGER)
    root = logging.getLogger()
    saved = logger.level, root.level
    try:
        for inherited in (logging.WARNING, logging.DEBUG):  # a DEBUG set-up still gets its debug lines
            logger.setLevel(logging.NOTSET)
            root.setLevel(inherited)
            client = make_client(token="xoxb-test", base_url="http://127.0.0.1:9/api/")
            assert client.logger is logger
            assert logger.level == inherited
    finally:
        logger.setLevel(saved[0])
        root.setLevel(saved[1])
    assert SLACK_CLIENT_LOGGER in LIBRARY_LOGGERS  # LOG_LIBRARY_LEVEL sets it as well
