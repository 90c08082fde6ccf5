"""The agency benchmark still runs end to end (--quick sizes; its figures are not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


def test_agency_benchmark_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.bench_agency", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for line in (
        "median: CheckBatch",
        "baseline: raw indexed SQL lookup",
        "ratio baseline/CheckBatch",
        "median: Follow catch-up",
        "baseline: raw store scan",
        "ratio baseline/Follow",
    ):
        assert line in result.stdout
