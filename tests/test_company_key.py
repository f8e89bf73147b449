"""The duplicate warning's company key (bot/domain/company.py): property-tested, since it reads what a
rep typed into the memo's company field."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.company import _LATIN_FORMS, KEY_MAX, company_key

WORD = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789アクメ東京商事",
    min_size=1,
    max_size=12,
).filter(lambda word: word.casefold() not in _LATIN_FORMS)
SUFFIXES = [
    "",
    " Inc.",
    " Inc",
    ", Inc.",
    " Co., Ltd.",
    " Co.,Ltd.",
    " Ltd",
    " LLC",
    " Corp",
    " Corp.",
    " KK",
    " K.K.",
]
SUFFIXES += ["株式会社", " 株式会社", "(株)", "（株）", "㈱", " 有限会社", " Corporation"]
PREFIXES = ["", "株式会社", "株式会社 ", "(株)", "（株）", "㈱", "有限会社", "合同会社 "]
SPACES = st.sampled_from([" ", "  ", "\u3000", "\t", " \u3000 "])


def full_width(text: str) -> str:
    """ASCII letters and digits as their full-width forms (what a Japanese IME types)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@st.composite
def spellings(draw: st.DrawFn) -> tuple[str, str]:
    """(how a rep may type a company, the key it must have)."""
    words = draw(st.lists(WORD, min_size=1, max_size=3))
    name = words[0]
    for word in words[1:]:
        name += draw(SPACES) + word
    if draw(st.booleans()):
        name = name.upper() if draw(st.booleans()) else name.lower()
    if draw(st.booleans()):
        name = full_width(name)
    spelled = draw(st.sampled_from(PREFIXES)) + name + draw(st.sampled_from(SUFFIXES))
    padding = draw(st.sampled_from(["", " ", "\u3000"]))
    return padding + spelled + padding, "".join(words).casefold()


@given(spellings())
def test_every_spelling_of_a_company_has_its_plain_key(case: tuple[str, str]) -> None:
    spelled, key = case
    assert company_key(spelled) == key


@given(spellings(), spellings())
def test_different_companies_keep_different_keys(first: tuple[str, str], second: tuple[str, str]) -> None:
    assert (company_key(first[0]) == company_key(second[0])) == (first[1] == second[1])


@given(st.text(max_size=400))
def test_any_text_gives_a_short_key_of_letters_and_digits_only(text: str) -> None:
    key = company_key(text)
    assert len(key) <= KEY_MAX
    assert all(unicodedata.category(char)[0] in "LNM" for char in key)
    assert company_key(text) == key  # the same input, the same key (no hidden state)


def test_the_issues_examples() -> None:
    keys = {
        company_key(n)
        for n in ("株式会社Acme", "ＡＣＭＥ Inc.", "Acme Co., Ltd.", "(株)ACME", "acme ㈱", "Acme KK")
    }
    assert keys == {"acme"}
    assert company_key("有限会社 アクメ") == company_key("アクメ") == "アクメ"


def test_a_name_that_is_only_a_corporate_form_is_not_keyed_as_empty() -> None:
    assert company_key("株式会社") == "株式会社"
    assert company_key("Inc.") == "inc"
    assert company_key("") == company_key(None) == company_key(" 、。 ") == ""
