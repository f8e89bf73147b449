"""Which digest: the weekly meeting agenda, the monthly review or the quarterly review."""

from enum import StrEnum


class DigestKind(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
