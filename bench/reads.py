"""Every read a person waits for, and every minute tick, at team scale against a hand-written SQL floor.

For each size it builds a migrated database with bench.digest's generator (toss-ups over two years with
decisions, feedback sheets, outcomes; seeded in a child process so this process's memory is the reads'
alone) plus the outbox's history (a delivered notice per toss-up, the feedback request of every accepted
toss-up whose meeting is over), then times, warm and interleaved with its floor (bench.digest.interleaved):

- `/tossup kpi` for the last complete month and for the last 365 days, as a manager (the team, their own
  and every rep's KPIs: the heaviest) and as an IS rep: `bot.kpis.kpi_report`, what the command runs;
- App Home per role (IS rep, FS rep, manager): `bot.app_home.home_content` + `modals.home.build_home`;
- the SLA tick (`bot.sla_watch.queue_due_sla_steps`) and the feedback tick
  (`bot.feedback_watch.queue_due_feedback_requests`) in their steady state (the warm-up tick queues what
  is due; the timed ones find it queued), with the SQL statements each runs;

against floors: the minimum SQL a person would write for the same content over the same rows, through the
same engine with `text()`, fetched and nothing else (KPIs: aggregates in SQL, per rep with GROUP BY;
App Home: each list with LIMIT and the month's aggregate; ticks: one statement each, due rows only).
At the largest size it also measures `/tossup` ack p50 / p99 on the real bot served on loopback (fake
Slack) idle and while the heaviest read runs in a loop in the same process, and the peak RSS of the
process during the heaviest read (VmHWM, reset just before it). Targets from issue 10 with PASS / FAIL.

    .venv/bin/python -m bench.reads [--sizes 1000,10k,100k] [--postgres] [--repeat 15] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import multiprocessing
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import TextClause, bindparam, event, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.ack_latency import measure as measure_acks
from bench.ack_latency import serve, slash
from bench.digest import (
    FS_REPS,
    IS_REPS,
    bench_config,
    drop_postgres_database,
    friday_morning,
    interleaved,
    parse_sizes,
    postgres_database,
    seed,
)
from bot.app import build_bot
from bot.app_home import home_content
from bot.config import AppConfig
from bot.delivery import PostKind, feedback_reminder_post, feedback_request_post
from bot.domain.kpi import Period, month_before, month_of, parse_period, week_of
from bot.domain.sla import overdue_created_before
from bot.feedback_watch import queue_due_feedback_requests
from bot.i18n import Lang
from bot.kpis import kpi_report
from bot.settings import Settings
from bot.sla_watch import queue_due_sla_steps
from modals.home import build_home
from store.db import make_engine, make_sessionmaker, migrate
from store.models import FeedbackRecord, Handoff, OutboxMessage, UTCDateTime
from tests.conftest import IS_USER, SIGNING_SECRET
from tests.fake_slack import FakeSlack

MANAGER = "U0MGR01"
IS_REP, FS_REP = IS_REPS[0], FS_REPS[0]
SPAN_DAYS = 730
TARGET_RATIO, TARGET_MONTH_MS, TARGET_ACK, TARGET_RSS_MIB = 3.0, 200.0, 1.5, 200.0
SMOKE_SIZE = 300


def reads_config() -> AppConfig:
    """bench.digest's team with roles: 12 IS reps, 8 FS reps, one manager."""
    data = bench_config().model_dump(mode="json")
    data["roles"] = {"inside_sales": IS_REPS, "field_sales": FS_REPS, "managers": [MANAGER]}
    return AppConfig.model_validate(data)


# ------------------------------------------------------------------------------------------ data


def _seed_child(url: str, size: int, now: datetime, rng_seed: int) -> tuple[float, str]:
    """Runs in a child process: the generator's memory never counts in the reads' RSS."""

    async def run() -> tuple[float, str]:
        engine = make_engine(url)
        try:
            config = reads_config()
            seeded = await seed(
                engine,
                size,
                now=now,
                config=config,
                rng=random.Random(rng_seed),
                span_days=SPAN_DAYS,
                stale=0.01,
            )
            await seed_outbox(engine, now)
            return seeded.seconds, seeded.shares
        finally:
            await engine.dispose()

    return asyncio.run(run())


async def seed_outbox(engine: AsyncEngine, now: datetime) -> None:
    """The outbox's history: each toss-up's channel notice, each accepted toss-up's feedback request once
    due, and the reminders of the sheets still open (all delivered), so the ticks' look-ups run against a
    table of realistic size and the tick finds, as in production, only the recent toss-ups to chase."""
    feedback = reads_config().feedback
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                select(
                    Handoff.id,
                    Handoff.created_at,
                    Handoff.status,
                    Handoff.meeting_at,
                    Handoff.decided_at,
                    FeedbackRecord.handoff_id,
                )
                .outerjoin(FeedbackRecord, FeedbackRecord.handoff_id == Handoff.id)
                .order_by(Handoff.id)
            )
        ).all()
    values: list[dict[str, Any]] = []
    for handoff_id, created_at, status, meeting_at, decided_at, rated in rows:
        values.append(_outbox_row(handoff_id, PostKind.NOTICE_CHANNEL, f"notice:{handoff_id}", created_at))
        if status != "accepted" or meeting_at is None:
            continue
        due = max(meeting_at, created_at, decided_at or created_at) + timedelta(hours=feedback.delay_hours)
        if due > now:
            continue
        request = feedback_request_post(handoff_id=handoff_id)
        values.append(_outbox_row(handoff_id, request.kind, request.dedupe_key, due))
        for number in range(1, feedback.max_reminders + 1):  # an open sheet was reminded of, as the tick does
            at = due + timedelta(hours=feedback.remind_every_hours * number)
            if rated is not None or at > now:
                break
            reminder = feedback_reminder_post(handoff_id=handoff_id, number=number)
            values.append(_outbox_row(handoff_id, reminder.kind, reminder.dedupe_key, at))
    for first in range(0, len(values), 5000):
        async with engine.begin() as connection:
            await connection.execute(insert(OutboxMessage), values[first : first + 5000])
    if engine.dialect.name == "postgresql":
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))


def _outbox_row(handoff_id: int, kind: str, key: str, at: datetime) -> dict[str, Any]:
    done = at + timedelta(seconds=2)
    return {
        "handoff_id": handoff_id,
        "kind": str(kind),
        "dedupe_key": key,
        "payload": {},
        "created_at": at,
        "next_attempt_at": at,
        "attempts": 1,
        "done_at": done,
    }


# ----------------------------------------------------------------------------------------- floors


class Sql:
    """Dialect pieces a person writes by hand for SQLite or PostgreSQL."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"

    def json(self, column: str, key: str) -> str:
        return f"({column} ->> '{key}')" if self.pg else f"json_extract({column}, '$.{key}')"

    def days(self, later: str, earlier: str) -> str:
        if self.pg:
            return f"(CAST({later} AS date) - CAST({earlier} AS date))"
        return f"(julianday({later}) - julianday({earlier}))"

    def hours(self, later: str, earlier: str) -> str:
        if self.pg:
            return f"(EXTRACT(EPOCH FROM {later} - {earlier}) / 3600)"
        return f"((julianday({later}) - julianday({earlier})) * 24)"

    def number(self, expression: str) -> str:
        return f"CAST({expression} AS numeric)" if self.pg else expression


def kpi_floor(sql: Sql, *, where: str, group: str | None = None) -> str:
    """Every shared KPI of the period's toss-ups as aggregates (grouped by `group` when given)."""
    bant = " AND ".join(
        [f"{sql.json('h.memo', k)} IS NOT NULL" for k in ("budget_status", "authority", "need")]
        + [f"{sql.json('h.memo', 'timeline')} IS NOT NULL", f"{sql.json('h.memo', 'timeline')} <> 'unknown'"]
    )
    won = "o.kind = 'won'"
    columns = [
        "COUNT(*)",
        "SUM(CASE WHEN h.criteria_passed IS NOT FALSE THEN 1 ELSE 0 END)",
        "SUM(CASE WHEN h.status = 'accepted' THEN 1 ELSE 0 END)",
        "SUM(CASE WHEN h.status = 'returned' THEN 1 ELSE 0 END)",
        "SUM(CASE WHEN h.status = 'pending' THEN 1 ELSE 0 END)",
        f"SUM(CASE WHEN {bant} THEN 1 ELSE 0 END)",
        "COUNT(f.handoff_id)",
        f"SUM(CASE WHEN {won} THEN 1 ELSE 0 END)",
        "SUM(CASE WHEN o.kind = 'lost' THEN 1 ELSE 0 END)",
        f"SUM(CASE WHEN {won} THEN {sql.number(sql.json('o.outcome', 'amount'))} END)",
        f"AVG(CASE WHEN {won} THEN "
        f"{sql.days(sql.json('o.outcome', 'closed_on'), sql.json('h.memo', 'first_contact_on'))} END)",
        f"AVG(CASE WHEN h.status = 'accepted' THEN {sql.hours('h.decided_at', 'h.created_at')} END)",
        "AVG(h.score_total)",
    ]
    head = f"{group}, " if group else ""
    return (
        f"SELECT {head}{', '.join(columns)} FROM handoffs h "
        "LEFT JOIN feedback_sheets f ON f.handoff_id = h.id LEFT JOIN outcomes o ON o.handoff_id = h.id "
        f"WHERE {where}" + (f" GROUP BY {group}" if group else "")
    )


def items_floor(sql: Sql, *, where: str) -> str:
    """The average points of each score item over the period's toss-ups."""
    if sql.pg:
        return (
            "SELECT i ->> 'key', AVG(CAST(i ->> 'points' AS numeric)) FROM handoffs h "
            f"CROSS JOIN jsonb_array_elements(h.score -> 'items') i WHERE {where} GROUP BY 1"
        )
    return (
        "SELECT json_extract(i.value, '$.key'), AVG(json_extract(i.value, '$.points')) FROM handoffs h, "
        f"json_each(h.score, '$.items') i WHERE {where} GROUP BY 1"
    )


PERIOD = "h.created_at >= :start AND h.created_at < :end"
MINE = "(h.is_user_id = :user OR h.fs_user_id = :user)"
FS_OF = "(h.fs_user_id = :user OR (h.fs_user_id IS NULL AND h.decided_by = :user))"


def kpi_floors(sql: Sql, *, manager: bool) -> list[str]:
    """`/tossup kpi`: the team's, the asker's, and (managers) every rep's, IS and FS."""
    statements = [
        kpi_floor(sql, where=PERIOD),
        items_floor(sql, where=PERIOD),
        kpi_floor(sql, where=f"{PERIOD} AND {MINE}"),
    ]
    if manager:
        statements += [
            kpi_floor(sql, where=PERIOD, group="h.is_user_id"),
            kpi_floor(sql, where=f"{PERIOD} AND h.fs_user_id IS NOT NULL", group="h.fs_user_id"),
        ]
    return statements


def home_floors(sql: Sql, role: str) -> list[str]:
    """App Home: the reader's lists, and the month's KPIs their role sees."""
    statements = [
        "SELECT h.* FROM handoffs h WHERE h.is_user_id = :user "
        "ORDER BY h.created_at DESC, h.id DESC LIMIT 10",
        "SELECT h.* FROM handoffs h WHERE h.status = 'pending' AND (h.fs_user_id = :user"
        + ("" if role == "is" else " OR h.fs_user_id IS NULL")
        + ") ORDER BY h.created_at DESC, h.id DESC LIMIT 10",
        "SELECT h.*, f.handoff_id, o.kind FROM handoffs h LEFT JOIN feedback_sheets f ON f.handoff_id = h.id "
        f"LEFT JOIN outcomes o ON o.handoff_id = h.id WHERE h.status = 'accepted' AND {FS_OF} "
        "AND (f.handoff_id IS NULL OR o.handoff_id IS NULL) ORDER BY h.meeting_at DESC LIMIT 50",
    ]
    if role == "is":
        statements += [
            "SELECT f.updated_at, f.sheet FROM feedback_sheets f JOIN handoffs h ON h.id = f.handoff_id "
            "WHERE h.is_user_id = :user ORDER BY f.updated_at DESC LIMIT 20",
            kpi_floor(sql, where=f"{PERIOD} AND {MINE}"),
        ]
    if role == "manager":
        statements += [kpi_floor(sql, where=PERIOD), items_floor(sql, where=PERIOD)]
    return statements


def sla_floor() -> list[str]:
    """The overdue pending toss-ups with the SLA posts already queued for them: one statement."""
    return [
        "SELECT h.id, h.created_at, h.fs_user_id, h.notice_ts, m.dedupe_key FROM handoffs h "
        "LEFT JOIN outbox_messages m ON m.handoff_id = h.id AND m.kind IN ('sla_reminder', 'sla_escalation') "
        "WHERE h.status = 'pending' AND h.created_at <= :overdue AND h.notice_ts IS NOT NULL"
    ]


def feedback_floor() -> list[str]:
    """The accepted unrated toss-ups whose request or a reminder can still be due, with their request's
    time: one statement."""
    return [
        "SELECT h.id, h.fs_user_id, h.decided_by, h.created_at, h.decided_at, h.meeting_at, m.created_at "
        "FROM handoffs h LEFT JOIN feedback_sheets f ON f.handoff_id = h.id "
        "LEFT JOIN outbox_messages m ON m.handoff_id = h.id AND m.kind = 'feedback_request' "
        "WHERE h.status = 'accepted' AND f.handoff_id IS NULL AND h.meeting_at >= :ask_from "
        "AND h.meeting_at <= :now"
    ]


def bound(statements: list[str]) -> list[tuple[TextClause, tuple[str, ...]]]:
    times = ("start", "end", "overdue", "ask_from", "now")
    out = []
    for statement in statements:
        used = tuple(name for name in (*times, "user") if f":{name}" in statement)
        clause = text(statement).bindparams(
            *(bindparam(name, type_=UTCDateTime()) for name in used if name in times)
        )
        out.append((clause, used))
    return out


async def run_floor(
    engine: AsyncEngine, queries: list[tuple[TextClause, tuple[str, ...]]], params: dict[str, Any]
) -> int:
    rows = 0
    async with engine.connect() as connection:
        for query, names in queries:
            rows += len((await connection.execute(query, {name: params[name] for name in names})).all())
        await connection.rollback()
    return rows


# --------------------------------------------------------------------------------------- timing


def p50(timings: list[float]) -> float:
    return statistics.median(timings)


def p95(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=20)[18] if len(timings) > 1 else timings[0]


def p99(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=100)[98] if len(timings) > 1 else timings[0]


@dataclass
class Measured:
    name: str
    size: int
    read: list[float]
    floor: list[float]
    statements: int | None = None  # SQL statements one run of the read executes
    rows: int = 0  # rows the floor returns

    @property
    def ratio(self) -> float:
        return p50(self.read) / max(p50(self.floor), 1e-6)


@dataclass
class Ack:
    idle: list[float]
    busy: list[float]
    heavy_runs: list[float]


@dataclass
class Report:
    backend: str
    repeat: int
    measured: list[Measured] = field(default_factory=list)
    ack: Ack | None = None
    rss: tuple[float, float, float] | None = None  # (MiB before the heaviest read, peak during it, child's)
    heaviest: str = ""


class StatementCounter:
    """Counts the SQL statements the engine executes (a before_cursor_execute listener)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.count = 0

    def _count(self, *_: Any) -> None:
        self.count += 1

    async def around(self, work: Callable[[], Awaitable[object]]) -> int:
        self.count = 0
        event.listen(self.engine.sync_engine, "before_cursor_execute", self._count)
        try:
            await work()
        finally:
            event.remove(self.engine.sync_engine, "before_cursor_execute", self._count)
        return self.count


def periods(now: datetime, config: AppConfig) -> dict[str, tuple[str, Period]]:
    """The `/tossup kpi` arguments: the last complete month and the 365 days before this month."""
    tz = config.tz
    this_month = month_of(now.astimezone(tz).date(), tz)
    last = month_before(this_month, tz)
    first = (this_month.first_day.replace(year=this_month.first_day.year - 1)).isoformat()
    year_end = (this_month.first_day - timedelta(days=1)).isoformat()
    out = {}
    for label, argument in (("month", last.first_day.strftime("%Y-%m")), ("year", f"{first}..{year_end}")):
        period = parse_period(argument, now=now, tz=tz)
        assert period is not None, argument
        out[label] = (argument, period)
    return out


async def measure_size(
    engine: AsyncEngine, config: AppConfig, *, size: int, now: datetime, repeat: int, report: Report
) -> Callable[[], Awaitable[object]]:
    """Times every read against its floor; returns the heaviest read (the manager's year of KPIs)."""
    sessions = make_sessionmaker(engine)
    sql = Sql(engine.dialect.name)
    counter = StatementCounter(engine)
    lang = Lang(config.locale)

    def kpi(argument: str, user: str) -> Callable[[], Awaitable[object]]:
        async def read() -> object:
            return await kpi_report(
                sessions, config=config, argument=argument, user_id=user, now=now, lang=lang
            )

        return read

    def home(user: str) -> Callable[[], Awaitable[object]]:
        async def read() -> object:
            content = await home_content(sessions, config=config, user_id=user, now=now)
            return build_home(
                lang=lang,
                tz=config.tz,
                team_tz=config.tz,
                tossed_up=content.tossed_up,
                waiting=content.waiting,
                follow_ups=content.follow_ups,
                team_kpis=content.team_kpis,
                received=content.received,
                my_kpis=content.my_kpis,
                diagnosis=content.diagnosis,
            )

        return read

    async def sla_tick() -> object:
        return await queue_due_sla_steps(sessions=sessions, config=config, now=now)

    async def feedback_tick() -> object:
        return await queue_due_feedback_requests(sessions=sessions, config=config, now=now)

    chosen = periods(now, config)
    this_month = month_of(now.astimezone(config.tz).date(), config.tz)
    overdue = overdue_created_before(now, config.sla, tz=config.tz) or now
    ask_from = (
        now
        - timedelta(days=config.feedback.ask_within_days)
        - timedelta(hours=config.feedback.remind_every_hours * (config.feedback.max_reminders + 1))
    )
    base = {"overdue": overdue, "ask_from": ask_from, "now": now}

    def floor(statements: list[str], params: dict[str, Any]) -> Callable[[], Awaitable[int]]:
        queries = bound(statements)

        async def run() -> int:
            return await run_floor(engine, queries, params)

        return run

    cases: list[tuple[str, Callable[[], Awaitable[object]], Callable[[], Awaitable[int]]]] = []
    for label, (argument, period) in chosen.items():
        window = {**base, "start": period.start, "end": period.end}
        cases.append(
            (
                f"kpi {label}, manager",
                kpi(argument, MANAGER),
                floor(kpi_floors(sql, manager=True), {**window, "user": MANAGER}),
            )
        )
        cases.append(
            (
                f"kpi {label}, IS rep",
                kpi(argument, IS_REP),
                floor(kpi_floors(sql, manager=False), {**window, "user": IS_REP}),
            )
        )
    month_window = {**base, "start": this_month.start, "end": this_month.end}
    for role, user in (("is", IS_REP), ("fs", FS_REP), ("manager", MANAGER)):
        label = {"is": "IS rep", "fs": "FS rep", "manager": "manager"}[role]
        cases.append(
            (f"App Home, {label}", home(user), floor(home_floors(sql, role), {**month_window, "user": user}))
        )
    cases.append(("SLA tick", sla_tick, floor(sla_floor(), base)))
    cases.append(("feedback tick", feedback_tick, floor(feedback_floor(), base)))

    for name, read, floor_work in cases:
        read_ms, floor_ms = await interleaved([read, floor_work], repeat)
        statements = await counter.around(read)
        rows = await floor_work()
        report.measured.append(Measured(name, size, read_ms, floor_ms, statements, rows))
        print(
            f"  {name:<22} {p50(read_ms):8.1f} ms  floor {p50(floor_ms):7.1f} ms  "
            f"{p50(read_ms) / max(p50(floor_ms), 1e-6):5.2f}x  {statements} statements",
            flush=True,
        )
    report.heaviest = "kpi year, manager"
    return kpi(chosen["year"][0], MANAGER)


# ----------------------------------------------------------------------------------- RSS, acks


def _status_kib(key: str, pid: str = "self") -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(key + ":"):
                return float(line.split()[1])
    return 0.0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")  # resets VmHWM to the current RSS
    except OSError:
        return False
    return True


async def peak_rss(work: Callable[[], Awaitable[object]]) -> tuple[float, float, float]:
    """(RSS before, peak RSS during `work`, the KPI process's peak RSS) in MiB: this process's VmHWM reset
    first where Linux allows it, else sampled."""
    gc.collect()
    before = _status_kib("VmRSS")
    resettable = _reset_peak()
    samples = [before]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.005):
            samples.append(_status_kib("VmRSS"))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        await work()
    finally:
        stop.set()
        sampler.join()
    peak = max(max(samples), _status_kib("VmHWM") if resettable else 0.0)
    return before / 1024, peak / 1024, _children_peak() / 1024


def _children_peak() -> float:
    """The largest peak RSS (KiB) of this process's children: the KPI process, when a read used it."""
    peaks = [0.0]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            status = (entry / "status").read_text(encoding="ascii")
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            if fields.get("PPid", "").strip() == str(os.getpid()):
                peaks.append(float(fields.get("VmHWM", "0 kB").split()[0]))
    return max(peaks)


async def ack_during(
    url: str, config: AppConfig, heavy: Callable[[], Awaitable[object]], requests: int
) -> Ack:
    """`/tossup` ack times on the real bot idle, then while `heavy` runs again and again in this process."""
    async with FakeSlack() as slack:
        slack.users[IS_USER] = {"locale": "ja-JP"}
        settings = Settings(
            slack_bot_token="xoxb-test",
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.base_url,
            slack_response_url_origins=f"https://hooks.slack.invalid,{slack.origin}",
            database_url=url,
        )
        bot = await build_bot(settings, config)
        runner, served = await serve(bot.web_app())
        runs: list[float] = []

        async def forever() -> None:
            while True:
                started = time.perf_counter()
                await heavy()
                runs.append((time.perf_counter() - started) * 1000)

        try:
            idle = await measure_acks(served, slash, requests)
            busy_task = asyncio.create_task(forever())
            await asyncio.sleep(0.2)
            busy = await measure_acks(served, slash, requests)
            # Acks all through at least two whole reads (a year at 100k outlasts `requests` acks).
            for _ in range(50):
                if len(runs) >= 2:
                    break
                busy += await measure_acks(served, slash, max(20, requests // 5))
            busy_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await busy_task
        finally:
            await runner.cleanup()
            await bot.close()
    return Ack(idle, busy, runs)


# ----------------------------------------------------------------------------------------- main


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_report(report: Report, sizes: list[int]) -> None:
    largest = max(sizes)
    print(f"\nreads vs hand-written SQL floor, {report.backend}, {report.repeat} warm rounds each, p50 (ms)")
    print("| toss-ups | read | read p50 / p95 | floor p50 | read/floor | statements | ≤ 3× floor |")
    print("|---:|---|---:|---:|---:|---:|---|")
    for m in report.measured:
        print(
            f"| {m.size:,} | {m.name} | {p50(m.read):.1f} / {p95(m.read):.1f} | {p50(m.floor):.1f} "
            f"| {m.ratio:.2f}x | {m.statements} | {verdict(m.ratio <= TARGET_RATIO)} |"
        )
    names = list(dict.fromkeys(m.name for m in report.measured))
    print("\ngrowth: read p50 (ms) by size")
    print("| read | " + " | ".join(f"{s:,}" for s in sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    for name in names:
        by_size = {m.size: m for m in report.measured if m.name == name}
        cells = [f"{p50(by_size[s].read):.1f}" if s in by_size else "–" for s in sizes]
        print(f"| {name} | " + " | ".join(cells) + " |")

    print("\ntargets (issue 10)")
    worst = max(report.measured, key=lambda m: m.ratio)
    print(
        f"- every read and tick ≤ {TARGET_RATIO:.0f}× its floor: {verdict(worst.ratio <= TARGET_RATIO)} "
        f"(worst {worst.name} at {worst.size:,}: {worst.ratio:.2f}x)"
    )
    months = [m for m in report.measured if m.size == largest and m.name.startswith("kpi month")]
    if months:
        slowest = max(months, key=lambda m: p50(m.read))
        print(
            f"- `/tossup kpi` month ≤ {TARGET_MONTH_MS:.0f} ms at {largest:,}: "
            f"{verdict(p50(slowest.read) <= TARGET_MONTH_MS)} ({slowest.name}: {p50(slowest.read):.1f} ms)"
        )
    ticks = [m for m in report.measured if m.name.endswith("tick")]
    if ticks:
        growth = {
            name: [m.statements for m in ticks if m.name == name]
            for name in dict.fromkeys(m.name for m in ticks)
        }
        flat = all(max(c) - min(c) <= 3 for c in growth.values() if c)  # type: ignore[type-var]
        print(
            f"- ticks: no per-row statements (count flat across sizes): {verdict(flat)} "
            + ", ".join(f"{name} {counts}" for name, counts in growth.items())
        )
    if report.ack is not None:
        a = report.ack
        ratio = p99(a.busy) / p99(a.idle)
        print(
            f"- `/tossup` ack p99 while '{report.heaviest}' runs ≤ {TARGET_ACK}× idle: "
            f"{verdict(ratio <= TARGET_ACK)} "
            f"(idle p50 {p50(a.idle):.1f} / p99 {p99(a.idle):.1f} ms, busy p50 {p50(a.busy):.1f} / "
            f"p99 {p99(a.busy):.1f} ms = {ratio:.2f}x; the read ran {len(a.heavy_runs)} times meanwhile, "
            f"median {p50(a.heavy_runs or [0.0]):.0f} ms)"
        )
    if report.rss is not None:
        before, peak, child = report.rss
        print(
            f"- peak RSS ≤ {TARGET_RSS_MIB:.0f} MB at {largest:,} during '{report.heaviest}': "
            f"{verdict(max(peak, child) <= TARGET_RSS_MIB)} (the bot's process: {peak:.0f} MiB peak, "
            f"{before:.0f} MiB before it; the KPI process: {child:.0f} MiB peak; bench process max "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)"
        )


async def run_size(
    size: int, arguments: argparse.Namespace, config: AppConfig, tmp: Path, report: Report, *, last: bool
) -> None:
    database = None
    if arguments.postgres:
        database, url = await postgres_database()
    else:
        url = f"sqlite+aiosqlite:///{tmp / f'reads_{size}.db'}"
    engine = make_engine(url)
    try:
        await migrate(engine)
        await engine.dispose()
        now = friday_morning(week_of(datetime.now(UTC).astimezone(config.tz).date(), config.tz), config)
        context = multiprocessing.get_context("spawn")
        with context.Pool(1) as pool:
            seconds, shares = pool.apply(_seed_child, (url, size, now, arguments.seed))
        print(f"{size:>7} toss-ups over {SPAN_DAYS} days seeded in {seconds:4.1f} s: {shares}", flush=True)
        engine = make_engine(url)
        heavy = await measure_size(engine, config, size=size, now=now, repeat=arguments.repeat, report=report)
        if last:
            report.rss = await peak_rss(heavy)
            await engine.dispose()
            report.ack = await ack_during(url, config, heavy_on(url, config, now), arguments.requests)
    finally:
        await engine.dispose()
        if database is not None:
            await drop_postgres_database(database)


def heavy_on(url: str, config: AppConfig, now: datetime) -> Callable[[], Awaitable[object]]:
    """The heaviest read on its own engine, as the bot runs it after acking `/tossup kpi <year>`."""
    chosen = periods(now, config)
    state: dict[str, Any] = {}

    async def read() -> object:
        if "sessions" not in state:
            state["sessions"] = make_sessionmaker(make_engine(url))
        return await kpi_report(
            state["sessions"],
            config=config,
            argument=chosen["year"][0],
            user_id=MANAGER,
            now=now,
            lang=Lang(config.locale),
        )

    return read


async def main(arguments: argparse.Namespace) -> None:
    config = reads_config()
    report = Report("PostgreSQL" if arguments.postgres else "SQLite", arguments.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        for size in arguments.sizes:
            await run_size(size, arguments, config, Path(tmp), report, last=size == arguments.sizes[-1])
    print_report(report, arguments.sizes)
    print("reproduce: " + " ".join([".venv/bin/python -m bench.reads", *sys.argv[1:]]))


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=parse_sizes, default=[1000, 10_000, 100_000], help="e.g. 1000,10k")
    parser.add_argument("--repeat", type=int, default=15, help="warm rounds per measurement (>= 2)")
    parser.add_argument("--requests", type=int, default=200, help="/tossup acks timed idle and busy")
    parser.add_argument("--postgres", action="store_true", help="a temporary database on 127.0.0.1:5432")
    parser.add_argument("--smoke", action="store_true", help=f"CI: {SMOKE_SIZE} toss-ups, 2 rounds, 20 acks")
    parser.add_argument("--seed", type=int, default=8)
    arguments = parser.parse_args(argv)
    if arguments.smoke:
        arguments.sizes, arguments.repeat, arguments.requests = [SMOKE_SIZE], 2, 20
    if arguments.repeat < 2:
        parser.error("--repeat must be at least 2")
    arguments.sizes = sorted(arguments.sizes)
    asyncio.run(main(arguments))


if __name__ == "__main__":
    cli()
