"""The handoff memo (引き継ぎメモ) as the seed's template defines it, and its validation.

Pure Python: no Slack, no database. Parsers in `modals/` build a `HandoffMemo` from a modal's
state; `validate_memo` returns field-level problems as catalog keys so any layer can render them
in the reader's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field


class BudgetStatus(StrEnum):
    CONFIRMED = "confirmed"  # 確認済み
    PLANNED = "planned"  # 予算化予定
    UNKNOWN = "unknown"  # 不明


class AuthorityLevel(StrEnum):
    DECISION_MAKER = "decision_maker"  # 決裁者
    INFLUENCER = "influencer"  # 決裁に影響力のある人物
    NONE = "none"


class Timeline(StrEnum):
    WITHIN_3_MONTHS = "within_3m"
    MONTHS_3_TO_6 = "3_to_6m"
    MONTHS_6_TO_12 = "6_to_12m"
    OVER_12_MONTHS = "over_12m"
    UNKNOWN = "unknown"


class Temperature(StrEnum):
    HOT = "hot"  # 高
    WARM = "warm"  # 中
    COLD = "cold"  # 低


class MemoField(StrEnum):
    """Every field of the memo, in the template's order. Values are the pydantic attribute names."""

    # basics
    COMPANY = "company"
    CONTACT_NAME = "contact_name"
    CONTACT_TITLE = "contact_title"
    CONTACT_EMAIL = "contact_email"
    CONTACT_PHONE = "contact_phone"
    MEETING_AT = "meeting_at"
    CRM_URL = "crm_url"
    LEAD_SOURCE = "lead_source"
    CAMPAIGN = "campaign"
    FS_USER_ID = "fs_user_id"
    # BANT
    BUDGET_STATUS = "budget_status"
    BUDGET_NOTE = "budget_note"
    AUTHORITY = "authority"
    DECISION_MAKER = "decision_maker"
    NEED = "need"
    TIMELINE = "timeline"
    # customer situation
    CURRENT_ISSUE = "current_issue"
    BACKGROUND = "background"
    IMPACT = "impact"
    EXPECTED_EFFECT = "expected_effect"
    # consideration
    TRIGGER = "trigger"
    COMPETITORS = "competitors"
    CONCERNS = "concerns"
    DECISION_PROCESS = "decision_process"
    # contact history
    FIRST_CONTACT_ON = "first_contact_on"
    INTERACTIONS = "interactions"
    TEMPERATURE = "temperature"
    # meeting notes
    VALUE_TO_STRESS = "value_to_stress"
    TOPICS_TO_AVOID = "topics_to_avoid"
    OTHER_NOTES = "other_notes"
    HANDOFF_CALL_WANTED = "handoff_call_wanted"


class MemoSection(StrEnum):
    BASICS = "basics"
    BANT = "bant"
    SITUATION = "situation"
    CONSIDERATION = "consideration"
    HISTORY = "history"
    MEETING_NOTES = "meeting_notes"


MEMO_SECTIONS: dict[MemoSection, tuple[MemoField, ...]] = {
    MemoSection.BASICS: (
        MemoField.COMPANY,
        MemoField.CONTACT_NAME,
        MemoField.CONTACT_TITLE,
        MemoField.CONTACT_EMAIL,
        MemoField.CONTACT_PHONE,
        MemoField.MEETING_AT,
        MemoField.CRM_URL,
        MemoField.LEAD_SOURCE,
        MemoField.CAMPAIGN,
        MemoField.FS_USER_ID,
    ),
    MemoSection.BANT: (
        MemoField.BUDGET_STATUS,
        MemoField.BUDGET_NOTE,
        MemoField.AUTHORITY,
        MemoField.DECISION_MAKER,
        MemoField.NEED,
        MemoField.TIMELINE,
    ),
    MemoSection.SITUATION: (
        MemoField.CURRENT_ISSUE,
        MemoField.BACKGROUND,
        MemoField.IMPACT,
        MemoField.EXPECTED_EFFECT,
    ),
    MemoSection.CONSIDERATION: (
        MemoField.TRIGGER,
        MemoField.COMPETITORS,
        MemoField.CONCERNS,
        MemoField.DECISION_PROCESS,
    ),
    MemoSection.HISTORY: (
        MemoField.FIRST_CONTACT_ON,
        MemoField.INTERACTIONS,
        MemoField.TEMPERATURE,
    ),
    MemoSection.MEETING_NOTES: (
        MemoField.VALUE_TO_STRESS,
        MemoField.TOPICS_TO_AVOID,
        MemoField.OTHER_NOTES,
        MemoField.HANDOFF_CALL_WANTED,
    ),
}

# Fields a memo cannot be submitted without (the toss-up criteria of app.yaml may demand more).
REQUIRED_FIELDS: frozenset[MemoField] = frozenset(
    {
        MemoField.COMPANY,
        MemoField.CONTACT_NAME,
        MemoField.MEETING_AT,
        MemoField.BUDGET_STATUS,
        MemoField.AUTHORITY,
        MemoField.NEED,
        MemoField.TIMELINE,
        MemoField.CURRENT_ISSUE,
        MemoField.FIRST_CONTACT_ON,
        MemoField.TEMPERATURE,
    }
)

# Fields answered by picking (a select, a picker): "please choose" rather than "please fill in".
PICKED_FIELDS: frozenset[MemoField] = frozenset(
    {
        MemoField.MEETING_AT,
        MemoField.FIRST_CONTACT_ON,
        MemoField.LEAD_SOURCE,
        MemoField.FS_USER_ID,
        MemoField.BUDGET_STATUS,
        MemoField.AUTHORITY,
        MemoField.TIMELINE,
        MemoField.TEMPERATURE,
    }
)

SHORT_TEXT_MAX = 150  # names, titles, phone, campaign, company
LONG_TEXT_MAX = 2000  # multi-line notes; well under Slack's 3000 and keeps the notice short
URL_MAX = 500
EMAIL_MAX = 254

# The longest value each text field may hold; the modal sets the same max_length.
TEXT_LIMITS: dict[MemoField, int] = {
    MemoField.COMPANY: SHORT_TEXT_MAX,
    MemoField.CONTACT_NAME: SHORT_TEXT_MAX,
    MemoField.CONTACT_TITLE: SHORT_TEXT_MAX,
    MemoField.CONTACT_EMAIL: EMAIL_MAX,
    MemoField.CONTACT_PHONE: 40,
    MemoField.CRM_URL: URL_MAX,
    MemoField.CAMPAIGN: SHORT_TEXT_MAX,
    MemoField.BUDGET_NOTE: 500,
    MemoField.DECISION_MAKER: SHORT_TEXT_MAX,
    MemoField.NEED: LONG_TEXT_MAX,
    MemoField.CURRENT_ISSUE: LONG_TEXT_MAX,
    MemoField.BACKGROUND: LONG_TEXT_MAX,
    MemoField.IMPACT: LONG_TEXT_MAX,
    MemoField.EXPECTED_EFFECT: LONG_TEXT_MAX,
    MemoField.TRIGGER: LONG_TEXT_MAX,
    MemoField.COMPETITORS: LONG_TEXT_MAX,
    MemoField.CONCERNS: LONG_TEXT_MAX,
    MemoField.DECISION_PROCESS: LONG_TEXT_MAX,
    MemoField.INTERACTIONS: LONG_TEXT_MAX,
    MemoField.VALUE_TO_STRESS: LONG_TEXT_MAX,
    MemoField.TOPICS_TO_AVOID: LONG_TEXT_MAX,
    MemoField.OTHER_NOTES: LONG_TEXT_MAX,
}

MULTILINE_FIELDS: frozenset[MemoField] = frozenset(
    f for f, limit in TEXT_LIMITS.items() if limit == LONG_TEXT_MAX
) | {MemoField.BUDGET_NOTE}

# What a Slack user id looks like (U… or, on Enterprise Grid, W…). A users_select answer comes back
# through the client, so anything else was forged: it could close a `<@…>` mention early and ping or link.
SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
SLACK_USER_ID_MAX = 32

_EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_URL_RE = re.compile(r"^https?://[^\s<>]+\.[^\s<>]+", re.IGNORECASE)


class HandoffMemo(BaseModel):
    """One handoff memo as the IS rep wrote it. Empty optional fields are None, never ""."""

    model_config = ConfigDict(frozen=True, use_enum_values=False)

    company: str | None = None
    contact_name: str | None = None
    contact_title: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    meeting_at: datetime | None = None  # timezone-aware (UTC from Slack's datetimepicker)
    crm_url: str | None = None
    lead_source: str | None = None  # a value from app.yaml's memo.lead_sources
    campaign: str | None = None
    fs_user_id: str | None = None

    budget_status: BudgetStatus | None = None
    budget_note: str | None = None
    authority: AuthorityLevel | None = None
    decision_maker: str | None = None
    need: str | None = None
    timeline: Timeline | None = None

    current_issue: str | None = None
    background: str | None = None
    impact: str | None = None
    expected_effect: str | None = None

    trigger: str | None = None
    competitors: str | None = None
    concerns: str | None = None
    decision_process: str | None = None

    first_contact_on: date | None = None
    interactions: str | None = None
    temperature: Temperature | None = None

    value_to_stress: str | None = None
    topics_to_avoid: str | None = None
    other_notes: str | None = None
    handoff_call_wanted: bool = False

    # The team's own select fields from app.yaml (memo.custom_selects: segment, region, deal size…):
    # key → chosen option value.
    custom: dict[str, str] = Field(default_factory=dict)

    def value(self, field: MemoField) -> object:
        return getattr(self, field.value)

    def answer(self, key: str) -> object:
        """The answer to a memo field by its name: a MemoField value, or a custom select's key."""
        if key in MemoField._value2member_map_:
            return self.value(MemoField(key))
        return self.custom.get(key)

    def is_filled(self, field: MemoField) -> bool:
        value = self.value(field)
        if field is MemoField.HANDOFF_CALL_WANTED:
            return True  # a yes/no answer is always given
        if isinstance(value, str):
            return bool(value.strip())
        return value is not None


def is_slack_user_id(value: object) -> bool:
    """Whether `value` is shaped like a Slack user id (not whether that user exists)."""
    return isinstance(value, str) and len(value) <= SLACK_USER_ID_MAX and bool(SLACK_USER_ID.fullmatch(value))


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """A reason a field is refused: `key` is a message-catalog key, `params` fill its placeholders."""

    field: MemoField
    key: str
    params: tuple[tuple[str, object], ...] = ()


def clean_text(raw: str | None) -> str | None:
    """Trim whitespace; an empty answer is no answer."""
    if raw is None:
        return None
    text = raw.strip()
    return text or None


def validate_memo(
    memo: HandoffMemo,
    *,
    now: datetime,
    team_tz: ZoneInfo,
    allowed_lead_sources: frozenset[str] | None = None,
    meeting_grace: timedelta = timedelta(minutes=5),
) -> list[FieldProblem]:
    """Every problem of the memo, at most one per field, in template order.

    `now` must be timezone-aware. A meeting a few minutes in the past is tolerated (`meeting_grace`)
    because the picker has minute granularity and the rep may take a while to submit.
    """
    problems: dict[MemoField, FieldProblem] = {}

    def refuse(field: MemoField, key: str, **params: object) -> None:
        problems.setdefault(field, FieldProblem(field, key, tuple(params.items())))

    for field in MemoField:
        if field in REQUIRED_FIELDS and not memo.is_filled(field):
            refuse(field, "error.choose" if field in PICKED_FIELDS else "error.required")
    for field, limit in TEXT_LIMITS.items():
        value = memo.value(field)
        if isinstance(value, str) and len(value) > limit:
            refuse(field, "error.too_long", limit=limit, length=len(value))

    if memo.fs_user_id is not None and not is_slack_user_id(memo.fs_user_id):
        refuse(MemoField.FS_USER_ID, "error.not_a_slack_user")
    if memo.contact_email and not _EMAIL_RE.match(memo.contact_email):
        refuse(MemoField.CONTACT_EMAIL, "error.email")
    if memo.crm_url and not _URL_RE.match(memo.crm_url):
        refuse(MemoField.CRM_URL, "error.url")
    if memo.meeting_at is not None and memo.meeting_at < now - meeting_grace:
        refuse(MemoField.MEETING_AT, "error.meeting_in_past")
    # The datepicker works in the rep's own calendar, which may already be tomorrow in the team's zone.
    rep_today_at_most = (now.astimezone(team_tz) + timedelta(days=1)).date()
    if memo.first_contact_on is not None and memo.first_contact_on > rep_today_at_most:
        refuse(MemoField.FIRST_CONTACT_ON, "error.first_contact_in_future")
    if (
        memo.first_contact_on is not None
        and memo.meeting_at is not None
        and memo.meeting_at.astimezone(team_tz).date() < memo.first_contact_on
    ):
        refuse(MemoField.FIRST_CONTACT_ON, "error.first_contact_after_meeting")
    if (
        allowed_lead_sources is not None
        and memo.lead_source is not None
        and memo.lead_source not in allowed_lead_sources
    ):
        refuse(MemoField.LEAD_SOURCE, "error.unknown_option")

    order = {field: index for index, field in enumerate(MemoField)}
    return sorted(problems.values(), key=lambda p: order[p.field])
