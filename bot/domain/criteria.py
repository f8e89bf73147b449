"""Toss-up criteria (トスアップ基準 / SQL定義): which memos FS agreed to receive, and the check itself.

Pure Python. The configuration is mounted in `app.yaml` as `criteria:`; `evaluate_criteria` is a pure,
deterministic function of a memo and that configuration. Results carry catalog keys (`criteria.reason.*`)
and JSON-safe params so any layer can render them in the reader's language, now or later from storage.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.domain.answers import DEFAULT_READING, AnswerReading
from bot.domain.memo import (
    TEXT_LIMITS,
    AuthorityLevel,
    BudgetStatus,
    HandoffMemo,
    MemoField,
    Temperature,
    Timeline,
)
from bot.domain.options import LocalizedLabel


class CriterionKind(StrEnum):
    REQUIRED = "required"  # the field is answered (a text answer must not be a placeholder: see answers.py)
    ONE_OF = "one_of"  # a select's answer is one of `values`
    MIN_LENGTH = "min_length"  # a text answer has at least `min_length` characters after trimming
    TIMELINE_WITHIN = "timeline_within"  # the timeline is within `months` (3, 6 or 12)


class CriteriaMode(StrEnum):
    GATE = "gate"  # a memo that fails is refused, with a field error per failing field
    WARN = "warn"  # a memo that fails is accepted with an override reason and flagged


# Select fields of the memo whose answers ONE_OF can test, with their allowed values.
ENUM_SELECTS: dict[MemoField, type[StrEnum]] = {
    MemoField.BUDGET_STATUS: BudgetStatus,
    MemoField.AUTHORITY: AuthorityLevel,
    MemoField.TIMELINE: Timeline,
    MemoField.TEMPERATURE: Temperature,
}
# Memo fields a ONE_OF criterion may test: the enum selects and the team's lead sources.
ONE_OF_FIELDS: frozenset[MemoField] = frozenset({*ENUM_SELECTS, MemoField.LEAD_SOURCE})

# How far each timeline answer reaches, in months; None = beyond any window (or unknown).
TIMELINE_MONTHS: dict[Timeline, int | None] = {
    Timeline.WITHIN_3_MONTHS: 3,
    Timeline.MONTHS_3_TO_6: 6,
    Timeline.MONTHS_6_TO_12: 12,
    Timeline.OVER_12_MONTHS: None,
    Timeline.UNKNOWN: None,
}
TIMELINE_WINDOWS: frozenset[int] = frozenset({3, 6, 12})


class Criterion(BaseModel):
    """One toss-up criterion over one memo field (a MemoField value or a custom select's key)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z0-9_\-]{1,40}$")]
    kind: CriterionKind
    field: Annotated[str, Field(pattern=r"^[a-z0-9_\-]{1,64}$")]
    enabled: bool = True
    values: list[str] = Field(default_factory=list, max_length=100)
    min_length: int | None = None
    months: int | None = None
    label: LocalizedLabel | None = None

    @model_validator(mode="after")
    def _parameters_fit_the_kind(self) -> Self:
        where = f"criterion {self.id!r} ({self.kind.value} on {self.field!r})"
        memo_field = MemoField(self.field) if self.field in MemoField._value2member_map_ else None
        if self.kind is not CriterionKind.ONE_OF and self.values:
            raise ValueError(f"{where}: 'values' is only for kind one_of")
        if self.kind is not CriterionKind.MIN_LENGTH and self.min_length is not None:
            raise ValueError(f"{where}: 'min_length' is only for kind min_length")
        if self.kind is not CriterionKind.TIMELINE_WITHIN and self.months is not None:
            raise ValueError(f"{where}: 'months' is only for kind timeline_within")

        if self.kind is CriterionKind.ONE_OF:
            if not self.values:
                raise ValueError(f"{where}: give the accepted answers in 'values'")
            if len(set(self.values)) != len(self.values):
                raise ValueError(f"{where}: 'values' has duplicates")
            if memo_field is not None and memo_field not in ONE_OF_FIELDS:
                raise ValueError(
                    f"{where}: one_of works on select fields only "
                    f"({', '.join(sorted(f.value for f in ONE_OF_FIELDS))} or a custom select)"
                )
            enum = ENUM_SELECTS.get(memo_field) if memo_field is not None else None
            if enum is not None:
                unknown = [v for v in self.values if v not in enum._value2member_map_]
                if unknown:
                    allowed = ", ".join(m.value for m in enum)
                    raise ValueError(f"{where}: unknown values {unknown} (allowed: {allowed})")
        elif self.kind is CriterionKind.MIN_LENGTH:
            if memo_field is None or memo_field not in TEXT_LIMITS:
                raise ValueError(f"{where}: min_length works on the memo's text fields only")
            if self.min_length is None or self.min_length < 1:
                raise ValueError(f"{where}: set 'min_length' to a number of characters (1 or more)")
            if self.min_length > TEXT_LIMITS[memo_field]:
                raise ValueError(
                    f"{where}: 'min_length' {self.min_length} is longer than the field allows "
                    f"({TEXT_LIMITS[memo_field]})"
                )
        elif self.kind is CriterionKind.TIMELINE_WITHIN:
            if memo_field is not MemoField.TIMELINE:
                raise ValueError(f"{where}: timeline_within works on the field 'timeline' only")
            if self.months not in TIMELINE_WINDOWS:
                raise ValueError(f"{where}: set 'months' to 3, 6 or 12 (the memo's timeline choices)")
        elif self.kind is CriterionKind.REQUIRED and memo_field is MemoField.HANDOFF_CALL_WANTED:
            raise ValueError(f"{where}: a yes/no field is always answered; required makes no sense")
        return self


DEFAULT_CRITERIA: tuple[Criterion, ...] = (
    # 予算: 概算予算が確認できている、または予算化の目処が立っている
    Criterion(id="budget", kind=CriterionKind.ONE_OF, field="budget_status", values=["confirmed", "planned"]),
    # 決裁: 決裁者または決裁に影響力のある人物と接触できている
    Criterion(
        id="authority", kind=CriterionKind.ONE_OF, field="authority", values=["decision_maker", "influencer"]
    ),
    # 必要性: 具体的な課題・ニーズが言語化されている
    Criterion(id="need", kind=CriterionKind.MIN_LENGTH, field="need", min_length=10),
    # 時期: 導入検討時期が6ヶ月以内である
    Criterion(id="timeline", kind=CriterionKind.TIMELINE_WITHIN, field="timeline", months=6),
    # その他: 競合検討状況が把握できている (「なし」も把握のうち)
    Criterion(id="competitors", kind=CriterionKind.REQUIRED, field="competitors"),
)
BUILTIN_CRITERIA: dict[str, Criterion] = {c.id: c for c in DEFAULT_CRITERIA}


class CriteriaConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: CriteriaMode = CriteriaMode.GATE
    rules: list[Criterion] = Field(default_factory=lambda: list(DEFAULT_CRITERIA), max_length=30)

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        ids = [r.id for r in self.rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"criteria ids must be unique; repeated: {', '.join(duplicates)}")
        return self


def unknown_fields(config: CriteriaConfig, custom_keys: Collection[str]) -> list[str]:
    """Fields named by the rules that are neither memo fields nor custom select keys (config order)."""
    out: list[str] = []
    for rule in config.rules:
        name = rule.field
        if name not in MemoField._value2member_map_ and name not in custom_keys and name not in out:
            out.append(name)
    return out


# --------------------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class CriterionResult:
    criterion_id: str
    field: str
    passed: bool
    reason_key: str | None = None  # a `criteria.reason.*` catalog key when it failed
    params: dict[str, object] = dc_field(default_factory=dict)  # JSON-safe (str / int)

    def to_json(self) -> dict[str, Any]:
        return {
            "criterion_id": self.criterion_id,
            "field": self.field,
            "passed": self.passed,
            "reason_key": self.reason_key,
            "params": dict(self.params),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CriterionResult:
        reason = data.get("reason_key")
        return cls(
            criterion_id=str(data["criterion_id"]),
            field=str(data["field"]),
            passed=bool(data["passed"]),
            reason_key=str(reason) if reason is not None else None,
            params=dict(data.get("params") or {}),
        )


@dataclass(frozen=True)
class CriteriaEvaluation:
    results: tuple[CriterionResult, ...]
    mode: CriteriaMode

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> tuple[CriterionResult, ...]:
        return tuple(r for r in self.results if not r.passed)

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode.value, "results": [r.to_json() for r in self.results]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CriteriaEvaluation:
        return cls(
            results=tuple(CriterionResult.from_json(r) for r in data.get("results") or ()),
            mode=CriteriaMode(data.get("mode", CriteriaMode.GATE.value)),
        )


def _raw(answer: object) -> str:
    return answer.value if isinstance(answer, StrEnum) else str(answer)


def _is_missing(answer: object) -> bool:
    return answer is None or (isinstance(answer, str) and not answer.strip())


def _free_text(rule: Criterion, answer: object) -> str | None:
    """The answer when `rule.field` is one of the memo's free-text fields (a select's value is never read
    as a placeholder: an option called "unknown" is a choice, not a placeholder)."""
    is_text_field = rule.field in MemoField._value2member_map_ and MemoField(rule.field) in TEXT_LIMITS
    return answer if is_text_field and isinstance(answer, str) else None


def _check(memo: HandoffMemo, rule: Criterion, reading: AnswerReading) -> CriterionResult:
    answer = memo.answer(rule.field)
    text = _free_text(rule, answer)

    def ok() -> CriterionResult:
        return CriterionResult(rule.id, rule.field, True)

    def fail(reason: str, **params: object) -> CriterionResult:
        return CriterionResult(rule.id, rule.field, False, f"criteria.reason.{reason}", params)

    if _is_missing(answer):
        return fail("missing")
    if text is not None and not reading.is_answer(rule.field, text):
        return fail("placeholder", value=text.strip()[:40])  # says nothing, so the score gives it nothing
    if rule.kind is CriterionKind.REQUIRED:
        return ok()
    if rule.kind is CriterionKind.ONE_OF:
        value = _raw(answer)
        return ok() if value in rule.values else fail("not_one_of", value=value)
    if rule.kind is CriterionKind.MIN_LENGTH:
        length = len(str(answer).strip())
        min_length = rule.min_length or 0
        return ok() if length >= min_length else fail("too_short", length=length, min_length=min_length)
    # TIMELINE_WITHIN
    try:
        timeline = Timeline(_raw(answer))
    except ValueError:
        return fail("timeline_unknown")
    if timeline is Timeline.UNKNOWN:
        return fail("timeline_unknown")
    reach = TIMELINE_MONTHS[timeline]
    if reach is not None and reach <= (rule.months or 0):
        return ok()
    return fail("timeline_too_late", value=timeline.value, months=rule.months or 0)


def evaluate_criteria(
    memo: HandoffMemo, config: CriteriaConfig, *, reading: AnswerReading = DEFAULT_READING
) -> CriteriaEvaluation:
    """Check the memo against every enabled rule, in config order. Pure and deterministic.

    `reading` is the score's (`ScoreConfig.reading`, from app.yaml's `score.placeholders` and
    `score.none_considered`): a text answer the score reads as a placeholder fails `required` and
    `min_length` alike. The default is the built-in lists, for callers without an app.yaml."""
    results = tuple(_check(memo, rule, reading) for rule in config.rules if rule.enabled)
    return CriteriaEvaluation(results=results, mode=config.mode)
