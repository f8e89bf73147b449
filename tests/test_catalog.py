"""The message catalogs: both languages complete, same keys, same placeholders, nothing empty."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
import yaml

from bot.domain.memo import TEXT_LIMITS, MemoField, MemoSection
from bot.i18n import LOCALES_DIR, Lang, catalog, has
from modals.text import ENUM_LABEL_PREFIXES

MODALS_DIR = Path(__file__).resolve().parent.parent / "modals"
MEMO_DOMAIN = Path(__file__).resolve().parent.parent / "bot" / "domain" / "memo.py"
CATALOG_FILES = sorted({p.name for lang in Lang for p in (LOCALES_DIR / lang.value).glob("*.yaml")})


def flat(node: object, prefix: str = "") -> dict[str, object]:
    if isinstance(node, dict):
        out: dict[str, object] = {}
        for key, child in node.items():
            out.update(flat(child, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: node}


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


@pytest.mark.parametrize("name", CATALOG_FILES)
def test_each_catalog_file_has_the_same_keys_in_ja_and_en(name: str) -> None:
    keys = {}
    for lang in Lang:
        path = LOCALES_DIR / lang.value / name
        assert path.exists(), f"{path} is missing"
        keys[lang] = set(flat(yaml.safe_load(path.read_text(encoding="utf-8")) or {}))
    assert keys[Lang.JA] ^ keys[Lang.EN] == set()


def test_whole_catalogs_match() -> None:
    assert set(catalog(Lang.JA)) == set(catalog(Lang.EN))


def test_the_english_catalog_is_english() -> None:
    """No kana or kanji reaches an English reader (the Japanese period words and 株式会社 were in the
    English help)."""
    japanese = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff\uff01-\uff5e]")
    leaks = {key: text for key, text in catalog(Lang.EN).items() if japanese.search(text)}
    assert leaks == {}


@pytest.mark.parametrize("lang", list(Lang))
def test_no_empty_strings_and_braces_only_as_placeholders(lang: Lang) -> None:
    for key, text in catalog(lang).items():
        assert text.strip(), f"{lang}:{key} is empty"
        names = placeholders(text)  # raises on a stray brace
        assert all(re.fullmatch(r"[a-z_]+", n) for n in names), f"{lang}:{key} has odd placeholders {names}"
        assert key not in {"True", "False"} and not key.endswith((".True", ".False")), "unquoted yes/no key"


def test_placeholders_match_between_languages() -> None:
    ja, en = catalog(Lang.JA), catalog(Lang.EN)
    for key in ja.keys() & en.keys():
        assert placeholders(ja[key]) == placeholders(en[key]), key


@pytest.mark.parametrize("lang", list(Lang))
def test_every_enum_member_has_a_short_label(lang: Lang) -> None:
    messages = catalog(lang)
    for enum, prefix in ENUM_LABEL_PREFIXES.items():
        for member in enum:
            label = messages.get(f"{prefix}.{member.value}")
            assert label, f"{lang}: no label for {enum.__name__}.{member.name}"
            assert len(label) <= 75, f"{lang}: {prefix}.{member.value} is too long for an option"


@pytest.mark.parametrize("lang", list(Lang))
def test_every_memo_field_and_section_is_labelled(lang: Lang) -> None:
    messages = catalog(lang)
    for field in MemoField:
        for part in ("label", "hint"):
            assert messages.get(f"memo.field.{field.value}.{part}"), f"{lang}: {field} {part}"
        if field in TEXT_LIMITS:
            placeholder = messages.get(f"memo.field.{field.value}.placeholder")
            assert placeholder and len(placeholder) <= 150, f"{lang}: {field} placeholder"
    for section in MemoSection:
        assert messages.get(f"memo.section.{section.value}.title")
        assert messages.get(f"memo.section.{section.value}.intro")


def test_every_literal_key_in_code_exists() -> None:
    sources = [*MODALS_DIR.glob("*.py"), MEMO_DOMAIN]
    used = set()
    for path in sources:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"\bt\(\s*lang,\s*\"([a-z0-9_.]+)\"", text))
        used |= set(re.findall(r"\"(error\.[a-z_]+)\"", text))
    assert len(used) > 20
    for lang in Lang:
        missing = sorted(k for k in used if not has(lang, k))  # or counted: `k.one` / `k.other`
        assert missing == [], f"{lang}: {missing}"
