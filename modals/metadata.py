"""Typed `private_metadata`: what a modal must remember between opening and submission."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.i18n import Lang
from modals.limits import PRIVATE_METADATA_MAX

Meta = TypeVar("Meta", bound=BaseModel)


class _Meta(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MemoModalMeta(_Meta):
    """Where `/tossup` was typed (the IS rep's confirmation goes there) and the modal's language."""

    channel_id: str | None = None
    lang: Lang
    revises: int | None = None  # the returned toss-up this memo revises


class HandoffActionMeta(_Meta):
    """The toss-up a return/question modal acts on, and the notice it was opened from."""

    handoff_id: int
    channel_id: str | None = None
    message_ts: str | None = None
    lang: Lang


def dump_meta(model: BaseModel) -> str:
    raw = model.model_dump_json()
    if len(raw) > PRIVATE_METADATA_MAX:
        raise ValueError(f"private_metadata is {len(raw)} characters; Slack allows {PRIVATE_METADATA_MAX}")
    return raw


def load_meta(cls: type[Meta], raw: str | None) -> Meta:
    """Parse `private_metadata` back; anything that is not a valid `cls` raises ValueError."""
    if not raw:
        raise ValueError("private_metadata is empty")
    try:
        return cls.model_validate_json(raw)
    except ValidationError as exc:
        problems = exc.error_count()
        raise ValueError(f"private_metadata is not a valid {cls.__name__} ({problems} problems)") from exc
