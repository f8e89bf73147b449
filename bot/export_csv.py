"""The CSV export's columns and rows: one row per toss-up, headers and labels in the reader's language.

Pure: no Slack, no database. `ExportSheet(config, lang)` holds the columns (every memo field, the team's
custom selects, each configured criterion, each score item, the decision, FS's feedback sheet, IS's rating
and the outcome); `header()` and `row(record)` give plain strings, every one guarded against formula
injection (`bot.domain.export.guard_cell`). `CsvWriter` turns rows into RFC 4180 bytes (the `csv`
module: fields with a comma, quote or line break are quoted, quotes doubled, CRLF line ends) in UTF-8
with a byte order mark, so Excel opens Japanese text correctly.

Times are shown in the team's time zone ("2026-12-01 14:00", the zone named in the header), days as
ISO dates, answers of selects as their labels, people as "Name (U0123ABC)" when their names are known
(the export sent by Slack looks them up), else as Slack user ids.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, BinaryIO

from bot.config import AppConfig
from bot.domain.criteria import BUILTIN_CRITERIA, ENUM_SELECTS, Criterion
from bot.domain.export import guard_cell
from bot.domain.feedback import RATING_FIELDS, MeetingResult
from bot.domain.memo import MemoField
from bot.domain.outcome import OutcomeKind
from bot.domain.score import ScoreItemKey
from bot.domain.sla import time_to_decide
from bot.i18n import Lang, t
from modals.text import currency_name, enum_label
from store.export import ExportRecord

BOM = "\ufeff"
_FEEDBACK_TEXTS = ("good", "improve", "next_info")


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[ExportRecord], object]


def _enum(enum: type[StrEnum], raw: object) -> StrEnum | None:
    return enum(raw) if isinstance(raw, str) and raw in enum._value2member_map_ else None


class ExportSheet:
    """The export's columns for one team configuration and one reader's language.

    `names` (Slack user id → full name, filled as the rows come) shows a person as "Name (U0123ABC)": read
    by people, grouped by a spreadsheet, one person one cell. Without a name (the command line, which has
    no Slack token; someone Slack does not know any more) the cell is the id.
    """

    def __init__(self, config: AppConfig, lang: Lang, names: dict[str, str] | None = None) -> None:
        self.config = config
        self.lang = lang
        self.names: dict[str, str] = names if names is not None else {}
        self.columns: list[Column] = [
            *self._handoff_columns(),
            *self._memo_columns(),
            *self._criteria_columns(),
            *self._score_columns(),
            *self._decision_columns(),
            *self._feedback_columns(),
            *self._outcome_columns(),
        ]

    # ------------------------------------------------------------------------------ public

    def header(self) -> list[str]:
        return [guard_cell(column.header) for column in self.columns]

    def row(self, record: ExportRecord) -> list[str]:
        return [guard_cell(self._cell(column.value(record))) for column in self.columns]

    # ------------------------------------------------------------------------------ values

    def _cell(self, value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return t(self.lang, "common.yes" if value else "common.no")
        if isinstance(value, datetime):
            return value.astimezone(self.config.tz).strftime("%Y-%m-%d %H:%M")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, StrEnum):
            return self._enum_label(value)
        return str(value)

    def person(self, user_id: str | None) -> str | None:
        """A person's cell: "Name (id)" when the name is known, else the id."""
        if not user_id:
            return None
        name = self.names.get(user_id)
        return f"{name} ({user_id})" if name else user_id

    def _enum_label(self, member: StrEnum) -> str:
        if isinstance(member, MeetingResult):
            return t(self.lang, f"feedback.result.{member.value}")
        if isinstance(member, OutcomeKind):
            return t(self.lang, f"feedback.outcome.kind.{member.value}")
        return enum_label(self.lang, member)

    def _label(self, key: str, **params: object) -> str:
        return t(self.lang, f"export.column.{key}", **params)

    def _zoned(self, label: str) -> str:
        return t(self.lang, "export.column.with_zone", label=label, zone=self.config.tz.key)

    def _option(self, field: str, raw: object) -> object:
        """A select's answer as its label (catalog labels for the memo's own, the team's for theirs)."""
        if raw is None or raw == "":
            return None
        enum = ENUM_SELECTS.get(MemoField(field)) if field in MemoField._value2member_map_ else None
        if enum is not None:
            return _enum(enum, raw) or raw
        label = self.config.option_labels.get(field, {}).get(str(raw))
        return label.get(self.lang) if label else raw

    @staticmethod
    def people(record: ExportRecord) -> set[str]:
        """The Slack users a row names."""
        chosen = record.memo.get(MemoField.FS_USER_ID.value)  # the FS rep picked in the memo
        named = (record.is_user_id, record.fs_user_id, record.decided_by, record.sheet_by, record.outcome_by)
        return {user_id for user_id in (*named, chosen) if isinstance(user_id, str) and user_id}

    # ------------------------------------------------------------------------------ columns

    def _handoff_columns(self) -> list[Column]:
        return [
            Column(self._label("id"), lambda r: r.id),
            Column(self._label("status"), lambda r: r.status),
            Column(self._zoned(self._label("created_at")), lambda r: r.created_at),
            Column(self._label("is_user"), lambda r: self.person(r.is_user_id)),
            Column(self._label("fs_user"), lambda r: self.person(r.fs_user_id)),
            Column(self._label("revision_of"), lambda r: r.revision_of_id),
        ]

    def _memo_columns(self) -> list[Column]:
        columns = [Column(self._memo_header(field), self._memo_value(field)) for field in MemoField]
        for select in self.config.memo.custom_selects:
            columns.append(
                Column(
                    select.label.get(self.lang),
                    lambda r, key=select.key: self._option(key, (r.memo.get("custom") or {}).get(key)),
                )
            )
        return columns

    def _memo_header(self, field: MemoField) -> str:
        label = t(self.lang, f"memo.field.{field.value}.label")
        return self._zoned(label) if field is MemoField.MEETING_AT else label

    def _memo_value(self, field: MemoField) -> Callable[[ExportRecord], object]:
        name = field.value

        def value(record: ExportRecord) -> object:
            raw = record.memo.get(name)
            if field is MemoField.HANDOFF_CALL_WANTED:
                return bool(raw)
            if raw is None or raw == "":
                return None
            if field is MemoField.MEETING_AT:
                return _datetime(raw)
            if field is MemoField.FS_USER_ID:  # a person, as every other person column shows one
                return self.person(str(raw))
            if field is MemoField.LEAD_SOURCE or field in ENUM_SELECTS:
                return self._option(name, raw)
            return raw

        return value

    def _criteria_columns(self) -> list[Column]:
        columns = [Column(self._label("criteria_passed"), lambda r: r.criteria_passed)]
        for rule in self.config.criteria.rules:
            columns.append(
                Column(
                    self._label("criterion", name=self._criterion_name(rule)),
                    lambda r, rule_id=rule.id: self._criterion_result(r, rule_id),
                )
            )
        columns.append(Column(self._label("override_reason"), lambda r: r.override_reason))
        return columns

    def _criterion_name(self, rule: Criterion) -> str:
        if rule.label is not None:
            return rule.label.get(self.lang)
        builtin = BUILTIN_CRITERIA.get(rule.id)
        if builtin is not None and builtin.field == rule.field:
            return t(self.lang, f"criteria.name.{rule.id}")
        if rule.field in MemoField._value2member_map_:
            return t(self.lang, f"memo.field.{rule.field}.label")
        custom = self.config.custom_labels.get(rule.field)
        return custom.get(self.lang) if custom else rule.field

    def _criterion_result(self, record: ExportRecord, rule_id: str) -> str | None:
        results = (record.criteria or {}).get("results") or []
        result = next(
            (r for r in results if isinstance(r, Mapping) and r.get("criterion_id") == rule_id), None
        )
        if result is None:
            return None  # not in force when this toss-up was submitted
        if result.get("passed"):
            return t(self.lang, "export.value.met")
        return t(self.lang, "export.value.not_met", reason=self._reason(result))

    def _reason(self, result: Mapping[str, Any]) -> str:
        key = str(result.get("reason_key") or "criteria.reason.missing")
        params = dict(result.get("params") or {})
        if "value" in params and key in {"criteria.reason.not_one_of", "criteria.reason.timeline_too_late"}:
            params["value"] = self._cell(self._option(str(result.get("field")), params["value"]))
        try:
            return t(self.lang, key, **params)
        except (KeyError, IndexError, ValueError):  # a reason from an older release: its key, not a crash
            return key

    def _score_columns(self) -> list[Column]:
        columns = [
            # of 100 once FS rated it; before, the memo's score (of its maximum) is in its own column
            Column(self._label("score_total"), lambda r: r.score_total if r.sheet is not None else None),
            Column(self._label("memo_score", max=self.config.score.weights.memo_max), lambda r: r.memo_score),
        ]
        for key in ScoreItemKey:
            columns.append(
                Column(
                    self._label("score_item", item=t(self.lang, f"score.item.{key.value}")),
                    lambda r, key=key.value: _score_points(r.score, key),
                )
            )
        return columns

    def _decision_columns(self) -> list[Column]:
        return [
            Column(self._label("decided_by"), lambda r: self.person(r.decided_by)),
            Column(self._zoned(self._label("decided_at")), lambda r: r.decided_at),
            Column(self._label("hours_to_decide"), self._hours_to_decide),
            Column(self._label("return_reason"), lambda r: r.return_reason),
            Column(self._label("return_note"), lambda r: r.return_note),
        ]

    def _hours_to_decide(self, record: ExportRecord) -> str | None:
        if record.decided_at is None:
            return None
        waited = time_to_decide(
            record.created_at,
            record.decided_at,
            tz=self.config.tz,
            business_hours=self.config.sla.business_hours,
        )
        return f"{waited.total_seconds() / 3600:.1f}"

    def _feedback_columns(self) -> list[Column]:
        def sheet(name: str) -> Callable[[ExportRecord], object]:
            return lambda r: (r.sheet or {}).get(name)

        columns = [
            Column(self._label("feedback_by"), lambda r: self.person(r.sheet_by)),
            Column(self._zoned(self._label("feedback_at")), lambda r: r.sheet_at),
            Column(
                self._feedback_label("result"),
                lambda r: _enum(MeetingResult, (r.sheet or {}).get("result")),
            ),
        ]
        columns += [Column(self._feedback_label(name), sheet(name)) for name in RATING_FIELDS]
        columns += [Column(self._feedback_label(name), sheet(name)) for name in _FEEDBACK_TEXTS]
        columns += [
            Column(self._label("is_rating"), lambda r: (r.is_rating or {}).get("follow_through")),
            Column(self._label("is_comment"), lambda r: (r.is_rating or {}).get("comment")),
        ]
        return columns

    def _feedback_label(self, name: str) -> str:
        return self._label("feedback_item", item=t(self.lang, f"feedback.field.{name}.label"))

    def _outcome_columns(self) -> list[Column]:
        def outcome(name: str) -> Callable[[ExportRecord], object]:
            return lambda r: (r.outcome or {}).get(name)

        return [
            Column(self._label("outcome"), lambda r: _enum(OutcomeKind, (r.outcome or {}).get("kind"))),
            Column(
                self._label("amount", currency=currency_name(self.lang, self.config.currency)),
                outcome("amount"),
            ),
            Column(self._label("closed_on"), outcome("closed_on")),
            Column(self._label("lost_reason"), outcome("lost_reason")),
            Column(self._label("outcome_by"), lambda r: self.person(r.outcome_by)),
            Column(self._zoned(self._label("outcome_at")), lambda r: r.outcome_at),
        ]


def _datetime(raw: object) -> datetime | object:
    if isinstance(raw, str):
        try:
            return datetime.fromisoformat(raw)
        except ValueError:
            return raw
    return raw


def _score_points(score: Mapping[str, Any] | None, key: str) -> int | None:
    for item in (score or {}).get("items") or []:
        if isinstance(item, Mapping) and item.get("key") == key:
            return int(item.get("points") or 0)
    return None


class CsvWriter:
    """RFC 4180 CSV in UTF-8 with a byte order mark, written to a binary stream as rows come."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.lines = 0  # the header included
        self._started = False

    def write(self, rows: Iterable[list[str]]) -> None:
        buffer = io.StringIO()
        if not self._started:
            buffer.write(BOM)
            self._started = True
        writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        for row in rows:
            writer.writerow(row)
            self.lines += 1
        self.out.write(buffer.getvalue().encode("utf-8"))
