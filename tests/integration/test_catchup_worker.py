"""A large catch-up end to end: B subscribes to A, which holds thousands of listings, and
verifies and folds them in its helper process (node.replication.worker) — or, with the helper
turned off, in threads — and ends with A's log and rows either way, leaving no process."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from bench.common import build_log
from ccnode.v1 import admin_pb2
from node.replication.worker import PrepareWorker
from node.runtime.node import Node
from node.store.base import RowQuery
from tests.integration.harness import Federation, admin, eventually

pytestmark = pytest.mark.integration

A, B = "chengdu", "chongqing"
ENTRIES = 6_000
BACKLOG_THRESHOLD = 1_000
CATCH_UP_TIMEOUT_S = 120.0


def _helper_pids() -> list[int]:
    """Live node.replication.worker processes whose parent is this test process."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue  # exited meanwhile
        if parent == os.getpid() and b"node.replication.worker" in cmdline:
            pids.append(int(stat.parent.name))
    return pids


def _running(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


async def _start_origin(federation: Federation) -> Node:
    """A with ENTRIES listings, built into its store before it starts."""
    home = federation.home(A).home
    await asyncio.to_thread(build_log, home, A, ENTRIES, progress=False)
    return await federation.start(A)


async def _start_receiver(federation: Federation, backlog_threshold: int) -> Node:
    config = federation.home(B)
    config.limits.catchup_worker_backlog = backlog_threshold
    config.save()
    node = await federation.start(B)
    assert node.config.limits.catchup_worker_backlog == backlog_threshold
    return node


async def _view(node: Node) -> dict[str, tuple[int, bytes]]:
    status = await admin(node).SyncStatus(admin_pb2.SyncStatusRequest())
    return {o.origin: (o.size, o.root) for o in status.origins}


async def _listed(node: Node) -> int:
    reply = await admin(node).BlacklistSearch(admin_pb2.BlacklistSearchRequest(origin=A, limit=1))
    return int(reply.total)


def _rows(node: Node) -> list[dict[str, Any]]:
    rows, total = node.parts.db.store.query_rows(RowQuery("blacklist", limit=ENTRIES + 1))
    assert total == len(rows)
    return rows


async def _caught_up(a: Node, b: Node) -> None:
    async def same_log() -> bool:
        return (await _view(b)).get(A) == (await _view(a))[A]

    await eventually(same_log, timeout_s=CATCH_UP_TIMEOUT_S, interval_s=0.05)
    assert (await _view(a))[A][0] == ENTRIES
    assert await _listed(b) == await _listed(a) == ENTRIES
    assert await asyncio.to_thread(_rows, b) == await asyncio.to_thread(_rows, a)
    report = await admin(b).Verify(admin_pb2.VerifyRequest())
    assert report.ok, list(report.problems)
    assert report.verified_sizes[A] == ENTRIES


async def test_a_large_catch_up_runs_in_the_helper_process(federation: Federation) -> None:
    a = await _start_origin(federation)
    b = await _start_receiver(federation, BACKLOG_THRESHOLD)
    # Count the batches the stream hands to the helper process.
    handed: list[int] = []
    workers = b.parts.workers
    catchup_worker = workers.current

    def recording() -> PrepareWorker | None:
        worker = catchup_worker()
        if worker is not None and not hasattr(worker, "_counted"):
            submit = worker.prepare

            async def counted(*args: Any) -> asyncio.Future[Any]:
                handed.append(1)
                return await submit(*args)

            worker.prepare = counted  # type: ignore[method-assign, assignment]
            worker._counted = True  # type: ignore[attr-defined]
        return worker

    workers.current = recording  # type: ignore[method-assign]
    # The helper starts in the background on the first call; started before the session so
    # that the catch-up uses it whatever the speed of this machine.
    assert workers.current() is None

    async def helper_running() -> bool:
        return workers._worker is not None and workers._worker.alive

    await eventually(helper_running, timeout_s=30.0)
    helpers = _helper_pids()
    assert workers._worker is not None and workers._worker._proc is not None
    assert helpers == [workers._worker._proc.pid]

    await federation.peer(B, A)
    await _caught_up(a, b)

    assert len(handed) >= ENTRIES // b.config.limits.batch_entries_max  # every catch-up batch
    assert b.parts.links.status(A).last_error == ""
    await federation.stop(B)
    assert workers._worker is None
    assert _helper_pids() == []
    assert not _running(helpers[0])


async def test_without_the_helper_the_catch_up_ends_the_same(federation: Federation) -> None:
    a = await _start_origin(federation)
    b = await _start_receiver(federation, 0)
    await federation.peer(B, A)
    await _caught_up(a, b)
    workers = b.parts.workers
    assert workers.current() is None
    assert workers._worker is None and workers._starting is None
    assert _helper_pids() == []
    await federation.stop(B)
    assert _helper_pids() == []
