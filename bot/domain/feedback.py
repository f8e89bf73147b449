"""Post-meeting feedback (商談後フィードバックシート): the sheet, its 30 points, due times, learning loop.

Pure Python: no Slack, no database.

Rules (the README repeats them):
- The FS rep fills the sheet after the meeting: result (進行 progress / 保留 on hold / 失注 lost), 1–5 stars
  for BANT accuracy, depth of issue understanding, memo completeness and overall, and three free texts
  (what was good, what to improve, information to collect next time). IS rates FS's follow-through with
  a lighter form (1–5 + comment): two-way feedback (相互フィードバック制度).
- FS rating points (the last 30 of the quality score): the star ratings mapped linearly onto 0..weight,
  each rating counted `rating_weights[name]` times (default: the four equally, i.e.
  weight × (sum of stars − 4) / 16), rounded half up, and at most weight − 1 when a counted star is below
  5 (each such rating is a loss `score.loss.rating` with params {"rating", "stars"}), so every lost point
  has a reason. All 5 → weight; all 1 → 0. A rating weighted 0 does not count. Not rated yet → 0 points,
  loss `score.loss.not_rated`.
- The feedback request is due `delay_hours` after the meeting, but never before the toss-up was created
  or accepted (a meeting already past when FS accepted is asked about `delay_hours` after acceptance).
  Without a meeting time there is no automatic request (None); the button on the accepted notice still
  lets FS rate. Delay hours are plain elapsed hours; the caller delivers the DM at `deliverable_at`.
- Reminder k (1-based, k ≤ `max_reminders`) is due `k × remind_every_hours` after the due time, counted in
  business time when the team has business hours (so reminders land inside working windows). The caller
  stops asking once the sheet is submitted and skips the reminders it already sent.
- Learning loop: the `learning_loop_items` most recent "information to collect next time" items (a line of
  an answer each) an IS rep received, newest first, de-duplicated (`request_key`), resurface in that
  rep's next memo modal.
Naive datetimes are read as UTC; results are aware UTC.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.domain.answers import has_no_content
from bot.domain.handoff import HandoffSnapshot, HandoffStatus, fs_rep_on
from bot.domain.moments import as_utc
from bot.domain.outcome import OutcomeKind
from bot.domain.score import ScoreBreakdown, ScoreItem, ScoreItemKey, ScoreLoss, points_for
from bot.domain.sla import MAX_HOURS, BusinessHours, add_business_time

FEEDBACK_TEXT_MAX = 2000
STARS_MIN, STARS_MAX = 1, 5

Stars = Annotated[int, Field(ge=STARS_MIN, le=STARS_MAX)]
FeedbackText = Annotated[str | None, Field(max_length=FEEDBACK_TEXT_MAX)]


class MeetingResult(StrEnum):
    PROGRESS = "progress"  # 進行
    ON_HOLD = "on_hold"  # 保留
    LOST = "lost"  # 失注


# The sheet's star ratings, in the seed's order (the loss params' "rating" values).
RATING_FIELDS: tuple[str, ...] = ("bant_accuracy", "issue_depth", "memo_completeness", "overall")


def _blank_to_none(value: object) -> object:
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    return value


class FeedbackSheet(BaseModel):
    """商談後フィードバックシート as the FS rep filled it in. Empty texts are None, never ""."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    result: MeetingResult
    bant_accuracy: Stars  # BANT情報の正確性
    issue_depth: Stars  # 課題把握の深さ
    memo_completeness: Stars  # 引き継ぎメモの充実度
    overall: Stars  # 総合評価
    good: FeedbackText = None  # 良かった点
    improve: FeedbackText = None  # 改善してほしい点
    next_info: FeedbackText = None  # 次回から取得してほしい情報

    _strip = field_validator("good", "improve", "next_info", mode="before")(_blank_to_none)

    @property
    def stars(self) -> dict[str, int]:
        """Rating name → stars, in the seed's order."""
        return {name: int(getattr(self, name)) for name in RATING_FIELDS}


class IsRating(BaseModel):
    """IS rates FS's follow-through on the same handoff (the lighter half of two-way feedback)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    follow_through: Stars
    comment: FeedbackText = None

    _strip = field_validator("comment", mode="before")(_blank_to_none)


class FeedbackConfig(BaseModel):
    """`feedback:` in app.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    delay_hours: float = Field(default=2.0, ge=0, le=MAX_HOURS, allow_inf_nan=False)  # after the meeting
    remind_every_hours: float = Field(default=24.0, gt=0, le=MAX_HOURS, allow_inf_nan=False)
    max_reminders: int = Field(default=3, ge=0, le=10)
    anonymous: bool = False  # the IS rep sees the feedback without the rater's name
    learning_loop_items: int = Field(default=5, ge=0, le=10)  # items: a line of an answer each
    # No request about a meeting whose feedback fell due longer ago than this (stale, or before install).
    ask_within_days: float = Field(default=14, gt=0, le=365, allow_inf_nan=False)
    # How much each star rating counts towards the FS rating points (the rule of the last 30 points).
    rating_weights: dict[str, Annotated[int, Field(ge=0, le=100)]] = Field(
        default_factory=lambda: dict.fromkeys(RATING_FIELDS, 1)
    )

    @field_validator("rating_weights")
    @classmethod
    def _known_ratings(cls, weights: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(weights) - set(RATING_FIELDS))
        if unknown:
            raise ValueError(f"no such rating {', '.join(unknown)} (ratings: {', '.join(RATING_FIELDS)})")
        complete = {name: weights.get(name, 1) for name in RATING_FIELDS}  # a rating not listed counts once
        if not any(complete.values()):
            raise ValueError("at least one rating must count (a weight above 0)")
        return complete


# ------------------------------------------------------------------------------------------ scoring


def fs_rating_item(
    sheet: FeedbackSheet | None, weight: int, rating_weights: Mapping[str, int] | None = None
) -> ScoreItem:
    """The FS rating item (default 30 points) from the sheet's star ratings; see the module rules."""
    if weight <= 0:
        return ScoreItem(ScoreItemKey.FS_RATING, 0, 0, ())
    if sheet is None:
        return ScoreItem(ScoreItemKey.FS_RATING, 0, weight, (ScoreLoss(None, "score.loss.not_rated"),))
    counts = (
        {name: rating_weights.get(name, 0) for name in RATING_FIELDS}
        if rating_weights
        else dict.fromkeys(RATING_FIELDS, 1)
    )
    stars = {name: value for name, value in sheet.stars.items() if counts[name] > 0}
    span = sum(counts.values()) * (STARS_MAX - STARS_MIN)
    earned = Fraction(sum(counts[name] * (value - STARS_MIN) for name, value in stars.items()), span)
    losses = tuple(
        ScoreLoss(None, "score.loss.rating", {"rating": name, "stars": value})
        for name, value in stars.items()
        if value < STARS_MAX
    )
    return ScoreItem(ScoreItemKey.FS_RATING, points_for(weight, earned, complete=not losses), weight, losses)


def complete_score(
    memo_score: ScoreBreakdown,
    sheet: FeedbackSheet | None,
    weight: int,
    rating_weights: Mapping[str, int] | None = None,
) -> ScoreBreakdown:
    """The memo items plus the FS rating item (replacing one already present, in its place)."""
    fs_item = fs_rating_item(sheet, weight, rating_weights)
    items = [fs_item if item.key is ScoreItemKey.FS_RATING else item for item in memo_score.items]
    if memo_score.item(ScoreItemKey.FS_RATING) is None:
        items.append(fs_item)
    return ScoreBreakdown(items=tuple(items))


# ------------------------------------------------------------------------------------------- timing


def feedback_due_at(
    *,
    meeting_at: datetime | None,
    created_at: datetime,
    accepted_at: datetime | None,
    config: FeedbackConfig,
) -> datetime | None:
    """When the FS rep should be asked for feedback (aware UTC), or None without a meeting time.

    `delay_hours` after the latest of the meeting, the toss-up's creation and its acceptance (when
    accepted): FS is never asked about a meeting before it could have taken place with them.
    """
    if meeting_at is None:
        return None
    base = max(as_utc(meeting_at), as_utc(created_at))
    if accepted_at is not None:
        base = max(base, as_utc(accepted_at))
    return base + timedelta(hours=config.delay_hours)


def feedback_reminder_at(
    due_at: datetime,
    number: int,
    config: FeedbackConfig,
    *,
    tz: ZoneInfo,
    business_hours: BusinessHours | None,
) -> datetime:
    """When reminder `number` (1-based) is due: `number × remind_every_hours` after `due_at`."""
    if number < 1:
        raise ValueError(f"reminder numbers start at 1, not {number}")
    return add_business_time(due_at, number * config.remind_every_hours, tz=tz, business_hours=business_hours)


def feedback_reminders_due(
    due_at: datetime,
    config: FeedbackConfig,
    *,
    now: datetime,
    tz: ZoneInfo,
    business_hours: BusinessHours | None,
) -> list[int]:
    """The reminder numbers (1-based, ascending, at most `max_reminders`) whose time has come by `now`."""
    current = as_utc(now)
    due: list[int] = []
    for number in range(1, config.max_reminders + 1):
        if feedback_reminder_at(due_at, number, config, tz=tz, business_hours=business_hours) > current:
            break  # reminder times only grow with the number
        due.append(number)
    return due


# ------------------------------------------------------------------------------------ learning loop


# What FS writes under "collect next time" ("one item per line"): a line's list marker is not the item.
# Bullets need a space after them when they could start the item itself ("-10% discount"), numbers must
# not run on into digits ("3.5億円", "12.5% growth").
_LIST_MARKER = re.compile(r"^(?:[・•●○◦▪■□]+\s*|[*\-‐–—]+\s+|\(?\d{1,2}[.)、）](?!\d)\s*|（\d{1,2}）\s*)")


def requested_items(text: str | None) -> list[str]:
    """The items of one "collect next time" answer: a line each, list markers ("・", "-", "1.") and
    blank or content-free lines dropped."""
    items = []
    for line in (text or "").splitlines():
        item = _LIST_MARKER.sub("", line.strip()).strip()
        if item and not has_no_content(item):
            items.append(item)
    return items


def request_key(item: str) -> str:
    """What makes two requested items the same request: NFKC, case and spacing folded, trailing
    punctuation dropped ("決裁者の名前。" = "決裁者の名前", "Number of users" = "number of users")."""
    folded = " ".join(unicodedata.normalize("NFKC", item).casefold().split())
    return re.sub(r"[\s.。!！?？、,]+$", "", folded)


def learning_items(sheets: Sequence[tuple[datetime, FeedbackSheet]], limit: int) -> list[str]:
    """The most recent "information to collect next time" items, newest first, de-duplicated, ≤ `limit`.

    `sheets` are (submitted at, sheet) pairs in any order; each line of a sheet's answer is an item
    (`requested_items`); of two items that are the same request (`request_key`) the newer one is kept.
    """
    if limit <= 0:
        return []
    ordered = sorted(enumerate(sheets), key=lambda pair: (as_utc(pair[1][0]), pair[0]), reverse=True)
    seen: set[str] = set()
    items: list[str] = []
    for _, (_, sheet) in ordered:
        for item in requested_items(sheet.next_info):
            key = request_key(item)
            if key in seen:
                continue
            seen.add(key)
            items.append(item)
            if len(items) >= limit:
                return items
    return items


# ---------------------------------------------------------------------------------------- the owner


def feedback_owner(handoff: HandoffSnapshot) -> str | None:
    """The FS rep whose sheet this is (`fs_rep_on`: the assigned rep, or whoever accepted an unassigned
    toss-up); None when there is none yet."""
    return fs_rep_on(fs_user_id=handoff.fs_user_id, status=handoff.status, decided_by=handoff.decided_by)


@dataclass(frozen=True)
class AwaitingSheet:
    """An accepted toss-up with a meeting time and no feedback sheet yet: just what asking for it needs
    (the scheduler reads these every minute, so it does not load whole toss-ups)."""

    handoff_id: int
    fs_user_id: str | None
    decided_by: str | None
    created_at: datetime
    decided_at: datetime | None
    meeting_at: datetime

    @property
    def owner(self) -> str | None:
        """Who is asked: the FS rep on it (`fs_rep_on`)."""
        return fs_rep_on(
            fs_user_id=self.fs_user_id, status=HandoffStatus.ACCEPTED, decided_by=self.decided_by
        )


@dataclass(frozen=True)
class FollowUp:
    """An accepted toss-up its FS rep still owes something after the meeting: the feedback sheet, or the
    deal's outcome (not recorded, or recorded as still open)."""

    handoff: HandoffSnapshot
    rated: bool
    outcome: OutcomeKind | None  # None: not recorded yet
