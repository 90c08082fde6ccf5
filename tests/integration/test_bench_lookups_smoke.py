"""The lookup benchmark still runs end to end (tiny sizes; its figures are not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


def test_lookup_benchmark_runs() -> None:
    args = ["--assets", "2000", "--lookups", "10", "--sustained", "40", "--clients", "4"]
    result = subprocess.run(
        [sys.executable, "-m", "bench.bench_lookups", *args, "--runs", "1", "--warmup", "2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for line in (
        "baseline: no-op admin Status on A",
        "baseline: B's registry query alone",
        "lookup round trip, one at a time",
        "sustained:",
        "node CPU per lookup under load",
    ):
        assert line in result.stdout
