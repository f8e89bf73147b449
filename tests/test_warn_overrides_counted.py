"""Issue 13: what the warn-mode hint promises — "the weekly meeting agenda lists and counts such toss-ups"
— is what the weekly agenda does, over the wire: two memos tossed up below the criteria with a reason
are counted, with their reasons, in section 4 of Friday's agenda."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from bot.config import AppConfig
from bot.domain.agenda import WeeklyAgenda
from bot.domain.memo import MemoField, Timeline
from bot.i18n import Lang, t
from modals.ids import ActionId, BlockId, CallbackId
from tests.conftest import FS_USER, IS_USER, MANAGER, Harness, team_config
from tests.memo_state import full_memo_answers, memo_state
from tests.slack_driver import text_state
from tests.test_tossup_flow import block_text, memo_meta
from tests.test_weekly_agenda_flow import MEETING_CHANNEL, digests, fire, meeting_posts, settle, tokyo

REASONS = {"Over KK": "決裁者の強い要望で来期予算から相談したい", "Under KK": "展示会で先方から至急の依頼"}


@pytest.fixture
def config() -> AppConfig:
    return team_config(
        criteria={"mode": "warn"},
        roles={"managers": [MANAGER]},
        digests={"weekly": {"channel": MEETING_CHANNEL, "cron": "0 9 * * FRI"}},
    )


async def toss_below_the_criteria(h: Harness, company: str, reason: str | None) -> dict[str, Any] | None:
    answers = full_memo_answers(
        meeting_at=tokyo(12, 8, 14), first_contact_on=date(2026, 11, 2), fs_user_id=FS_USER
    )
    answers[MemoField.COMPANY] = company
    answers[MemoField.TIMELINE] = Timeline.OVER_12_MONTHS  # fails "within 6 months"
    state = memo_state(answers)
    if reason is not None:
        state[BlockId.CRITERIA_OVERRIDE] = {ActionId.CRITERIA_OVERRIDE: text_state(reason)}
    response = await h.driver.view_submission(
        CallbackId.HANDOFF_MEMO, state, user_id=IS_USER, private_metadata=memo_meta()
    )
    assert response.status == 200
    await settle(h)
    return response.json()


async def test_the_weekly_agenda_counts_warn_mode_overrides_as_the_hint_says(harness: Harness) -> None:
    h = harness
    h.clock.now = tokyo(12, 1, 10)
    refused = await toss_below_the_criteria(h, "Over KK", None)
    assert refused is not None and BlockId.CRITERIA_OVERRIDE in refused["errors"]
    # The promise, as the IS rep reads it under the reason's field (the team speaks Japanese).
    hint = t(Lang.JA, "memo.override.hint")
    assert "週次連携ミーティングのアジェンダ" in hint and "件数が集計" in hint
    for company, reason in REASONS.items():
        assert await toss_below_the_criteria(h, company, reason) is None
    # The IS rep's confirmation says it went out below the criteria, with their reason, as the notice does.
    confirmations = [
        block_text(call.args["blocks"])
        for call in h.slack.calls_to("chat.postMessage")
        if call.args["channel"].startswith("D")
        and "トスアップ基準を満たさないまま" in str(call.args["blocks"])
    ]
    assert len(confirmations) == 2
    assert all(any(reason in text for text in confirmations) for reason in REASONS.values())

    h.clock.now = tokyo(12, 4, 9, 0)
    await fire(h)
    (digest,) = await digests(h)
    agenda = WeeklyAgenda.model_validate(digest.content)
    assert {(o.company, o.reason) for o in agenda.collaboration.overrides} == set(REASONS.items())
    issues = block_text(meeting_posts(h)[4].args["blocks"])
    assert t(Lang.JA, "agenda.issues.overrides_title_count", count="2") in issues
    assert all(reason in issues for reason in REASONS.values())
    lead = json.dumps(meeting_posts(h)[0].args["blocks"], ensure_ascii=False)
    assert "基準未達" in lead  # the lead's topic count names overrides among what section 4 counts
