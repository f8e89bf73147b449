"""The toss-up's number — what `tossup repost <id>` takes — is where an operator looks: in the notice, the IS
rep's DMs and the log; and `tossup repost` queues with the database alone (no Slack token)."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from pathlib import Path

import pytest

from bot.domain.handoff import HandoffStatus
from bot.i18n import Lang, t
from modals.ids import ActionId
from modals.messages import build_decision_dm, build_is_confirmation, build_notice_failed
from modals.notice import build_notice
from tests.cli_process import run_cli
from tests.conftest import FS_CHANNEL, FS_USER, IS_USER, Harness
from tests.test_modals import CONFIG, TOKYO, message_dict, sample_handoff
from tests.test_tossup_flow import block_text, click, notice_posts, only_handoff, submit_memo, tossed_up

IS_DM = f"D{IS_USER}"


def dms_to_is(h: Harness) -> list:
    return [c for c in h.slack.calls_to("chat.postMessage") if c.args["channel"] == IS_DM]


async def repost(h: Harness, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`tossup repost …` against the harness's database, with no Slack setting in its environment."""
    env = {"DATABASE_URL": h.bot.settings.database_url}
    return await asyncio.to_thread(run_cli, "repost", *args, env=env, cwd=cwd)


@pytest.mark.parametrize("lang", list(Lang))
def test_every_message_an_operator_may_be_shown_carries_the_number(lang: Lang) -> None:
    pending, accepted, returned = (sample_handoff(status) for status in HandoffStatus)
    number = {Lang.EN: "Toss-up #42", Lang.JA: "トスアップ #42"}[lang]
    messages = [
        build_notice(handoff=pending, lang=lang, tz=TOKYO, config=CONFIG),
        build_is_confirmation(handoff=pending, lang=lang, permalink=None),
        build_decision_dm(handoff=accepted, lang=lang, tz=TOKYO),
        build_decision_dm(handoff=returned, lang=lang, tz=TOKYO),
        build_notice_failed(handoff=pending, lang=lang, channel="C0FSCHAN", error="channel_not_found"),
    ]
    for message in messages:
        _, blocks = message_dict(message)  # also within Slack's limits
        assert number in block_text(blocks), blocks
    _, failed = message_dict(messages[-1])
    assert "`tossup repost 42`" in block_text(failed)


async def test_the_number_is_in_the_notice_the_dms_and_the_log(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    caplog.set_level(logging.INFO, logger="bot")
    handoff = await tossed_up(h)
    number_ja = t(Lang.JA, "operations.number", id=handoff.id)  # the IS rep and the team speak Japanese
    assert number_ja == f"トスアップ #{handoff.id}"
    (notice,) = notice_posts(h)
    assert number_ja in block_text(notice.args["blocks"])
    (confirmation,) = dms_to_is(h)
    assert number_ja in block_text(confirmation.args["blocks"])
    stored = [r.getMessage() for r in caplog.records if r.name == "bot.submission"]
    assert f"toss-up #{handoff.id} stored (IS {IS_USER}, FS {FS_USER}, channel {FS_CHANNEL})" in stored

    await click(h, ActionId.HANDOFF_ACCEPT, handoff.id, user=FS_USER, ts=handoff.notice_ts)
    await h.slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == IS_DM, count=2)
    decision = dms_to_is(h)[-1]
    assert "🎉" in decision.args["text"] and number_ja in block_text(decision.args["blocks"])


async def test_repost_by_number_needs_only_the_database(
    harness: Harness, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    h = harness
    h.slack.error_next("chat.postMessage", "channel_not_found")
    assert (await submit_memo(h)).status == 200
    (told,) = await h.slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == IS_DM)
    handoff = await only_handoff(h)
    # The IS rep is told the number to pass on, and the command that posts it once the channel is fixed.
    assert f"`tossup repost {handoff.id}`" in block_text(told.args["blocks"])
    gave_up = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(
        f"of toss-up #{handoff.id}" in line and f"tossup repost {handoff.id}" in line for line in gave_up
    ), gave_up
    assert all("\n" not in line for line in gave_up), gave_up  # Slack's error text: on the same line

    queued = await repost(h, tmp_path, str(handoff.id))
    assert queued.returncode == 0, queued.stderr
    assert queued.stdout.strip() == (
        f"tossup: toss-up #{handoff.id}: notice queued; the running bot posts it at its next retry poll"
    )
    assert queued.stderr == ""  # no migration steps, no warnings
    h.clock.advance(minutes=1)  # the bot's next poll (the command queued it at the real time)
    await h.bot.delivery.drain()
    (notice,) = notice_posts(h)
    assert f"#{handoff.id}" in block_text(notice.args["blocks"])
