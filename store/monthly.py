"""What the monthly review needs from the database.

The KPIs reuse the KPI loader (`store.kpi.load_kpi_facts`: the definitions live in one place) over the
month and the one before; the six-month trend, the success cases and cases to learn from, and the
lead-source table are aggregated in SQL over ranges of the indexed creation time (COUNT / AVG / SUM …
GROUP BY, ORDER BY … LIMIT), so their cost follows the months read, not the history. One read
transaction per call.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BigInteger, Select, and_, case, cast, desc, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.domain.handoff import HandoffStatus, fs_rep_on
from bot.domain.kpi import Period
from bot.domain.monthly import CASES_MAX, CaseFacts, ClosedInMonth, MonthPoint, SourceFacts
from bot.domain.outcome import OutcomeKind
from bot.domain.score import MEMO_SCORE_MAX
from store._tx import own_transaction
from store.models import FeedbackRecord, Handoff, OutcomeRecord

__all__ = ["load_cases", "load_closed", "load_sources", "load_trend"]


async def load_trend(*, session: AsyncSession, months: Sequence[Period]) -> list[MonthPoint]:
    """Per month (in the order given): toss-ups created, won, lost, and their average memo score."""
    points = []
    async with own_transaction(session):
        for month in months:
            row = (
                await session.execute(
                    select(
                        func.count(Handoff.id),
                        func.sum(case((OutcomeRecord.kind == OutcomeKind.WON.value, 1), else_=0)),
                        func.sum(case((OutcomeRecord.kind == OutcomeKind.LOST.value, 1), else_=0)),
                        func.avg(Handoff.memo_score),
                    )
                    .select_from(Handoff)
                    .outerjoin(OutcomeRecord, OutcomeRecord.handoff_id == Handoff.id)
                    .where(Handoff.created_at >= month.start, Handoff.created_at < month.end)
                )
            ).one()
            points.append(
                MonthPoint(
                    month=month.first_day,
                    toss_ups=int(row[0] or 0),
                    won=int(row[1] or 0),
                    lost=int(row[2] or 0),
                    average_memo_score=float(row[3]) if row[3] is not None else None,
                )
            )
    return points


_CLOSED_ON = OutcomeRecord.outcome["closed_on"].as_string()  # ISO dates: compared as text in SQL
# 64-bit: a deal may be up to ¥1 trillion, past PostgreSQL's INTEGER (as_integer() casts to it)
_AMOUNT = cast(OutcomeRecord.outcome["amount"].as_string(), BigInteger)


async def load_closed(*, session: AsyncSession, month: Period) -> ClosedInMonth:
    """Deals won or lost with a close date in `month` (a lost one without a date: recorded in it), whatever
    month they were tossed up in; one aggregate over the outcomes."""
    async with own_transaction(session):
        row = (
            await session.execute(
                select(
                    func.sum(case((OutcomeRecord.kind == OutcomeKind.WON.value, 1), else_=0)),
                    func.sum(case((OutcomeRecord.kind == OutcomeKind.WON.value, _AMOUNT), else_=0)),
                    func.sum(case((OutcomeRecord.kind == OutcomeKind.LOST.value, 1), else_=0)),
                ).where(
                    or_(
                        and_(
                            _CLOSED_ON >= month.first_day.isoformat(),
                            _CLOSED_ON <= month.last_day.isoformat(),
                        ),
                        # a lost deal may have no close date: the month it was recorded in
                        and_(
                            _CLOSED_ON.is_(None),
                            OutcomeRecord.recorded_at >= month.start,
                            OutcomeRecord.recorded_at < month.end,
                        ),
                    )
                )
            )
        ).one()
    return ClosedInMonth(won=int(row[0] or 0), won_amount=int(row[1] or 0), lost=int(row[2] or 0))


def _share(memo_max: int) -> object:
    """The score as a share of its maximum: of 100 once FS rated it, of the memo's maximum before."""
    return case(
        (FeedbackRecord.handoff_id.is_not(None), Handoff.score_total / literal(100.0)),
        # a memo can score nothing when the weights give every point to FS's rating
        else_=Handoff.score_total / literal(float(memo_max)) if memo_max > 0 else literal(0.0),
    )


def _case_tier(*, best: bool) -> tuple[object, object]:
    """(which toss-ups can be a case, their order before the score): `bot.domain.monthly.success_rank`
    and `lesson_rank` in SQL, so only the few shown are read."""
    accepted = Handoff.status == HandoffStatus.ACCEPTED.value
    rated = FeedbackRecord.handoff_id.is_not(None)
    won, lost = OutcomeRecord.kind == OutcomeKind.WON.value, OutcomeRecord.kind == OutcomeKind.LOST.value
    not_won = (OutcomeRecord.kind.is_(None)) | (OutcomeRecord.kind != OutcomeKind.WON.value)
    if best:
        not_lost = (OutcomeRecord.kind.is_(None)) | (OutcomeRecord.kind != OutcomeKind.LOST.value)
        return and_(accepted, not_lost), case((won, 0), (rated, 1), else_=2)
    returned = Handoff.status == HandoffStatus.RETURNED.value
    return (
        and_(not_won, returned | lost | and_(accepted, rated)),
        case((returned, 0), (lost, 1), else_=2),
    )


# The returned toss-up a revision revises, for the link on its "🔁 revises #3" mark.
_REVISED = aliased(Handoff, name="revised")


def _cases_query(month: Period, *, best: bool, memo_max: int) -> Select:
    share = _share(memo_max)
    candidate, tier = _case_tier(best=best)
    return (
        select(
            Handoff.id,
            Handoff.company,
            Handoff.is_user_id,
            Handoff.fs_user_id,
            Handoff.status,
            Handoff.decided_by,
            Handoff.score_total,
            Handoff.notice_channel_id,
            Handoff.notice_ts,
            Handoff.revision_of_id,
            _REVISED.notice_channel_id.label("revised_notice_channel_id"),
            _REVISED.notice_ts.label("revised_notice_ts"),
            FeedbackRecord.handoff_id.label("rated_id"),
            FeedbackRecord.sheet["good"].as_string().label("good"),
            FeedbackRecord.sheet["improve"].as_string().label("improve"),
            OutcomeRecord.kind.label("outcome"),
        )
        .outerjoin(FeedbackRecord, FeedbackRecord.handoff_id == Handoff.id)
        .outerjoin(OutcomeRecord, OutcomeRecord.handoff_id == Handoff.id)
        .outerjoin(_REVISED, _REVISED.id == Handoff.revision_of_id)
        .where(
            Handoff.created_at >= month.start,
            Handoff.created_at < month.end,
            Handoff.score_total.is_not(None),
            candidate,
        )
        .order_by(tier, desc(share) if best else share, Handoff.id)
        .limit(CASES_MAX * 2)  # the builder keeps best and worst apart when a month has few toss-ups
    )


def _case(row: object) -> CaseFacts:
    return CaseFacts(
        id=row.id,  # type: ignore[attr-defined]
        company=row.company,  # type: ignore[attr-defined]
        is_user_id=row.is_user_id,  # type: ignore[attr-defined]
        fs_user_id=fs_rep_on(
            fs_user_id=row.fs_user_id,  # type: ignore[attr-defined]
            status=HandoffStatus(row.status),  # type: ignore[attr-defined]
            decided_by=row.decided_by,  # type: ignore[attr-defined]
        ),
        score_total=int(row.score_total),  # type: ignore[attr-defined]
        rated=row.rated_id is not None,  # type: ignore[attr-defined]
        outcome=OutcomeKind(row.outcome) if row.outcome else None,  # type: ignore[attr-defined]
        status=HandoffStatus(row.status),  # type: ignore[attr-defined]
        good=row.good or None,  # type: ignore[attr-defined]
        improve=row.improve or None,  # type: ignore[attr-defined]
        notice_channel_id=row.notice_channel_id,  # type: ignore[attr-defined]
        notice_ts=row.notice_ts,  # type: ignore[attr-defined]
        revision_of_id=row.revision_of_id,  # type: ignore[attr-defined]
        revision_notice_channel_id=row.revised_notice_channel_id,  # type: ignore[attr-defined]
        revision_notice_ts=row.revised_notice_ts,  # type: ignore[attr-defined]
    )


async def load_cases(
    *, session: AsyncSession, month: Period, memo_max: int = MEMO_SCORE_MAX
) -> tuple[list[CaseFacts], list[CaseFacts]]:
    """The month's candidate success cases and cases to learn from, in their order, with FS's lines (an
    unrated score read against `memo_max`, the team's memo maximum)."""
    async with own_transaction(session):
        best = (await session.execute(_cases_query(month, best=True, memo_max=memo_max))).all()
        worst = (await session.execute(_cases_query(month, best=False, memo_max=memo_max))).all()
    return [_case(row) for row in best], [_case(row) for row in worst]


async def load_sources(*, session: AsyncSession, month: Period) -> list[SourceFacts]:
    """The month's toss-ups by lead source and campaign (from the memo), counted by how they went."""
    source = Handoff.memo["lead_source"].as_string()
    campaign = Handoff.memo["campaign"].as_string()

    def count_if(condition: object) -> object:
        return func.sum(case((condition, 1), else_=0))

    query = (
        select(
            source.label("source"),
            campaign.label("campaign"),
            func.count(Handoff.id),
            count_if(Handoff.status == HandoffStatus.ACCEPTED.value),
            count_if(Handoff.status == HandoffStatus.RETURNED.value),
            count_if(OutcomeRecord.kind == OutcomeKind.WON.value),
            count_if(OutcomeRecord.kind == OutcomeKind.LOST.value),
        )
        .outerjoin(OutcomeRecord, OutcomeRecord.handoff_id == Handoff.id)
        .where(and_(Handoff.created_at >= month.start, Handoff.created_at < month.end))
        .group_by(source, campaign)
    )
    async with own_transaction(session):
        rows = (await session.execute(query)).all()
    return [
        SourceFacts(
            lead_source=row[0] or None,
            campaign=row[1] or None,
            toss_ups=int(row[2] or 0),
            accepted=int(row[3] or 0),
            returned=int(row[4] or 0),
            won=int(row[5] or 0),
            lost=int(row[6] or 0),
        )
        for row in rows
    ]
