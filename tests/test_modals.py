"""Block Kit builders and parsers of modals/: pure functions, no mocks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.config import AppConfig
from bot.domain.feedback import FollowUp
from bot.domain.handoff import HandoffSnapshot, HandoffStatus, ReturnReason
from bot.domain.kpi import compute_kpis, current_month
from bot.domain.memo import (
    MEMO_SECTIONS,
    MULTILINE_FIELDS,
    REQUIRED_FIELDS,
    TEXT_LIMITS,
    AuthorityLevel,
    BudgetStatus,
    HandoffMemo,
    MemoField,
    MemoSection,
    Temperature,
    Timeline,
    validate_memo,
)
from bot.domain.outcome import Outcome, OutcomeKind
from bot.domain.score import ScoreConfig, score_memo
from bot.i18n import Lang, t
from modals.decision import (
    QUESTION_MAX,
    RETURN_NOTE_MAX,
    ReturnSubmission,
    build_question_modal,
    build_return_modal,
    parse_question_submission,
    parse_return_submission,
    question_errors,
    return_errors,
)
from modals.home import build_home
from modals.ids import ActionId, BlockId, CallbackId, memo_action_id
from modals.limits import check_slack_limits
from modals.memo import (
    _blank_section_blocks,
    _memo_section,
    _section_blocks,
    build_memo_modal,
    memo_errors,
    parse_memo_submission,
)
from modals.memo_view import build_memo_view
from modals.messages import (
    build_already_decided,
    build_decision_dm,
    build_handoff_missing,
    build_help,
    build_internal_error,
    build_is_confirmation,
    build_not_allowed,
    build_question_message,
)
from modals.metadata import HandoffActionMeta, MemoModalMeta, dump_meta, load_meta
from modals.notice import build_notice
from modals.text import escape_mrkdwn, escape_within, format_date, format_datetime, lines_within, truncate
from tests.conftest import team_config
from tests.test_custom_selects import CONFIG as CUSTOM_SELECTS_CONFIG

TOKYO = ZoneInfo("Asia/Tokyo")
CONFIG = AppConfig(channels={"fs": "C0FSCHANNEL"}, timezone="Asia/Tokyo")
NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
EVIL = "<!channel> & Co"
EVIL_ESCAPED = "&lt;!channel&gt; &amp; Co"
LANGS = list(Lang)


# ---------------------------------------------------------------- samples


def sample_memo(**changes: Any) -> HandoffMemo:
    """A realistic memo as an IS rep would write it, every field answered."""
    memo = HandoffMemo(
        company="株式会社サンプル商事",
        contact_name="山田 太郎",
        contact_title="経理部 部長",
        contact_email="taro.yamada@sample.example.co.jp",
        contact_phone="03-1234-5678",
        meeting_at=datetime(2026, 12, 1, 5, 0, tzinfo=UTC),  # 14:00 JST
        crm_url="https://crm.example.com/accounts/42?tab=history&view=full",
        lead_source="seminar",
        campaign="11月 経理業務効率化セミナー",
        fs_user_id="U0FSREP01",
        budget_status=BudgetStatus.PLANNED,
        budget_note="年間300万円程度。来期予算で申請予定（4月確定）",
        authority=AuthorityLevel.INFLUENCER,
        decision_maker="佐藤 専務取締役",
        need="月末の請求書発行に3人×3日かかっており、1日に短縮したい",
        timeline=Timeline.MONTHS_3_TO_6,
        current_issue="請求データを手作業で転記しており、毎月10件ほど誤請求が発生している",
        background="販売管理と会計のシステムが連携しておらず、CSVを手で加工している",
        impact="誤請求の対応で顧客満足度が低下。経理の残業が月40時間",
        expected_effect="締め作業を3日から1日に短縮し、誤請求をゼロに",
        trigger="インボイス制度への対応で現行運用が限界",
        competitors="A社を比較検討中。価格とサポート体制を重視",
        concerns="情報システム部のセキュリティ審査に2ヶ月",
        decision_process="部長が起案 → 専務が決裁。300万円超は取締役会",
        first_contact_on=date(2026, 10, 5),
        interactions="10/5 電話で課題ヒアリング。11/12 オンラインデモ、請求連携に強い関心",
        temperature=Temperature.HOT,
        value_to_stress="会計システムとの自動連携",
        topics_to_avoid="前回導入したツールの失敗",
        other_notes="商談は先方オフィス。佐藤専務は後半15分のみ同席",
        handoff_call_wanted=True,
    )
    return memo.model_copy(update=changes)


def sample_handoff(status: HandoffStatus = HandoffStatus.PENDING, **memo_changes: Any) -> HandoffSnapshot:
    decided = status is not HandoffStatus.PENDING
    returned = status is HandoffStatus.RETURNED
    return HandoffSnapshot(
        id=42,
        team_id="T0TEAM001",
        is_user_id="U0ISREP01",
        fs_user_id="U0FSREP01",
        channel_id="C0FSCHANNEL",
        status=status,
        memo=sample_memo(**memo_changes),
        created_at=NOW,
        decided_by="U0FSREP01" if decided else None,
        decided_at=NOW + timedelta(hours=2) if decided else None,
        return_reason=ReturnReason.INFO_MISSING if returned else None,
        return_note="決裁プロセスを確認してから再度お願いします" if returned else None,
        notice_channel_id="C0FSCHANNEL",
        notice_ts="1700000000.000100",
    )


def slack_state(memo: HandoffMemo) -> dict[str, Any]:
    """The `view.state.values` Slack sends for a modal filled in with `memo`."""

    def option(value: str) -> dict[str, Any]:
        return {"selected_option": {"text": {"type": "plain_text", "text": value}, "value": value}}

    values: dict[str, Any] = {}
    for field in MemoField:
        value = memo.value(field)
        if field is MemoField.MEETING_AT:
            state = {"type": "datetimepicker", "selected_date_time": int(value.timestamp())}
        elif field is MemoField.FIRST_CONTACT_ON:
            state = {"type": "datepicker", "selected_date": value.isoformat()}
        elif field is MemoField.FS_USER_ID:
            state = {"type": "users_select", "selected_user": value}
        elif field is MemoField.HANDOFF_CALL_WANTED:
            state = {"type": "radio_buttons", **option("yes" if value else "no")}
        elif isinstance(value, str) and field not in TEXT_LIMITS:
            state = {"type": "static_select", **option(value)}
        else:
            state = {"type": "plain_text_input", "value": f"  {value}\n"}
        values[field.value] = {memo_action_id(field): state}
    return values


# ---------------------------------------------------------------- dict walking


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for child in node.values():
            yield from walk(child)
    elif isinstance(node, list):
        for child in node:
            yield from walk(child)


def texts(payload: Any, kind: str) -> list[str]:
    return [d["text"] for d in walk(payload) if d.get("type") == kind and isinstance(d.get("text"), str)]


def blocks_dict(blocks: list[Block]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks]


def view_dict(view: View) -> dict[str, Any]:
    """The view as Slack receives it, after slack_sdk's own validation and ours."""
    data = view.to_dict()
    assert View(**data).to_dict() == data
    assert check_slack_limits(data) == []
    return data


def message_dict(message: tuple[str, list[Block]]) -> tuple[str, list[dict[str, Any]]]:
    text, blocks = message
    data = blocks_dict(blocks)
    assert text
    assert check_slack_limits(data) == []
    return text, data


def memo_meta(lang: Lang) -> MemoModalMeta:
    return MemoModalMeta(channel_id="C0WHERE01", lang=lang)


def action_meta(lang: Lang) -> HandoffActionMeta:
    return HandoffActionMeta(
        handoff_id=42, channel_id="C0FSCHANNEL", message_ts="1700000000.000100", lang=lang
    )


def input_blocks(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def all_messages(handoff: HandoffSnapshot, lang: Lang) -> list[tuple[str, list[Block]]]:
    return [
        build_notice(handoff=handoff, lang=lang, tz=TOKYO, config=CONFIG),
        build_is_confirmation(
            handoff=handoff, lang=lang, permalink="https://x.slack.com/archives/C1/p1?a=1&b=2"
        ),
        build_is_confirmation(handoff=handoff, lang=lang, permalink=None),
        build_decision_dm(handoff=handoff, lang=lang, tz=TOKYO),
        build_question_message(
            handoff=handoff, lang=lang, asker_id="U0FSREP01", question="予算は<確定>ですか？"
        ),
        build_not_allowed(lang=lang, assignee_id="U0FSREP01"),
        build_not_allowed(lang=lang, assignee_id=None),
        build_already_decided(handoff=handoff, lang=lang),
        build_help(lang=lang),
        build_handoff_missing(lang=lang),
        build_internal_error(lang=lang),
    ]


# ---------------------------------------------------------------- every payload is valid Slack


@pytest.mark.parametrize("lang", LANGS)
def test_every_view_passes_slack_sdk_and_limits(lang: Lang) -> None:
    for status in HandoffStatus:
        handoff = sample_handoff(status)
        views = [
            build_memo_modal(lang=lang, config=CONFIG, meta=memo_meta(lang), prefill_company=EVIL, now=NOW),
            build_memo_modal(lang=lang, config=CONFIG, meta=memo_meta(lang)),
            build_return_modal(lang=lang, meta=action_meta(lang), company=EVIL),
            build_question_modal(lang=lang, meta=action_meta(lang), company=EVIL),
            build_memo_view(handoff=handoff, lang=lang, tz=TOKYO, config=CONFIG, with_history=True),
        ]
        for view in views:
            data = view_dict(view)
            assert data["type"] == "modal"
            assert len(data["title"]["text"]) <= 24


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("status", list(HandoffStatus))
def test_every_message_passes_limits(lang: Lang, status: HandoffStatus) -> None:
    for message in all_messages(sample_handoff(status), lang):
        message_dict(message)


# ---------------------------------------------------------------- memo modal


@pytest.mark.parametrize("lang", LANGS)
def test_memo_modal_has_an_input_per_field_in_template_order(lang: Lang) -> None:
    view = view_dict(build_memo_modal(lang=lang, config=CONFIG, meta=memo_meta(lang)))
    assert view["callback_id"] == CallbackId.HANDOFF_MEMO == "handoff_memo"
    assert view["submit"]["text"] and view["close"]["text"]
    inputs = input_blocks(view)
    assert list(inputs) == [f.value for f in MemoField]
    for field in MemoField:
        block = inputs[field.value]
        assert block["element"]["action_id"] == f"memo_{field.value}"
        assert block.get("optional", False) is (field not in REQUIRED_FIELDS)
        assert block["label"]["text"] == t(lang, f"memo.field.{field.value}.label")
        assert block["hint"]["text"] == t(lang, f"memo.field.{field.value}.hint")
    headers = [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]
    assert headers == [t(lang, f"memo.section.{s.value}.title") for s in MEMO_SECTIONS]
    assert all(h.startswith("■") for h in headers)


@pytest.mark.parametrize("lang", LANGS)
def test_memo_modal_elements_match_field_types(lang: Lang) -> None:
    inputs = input_blocks(view_dict(build_memo_modal(lang=lang, config=CONFIG, meta=memo_meta(lang))))
    kinds = {f: inputs[f.value]["element"]["type"] for f in MemoField}
    assert kinds[MemoField.CONTACT_EMAIL] == "email_text_input"
    assert kinds[MemoField.CRM_URL] == "url_text_input"
    assert kinds[MemoField.MEETING_AT] == "datetimepicker"
    assert kinds[MemoField.FIRST_CONTACT_ON] == "datepicker"
    assert kinds[MemoField.FS_USER_ID] == "users_select"
    assert kinds[MemoField.HANDOFF_CALL_WANTED] == "radio_buttons"
    for field in (MemoField.LEAD_SOURCE, MemoField.BUDGET_STATUS, MemoField.AUTHORITY, MemoField.TIMELINE):
        assert kinds[field] == "static_select"
    assert kinds[MemoField.TEMPERATURE] == "static_select"
    for field, limit in TEXT_LIMITS.items():
        element = inputs[field.value]["element"]
        if element["type"] == "plain_text_input":
            assert element["max_length"] == limit
            assert element.get("multiline", False) is (field in MULTILINE_FIELDS)
    lead = inputs[MemoField.LEAD_SOURCE.value]["element"]["options"]
    assert [(o["value"], o["text"]["text"]) for o in lead] == [
        (o.value, o.label.get(lang)) for o in CONFIG.memo.lead_sources
    ]
    budget = inputs[MemoField.BUDGET_STATUS.value]["element"]["options"]
    assert [o["value"] for o in budget] == [m.value for m in BudgetStatus]
    assert budget[0]["text"]["text"] == t(lang, "budget_status.confirmed")
    call = inputs[MemoField.HANDOFF_CALL_WANTED.value]["element"]
    assert call["initial_option"]["value"] == "no"
    assert [o["value"] for o in call["options"]] == ["yes", "no"]


@pytest.mark.parametrize("lang", LANGS)
def test_memo_modal_prefills_company_and_carries_metadata(lang: Lang) -> None:
    view = view_dict(
        build_memo_modal(lang=lang, config=CONFIG, meta=memo_meta(lang), prefill_company=f"  {EVIL} ")
    )
    assert input_blocks(view)["company"]["element"]["initial_value"] == EVIL  # plain_text: no escaping
    assert load_meta(MemoModalMeta, view["private_metadata"]) == memo_meta(lang)
    bare = view_dict(build_memo_modal(lang=lang, config=CONFIG, meta=memo_meta(lang), prefill_company="  "))
    assert "initial_value" not in input_blocks(bare)["company"]["element"]
    long = view_dict(
        build_memo_modal(lang=lang, config=CONFIG, meta=memo_meta(lang), prefill_company="x" * 500)
    )
    assert len(input_blocks(long)["company"]["element"]["initial_value"]) <= TEXT_LIMITS[MemoField.COMPANY]


def test_memo_modal_shows_team_time_when_now_is_given() -> None:
    view = view_dict(build_memo_modal(lang=Lang.EN, config=CONFIG, meta=memo_meta(Lang.EN), now=NOW))
    assert "Fri, Nov 20, 2026 10:00 JST" in json.dumps(view)


def test_parse_full_state_gives_the_memo() -> None:
    memo = sample_memo()
    assert parse_memo_submission(slack_state(memo), config=CONFIG) == memo
    parsed = parse_memo_submission(slack_state(sample_memo(handoff_call_wanted=False)), config=CONFIG)
    assert parsed.handoff_call_wanted is False
    assert parsed.meeting_at is not None and parsed.meeting_at.tzinfo is not None
    assert parsed.meeting_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "values", [{}, None, [], "junk", {"company": None}, {"company": {"memo_company": "x"}}]
)
def test_parse_empty_or_junk_state_gives_nones(values: Any) -> None:
    assert parse_memo_submission(values, config=CONFIG) == HandoffMemo()


def test_parse_odd_values_never_raises() -> None:
    odd = {
        "company": {"memo_company": {"type": "plain_text_input", "value": "   \n "}},
        "contact_name": {"memo_contact_name": {"type": "plain_text_input", "value": 123}},
        "meeting_at": {"memo_meeting_at": {"selected_date_time": True}},
        "first_contact_on": {"memo_first_contact_on": {"selected_date": "2026-13-45"}},
        "budget_status": {"memo_budget_status": {"selected_option": {"value": "lots"}}},
        "authority": {"memo_authority": {"selected_option": None}},
        "timeline": {"memo_timeline": {"selected_option": {"value": None}}},
        "temperature": {"memo_temperature": {"selected_option": "hot"}},
        "fs_user_id": {"memo_fs_user_id": {"selected_user": None}},
        "handoff_call_wanted": {"memo_handoff_call_wanted": {"selected_option": {"value": "maybe"}}},
        "need": {"wrong_action_id": {"value": "x"}},
    }
    assert parse_memo_submission(odd, config=CONFIG) == HandoffMemo()
    for raw in (10**20, -(10**20), "1700000000", 1.5e300):
        state = {"meeting_at": {"memo_meeting_at": {"selected_date_time": raw}}}
        assert parse_memo_submission(state, config=CONFIG).meeting_at is None


def test_unknown_lead_source_survives_parsing_for_validation_to_report() -> None:
    state = slack_state(sample_memo(lead_source="fax_campaign"))
    memo = parse_memo_submission(state, config=CONFIG)
    assert memo.lead_source == "fax_campaign"
    problems = validate_memo(memo, now=NOW, team_tz=TOKYO, allowed_lead_sources=CONFIG.lead_source_values)
    assert memo_errors(problems, Lang.EN) == {"lead_source": t(Lang.EN, "error.unknown_option")}


@pytest.mark.parametrize("lang", LANGS)
def test_memo_errors_are_keyed_by_input_block_ids(lang: Lang) -> None:
    view = view_dict(build_memo_modal(lang=lang, config=CONFIG, meta=memo_meta(lang)))
    problems = validate_memo(HandoffMemo(), now=NOW, team_tz=TOKYO)
    errors = memo_errors(problems, lang)
    assert set(errors) == {f.value for f in REQUIRED_FIELDS}
    assert set(errors) <= set(input_blocks(view))
    assert set(errors.values()) == {t(lang, "error.required"), t(lang, "error.choose")}
    assert errors["meeting_at"] == t(lang, "error.choose") and errors["need"] == t(lang, "error.required")

    bad = sample_memo(
        need="x" * 2001,
        contact_email="not-an-email",
        crm_url="ftp:/nowhere",
        meeting_at=NOW - timedelta(days=1),
        first_contact_on=date(2027, 1, 1),
    )
    errors = memo_errors(validate_memo(bad, now=NOW, team_tz=TOKYO), lang)
    assert set(errors) == {"need", "contact_email", "crm_url", "meeting_at", "first_contact_on"}
    assert "2000" in errors["need"] and "2001" in errors["need"]
    assert errors["meeting_at"] == t(lang, "error.meeting_in_past")


# ---------------------------------------------------------------- escaping


def assert_escaped(fallback: str, payload: Any) -> None:
    mrkdwn = [fallback, *texts(payload, "mrkdwn")]
    assert any(EVIL_ESCAPED in text for text in mrkdwn)
    assert not any("<!channel>" in text for text in mrkdwn)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("status", list(HandoffStatus))
def test_company_is_escaped_in_notice_and_messages(lang: Lang, status: HandoffStatus) -> None:
    handoff = sample_handoff(status, company=EVIL, need=f"need {EVIL}", current_issue=EVIL)
    notice = build_notice(handoff=handoff, lang=lang, tz=TOKYO)
    assert_escaped(*message_dict(notice))
    for message in (
        build_is_confirmation(handoff=handoff, lang=lang, permalink="https://x.slack.com/archives/C1/p1"),
        build_is_confirmation(handoff=handoff, lang=lang, permalink=None),
        build_decision_dm(handoff=handoff, lang=lang, tz=TOKYO),
        build_question_message(handoff=handoff, lang=lang, asker_id="U0FSREP01", question=EVIL),
        build_already_decided(handoff=handoff, lang=lang),
    ):
        assert_escaped(*message_dict(message))
    view = view_dict(build_memo_view(handoff=handoff, lang=lang, tz=TOKYO, config=CONFIG, with_history=True))
    assert_escaped("", view)


@pytest.mark.parametrize("lang", LANGS)
def test_decision_modals_escape_company_and_notes(lang: Lang) -> None:
    for view in (
        build_return_modal(lang=lang, meta=action_meta(lang), company=EVIL),
        build_question_modal(lang=lang, meta=action_meta(lang), company=EVIL),
    ):
        assert_escaped("", view_dict(view))
    returned = replace(sample_handoff(HandoffStatus.RETURNED), return_note=EVIL)
    assert_escaped(*message_dict(build_decision_dm(handoff=returned, lang=lang, tz=TOKYO)))
    assert_escaped(*message_dict(build_notice(handoff=returned, lang=lang, tz=TOKYO)))


def test_question_is_shown_literally_in_plain_text() -> None:
    handoff = sample_handoff()
    text, blocks = message_dict(
        build_question_message(handoff=handoff, lang=Lang.JA, asker_id="U0FSREP01", question=EVIL)
    )
    assert EVIL in texts(blocks, "plain_text")
    assert "<@U0ISREP01>" in blocks[0]["text"]["text"] and "<@U0FSREP01>" in blocks[0]["text"]["text"]
    assert "<@U0ISREP01>" in text


# ---------------------------------------------------------------- notice


def notice_buttons(status: HandoffStatus, lang: Lang = Lang.EN) -> list[dict[str, Any]]:
    _, blocks = message_dict(build_notice(handoff=sample_handoff(status), lang=lang, tz=TOKYO))
    actions = [b for b in blocks if b["type"] == "actions"]
    assert len(actions) == 1 and actions[0]["block_id"] == BlockId.NOTICE_ACTIONS == "notice_actions"
    return actions[0]["elements"]


@pytest.mark.parametrize("lang", LANGS)
def test_pending_notice_offers_every_decision(lang: Lang) -> None:
    buttons = notice_buttons(HandoffStatus.PENDING, lang)
    assert [b["action_id"] for b in buttons] == [
        "handoff_accept",
        "handoff_ask",
        "handoff_return",
        "handoff_view_memo",
    ]
    assert {b["value"] for b in buttons} == {"42"}
    styles = {b["action_id"]: b.get("style") for b in buttons}
    assert styles == {
        ActionId.HANDOFF_ACCEPT: "primary",
        ActionId.HANDOFF_ASK: None,
        ActionId.HANDOFF_RETURN: "danger",
        ActionId.HANDOFF_VIEW: None,
    }


def test_returned_notice_keeps_only_view_memo() -> None:
    assert [b["action_id"] for b in notice_buttons(HandoffStatus.RETURNED)] == ["handoff_view_memo"]


def test_accepted_notice_offers_rating_and_outcome_so_fs_need_not_wait_for_the_dm() -> None:
    assert [b["action_id"] for b in notice_buttons(HandoffStatus.ACCEPTED)] == [
        "feedback_open",
        "outcome_open",
        "handoff_view_memo",
    ]


def test_notice_content_en() -> None:
    text, blocks = message_dict(
        build_notice(
            handoff=sample_handoff(HandoffStatus.RETURNED),
            lang=Lang.EN,
            tz=TOKYO,
            config=CONFIG,
        )
    )
    body = json.dumps(blocks, ensure_ascii=False)
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Toss-up: 株式会社サンプル商事", "emoji": True},
    }
    for expected in (
        "<@U0ISREP01>",
        "<@U0FSREP01>",
        "Tue, Dec 1, 2026 14:00 JST",
        "Seminar / event",
        "Budget planned",
        "Influencer",
        "3–6 months",
        "Hot",
        "handoff call",
        "Returned to IS by <@U0FSREP01> at Fri, Nov 20, 2026 12:00 JST: Handoff information missing — ",
    ):
        assert expected in body
    assert "株式会社サンプル商事" in text


def test_notice_accepted_and_unassigned_ja() -> None:
    handoff = replace(sample_handoff(HandoffStatus.ACCEPTED), fs_user_id=None)
    _, blocks = message_dict(build_notice(handoff=handoff, lang=Lang.JA, tz=TOKYO))
    body = json.dumps(blocks, ensure_ascii=False)
    assert "未割り当て" in body
    assert "✅ <@U0FSREP01> が受け入れました（2026年11月20日(金) 12:00 JST）" in body


def worst_case_memo() -> HandoffMemo:
    """Every text at its limit, made of characters that grow when escaped."""
    return sample_memo(**{f.value: ("&<>" * 1000)[:limit] for f, limit in TEXT_LIMITS.items()})


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("status", list(HandoffStatus))
def test_long_texts_are_truncated_within_limits(lang: Lang, status: HandoffStatus) -> None:
    handoff = replace(sample_handoff(status), memo=worst_case_memo(), return_note="&" * 1000)
    _, blocks = message_dict(build_notice(handoff=handoff, lang=lang, tz=TOKYO))
    assert len(json.dumps(blocks, ensure_ascii=False)) < 6000
    assert "…" in json.dumps(blocks, ensure_ascii=False)
    view = view_dict(build_memo_view(handoff=handoff, lang=lang, tz=TOKYO, config=CONFIG, with_history=True))
    assert len(view["blocks"]) <= 100
    for message in all_messages(handoff, lang):
        message_dict(message)
    long_question = "&" * QUESTION_MAX
    message_dict(
        build_question_message(handoff=handoff, lang=lang, asker_id="U0FSREP01", question=long_question)
    )


def test_memo_view_shows_every_field_under_its_section() -> None:
    view = view_dict(
        build_memo_view(handoff=sample_handoff(), lang=Lang.JA, tz=TOKYO, config=CONFIG, with_history=True)
    )
    assert view["callback_id"] == CallbackId.MEMO_VIEW
    assert "submit" not in view
    body = json.dumps(view, ensure_ascii=False)
    for field in MemoField:
        assert f"*{t(Lang.JA, f'memo.field.{field.value}.label')}*" in body
    assert "2026年10月5日(月)" in body and "セミナー・イベント" in body and "はい" in body
    empty = view_dict(
        build_memo_view(
            handoff=replace(sample_handoff(), memo=HandoffMemo()),
            lang=Lang.EN,
            tz=TOKYO,
            config=CONFIG,
            with_history=True,
        )
    )
    assert json.dumps(empty).count("\\n\\u2014") >= len(MemoField) - 1  # "—" for every empty answer


# ---------------------------------------------------------------- return and question modals


@pytest.mark.parametrize("lang", LANGS)
def test_return_modal(lang: Lang) -> None:
    view = view_dict(build_return_modal(lang=lang, meta=action_meta(lang), company="サンプル商事"))
    assert view["callback_id"] == "handoff_return_reason"
    assert load_meta(HandoffActionMeta, view["private_metadata"]) == action_meta(lang)
    inputs = input_blocks(view)
    reason, note = inputs["return_reason"], inputs["return_note"]
    assert not reason.get("optional") and not note.get("optional")
    assert [o["value"] for o in reason["element"]["options"]] == [r.value for r in ReturnReason]
    assert note["element"]["multiline"] is True and note["element"]["max_length"] == RETURN_NOTE_MAX


def test_parse_return_submission_and_errors() -> None:
    values = {
        "return_reason": {"return_reason": {"selected_option": {"value": "too_early"}}},
        "return_note": {"return_note": {"value": "  もう少し育成が必要です \n"}},
    }
    sub = parse_return_submission(values)
    assert sub == ReturnSubmission(reason=ReturnReason.TOO_EARLY, note="もう少し育成が必要です")
    assert return_errors(sub, Lang.JA) == {}
    empty = parse_return_submission({})
    assert empty == ReturnSubmission(reason=None, note=None)
    assert set(return_errors(empty, Lang.EN)) == {"return_reason", "return_note"}
    odd = parse_return_submission(
        {"return_reason": {"return_reason": {"selected_option": {"value": "bored"}}}}
    )
    assert odd.reason is None
    too_long = ReturnSubmission(reason=ReturnReason.OTHER, note="x" * (RETURN_NOTE_MAX + 1))
    assert return_errors(too_long, Lang.EN) == {
        "return_note": t(Lang.EN, "error.too_long", limit=RETURN_NOTE_MAX, length=RETURN_NOTE_MAX + 1)
    }


@pytest.mark.parametrize("lang", LANGS)
def test_question_modal_and_parse(lang: Lang) -> None:
    view = view_dict(build_question_modal(lang=lang, meta=action_meta(lang), company="サンプル商事"))
    assert view["callback_id"] == "handoff_question"
    element = input_blocks(view)["question_text"]["element"]
    assert element["action_id"] == "question_text" and element["max_length"] == QUESTION_MAX
    assert (
        parse_question_submission({"question_text": {"question_text": {"value": " 決裁者は？ "}}})
        == "決裁者は？"
    )
    assert parse_question_submission({"question_text": None}) is None
    assert question_errors(None, lang) == {"question_text": t(lang, "error.required")}
    assert question_errors("ok", lang) == {}
    assert set(question_errors("x" * (QUESTION_MAX + 1), lang)) == {"question_text"}


# ---------------------------------------------------------------- messages


def test_is_confirmation_links_the_notice_or_says_it_is_saved() -> None:
    handoff = sample_handoff()
    text, _ = message_dict(
        build_is_confirmation(handoff=handoff, lang=Lang.EN, permalink="https://x.slack.com/p1?a=1&b=2")
    )
    assert "<#C0FSCHANNEL>" in text and "<https://x.slack.com/p1?a=1&amp;b=2|open notice>" in text
    saved, _ = message_dict(build_is_confirmation(handoff=handoff, lang=Lang.EN, permalink=None))
    assert "saved" in saved and "<#C0FSCHANNEL>" in saved


@pytest.mark.parametrize("lang", LANGS)
def test_decision_dm(lang: Lang) -> None:
    accepted, accepted_blocks = message_dict(
        build_decision_dm(handoff=sample_handoff(HandoffStatus.ACCEPTED), lang=lang, tz=TOKYO)
    )
    assert "<@U0FSREP01>" in accepted and "/tossup" not in accepted
    assert not [b for b in accepted_blocks if b["type"] == "actions"]
    returned, blocks = message_dict(
        build_decision_dm(handoff=sample_handoff(HandoffStatus.RETURNED), lang=lang, tz=TOKYO)
    )
    assert t(lang, "return_reason.info_missing") in returned
    assert "決裁プロセスを確認してから再度お願いします" in returned
    # what to do next: revise the memo, opened with everything already written
    assert t(lang, "message.button.revise") in returned
    (actions,) = [b for b in blocks if b["type"] == "actions"]
    assert actions["elements"][0]["action_id"] == ActionId.HANDOFF_REVISE


@pytest.mark.parametrize("lang", LANGS)
def test_memo_modal_prefilled_from_an_earlier_memo(lang: Lang) -> None:
    memo = sample_memo(handoff_call_wanted=True, fs_user_id="U0FSREP01")
    meta = MemoModalMeta(channel_id="C0GENERAL", lang=lang, revises=7)
    view = view_dict(build_memo_modal(lang=lang, config=CONFIG, meta=meta, prefill=memo, now=NOW))
    # what Slack would send back if the rep submitted it untouched: the very same memo
    values = {
        block["block_id"]: {block["element"]["action_id"]: initial_state(block["element"])}
        for block in input_blocks(view).values()
    }
    assert parse_memo_submission(values, config=CONFIG) == memo
    assert t(lang, "memo.revising") in json.dumps(view, ensure_ascii=False)


def initial_state(element: dict[str, Any]) -> dict[str, Any]:
    """The state Slack reports for an element nobody touched: its initial value."""
    kind = element["type"]
    if kind in ("static_select", "radio_buttons"):
        return {"type": kind, "selected_option": element.get("initial_option")}
    if kind == "users_select":
        return {"type": kind, "selected_user": element.get("initial_user")}
    if kind == "datepicker":
        return {"type": kind, "selected_date": element.get("initial_date")}
    if kind == "datetimepicker":
        return {"type": kind, "selected_date_time": element.get("initial_date_time")}
    return {"type": kind, "value": element.get("initial_value")}


def test_not_allowed_names_the_assignee() -> None:
    assigned, _ = message_dict(build_not_allowed(lang=Lang.EN, assignee_id="U0FSREP01"))
    assert "<@U0FSREP01>" in assigned and "manager" in assigned
    nobody, _ = message_dict(build_not_allowed(lang=Lang.JA, assignee_id=None))
    assert "マネージャー" in nobody


@pytest.mark.parametrize("lang", LANGS)
def test_help_explains_the_commands(lang: Lang) -> None:
    text, _ = message_dict(build_help(lang=lang))
    assert "`/tossup`" in text and "`/tossup help`" in text


# ---------------------------------------------------------------- text helpers and metadata


def test_escape_and_truncate() -> None:
    assert escape_mrkdwn(EVIL) == EVIL_ESCAPED
    assert truncate("abcdef", 10) == "abcdef"
    assert truncate("abcdef", 4) == "abc…" and len(truncate("a" * 100, 10)) == 10
    assert escape_within("a&b", 100) == "a&amp;b"
    cut = escape_within("&" * 100, 12)
    assert cut == "&amp;&amp;…" and len(cut) <= 12


def test_format_datetime_and_date() -> None:
    dt = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    assert format_datetime(dt, TOKYO, Lang.JA) == "2026年12月1日(火) 14:00 JST"
    assert format_datetime(dt, TOKYO, Lang.EN) == "Tue, Dec 1, 2026 14:00 JST"
    assert format_datetime(dt, ZoneInfo("America/New_York"), Lang.EN) == "Tue, Dec 1, 2026 00:00 EST"
    assert format_datetime(dt, ZoneInfo("Asia/Dubai"), Lang.EN).endswith("09:00 Asia/Dubai")
    assert format_date(date(2026, 12, 1), Lang.JA) == "2026年12月1日(火)"
    assert format_date(date(2026, 12, 1), Lang.EN) == "Tue, Dec 1, 2026"


@pytest.mark.parametrize(
    "raw", [None, "", "{", "[]", "null", '{"lang": "fr"}', '{"handoff_id": "x", "lang": "ja"}']
)
def test_load_meta_refuses_junk(raw: str | None) -> None:
    with pytest.raises(ValueError):
        load_meta(HandoffActionMeta, raw)


def test_meta_round_trip() -> None:
    assert load_meta(HandoffActionMeta, dump_meta(action_meta(Lang.JA))) == action_meta(Lang.JA)
    with pytest.raises(ValueError):
        dump_meta(MemoModalMeta(channel_id="C" * 3000, lang=Lang.EN))


# ---------------------------------------------------------------- the limit checker itself


def test_limit_checker_catches_what_slack_sdk_misses() -> None:
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "x" * 25},
        "private_metadata": "m" * 3001,
        "blocks": [
            {
                "type": "input",
                "block_id": "b" * 256,
                "label": {"type": "plain_text", "text": "l"},
                "element": {"type": "plain_text_input", "action_id": "a", "max_length": 5000},
            },
            {
                "type": "input",
                "label": {"type": "plain_text", "text": "l"},
                "element": {
                    "type": "static_select",
                    "action_id": "s",
                    "options": [{"text": {"type": "plain_text", "text": "o" * 76}, "value": "v" * 151}],
                },
            },
            {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}},
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "action_id": "x", "text": {"type": "plain_text", "text": "b" * 76}}
                ],
            },
        ],
    }
    problems = check_slack_limits(view)
    for what in (
        "title",
        "private_metadata",
        "block_id",
        "max_length",
        "option text",
        "option value",
        "header text",
        "section text",
        "button text",
    ):
        assert any(what in p for p in problems), what
    assert check_slack_limits([{"type": "divider"}] * 51) == ["blocks: block count is 51, limit 50"]
    assert check_slack_limits({"type": "modal", "blocks": [{"type": "divider"}] * 100}) == []


# ---------------------------------------------------------------- App Home


@pytest.mark.parametrize("lang", LANGS)
def test_home_lists_both_roles_escaped_and_within_limits(lang: Lang) -> None:
    mine = [sample_handoff(status, company=EVIL) for status in HandoffStatus]
    waiting = [sample_handoff(HandoffStatus.PENDING, company="Globex")]
    view = build_home(lang=lang, tz=TOKYO, tossed_up=mine, waiting=waiting).to_dict()
    View(**view).to_dict()
    assert view["type"] == "home" and check_slack_limits(view) == []
    assert_escaped("", view)
    assert "Globex" in json.dumps(view, ensure_ascii=False)


@pytest.mark.parametrize("lang", LANGS)
def test_home_shows_each_toss_ups_score_once_scored(lang: Lang) -> None:
    scored = replace(
        sample_handoff(HandoffStatus.ACCEPTED), score=score_memo(sample_handoff().memo, ScoreConfig())
    )
    view = build_home(lang=lang, tz=TOKYO, tossed_up=[scored, sample_handoff()], waiting=[]).to_dict()
    assert scored.score is not None
    shown = json.dumps(view, ensure_ascii=False)
    assert f"{scored.score.total}/70" in shown and shown.count("/70") == 1


def test_home_lines_link_their_notice_say_won_or_lost_and_mark_what_is_overdue() -> None:
    accepted = sample_handoff(HandoffStatus.ACCEPTED)
    won = replace(accepted, id=1, notice_channel_id="C0FS", notice_ts="1.000200")
    lost = replace(accepted, id=2, notice_channel_id=None, notice_ts=None)
    open_one = replace(sample_handoff(HandoffStatus.ACCEPTED), id=3)
    late = replace(sample_handoff(HandoffStatus.PENDING), id=4)
    view = build_home(
        lang=Lang.EN,
        tz=TOKYO,
        tossed_up=[won, lost, open_one],
        waiting=[late],
        outcomes={1: OutcomeKind.WON, 2: OutcomeKind.LOST, 3: OutcomeKind.OPEN},
        overdue=frozenset({4}),
        workspace_url="https://acme.slack.com/",
    ).to_dict()
    lines = [
        line
        for block in view["blocks"]
        if block["type"] == "section" and "text" in block
        for line in block["text"]["text"].split("\n")
        if line.startswith("•")
    ]
    mine, waiting = lines[1:], lines[:1]  # waiting for a decision comes first
    assert "<https://acme.slack.com/archives/C0FS/p1000200|" in mine[0] and " — Won " in mine[0]
    assert " — Lost " in mine[1] and "<https://" not in mine[1]  # no notice posted: no link
    assert " — Accepted " in mine[2]  # still open: the decision stands
    assert " — Waiting for FS ⏰ past its deadline (meeting: " in waiting[0]
    assert not any("⏰" in line for line in mine)


@pytest.mark.parametrize("lang", LANGS)
def test_ten_long_linked_overdue_lines_stay_within_slacks_limits(lang: Lang) -> None:
    """Ten toss-ups with long names, each linked to its notice and marked ⏰ (and a newline typed into a
    name): the tab still publishes, the lines that do not fit summed up."""
    long = "Northwind Traders International Holdings\nof the Greater Buenos Aires Region S.A."
    waiting = [
        replace(sample_handoff(HandoffStatus.PENDING, company=long), id=i, notice_ts=f"1700000000.{i:06d}")
        for i in range(1, 11)
    ]
    view = build_home(
        lang=lang,
        tz=ZoneInfo("America/Argentina/Buenos_Aires"),
        tossed_up=waiting,
        waiting=waiting,
        overdue=frozenset(range(1, 11)),
        workspace_url="https://northwind-field-sales.enterprise.slack.com/",
    ).to_dict()
    assert check_slack_limits(view) == []
    sections = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section" and "text" in b]
    assert not any("Holdings\nof" in text for text in sections)  # one line per toss-up


def test_lines_within_sums_up_what_does_not_fit() -> None:
    lines = [f"line {i} " + "x" * 40 for i in range(10)]  # 47 characters each

    def more(count: int) -> str:
        return f"and {count} more"

    assert lines_within(lines, 1000, more) == "\n".join(lines)
    cut = lines_within(lines, 200, more)
    assert len(cut) <= 200 and cut.endswith("and 7 more") and cut.startswith(lines[0])
    assert lines_within(lines[:2], 1000, more, hidden=3).endswith("\nand 3 more")


@pytest.mark.parametrize("lang", LANGS)
def test_empty_home_says_what_to_do(lang: Lang) -> None:
    view = build_home(lang=lang, tz=TOKYO, tossed_up=[], waiting=[]).to_dict()
    assert "/tossup" in json.dumps(view, ensure_ascii=False)


@pytest.mark.parametrize("lang", LANGS)
def test_home_offers_rate_and_outcome_per_meeting_to_follow_up_and_nothing_when_none(lang: Lang) -> None:
    handoff = sample_handoff(HandoffStatus.ACCEPTED, company=EVIL)
    follow_ups = [FollowUp(handoff, rated=False, outcome=None), FollowUp(handoff, True, OutcomeKind.OPEN)]
    won_unrated = build_home(
        lang=lang, tz=TOKYO, tossed_up=[], waiting=[], follow_ups=[FollowUp(handoff, False, OutcomeKind.WON)]
    ).to_dict()
    assert t(lang, "home.follow_up.outcome.won") in json.dumps(won_unrated, ensure_ascii=False)
    view = build_home(lang=lang, tz=TOKYO, tossed_up=[], waiting=[], follow_ups=follow_ups).to_dict()
    assert check_slack_limits(view) == []
    assert_escaped("", view)
    rows = [b["elements"] for b in view["blocks"] if b["type"] == "actions"]
    assert [[(e["action_id"], e["value"]) for e in row] for row in rows] == [
        [("feedback_open", str(handoff.id)), ("outcome_open", str(handoff.id))]
    ] * 2
    assert t(lang, "feedback.button.edit_rating") in json.dumps(rows[1], ensure_ascii=False)
    empty = build_home(lang=lang, tz=TOKYO, tossed_up=[], waiting=[]).to_dict()
    assert "feedback_open" not in json.dumps(empty)


@pytest.mark.parametrize("lang", LANGS)
def test_a_managers_home_opens_with_the_team_kpis(lang: Lang) -> None:
    period = current_month(now=datetime(2026, 11, 18, tzinfo=UTC), tz=TOKYO)
    kpis = compute_kpis([], start=period.start, end=period.end)
    view = build_home(lang=lang, tz=TOKYO, tossed_up=[], waiting=[], team_kpis=(period, kpis)).to_dict()
    assert check_slack_limits(view) == []
    assert view["blocks"][0]["type"] == "header" and t(lang, "kpi.team.title") in json.dumps(
        view, ensure_ascii=False
    )
    # nothing this month yet (the 1st): where last month's are, for the team and for the reader's own
    mine = build_home(
        lang=lang, tz=TOKYO, tossed_up=[], waiting=[], team_kpis=(period, kpis), my_kpis=(period, kpis)
    ).to_dict()
    assert json.dumps(mine, ensure_ascii=False).count(t(lang, "kpi.try_last").split("`")[1]) == 2


# ---------------------------------------------------------------- the memo's blank sections, built once


@pytest.mark.parametrize(
    "config",
    [
        CONFIG,
        CUSTOM_SELECTS_CONFIG,
        team_config(criteria={"mode": "warn"}),
    ],
)
@pytest.mark.parametrize("lang", list(Lang))
def test_the_blank_sections_built_once_are_the_sections_built_anew(config: AppConfig, lang: Lang) -> None:
    """A new toss-up's memo reuses its blank sections' JSON (the bulk of the modal): the same JSON that
    building them anew gives, per configuration and language."""
    for section in MemoSection:
        kept = [block.to_dict() for block in _blank_section_blocks(section, lang=lang, config=config)]
        anew = [
            block.to_dict()
            for block in _section_blocks(section, lang=lang, config=config, prefill=HandoffMemo())
        ]
        assert kept == anew, section
    assert _blank_section_blocks(MemoSection.BASICS, lang=lang, config=config) is _blank_section_blocks(
        MemoSection.BASICS, lang=lang, config=config
    )
    other = config.model_copy(update={"locale": config.locale})  # an equal but other configuration object
    assert _blank_section_blocks(MemoSection.BASICS, lang=lang, config=other) is not _blank_section_blocks(
        MemoSection.BASICS, lang=lang, config=config
    )


@pytest.mark.parametrize(
    "prefill",
    [
        HandoffMemo(company="Acme <Corp>"),  # `/tossup Acme`
        sample_memo(),  # a revision or an edit: every field answered
        HandoffMemo(custom={"segment": "smb"}),
        HandoffMemo(budget_status=BudgetStatus.CONFIRMED, notes="two"),
    ],
)
def test_a_section_with_answers_is_the_section_built_anew(prefill: HandoffMemo) -> None:
    """The blocks with an answer are built with it, the others come from the blank section built once:
    together the same JSON as the whole section built anew, in every language."""
    for lang in Lang:
        for section in MemoSection:
            kept = _memo_section(section, lang=lang, config=CUSTOM_SELECTS_CONFIG, prefill=prefill)
            anew = _section_blocks(section, lang=lang, config=CUSTOM_SELECTS_CONFIG, prefill=prefill)
            assert [b.to_dict() for b in kept] == [b.to_dict() for b in anew], (lang, section)


@pytest.mark.parametrize(
    ("lang", "outcome", "status"),
    [
        (Lang.JA, Outcome.won(3_000_000, date(2026, 12, 10)), "受注"),
        (Lang.JA, Outcome(kind=OutcomeKind.LOST, lost_reason="予算"), "失注"),
        (Lang.JA, Outcome(kind=OutcomeKind.OPEN), "受け入れ済み"),
        (Lang.EN, Outcome.won(3_000_000, date(2026, 12, 10)), "Won"),
        (Lang.EN, None, "Accepted"),
    ],
)
def test_the_notices_fallback_text_says_won_or_lost_once_the_deal_closed(
    lang: Lang, outcome: Outcome | None, status: str
) -> None:
    """The text a notification shows (and a client without blocks) follows the deal, as App Home does."""
    text, _ = build_notice(
        handoff=sample_handoff(HandoffStatus.ACCEPTED), lang=lang, tz=TOKYO, outcome=outcome
    )
    assert text.endswith(f"{status}）" if lang is Lang.JA else f"{status})"), text


def test_the_outcome_dm_names_the_fs_rep_with_san_as_the_decision_dm_does_and_anonymous_fs_without() -> None:
    from modals.feedback import build_outcome_dm

    won = Outcome.won(3_000_000, date(2026, 12, 10))
    handoff = sample_handoff(HandoffStatus.ACCEPTED)
    named, _ = build_outcome_dm(handoff=handoff, outcome=won, lang=Lang.JA, recorded_by="U0FS")
    assert named.startswith("🎉 <@U0FS> さんが ")
    anonymous, _ = build_outcome_dm(handoff=handoff, outcome=won, lang=Lang.JA, recorded_by=None)
    assert anonymous.startswith(f"🎉 {t(Lang.JA, 'feedback.anonymous_fs')}が ") and "さん" not in anonymous
    english, _ = build_outcome_dm(handoff=handoff, outcome=won, lang=Lang.EN, recorded_by="U0FS")
    assert english.startswith("🎉 <@U0FS> ")
