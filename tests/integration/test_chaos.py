"""The short chaos run (bench/chaos.py): five real node processes in a mesh, writing while
nodes are killed with SIGKILL and restarted and proxies cut, delay and black-hole streams; then
every node converges, holds every acknowledged write exactly once, and verifies."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.chaos import run_chaos

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_a_short_chaos_run_converges_with_nothing_lost_or_duplicated(
    tmp_path: Path,
) -> None:
    report = await run_chaos(tmp_path, seconds=15.0, seed=7, kill_every_s=4.0)
    print("\n".join(report.lines()))
    assert report.kills >= 2
    assert report.writes_acknowledged > 20
    assert report.problems == []
    assert report.converged
    assert report.lost == 0
    assert report.duplicated == 0
    assert report.verified
