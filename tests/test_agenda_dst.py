"""The weekly agenda's windows for a team in a DST zone (America/New_York, weekly agenda Friday 09:00):
a week is seven local days, not 7 × 24 h. "Next week" ends at the local Monday midnight after it, and
"last week" (the average the change is taken from) is the previous agenda's window, Friday 09:00 to
Friday 09:00 local, across the switch."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import AppConfig
from bot.digests import agenda_rules, reviewed_since_last_agenda
from bot.domain.agenda import AgendaFacts
from bot.domain.kpi import week_of
from bot.domain.moments import local_days_before
from bot.domain.score import ScoreBreakdown, ScoreItem, ScoreItemKey
from bot.i18n import Lang
from modals.digest_text import Fmt
from store.agenda import load_agenda_facts
from store.handoffs import NewHandoff, create_handoff
from tests.test_store import make_memo

Factory = async_sessionmaker[AsyncSession]
NY = ZoneInfo("America/New_York")
CONFIG = AppConfig.model_validate(
    {
        "channels": {"fs": "C0FSCHANNEL"},
        "timezone": "America/New_York",
        "digests": {"weekly": {"channel": "C0MEETING", "cron": "0 9 * * FRI"}},
    }
)
LATER = datetime(2026, 12, 1, 10, tzinfo=NY)  # a meeting well after every agenda here


def ny(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NY).astimezone(UTC)


async def toss(factory: Factory, company: str, *, at: datetime, meeting: datetime, points: int = 50) -> None:
    data = NewHandoff(
        submission_key=f"K-{company}",
        team_id="T0001",
        is_user_id="U0IS0001",
        fs_user_id="U0FS0001",
        channel_id="C0FSCHANNEL",
        memo=make_memo(company).model_copy(update={"meeting_at": meeting}),
        lang="en",
        score=ScoreBreakdown(items=(ScoreItem(ScoreItemKey.BANT, points, 70, ()),)),
    )
    async with factory() as session:
        await create_handoff(session=session, data=data, now=at)


async def agenda_facts(factory: Factory, friday: date) -> AgendaFacts:
    """What the agenda of `friday`'s week loads, as `bot.digests.compute_weekly_agenda` asks for it."""
    week = week_of(friday, NY)
    async with factory() as session:
        return await load_agenda_facts(
            session=session,
            week=week,
            reviewed=reviewed_since_last_agenda(week, CONFIG),
            reviewed_before=reviewed_since_last_agenda(week_of(friday - timedelta(days=7), NY), CONFIG),
            now=ny(friday.month, friday.day, 9),
            rules=agenda_rules(CONFIG),
            lookback_days=60,
        )


def test_a_week_before_is_the_same_local_time_across_the_switch() -> None:
    assert local_days_before(ny(3, 13, 9), 7, NY) == ny(3, 6, 9)  # 167 h: clocks went forward on 8 March
    assert local_days_before(ny(11, 6, 9), 7, NY) == ny(10, 30, 9)  # 169 h: clocks went back on 1 November


async def test_next_weeks_meetings_end_at_the_local_monday_midnight(session_factory: Factory) -> None:
    # The agenda of 23 October: next week is Mon 26 Oct – Sun 1 Nov, whose last day has 25 hours.
    await toss(session_factory, "SundayLate", at=ny(10, 22, 10), meeting=ny(11, 1, 23, 30))
    # The agenda of 27 February: next week is 2–8 March; Monday 9 March 00:30 is the week after.
    await toss(session_factory, "MondayEarly", at=ny(2, 26, 10), meeting=ny(3, 9, 0, 30))
    autumn = await agenda_facts(session_factory, date(2026, 10, 23))
    assert [m.company for m in autumn.next_week_meetings] == ["SundayLate"]
    spring = await agenda_facts(session_factory, date(2026, 2, 27))
    assert [m.company for m in spring.next_week_meetings] == []


async def test_last_week_is_the_previous_agendas_window_across_the_switch(session_factory: Factory) -> None:
    # Spring: the agenda of 20 March reviews 13 → 20 March; last week is 6 March 09:00 → 13 March 09:00.
    await toss(session_factory, "TwoAgendasAgo", at=ny(3, 6, 8, 30), meeting=LATER, points=10)
    await toss(session_factory, "LastWeek", at=ny(3, 10, 9, 30), meeting=LATER, points=60)
    assert (await agenda_facts(session_factory, date(2026, 3, 20))).last_week_average == 60.0
    # Autumn: the agenda of 13 November; last week is 30 October 09:00 EDT → 6 November 09:00 EST.
    await toss(session_factory, "FridayMorning", at=ny(10, 30, 9, 30), meeting=LATER, points=10)
    await toss(session_factory, "Tuesday", at=ny(11, 3, 9, 30), meeting=LATER, points=60)
    assert (await agenda_facts(session_factory, date(2026, 11, 13))).last_week_average == 35.0


def test_an_issues_age_is_counted_in_calendar_days_across_a_switch() -> None:
    """Raised 12 March 09:00 in Chicago, read 1 April 09:00: 20 days, though 23 hours were lost to the
    spring-forward (elapsed time said 19); the weekly agenda and the monthly review both count this way."""
    chicago = ZoneInfo("America/Chicago")
    raised = datetime(2027, 3, 12, 9, tzinfo=chicago).astimezone(UTC)
    read = datetime(2027, 4, 1, 9, tzinfo=chicago).astimezone(UTC)
    fmt = Fmt(Lang.EN, chicago, mrkdwn=True)
    assert fmt.days_between(raised, read) == fmt.days(20)
    assert fmt.days_between(read, raised) == fmt.days(0)  # never negative
