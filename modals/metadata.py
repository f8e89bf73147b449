"""Typed `private_metadata`: what a modal must remember between opening and submission.

It comes back through the client, so it is validated like any other input: ids in the range the database
holds, channel and message ids shaped like Slack's. Anything else is a ValueError from `load_meta`.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.config import CHANNEL_ID_RE
from bot.i18n import Lang
from modals.limits import PRIVATE_METADATA_MAX

Meta = TypeVar("Meta", bound=BaseModel)

# The largest id the store's INTEGER columns hold (PostgreSQL int4; SQLite overflows past 2**63): a larger
# one from a button or a form is "not found" before it reaches the database, never a database error.
ID_MAX = 2**31 - 1
_ID_DIGITS_MAX = len(str(ID_MAX))
SLACK_TS_PATTERN = r"^[0-9]{1,12}\.[0-9]{1,8}$"  # a message ts ("1700000000.000100")


def parse_id(raw: object) -> int | None:
    """A database id as a button or a form carries it: ASCII digits, 1 … ID_MAX; None for anything else.

    Strict on purpose: `int()` would also take " 7", "+7", "٧" or "1_000", and raises on "²" (a digit to
    `str.isdigit`); an id past the column's range would be a database error instead of "not found".
    """
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 1 <= raw <= ID_MAX else None
    if not isinstance(raw, str) or not raw.isascii() or not raw.isdigit() or len(raw) > _ID_DIGITS_MAX:
        return None
    value = int(raw)
    return value if 1 <= value <= ID_MAX else None


class _Meta(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MemoModalMeta(_Meta):
    """Where `/tossup` was typed (the IS rep's confirmation goes there) and the modal's language."""

    channel_id: str | None = Field(default=None, pattern=CHANNEL_ID_RE.pattern)
    lang: Lang
    # The returned toss-up this memo revises; checked again on submission (it came back through the client).
    revises: int | None = Field(default=None, ge=1, le=ID_MAX, strict=True)
    # The pending toss-up whose memo this modal edits; checked again on submission (its IS rep, pending).
    edits: int | None = Field(default=None, ge=1, le=ID_MAX, strict=True)


class HandoffActionMeta(_Meta):
    """The toss-up a return/question modal acts on, and the notice it was opened from."""

    handoff_id: int = Field(ge=1, le=ID_MAX, strict=True)
    channel_id: str | None = Field(default=None, pattern=CHANNEL_ID_RE.pattern)
    message_ts: str | None = Field(default=None, pattern=SLACK_TS_PATTERN)
    lang: Lang


def dump_meta(model: BaseModel) -> str:
    raw = model.model_dump_json()
    if len(raw) > PRIVATE_METADATA_MAX:
        raise ValueError(f"private_metadata is {len(raw)} characters; Slack allows {PRIVATE_METADATA_MAX}")
    return raw


def load_meta(cls: type[Meta], raw: object) -> Meta:
    """Parse `private_metadata` back; anything that is not a valid `cls` (not a string, not JSON, a field
    missing, out of range or shaped wrong) raises ValueError, whose message holds none of `raw`."""
    if not isinstance(raw, str) or not raw:
        raise ValueError("private_metadata is empty or not a string")
    if len(raw) > PRIVATE_METADATA_MAX:
        raise ValueError("private_metadata is longer than Slack allows")
    try:
        return cls.model_validate_json(raw)
    except ValidationError as exc:
        problems = exc.error_count()
        raise ValueError(f"private_metadata is not a valid {cls.__name__} ({problems} problems)") from exc
