"""When the lookup responder wakes: only for applied batches that added a lookup request (a
catch-up applies thousands of batches of other kinds; a requester receives batches of answers
to its own requests), and for any batch after a failed run."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from ccnode.v1 import log_pb2
from node.businesses.lookups.responder import LookupResponder
from node.clock import FakeClock
from node.config import Limits
from node.replication.apply import Applied, AppliedFeed
from node.store.memory import MemoryStore
from node.store.runner import Db
from sync.folds import blacklist, lookups


class _Unused:
    """A port these tests never reach: only the responder's wake-ups are exercised."""

    async def submit(self, drafts: object, actor: str) -> object:
        raise AssertionError("not used")

    async def find(self, owner_id: str, categories: object) -> list[object]:
        raise AssertionError("not used")


def _responder() -> LookupResponder:
    unused = _Unused()
    return LookupResponder(
        db=Db(MemoryStore()),
        appender=unused,  # type: ignore[arg-type]
        applied=AppliedFeed(),
        source=unused,  # type: ignore[arg-type]
        node_id="chongqing",
        limits=Limits(),
        clock=FakeClock(),
    )


def _applied(*tables: str, kinds: frozenset[int] = frozenset()) -> Applied:
    if lookups.TABLE in tables and not kinds:
        kinds = frozenset({log_pb2.LOOKUP_REQUESTED})
    return Applied("chengdu", 0, 256, 256, 0, frozenset(tables), kinds)


def test_only_batches_that_added_a_request_wake_the_responder() -> None:
    responder = _responder()
    responder._on_applied(_applied(blacklist.TABLE, kinds=frozenset({log_pb2.BLACKLIST_LISTED})))
    responder._on_applied(_applied())
    answers = frozenset({log_pb2.LOOKUP_ANSWERED, log_pb2.LOOKUP_DENIED})
    responder._on_applied(_applied(lookups.TABLE, kinds=answers))  # replies to our requests
    assert not responder._wake.is_set()
    responder._on_applied(_applied(blacklist.TABLE, lookups.TABLE))
    assert responder._wake.is_set()


async def test_after_a_failed_run_any_batch_wakes_the_retry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(
        logging.CRITICAL, logger="node.businesses.lookups.responder"
    )  # the failure is staged
    responder = _responder()
    runs: list[str] = []

    async def run_once() -> int:
        runs.append("run")
        if len(runs) == 1:
            raise RuntimeError("store unavailable")
        return 0

    responder.run_once = run_once  # type: ignore[method-assign]
    loop_task = asyncio.create_task(responder._loop())
    try:
        responder._on_applied(_applied(lookups.TABLE))
        await _settle()
        assert runs == ["run"]  # failed
        responder._on_applied(_applied(blacklist.TABLE))  # unrelated, but retries
        await _settle()
        assert runs == ["run", "run"]  # succeeded
        responder._on_applied(_applied(blacklist.TABLE))  # unrelated again: no run
        await _settle()
        assert runs == ["run", "run"]
    finally:
        loop_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop_task


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)
