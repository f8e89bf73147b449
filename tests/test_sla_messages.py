"""Acceptance SLA messages (modals/sla.py): both languages, Slack limits, escaping, buttons."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.blocks import Block

from bot.domain.handoff import HandoffSnapshot, HandoffStatus
from bot.domain.memo import HandoffMemo
from bot.i18n import Lang, t
from modals.ids import ActionId, BlockId
from modals.limits import check_slack_limits
from modals.sla import SLA_ACTIONS_BLOCK_ID, build_sla_escalation, build_sla_reminder, format_duration

TOKYO = ZoneInfo("Asia/Tokyo")
CREATED = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # Fri 17:00 JST
DEADLINE = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Mon 10:00 JST
EVIL = "<!channel> & Co"
EVIL_ESCAPED = "&lt;!channel&gt; &amp; Co"
LANGS = list(Lang)


def handoff(
    company: str | None = "株式会社サンプル商事", fs_user_id: str | None = "U0FSREP01"
) -> HandoffSnapshot:
    return HandoffSnapshot(
        id=42,
        team_id="T0TEAM001",
        is_user_id="U0ISREP01",
        fs_user_id=fs_user_id,
        channel_id="C0FSCHANNEL",
        status=HandoffStatus.PENDING,
        memo=HandoffMemo(company=company, fs_user_id=fs_user_id),
        created_at=CREATED,
        notice_channel_id="C0FSCHANNEL",
        notice_ts="1700000000.000100",
    )


def dicts(blocks: list[Block]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks]


def all_text(text: str, blocks: list[Block]) -> str:
    return text + "\n" + json.dumps(dicts(blocks), ensure_ascii=False)


def reminder(lang: Lang, number: int = 1, **changes: Any) -> tuple[str, list[Block]]:
    return build_sla_reminder(
        handoff=handoff(**changes), lang=lang, tz=TOKYO, deadline=DEADLINE, number=number
    )


def escalation(
    lang: Lang, waited: timedelta = timedelta(days=1, hours=3), **changes: Any
) -> tuple[str, list[Block]]:
    return build_sla_escalation(
        handoff=handoff(**changes), lang=lang, tz=TOKYO, deadline=DEADLINE, waited=waited
    )


def buttons(blocks: list[Block]) -> list[dict[str, Any]]:
    actions = [b for b in dicts(blocks) if b["type"] == "actions"]
    assert len(actions) == 1
    assert actions[0]["block_id"] == SLA_ACTIONS_BLOCK_ID
    return actions[0]["elements"]


# ---------------------------------------------------------------- reminder


def test_reminder_ja_reads_naturally() -> None:
    text, blocks = reminder(Lang.JA)
    assert text == (
        "⏰ *株式会社サンプル商事* のトスアップがまだ受け入れ・差し戻しされていません"
        "（期限: 2026年11月23日(月) 10:00 JST）。"
    )
    body = all_text(text, blocks)
    assert "<@U0ISREP01>" in body
    assert "2026年11月20日(金) 17:00 JST" in body  # when it was tossed up
    assert "回目のリマインド" not in body


def test_reminder_en() -> None:
    text, blocks = reminder(Lang.EN)
    assert "*株式会社サンプル商事*" in text
    assert "has not been accepted or returned yet" in text
    assert "Mon, Nov 23, 2026 10:00 JST" in text
    assert [b["text"]["text"] for b in buttons(blocks)] == ["Accept", "Return to IS", "View memo"]


@pytest.mark.parametrize("lang", LANGS)
def test_repeated_reminder_says_which(lang: Lang) -> None:
    _, blocks = reminder(lang, number=3)
    assert "3" in json.dumps(dicts(blocks)[1], ensure_ascii=False)
    _, first = reminder(lang, number=1)
    assert len(dicts(first)[1]["elements"]) == 1
    assert len(dicts(blocks)[1]["elements"]) == 2


@pytest.mark.parametrize("lang", LANGS)
def test_reminder_buttons_reuse_the_notice_actions(lang: Lang) -> None:
    elements = buttons(reminder(lang)[1])
    assert [e["action_id"] for e in elements] == [
        ActionId.HANDOFF_ACCEPT,
        ActionId.HANDOFF_RETURN,
        ActionId.HANDOFF_VIEW,
    ]
    assert {e["value"] for e in elements} == {"42"}
    assert [e.get("style") for e in elements] == ["primary", "danger", None]
    assert SLA_ACTIONS_BLOCK_ID != BlockId.NOTICE_ACTIONS


def test_reminder_ja_buttons() -> None:
    assert [b["text"]["text"] for b in buttons(reminder(Lang.JA)[1])] == [
        "受け入れる",
        "ISへ差し戻す",
        "メモを見る",
    ]


# ---------------------------------------------------------------- escalation


def test_escalation_ja_assigned() -> None:
    text, blocks = escalation(Lang.JA)
    assert text == (
        "⚠️ *株式会社サンプル商事* のトスアップが、担当FS <@U0FSREP01> さんの受け入れ・差し戻しを"
        " 1日3時間 待っています（期限: 2026年11月23日(月) 10:00 JST）。"
    )
    body = all_text(text, blocks)
    assert "<@U0FSREP01> さん、対応をお願いします" in body
    assert "2026年11月20日(金) 17:00 JST" in body
    assert "<@U0ISREP01>" in body


@pytest.mark.parametrize("lang", LANGS)
def test_escalation_unassigned_names_nobody(lang: Lang) -> None:
    text, blocks = escalation(lang, fs_user_id=None)
    body = all_text(text, blocks)
    assert "<@U0FSREP01>" not in body
    assert ("未割り当て" if lang is Lang.JA else "no FS rep assigned") in text
    assert "<@U0ISREP01>" in body


def test_escalation_en() -> None:
    text, _ = escalation(Lang.EN, waited=timedelta(hours=5, minutes=30))
    assert "has been waiting 5 h 30 min for <@U0FSREP01>" in text
    assert "due Mon, Nov 23, 2026 10:00 JST" in text


@pytest.mark.parametrize("lang", LANGS)
def test_escalation_buttons_carry_the_handoff_id(lang: Lang) -> None:
    elements = buttons(escalation(lang)[1])
    assert [e["action_id"] for e in elements] == [
        ActionId.HANDOFF_ACCEPT,
        ActionId.HANDOFF_RETURN,
        ActionId.HANDOFF_VIEW,
    ]
    assert {e["value"] for e in elements} == {"42"}


# ---------------------------------------------------------------- shared


def every_message(lang: Lang, **changes: Any) -> list[tuple[str, list[Block]]]:
    return [
        reminder(lang, **changes),
        reminder(lang, number=5, **changes),
        escalation(lang, **changes),
        escalation(lang, **changes, fs_user_id=None),
    ]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("company", ["株式会社サンプル商事", EVIL, "&" * 400, None])
def test_within_slack_limits(lang: Lang, company: str | None) -> None:
    for text, blocks in every_message(lang, company=company):
        assert check_slack_limits(dicts(blocks)) == []
        assert text and len(text) <= 3000


@pytest.mark.parametrize("lang", LANGS)
def test_company_is_escaped(lang: Lang) -> None:
    for text, blocks in every_message(lang, company=EVIL):
        body = all_text(text, blocks)
        assert EVIL_ESCAPED in text
        assert "<!channel>" not in body


@pytest.mark.parametrize("lang", LANGS)
def test_long_company_is_cut_without_breaking_entities(lang: Lang) -> None:
    text, _ = reminder(lang, company="&" * 400)
    assert "&amp;" in text and "…" in text
    assert "&am…" not in text and "&a…" not in text and "&…" not in text


@pytest.mark.parametrize("lang", LANGS)
def test_missing_company_has_a_placeholder(lang: Lang) -> None:
    text, _ = reminder(lang, company=None)
    assert t(lang, "common.no_company") in text


# ---------------------------------------------------------------- format_duration


@pytest.mark.parametrize(
    ("delta", "ja", "en"),
    [
        (timedelta(days=1, hours=3), "1日3時間", "1 d 3 h"),
        (timedelta(days=1, hours=3, minutes=59), "1日3時間", "1 d 3 h"),
        (timedelta(days=2), "2日", "2 d"),
        (timedelta(days=2, minutes=30), "2日", "2 d"),
        (timedelta(hours=3, minutes=20), "3時間20分", "3 h 20 min"),
        (timedelta(hours=9), "9時間", "9 h"),
        (timedelta(minutes=45, seconds=59), "45分", "45 min"),
        (timedelta(seconds=59), "1分未満", "under a minute"),
        (timedelta(0), "1分未満", "under a minute"),
        (timedelta(hours=-2), "1分未満", "under a minute"),
    ],
)
def test_format_duration(delta: timedelta, ja: str, en: str) -> None:
    assert format_duration(delta, Lang.JA) == ja
    assert format_duration(delta, Lang.EN) == en
