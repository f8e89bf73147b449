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

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from bot.domain.feedback import request_key, requested_items
from bot.domain.handoff import HandoffStatus, ReturnReason
from bot.domain.issues import CollabIssue, Quadrant, most_urgent_first
from bot.domain.kpi import Period
from bot.domain.moments import as_utc
from bot.domain.outcome import OutcomeKind
from bot.domain.score import MEMO_SCORE_MAX, ScoreItemKey
from bot.domain.sla import SlaConfig, sla_deadline
from bot.domain.sla import overdue_created_before as sla_overdue_created_before

FULL_SCORE_MAX = 100
LOW_SCORES_MAX = 3  # "the week's lowest scores"
REQUESTED_INFO_MAX = 5  # the most requested "collect next time" items
REQUESTED_INFO_WEEKS = 4  # how far back FS's "collect next time" answers are counted
# Lines kept per list (deals needing support by reason, waiting toss-ups, meetings, returns): the store
# reads no more than this, with each list's true total, so the agenda costs what it shows.
LIST_MAX = 30


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
    revision_of_id: int | None = None  # the returned toss-up this one revises
    revision_notice_channel_id: str | None = None  # … and its notice, for the link on the mark
    revision_notice_ts: str | None = None


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
    last_week_average: float | None  # mean memo score of last week's toss-ups, for the change
    losses: Sequence[ScoreLossFacts]  # for the week's lowest-scored toss-ups
    returns: Sequence[ReturnFacts]
    pending: Sequence[OpenTossUp]  # every toss-up still waiting for a decision
    accepted_open: Sequence[OpenTossUp]  # accepted, meeting within the look-back, no final outcome
    next_week_meetings: Sequence[OpenTossUp]
    requested_info: Sequence[str]  # FS's "collect next time" answers of the last weeks
    open_issues: Sequence[CollabIssue] = field(default_factory=tuple)
    # True totals when the lists above were cut to LIST_MAX by the store (None: the lists are whole).
    pending_total: int | None = None
    past_sla_total: int | None = None
    support_totals: Mapping[SupportReason, int] | None = None  # the accepted deals' reasons
    meetings_total: int | None = None
    returns_total: int | None = None
    # What the week's toss-ups, returns and team average cover: from the week before's scheduled agenda to
    # this week's (None: the calendar week itself). Next week's meetings stay the calendar week after.
    reviewed: Period | None = None


@dataclass(frozen=True)
class AgendaRules:
    """The team's settings the agenda applies (from app.yaml)."""

    tz: ZoneInfo
    sla: SlaConfig
    feedback_delay_hours: float  # feedback is due this long after the meeting
    outcome_due_days: int  # an outcome is expected this many days after the meeting
    memo_score_max: int = MEMO_SCORE_MAX  # what a memo can score: 100 − score.weights.fs_rating


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
    revision_of: int | None = None  # 🔁 the returned toss-up it revises (both are in the week's count)
    revision_notice: NoticeRef = NoticeRef()  # … linked from the mark


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
    notice: NoticeRef = NoticeRef()


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
    meetings: list[MeetingLine]  # soonest first (at most LIST_MAX)
    waiting: list[WaitingLine]  # oldest first (at most LIST_MAX)
    meetings_total: int | None = None  # None: the list is whole
    waiting_total: int | None = None

    @property
    def meeting_count(self) -> int:
        return self.meetings_total if self.meetings_total is not None else len(self.meetings)

    @property
    def waiting_count(self) -> int:
        return self.waiting_total if self.waiting_total is not None else len(self.waiting)


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

    @classmethod
    def of(cls, issue: CollabIssue) -> IssueLine:
        raised = issue.raised_at
        return cls(
            id=issue.id,
            problem=issue.problem,
            quadrant=issue.quadrant,
            owner_id=issue.owner_id,
            raised_by=issue.raised_by,
            raised_at=raised.replace(tzinfo=UTC) if raised.tzinfo is None else raised.astimezone(UTC),
        )


class Collaboration(_Model):
    low_scores: list[LowScoreLine]
    returns: list[ReturnLine]  # at most LIST_MAX
    overrides: list[OverrideLine]
    requested_info: list[RequestedInfo]
    open_issues: list[IssueLine]
    returns_total: int | None = None  # None: the list is whole

    @property
    def return_count(self) -> int:
        return self.returns_total if self.returns_total is not None else len(self.returns)


class WeeklyAgenda(_Model):
    week_start: date  # Monday, in the team's zone
    week_end: date  # Sunday
    memo_score_max: int = MEMO_SCORE_MAX  # what a memo could score that week (the team's weights)
    generated_at: datetime
    # [from, to) of this week's toss-ups when it is not the calendar week: since the last agenda (UTC)
    reviewed_from: datetime | None = None
    reviewed_to: datetime | None = None
    this_week: ThisWeek
    support: list[SupportLine]  # at most LIST_MAX per reason
    next_week: NextWeek
    collaboration: Collaboration
    support_totals: dict[SupportReason, int] = Field(default_factory=dict)  # absent reason: as listed

    def support_count(self, reason: SupportReason) -> int:
        listed = sum(1 for line in self.support if line.reason is reason)
        return self.support_totals.get(reason, listed)

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
                return sum(self.support_count(reason) for reason in SupportReason)
            case Section.NEXT_WEEK:  # lines in its two lists; the lead shows each list's count instead
                return self.next_week.meeting_count + self.next_week.waiting_count
            case Section.ISSUES:
                return (
                    len(collab.low_scores)
                    + collab.return_count
                    + len(collab.overrides)
                    + len(collab.open_issues)
                )


# ---------------------------------------------------------------------------------------- builder


def agenda_status(*, status: HandoffStatus, rated: bool, outcome: OutcomeKind | None) -> AgendaStatus:
    """The furthest a toss-up got: won / lost, then rated, then FS's decision (or none yet)."""
    if outcome is OutcomeKind.WON:
        return AgendaStatus.WON
    if outcome is OutcomeKind.LOST:
        return AgendaStatus.LOST
    if rated:
        return AgendaStatus.RATED
    return {
        HandoffStatus.PENDING: AgendaStatus.WAITING,
        HandoffStatus.ACCEPTED: AgendaStatus.ACCEPTED,
        HandoffStatus.RETURNED: AgendaStatus.RETURNED,
    }[status]


def _mean(values: Sequence[int]) -> float | None:
    return sum(values) / len(values) if values else None


def _notice(channel_id: str | None, ts: str | None) -> NoticeRef:
    return NoticeRef(channel_id=channel_id, ts=ts)


def _this_week(facts: AgendaFacts, memo_max: int) -> ThisWeek:
    rows = sorted(facts.this_week, key=lambda row: (as_utc(row.created_at), row.id))
    lines = []
    for row in rows:
        shown = row.score_total if row.rated else row.memo_score
        lines.append(
            TossUpLine(
                id=row.id,
                company=row.company,
                is_user_id=row.is_user_id,
                fs_user_id=row.fs_user_id,
                status=agenda_status(status=row.status, rated=row.rated, outcome=row.outcome),
                score=shown,
                score_max=FULL_SCORE_MAX if row.rated else memo_max,
                notice=_notice(row.notice_channel_id, row.notice_ts),
                revision_of=row.revision_of_id,
                revision_notice=_notice(row.revision_notice_channel_id, row.revision_notice_ts),
            )
        )
    counts = dict.fromkeys(AgendaStatus, 0)
    for line in lines:
        counts[line.status] += 1
    scores = [row.memo_score for row in rows if row.memo_score is not None]
    by_user: dict[str, list[WeekTossUp]] = defaultdict(list)
    for row in rows:
        by_user[row.is_user_id].append(row)
    reps = [
        RepAverage(
            user_id=user,
            toss_ups=len(own),
            average=_mean([row.memo_score for row in own if row.memo_score is not None]),
        )
        for user, own in by_user.items()
    ]
    reps.sort(key=lambda rep: (rep.average is None, -(rep.average or 0.0), rep.user_id))
    return ThisWeek(
        toss_ups=lines,
        counts=counts,
        team=ScoreTrend(average=_mean(scores), previous=facts.last_week_average, scored=len(scores)),
        by_rep=reps,
    )


_SUPPORT_ORDER = tuple(SupportReason)


def overdue_created_before(now: datetime, rules: AgendaRules) -> datetime | None:
    """The latest creation time whose acceptance deadline has passed at `now` (None: no SLA).

    A deadline only moves later as the creation time does, so the overdue pending toss-ups are exactly
    those created up to this moment: the store counts them with one indexed range.
    """
    return sla_overdue_created_before(now, rules.sla, tz=rules.tz)


def _support(facts: AgendaFacts, rules: AgendaRules) -> tuple[list[SupportLine], dict[SupportReason, int]]:
    now = as_utc(facts.now)
    found: list[tuple[OpenTossUp, SupportReason, datetime]] = []
    if rules.sla.enabled:
        for row in facts.pending:
            deadline = sla_deadline(as_utc(row.created_at), rules.sla, tz=rules.tz)
            if deadline <= now:
                found.append((row, SupportReason.PAST_SLA, deadline))
    for row in facts.accepted_open:
        if row.meeting_at is None or row.outcome in (OutcomeKind.WON, OutcomeKind.LOST):
            continue
        meeting = as_utc(row.meeting_at)
        if meeting > now:
            continue
        # One reason per deal, the first thing to chase: the sheet, then the hold, then the outcome.
        if not row.rated:
            if meeting + timedelta(hours=rules.feedback_delay_hours) <= now:
                found.append((row, SupportReason.FEEDBACK_OVERDUE, meeting))
        elif row.on_hold:
            found.append((row, SupportReason.ON_HOLD, meeting))
        elif row.outcome is None and meeting + timedelta(days=rules.outcome_due_days) <= now:
            found.append((row, SupportReason.OUTCOME_MISSING, meeting))
    found.sort(key=lambda entry: (_SUPPORT_ORDER.index(entry[1]), entry[2], entry[0].id))
    listed = Counter(reason for _, reason, _ in found)
    totals = {reason: listed.get(reason, 0) for reason in SupportReason}
    if facts.support_totals is not None:
        totals.update({r: n for r, n in facts.support_totals.items() if r is not SupportReason.PAST_SLA})
    if facts.past_sla_total is not None:
        totals[SupportReason.PAST_SLA] = facts.past_sla_total
    kept: Counter[SupportReason] = Counter()
    shown = []
    for entry in found:
        kept[entry[1]] += 1
        if kept[entry[1]] <= LIST_MAX:
            shown.append(entry)
    lines = [
        SupportLine(
            id=row.id,
            company=row.company,
            is_user_id=row.is_user_id,
            fs_user_id=row.fs_user_id,
            reason=reason,
            since=since,
            # calendar days in the team's zone, as the date shown beside them ("since Thu 3 Dec (1 day)")
            days=max((now.astimezone(rules.tz).date() - as_utc(since).astimezone(rules.tz).date()).days, 0),
            notice=_notice(row.notice_channel_id, row.notice_ts),
        )
        for row, reason, since in shown
    ]
    return lines, totals


def _next_week(facts: AgendaFacts) -> NextWeek:
    first = facts.week.last_day + timedelta(days=1)
    meetings = sorted(
        (row for row in facts.next_week_meetings if row.meeting_at is not None),
        key=lambda row: (as_utc(row.meeting_at or facts.now), row.id),
    )
    waiting = sorted(facts.pending, key=lambda row: (as_utc(row.created_at), row.id))
    return NextWeek(
        first_day=first,
        last_day=first + timedelta(days=6),
        meetings_total=facts.meetings_total if facts.meetings_total is not None else len(meetings),
        waiting_total=facts.pending_total if facts.pending_total is not None else len(waiting),
        meetings=[
            MeetingLine(
                id=row.id,
                company=row.company,
                meeting_at=as_utc(row.meeting_at),
                fs_user_id=row.fs_user_id,
                is_user_id=row.is_user_id,
                notice=_notice(row.notice_channel_id, row.notice_ts),
            )
            for row in meetings[:LIST_MAX]
            if row.meeting_at is not None
        ],
        waiting=[
            WaitingLine(
                id=row.id,
                company=row.company,
                is_user_id=row.is_user_id,
                fs_user_id=row.fs_user_id,
                created_at=as_utc(row.created_at),
                notice=_notice(row.notice_channel_id, row.notice_ts),
            )
            for row in waiting[:LIST_MAX]
        ],
    )


def _weakest(lost: dict[ScoreItemKey, int]) -> tuple[ScoreItemKey | None, int]:
    """The item that lost most points (ties: the score table's order); None when nothing was lost."""
    order = list(ScoreItemKey)
    candidates = [(points, -order.index(key), key) for key, points in lost.items() if points > 0]
    if not candidates:
        return None, 0
    points, _, key = max(candidates)
    return key, points


def _low_scores(facts: AgendaFacts, memo_max: int) -> list[LowScoreLine]:
    losses = {entry.handoff_id: entry.lost for entry in facts.losses}
    scored = sorted(
        (row for row in facts.this_week if row.memo_score is not None and row.memo_score < memo_max),
        key=lambda row: (row.memo_score, row.id),
    )
    lines = []
    for row in scored[:LOW_SCORES_MAX]:
        key, points = _weakest(losses.get(row.id, {}))
        lines.append(
            LowScoreLine(
                id=row.id,
                company=row.company,
                is_user_id=row.is_user_id,
                score=row.memo_score or 0,
                weakest_item=key,
                weakest_lost=points,
                notice=_notice(row.notice_channel_id, row.notice_ts),
            )
        )
    return lines


def most_requested(texts: Sequence[str], limit: int = REQUESTED_INFO_MAX) -> list[RequestedInfo]:
    """The requests FS made most often, most frequent first (ties: the first asked), as first written.
    Each of `texts` is one sheet's answer, an item per line (`requested_items`): an item counts once a
    sheet."""
    counts: Counter[str] = Counter()
    first_seen: dict[str, str] = {}
    for text in texts:
        keys = {}
        for item in requested_items(text):
            keys.setdefault(request_key(item), item)
        for key, item in keys.items():
            counts[key] += 1
            first_seen.setdefault(key, item)
    order = list(first_seen)
    ranked = sorted(counts, key=lambda key: (-counts[key], order.index(key)))
    return [RequestedInfo(text=first_seen[key], count=counts[key]) for key in ranked[:limit]]


def _collaboration(facts: AgendaFacts, memo_max: int) -> Collaboration:
    returns = sorted(facts.returns, key=lambda row: (as_utc(row.returned_at), row.id))
    overrides = sorted(
        (row for row in facts.this_week if row.override_reason),
        key=lambda row: (as_utc(row.created_at), row.id),
    )
    return Collaboration(
        returns_total=facts.returns_total if facts.returns_total is not None else len(returns),
        low_scores=_low_scores(facts, memo_max),
        returns=[
            ReturnLine(
                id=row.id,
                company=row.company,
                is_user_id=row.is_user_id,
                returned_by=row.returned_by,
                reason=row.reason,
                note=row.note,
            )
            for row in returns[:LIST_MAX]
        ],
        overrides=[
            OverrideLine(
                id=row.id, company=row.company, is_user_id=row.is_user_id, reason=row.override_reason or ""
            )
            for row in overrides
        ],
        requested_info=most_requested(facts.requested_info),
        open_issues=[
            IssueLine.of(issue) for issue in most_urgent_first(i for i in facts.open_issues if i.is_open)
        ],
    )


def build_weekly_agenda(facts: AgendaFacts, rules: AgendaRules) -> WeeklyAgenda:
    """The week's agenda from its facts: pure, so it is tested on data worked out by hand."""
    support, support_totals = _support(facts, rules)
    reviewed = facts.reviewed if facts.reviewed not in (None, facts.week) else None
    return WeeklyAgenda(
        week_start=facts.week.first_day,
        week_end=facts.week.last_day,
        generated_at=as_utc(facts.now),
        reviewed_from=as_utc(reviewed.start) if reviewed else None,
        reviewed_to=as_utc(reviewed.end) if reviewed else None,
        this_week=_this_week(facts, rules.memo_score_max),
        support=support,
        support_totals=support_totals,
        next_week=_next_week(facts),
        collaboration=_collaboration(facts, rules.memo_score_max),
        memo_score_max=rules.memo_score_max,
    )
