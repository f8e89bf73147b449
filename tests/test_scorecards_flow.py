"""Issue 11's rep scorecards over the wire: on the monthly schedule each rep gets their own scorecard by DM
and each manager the overview, never in a channel, exactly once — also when the batch is killed half-way
(a `tossup scorecards --post` process SIGKILLed with a DM in flight) and another process resumes it.

The month is `tests/test_monthly_review.py`'s November (worked out there): IS rep U0IS made Alpha (won
¥3,000,000), Beta (保留) and Gamma (pending); U0FS is the FS rep on all three.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import AppConfig
from bot.domain.scorecard import Scorecard
from bot.scheduler import MONTHLY_DIGEST_JOB_ID
from bot.scorecards import SCORECARD, SCORECARD_OVERVIEW
from store.models import DigestPost
from tests.cli_process import clean_environment
from tests.conftest import FS_USER, IS_USER, MANAGER, SIGNING_SECRET, Harness, team_config
from tests.db_fixtures import BACKENDS
from tests.test_monthly_review import REVIEW_CHANNEL, a_month_of_toss_ups, fire
from tests.test_weekly_agenda_flow import settle, tokyo

DMS = {f"D{IS_USER}", f"D{FS_USER}", f"D{MANAGER}"}


@pytest.fixture
def config() -> AppConfig:
    return team_config(
        roles={"managers": [MANAGER]},
        digests={"monthly": {"channel": REVIEW_CHANNEL, "cron": "0 9 1 * *"}},
    )


async def cards(h: Harness) -> list[DigestPost]:
    async with h.bot.services.sessions() as session:
        rows = await session.scalars(
            select(DigestPost).where(DigestPost.kind.in_([SCORECARD, SCORECARD_OVERVIEW]))
        )
        return list(rows.all())


def scorecard_dms(h: Harness) -> dict[str, int]:
    """How many scorecard DMs each DM channel holds (Slack's own record, by the bot's metadata key)."""
    counts: dict[str, int] = {}
    for (channel, _), message in h.slack.messages.items():
        key = ((message.get("metadata") or {}).get("event_payload") or {}).get("key", "")
        if key.startswith("scorecard_dm:"):
            counts[channel] = counts.get(channel, 0) + 1
    return counts


@pytest.mark.parametrize("backend", BACKENDS)  # PostgreSQL checks the kind's length; SQLite does not
async def test_scorecards_go_by_dm_on_the_monthly_schedule(harness: Harness) -> None:
    h = harness
    await a_month_of_toss_ups(h)
    h.clock.now = tokyo(12, 1, 9, 0)
    await fire(h, MONTHLY_DIGEST_JOB_ID)

    assert scorecard_dms(h) == dict.fromkeys(DMS, 1)  # each rep theirs, the manager the overview
    assert not [
        c
        for c in h.slack.calls_to("chat.postMessage")
        if c.args["channel"].startswith("C") and "scorecard" in str(c.args.get("metadata"))
    ]
    rows = {(row.kind, row.channel_id): row for row in await cards(h)}
    is_card = Scorecard.model_validate(rows[(SCORECARD, IS_USER)].content)
    fs_card = Scorecard.model_validate(rows[(SCORECARD, FS_USER)].content)
    assert is_card.as_is is not None and (is_card.as_is.toss_ups, is_card.as_is.sqls) == (3, 3)
    assert fs_card.as_fs is not None
    assert (fs_card.as_fs.won, fs_card.as_fs.won_amount, fs_card.as_fs.win_rate) == (1, 3_000_000, 1.0)
    assert (SCORECARD_OVERVIEW, MANAGER) in rows

    await fire(h, MONTHLY_DIGEST_JOB_ID)  # again: nothing more
    assert scorecard_dms(h) == dict.fromkeys(DMS, 1)


async def test_a_batch_killed_half_way_resumes_without_doubling(harness: Harness, tmp_path: Path) -> None:
    h = harness
    await a_month_of_toss_ups(h)
    config_file = tmp_path / "app.yaml"
    config_file.write_text(
        "locale: ja\ntimezone: Asia/Tokyo\nchannels: { fs: C0FSCHAN }\n"
        f"roles: {{ managers: [{MANAGER}] }}\n",
        encoding="utf-8",
    )
    env = clean_environment(
        {
            "SLACK_BOT_TOKEN": h.slack.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": h.slack.base_url,
            "DATABASE_URL": h.bot.settings.database_url,
            "TOSSUP_CONFIG": str(config_file),
        }
    )
    h.slack.slow("chat.postMessage", 2.0)  # each DM is made, then answered late: kill with one in flight
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "scorecards",
        "--period",
        "2026-11",
        "--post",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            if scorecard_dms(h):
                break
            await asyncio.sleep(0.05)
        assert sum(scorecard_dms(h).values()) == 1, scorecard_dms(h)  # one made, its answer not yet back
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    h.slack.slow("chat.postMessage", 0)
    assert len(await cards(h)) == 3  # the whole batch was claimed before the first DM

    # Another process resumes once the dead one's lease has run out, looking before sending again.
    h.clock.now = datetime.now(UTC) + h.bot.delivery.lease + timedelta(seconds=5)
    await settle(h)
    assert scorecard_dms(h) == dict.fromkeys(DMS, 1)
    assert all(row.lead_ts for row in await cards(h))


async def test_tossup_scorecard_answers_privately_and_only_managers_see_others(harness: Harness) -> None:
    h = harness
    await a_month_of_toss_ups(h)
    h.clock.now = tokyo(12, 2, 10, 0)
    answer = await h.ask("scorecard 2026-11", user_id=IS_USER)  # acked at once, then replaced
    assert answer["response_type"] == "ephemeral" and "2026年11月" in answer["text"]

    refused = await h.ask(f"scorecard <@{FS_USER}|fiona> 2026-11", user_id=IS_USER)  # not a manager
    assert "マネージャー" in refused["text"] and FS_USER not in refused["text"]

    theirs = await h.ask(f"scorecard <@{FS_USER}|fiona> 2026-11", user_id=MANAGER)
    assert FS_USER in str(theirs.get("blocks")) + theirs["text"]

    # The overview of every rep: a manager asks for the team's, or has no toss-up of their own.
    for words in ("scorecard team 2026-Q4", "scorecard チーム 2026-Q4", "scorecard 2026-Q4"):
        overview = await h.ask(words, user_id=MANAGER)
        shown = str(overview.get("blocks")) + overview["text"]
        assert IS_USER in shown and FS_USER in shown, (words, shown)
    refused = await h.ask("scorecard team", user_id=IS_USER)
    assert "マネージャー" in refused["text"] and FS_USER not in refused["text"]
    # On the 1st, this month (asked for by default) has no toss-up yet: how to see last month's.
    h.clock.now = tokyo(12, 1, 10, 0)
    first = await h.ask("scorecard team", user_id=MANAGER)
    assert "/tossup scorecard team 先月" in str(first.get("blocks")) + first["text"]
    mine = await h.ask("scorecard", user_id=IS_USER)
    assert "/tossup scorecard 先月" in str(mine.get("blocks")) + mine["text"]
    # A manager naming a rep: the hint's command would show the manager's own card, so none is given.
    named = await h.ask(f"scorecard <@{FS_USER}|fiona>", user_id=MANAGER)
    assert "/tossup scorecard 先月" not in str(named.get("blocks")) + named["text"]

    usage = await h.ask("scorecard someday", user_id=IS_USER)
    assert "2026-Q3" in usage["text"]
    assert not [
        c
        for c in h.slack.calls_to("chat.postMessage")
        if c.args["channel"].startswith("C0") and "scorecard" in str(c.args.get("metadata"))
    ]
