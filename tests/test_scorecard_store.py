"""`load_scorecard_facts` on SQLite and PostgreSQL: the period's bounds, FS's sheets (first submitted, the
latest stars), IS's ratings, the unassigned toss-up credited to who accepted it, then the scorecards.

November 2026 in Tokyo: [2026-10-31 15:00 UTC, 2026-11-30 15:00 UTC); now = 2026-12-01 00:00 UTC.
Feedback due 2 h after the meeting (or the acceptance when later), on time until 24 h after that.

#  IS  FS            created  meeting   accepted  sheet (on time until)               stars     IS→FS
A  IS1 FS1           11-02 0h 11-05 0h  11-02 4h  11-06 1h (11-06 2h) on, edited 11-20 5,5,5,5   4
B  IS1 – (FS2 took)  11-03 0h 11-04 0h  11-03 2h  11-06 0h (11-05 2h) late            2,2,3,2   3
C  IS2 FS1           11-10 0h 11-12 0h  11-10 5h  none (11-13 2h): late               –         –
D  IS2 FS1           11-28 0h 11-30 10h 11-28 1h  none (12-01 12h): not counted yet   –         –
F  IS2 FS2           11-20 0h 11-25 0h  pending   –                                   –         –
G  IS1 FS1           11-15 0h none      pending   – (nothing to count: not loaded as feedback)
Outside: H at START − 1 µs, E at END (each with a sheet and an IS rating).
(UTC times; A's edit changes the stars from 4,3,5,4 but not when it was first submitted.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.feedback import FeedbackSheet, IsRating, MeetingResult
from bot.domain.handoff import EventKind
from bot.domain.kpi import parse_period
from bot.domain.scorecard import FeedbackFacts, ScorecardFacts, ScorecardRules, build_scorecards
from store.feedback import save_feedback, save_is_rating
from store.handoffs import NewHandoff, create_handoff, decide_handoff
from store.scorecard import load_scorecard_facts
from tests.test_kpi_store import breakdown, memo_scores
from tests.test_store import make_memo

Factory = async_sessionmaker[AsyncSession]
TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 12, 1, tzinfo=UTC)
_PERIOD = parse_period("2026-11", now=NOW, tz=TOKYO)
assert _PERIOD is not None
PERIOD = _PERIOD
START, END = PERIOD.start, PERIOD.end


def utc(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def sheet(bant: int, issue: int, completeness: int, overall: int) -> dict[str, object]:
    return FeedbackSheet(
        result=MeetingResult.PROGRESS,
        bant_accuracy=bant,
        issue_depth=issue,
        memo_completeness=completeness,
        overall=overall,
        good="決裁者の名前まで書かれていた",
        improve="<!channel> 競合の状況も",
    ).model_dump(mode="json")


class Seed:
    def __init__(self, factory: Factory) -> None:
        self.factory = factory
        self.count = 0

    async def toss_up(
        self, created: datetime, *, is_user: str, fs_user: str | None, meeting: datetime | None
    ) -> int:
        self.count += 1
        data = NewHandoff(
            submission_key=f"V-{self.count}",
            team_id="T0001",
            is_user_id=is_user,
            fs_user_id=fs_user,
            channel_id="CFS0001",
            memo=make_memo(f"会社{self.count}").model_copy(update={"meeting_at": meeting}),
            lang="ja",
            score=breakdown(**memo_scores(20, 10, 5, 5, 10)),
        )
        async with self.factory() as session:
            return (await create_handoff(session=session, data=data, now=created)).handoff.id

    async def accept(self, hid: int, by: str, at: datetime) -> None:
        async with self.factory() as session:
            result = await decide_handoff(
                session=session, handoff_id=hid, actor_id=by, decision=EventKind.ACCEPTED, now=at
            )
        assert result.outcome == "applied"

    async def rate(self, hid: int, by: str, stars: tuple[int, int, int, int], at: datetime) -> None:
        score = breakdown(**memo_scores(20, 10, 5, 5, 10), fs_rating=20)
        async with self.factory() as session:
            await save_feedback(
                session=session,
                handoff_id=hid,
                rater_id=by,
                sheet=sheet(*stars),
                score=score.to_json(),
                score_total=score.total,
                now=at,
            )

    async def is_rates(self, hid: int, by: str, stars: int, at: datetime) -> None:
        rating = IsRating(follow_through=stars, comment="商談後すぐ共有してくれた").model_dump(mode="json")
        async with self.factory() as session:
            assert await save_is_rating(session=session, handoff_id=hid, rater_id=by, rating=rating, now=at)


async def seed(factory: Factory) -> dict[str, int]:
    """The table in the module docstring; returns the ids by letter."""
    s = Seed(factory)
    ids: dict[str, int] = {}
    ids["H"] = await s.toss_up(
        START - timedelta(microseconds=1), is_user="IS1", fs_user="FS1", meeting=utc(11, 1)
    )
    await s.accept(ids["H"], "FS1", START)
    await s.rate(ids["H"], "FS1", (1, 1, 1, 1), START + timedelta(hours=1))
    await s.is_rates(ids["H"], "IS1", 1, START + timedelta(hours=2))

    ids["A"] = await s.toss_up(utc(11, 2), is_user="IS1", fs_user="FS1", meeting=utc(11, 5))
    await s.accept(ids["A"], "FS1", utc(11, 2, 4))
    await s.rate(ids["A"], "FS1", (4, 3, 5, 4), utc(11, 6, 1))
    await s.is_rates(ids["A"], "IS1", 4, utc(11, 7))
    await s.rate(ids["A"], "FS1", (5, 5, 5, 5), utc(11, 20))  # an edit: the stars change, not the time

    ids["B"] = await s.toss_up(utc(11, 3), is_user="IS1", fs_user=None, meeting=utc(11, 4))
    await s.accept(ids["B"], "FS2", utc(11, 3, 2))
    await s.rate(ids["B"], "FS2", (2, 2, 3, 2), utc(11, 6))
    await s.is_rates(ids["B"], "IS1", 3, utc(11, 7))

    ids["C"] = await s.toss_up(utc(11, 10), is_user="IS2", fs_user="FS1", meeting=utc(11, 12))
    await s.accept(ids["C"], "FS1", utc(11, 10, 5))
    ids["G"] = await s.toss_up(utc(11, 15), is_user="IS1", fs_user="FS1", meeting=None)
    ids["F"] = await s.toss_up(utc(11, 20), is_user="IS2", fs_user="FS2", meeting=utc(11, 25))
    ids["D"] = await s.toss_up(utc(11, 28), is_user="IS2", fs_user="FS1", meeting=utc(11, 30, 10))
    await s.accept(ids["D"], "FS1", utc(11, 28, 1))

    ids["E"] = await s.toss_up(END, is_user="IS1", fs_user="FS1", meeting=END)
    await s.accept(ids["E"], "FS1", END)
    await s.rate(ids["E"], "FS1", (1, 1, 1, 1), END + timedelta(hours=1))
    await s.is_rates(ids["E"], "IS1", 1, END + timedelta(hours=2))
    return ids


async def load(factory: Factory) -> ScorecardFacts:
    async with factory() as session:
        facts = await load_scorecard_facts(session=session, period=PERIOD, now=NOW)
        assert not session.in_transaction()  # the reads ended their transaction
    return facts


async def test_the_facts_of_the_period(session_factory: Factory) -> None:
    ids = await seed(session_factory)
    facts = await load(session_factory)
    assert (facts.period, facts.now) == (PERIOD, NOW)
    assert [f.id for f in facts.handoffs] == [ids[k] for k in "ABCGFD"]
    assert facts.handoffs[1].fs_user_id == "FS2"  # B was unassigned: credited to who accepted it
    stars = {"bant_accuracy": 5, "issue_depth": 5, "memo_completeness": 5, "overall": 5}
    assert list(facts.feedback) == [
        FeedbackFacts(ids["A"], utc(11, 5), sheet_at=utc(11, 6, 1), sheet_stars=stars, follow_through=4),
        FeedbackFacts(
            ids["B"],
            utc(11, 4),
            sheet_at=utc(11, 6),
            sheet_stars={"bant_accuracy": 2, "issue_depth": 2, "memo_completeness": 3, "overall": 2},
            follow_through=3,
        ),
        FeedbackFacts(ids["C"], utc(11, 12)),
        FeedbackFacts(ids["F"], utc(11, 25)),
        FeedbackFacts(ids["D"], utc(11, 30, 10)),
    ]
    assert all(item.meeting_at is not None and item.meeting_at.tzinfo is not None for item in facts.feedback)


async def test_the_scorecards_from_the_store(session_factory: Factory) -> None:
    await seed(session_factory)
    cards = build_scorecards(await load(session_factory), ScorecardRules(tz=TOKYO))
    assert list(cards) == ["FS1", "FS2", "IS1", "IS2"]

    fs1, fs2 = cards["FS1"].as_fs, cards["FS2"].as_fs
    assert fs1 is not None and fs2 is not None
    assert (fs1.toss_ups, fs1.accepted, fs1.sheets_counted, fs1.sheets_on_time) == (
        4,
        3,
        2,
        1,
    )  # A on, C late
    assert (fs2.toss_ups, fs2.accepted, fs2.sheets_counted, fs2.sheets_on_time) == (2, 1, 1, 0)  # B late
    assert cards["FS1"].feedback.from_is is not None
    assert (cards["FS1"].feedback.from_is.count, cards["FS1"].feedback.from_is.average) == (1, 4.0)
    assert cards["FS2"].feedback.from_is is not None
    assert (cards["FS2"].feedback.from_is.count, cards["FS2"].feedback.from_is.average) == (1, 3.0)

    from_fs = cards["IS1"].feedback.from_fs
    assert from_fs is not None and from_fs.count == 2
    assert from_fs.averages == {
        "bant_accuracy": 3.5,
        "issue_depth": 3.5,
        "memo_completeness": 4.0,
        "overall": 3.5,
    }
    assert cards["IS2"].feedback.from_fs is not None and cards["IS2"].feedback.from_fs.count == 0
    shared = cards["IS1"].shared
    assert (shared.toss_ups, shared.accepted, shared.sheets_counted, shared.sheets_on_time) == (6, 4, 3, 1)
    assert shared.average_memo_score == 50.0


async def test_an_empty_period(session_factory: Factory) -> None:
    facts = await load(session_factory)
    assert (list(facts.handoffs), list(facts.feedback)) == ([], [])
    assert build_scorecards(facts, ScorecardRules(tz=TOKYO)) == {}
