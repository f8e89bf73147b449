"""bench/load.py runs end to end on a tiny size (CI's smoke test: it checks the script works and that no
request errs; the timings it prints are not asserted — benchmarks are not timed tests)."""

from __future__ import annotations

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
