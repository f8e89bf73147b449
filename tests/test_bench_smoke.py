"""The benchmarks run in CI on a tiny size, as smoke tests: each completes and prints its table. Never a
timed assertion (the figures of a shared CI machine mean nothing); `make bench` measures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_bench(module: str, *arguments: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout


@pytest.mark.takes(3.5)
def test_reads_bench_smoke() -> None:
    out = run_bench("bench.reads", "--smoke")
    assert "reads vs hand-written SQL floor, SQLite" in out
    assert "| toss-ups | read | read p50 / p95 | floor p50 | read/floor | statements | ≤ 3× floor |" in out
    for read in ("kpi month, manager", "kpi year, IS rep", "App Home, FS rep", "SLA tick", "feedback tick"):
        assert f"| 300 | {read} |" in out
    assert "growth: read p50 (ms) by size" in out
    assert "ack p99 while 'kpi year, manager' runs" in out
    assert "peak RSS" in out
