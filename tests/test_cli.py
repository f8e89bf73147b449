"""Starting the bot: a missing or malformed setting stops it with one line naming what to set."""

from __future__ import annotations

import asyncio
import gc
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.commands import settle_heap
from bot.config import ConfigError, load_config
from tests import cli_process
from tests.cli_process import clean_environment
from tests.conftest import free_port
from tests.fake_slack import FakeSlack

ROOT = Path(__file__).resolve().parent.parent
GOOD_ENV = {
    "SLACK_BOT_TOKEN": "xoxb-123-abc",
    "SLACK_SIGNING_SECRET": "abcdef0123456789",
}


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m bot *args` itself, started cold (`tests.cli_process.run_cli` starts it warm)."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=clean_environment(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def write_config(path: Path, fs_channel: str = "C0FSCHAN", extra: str = "") -> Path:
    path.write_text(
        f"locale: en\ntimezone: Asia/Tokyo\nchannels:\n  fs: {fs_channel!r}\n{extra}", encoding="utf-8"
    )
    return path


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN: must start with xoxb-"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set"),
        ({**GOOD_ENV, "SLACK_APP_TOKEN": "xoxb-wrong"}, "SLACK_APP_TOKEN: must start with xapp-"),
        ({**GOOD_ENV, "DATABASE_URL": "mysql://x"}, "DATABASE_URL: must be sqlite+aiosqlite"),
    ],
)
def test_bad_environment_stops_with_one_clear_line(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    result = run_cli("run", env=env, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tossup: ") and expected in lines[0]


def test_unreachable_database_stops_with_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path / "app.yaml")
    env = {
        **GOOD_ENV,
        "TOSSUP_CONFIG": str(config),
        "DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none",
    }
    result = cli_process.run_cli("run", env=env, cwd=tmp_path)
    assert result.returncode == 2
    lines = [line for line in result.stderr.strip().splitlines() if line.startswith("tossup: ")]
    assert len(lines) == 1 and "DATABASE_URL: cannot open the database" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_shipped_app_yaml_asks_for_the_fs_channel(tmp_path: Path) -> None:
    env = {**GOOD_ENV, "TOSSUP_CONFIG": str(ROOT / "app.yaml")}
    result = cli_process.run_cli("check", "--offline", env=env, cwd=tmp_path)
    assert result.returncode == 2
    line, verdict = result.stderr.strip().splitlines()
    assert "channels.fs" in line and "C0123456789" in line
    assert verdict == "tossup: check failed: 1 problem above"


def test_good_setup_passes_check(tmp_path: Path) -> None:
    config = write_config(tmp_path / "app.yaml")
    result = cli_process.run_cli(
        "check", "--offline", env={**GOOD_ENV, "TOSSUP_CONFIG": str(config)}, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert f"tossup: {config}: OK (language en, time zone Asia/Tokyo)" in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1] == "tossup: check passed (format only)"


def test_shipped_app_yaml_examples_are_valid_when_uncommented(tmp_path: Path) -> None:
    text = (ROOT / "app.yaml").read_text(encoding="utf-8").replace('fs: ""', "fs: C0FSCHAN")
    lines = text.splitlines()
    for i, line in enumerate(lines):  # "key: []" followed by "  #  - example" lines: take the example
        if line.startswith("  #  "):
            lines[i] = line.replace("#  ", "  ", 1)
    text = "\n".join(lines)
    for empty in ("custom_selects: []", "rules: []", "absent: []"):
        text = text.replace(empty, empty.removesuffix(" []"))
    text = text.replace("  business_hours: null\n  # business_hours:", "  business_hours:")
    path = tmp_path / "app.yaml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    assert [s.key for s in config.memo.custom_selects] == ["segment", "region"]
    assert config.routing.rules[0].pool and config.routing.absent
    assert config.sla.business_hours is not None and config.sla.business_hours.holidays
    assert config.digests.weekly is not None and config.digests.weekly.cron == "0 9 * * FRI"
    assert config.digests.monthly is not None and config.digests.quarterly is not None


def test_shipped_app_yaml_is_valid_once_the_channel_is_set(tmp_path: Path) -> None:
    text = (ROOT / "app.yaml").read_text(encoding="utf-8").replace('fs: ""', "fs: C0FSCHAN")
    path = tmp_path / "app.yaml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    assert config.channels.fs == "C0FSCHAN"
    assert len(config.memo.lead_sources) == 7
    # Installed on Monday, Friday's meeting has its agenda: on from the start, in the FS channel.
    weekly = config.digests.weekly
    assert weekly is not None and weekly.cron == "0 9 * * FRI" and weekly.channel is None
    assert config.digest_channel(weekly) == "C0FSCHAN"


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("timezone2: x\n", "timezone2"),
        ("roles:\n  managers: [bob]\n", "roles.managers"),
        ("memo:\n  lead_sources: []\n", "memo.lead_sources"),
        ("delivery:\n  poll_seconds: -1\n", "delivery.poll_seconds"),
    ],
)
def test_bad_app_yaml_names_the_key(tmp_path: Path, extra: str, key: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(write_config(tmp_path / "app.yaml", extra=extra))
    assert key in str(error.value)


def test_unknown_time_zone_is_named(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text("timezone: Mars/Olympus\nchannels:\n  fs: C0FSCHAN\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="timezone: unknown time zone"):
        load_config(path)


async def run_cli_async(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    process = await cli_process.start_cold(*args, env=env, cwd=cwd)
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, stderr.decode()


def slack_env(slack: FakeSlack, tmp_path: Path, **extra: str) -> dict[str, str]:
    config = write_config(tmp_path / "app.yaml")
    return {
        **GOOD_ENV,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "TOSSUP_CONFIG": str(config),
        "SLACK_API_URL": slack.base_url,
        "PORT": str(free_port()),
        **extra,
    }


@pytest.mark.parametrize(
    ("method", "extra", "expected"),
    [
        ("auth.test", {}, "SLACK_BOT_TOKEN: Slack refused it (invalid_auth)"),
        (
            "apps.connections.open",
            {"SLACK_APP_TOKEN": "xapp-1-x"},
            "SLACK_APP_TOKEN: Slack refused it (invalid_auth)",
        ),
    ],
)
async def test_token_slack_refuses_stops_start_with_one_line(
    slack: FakeSlack, tmp_path: Path, method: str, extra: dict[str, str], expected: str
) -> None:
    slack.error_next(method, "invalid_auth")
    code, stderr = await run_cli_async("run", env=slack_env(slack, tmp_path, **extra), cwd=tmp_path)
    assert code == 2
    (line,) = [line for line in stderr.splitlines() if line.startswith("tossup: ")]
    assert line == f"tossup: {expected}"
    assert "Traceback" not in stderr


@pytest.mark.takes(4)
async def test_unreachable_slack_stops_start_with_one_line(tmp_path: Path) -> None:
    env = {
        **GOOD_ENV,
        "TOSSUP_CONFIG": str(write_config(tmp_path / "app.yaml")),
        "SLACK_API_URL": "http://127.0.0.1:1/api/",
    }
    code, stderr = await run_cli_async("run", env=env, cwd=tmp_path)
    assert code == 2
    (line,) = [line for line in stderr.splitlines() if line.startswith("tossup: ")]
    assert line.startswith("tossup: SLACK_API_URL: cannot reach Slack at http://127.0.0.1:1/api/")


@pytest.mark.takes(2.5)
def test_tossup_with_no_sub_command_runs_the_bot_and_makes_its_database(tmp_path: Path) -> None:
    """`tossup` alone is `tossup run`: on a first start its SQLite file does not exist yet, and is made."""
    database = tmp_path / "first.db"
    env = {
        **GOOD_ENV,
        "TOSSUP_CONFIG": str(write_config(tmp_path / "app.yaml")),
        "SLACK_API_URL": "http://127.0.0.1:1/api/",  # it gets as far as asking Slack
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
    }
    result = cli_process.run_cli(env=env, cwd=tmp_path)
    assert result.returncode == 2 and "no database at" not in result.stderr, result.stderr
    assert "tossup: SLACK_API_URL: cannot reach Slack" in result.stderr
    assert database.exists()


@pytest.mark.parametrize("socket_mode", [False, True])
async def test_sigterm_stops_the_bot_gracefully(slack: FakeSlack, tmp_path: Path, socket_mode: bool) -> None:
    env = slack_env(slack, tmp_path, **({"SLACK_APP_TOKEN": "xapp-1-x"} if socket_mode else {}))
    process = await cli_process.start_cold("run", env=env, cwd=tmp_path)
    health = f"http://127.0.0.1:{env['PORT']}/healthz"
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(health) as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        else:
            process.kill()
            pytest.fail("the bot never answered /healthz")
        if socket_mode:
            await slack.wait_socket_connected()
            async with session.post(f"http://127.0.0.1:{env['PORT']}/slack/events") as response:
                assert response.status == 404  # events come over the websocket only
    process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    assert "tossup stopped" in stderr.decode()


def test_repost_of_an_unknown_toss_up_says_so(tmp_path: Path) -> None:
    database = tmp_path / "tossup.db"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    # Run where there is no database (not where the bot runs): one line, and no new empty one made there.
    result = cli_process.run_cli("repost", "42", env=env, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"tossup: DATABASE_URL: no database at {database}: run this where"), line
    assert not database.exists()
    # No Slack setting at all, and an empty database file (never migrated): migrated without a line.
    database.touch()
    for number in ("42", "#42"):  # as typed, or as the notice and the DMs show it
        result = cli_process.run_cli("repost", number, env=env, cwd=tmp_path)
        assert result.returncode == 1 and result.stdout == ""
        (line,) = result.stderr.splitlines()
        assert line.startswith("tossup: toss-up #42: no such toss-up (its number is in the notice"), line
    for typo in ("#4x2", "²", "99999999999"):  # not digits, a digit Python reads, past any id
        result = cli_process.run_cli("repost", typo, env=env, cwd=tmp_path)
        assert (
            result.returncode == 2 and f"{typo!r} is not a toss-up number (like 123 or #123)" in result.stderr
        )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("routing:\n  rules:\n    - {name: r, match: {lead_source: [seminr]}}\n", "no such option seminr"),
        ("routing:\n  rules:\n    - {name: r, match: {company: [acme]}}\n", "only match select fields"),
        ("routing:\n  rules:\n    - {name: r, match: {timeline: [soon]}}\n", "no such option soon"),
        (
            "criteria:\n  rules:\n    - {id: src, kind: one_of, field: lead_source, values: [webinar]}\n",
            r"criteria.rules\[0\] \(id: src\).values: no such option webinar; did you mean `seminar`\?",
        ),
    ],
)
def test_option_typos_in_rules_are_named_at_start(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write_config(tmp_path / "app.yaml", extra=extra))


def test_the_heap_of_start_up_is_frozen_out_of_the_collectors_scans() -> None:
    """`tossup run` calls settle_heap once up: what start-up built is never walked by a full collection
    again (those walks held every ack in flight, 50-300 ms each, growing with the heap)."""
    frozen_by_the_suite = gc.get_freeze_count()  # tests/conftest.py freezes the collected test modules
    # Built after that freeze, like the bot's start-up heap (lists: the collector always tracks them).
    fresh = [[n] for n in range(20_000)]
    settle_heap()
    assert gc.get_freeze_count() >= frozen_by_the_suite + len(fresh)
