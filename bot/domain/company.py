"""The company key: one spelling for every way a rep may type the same company (the duplicate warning).

"株式会社Acme", "ＡＣＭＥ Inc.", "acme, co., ltd." and "Acme ㈱" all have the key "acme": Unicode
NFKC (full-width letters, ㈱ → (株)), case folded, the corporate form (株式会社, (株), 有限会社, Inc.,
Co., Ltd., LLC, Corp, KK, …) dropped at either end, and every space and punctuation mark removed.
Pure: the store keeps the key in an indexed column and looks duplicates up by it.
"""

from __future__ import annotations

import re
import unicodedata

# Japanese corporate forms, as they read after NFKC and casefold ("（株）" and "㈱" → "(株)").
_JA_FORMS = (
    "株式会社",
    "有限会社",
    "合同会社",
    "合資会社",
    "合名会社",
    "一般社団法人",
    "一般財団法人",
    "(株)",
    "(有)",
    "(同)",
    "(資)",
    "(名)",
)
# Latin corporate forms, as whole words once dots are dropped and commas split ("co., ltd." → "co", "ltd").
_LATIN_FORMS = frozenset(
    {
        "inc",
        "incorporated",
        "co",
        "company",
        "ltd",
        "limited",
        "llc",
        "corp",
        "corporation",
        "kk",
        "gk",
        "plc",
        "gmbh",
    }
)
_SEPARATORS = re.compile(r"[\s,]+")
KEY_MAX = 255  # the column's length


def _kept(char: str) -> bool:
    """Letters, digits and combining marks make the name; spaces, punctuation and symbols do not."""
    return unicodedata.category(char)[0] in "LNM"


def _strip_japanese_forms(name: str) -> str:
    changed = True
    while changed:
        changed = False
        name = name.strip()
        for form in _JA_FORMS:
            if name.startswith(form):
                name, changed = name[len(form) :], True
            if name.endswith(form):
                name, changed = name[: -len(form)], True
    return name


def _strip_latin_forms(words: list[str]) -> list[str]:
    while words and words[-1] in _LATIN_FORMS:
        words = words[:-1]
    while words and words[0] in _LATIN_FORMS:
        words = words[1:]
    return words


def _squeeze(text: str) -> str:
    return "".join(char for char in text if _kept(char))


def company_key(name: str | None) -> str:
    """The key duplicates are found by; "" for a name with no letter or digit at all.

    A name that is nothing but corporate forms ("Inc.", "株式会社") keeps them, so it is not keyed as empty.
    """
    folded = unicodedata.normalize("NFKC", name or "").casefold()
    # NFKC may produce text that casefolds to something NFKC would change again (and vice versa).
    folded = unicodedata.normalize("NFKC", folded)
    spaced = _SEPARATORS.split(_strip_japanese_forms(folded).replace(".", ""))
    key = "".join(_strip_latin_forms([squeezed for word in spaced if (squeezed := _squeeze(word))]))
    if not key:
        key = _squeeze(folded)
    return key[:KEY_MAX]
