"""The weekly IS/FS meeting agenda (週次連携ミーティング), in pure Python.

The store loads `AgendaFacts` for a week with a handful of SQL queries (rows of that week and of what is
due now, never the history); `build_weekly_agenda` turns them into a `WeeklyAgenda`, the typed content of
the seed's four time-boxed sections:

1. This week's toss-ups (10 min): every toss-up created in the week, its status and quality score, counts
   by status, the team's average memo score and its change from last week, each IS rep's average.
2. Deals in progress needing support (10 min): accepted toss-ups whose feedback sheet is overdue, meetings
   rated 保留 (on hold) with no final outcome, toss-ups past the acceptance SLA, and outcomes not recorded
   `outcome_due_days` after the meeting.
3. Next week (5 min): meetings booked for next week, and toss-ups still waiting for a decision.
4. Collaboration issues (15 min): the week's lowest scores with the item that lost most, the week's
   returns and warn-mode overrides with their reasons, what FS asked IS to collect next time most often,
   and the open collaboration issues, most urgent first.

The average score is the memo's (its first 70 points, known for every toss-up when it is made), so
weeks compare fairly whatever share of them FS has rated yet. The agenda is frozen as JSON when a digest
period is claimed, so every message of one digest shows the same numbers, however late it is sent.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot.domain.handoff import HandoffStatus, ReturnReason
from bot.domain.issues import CollabIssue, Quadrant, most_urgent_first
from bot.domain.kpi import Period, PeriodKind
from bot.domain.outcome import OutcomeKind
from bot.domain.score import ScoreItemKey
from bot.domain.sla import SlaConfig, sla_deadline

MEMO_SCORE_MAX = 70  # the memo's part of the 100-point score
FULL_SCORE_MAX = 100
LOW_SCORES_MAX = 3  # "the week's lowest scores"
REQUESTED_INFO_MAX = 5  # the most requested "collect next time" items
REQUESTED_INFO_WEEKS = 4  # how far back FS's "collect next time" answers are counted


class Section(StrEnum):
    """The seed's four sections, in meeting order."""

    THIS_WEEK = "this_week"
    SUPPORT = "support"
    NEXT_WEEK = "next_week"
    ISSUES = "issues"


SECTION_MINUTES: dict[Section, int] = {
    Section.THIS_WEEK: 10,
    Section.SUPPORT: 10,
    Section.NEXT_WEEK: 5,
    Section.ISSUES: 15,
}


class AgendaStatus(StrEnum):
    """Where a toss-up stands, most advanced first: an outcome beats a rating beats the decision."""

    WAITING = "waiting"
    ACCEPTED = "accepted"
    RETURNED = "returned"
    RATED = "rated"
    WON = "won"
    LOST = "lost"


class SupportReason(StrEnum):
    FEEDBACK_OVERDUE = "feedback_overdue"  # accepted, meeting held, no feedback sheet yet
    ON_HOLD = "on_hold"  # FS rated the meeting 保留 and no final outcome is recorded
    PAST_SLA = "past_sla"  # still waiting for FS's decision past the acceptance deadline
    OUTCOME_MISSING = "outcome_missing"  # no outcome recorded N days after the meeting


# ------------------------------------------------------------------------------------------ input


@dataclass(frozen=True, slots=True)
class WeekTossUp:
    """A toss-up created in the week (or the week before, for the average's change)."""

    id: int
    company: str
    is_user_id: str
    fs_user_id: str | None  # the FS rep on it (`fs_rep_on`)
    status: HandoffStatus
    created_at: datetime
    memo_score: int | None  # the memo's points (of 70)
    score_total: int | None  # memo + FS rating once rated (of 100), else the memo's
    rated: bool
    outcome: OutcomeKind | None
    notice_channel_id: str | None = None
    notice_ts: str | None = None
    override_reason: str | None = None  # warn mode: tossed up though criteria failed


@dataclass(frozen=True, slots=True)
class ScoreLossFacts:
    """Where one toss-up's memo score lost points: score item → points lost."""

    handoff_id: int
    lost: dict[ScoreItemKey, int]


@dataclass(frozen=True, slots=True)
class ReturnFacts:
    """A toss-up FS returned to IS during the week (whenever it was made)."""

    id: int
    company: str
    is_user_id: str
    returned_by: str | None
    returned_at: datetime
    reason: ReturnReason | None
    note: str | None


@dataclass(frozen=True, slots=True)
class OpenTossUp:
    """A toss-up that may need the meeting's attention now: pending, or accepted with a meeting."""

    id: int
    company: str
    is_user_id: str
    fs_user_id: str | None
    status: HandoffStatus
    created_at: datetime
    meeting_at: datetime | None
    rated: bool = False
    on_hold: bool = False  # FS's sheet says 保留
    outcome: OutcomeKind | None = None
    notice_channel_id: str | None = None
    notice_ts: str | None = None


@dataclass(frozen=True)
class AgendaFacts:
    """Everything the agenda needs, as loaded for one week by `store.agenda.load_agenda_facts`."""

    week: Period
    now: datetime
    this_week: Sequence[WeekTossUp]
    last_week_memo_scores: Sequence[int]  # memo scores of last week's toss-ups, for the change
    losses: Sequence[ScoreLossFacts]  # for the week's lowest-scored toss-ups
    returns: Sequence[ReturnFacts]
    pending: Sequence[OpenTossUp]  # every toss-up still waiting for a decision
    accepted_open: Sequence[OpenTossUp]  # accepted, meeting within the look-back, no final outcome
    next_week_meetings: Sequence[OpenTossUp]
    requested_info: Sequence[str]  # FS's "collect next time" answers of the last weeks
    open_issues: Sequence[CollabIssue] = field(default_factory=tuple)


@dataclass(frozen=True)
class AgendaRules:
    """The team's settings the agenda applies (from app.yaml)."""

    tz: ZoneInfo
    sla: SlaConfig
    feedback_delay_hours: float  # feedback is due this long after the meeting
    outcome_due_days: int  # an outcome is expected this many days after the meeting


# ----------------------------------------------------------------------------------------- output


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NoticeRef(_Model):
    """Where a toss-up's notice is, for a link (None parts: never posted)."""

    channel_id: str | None = None
    ts: str | None = None


class TossUpLine(_Model):
    id: int
    company: str
    is_user_id: str
    fs_user_id: str | None
    status: AgendaStatus
    score: int | None
    score_max: int  # 70 until FS rated it, then 100
    notice: NoticeRef = NoticeRef()


class RepAverage(_Model):
    user_id: str
    toss_ups: int
    average: float | None  # mean memo score (of 70)


class ScoreTrend(_Model):
    average: float | None  # this week's mean memo score (of 70)
    previous: float | None  # last week's
    scored: int  # toss-ups behind `average`

    @property
    def change(self) -> float | None:
        if self.average is None or self.previous is None:
            return None
        return self.average - self.previous


class ThisWeek(_Model):
    toss_ups: list[TossUpLine]
    counts: dict[AgendaStatus, int]  # every status, zeros included, in AgendaStatus order
    team: ScoreTrend
    by_rep: list[RepAverage]  # IS reps, best average first


class SupportLine(_Model):
    id: int
    company: str
    is_user_id: str
    fs_user_id: str | None
    reason: SupportReason
    since: datetime  # the meeting (feedback, on hold, outcome) or the acceptance deadline (SLA)
    days: int  # whole days since `since`
    notice: NoticeRef = NoticeRef()


class MeetingLine(_Model):
    id: int
    company: str
    meeting_at: datetime
    fs_user_id: str | None
    is_user_id: str


class WaitingLine(_Model):
    id: int
    company: str
    is_user_id: str
    fs_user_id: str | None
    created_at: datetime
    notice: NoticeRef = NoticeRef()


class NextWeek(_Model):
    first_day: date
    last_day: date
    meetings: list[MeetingLine]  # soonest first
    waiting: list[WaitingLine]  # oldest first


class LowScoreLine(_Model):
    id: int
    company: str
    is_user_id: str
    score: int  # memo points (of 70)
    weakest_item: ScoreItemKey | None  # the item that lost most points
    weakest_lost: int
    notice: NoticeRef = NoticeRef()


class ReturnLine(_Model):
    id: int
    company: str
    is_user_id: str
    returned_by: str | None
    reason: ReturnReason | None
    note: str | None


class OverrideLine(_Model):
    id: int
    company: str
    is_user_id: str
    reason: str


class RequestedInfo(_Model):
    text: str  # as FS first wrote it
    count: int


class IssueLine(_Model):
    id: int
    problem: str
    quadrant: Quadrant
    owner_id: str | None
    raised_by: str
    raised_at: datetime


class Collaboration(_Model):
    low_scores: list[LowScoreLine]
    returns: list[ReturnLine]
    overrides: list[OverrideLine]
    requested_info: list[RequestedInfo]
    open_issues: list[IssueLine]


class WeeklyAgenda(_Model):
    week_start: date  # Monday, in the team's zone
    week_end: date  # Sunday
    generated_at: datetime
    this_week: ThisWeek
    support: list[SupportLine]
    next_week: NextWeek
    collaboration: Collaboration

    @property
    def is_empty(self) -> bool:
        """Nothing to discuss: the digest is one short line saying so."""
        collab = self.collaboration
        return not (
            self.this_week.toss_ups
            or self.support
            or self.next_week.meetings
            or self.next_week.waiting
            or collab.returns
            or collab.open_issues
            or collab.requested_info
        )

    def section_count(self, section: Section) -> int:
        """The one number the lead message shows beside each section title."""
        collab = self.collaboration
        match section:
            case Section.THIS_WEEK:
                return len(self.this_week.toss_ups)
            case Section.SUPPORT:
                return len(self.support)
            case Section.NEXT_WEEK:
                return len(self.next_week.meetings) + len(self.next_week.waiting)
            case Section.ISSUES:
                return len(collab.low_scores) + len(collab.returns) + len(collab.overrides) + len(
                    collab.open_issues
                )
