"""The node benchmarks still run end to end (tiny sizes; their figures are not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


def run_bench(*args: str, timeout_s: float = 180) -> str:
    result = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_catch_up_benchmark_runs(tmp_path: Path) -> None:
    out = run_bench(
        "bench.bench_catchup", "--entries", "2000", "--runs", "1", "--results", str(tmp_path)
    )
    assert "node: catch-up, verified, stored and folded" in out
    assert "floor: stream + insert" in out
    assert "catch-up rate:" in out
    assert "B peak RSS" in out
    assert "PostgreSQL" in out  # measured, or said to be skipped


def test_propagation_benchmark_runs() -> None:
    out = run_bench("bench.bench_propagation", "--appends", "20", "--warmup", "2")
    assert "propagation: Submit on A -> visible on B" in out
    assert "baseline: no-op admin Status round trip on B" in out


def test_catch_up_benchmark_runs_on_postgresql(tmp_path: Path, pg_server: object) -> None:
    # pg_server (tests/conftest.py): skips without server binaries, fails instead under CI.
    out = run_bench(
        "bench.bench_catchup", "--entries", "2000", "--runs", "1", "--results", str(tmp_path),
        "--store", "postgresql", "--no-postgres",
    )  # fmt: skip
    assert "B on PostgreSQL 15" in out
    assert "floor: executemany into same-shaped PostgreSQL table" in out
    assert "catch-up rate:" in out


def test_growth_benchmark_runs(tmp_path: Path) -> None:
    out = run_bench(
        "bench.bench_growth", "--sizes", "500,1000", "--runs", "1", "--results", str(tmp_path)
    )
    for label in ("catch-up entries/s", "store bytes/entry", "check p50 ms", "proof p50 ms"):
        assert label in out
    assert "from 500 to 1,000 entries" in out


def test_retention_benchmark_runs() -> None:
    out = run_bench("bench.bench_retention", "--listings", "200", "--runs", "1")
    assert "RetentionPurge.run_once" in out
    assert "baseline one UPDATE" in out
    assert "ratio run_once / baseline" in out


def test_mesh_benchmark_runs() -> None:
    out = run_bench("bench.bench_mesh", "--quick", timeout_s=600)
    for topology in ("mesh", "chain", "star"):
        assert f"{topology}: import duplication" in out
    assert "every origin (before)" in out
    assert "baseline: no-op admin Status round trip" in out
    assert "targets (full mesh)" in out
