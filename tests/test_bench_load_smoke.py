"""bench/load.py runs end to end on a tiny size (CI's smoke test: it checks the script works and that no
request errs; the timings it prints are not asserted — benchmarks are not timed tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.takes(7)
def test_the_load_benchmark_runs_on_both_databases_without_errors() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bench.load", "--requests", "5", "--concurrency", "1,2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    rows = [line for line in run.stdout.splitlines() if line.startswith("tossup ")]
    # 2 kinds × 2 concurrencies × (SQLite, PostgreSQL ×2), printed as measured and again in the table
    assert len(rows) == 16, run.stdout
    assert all("errors 0 (bare 0)" in row for row in rows), run.stdout


def test_without_postgresql_the_load_benchmark_says_so_and_measures_sqlite() -> None:
    """`make bench` on a machine with no PostgreSQL: a line saying it was not measured, not a traceback
    that stops `make` before SQLite (and bench.reads) ran."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}  # CI makes an unreachable server a failure
    env["TOSSUP_TEST_POSTGRES_URL"] = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"
    run = subprocess.run(
        [sys.executable, "-m", "bench.load", "--requests", "2", "--concurrency", "1", "--only", "/tossup"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "postgresql: not measured: PostgreSQL not reachable" in run.stdout
    assert "Traceback" not in run.stderr
    assert [line for line in run.stdout.splitlines() if line.startswith("tossup SQLite")]
