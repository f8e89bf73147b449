"""The collaboration diagnosis (現状診断): the seed's ten-item checklist, its level and recommended action.

The seed asks ten yes/no questions in five groups (役割定義, 評価制度, 情報共有, コミュニケーション,
改善サイクル) and reads the number of ticks as a level: 8–10 優良 (keep improving, try new measures),
5–7 良好 (strengthen what is missing, make it stick), 3–4 要改善 (start with the highest-priority items),
0–2 要注意 (a fundamental review is needed).

Six items are things the bot itself sees, so the diagnosis starts from the data: each of those comes with
its evidence (the numbers behind it) and is pre-ticked when the evidence meets the rule below; the person
diagnosing may untick it, and answers the other four themselves.

- criteria_agreed (トスアップ基準が両部門で合意): criteria configured, in gate mode (the agreed SQL definition
  is enforced, not merely advised).
- memo_template (引き継ぎメモの標準フォーマットが運用): at least TEMPLATE_IN_USE_SHARE of the last
  RECENT_DAYS days' toss-ups answer at least TEMPLATE_FILLED_SHARE of the template's fields.
- regular_meeting (定期的な連携ミーティング): the weekly agenda is scheduled and was posted in the last
  MEETING_DAYS days.
- mutual_feedback (相互フィードバックの仕組み): both ways, for at least FEEDBACK_SHARE of the meetings held in
  the last FEEDBACK_DAYS days (and there were meetings): FS returned the feedback sheet, and IS rated FS's
  follow-through back.
- quality_measured (トスアップ品質が定量的に測定): toss-ups were scored in the last RECENT_DAYS days.

The windows roll (the last N days), so a diagnosis does not fall back at a quarter's first day.
- improvement_pdca (連携課題のPDCA): collaboration issues closed in the last PDCA_DAYS days.

Pure Python: the store counts (`store.diagnosis`), this module decides.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from fractions import Fraction

from pydantic import BaseModel, ConfigDict

ITEM_COUNT = 10
TEMPLATE_FILLED_SHARE = Fraction(8, 10)  # a memo "uses the template" when ≥ 80 % of its fields are answered
TEMPLATE_IN_USE_SHARE = Fraction(7, 10)  # …and the template is "in use" when ≥ 70 % of toss-ups do
RECENT_DAYS = 90  # the toss-ups the template and the scores are read from
MEETING_DAYS = 14
FEEDBACK_DAYS = 30
FEEDBACK_SHARE = Fraction(7, 10)
PDCA_DAYS = 60


class DiagnosisGroup(StrEnum):
    ROLES = "roles"  # 役割定義
    EVALUATION = "evaluation"  # 評価制度
    SHARING = "sharing"  # 情報共有
    COMMUNICATION = "communication"  # コミュニケーション
    IMPROVEMENT = "improvement"  # 改善サイクル


class DiagnosisItem(StrEnum):
    ROLES_DOCUMENTED = "roles_documented"  # IS と FS の役割が明文化されている
    CRITERIA_AGREED = "criteria_agreed"  # トスアップ基準(SQL定義)が両部門で合意されている
    SHARED_KPI = "shared_kpi"  # 両部門が共同で責任を持つ共通KPIが設定されている
    COLLABORATIVE_EVALUATION = "collaborative_evaluation"  # 評価制度が協力を促進する設計になっている
    INPUT_RULES = "input_rules"  # 顧客情報の入力ルールが統一されている
    MEMO_TEMPLATE = "memo_template"  # 引き継ぎメモの標準フォーマットが運用されている
    REGULAR_MEETING = "regular_meeting"  # 定期的な連携ミーティングが実施されている
    MUTUAL_FEEDBACK = "mutual_feedback"  # 相互フィードバックの仕組みが機能している
    QUALITY_MEASURED = "quality_measured"  # トスアップ品質が定量的に測定されている
    IMPROVEMENT_PDCA = "improvement_pdca"  # 連携課題の改善に向けたPDCAが回っている


# The seed's order: two items per group.
GROUPS: tuple[tuple[DiagnosisGroup, tuple[DiagnosisItem, ...]], ...] = (
    (DiagnosisGroup.ROLES, (DiagnosisItem.ROLES_DOCUMENTED, DiagnosisItem.CRITERIA_AGREED)),
    (DiagnosisGroup.EVALUATION, (DiagnosisItem.SHARED_KPI, DiagnosisItem.COLLABORATIVE_EVALUATION)),
    (DiagnosisGroup.SHARING, (DiagnosisItem.INPUT_RULES, DiagnosisItem.MEMO_TEMPLATE)),
    (DiagnosisGroup.COMMUNICATION, (DiagnosisItem.REGULAR_MEETING, DiagnosisItem.MUTUAL_FEEDBACK)),
    (DiagnosisGroup.IMPROVEMENT, (DiagnosisItem.QUALITY_MEASURED, DiagnosisItem.IMPROVEMENT_PDCA)),
)
ITEM_ORDER: tuple[DiagnosisItem, ...] = tuple(item for _, items in GROUPS for item in items)
GROUP_OF: dict[DiagnosisItem, DiagnosisGroup] = {item: group for group, items in GROUPS for item in items}
# The items the bot answers from its own data (the rest only the person can).
DATA_ITEMS: frozenset[DiagnosisItem] = frozenset(
    {
        DiagnosisItem.CRITERIA_AGREED,
        DiagnosisItem.MEMO_TEMPLATE,
        DiagnosisItem.REGULAR_MEETING,
        DiagnosisItem.MUTUAL_FEEDBACK,
        DiagnosisItem.QUALITY_MEASURED,
        DiagnosisItem.IMPROVEMENT_PDCA,
    }
)


class DiagnosisLevel(StrEnum):
    """The seed's 連携レベル, best first; each has its 推奨アクション (catalog `diagnose.action.<level>`)."""

    EXCELLENT = "excellent"  # 優良: 8–10
    GOOD = "good"  # 良好: 5–7
    NEEDS_WORK = "needs_work"  # 要改善: 3–4
    ALERT = "alert"  # 要注意: 0–2


LEVEL_ORDER: tuple[DiagnosisLevel, ...] = tuple(DiagnosisLevel)


def level_for(count: int) -> DiagnosisLevel:
    """The seed's level for `count` ticked items (0–10)."""
    if not 0 <= count <= ITEM_COUNT:
        raise ValueError(f"a diagnosis counts 0 to {ITEM_COUNT} items, not {count}")
    if count >= 8:
        return DiagnosisLevel.EXCELLENT
    if count >= 5:
        return DiagnosisLevel.GOOD
    if count >= 3:
        return DiagnosisLevel.NEEDS_WORK
    return DiagnosisLevel.ALERT


# ------------------------------------------------------------------------------------------ evidence


@dataclass(frozen=True, slots=True)
class DiagnosisFacts:
    """What the store counted (and the configuration said) at `now`."""

    now: datetime
    criteria_rules: int  # toss-up criteria configured
    criteria_gate: bool  # …enforced (gate mode) rather than advised (warn)
    recent_toss_ups: int  # toss-ups created in the last RECENT_DAYS days
    recent_templated: int  # …of which answer ≥ TEMPLATE_FILLED_SHARE of the template
    recent_scored: int  # …of which carry a quality score
    recent_average_score: float | None  # their average memo score
    memo_score_max: int  # what a memo can score (100 − the FS rating's weight)
    weekly_scheduled: bool  # digests.weekly is configured
    weekly_posted_at: datetime | None  # the latest weekly agenda posted in the last MEETING_DAYS days
    meetings: int  # accepted toss-ups whose meeting was in the last FEEDBACK_DAYS days
    meetings_rated: int  # …with FS's feedback sheet returned
    meetings_rated_back: int  # …whose IS rep rated FS's follow-through
    issues_closed: int  # collaboration issues closed in the last PDCA_DAYS days
    last_issue_closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a data item is (or is not) pre-ticked: a catalog key `diagnose.evidence.<key>` and its values
    (numbers, and datetimes the builder formats in the reader's zone)."""

    item: DiagnosisItem
    met: bool
    key: str
    params: dict[str, object] = field(default_factory=dict)


def _percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def _at_least(part: int, whole: int, share: Fraction) -> bool:
    return whole > 0 and Fraction(part, whole) >= share


def _criteria(facts: DiagnosisFacts) -> Evidence:
    item = DiagnosisItem.CRITERIA_AGREED
    if facts.criteria_rules == 0:
        return Evidence(item, False, "criteria_none")
    key = "criteria_gate" if facts.criteria_gate else "criteria_warn"
    return Evidence(item, facts.criteria_gate, key, {"count": facts.criteria_rules})


def _template(facts: DiagnosisFacts) -> Evidence:
    item, whole, part = DiagnosisItem.MEMO_TEMPLATE, facts.recent_toss_ups, facts.recent_templated
    if whole == 0:
        return Evidence(item, False, "template_none", {"days": RECENT_DAYS})
    met = _at_least(part, whole, TEMPLATE_IN_USE_SHARE)
    params = {"part": part, "whole": whole, "percent": _percent(part, whole), "days": RECENT_DAYS}
    return Evidence(item, met, "template", params)


def _meeting(facts: DiagnosisFacts) -> Evidence:
    item = DiagnosisItem.REGULAR_MEETING
    if not facts.weekly_scheduled:
        return Evidence(item, False, "meeting_unscheduled")
    if facts.weekly_posted_at is None:
        return Evidence(item, False, "meeting_not_posted", {"days": MEETING_DAYS})
    return Evidence(item, True, "meeting_posted", {"at": facts.weekly_posted_at, "days": MEETING_DAYS})


def _feedback(facts: DiagnosisFacts) -> Evidence:
    """Two-way: FS's sheets and IS's ratings back, each for enough of the meetings."""
    item, whole, part, back = (
        DiagnosisItem.MUTUAL_FEEDBACK,
        facts.meetings,
        facts.meetings_rated,
        facts.meetings_rated_back,
    )
    if whole == 0:
        return Evidence(item, False, "feedback_no_meetings", {"days": FEEDBACK_DAYS})
    met = _at_least(part, whole, FEEDBACK_SHARE) and _at_least(back, whole, FEEDBACK_SHARE)
    params = {
        "part": part,
        "whole": whole,
        "percent": _percent(part, whole),
        "back": back,
        "back_percent": _percent(back, whole),
        "days": FEEDBACK_DAYS,
    }
    return Evidence(item, met, "feedback", params)


def _quality(facts: DiagnosisFacts) -> Evidence:
    item = DiagnosisItem.QUALITY_MEASURED
    if facts.recent_scored == 0 or facts.recent_average_score is None:
        return Evidence(item, False, "quality_none", {"days": RECENT_DAYS})
    params = {
        "days": RECENT_DAYS,
        "count": facts.recent_scored,
        "average": f"{facts.recent_average_score:.1f}",
        "max": facts.memo_score_max,
    }
    return Evidence(item, True, "quality", params)


def _pdca(facts: DiagnosisFacts) -> Evidence:
    item = DiagnosisItem.IMPROVEMENT_PDCA
    if facts.issues_closed == 0 or facts.last_issue_closed_at is None:
        return Evidence(item, False, "pdca_none", {"days": PDCA_DAYS})
    params = {"count": facts.issues_closed, "days": PDCA_DAYS, "at": facts.last_issue_closed_at}
    return Evidence(item, True, "pdca", params)


def evidence_for(facts: DiagnosisFacts) -> dict[DiagnosisItem, Evidence]:
    """The evidence of every data item, in the checklist's order."""
    found = (
        _criteria(facts),
        _template(facts),
        _meeting(facts),
        _feedback(facts),
        _quality(facts),
        _pdca(facts),
    )
    by_item = {evidence.item: evidence for evidence in found}
    return {item: by_item[item] for item in ITEM_ORDER if item in by_item}


def prechecked(evidence: dict[DiagnosisItem, Evidence]) -> frozenset[DiagnosisItem]:
    """The items the data says are in place: ticked when the modal opens."""
    return frozenset(item for item, found in evidence.items() if found.met)


# ------------------------------------------------------------------------------------------ result


@dataclass(frozen=True, slots=True)
class DiagnosisResult:
    """A completed checklist: what was ticked, how many, the level, and what is left to do."""

    checked: frozenset[DiagnosisItem]

    @property
    def count(self) -> int:
        return len(self.checked)

    @property
    def level(self) -> DiagnosisLevel:
        return level_for(self.count)

    @property
    def next_steps(self) -> tuple[DiagnosisItem, ...]:
        """The unticked items, in the checklist's order (the seed's groups)."""
        return tuple(item for item in ITEM_ORDER if item not in self.checked)

    def ordered(self) -> tuple[DiagnosisItem, ...]:
        return tuple(item for item in ITEM_ORDER if item in self.checked)


def diagnose(checked: Iterable[DiagnosisItem]) -> DiagnosisResult:
    return DiagnosisResult(checked=frozenset(DiagnosisItem(item) for item in checked))


def parse_items(raw: Iterable[object], *, group: DiagnosisGroup | None = None) -> frozenset[DiagnosisItem]:
    """Known item values only (anything else a client sends is ignored); with `group`, only its items."""
    allowed: Collection[DiagnosisItem] = dict(GROUPS)[group] if group is not None else ITEM_ORDER
    values = {item.value: item for item in allowed}
    return frozenset(values[value] for value in raw if isinstance(value, str) and value in values)


# ------------------------------------------------------------------------------------------ trend


@dataclass(frozen=True, slots=True)
class DiagnosisRecord:
    """A stored diagnosis: who answered, when, what they ticked."""

    id: int
    diagnosed_by: str
    diagnosed_at: datetime
    checked: frozenset[DiagnosisItem]

    @property
    def result(self) -> DiagnosisResult:
        return DiagnosisResult(checked=self.checked)

    @property
    def count(self) -> int:
        return len(self.checked)

    @property
    def level(self) -> DiagnosisLevel:
        return level_for(self.count)


class DiagnosisPoint(BaseModel):
    """One diagnosis as a digest shows it (frozen into the digest's JSON)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int
    level: DiagnosisLevel
    at: datetime
    by: str

    @classmethod
    def of(cls, record: DiagnosisRecord) -> DiagnosisPoint:
        return cls(count=record.count, level=record.level, at=record.diagnosed_at, by=record.diagnosed_by)


class DiagnosisTrend(BaseModel):
    """The latest diagnosis of a period against the latest one before it (either may be missing)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    current: DiagnosisPoint | None = None
    previous: DiagnosisPoint | None = None

    @property
    def change(self) -> int | None:
        if self.current is None or self.previous is None:
            return None
        return self.current.count - self.previous.count

    @property
    def is_empty(self) -> bool:
        return self.current is None and self.previous is None


@dataclass(frozen=True, slots=True)
class LatestDiagnosis:
    """What a manager's App Home shows: the team's latest diagnosis, or None when there is none yet."""

    record: DiagnosisRecord | None
