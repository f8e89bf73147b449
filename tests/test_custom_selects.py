"""The team's own select fields (segment, region, deal size…): in the modal, parsed, validated, shown."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from bot.config import AppConfig
from bot.domain.handoff import HandoffStatus
from bot.domain.options import custom_problems
from bot.i18n import Lang
from modals.ids import CallbackId, custom_action_id, custom_block_id
from modals.limits import check_slack_limits
from modals.memo import build_memo_modal, memo_errors, parse_memo_submission
from modals.metadata import MemoModalMeta
from tests.conftest import FS_CHANNEL, Harness, team_config
from tests.memo_state import memo_state
from tests.slack_driver import static_state
from tests.test_tossup_flow import answers, memo_meta, only_handoff

SEGMENT = {
    "key": "segment",
    "label": {"ja": "セグメント", "en": "Segment"},
    "required": True,
    "options": [
        {"value": "enterprise", "label": {"ja": "エンタープライズ", "en": "Enterprise"}},
        {"value": "smb", "label": {"ja": "中小企業", "en": "SMB"}},
    ],
}
REGION = {
    "key": "region",
    "label": {"ja": "地域", "en": "Region"},
    "options": [{"value": "east", "label": {"ja": "東日本 <&>", "en": "East <&>"}}],
}
CONFIG = team_config(memo={"custom_selects": [SEGMENT, REGION]})


def custom_state(**chosen: str | None) -> dict[str, Any]:
    return {
        custom_block_id(key): {custom_action_id(key): static_state(value)} for key, value in chosen.items()
    }


@pytest.mark.parametrize("lang", list(Lang))
def test_modal_asks_each_custom_select_with_the_teams_labels(lang: Lang) -> None:
    view = build_memo_modal(lang=lang, config=CONFIG, meta=MemoModalMeta(lang=lang)).to_dict()
    assert check_slack_limits(view) == []
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    segment = inputs["custom_segment"]
    assert segment["label"]["text"] == ("セグメント" if lang is Lang.JA else "Segment")
    assert segment.get("optional", False) is False and inputs["custom_region"]["optional"] is True
    assert [o["value"] for o in segment["element"]["options"]] == ["enterprise", "smb"]


def test_answers_are_parsed_and_checked() -> None:
    values = {**memo_state({}), **custom_state(segment="enterprise", region=None)}
    memo = parse_memo_submission(values, config=CONFIG)
    assert memo.custom == {"segment": "enterprise"}
    assert memo.answer("segment") == "enterprise" and memo.answer("region") is None
    assert custom_problems(memo.custom, CONFIG.memo.custom_selects) == {}
    assert custom_problems({}, CONFIG.memo.custom_selects) == {"segment": "error.choose"}
    assert custom_problems({"segment": "galaxy"}, CONFIG.memo.custom_selects) == {
        "segment": "error.unknown_option"
    }
    errors = memo_errors([], Lang.EN, {"segment": "error.choose"})
    assert errors == {"custom_segment": "Please choose one."}


@pytest.mark.parametrize(
    ("selects", "message"),
    [
        ([SEGMENT, SEGMENT], "unique"),
        ([{**SEGMENT, "key": "company"}], "memo field names"),
        ([{**SEGMENT, "key": f"k{i}"} for i in range(6)], "at most 5"),
    ],
)
def test_bad_custom_selects_are_refused(selects: list[dict], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        team_config(memo={"custom_selects": selects})


@pytest.mark.parametrize("config", [CONFIG])
async def test_custom_answers_travel_to_the_notice(harness: Harness, config: AppConfig) -> None:
    h = harness
    missing = await h.driver.view_submission(
        CallbackId.HANDOFF_MEMO, memo_state(answers(h)), user_id="U0IS", private_metadata=memo_meta()
    )
    assert (missing.json() or {}).get("errors") == {"custom_segment": "選択してください。"}

    response = await h.driver.view_submission(
        CallbackId.HANDOFF_MEMO,
        {**memo_state(answers(h)), **custom_state(segment="enterprise", region="east")},
        user_id="U0IS",
        private_metadata=memo_meta(),
    )
    assert response.status == 200
    (notice,) = await h.slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == FS_CHANNEL)
    text = json.dumps(notice.args["blocks"], ensure_ascii=False)  # the channel speaks the team's ja
    assert "*セグメント:* エンタープライズ" in text and "東日本 &lt;&amp;&gt;" in text
    handoff = await only_handoff(h)
    assert handoff.memo.custom == {"segment": "enterprise", "region": "east"}
    assert handoff.status is HandoffStatus.PENDING
