"""Team-defined choices with labels in both languages (lead sources, custom selects, criteria labels)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class LocalizedLabel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ja: Annotated[str, Field(min_length=1, max_length=75)]
    en: Annotated[str, Field(min_length=1, max_length=75)]

    def get(self, lang: str) -> str:
        """The label in `lang` ("ja" or "en"; a `bot.i18n.Lang` works too)."""
        return self.ja if str(lang) == "ja" else self.en


class SelectOption(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    value: Annotated[str, Field(pattern=r"^[a-z0-9_\-]{1,64}$")]
    label: LocalizedLabel
