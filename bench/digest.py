"""The weekly meeting agenda (issue 8) at team scale, against a hand-written SQL floor timed in the same run.

For each size it builds a migrated database of toss-ups spread over two years (a week holds about 1/100
of them) with decisions, feedback sheets, outcomes and a few open collaboration issues, then times, warm
and interleaved so all three see the same machine:

- agenda: `bot.digests.compute_weekly_agenda`, exactly what the scheduler and the CLI run (the loader
  `store.agenda.load_agenda_facts`, `store.issues.list_open_issues`, the pure `build_weekly_agenda`);
- loader: `load_agenda_facts` alone, to show where the time goes;
- floor: the minimum SQL a person would write for the same content, through the same engine with
  `text()`, fetched and nothing else: the week's toss-ups with sheet and outcome, last week's
  AVG(memo_score), and like the agenda each list up to LIST_MAX rows with its total (COUNT(*) OVER ()):
  the week's returns, the oldest pending and how many are past the SLA, the accepted deals needing
  support by reason, next week's meetings; recent "collect next time" answers (not the three lowest
  scores' breakdowns nor the open issues, which the agenda reads too);

for a week in the middle of the data and for the latest week, both seen from the latest week's Friday
09:00 (the scheduled post; a past week is previewed from now, as `tossup digest weekly --period` does).
Target (issue 8): <= 200 ms at 100k and <= 3x the floor, the cost following the week's rows, not the
history's. With two years fixed, 100x the toss-ups is also 100x the week's rows; `--per-week 100` keeps
the week's rows fixed instead and lets the history grow (1k = 10 weeks … 100k = 1,000 weeks).

Toss-ups older than two weeks are decided (about 4 accepted for 1 returned, as in the issue's 60 % / 15 %)
except a stale `--stale-pending` share; the recent ones are mostly pending. `--stale-pending 0.25`
reproduces "60 % accepted, 15 % returned, the rest pending" literally (25k undecided at 100k, which the
pending section lists in full). `--explain` prints each statement the agenda runs with its plan.

    .venv/bin/python -m bench.digest [--sizes 1000,10k,100k] [--repeat 30] [--postgres] [--per-week N]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import secrets
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import TextClause, bindparam, event, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import charts
from bot.config import AppConfig
from bot.digests import agenda_rules, compute_monthly_review, compute_weekly_agenda
from bot.domain.agenda import LIST_MAX, REQUESTED_INFO_WEEKS, AgendaFacts, overdue_created_before
from bot.domain.criteria import evaluate_criteria
from bot.domain.feedback import FeedbackSheet, MeetingResult, complete_score
from bot.domain.handoff import HandoffStatus, ReturnReason
from bot.domain.kpi import Period, month_before, month_of, week_of
from bot.domain.memo import HandoffMemo, Timeline
from bot.domain.monthly import MonthlyReview
from bot.domain.outcome import Outcome
from bot.domain.score import ScoreBreakdown, score_memo
from modals.monthly import kpi_chart_data, score_chart_data
from store.agenda import load_agenda_facts
from store.db import make_engine, make_sessionmaker, migrate
from store.models import FeedbackRecord, Handoff, OutcomeRecord, UTCDateTime
from tests.memo_state import full_memo_answers

POSTGRES_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"
SPAN_DAYS = 730
RECENT_DAYS = 14  # younger toss-ups may still be waiting for FS's decision
SHEET_SHARE, OUTCOME_SHARE = 0.40, 0.25  # of all toss-ups
CHUNK = 5000
TARGET_MS, TARGET_RATIO = 200.0, 3.0

IS_REPS = [f"U0IS{n:02d}" for n in range(12)]
FS_REPS = [f"U0FS{n:02d}" for n in range(8)]
COMPANIES = ["株式会社サンプル", "Acme Corp", "東都物産", "Globex", "北斗システム", "Initech", "みなと商事"]
# Memo answers a weaker memo leaves out (each variant drops some), so scores spread below 70.
OPTIONAL_ANSWERS = (
    "competitors decision_process background impact expected_effect trigger concerns budget_note "
    "interactions value_to_stress topics_to_avoid other_notes decision_maker"
).split()
NEXT_INFO = [
    "決裁者の同席可否",
    "予算の確定時期",
    "競合の提案状況",
    "現行システムの契約更新日",
    "導入希望時期の根拠",
    "利用人数の見込み",
    "The budget owner's name",
    "Which competitor they trialled",
]
GOOD = ["課題の整理が的確", "BANTが正確だった", "事前に温度感が分かって助かった", None]
IMPROVE = ["決裁プロセスをもう少し具体的に", "競合情報が古かった", "予算の根拠が曖昧", None]
RETURN_NOTES = ["予算未確定のため育成から", "担当エリア違い", "重複登録", "BANTの裏付けが不足"]
LOST_REASONS = ["価格で競合に負けた", "予算凍結", "現行ツール継続", "Timing: next fiscal year"]
OVERRIDES = ["展示会で決裁者と直接合意済み", "既存顧客の別部署のため", "Strategic account, VP asked"]
ISSUES = [  # problem, impact, urgency, closed
    ("BANT欄の予算が空のまま届く", "high", "high", False),
    ("商談日時の変更がFSに伝わらない", "high", "low", False),
    ("差し戻し理由が分かりにくい", "low", "high", False),
    ("CRMのURLが古い案件を指している", "low", "low", False),
    ("Feedback sheets arrive a week late", "high", "high", False),
    ("セミナー経由の温度感がばらつく", "high", "low", False),
    ("夜間のトスアップに翌朝まで気づかない", "low", "high", True),
    ("Duplicate toss-ups for one company", "low", "low", True),
]


def bench_config() -> AppConfig:
    return AppConfig.model_validate(
        {
            "locale": "ja",
            "timezone": "Asia/Tokyo",
            "channels": {"fs": "C0FS"},
            "digests": {"weekly": {"channel": "C0MEET", "cron": "0 9 * * FRI"}},
        }
    )


# ------------------------------------------------------------------------------------------ data


@dataclass(frozen=True)
class Variant:
    """One memo as a rep might write it, with what the bot derives from it at submission."""

    memo: dict[str, Any]  # HandoffMemo.model_dump(mode="json"), per-row fields set on a copy
    score: ScoreBreakdown
    score_json: dict[str, Any]  # ScoreBreakdown.to_json(), shared by the rows of this variant
    criteria: dict[str, Any]
    passed: bool


def memo_variants(rng: random.Random, config: AppConfig, count: int = 24) -> list[Variant]:
    """Memos from complete to thin (and a few that fail the criteria), scored with the real `score_memo`."""
    answers = full_memo_answers(
        meeting_at=datetime(2026, 1, 1, tzinfo=UTC), first_contact_on=date(2025, 12, 1), fs_user_id=None
    )
    full = {field.value: value for field, value in answers.items()}
    variants = []
    for n in range(count):
        data = dict(full)
        for name in rng.sample(OPTIONAL_ANSWERS, k=min(n // 2, len(OPTIONAL_ANSWERS))):
            data[name] = None
        if n % 8 == 7:
            data["timeline"] = Timeline.OVER_12_MONTHS.value  # fails the default criteria
        memo = HandoffMemo.model_validate(data)
        criteria = evaluate_criteria(memo, config.criteria, reading=config.score.reading)
        score = score_memo(memo, config.score)
        variants.append(
            Variant(memo.model_dump(mode="json"), score, score.to_json(), criteria.to_json(), criteria.passed)
        )
    return variants


@dataclass(slots=True)
class Plan:
    """The light facts of one toss-up, drawn first so sheets and outcomes can be spread over them."""

    id: int
    created_at: datetime
    meeting_at: datetime
    status: HandoffStatus
    decided_at: datetime | None
    variant: int
    is_user: str
    fs_user: str
    rated: bool = False
    outcome: bool = False


def plan_toss_ups(
    n: int, now: datetime, rng: random.Random, variants: list[Variant], *, span_days: int, stale: float
) -> list[Plan]:
    start = now - timedelta(days=span_days)
    seconds = sorted(rng.uniform(0, span_days * 86400) for _ in range(n))
    plans = []
    for i, offset in enumerate(seconds):
        created = start + timedelta(seconds=offset)
        meeting = (created + timedelta(hours=rng.uniform(24, 14 * 24))).replace(second=0, microsecond=0)
        age = now - created
        waiting = {0: 0.8, 1: 0.3}.get(age.days // 7, stale) if age < timedelta(days=RECENT_DAYS) else stale
        decided_at = None
        status = HandoffStatus.PENDING
        if rng.random() >= waiting:
            decided_at = created + min(timedelta(hours=rng.expovariate(1 / 20)), age * rng.random())
            status = HandoffStatus.ACCEPTED if rng.random() < 0.8 else HandoffStatus.RETURNED
        plans.append(
            Plan(
                id=i + 1,
                created_at=created,
                meeting_at=meeting,
                status=status,
                decided_at=decided_at,
                variant=rng.randrange(len(variants)),
                is_user=rng.choice(IS_REPS),
                fs_user=rng.choice(FS_REPS),
            )
        )
    accepted = [p for p in plans if p.status is HandoffStatus.ACCEPTED]
    rateable = [p for p in accepted if p.meeting_at + timedelta(hours=2) < now]
    for p in rng.sample(rateable, k=min(len(rateable), round(SHEET_SHARE * n))):
        p.rated = True
    # Outcomes come mostly after a sheet; a few are recorded without one.
    closable = [p for p in accepted if p.meeting_at + timedelta(days=7) < now]
    rated = [p for p in closable if p.rated]
    unrated = [p for p in closable if not p.rated]
    wanted = round(OUTCOME_SHARE * n)
    from_rated = min(len(rated), round(wanted * 0.8))
    for p in rng.sample(rated, k=from_rated) + rng.sample(unrated, k=min(len(unrated), wanted - from_rated)):
        p.outcome = True
    return plans


def _between(rng: random.Random, start: datetime, longest: timedelta, now: datetime) -> datetime:
    return start + min(longest, now - start) * rng.random()


def rows_for(
    plans: list[Plan], now: datetime, rng: random.Random, variants: list[Variant], config: AppConfig
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The handoffs, feedback_sheets and outcomes rows of these toss-ups."""
    handoffs, sheets, outcomes = [], [], []
    # The completed score (memo + FS rating) by memo variant and stars: computed once, shared.
    scores: dict[tuple[int, tuple[int, ...]], tuple[dict[str, Any], int]] = {}
    for p in plans:
        variant = variants[p.variant]
        company = f"{rng.choice(COMPANIES)} {p.id}"
        memo = dict(variant.memo)
        memo.update(
            company=company,
            meeting_at=p.meeting_at.isoformat().replace("+00:00", "Z"),  # as pydantic writes it
            first_contact_on=(p.created_at - timedelta(days=rng.randint(3, 60))).date().isoformat(),
            fs_user_id=p.fs_user,
        )
        score, total = variant.score_json, variant.score.total
        result = None
        if p.rated:
            sheet = FeedbackSheet(
                result=rng.choices(list(MeetingResult), weights=(60, 25, 15))[0],
                bant_accuracy=rng.randint(2, 5),
                issue_depth=rng.randint(2, 5),
                memo_completeness=rng.randint(2, 5),
                overall=rng.randint(2, 5),
                good=rng.choice(GOOD),
                improve=rng.choice(IMPROVE),
                next_info=rng.choice(NEXT_INFO) if rng.random() < 0.55 else None,
            )
            result = sheet.result
            key = (p.variant, tuple(sheet.stars.values()))
            if key not in scores:
                full = complete_score(
                    variant.score, sheet, config.score.weights.fs_rating, config.feedback.rating_weights
                )
                scores[key] = full.to_json(), full.total
            score, total = scores[key]
            submitted = _between(rng, p.meeting_at + timedelta(hours=2), timedelta(hours=70), now)
            revised = rng.random() < 0.2
            sheets.append(
                {
                    "handoff_id": p.id,
                    "rater_id": p.fs_user,
                    "sheet": sheet.model_dump(mode="json"),
                    "submitted_at": submitted,
                    "updated_at": _between(rng, submitted, timedelta(days=5), now) if revised else submitted,
                    "revisions": 2 if revised else 1,
                }
            )
        if p.outcome:
            recorded = _between(rng, p.meeting_at + timedelta(days=7), timedelta(days=40), now)
            if result is MeetingResult.LOST or rng.random() < 0.2:
                outcome = Outcome.lost(rng.choice(LOST_REASONS), closed_on=recorded.date())
            elif rng.random() < 0.55:
                outcome = Outcome.won(rng.randrange(50, 2000) * 10_000, recorded.date())
            else:
                outcome = Outcome.still_open()
            outcomes.append(
                {
                    "handoff_id": p.id,
                    "kind": outcome.kind.value,
                    "outcome": outcome.model_dump(mode="json"),
                    "recorded_by": p.fs_user,
                    "recorded_at": recorded,
                }
            )
        returned = p.status is HandoffStatus.RETURNED
        handoffs.append(
            {
                "id": p.id,
                "submission_key": f"VBENCH{p.id:07d}",
                "team_id": "T0BENCH",
                "is_user_id": p.is_user,
                "fs_user_id": p.fs_user,
                "channel_id": "C0FS",
                "status": p.status.value,
                "company": company,
                "meeting_at": p.meeting_at,
                "memo": memo,
                "lang": "ja",
                "created_at": p.created_at,
                "decided_by": p.fs_user if p.decided_at else None,
                "decided_at": p.decided_at,
                "return_reason": rng.choice(list(ReturnReason)).value if returned else None,
                "return_note": rng.choice(RETURN_NOTES) if returned and rng.random() < 0.7 else None,
                "notice_channel_id": "C0FS",
                "notice_ts": f"{int(p.created_at.timestamp())}.{p.id % 1_000_000:06d}",
                "version": 1 if p.decided_at is None else 2,
                "criteria": variant.criteria,
                "criteria_passed": variant.passed,
                "override_reason": None if variant.passed else rng.choice(OVERRIDES),  # warn mode
                "score": score,
                "score_total": total,
                "memo_score": variant.score.total,
                "route_kind": "chosen",  # the memo names the FS rep (RouteKind.CHOSEN)
                "route_rule": None,
            }
        )
    return handoffs, sheets, outcomes


@dataclass(frozen=True)
class Seeded:
    toss_ups: int
    shares: str  # what the data holds, for the reader
    seconds: float


async def seed(
    engine: AsyncEngine,
    n: int,
    *,
    now: datetime,
    config: AppConfig,
    rng: random.Random,
    span_days: int,
    stale: float,
) -> Seeded:
    started = time.perf_counter()
    variants = memo_variants(rng, config)
    plans = plan_toss_ups(n, now, rng, variants, span_days=span_days, stale=stale)
    for first in range(0, n, CHUNK):
        handoffs, sheets, outcomes = rows_for(plans[first : first + CHUNK], now, rng, variants, config)
        async with engine.begin() as connection:
            await connection.execute(insert(Handoff), handoffs)
            if sheets:
                await connection.execute(insert(FeedbackRecord), sheets)
            if outcomes:
                await connection.execute(insert(OutcomeRecord), outcomes)
    await seed_issues(engine, now)
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(text("SELECT setval('handoffs_id_seq', :n)"), {"n": n})
            await connection.execute(text("ANALYZE"))  # what autovacuum does soon after a bulk load
    count = {status: sum(p.status is status for p in plans) for status in HandoffStatus}
    share = "  ".join(
        f"{label} {100 * k / n:.0f}%"
        for label, k in (
            ("accepted", count[HandoffStatus.ACCEPTED]),
            ("returned", count[HandoffStatus.RETURNED]),
            ("pending", count[HandoffStatus.PENDING]),
            ("sheets", sum(p.rated for p in plans)),
            ("outcomes", sum(p.outcome for p in plans)),
        )
    )
    return Seeded(n, share, time.perf_counter() - started)


async def seed_issues(engine: AsyncEngine, now: datetime) -> None:
    """A few collaboration issues, most of them open; skipped on a tree without the issue log."""
    try:
        from store.issue_models import CollabIssueRecord
    except ImportError:
        return
    rows = [
        {
            "submission_key": f"VISSUE{n:03d}",
            "problem": problem,
            "impact": impact,
            "urgency": urgency,
            "owner_id": FS_REPS[n % len(FS_REPS)] if n % 2 else None,
            "raised_by": IS_REPS[n % len(IS_REPS)],
            "raised_at": now - timedelta(days=5 * n + 1),
            "channel_id": "C0MEET",
            "closed_by": FS_REPS[0] if closed else None,
            "closed_at": now - timedelta(days=n) if closed else None,
            "decision": "週次で確認する" if closed else None,
        }
        for n, (problem, impact, urgency, closed) in enumerate(ISSUES)
    ]
    async with engine.begin() as connection:
        await connection.execute(insert(CollabIssueRecord), rows)


# ----------------------------------------------------------------------------------------- floor


def floor_queries(dialect: str) -> list[tuple[TextClause, tuple[str, ...]]]:
    """What a person would write by hand for the agenda's content, each with the parameters it takes
    (datetimes bound with the store's own column type, so SQLite compares the same text)."""

    def json_text(column: str, key: str) -> str:
        return f"{column} ->> '{key}'" if dialect == "postgresql" else f"json_extract({column}, '$.{key}')"

    joins = "LEFT JOIN feedback_sheets f ON f.handoff_id = h.id LEFT JOIN outcomes o ON o.handoff_id = h.id"
    result = json_text("f.sheet", "result")
    cap = f"ORDER BY h.meeting_at, h.id LIMIT {LIST_MAX}"
    open_columns = (
        "h.id, h.company, h.is_user_id, h.fs_user_id, h.decided_by, h.status, h.created_at, h.meeting_at, "
        f"h.notice_channel_id, h.notice_ts, f.handoff_id, {result}, o.kind, COUNT(*) OVER ()"
    )
    accepted = (
        f"SELECT {open_columns} FROM handoffs h {joins} WHERE h.status = 'accepted' "
        "AND h.meeting_at >= :lookback AND (o.kind IS NULL OR o.kind NOT IN ('won', 'lost')) "
    )
    sql = [
        "SELECT h.id, h.company, h.is_user_id, h.fs_user_id, h.decided_by, h.status, h.created_at, "
        "h.memo_score, h.score_total, h.notice_channel_id, h.notice_ts, h.override_reason, "
        f"f.handoff_id, o.kind FROM handoffs h {joins} "
        "WHERE h.created_at >= :start AND h.created_at < :end ORDER BY h.created_at, h.id",
        "SELECT AVG(memo_score) FROM handoffs WHERE created_at >= :last_start AND created_at < :start",
        "SELECT id, company, is_user_id, decided_by, decided_at, return_reason, return_note, "
        "COUNT(*) OVER () FROM handoffs WHERE status = 'returned' "
        f"AND decided_at >= :start AND decided_at < :end ORDER BY decided_at, id LIMIT {LIST_MAX}",
        f"SELECT {open_columns} FROM handoffs h {joins} WHERE h.status = 'pending' "
        f"ORDER BY h.created_at, h.id LIMIT {LIST_MAX}",
        "SELECT COUNT(*) FROM handoffs WHERE status = 'pending' AND created_at <= :overdue",
        accepted + f"AND h.meeting_at <= :feedback_due AND f.handoff_id IS NULL {cap}",
        accepted + f"AND h.meeting_at <= :now AND {result} = 'on_hold' {cap}",
        accepted + f"AND h.meeting_at <= :outcome_due AND f.handoff_id IS NOT NULL "
        f"AND ({result} IS NULL OR {result} <> 'on_hold') AND o.kind IS NULL {cap}",
        f"SELECT {open_columns} FROM handoffs h {joins} WHERE h.status IN ('pending', 'accepted') "
        f"AND h.meeting_at >= :end AND h.meeting_at < :next_end {cap}",
        f"SELECT {json_text('sheet', 'next_info')} FROM feedback_sheets WHERE updated_at >= :info_start "
        f"AND updated_at < :end AND {json_text('sheet', 'next_info')} IS NOT NULL",
    ]
    names = (
        "start",
        "end",
        "last_start",
        "lookback",
        "now",
        "next_end",
        "info_start",
        "overdue",
        "feedback_due",
        "outcome_due",
    )
    queries = []
    for statement in sql:
        used = tuple(name for name in names if f":{name}" in statement)
        queries.append((text(statement).bindparams(*(bindparam(n, type_=UTCDateTime()) for n in used)), used))
    return queries


def floor_params(week: Period, now: datetime, lookback_days: int, config: AppConfig) -> dict[str, datetime]:
    rules = agenda_rules(config)
    return {
        "overdue": overdue_created_before(now, rules) or now - timedelta(days=3660),
        "feedback_due": now - timedelta(hours=rules.feedback_delay_hours),
        "outcome_due": now - timedelta(days=rules.outcome_due_days),
        "start": week.start,
        "end": week.end,
        "last_start": week.start - timedelta(days=7),
        "lookback": now - timedelta(days=lookback_days),
        "now": now,
        "next_end": week.end + timedelta(days=7),
        "info_start": week.end - timedelta(weeks=REQUESTED_INFO_WEEKS),
    }


async def run_floor(
    engine: AsyncEngine, queries: list[tuple[TextClause, tuple[str, ...]]], params: dict[str, datetime]
) -> int:
    rows = 0
    async with engine.connect() as connection:
        for query, names in queries:
            rows += len((await connection.execute(query, {name: params[name] for name in names})).all())
        await connection.rollback()
    return rows


# --------------------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class Result:
    size: int
    week: str
    week_rows: int
    agenda: list[float]
    loader: list[float]
    floor: list[float]
    peak_kib: float  # Python allocations of one agenda computation (tracemalloc)


def p50(timings: list[float]) -> float:
    return statistics.median(timings)


def p95(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=20)[18]


async def interleaved(works: list[Callable[[], Awaitable[object]]], repeat: int) -> list[list[float]]:
    """Each work once to warm up, then `repeat` rounds of all of them in turn (same load for each)."""
    for work in works:
        await work()
    timings: list[list[float]] = [[] for _ in works]
    for _ in range(repeat):
        for work, spent in zip(works, timings, strict=True):
            started = time.perf_counter()
            await work()
            spent.append((time.perf_counter() - started) * 1000)
    return timings


async def measure_week(
    engine: AsyncEngine,
    config: AppConfig,
    *,
    size: int,
    label: str,
    week: Period,
    now: datetime,
    repeat: int,
    explain: bool,
) -> Result:
    """`now` is the data's present for both weeks, as for `tossup digest weekly --period <a past day>`."""
    sessions = make_sessionmaker(engine)
    assert config.digests.weekly is not None
    lookback = config.digests.weekly.lookback_days
    queries, params = floor_queries(engine.dialect.name), floor_params(week, now, lookback, config)

    async def agenda() -> object:
        return await compute_weekly_agenda(sessions, config, week=week, now=now)

    async def loader() -> AgendaFacts:
        async with sessions() as session:
            return await load_agenda_facts(
                session=session, week=week, now=now, rules=agenda_rules(config), lookback_days=lookback
            )

    async def floor() -> object:
        return await run_floor(engine, queries, params)

    agenda_ms, loader_ms, floor_ms = await interleaved([agenda, loader, floor], repeat)
    tracemalloc.start()
    facts = await loader()
    await agenda()
    peak = tracemalloc.get_traced_memory()[1] / 1024
    tracemalloc.stop()
    if explain:
        await explain_agenda(engine, agenda)
    return Result(size, label, len(facts.this_week), agenda_ms, loader_ms, floor_ms, peak)


@dataclass(frozen=True)
class MonthResult:
    size: int
    month_rows: int
    review: list[float]  # compute_monthly_review (ms)
    charts: list[float]  # both charts, drawn in a worker thread as the bot does (ms)


MONTHLY_RESULTS: list[MonthResult] = []


async def measure_month(
    engine: AsyncEngine, config: AppConfig, *, size: int, now: datetime, repeat: int
) -> None:
    """The monthly review of the last complete month, and its two charts, as the bot builds them."""
    sessions = make_sessionmaker(engine)
    month = month_before(month_of(now.astimezone(config.tz).date(), config.tz), config.tz)
    lang = config.locale

    async def review() -> MonthlyReview:
        return await compute_monthly_review(sessions, config, month=month, now=now)

    built = await review()

    async def drawn() -> object:
        score, kpi = score_chart_data(built, lang=lang), kpi_chart_data(built, lang=lang)
        await charts.render(charts.score_trend_chart, lang=lang, **score)  # type: ignore[arg-type]
        return await charts.render(charts.kpi_chart, lang=lang, **kpi)  # type: ignore[arg-type]

    review_ms, charts_ms = await interleaved([review, drawn], max(2, repeat // 3))
    MONTHLY_RESULTS.append(MonthResult(size, built.toss_ups, review_ms, charts_ms))


def print_month_table(backend: str) -> None:
    if not MONTHLY_RESULTS:
        return
    print(f"\nmonthly review of the last complete month, {backend} (ms)")
    print("| toss-ups | month's rows | review p50 / p95 | charts p50 | total p50 |")
    print("|---:|---:|---:|---:|---:|")
    for r in MONTHLY_RESULTS:
        total = p50(r.review) + p50(r.charts)
        print(
            f"| {r.size:,} | {r.month_rows:,} | {p50(r.review):.1f} / {p95(r.review):.1f} "
            f"| {p50(r.charts):.1f} | {total:.1f} |"
        )
    worst = max(p50(r.review) + p50(r.charts) for r in MONTHLY_RESULTS)
    print(
        f"target <= 1000 ms, chart included: {'met' if worst <= 1000 else 'NOT met'} (slowest {worst:.1f} ms)"
    )


def friday_morning(week: Period, config: AppConfig) -> datetime:
    """When the schedule ("0 9 * * FRI") posts this week's agenda."""
    friday = week.first_day + timedelta(days=4)
    return datetime(friday.year, friday.month, friday.day, 9, tzinfo=config.tz).astimezone(UTC)


async def explain_agenda(engine: AsyncEngine, agenda: Callable[[], Awaitable[object]]) -> None:
    """Each statement the agenda runs, its time in the agenda, and the database's plan for it."""
    ran: list[tuple[str, Any, float]] = []
    started: list[float] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        started.append(time.perf_counter())

    def after(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        ran.append((statement, parameters, (time.perf_counter() - started.pop()) * 1000))

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)
    try:
        await agenda()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)
        event.remove(engine.sync_engine, "after_cursor_execute", after)
    postgres = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
    async with engine.connect() as connection:
        for statement, parameters, spent in ran:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            print(f"\n-- {spent:.2f} ms (execute only): {' '.join(statement.split())[:300]}")
            plan = (await connection.exec_driver_sql(prefix + statement, parameters)).all()
            for row in plan:
                print(f"   {row[0]}" if postgres else f"   {row[3]}")
        await connection.rollback()


# ----------------------------------------------------------------------------------------- main


async def postgres_database() -> tuple[str, str]:
    name = f"tossup_bench_{secrets.token_hex(6)}"
    connection = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="postgres")
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return name, f"{POSTGRES_SERVER}/{name}"


async def drop_postgres_database(name: str) -> None:
    connection = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="postgres")
    try:
        await connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        await connection.close()


async def run_size(size: int, arguments: argparse.Namespace, config: AppConfig, tmp: Path) -> list[Result]:
    database = None
    if arguments.postgres:
        database, url = await postgres_database()
    else:
        url = f"sqlite+aiosqlite:///{tmp / f'bench_{size}.db'}"
    engine = make_engine(url)
    try:
        await migrate(engine)
        now = friday_morning(week_of(datetime.now(UTC).astimezone(config.tz).date(), config.tz), config)
        span = SPAN_DAYS if arguments.per_week is None else max(28, round(size / arguments.per_week * 7))
        seeded = await seed(
            engine,
            size,
            now=now,
            config=config,
            rng=random.Random(arguments.seed),
            span_days=span,
            stale=arguments.stale_pending,
        )
        print(
            f"{size:>7} toss-ups over {span} days seeded in {seeded.seconds:4.1f} s: {seeded.shares}",
            flush=True,
        )
        middle = week_of((now - timedelta(days=span // 2)).astimezone(config.tz).date(), config.tz)
        latest = week_of(now.astimezone(config.tz).date(), config.tz)
        weeks = [
            await measure_week(
                engine,
                config,
                size=size,
                label=label,
                week=week,
                now=now,
                repeat=arguments.repeat,
                explain=arguments.explain,
            )
            for label, week in (("middle", middle), ("latest", latest))
        ]
        await measure_month(engine, config, size=size, now=now, repeat=arguments.repeat)
        return weeks
    finally:
        await engine.dispose()
        if database is not None:
            await drop_postgres_database(database)


def print_table(results: list[Result], backend: str, repeat: int) -> None:
    print(f"\nweekly agenda vs hand-written SQL floor, {backend}, {repeat} warm rounds each (ms)")
    print(
        "| toss-ups | week | week's rows | agenda p50 / p95 | loader p50 | floor p50 / p95 "
        "| agenda/floor | alloc peak |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.size:,} | {r.week} | {r.week_rows} | {p50(r.agenda):.1f} / {p95(r.agenda):.1f} "
            f"| {p50(r.loader):.1f} | {p50(r.floor):.1f} / {p95(r.floor):.1f} "
            f"| {p50(r.agenda) / p50(r.floor):.2f}x | {r.peak_kib / 1024:.1f} MiB |"
        )
    worst = max(results, key=lambda r: p50(r.agenda))
    ratio = max(p50(r.agenda) / p50(r.floor) for r in results)
    verdict = "met" if p50(worst.agenda) <= TARGET_MS and ratio <= TARGET_RATIO else "NOT met"
    print(
        f"target <= {TARGET_MS:.0f} ms and <= {TARGET_RATIO:.0f}x the floor: {verdict} "
        f"(slowest p50 {p50(worst.agenda):.1f} ms, worst ratio {ratio:.2f}x); "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB "
        "(the whole process, seeding included)"
    )


def parse_sizes(value: str) -> list[int]:
    return [int(part.strip().lower().replace("k", "000")) for part in value.split(",") if part.strip()]


async def main(arguments: argparse.Namespace) -> None:
    config = bench_config()
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in arguments.sizes:
            results += await run_size(size, arguments, config, Path(tmp))
    backend = "PostgreSQL" if arguments.postgres else "SQLite"
    print_table(results, backend, arguments.repeat)
    print_month_table(backend)
    print("reproduce: " + " ".join([".venv/bin/python -m bench.digest", *sys.argv[1:]]))


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=parse_sizes, default=[1000, 10_000, 100_000], help="e.g. 1000,10k")
    parser.add_argument("--repeat", type=int, default=30, help="warm rounds per measurement (>= 2)")
    parser.add_argument("--postgres", action="store_true", help="a temporary database on 127.0.0.1:5432")
    parser.add_argument("--explain", action="store_true", help="print each agenda query's plan")
    parser.add_argument(
        "--per-week", type=int, help="toss-ups per week instead of two years: more rows, longer history"
    )
    parser.add_argument(
        "--stale-pending", type=float, default=0.01, help="share of old toss-ups never decided"
    )
    parser.add_argument("--seed", type=int, default=8)
    arguments = parser.parse_args(argv)
    if arguments.repeat < 2:
        parser.error("--repeat must be at least 2")
    asyncio.run(main(arguments))


if __name__ == "__main__":
    cli()
