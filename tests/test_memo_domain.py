"""The memo's validation, a pure function: each rule on its own, table-driven."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.memo import (
    REQUIRED_FIELDS,
    TEXT_LIMITS,
    AuthorityLevel,
    BudgetStatus,
    HandoffMemo,
    MemoField,
    Temperature,
    Timeline,
    validate_memo,
)

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo
TODAY_TOKYO = date(2026, 11, 25)


def valid(**changes: object) -> HandoffMemo:
    memo = HandoffMemo(
        company="Acme",
        contact_name="山田",
        meeting_at=NOW + timedelta(days=2),
        budget_status=BudgetStatus.PLANNED,
        authority=AuthorityLevel.INFLUENCER,
        need="請求業務を効率化したい",
        timeline=Timeline.MONTHS_3_TO_6,
        current_issue="手作業の転記",
        first_contact_on=TODAY_TOKYO - timedelta(days=30),
        temperature=Temperature.WARM,
    )
    return memo.model_copy(update=changes)


def problems(memo: HandoffMemo, **kwargs: object) -> dict[str, str]:
    return {p.field.value: p.key for p in validate_memo(memo, now=NOW, team_tz=TOKYO, **kwargs)}


def test_the_minimal_valid_memo_passes() -> None:
    assert problems(valid()) == {}


@pytest.mark.parametrize("field", sorted(REQUIRED_FIELDS))
def test_each_required_field_is_required(field: MemoField) -> None:
    found = problems(valid(**{field.value: None}))
    assert set(found) == {field.value}
    assert found[field.value] in ("error.required", "error.choose")


@pytest.mark.parametrize("field", sorted(TEXT_LIMITS))
def test_each_text_limit_holds(field: MemoField) -> None:
    limit = TEXT_LIMITS[field]
    at_limit = problems(valid(**{field.value: "x" * limit}))
    assert at_limit.get(field.value) != "error.too_long"  # (an e-mail of x's still fails its format)
    assert problems(valid(**{field.value: "x" * (limit + 1)}))[field.value] == "error.too_long"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"contact_email": "taro@example.co.jp"}, {}),
        ({"contact_email": "taro@example"}, {"contact_email": "error.email"}),
        ({"contact_email": "<!channel>@x.y"}, {"contact_email": "error.email"}),
        ({"crm_url": "https://crm.example.com/a?b=c"}, {}),
        ({"crm_url": "crm.example.com"}, {"crm_url": "error.url"}),
        ({"crm_url": "javascript:alert(1)"}, {"crm_url": "error.url"}),
        ({"meeting_at": NOW - timedelta(minutes=4)}, {}),  # minute-granular picker: a little grace
        ({"meeting_at": NOW - timedelta(minutes=6)}, {"meeting_at": "error.meeting_in_past"}),
        ({"first_contact_on": TODAY_TOKYO}, {}),
        ({"first_contact_on": TODAY_TOKYO + timedelta(days=1)}, {}),  # already tomorrow where the rep is
        (
            {"first_contact_on": TODAY_TOKYO + timedelta(days=2)},
            {"first_contact_on": "error.first_contact_in_future"},
        ),
        (
            {"meeting_at": NOW + timedelta(hours=1), "first_contact_on": TODAY_TOKYO + timedelta(days=1)},
            {"first_contact_on": "error.first_contact_after_meeting"},
        ),
    ],
)
def test_format_and_date_rules(changes: dict[str, object], expected: dict[str, str]) -> None:
    assert problems(valid(**changes)) == expected


def test_lead_source_must_be_one_of_the_teams() -> None:
    allowed = frozenset({"seminar", "referral"})
    assert problems(valid(lead_source="seminar"), allowed_lead_sources=allowed) == {}
    assert problems(valid(lead_source="tv"), allowed_lead_sources=allowed) == {
        "lead_source": "error.unknown_option"
    }


def test_problems_come_in_template_order_one_per_field() -> None:
    found = validate_memo(valid(company=None, contact_email="bad", need=None), now=NOW, team_tz=TOKYO)
    assert [p.field for p in found] == [MemoField.COMPANY, MemoField.CONTACT_EMAIL, MemoField.NEED]


def test_blank_text_counts_as_unanswered() -> None:
    assert not valid(company="   ").is_filled(MemoField.COMPANY)
    assert valid(handoff_call_wanted=False).is_filled(MemoField.HANDOFF_CALL_WANTED)
