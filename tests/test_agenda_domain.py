"""The weekly agenda's content, built from facts worked out by hand (no database, no Slack)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.agenda import (
    AgendaFacts,
    AgendaRules,
    AgendaStatus,
    NoticeRef,
    OpenTossUp,
    ReturnFacts,
    ScoreLossFacts,
    Section,
    SupportReason,
    WeekTossUp,
    agenda_status,
    build_weekly_agenda,
    most_requested,
)
from bot.domain.handoff import HandoffStatus, ReturnReason
from bot.domain.issues import CollabIssue, Level, Quadrant, quadrant
from bot.domain.kpi import week_of
from bot.domain.outcome import OutcomeKind
from bot.domain.score import ScoreItemKey
from bot.domain.sla import SlaConfig

TZ = ZoneInfo("Asia/Tokyo")
WEEK = week_of(date(2026, 11, 30), TZ)  # Monday 30 Nov – Sunday 6 Dec 2026
NOW = datetime(2026, 12, 4, 0, 0, tzinfo=UTC)  # Friday 09:00 in Tokyo
RULES = AgendaRules(tz=TZ, sla=SlaConfig(accept_within_hours=24), feedback_delay_hours=2, outcome_due_days=14)


def at(day: int, hour: int = 10) -> datetime:
    """A time in December 2026 (or 30 Nov for day 30), Tokyo wall clock, as UTC."""
    month = 11 if day >= 28 else 12
    return datetime(2026, month, day, hour, tzinfo=TZ).astimezone(UTC)


def toss_up(id: int, **changes: object) -> WeekTossUp:
    base: dict[str, object] = {
        "id": id,
        "company": f"Co{id}",
        "is_user_id": "U0IS",
        "fs_user_id": "U0FS",
        "status": HandoffStatus.PENDING,
        "created_at": at(30),
        "memo_score": 50,
        "score_total": 50,
        "rated": False,
        "outcome": None,
        "notice_channel_id": "C0FS",
        "notice_ts": f"1700000000.{id:06d}",
    }
    base.update(changes)
    return WeekTossUp(**base)  # type: ignore[arg-type]


def open_toss_up(id: int, **changes: object) -> OpenTossUp:
    base: dict[str, object] = {
        "id": id,
        "company": f"Open{id}",
        "is_user_id": "U0IS",
        "fs_user_id": "U0FS",
        "status": HandoffStatus.ACCEPTED,
        "created_at": at(28),
        "meeting_at": None,
    }
    base.update(changes)
    return OpenTossUp(**base)  # type: ignore[arg-type]


def facts(**changes: object) -> AgendaFacts:
    base: dict[str, object] = {
        "week": WEEK,
        "now": NOW,
        "this_week": [],
        "last_week_average": None,
        "losses": [],
        "returns": [],
        "pending": [],
        "accepted_open": [],
        "next_week_meetings": [],
        "requested_info": [],
        "open_issues": [],
    }
    base.update(changes)
    return AgendaFacts(**base)  # type: ignore[arg-type]


def test_status_is_the_furthest_step() -> None:
    assert agenda_status(status=HandoffStatus.PENDING, rated=False, outcome=None) is AgendaStatus.WAITING
    assert agenda_status(status=HandoffStatus.ACCEPTED, rated=False, outcome=None) is AgendaStatus.ACCEPTED
    assert agenda_status(status=HandoffStatus.RETURNED, rated=False, outcome=None) is AgendaStatus.RETURNED
    assert agenda_status(status=HandoffStatus.ACCEPTED, rated=True, outcome=None) is AgendaStatus.RATED
    assert agenda_status(status=HandoffStatus.ACCEPTED, rated=True, outcome=OutcomeKind.OPEN) is (
        AgendaStatus.RATED
    )
    assert (
        agenda_status(status=HandoffStatus.ACCEPTED, rated=True, outcome=OutcomeKind.WON) is AgendaStatus.WON
    )
    assert agenda_status(status=HandoffStatus.ACCEPTED, rated=False, outcome=OutcomeKind.LOST) is (
        AgendaStatus.LOST
    )


def test_this_week_lines_counts_and_averages_by_hand() -> None:
    rows = [
        toss_up(1, created_at=at(1), memo_score=40, score_total=40),  # waiting
        toss_up(
            2, created_at=at(30), status=HandoffStatus.ACCEPTED, memo_score=60, score_total=85, rated=True
        ),
        toss_up(3, created_at=at(2), is_user_id="U0IS2", status=HandoffStatus.RETURNED, memo_score=35),
        toss_up(4, created_at=at(3), status=HandoffStatus.ACCEPTED, memo_score=None, score_total=None),
        toss_up(
            5,
            created_at=at(3, 11),
            is_user_id="U0IS2",
            status=HandoffStatus.ACCEPTED,
            memo_score=70,
            score_total=95,
            rated=True,
            outcome=OutcomeKind.WON,
        ),
    ]
    agenda = build_weekly_agenda(facts(this_week=rows, last_week_average=45.0), RULES)
    week = agenda.this_week
    assert [line.id for line in week.toss_ups] == [2, 1, 3, 4, 5]  # in creation order
    shown = {line.id: (line.status, line.score, line.score_max) for line in week.toss_ups}
    assert shown == {
        1: (AgendaStatus.WAITING, 40, 70),
        2: (AgendaStatus.RATED, 85, 100),  # rated: the full score, of 100
        3: (AgendaStatus.RETURNED, 35, 70),
        4: (AgendaStatus.ACCEPTED, None, 70),
        5: (AgendaStatus.WON, 95, 100),
    }
    assert week.counts == {
        AgendaStatus.WAITING: 1,
        AgendaStatus.ACCEPTED: 1,
        AgendaStatus.RETURNED: 1,
        AgendaStatus.RATED: 1,
        AgendaStatus.WON: 1,
        AgendaStatus.LOST: 0,
    }
    # memo scores 40, 60, 35, 70 → 205 / 4 = 51.25; last week 45 → +6.25
    assert week.team.average == pytest.approx(51.25) and week.team.scored == 4
    assert week.team.change == pytest.approx(6.25)
    # U0IS: 40, 60 (and one unscored) → 50.0 over 3 toss-ups; U0IS2: 35, 70 → 52.5: best first
    assert [(rep.user_id, rep.toss_ups, rep.average) for rep in week.by_rep] == [
        ("U0IS2", 2, 52.5),
        ("U0IS", 3, 50.0),
    ]
    assert week.toss_ups[0].notice.channel_id == "C0FS" and week.toss_ups[0].notice.ts == "1700000000.000002"
    assert agenda.section_count(Section.THIS_WEEK) == 5


def test_a_revision_says_which_returned_toss_up_it_revises() -> None:
    week = [toss_up(6, status=HandoffStatus.RETURNED), toss_up(7, revision_of_id=6)]
    lines = build_weekly_agenda(facts(this_week=week), RULES).this_week.toss_ups
    assert [(line.id, line.revision_of) for line in lines] == [(6, None), (7, 6)]


def test_no_previous_week_means_no_change() -> None:
    agenda = build_weekly_agenda(facts(this_week=[toss_up(1)]), RULES)
    assert agenda.this_week.team.average == 50 and agenda.this_week.team.change is None


def test_support_section_by_hand() -> None:
    pending = [
        open_toss_up(10, status=HandoffStatus.PENDING, created_at=at(2, 10)),  # deadline Thu 10:00: past
        open_toss_up(11, status=HandoffStatus.PENDING, created_at=at(3, 10)),  # deadline Fri 10:00: not yet
    ]
    accepted = [
        open_toss_up(20, meeting_at=at(3, 10)),  # met Thu 10:00, no sheet: overdue (due Thu 12:00)
        open_toss_up(21, meeting_at=at(4, 8)),  # met Fri 08:00, due 10:00: not yet
        open_toss_up(22, meeting_at=at(1, 10), rated=True, on_hold=True),  # 保留
        open_toss_up(23, meeting_at=at(28, 10) - timedelta(days=20), rated=True),  # 20+ days, no outcome
        open_toss_up(24, meeting_at=at(1, 10), rated=True),  # 3 days: an outcome is not due yet
        open_toss_up(25, meeting_at=at(28) - timedelta(days=20), rated=True, outcome=OutcomeKind.OPEN),
        open_toss_up(26, meeting_at=at(5, 10)),  # tomorrow: nothing to chase
    ]
    agenda = build_weekly_agenda(facts(pending=pending, accepted_open=accepted), RULES)
    lines = [(line.id, line.reason, line.days) for line in agenda.support]
    assert lines == [  # calendar days in Tokyo, as the dates shown beside them
        (20, SupportReason.FEEDBACK_OVERDUE, 1),  # due Thu 3 Dec 12:00, read Fri 4 Dec 09:00
        (22, SupportReason.ON_HOLD, 3),  # met Tue 1 Dec
        (10, SupportReason.PAST_SLA, 1),  # deadline Thu 3 Dec 10:00
        (23, SupportReason.OUTCOME_MISSING, 26),  # 8 Nov → 4 Dec
    ]
    past_sla = next(line for line in agenda.support if line.reason is SupportReason.PAST_SLA)
    assert past_sla.since == at(3, 10)  # the deadline, 24 h after the toss-up


def test_support_respects_a_disabled_sla() -> None:
    rules = AgendaRules(tz=TZ, sla=SlaConfig(enabled=False), feedback_delay_hours=2, outcome_due_days=14)
    pending = [open_toss_up(10, status=HandoffStatus.PENDING, created_at=at(1))]
    assert build_weekly_agenda(facts(pending=pending), rules).support == []


def test_next_week_meetings_and_waiting() -> None:
    meetings = [
        open_toss_up(
            31, meeting_at=at(9, 15), company="Later", notice_channel_id="C0FS", notice_ts="1.000031"
        ),
        open_toss_up(30, meeting_at=at(7, 9), company="Sooner", status=HandoffStatus.PENDING),
    ]
    pending = [
        open_toss_up(41, status=HandoffStatus.PENDING, created_at=at(3)),
        open_toss_up(40, status=HandoffStatus.PENDING, created_at=at(1)),
    ]
    agenda = build_weekly_agenda(facts(next_week_meetings=meetings, pending=pending), RULES)
    nxt = agenda.next_week
    assert (nxt.first_day, nxt.last_day) == (date(2026, 12, 7), date(2026, 12, 13))
    assert [m.company for m in nxt.meetings] == ["Sooner", "Later"]
    assert nxt.meetings[1].notice == NoticeRef(channel_id="C0FS", ts="1.000031")  # a link, as elsewhere
    assert [w.id for w in nxt.waiting] == [40, 41]
    assert agenda.section_count(Section.NEXT_WEEK) == 4


def test_collaboration_section_by_hand() -> None:
    rows = [
        toss_up(1, memo_score=30),
        toss_up(2, memo_score=70),  # perfect: never among the low scores
        toss_up(3, memo_score=45, override_reason="customer insisted"),
        toss_up(4, memo_score=30),
        toss_up(5, memo_score=60),
    ]
    losses = [
        ScoreLossFacts(1, {ScoreItemKey.BANT: 10, ScoreItemKey.ISSUE: 15, ScoreItemKey.COMPLETENESS: 15}),
        ScoreLossFacts(4, {ScoreItemKey.COMPETITORS: 10, ScoreItemKey.DECISION_PROCESS: 10}),
        ScoreLossFacts(3, {ScoreItemKey.BANT: 5}),
    ]
    returns = [
        ReturnFacts(7, "Ret", "U0IS", "U0FS", at(2), ReturnReason.INFO_MISSING, "no budget owner"),
        ReturnFacts(6, "Ret0", "U0IS", "U0FS", at(1), None, None),
    ]
    issues = [
        CollabIssue(1, "slow replies", Level.LOW, Level.LOW, "U0IS", at(1)),
        CollabIssue(2, "no budget info", Level.HIGH, Level.HIGH, "U0FS", at(2), owner_id="U0IS"),
        CollabIssue(3, "closed", Level.HIGH, Level.HIGH, "U0FS", at(1), closed_at=at(2)),
        CollabIssue(4, "memo late", Level.LOW, Level.HIGH, "U0FS", at(1)),
        CollabIssue(5, "old one", Level.HIGH, Level.HIGH, "U0FS", at(28)),
    ]
    agenda = build_weekly_agenda(
        facts(
            this_week=rows,
            losses=losses,
            returns=returns,
            open_issues=issues,
            requested_info=[
                "決裁者の名前",
                "予算の承認者",
                "決裁者の名前。",
                "Decision date",
                "decision  date",
            ],
        ),
        RULES,
    )
    collab = agenda.collaboration
    # the three lowest (ties by id): 1 (30), 4 (30), 3 (45); 1 lost 15 on issue and on completeness:
    # the tie goes to the item first in the score table (issue)
    assert [(x.id, x.score, x.weakest_item, x.weakest_lost) for x in collab.low_scores] == [
        (1, 30, ScoreItemKey.ISSUE, 15),
        (4, 30, ScoreItemKey.COMPETITORS, 10),
        (3, 45, ScoreItemKey.BANT, 5),
    ]
    assert [(r.id, r.reason) for r in collab.returns] == [(6, None), (7, ReturnReason.INFO_MISSING)]
    assert [(o.id, o.reason) for o in collab.overrides] == [(3, "customer insisted")]
    assert [(r.text, r.count) for r in collab.requested_info] == [
        ("決裁者の名前", 2),
        ("Decision date", 2),
        ("予算の承認者", 1),
    ]
    assert [(i.id, i.quadrant) for i in collab.open_issues] == [
        (5, Quadrant.TOP),  # the older of the two 最優先
        (2, Quadrant.TOP),
        (4, Quadrant.URGENT),
        (1, Quadrant.CONSIDER),
    ]


def test_empty_week_is_empty() -> None:
    agenda = build_weekly_agenda(facts(), RULES)
    assert agenda.is_empty
    assert (agenda.week_start, agenda.week_end) == (date(2026, 11, 30), date(2026, 12, 6))
    assert not build_weekly_agenda(
        facts(pending=[open_toss_up(1, status=HandoffStatus.PENDING)]), RULES
    ).is_empty


def test_the_agenda_survives_its_json_round_trip() -> None:
    """Frozen at claim time as JSON, rendered later from it: nothing may change on the way."""
    from bot.domain.agenda import WeeklyAgenda

    agenda = build_weekly_agenda(
        facts(
            this_week=[toss_up(1, override_reason="x"), toss_up(2, rated=True, score_total=80)],
            losses=[ScoreLossFacts(1, {ScoreItemKey.BANT: 5})],
            pending=[open_toss_up(9, status=HandoffStatus.PENDING, created_at=at(1))],
            open_issues=[CollabIssue(1, "p", Level.HIGH, Level.LOW, "U0IS", at(1))],
        ),
        RULES,
    )
    assert WeeklyAgenda.model_validate(agenda.model_dump(mode="json")) == agenda


@pytest.mark.parametrize(
    ("impact", "urgency", "expected"),
    [
        (Level.HIGH, Level.HIGH, Quadrant.TOP),
        (Level.LOW, Level.HIGH, Quadrant.URGENT),
        (Level.HIGH, Level.LOW, Quadrant.IMPORTANT),
        (Level.LOW, Level.LOW, Quadrant.CONSIDER),
    ],
)
def test_the_seeds_matrix(impact: Level, urgency: Level, expected: Quadrant) -> None:
    assert quadrant(impact=impact, urgency=urgency) is expected


def test_most_requested_limits_and_skips_blanks() -> None:
    texts = ["a", "b", "b", "c", "c", "c", "d", "e", "f", "   ", "。"]
    assert [(r.text, r.count) for r in most_requested(texts, limit=3)] == [("c", 3), ("b", 2), ("a", 1)]


def test_most_requested_counts_each_line_of_a_sheet_as_its_own_item_once() -> None:
    """The sheet asks for one item per line: "Number of users" asked in two sheets is asked twice, even
    when one sheet lists it beside another item (or twice, or as a bulleted list)."""
    texts = [
        "Number of users\nContract renewal date",
        "number of users",
        "・Budget owner\n- Number of users.\n\n1. budget owner",
    ]
    assert [(r.text, r.count) for r in most_requested(texts)] == [
        ("Number of users", 3),
        ("Contract renewal date", 1),  # ties: the first asked first
        ("Budget owner", 1),
    ]


def test_the_memo_maximum_follows_the_teams_weights() -> None:
    """With score.weights.fs_rating at 20 a memo scores out of 80: 75 is out of 80 and not a low score,
    and the agenda says so to its renderer."""
    rules = replace(RULES, memo_score_max=80)
    week = [toss_up(1, memo_score=75, score_total=75), toss_up(2, memo_score=62, score_total=62)]
    agenda = build_weekly_agenda(facts(this_week=week), rules)
    assert agenda.memo_score_max == 80
    assert [line.score_max for line in agenda.this_week.toss_ups] == [80, 80]
    assert [line.id for line in agenda.collaboration.low_scores] == [2, 1]  # both below 80
    full = build_weekly_agenda(facts(this_week=[toss_up(3, memo_score=80, score_total=80)]), rules)
    assert full.collaboration.low_scores == []
