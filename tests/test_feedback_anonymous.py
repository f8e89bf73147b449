"""`feedback.anonymous: true` over the wire (issue 13): wherever the IS rep meets the feedback loop — the
sheet's DM, the modal rating FS back, a refusal on FS's own buttons, the outcome DM — the FS rep is "FS".
What the setting deliberately leaves named (the README says so): the toss-up's own messages, where the IS
rep must know who took the deal on — the confirmation DM, the decision DM, the notice in FS's channel."""

from __future__ import annotations

import json

import pytest

from bot.config import AppConfig
from modals.ids import ActionId, CallbackId
from tests.conftest import FS_CHANNEL, FS_USER, IS_USER, MANAGER, Harness, team_config
from tests.test_feedback_flow import IS_DM, accepted, open_modal, posts_to, sheet_values, submit
from tests.test_feedback_modals import outcome_state
from tests.test_tossup_flow import block_text, click

ANONYMOUS = team_config(roles={"managers": [MANAGER]}, feedback={"anonymous": True})
NAMED = team_config(roles={"managers": [MANAGER]})


async def what_is_sees_of_the_loop(h: Harness) -> dict[str, str]:
    """Run the loop once and collect, as Slack received them, the parts the IS rep is shown."""
    handoff = await accepted(h)
    seen = {"decision DM": json.dumps(posts_to(h, IS_DM)[-1].args, ensure_ascii=False)}

    modal = await open_modal(h, ActionId.FEEDBACK_OPEN, handoff.id, user=FS_USER)
    assert (await submit(h, CallbackId.FEEDBACK_SHEET, modal, sheet_values(), user=FS_USER)).status == 200
    told = await h.slack.wait_for("chat.postMessage", count=3, where=lambda c: c.args["channel"] == IS_DM)
    seen["sheet DM"] = json.dumps(told[-1].args, ensure_ascii=False)
    assert "決裁プロセスが明確" in seen["sheet DM"]

    rating_modal = await open_modal(h, ActionId.IS_RATING_OPEN, handoff.id, user=IS_USER, channel=IS_DM)
    seen["IS rating modal"] = json.dumps(rating_modal, ensure_ascii=False)

    await click(h, ActionId.FEEDBACK_OPEN, handoff.id, user=IS_USER)  # the IS rep on FS's Rate button
    (refusal,) = await h.slack.wait_for("response_url")
    seen["refusal"] = json.dumps(refusal.args, ensure_ascii=False)

    outcome = await open_modal(h, ActionId.OUTCOME_OPEN, handoff.id, user=FS_USER)
    values = outcome_state("lost", reason="予算が来期に持ち越し")
    assert (await submit(h, CallbackId.OUTCOME, outcome, values, user=FS_USER)).status == 200
    (outcome_dm,) = await h.slack.wait_for(
        "chat.postMessage",
        where=lambda c: c.args["channel"] == IS_DM and "予算が来期に持ち越し" in c.args["text"],
    )
    seen["outcome DM"] = json.dumps(outcome_dm.args, ensure_ascii=False)
    seen["notice"] = block_text(h.slack.message(FS_CHANNEL, handoff.notice_ts)["blocks"])
    return seen


LOOP = ("sheet DM", "IS rating modal", "refusal", "outcome DM")


@pytest.mark.parametrize("config", [ANONYMOUS])
async def test_anonymous_mode_never_names_the_fs_rep_in_the_loop_is_sees(
    harness: Harness, config: AppConfig
) -> None:
    seen = await what_is_sees_of_the_loop(harness)
    for part in LOOP:
        assert FS_USER not in seen[part], part
        assert "FS" in seen[part], part
    # Left named on purpose (README, feedback.anonymous): who accepted, so IS knows whom to work with.
    assert f"<@{FS_USER}>" in seen["decision DM"] and f"<@{FS_USER}>" in seen["notice"]


@pytest.mark.parametrize("config", [NAMED])
async def test_without_anonymous_mode_the_loop_names_the_fs_rep(harness: Harness, config: AppConfig) -> None:
    seen = await what_is_sees_of_the_loop(harness)
    for part in LOOP:
        assert f"<@{FS_USER}>" in seen[part], part
