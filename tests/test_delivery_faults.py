"""Issue 9 §2, as it happens: the bot runs as a real subprocess (`python -m bot run`) against the fake Slack
over the wire, and Slack is slow, rate-limits for a long time, fails for a long time, or the bot is killed
with SIGKILL while posts are in flight and started again. Every message the bot means to post must be in
Slack exactly once at the end, with a bounded number of attempts.

What Slack holds is read from the fake's own store (`FakeSlack.messages`), each post identified by the
outbox key the bot stamps into its message metadata.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.delivery import METADATA_EVENT_TYPE
from bot.domain.memo import MemoField
from modals.ids import CallbackId
from store.db import make_engine, make_sessionmaker
from store.outbox import pending_count
from tests.cli_process import WarmProcess, clean_environment, start_warm
from tests.conftest import FS_CHANNEL, FS_USER, IS_USER, SIGNING_SECRET, free_port
from tests.fake_slack import FakeSlack
from tests.memo_state import full_memo_answers, memo_state
from tests.slack_driver import SlackDriver
from tests.test_tossup_flow import memo_meta

TOSS_UPS = 5
POSTS_PER_TOSS_UP = 3  # the channel notice, its DM copy to the FS rep, the IS rep's confirmation

CONFIG = f"""locale: en
timezone: Asia/Tokyo
channels: {{ fs: {FS_CHANNEL} }}
sla: {{ enabled: false }}
delivery:
  poll_seconds: 0.5
  first_retry_seconds: 0.5
  max_retry_seconds: 4
  slack_timeout_seconds: 1
  lease_seconds: 10
"""


class BotProcess:
    """`tossup run` as a process of its own (started warm: tests/cli_process.py) on a free port, against
    the fake Slack, on one SQLite file."""

    def __init__(self, slack: FakeSlack, tmp_path: Path) -> None:
        self.slack = slack
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
        config = tmp_path / "app.yaml"
        config.write_text(CONFIG, encoding="utf-8")
        self.env = clean_environment(
            {
                "SLACK_BOT_TOKEN": slack.bot_token,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": slack.base_url,
                "SLACK_RESPONSE_URL_ORIGINS": slack.origin,
                "DATABASE_URL": self.database_url,
                "TOSSUP_CONFIG": str(config),
                "PORT": str(self.port),
                "HOST": "127.0.0.1",
            }
        )
        self.cwd = tmp_path
        self.stderr_path: Path | None = None  # where its standard error goes (nowhere by default)
        self.process: WarmProcess | None = None

    async def start(self) -> None:
        self.process = start_warm("run", env=self.env, cwd=self.cwd, stderr=self.stderr_path)
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                try:
                    async with session.get(self.url + "/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("the bot did not come up")

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                await self.kill()

    async def pending(self) -> int:
        engine = make_engine(self.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                return await pending_count(session=session)
        finally:
            await engine.dispose()


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack()
    await slack.start()
    slack.users.update({IS_USER: {"locale": "en-US"}, FS_USER: {"locale": "en-US"}})
    try:
        yield slack
    finally:
        await slack.stop()


@pytest.fixture
async def bot(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[BotProcess]:
    process = BotProcess(fake, tmp_path)
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


async def toss_ups(bot: BotProcess, count: int = TOSS_UPS) -> None:
    now = datetime.now(UTC)
    async with SlackDriver(bot.url, SIGNING_SECRET, response_url_base=bot.slack.response_url_base) as driver:
        for number in range(count):
            answers = full_memo_answers(
                meeting_at=(now + timedelta(days=3)).replace(microsecond=0),
                first_contact_on=(now - timedelta(days=20)).date(),
                fs_user_id=FS_USER,
            )
            answers[MemoField.COMPANY] = f"Fault {number} KK"
            response = await driver.view_submission(
                CallbackId.HANDOFF_MEMO, memo_state(answers), user_id=IS_USER, private_metadata=memo_meta()
            )
            assert response.status == 200 and not (response.json() or {}).get("errors"), response.text


def posted_keys(slack: FakeSlack) -> Counter[str]:
    """How many times Slack holds each outbox post (by the key in its metadata)."""
    keys: Counter[str] = Counter()
    for message in slack.messages.values():
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") == METADATA_EVENT_TYPE:
            keys[metadata["event_payload"]["key"]] += 1
    return keys


async def until(condition, *, timeout: float = 60.0, what: str = "") -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def all_sent_exactly_once(bot: BotProcess) -> Counter[str]:
    async def drained() -> bool:
        return await bot.pending() == 0 and len(posted_keys(bot.slack)) >= TOSS_UPS * POSTS_PER_TOSS_UP

    await until(drained, what="every post sent")
    await asyncio.sleep(1.5)  # a late duplicate would show up now
    keys = posted_keys(bot.slack)
    assert len(keys) == TOSS_UPS * POSTS_PER_TOSS_UP, sorted(keys)
    assert set(keys.values()) == {1}, {k: n for k, n in keys.items() if n != 1}
    notices = [
        m for (channel, _), m in bot.slack.messages.items() if channel == FS_CHANNEL and "thread_ts" not in m
    ]
    assert len(notices) == TOSS_UPS
    return keys


def post_attempts(slack: FakeSlack, status: int) -> int:
    return sum(1 for c in slack.calls if c.method == "chat.postMessage" and c.status == status)


@pytest.mark.takes(8)
async def test_slack_that_posts_then_answers_late_gets_each_message_once(bot: BotProcess) -> None:
    slack = bot.slack
    slack.slow("chat.postMessage", 1.6)  # past the bot's 1 s timeout: every post looks failed, yet is made
    await toss_ups(bot)

    async def some_posted_late() -> bool:
        return len(posted_keys(slack)) >= TOSS_UPS

    await until(some_posted_late, what="the first posts")
    slack.slow("chat.postMessage", 0)
    await all_sent_exactly_once(bot)
    assert slack.calls_to("conversations.history")  # the retries looked before posting again


@pytest.mark.takes(13)
async def test_killed_mid_send_and_restarted_posts_each_message_once(bot: BotProcess) -> None:
    slack = bot.slack
    slack.slow("chat.postMessage", 0.8)  # answers come late, inside the timeout: posts are in flight
    await toss_ups(bot)

    async def in_flight() -> bool:
        return len(posted_keys(slack)) >= 2

    await until(in_flight, what="posts in flight")
    await bot.kill()  # SIGKILL: Slack made posts whose answers the bot never recorded
    slack.slow("chat.postMessage", 0)
    await bot.start()  # the same database: the dead process's leases run out, its rows are in doubt
    await all_sent_exactly_once(bot)


@pytest.mark.takes(11)
async def test_a_long_rate_limit_is_waited_out_not_hammered(bot: BotProcess) -> None:
    slack = bot.slack
    slack.fail_for("chat.postMessage", 6, status=429, retry_after=2)
    await toss_ups(bot)
    await asyncio.sleep(6)
    # One process, one attempt per Retry-After window: 6 s / 2 s, plus the one that started it.
    assert post_attempts(slack, 429) <= 5, post_attempts(slack, 429)
    await all_sent_exactly_once(bot)


@pytest.mark.takes(11)
async def test_a_long_outage_backs_off_per_method(bot: BotProcess) -> None:
    slack = bot.slack
    slack.fail_for("chat.postMessage", 6, status=500)
    await toss_ups(bot)
    await asyncio.sleep(6)
    # Backing off 0.5, 1, 2, 4 s for the method, not per message: a handful of attempts, whatever is queued.
    assert post_attempts(slack, 500) <= 6, post_attempts(slack, 500)
    await all_sent_exactly_once(bot)
