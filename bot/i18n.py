"""Message catalog: every user-visible string, in Japanese and English.

Catalog files live in `bot/locales/<lang>/*.yaml` (one file per area, nested keys flattened with dots:
`notice.button.accept`). Both languages must hold exactly the same keys; a test enforces it.
Placeholders use `str.format` syntax: `{company}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import yaml

LOCALES_DIR = Path(__file__).parent / "locales"


class Lang(StrEnum):
    JA = "ja"
    EN = "en"


def normalize_locale(raw: str | None, default: Lang) -> Lang:
    """Slack sends locales like `ja-JP` or `en-US`; anything we do not speak falls back to `default`."""
    if not raw:
        return default
    prefix = raw.replace("_", "-").split("-", 1)[0].lower()
    try:
        return Lang(prefix)
    except ValueError:
        return default


def _flatten(prefix: str, node: Any, out: dict[str, str], source: Path) -> None:
    if isinstance(node, Mapping):
        for key, child in node.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), child, out, source)
        return
    if prefix in out:
        raise ValueError(f"duplicate catalog key {prefix!r} in {source}")
    out[prefix] = str(node)


@cache
def catalog(lang: Lang) -> Mapping[str, str]:
    """All messages of one language, keyed by dotted key."""
    messages: dict[str, str] = {}
    for path in sorted((LOCALES_DIR / lang.value).glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        _flatten("", data, messages, path)
    return messages


def plural_form(count: object) -> str:
    """`one` for a count of exactly 1 (an int, or a formatted number such as "1"), else `other`."""
    try:
        number = float(str(count).replace(",", ""))
    except ValueError:
        return "other"
    return "one" if number == 1 and "." not in str(count) else "other"


def t(lang: Lang, key: str, /, **params: object) -> str:
    """The message `key` in `lang`, placeholders filled. A missing key is a bug: it raises KeyError.

    A message that counts something has singular and plural entries, `key.one` and `key.other` ("1
    toss-up" / "2 toss-ups"; Japanese gives both the same text): `t` picks one by the `count` param.
    """
    messages = catalog(lang)
    template = messages.get(key)
    if template is None and "count" in params and f"{key}.one" in messages and f"{key}.other" in messages:
        template = messages[f"{key}.{plural_form(params['count'])}"]
    if template is None:
        raise KeyError(key)
    return template.format(**params) if params else template


def has(lang: Lang, key: str) -> bool:
    """Whether `key` is a message, or a counted one (`key.one` / `key.other`)."""
    messages = catalog(lang)
    return key in messages or (f"{key}.one" in messages and f"{key}.other" in messages)
