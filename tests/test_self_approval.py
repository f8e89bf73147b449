"""Issue 9 §3: nobody approves their own toss-up. The assignee must be an FS member (or a manager) when FS
members are configured and never the IS rep; the IS rep cannot take, rate or win their own toss-up even
when unassigned; outcome amounts have a ceiling. Over the wire, asserting what is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from bot.config import AppConfig
from bot.domain.handoff import HandoffStatus
from bot.domain.memo import MemoField
from bot.domain.outcome import AMOUNT_MAX
from modals.ids import ActionId, CallbackId
from store.models import FeedbackRecord, Handoff, OutcomeRecord
from tests.conftest import FS_USER, IS_USER, MANAGER, OTHER_USER, Harness, team_config
from tests.test_feedback_flow import accepted, open_modal, sheet_values
from tests.test_feedback_modals import outcome_state
from tests.test_tossup_flow import click, only_handoff, submit_memo, tossed_up

WITH_ROLES = team_config(roles={"field_sales": [FS_USER], "managers": [MANAGER]})


async def handoff_count(h: Harness) -> int:
    async with h.bot.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Handoff)) or 0)


async def test_the_is_rep_cannot_pick_themselves_as_fs_rep(harness: Harness) -> None:
    h = harness
    response = await submit_memo(h, fs_user_id=IS_USER)
    errors = (response.json() or {}).get("errors") or {}
    assert response.status == 200 and MemoField.FS_USER_ID.value in errors
    assert "FS" in errors[MemoField.FS_USER_ID.value]
    assert await handoff_count(h) == 0


@pytest.mark.parametrize("config", [WITH_ROLES])
async def test_with_fs_members_configured_the_assignee_must_be_one_or_a_manager(
    harness: Harness, config: AppConfig
) -> None:
    h = harness
    refused = await submit_memo(h, fs_user_id=OTHER_USER)
    assert MemoField.FS_USER_ID.value in ((refused.json() or {}).get("errors") or {})
    assert await handoff_count(h) == 0
    kept = await submit_memo(h, fs_user_id=MANAGER)
    assert kept.status == 200 and not (kept.json() or {}).get("errors")
    assert await handoff_count(h) == 1


@pytest.mark.parametrize("config", [team_config(roles={"managers": [IS_USER]})])
async def test_the_is_rep_cannot_take_their_own_unassigned_toss_up_even_as_a_manager(
    harness: Harness, config: AppConfig
) -> None:
    h = harness
    handoff = await tossed_up(h, fs_user_id=None)
    await click(h, ActionId.HANDOFF_ACCEPT, handoff.id, user=IS_USER, ts=handoff.notice_ts)
    (private,) = await h.slack.wait_for("response_url")
    assert "FS" in private.args["text"]
    assert (await only_handoff(h)).status is HandoffStatus.PENDING
    await click(h, ActionId.HANDOFF_ACCEPT, handoff.id, user=FS_USER, ts=handoff.notice_ts)
    await h.slack.wait_for("chat.update")
    assert (await only_handoff(h)).decided_by == FS_USER


async def test_a_toss_up_assigned_to_its_own_is_rep_before_the_rule_cannot_be_rated_or_won_by_them(
    harness: Harness,
) -> None:
    """Data from before the rule: the IS rep was the assignee and accepted it. They still cannot fill
    FS's sheet (their own score) nor record a won deal (the shared KPIs)."""
    h = harness
    handoff = await accepted(h)
    async with h.bot.services.sessions() as session:
        await session.execute(update(Handoff).where(Handoff.id == handoff.id).values(fs_user_id=IS_USER))
        await session.commit()
    for action in (ActionId.FEEDBACK_OPEN, ActionId.OUTCOME_OPEN):
        before = len(h.slack.calls_to("response_url"))
        await click(h, action, handoff.id, user=IS_USER)
        refusal = (await h.slack.wait_for("response_url", count=before + 1))[-1]
        assert "FS" in refusal.args["text"]
    async with h.bot.services.sessions() as session:
        assert await session.get(FeedbackRecord, handoff.id) is None
        assert await session.get(OutcomeRecord, handoff.id) is None


async def test_an_outcome_amount_beyond_the_ceiling_is_a_field_error(harness: Harness) -> None:
    h = harness
    handoff = await accepted(h)
    modal = await open_modal(h, ActionId.OUTCOME_OPEN, handoff.id, user=FS_USER)
    response = await h.driver.view_submission(
        CallbackId.OUTCOME,
        outcome_state("won", amount=str(AMOUNT_MAX * 10), closed_on="2026-12-03"),
        user_id=FS_USER,
        private_metadata=modal["private_metadata"],
    )
    errors = (response.json() or {}).get("errors") or {}
    assert "outcome_amount" in errors and f"{AMOUNT_MAX:,}" in errors["outcome_amount"]
    async with h.bot.services.sessions() as session:
        assert await session.get(OutcomeRecord, handoff.id) is None
    fine = await h.driver.view_submission(
        CallbackId.OUTCOME,
        outcome_state("won", amount=str(AMOUNT_MAX), closed_on="2026-12-03"),
        user_id=FS_USER,
        private_metadata=modal["private_metadata"],
    )
    assert fine.status == 200 and not (fine.json() or {}).get("errors")


async def test_fs_still_rates_its_own_toss_ups(harness: Harness) -> None:
    h = harness
    handoff = await accepted(h)
    modal = await open_modal(h, ActionId.FEEDBACK_OPEN, handoff.id, user=FS_USER)
    response = await h.driver.view_submission(
        CallbackId.FEEDBACK_SHEET, sheet_values(), user_id=FS_USER, private_metadata=modal["private_metadata"]
    )
    assert response.status == 200 and not (response.json() or {}).get("errors")
