"""A revision's "🔁 revises #3" mark links the returned toss-up's notice, in the weekly agenda and among
the monthly review's cases: the meeting opens what FS said when they returned it. Real store, both
databases; the marks rendered as Slack would show them."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.digests import agenda_rules
from bot.domain.agenda import NoticeRef, build_weekly_agenda
from bot.domain.handoff import EventKind, ReturnReason
from bot.domain.kpi import month_of
from bot.domain.score import ScoreBreakdown, ScoreItem, ScoreItemKey
from bot.i18n import Lang
from modals.digest_text import Fmt
from store.handoffs import NewHandoff, create_handoff, decide_handoff, record_notice
from store.monthly import load_cases
from tests.test_agenda_dst import CONFIG, NY, agenda_facts, ny
from tests.test_store import make_memo

Factory = async_sessionmaker[AsyncSession]
WORKSPACE = "https://acme.slack.com/"


async def _returned_then_revised(factory: Factory) -> tuple[int, int]:
    def handoff(key: str, revision_of: int | None = None) -> NewHandoff:
        return NewHandoff(
            submission_key=key,
            team_id="T0001",
            is_user_id="U0IS0001",
            fs_user_id="U0FS0001",
            channel_id="C0FSCHANNEL",
            memo=make_memo("Acme"),
            lang="en",
            revision_of_id=revision_of,
            score=ScoreBreakdown(items=(ScoreItem(ScoreItemKey.BANT, 50, 70, ()),)),
        )

    async with factory() as session:
        returned = (await create_handoff(session=session, data=handoff("K-1"), now=ny(11, 16, 10))).handoff
    async with factory() as session:
        await record_notice(
            session=session,
            handoff_id=returned.id,
            where="channel",
            channel_id="C0FSCHANNEL",
            ts="1763300000.000100",
            now=ny(11, 16, 10),
        )
    async with factory() as session:
        await decide_handoff(
            session=session,
            handoff_id=returned.id,
            actor_id="U0FS0001",
            decision=EventKind.RETURNED,
            reason=ReturnReason.INFO_MISSING,
            now=ny(11, 16, 11),
        )
    async with factory() as session:
        revision = (
            await create_handoff(session=session, data=handoff("K-2", returned.id), now=ny(11, 17, 10))
        ).handoff
    async with factory() as session:
        await decide_handoff(
            session=session,
            handoff_id=revision.id,
            actor_id="U0FS0001",
            decision=EventKind.ACCEPTED,
            now=ny(11, 17, 11),
        )
    return returned.id, revision.id


async def test_the_weekly_agendas_revision_mark_links_the_returned_toss_ups_notice(
    session_factory: Factory,
) -> None:
    returned, revision = await _returned_then_revised(session_factory)
    agenda = build_weekly_agenda(
        await agenda_facts(session_factory, date(2026, 11, 20)), agenda_rules(CONFIG)
    )
    line = next(line for line in agenda.this_week.toss_ups if line.id == revision)
    assert line.revision_of == returned
    assert line.revision_notice == NoticeRef(channel_id="C0FSCHANNEL", ts="1763300000.000100")
    fmt = Fmt(Lang.EN, NY, mrkdwn=True, workspace_url=WORKSPACE)
    link = "https://acme.slack.com/archives/C0FSCHANNEL/p1763300000000100"
    assert fmt.revision_mark(line.revision_of, line.revision_notice) == (
        f" · 🔁 revises <{link}|#{returned}> (returned)"
    )
    # without the workspace's URL (auth.test failed), or before the notice was posted: the number alone
    assert Fmt(Lang.EN, NY, mrkdwn=True, workspace_url=None).revision_mark(
        returned, line.revision_notice
    ) == (f" · 🔁 revises #{returned} (returned)")
    assert fmt.revision_mark(returned, NoticeRef()) == f" · 🔁 revises #{returned} (returned)"


async def test_a_monthly_case_that_revises_links_the_returned_toss_ups_notice(
    session_factory: Factory,
) -> None:
    returned, revision = await _returned_then_revised(session_factory)
    november = month_of(date(2026, 11, 1), NY)
    async with session_factory() as session:
        best, _ = await load_cases(session=session, month=november)
    case = next(case for case in best if case.id == revision)
    assert (case.revision_of_id, case.revision_notice_channel_id, case.revision_notice_ts) == (
        returned,
        "C0FSCHANNEL",
        "1763300000.000100",
    )
