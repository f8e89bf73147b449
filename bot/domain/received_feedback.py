"""What an IS rep's App Home shows of the feedback they received. Pure Python: no Slack, no database.

Rules (the README repeats them):
- The latest `shown` sheets FS filled in on the rep's toss-ups, newest first (by when the sheet was last
  saved), each with its stars and three texts; a stored sheet that no longer reads as a sheet is skipped.
- "Collect next time": `learning_items` over every sheet read (the same list the next memo modal shows).
- Anonymous mode (`feedback.anonymous`): the rater is never named (None), whoever it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from bot.domain.feedback import FeedbackSheet, learning_items


@dataclass(frozen=True)
class SheetReceived:
    """One sheet as the store reads it for App Home (`sheet` is FeedbackSheet's JSON)."""

    handoff_id: int
    company: str
    meeting_at: datetime | None
    rater_id: str
    sheet: dict[str, Any]
    at: datetime  # when the sheet was last saved


@dataclass(frozen=True)
class ReceivedSheet:
    handoff_id: int
    company: str
    meeting_at: datetime | None
    rater_id: str | None  # None: anonymous mode
    sheet: FeedbackSheet
    at: datetime


@dataclass(frozen=True)
class ReceivedFeedback:
    sheets: tuple[ReceivedSheet, ...]  # newest first
    collect_next: tuple[str, ...]  # FS's "information to collect next time", newest first

    @property
    def is_empty(self) -> bool:
        return not self.sheets and not self.collect_next


def received_feedback(
    rows: Iterable[SheetReceived], *, shown: int, learning_limit: int, anonymous: bool
) -> ReceivedFeedback:
    """The App Home view of `rows` (any order): see the module rules."""
    sheets: list[ReceivedSheet] = []
    for row in rows:
        try:
            sheet = FeedbackSheet.model_validate(row.sheet)
        except ValidationError:
            continue
        sheets.append(
            ReceivedSheet(
                handoff_id=row.handoff_id,
                company=row.company,
                meeting_at=row.meeting_at,
                rater_id=None if anonymous else row.rater_id,
                sheet=sheet,
                at=row.at,
            )
        )
    sheets.sort(key=lambda received: (received.at, received.handoff_id), reverse=True)
    collect_next = learning_items([(received.at, received.sheet) for received in sheets], learning_limit)
    return ReceivedFeedback(sheets=tuple(sheets[: max(shown, 0)]), collect_next=tuple(collect_next))
