"""`view.state.values` of a handoff memo modal exactly as Slack would send it, for driving submissions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bot.domain.memo import MemoField
from modals.ids import memo_action_id, memo_block_id
from tests.slack_driver import (
    date_state,
    datetime_state,
    email_state,
    radio_state,
    static_state,
    text_state,
    url_state,
    users_state,
)

SELECTS = {
    MemoField.LEAD_SOURCE,
    MemoField.BUDGET_STATUS,
    MemoField.AUTHORITY,
    MemoField.TIMELINE,
    MemoField.TEMPERATURE,
}


def full_memo_answers(
    *, meeting_at: datetime, first_contact_on: date, fs_user_id: str | None
) -> dict[MemoField, Any]:
    return {
        MemoField.COMPANY: "Acme Corp",
        MemoField.CONTACT_NAME: "山田 太郎",
        MemoField.CONTACT_TITLE: "情報システム部 部長",
        MemoField.CONTACT_EMAIL: "yamada@acme.example",
        MemoField.CONTACT_PHONE: "03-1234-5678",
        MemoField.MEETING_AT: meeting_at,
        MemoField.CRM_URL: "https://crm.example.com/leads/42",
        MemoField.LEAD_SOURCE: "seminar",
        MemoField.CAMPAIGN: "2026秋 DXセミナー",
        MemoField.FS_USER_ID: fs_user_id,
        MemoField.BUDGET_STATUS: "confirmed",
        MemoField.BUDGET_NOTE: "年間 1,200万円で予算確保済み",
        MemoField.AUTHORITY: "decision_maker",
        MemoField.DECISION_MAKER: "山田 太郎（部長）",
        MemoField.NEED: "営業日報の集計に毎週10時間かかっており自動化したい",
        MemoField.TIMELINE: "within_3m",
        MemoField.CURRENT_ISSUE: "日報がExcelで散在し、案件状況が見えない",
        MemoField.BACKGROUND: "拠点が3つに増え、管理が追いつかなくなった",
        MemoField.IMPACT: "フォロー漏れで四半期に2件の失注",
        MemoField.EXPECTED_EFFECT: "集計工数の8割削減と失注防止",
        MemoField.TRIGGER: "新任の営業本部長の方針",
        MemoField.COMPETITORS: "A社SFAと比較検討中",
        MemoField.CONCERNS: "現場の入力負荷",
        MemoField.DECISION_PROCESS: "部長起案 → 役員会（月末）で決裁",
        MemoField.FIRST_CONTACT_ON: first_contact_on,
        MemoField.INTERACTIONS: "電話2回、オンライン面談1回",
        MemoField.TEMPERATURE: "hot",
        MemoField.VALUE_TO_STRESS: "導入3ヶ月での定着支援",
        MemoField.TOPICS_TO_AVOID: "価格の値引き",
        MemoField.OTHER_NOTES: "決裁は月末の役員会",
        MemoField.HANDOFF_CALL_WANTED: "yes",
    }


def _element_state(field: MemoField, value: Any) -> dict[str, Any]:
    if field is MemoField.CONTACT_EMAIL:
        return email_state(value)
    if field is MemoField.CRM_URL:
        return url_state(value)
    if field is MemoField.MEETING_AT:
        return datetime_state(int(value.timestamp()) if value is not None else None)
    if field is MemoField.FIRST_CONTACT_ON:
        return date_state(value.isoformat() if value is not None else None)
    if field is MemoField.FS_USER_ID:
        return users_state(value)
    if field is MemoField.HANDOFF_CALL_WANTED:
        return radio_state(value)
    if field in SELECTS:
        return static_state(value)
    return text_state(value)


def memo_state(answers: dict[MemoField, Any]) -> dict[str, Any]:
    """Every memo input's state; a field missing from `answers` is sent empty, as Slack does."""
    return {
        memo_block_id(field): {memo_action_id(field): _element_state(field, answers.get(field))}
        for field in MemoField
    }
