"""How a free-text answer is read: loosely normalised, and whether it says anything at all.

Shared by the toss-up criteria and the quality score, so the gate and the score agree on what a
placeholder ("TBD", "未定", "-") is. Pure Python.
"""

from __future__ import annotations

import unicodedata

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


# Text answers that say nothing — the score's placeholders, so the gate and the score agree: a REQUIRED
# text field holding only one of these (or only symbols) is not answered. "なし" / "none" are real
# answers ("none considered") and deliberately kept out.
NOT_AN_ANSWER: frozenset[str] = frozenset(normalize_answer(p) for p in DEFAULT_PLACEHOLDERS) - frozenset(
    normalize_answer(n) for n in DEFAULT_NONE_CONSIDERED
)


def has_no_content(text: str) -> bool:
    """True for text made only of whitespace, punctuation and symbols ("-", "・・・", "？？")."""
    return not any(unicodedata.category(ch)[0] in "LN" for ch in text)


def is_placeholder(text: str) -> bool:
    """An answer that says nothing: only symbols, or one of the usual placeholders ("TBD", "未定", "-")."""
    return has_no_content(text) or normalize_answer(text) in NOT_AN_ANSWER
