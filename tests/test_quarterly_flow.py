"""Issue 11's quarterly criteria review wired to the schedule: the scheduler's own quarterly job, on an
injected clock, posts the review of the quarter before (a lead message and its two sections in the
thread) once, whatever fires again. The review's content is worked out in tests/test_quarterly_*.py."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot.config import AppConfig
from bot.digests import QUARTERLY, DigestKind, compute_quarterly_review
from bot.domain.kpi import quarter_of
from bot.domain.quarterly import QuarterlyReview
from bot.scheduler import digest_catch_up_job_id, digest_job_id, make_scheduler
from store.db import for_reading
from store.models import DigestPost
from tests.conftest import MANAGER, Harness, team_config
from tests.db_fixtures import BACKENDS
from tests.test_tossup_flow import block_text
from tests.test_weekly_agenda_flow import accept, give_back, settle, tokyo, toss

CHANNEL = "C0QUARTER"


@pytest.fixture
def config() -> AppConfig:
    return team_config(
        roles={"managers": [MANAGER]},
        digests={"quarterly": {"channel": CHANNEL, "cron": "0 9 1 1,4,7,10 *"}},
    )


async def fire(h: Harness, catch_up: bool = False) -> None:
    kind = DigestKind.QUARTERLY
    job = make_scheduler(h.bot.services).get_job(
        digest_catch_up_job_id(kind) if catch_up else digest_job_id(kind)
    )
    assert job is not None
    await job.func(*job.args, **job.kwargs)
    await settle(h)


def posts(h: Harness) -> list:
    return [c for c in h.slack.calls_to("chat.postMessage") if c.args["channel"] == CHANNEL]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_quarterly_review_is_posted_once_on_schedule(harness: Harness) -> None:
    h = harness
    first = date(2026, 8, 1)
    kept = await toss(h, "Q3 One KK", at=tokyo(8, 3, 10), meeting=tokyo(8, 10, 10), first_contact=first)
    await accept(h, kept, at=tokyo(8, 3, 12))
    back = await toss(h, "Q3 Two KK", at=tokyo(8, 4, 10), meeting=tokyo(8, 11, 10), first_contact=first)
    await give_back(h, back, at=tokyo(8, 4, 12), note="時期尚早")

    # Q3 is not over: its review is not due. Q2's came due on 1 July, before the team used tossup (its
    # first toss-up was in August): the catch-up does not post a review of a quarter nobody used it in.
    h.clock.now = tokyo(9, 30, 23)
    await fire(h, catch_up=True)
    assert posts(h) == []

    h.clock.now = tokyo(10, 1, 9)
    await fire(h)
    lead, *replies = posts(h)
    assert "thread_ts" not in lead.args and len(replies) == 2
    assert {reply.args["thread_ts"] for reply in replies} == {lead.response["ts"]}
    async with h.bot.services.sessions() as session:
        row = await session.scalar(
            select(DigestPost).where(
                DigestPost.kind == QUARTERLY, DigestPost.period_start == date(2026, 7, 1)
            )
        )
    assert row is not None
    assert (row.channel_id, row.period_start, row.period_end) == (
        CHANNEL,
        date(2026, 7, 1),
        date(2026, 9, 30),
    )
    review = QuarterlyReview.model_validate(row.content)
    assert (review.toss_ups, review.accepted, review.returned) == (2, 1, 1)
    assert review.mode == "gate" and review.overrides == 0
    assert "Q3" in block_text(lead.args["blocks"]) or "第3四半期" in block_text(lead.args["blocks"])

    await fire(h)
    await fire(h, catch_up=True)
    assert len(posts(h)) == 3  # the lead and its two replies, once


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_large_quarter_is_built_in_the_kpi_process_to_the_same_review(harness: Harness) -> None:
    """From `process_from` toss-ups the review is read and built in the KPI process (bot.kpi_worker);
    here the bar is lowered to this small quarter so both ways run."""
    h = harness
    first = date(2026, 8, 1)
    kept = await toss(h, "Q3 One KK", at=tokyo(8, 3, 10), meeting=tokyo(8, 10, 10), first_contact=first)
    await accept(h, kept, at=tokyo(8, 3, 12))
    await toss(h, "Q3 Two KK", at=tokyo(8, 4, 10), meeting=tokyo(8, 11, 10), first_contact=first)
    config = h.bot.services.config
    q3 = quarter_of(date(2026, 8, 1), config.tz)
    reads = for_reading(h.bot.services.sessions)
    here = await compute_quarterly_review(reads, config, quarter=q3, process_from=10**9)
    there = await compute_quarterly_review(reads, config, quarter=q3, process_from=1)
    assert there == here and (there.toss_ups, there.accepted) == (2, 1)
