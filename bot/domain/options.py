"""Team-defined choices with labels in both languages (lead sources, custom selects, criteria labels)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

OPTION_VALUE_PATTERN = r"^[a-z0-9_\-]{1,64}$"  # a select option's value, as stored and matched
SELECT_KEY_PATTERN = r"^[a-z][a-z0-9_]{0,30}$"  # a custom select's key, as criteria and routing name it


class LocalizedLabel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ja: Annotated[str, Field(min_length=1, max_length=75)]
    en: Annotated[str, Field(min_length=1, max_length=75)]

    def get(self, lang: str) -> str:
        """The label in `lang` ("ja" or "en"; a `bot.i18n.Lang` works too)."""
        return self.ja if str(lang) == "ja" else self.en


class SelectOption(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    value: Annotated[str, Field(pattern=OPTION_VALUE_PATTERN)]
    label: LocalizedLabel


class CustomSelect(BaseModel):
    """A select the team adds to the memo (segment, region, deal size band…) for routing and criteria."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Annotated[str, Field(pattern=SELECT_KEY_PATTERN)]
    label: LocalizedLabel
    required: bool = False
    options: list[SelectOption]

    @field_validator("options")
    @classmethod
    def _options(cls, options: list[SelectOption]) -> list[SelectOption]:
        values = [o.value for o in options]
        if len(set(values)) != len(values):
            raise ValueError("option values must be unique")
        if not 1 <= len(options) <= 100:
            raise ValueError("give between 1 and 100 options (Slack's limit for a select)")
        return options

    def label_of(self, value: str, lang: str) -> str:
        """The option's label in `lang`; the raw value when the team removed that option since."""
        return next((o.label.get(lang) for o in self.options if o.value == value), value)


def custom_problems(answers: dict[str, str], selects: Sequence[CustomSelect]) -> dict[str, str]:
    """Custom select key → catalog key of its problem (unanswered though required, or not an option)."""
    problems: dict[str, str] = {}
    for select in selects:
        value = answers.get(select.key)
        if value is None:
            if select.required:
                problems[select.key] = "error.choose"
        elif value not in {o.value for o in select.options}:
            problems[select.key] = "error.unknown_option"
    return problems
