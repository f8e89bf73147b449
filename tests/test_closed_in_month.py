"""The monthly review's "closed this month" line (store.monthly.load_closed) on both databases: deals won
or lost by close date whatever month they were tossed up in; a lost deal recorded without a close date
in the month it was recorded; amounts past 32 bits (a deal may be up to ¥1 trillion)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.domain.kpi import Period, parse_period
from bot.domain.outcome import Outcome
from store.monthly import load_closed
from tests.test_kpi_store import TOKYO, Builder, Factory

NOW = datetime(2027, 1, 5, tzinfo=UTC)


def month(text: str) -> Period:
    period = parse_period(text, now=NOW, tz=TOKYO)
    assert period is not None
    return period


async def test_closed_by_close_date_across_the_year_boundary(session_factory: Factory) -> None:
    b = Builder(session_factory)
    tossed = datetime(2026, 10, 20, 1, tzinfo=UTC)  # all tossed up in October
    won_dec, won_jan, lost_dec, lost_undated, still_open = [await b.toss_up(tossed) for _ in range(5)]
    recorded = datetime(2027, 1, 2, tzinfo=UTC)
    await b.outcome(won_dec, Outcome.won(3_000_000, date(2026, 12, 31)), recorded)
    await b.outcome(won_jan, Outcome.won(1_000, date(2027, 1, 1)), recorded)
    await b.outcome(lost_dec, Outcome.lost("price", date(2026, 12, 1)), recorded)
    await b.outcome(lost_undated, Outcome.lost("timing"), datetime(2026, 12, 10, tzinfo=UTC))  # no date
    await b.outcome(still_open, Outcome.still_open(), datetime(2026, 12, 10, tzinfo=UTC))
    async with session_factory() as session:
        december = await load_closed(session=session, month=month("2026-12"))
        january = await load_closed(session=session, month=month("2027-01"))
        october = await load_closed(session=session, month=month("2026-10"))
    assert (december.won, december.won_amount, december.lost) == (1, 3_000_000, 2)
    assert (january.won, january.won_amount, january.lost) == (1, 1_000, 0)
    assert (october.won, october.won_amount, october.lost) == (0, 0, 0)  # tossed up then, closed later


async def test_an_amount_past_32_bits_is_summed(session_factory: Factory) -> None:
    b = Builder(session_factory)
    big = await b.toss_up(datetime(2026, 11, 20, 1, tzinfo=UTC))
    await b.outcome(big, Outcome.won(3_000_000_000, date(2026, 12, 3)), datetime(2026, 12, 4, tzinfo=UTC))
    async with session_factory() as session:
        december = await load_closed(session=session, month=month("2026-12"))
    assert (december.won, december.won_amount) == (1, 3_000_000_000)
