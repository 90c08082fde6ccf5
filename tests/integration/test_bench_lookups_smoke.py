"""The lookup benchmark still runs end to end (tiny sizes; its figures are not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.pgserver import find_bindir

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "store", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_lookup_benchmark_runs(store: str) -> None:
    if store == "postgresql" and find_bindir() is None:
        pytest.skip("PostgreSQL server binaries not found (make postgres)")
    args = ["--assets", "2000", "--lookups", "10", "--sustained", "40", "--clients", "4"]
    args += ["--store", store]
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
        "target: round trip p50",
        "lookups/s sustained",
        "ms CPU per lookup on each node",
        "PostgreSQL 15 stores" if store == "postgresql" else "SQLite stores",
    ):
        assert line in result.stdout
