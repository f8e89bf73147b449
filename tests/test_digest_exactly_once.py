"""Issue 8's exactly-once promise, tried as it fails: three app instances on one database racing for the
same week (each firing its job twice), a `tossup digest --post` process killed with SIGKILL between its
claim and Slack posting, and the CLI's preview and second --post."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import build_bot
from bot.config import AppConfig
from bot.digests import WEEKLY
from bot.scheduler import WEEKLY_DIGEST_JOB_ID, make_scheduler
from store.models import DigestPost
from tests.cli_process import clean_environment, run_cli
from tests.conftest import MANAGER, SIGNING_SECRET, Harness, team_config
from tests.db_fixtures import BACKENDS
from tests.test_cli import ROOT
from tests.test_weekly_agenda_flow import MEETING_CHANNEL, meeting_posts, settle, tokyo, toss

CONFIG_YAML = f"""locale: en
timezone: Asia/Tokyo
channels:
  fs: C0FSCHAN
digests:
  weekly: {{ channel: {MEETING_CHANNEL}, cron: "0 9 * * FRI" }}
"""


@pytest.fixture
def config() -> AppConfig:
    return team_config(
        roles={"managers": [MANAGER]},
        digests={"weekly": {"channel": MEETING_CHANNEL, "cron": "0 9 * * FRI"}},
    )


async def digest_rows(h: Harness) -> list[DigestPost]:
    async with h.bot.services.sessions() as session:
        return list((await session.scalars(select(DigestPost))).all())


@pytest.mark.parametrize("backend", BACKENDS)
async def test_three_instances_racing_for_the_same_week_post_it_once(harness: Harness) -> None:
    h = harness
    await toss(h, "Race KK", at=tokyo(12, 7, 10), meeting=tokyo(12, 15, 10))
    others = [await build_bot(h.bot.settings, h.bot.services.config, clock=h.clock) for _ in range(2)]
    try:
        h.clock.now = tokyo(12, 11, 9, 0)
        jobs = [make_scheduler(bot.services).get_job(WEEKLY_DIGEST_JOB_ID) for bot in (h.bot, *others)]
        assert all(job is not None for job in jobs)
        await asyncio.gather(
            *(job.func(*job.args, **job.kwargs) for job in jobs for _ in range(2))
        )  # each fires twice
        await asyncio.gather(*(bot.delivery.drain() for bot in (h.bot, *others)))
    finally:
        for bot in others:
            await bot.close()
    posts = meeting_posts(h)
    leads = [p for p in posts if "thread_ts" not in p.args]
    assert len(leads) == 1 and len(posts) == 5, h.slack.describe_calls()
    (row,) = await digest_rows(h)
    assert (row.kind, row.channel_id, row.lead_ts) == (WEEKLY, MEETING_CHANNEL, leads[0].response["ts"])


def cli_env(h: Harness, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "app.yaml"
    config.write_text(CONFIG_YAML, encoding="utf-8")
    return {  # posting needs the bot token only: no signing secret (nothing is received)
        "SLACK_BOT_TOKEN": h.slack.bot_token,
        "SLACK_API_URL": h.slack.base_url,
        "DATABASE_URL": h.bot.settings.database_url,
        "TOSSUP_CONFIG": str(config),
    }


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_poster_killed_between_claim_and_post_leaves_exactly_one_agenda(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    now = datetime.now(UTC)
    h.clock.now = now
    await toss(h, "Crash KK", at=now, meeting=now + timedelta(days=9))
    h.slack.stall("chat.postMessage", 30)  # Slack will not have taken it when the process dies
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "digest",
        "weekly",
        "--post",
        env=clean_environment(cli_env(h, tmp_path)),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await h.slack.wait_stalled("chat.postMessage", timeout=30)  # claimed, the lead on its way
        (claimed,) = await digest_rows(h)
        assert claimed.claimed_by == "cli" and claimed.lead_ts is None
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    for _ in range(50):  # Slack notices the dead client and drops what it held
        if h.slack.dropped:
            break
        await asyncio.sleep(0.1)
    h.slack.stall("chat.postMessage", 0)
    assert h.slack.dropped == ["chat.postMessage"] and meeting_posts(h) == []

    # Another instance (or the restarted one) finds the rows leased by the dead process …
    await h.bot.delivery.drain()
    assert meeting_posts(h) == []
    # … and takes them over once the lease has run out: the agenda goes out once, in order.
    h.clock.now = datetime.now(UTC) + h.bot.delivery.lease + timedelta(seconds=1)
    await settle(h)
    posts = meeting_posts(h)
    assert len(posts) == 5 and "thread_ts" not in posts[0].args
    assert all(p.args["thread_ts"] == posts[0].response["ts"] for p in posts[1:])
    (row,) = await digest_rows(h)
    assert row.lead_ts == posts[0].response["ts"]


async def test_cli_previews_without_slack_and_posts_once(harness: Harness, tmp_path: Path) -> None:
    h = harness
    now = datetime.now(UTC)
    h.clock.now = now
    await toss(h, "Preview KK", at=now, meeting=now + timedelta(days=9))
    env = cli_env(h, tmp_path)
    preview_env = {key: env[key] for key in ("DATABASE_URL", "TOSSUP_CONFIG")}  # no Slack secrets at all
    day = now.date().isoformat()

    calls_before = len(h.slack.calls)
    preview = await asyncio.to_thread(
        run_cli, "digest", "weekly", "--period", day, env=preview_env, cwd=tmp_path
    )
    assert preview.returncode == 0, preview.stderr
    assert "Preview KK" in preview.stdout and "Traceback" not in preview.stderr
    assert len(h.slack.calls) == calls_before  # a preview never talks to Slack
    assert await digest_rows(h) == []  # a preview claims nothing

    first = await asyncio.to_thread(
        run_cli, "digest", "weekly", "--period", day, "--post", env=env, cwd=tmp_path
    )
    assert first.returncode == 0, first.stderr
    assert "posted to" in first.stdout
    second = await asyncio.to_thread(
        run_cli, "digest", "weekly", "--period", day, "--post", env=env, cwd=tmp_path
    )
    assert second.returncode == 3, second.stderr
    assert "already posted" in second.stderr and MEETING_CHANNEL in second.stderr
    assert len([p for p in meeting_posts(h) if "thread_ts" not in p.args]) == 1


def test_cli_digest_names_a_bad_period(tmp_path: Path) -> None:
    result = run_cli("digest", "weekly", "--period", "2026-13-01", env={}, cwd=tmp_path)
    assert result.returncode == 2 and "2026-13-01" in result.stderr


def test_cli_post_without_a_weekly_digest_configured(tmp_path: Path) -> None:
    config = tmp_path / "app.yaml"
    config.write_text("channels:\n  fs: C0FSCHAN\n", encoding="utf-8")
    env = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        "TOSSUP_CONFIG": str(config),
    }
    (tmp_path / "x.db").touch()  # the bot's database, not migrated yet
    result = run_cli("digest", "weekly", "--post", env=env, cwd=tmp_path)
    assert result.returncode == 4 and "digests.weekly" in result.stderr


def test_shipped_app_yaml_documents_the_weekly_digest() -> None:
    text = (ROOT / "app.yaml").read_text(encoding="utf-8")
    assert "digests:" in text and "cron" in text


def test_cli_previews_the_monthly_and_quarterly_reviews_and_the_scorecards(tmp_path: Path) -> None:
    """Without Slack secrets, on an empty database: each preview is text, exit 0, nothing claimed."""
    config = tmp_path / "app.yaml"
    config.write_text("locale: en\nchannels:\n  fs: C0FSCHAN\n", encoding="utf-8")
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", "TOSSUP_CONFIG": str(config)}
    (tmp_path / "x.db").touch()  # the bot's database, not migrated yet
    monthly = run_cli("digest", "monthly", "--period", "2026-11-05", env=env, cwd=tmp_path)
    assert monthly.returncode == 0 and "November 2026" in monthly.stdout, monthly.stderr
    quarterly = run_cli("digest", "quarterly", "--period", "2026-11-05", env=env, cwd=tmp_path)
    assert quarterly.returncode == 0 and "Q4 2026" in quarterly.stdout, quarterly.stderr
    cards = run_cli("scorecards", "--period", "2026-Q4", env=env, cwd=tmp_path)
    assert cards.returncode == 0 and cards.stdout.strip(), cards.stderr
    bad = run_cli("scorecards", "--period", "someday", env=env, cwd=tmp_path)
    assert bad.returncode == 2 and "--period" in bad.stderr
