"""Issue 11's monthly review over the wire: October and November toss-ups made, accepted, returned, rated
and won through Slack payloads, a collaboration issue logged and one closed; on 1 December 09:00 (an
injected clock) the scheduler's own monthly job posts November's review once — a lead message, its four
sections in the thread and two charts uploaded there with Slack's upload flow.

Worked out by hand (the seed's table, default weights; FS stars 4, 3, 5, 4 → 23 of 30 points):
- October: "Oct KK" 62 points, returned.
- November: "Alpha KK" 70, accepted, rated (70 + 23 = 93/100), won ¥3,000,000 on 20 Nov;
  "Beta KK" 68 (no campaign), accepted, rated 保留 (68 + 23 = 91/100); "Gamma KK" 62, still pending.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot import charts
from bot.config import AppConfig
from bot.digests import MONTHLY, compute_monthly_review
from bot.domain.handoff import HandoffStatus
from bot.domain.issues import Quadrant
from bot.domain.kpi import month_of
from bot.domain.monthly import (
    CaseFacts,
    CaseLine,
    ClosedLine,
    KpiKey,
    KpiLine,
    MonthlyReview,
    MonthlySection,
    TrendPoint,
    split_cases,
)
from bot.domain.outcome import OutcomeKind
from bot.domain.score import ScoreItemKey
from bot.i18n import Lang, t
from bot.scheduler import MONTHLY_DIGEST_CATCH_UP_JOB_ID, MONTHLY_DIGEST_JOB_ID, make_scheduler
from modals.ids import CallbackId
from modals.monthly import build_review_section, score_chart_data
from store.db import for_reading
from store.models import DigestPost
from tests.conftest import MANAGER, Harness, team_config
from tests.db_fixtures import BACKENDS
from tests.test_issues_flow import logged, open_issue_modal
from tests.test_tossup_flow import block_text
from tests.test_weekly_agenda_flow import (
    DROP_ISSUE,
    DROP_OPTIONAL,
    accept,
    give_back,
    rate,
    settle,
    tokyo,
    toss,
)

REVIEW_CHANNEL = "C0REVIEW"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def config() -> AppConfig:
    return team_config(
        roles={"managers": [MANAGER]},
        digests={"monthly": {"channel": REVIEW_CHANNEL, "cron": "0 9 1 * *"}},
    )


async def win_on(h: Harness, handoff_id: int, *, at, closed_on: str) -> None:
    from tests.test_feedback_flow import open_modal
    from tests.test_feedback_modals import outcome_state

    h.clock.now = at
    modal = await open_modal(h, "outcome_open", handoff_id, user="U0FS")
    response = await h.driver.view_submission(
        CallbackId.OUTCOME,
        outcome_state("won", amount="3000000", closed_on=closed_on),
        user_id="U0FS",
        private_metadata=modal["private_metadata"],
    )
    assert response.status == 200 and not (response.json() or {}).get("errors"), response.text
    await settle(h)


async def fire(h: Harness, job_id: str = MONTHLY_DIGEST_JOB_ID) -> None:
    job = make_scheduler(h.bot.services).get_job(job_id)
    assert job is not None
    await job.func(*job.args, **job.kwargs)
    await settle(h)


def review_posts(h: Harness) -> list:
    return [c for c in h.slack.calls_to("chat.postMessage") if c.args["channel"] == REVIEW_CHANNEL]


async def a_month_of_toss_ups(h: Harness) -> None:
    october = await toss(
        h,
        "Oct KK",
        at=tokyo(10, 14, 10),
        meeting=tokyo(10, 20, 10),
        drop=DROP_ISSUE,
        first_contact=date(2026, 10, 1),
    )
    await give_back(h, october, at=tokyo(10, 14, 15), note="BANTが不足")
    alpha = await toss(h, "Alpha KK", at=tokyo(11, 4, 10), meeting=tokyo(11, 10, 10))
    await accept(h, alpha, at=tokyo(11, 4, 12))
    beta = await toss(h, "Beta KK", at=tokyo(11, 5, 10), meeting=tokyo(11, 12, 10), drop=DROP_OPTIONAL)
    await accept(h, beta, at=tokyo(11, 5, 16))
    await toss(h, "Gamma KK", at=tokyo(11, 25, 10), meeting=tokyo(12, 8, 10), drop=DROP_ISSUE)
    await rate(h, alpha, at=tokyo(11, 10, 15), result="progress", next_info="予算の承認者")
    await rate(h, beta, at=tokyo(11, 12, 15), result="on_hold", next_info="予算の承認者")
    await win_on(h, alpha, at=tokyo(11, 20, 17), closed_on="2026-11-20")
    h.clock.now = tokyo(11, 26, 10)
    await open_issue_modal(h)
    await logged(h, problem="保留案件の追客ルールがない", impact="high", urgency="low", owner=None)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_monthly_review_over_the_wire(harness: Harness) -> None:
    h = harness
    await a_month_of_toss_ups(h)

    h.clock.now = tokyo(12, 1, 8, 59)  # a minute before December's first scheduled time
    await fire(h, MONTHLY_DIGEST_CATCH_UP_JOB_ID)
    assert review_posts(h) == []

    h.clock.now = tokyo(12, 1, 9, 0)
    await fire(h)
    posts = review_posts(h)
    lead, replies = posts[0], posts[1:]
    assert "thread_ts" not in lead.args and len(replies) == 4
    assert {reply.args["thread_ts"] for reply in replies} == {lead.response["ts"]}

    async with h.bot.services.sessions() as session:
        (digest,) = (await session.scalars(select(DigestPost).where(DigestPost.kind == MONTHLY))).all()
    assert (digest.channel_id, digest.period_start) == (REVIEW_CHANNEL, date(2026, 11, 1))
    review = MonthlyReview.model_validate(digest.content)

    kpis = {line.key: (line.current, line.previous) for line in review.kpis}
    assert kpis[KpiKey.TOSS_UPS] == (3, 1)
    assert kpis[KpiKey.SQLS] == (3, 1)
    assert kpis[KpiKey.ACCEPTANCE_RATE] == (1.0, 0.0)  # 2 accepted of 2 decided; October 0 of 1
    assert kpis[KpiKey.WIN_RATE] == (1.0, None)
    assert kpis[KpiKey.WON_AMOUNT] == (3_000_000, 0)
    assert kpis[KpiKey.DEAL_SIZE] == (3_000_000, None)
    assert kpis[KpiKey.LEAD_TIME_DAYS] == (18, None)  # first contact 2 Nov → won 20 Nov
    assert kpis[KpiKey.BANT_RATE] == (1.0, 1.0)  # every memo had its four BANT answers
    assert kpis[KpiKey.HOURS_TO_ACCEPT] == (pytest.approx((2 + 6) / 2), None)  # 10:00→12:00, 10:00→16:00

    trend = [(point.month, point.toss_ups, point.won, point.average) for point in review.trend]
    assert trend[-2:] == [
        (date(2026, 10, 1), 1, 0, pytest.approx(62)),
        (date(2026, 11, 1), 3, 1, pytest.approx((70 + 68 + 62) / 3)),
    ]
    assert [point.toss_ups for point in review.trend[:4]] == [0, 0, 0, 0]  # June–September

    items = {item.key: (item.average, item.max_points) for item in review.items}
    assert items[ScoreItemKey.ISSUE] == (pytest.approx((15 + 15 + 8) / 3), 15)
    assert items[ScoreItemKey.COMPLETENESS] == (pytest.approx((15 + 13 + 14) / 3), 15)
    assert items[ScoreItemKey.FS_RATING] == (23, 30)  # the two rated ones
    assert review.weakest is ScoreItemKey.FS_RATING  # keeps 23/30 = 77 %, the smallest share

    assert [(c.company, c.score, c.score_max, c.outcome) for c in review.best] == [
        ("Alpha KK", 93, 100, OutcomeKind.WON),
        ("Beta KK", 91, 100, None),
    ]
    assert review.worst == []  # Gamma KK (62/70) is not decided yet: no case to learn from, nor a success
    assert review.best[0].good == "決裁プロセスが明確で、次のステップをすぐ提案できた"

    sources = [(s.lead_source, s.campaign, s.toss_ups, s.accepted, s.won, s.win_rate) for s in review.sources]
    assert sources == [
        ("seminar", "2026秋 DXセミナー", 2, 1, 1, 1.0),
        ("seminar", None, 1, 1, 0, None),
    ]
    assert [(i.problem, i.quadrant) for i in review.open_issues] == [
        ("保留案件の追客ルールがない", Quadrant.IMPORTANT)
    ]

    # What the channel saw, and the two charts uploaded into the thread with alt text
    kpi_text, score_text = block_text(replies[0].args["blocks"]), block_text(replies[1].args["blocks"])
    assert "3,000,000" in kpi_text and "2026秋 DXセミナー" in kpi_text
    assert "⚠️" in score_text
    files = [f for f in h.slack.files.values() if f.get("channel") == REVIEW_CHANNEL]
    assert len(files) == 2
    assert all(f["thread_ts"] == lead.response["ts"] and f["data"].startswith(PNG) for f in files)
    assert all(f["alt_txt"] for f in files) and all(1_000 < len(f["data"]) < 1_000_000 for f in files)
    assert {f["title"] for f in files} == {  # what each chart is, and of which month, whole
        "チーム平均メモスコアの推移（月別） — 2026年11月",
        "月別のトスアップ数・受注数・トスアップ後受注率 — 2026年11月",
    }

    # Again (the catch-up, a replica, a restart): nothing more
    await fire(h)
    await fire(h, MONTHLY_DIGEST_CATCH_UP_JOB_ID)
    assert len(review_posts(h)) == 5
    assert len([f for f in h.slack.files.values() if f.get("channel") == REVIEW_CHANNEL]) == 2


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_deal_won_this_month_from_last_months_toss_up_shows_as_closed_this_month(
    harness: Harness,
) -> None:
    """The KPIs follow the month's toss-ups: October's deal won on 28 November is in no KPI of
    November's review (nor of October's, posted on 1 November). The review says what its KPIs count and
    shows the deals closed in the month, whenever tossed up."""
    h = harness
    october = await toss(
        h, "Oct Win KK", at=tokyo(10, 20, 10), meeting=tokyo(10, 25, 10), first_contact=date(2026, 10, 1)
    )
    await accept(h, october, at=tokyo(10, 20, 12))
    await win_on(h, october, at=tokyo(11, 28, 17), closed_on="2026-11-28")
    h.clock.now = tokyo(12, 1, 9, 0)
    await fire(h)
    async with h.bot.services.sessions() as session:
        (digest,) = (await session.scalars(select(DigestPost).where(DigestPost.kind == MONTHLY))).all()
    review = MonthlyReview.model_validate(digest.content)
    assert {line.key: line.current for line in review.kpis}[KpiKey.WON_AMOUNT] == 0
    assert review.closed == ClosedLine(won=1, won_amount=3_000_000, lost=0)
    kpi_text = block_text(review_posts(h)[1].args["blocks"])
    assert "当月クローズした商談（トスアップした月を問わず）: 受注 1件（3,000,000円）・失注 0件" in kpi_text
    assert t(Lang.JA, "kpi.cohort") in kpi_text


def test_a_review_stored_before_the_close_date_count_still_renders() -> None:
    _, blocks = build_review_section(
        november(), MonthlySection.KPIS, lang=Lang.EN, tz=team_config().tz, workspace_url=None, config=None
    )
    shown = block_text([block.to_dict() for block in blocks])
    assert t(Lang.EN, "kpi.cohort") in shown and "Closed in the month" not in shown


def november(**parts: object) -> MonthlyReview:
    """November's review with nothing in it but `parts`."""
    empty: dict[str, object] = {
        "kpis": [],
        "trend": [],
        "items": [],
        "weakest": None,
        "by_rep": [],
        "best": [],
        "worst": [],
        "sources": [],
        "open_issues": [],
        "closed_issues": [],
    }
    return MonthlyReview(
        month_start=date(2026, 11, 1),
        month_end=date(2026, 11, 30),
        generated_at=datetime(2026, 12, 1, tzinfo=UTC),
        **{**empty, **parts},
    )


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (Lang.EN, ["−2.8 h", "+2.5 days", "+5.0 pts", "*6* (the month before 0, +6)"]),
        (Lang.JA, ["−2.8時間", "+2.5日", "+5.0ポイント", "*6件*（前月 0件、+6件）"]),
    ],
)
def test_each_change_from_last_month_is_in_its_values_unit(lang: Lang, expected: list[str]) -> None:
    review = november(
        kpis=[
            KpiLine(key=KpiKey.HOURS_TO_ACCEPT, current=1.0, previous=3.8),
            KpiLine(key=KpiKey.LEAD_TIME_DAYS, current=31.0, previous=28.5),
            KpiLine(key=KpiKey.WIN_RATE, current=0.30, previous=0.25),
            KpiLine(key=KpiKey.TOSS_UPS, current=6, previous=0),
        ]
    )
    config = team_config()
    _, blocks = build_review_section(
        review, MonthlySection.KPIS, lang=lang, tz=config.tz, workspace_url=None, config=config
    )
    shown = block_text([block.to_dict() for block in blocks])
    for change in expected:
        assert change in shown


def case_line(**changes: object) -> CaseLine:
    """A case of the monthly review: Alpha KK, 93/100, no outcome yet, unless `changes` say otherwise."""
    fields: dict[str, object] = {
        "id": 7,
        "company": "Alpha KK",
        "is_user_id": "U0IS",
        "fs_user_id": "U0FS",
        "score": 93,
        "score_max": 100,
        "outcome": None,
        "good": None,
        "improve": None,
    }
    return CaseLine.model_validate({**fields, **changes})


@pytest.mark.parametrize("anonymous", [False, True])
def test_the_cases_do_not_put_fs_words_beside_the_raters_name_when_anonymous(anonymous: bool) -> None:
    """feedback.anonymous hides who rated from IS: the monthly review, posted where IS reads it, quotes
    FS's "good" and "to improve" under "FS" rather than the FS rep's name."""
    case = case_line(fs_user_id="U0FSREP", good="決裁プロセスが明確")
    review = november(best=[case])
    config = team_config(feedback={"anonymous": anonymous})
    for lang in Lang:
        _, blocks = build_review_section(
            review, MonthlySection.CASES, lang=lang, tz=config.tz, workspace_url=None, config=config
        )
        shown = block_text([block.to_dict() for block in blocks])
        assert "決裁プロセスが明確" in shown
        assert ("<@U0FSREP>" in shown) is not anonymous
        assert (f"<@U0IS> → {t(lang, 'feedback.anonymous_fs')}" in shown) is anonymous


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_large_month_is_built_in_the_kpi_process_to_the_same_review(harness: Harness) -> None:
    """From `process_from` toss-ups the review is read and built whole in the KPI process (bot.kpi_worker),
    which opens the database by its URL; here the bar is lowered to this small month so both ways run."""
    h = harness
    await a_month_of_toss_ups(h)
    november = month_of(date(2026, 11, 1), h.bot.services.config.tz)
    now = tokyo(12, 1, 9, 0)
    reads = for_reading(h.bot.services.sessions)
    here = await compute_monthly_review(
        reads, h.bot.services.config, month=november, now=now, process_from=10**9
    )
    there = await compute_monthly_review(
        reads, h.bot.services.config, month=november, now=now, process_from=1
    )
    assert there == here
    assert {line.key: line.current for line in there.kpis}[KpiKey.TOSS_UPS] == 3


def case_facts(
    case_id: int,
    score: int,
    *,
    status: HandoffStatus = HandoffStatus.ACCEPTED,
    rated: bool = True,
    outcome: OutcomeKind | None = None,
) -> CaseFacts:
    return CaseFacts(
        id=case_id,
        company=f"Co {case_id}",
        is_user_id="U0IS",
        fs_user_id="U0FS",
        score_total=score,
        rated=rated,
        outcome=outcome,
        status=status,
    )


def test_accepted_rated_toss_ups_with_no_outcome_are_split_the_better_half_a_success() -> None:
    either = [case_facts(1, 90), case_facts(2, 60), case_facts(3, 75), case_facts(4, 40)]
    undecided = case_facts(5, 70, status=HandoffStatus.PENDING, rated=False)
    successes, lessons = split_cases([*either, undecided], [*either, undecided])
    assert [c.id for c in successes] == [1, 3]
    assert [c.id for c in lessons] == [4, 2]


def test_the_worse_half_of_the_rated_ones_is_to_learn_from_even_beside_an_unrated_success() -> None:
    rated_high, rated_low = case_facts(1, 90), case_facts(2, 40)
    unrated = case_facts(3, 50, rated=False)  # accepted, not rated: a success only (nothing to learn yet)
    successes, lessons = split_cases([rated_high, rated_low, unrated], [rated_high, rated_low, unrated])
    assert [c.id for c in successes] == [1, 3]
    assert [c.id for c in lessons] == [2]


def test_a_won_toss_up_is_never_a_lesson_nor_a_returned_one_a_success() -> None:
    won_low = case_facts(1, 30, outcome=OutcomeKind.WON)
    returned_high = case_facts(2, 70, status=HandoffStatus.RETURNED, rated=False)
    lost_high = case_facts(3, 98, outcome=OutcomeKind.LOST)
    cases = [won_low, returned_high, lost_high]
    successes, lessons = split_cases(cases, cases)
    assert [c.id for c in successes] == [1]
    assert [c.id for c in lessons] == [2, 3]


@pytest.mark.parametrize(("lang", "shown"), [(Lang.EN, "returned by FS"), (Lang.JA, "・差し戻し")])
def test_a_returned_case_says_it_was_returned_not_that_its_outcome_is_missing(lang: Lang, shown: str) -> None:
    returned = case_line(score=40, score_max=70, improve="予算の確認を", status=HandoffStatus.RETURNED)
    config = team_config()
    _, blocks = build_review_section(
        november(worst=[returned]),
        MonthlySection.CASES,
        lang=lang,
        tz=config.tz,
        workspace_url=None,
        config=config,
    )
    text = block_text([block.to_dict() for block in blocks])
    assert shown in text and t(lang, "monthly.outcome.none") not in text
    assert t(lang, "monthly.cases.best_empty") in text


def test_the_monthly_memo_averages_are_out_of_what_the_teams_weights_allow() -> None:
    point = TrendPoint(month=date(2026, 11, 1), toss_ups=3, won=1, win_rate=1.0, average=64.5)
    review = november(trend=[point], memo_score_max=80)  # score.weights.fs_rating: 20
    config = team_config()
    _, blocks = build_review_section(
        review, MonthlySection.SCORE, lang=Lang.EN, tz=config.tz, workspace_url=None, config=config
    )
    shown = block_text([block.to_dict() for block in blocks])
    assert "64.5/80" in shown and "/70" not in shown
    data = score_chart_data(review, lang=Lang.EN)  # the chart of the same thread says so too
    assert "of 80" in charts.score_trend_alt(lang=Lang.EN, **data)  # type: ignore[arg-type]
    # … and an unrated case is ranked out of 80: a won 66/80 (82.5 %) below a won 90/100 (66/70 was 94 %)
    won = OutcomeKind.WON
    unrated, rated = case_facts(1, 66, rated=False, outcome=won), case_facts(2, 90, outcome=won)
    assert [c.id for c in split_cases([unrated, rated], [], memo_max=80)[0]] == [2, 1]
    assert [c.id for c in split_cases([unrated, rated], [])[0]] == [1, 2]


@pytest.mark.parametrize("lang", list(Lang))
def test_a_revision_among_the_cases_says_which_returned_toss_up_it_revises(lang: Lang) -> None:
    """The same company can be a case twice (returned 62/70, then its revision 70/70): the revision's line
    says which one it revises, as the weekly agenda does."""
    returned = case_line(id=3, score=62, score_max=70, status=HandoffStatus.RETURNED)
    revision = case_line(id=5, score=70, score_max=70, status=HandoffStatus.ACCEPTED, revision_of=3)
    config = team_config()
    _, blocks = build_review_section(
        november(best=[revision], worst=[returned]),
        MonthlySection.CASES,
        lang=lang,
        tz=config.tz,
        workspace_url=None,
        config=config,
    )
    text = block_text([block.to_dict() for block in blocks])
    assert text.count(t(lang, "agenda.this_week.revision", toss_up="#3")) == 1
