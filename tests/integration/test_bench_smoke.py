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


def test_mesh_benchmark_runs() -> None:
    out = run_bench("bench.bench_mesh", "--quick", timeout_s=600)
    for topology in ("mesh", "chain", "star"):
        assert f"{topology}: import duplication" in out
    assert "every origin (before)" in out
    assert "baseline: no-op admin Status round trip" in out
    assert "targets (full mesh)" in out
