"""How a free-text answer is read: loosely normalised, and whether it says anything at all.

Shared by the toss-up criteria and the quality score through one `AnswerReading` (built from app.yaml's
`score.placeholders` / `score.none_considered`), so the gate and the score agree on what a placeholder
("TBD", "未定", "-") is. Pure Python.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_PLACEHOLDERS: tuple[str, ...] = (
    "TBD", "未定", "不明", "未確認", "確認中", "わからない", "分からない", "特になし", "なし", "無し",
    "-", "ー", "?", "？", "n/a", "none", "unknown", "要確認", "後で", "later",
)  # fmt: skip
DEFAULT_NONE_CONSIDERED: tuple[str, ...] = (
    "なし", "無し", "特になし", "競合なし", "他社検討なし", "検討なし", "none", "none considered",
    "no competitors", "nothing else",
)  # fmt: skip


def normalize_answer(text: str) -> str:
    """A text answer compared loosely: Unicode NFKC (全角→半角), case-folded, whitespace collapsed, and a
    trailing full stop dropped ("未定。" reads as "未定")."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split()).rstrip("。.")


@dataclass(frozen=True)
class AnswerReading:
    """The one reading of a free-text answer, shared by the toss-up criteria gate and the quality score.

    Built from app.yaml's `score.placeholders` and `score.none_considered`, so a team's own placeholder
    ("ask later") fails a `required` criterion exactly where the score gives it nothing.
    - a *placeholder* is text made only of symbols, or one of `placeholders` (compared loosely);
    - a *none-considered* answer ("なし", "none") to competitors is knowledge: it answers the field even when
      it is also listed as a placeholder. Elsewhere "なし" says nothing.
    """

    placeholders: frozenset[str]
    none_considered: frozenset[str]

    @classmethod
    def of(cls, placeholders: Iterable[str], none_considered: Iterable[str]) -> AnswerReading:
        return cls(
            placeholders=frozenset(normalize_answer(p) for p in placeholders),
            none_considered=frozenset(normalize_answer(n) for n in none_considered),
        )

    def is_placeholder(self, text: str) -> bool:
        return has_no_content(text) or normalize_answer(text) in self.placeholders

    def is_none_considered(self, field: str, text: str) -> bool:
        """A "none considered" answer, which counts only for the competitors field."""
        return field == NONE_CONSIDERED_FIELD and normalize_answer(text) in self.none_considered

    def is_answer(self, field: str, text: str) -> bool:
        """Whether the text answer to `field` says something: the gate's `required` and the score's
        completeness both ask this."""
        return self.is_none_considered(field, text) or not self.is_placeholder(text)


# The one memo field where "none considered" is an answer (the memo field's value; no import of the memo).
NONE_CONSIDERED_FIELD = "competitors"
DEFAULT_READING = AnswerReading.of(DEFAULT_PLACEHOLDERS, DEFAULT_NONE_CONSIDERED)


def has_no_content(text: str) -> bool:
    """True for text made only of whitespace, punctuation and symbols ("-", "・・・", "？？")."""
    return not any(unicodedata.category(ch)[0] in "LN" for ch in text)
