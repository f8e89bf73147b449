"""A deal's outcome after the toss-up, as FS records it: won (amount, date), lost (reason) or still open.

Pure Python. Rules: won needs the amount (≥ 0, in the team's currency units) and the date it was won;
lost needs a reason (the date is optional); open carries nothing. Blank text counts as missing.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

LOST_REASON_MAX = 1000


# A sane ceiling for one deal (¥1 trillion): a typo or a forged amount cannot swamp the shared KPIs.
AMOUNT_MAX = 1_000_000_000_000


class OutcomeKind(StrEnum):
    WON = "won"  # 受注
    LOST = "lost"  # 失注
    OPEN = "open"  # 継続中


class Outcome(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: OutcomeKind
    amount: Annotated[int, Field(ge=0, le=AMOUNT_MAX)] | None = None  # won only
    closed_on: date | None = None  # won (required) / lost (optional)
    lost_reason: Annotated[str, Field(max_length=LOST_REASON_MAX)] | None = None  # lost only

    @field_validator("lost_reason", mode="before")
    @classmethod
    def _blank_to_none(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @model_validator(mode="after")
    def _fits_kind(self) -> Self:
        problems: list[str] = []
        if self.kind is OutcomeKind.WON:
            if self.amount is None:
                problems.append("a won deal needs its amount")
            if self.closed_on is None:
                problems.append("a won deal needs the date it was won (closed_on)")
            if self.lost_reason is not None:
                problems.append("a won deal has no lost_reason")
        elif self.kind is OutcomeKind.LOST:
            if self.lost_reason is None:
                problems.append("a lost deal needs a lost_reason")
            if self.amount is not None:
                problems.append("only a won deal has an amount")
        else:
            extra = [
                name
                for name, value in (
                    ("amount", self.amount),
                    ("closed_on", self.closed_on),
                    ("lost_reason", self.lost_reason),
                )
                if value is not None
            ]
            if extra:
                problems.append(f"an open deal has no {', '.join(extra)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @classmethod
    def won(cls, amount: int, closed_on: date) -> Outcome:
        return cls(kind=OutcomeKind.WON, amount=amount, closed_on=closed_on)

    @classmethod
    def lost(cls, reason: str, closed_on: date | None = None) -> Outcome:
        return cls(kind=OutcomeKind.LOST, lost_reason=reason, closed_on=closed_on)

    @classmethod
    def still_open(cls) -> Outcome:
        return cls(kind=OutcomeKind.OPEN)
