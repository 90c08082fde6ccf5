"""Replication lag per peer (entries and seconds behind) and a catch-up's lines and backlog."""

from __future__ import annotations

import logging

import pytest

from node.metrics import METRICS, ReplicationLag
from node.replication.progress import CatchupProgress


class Tick:
    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def _samples(lag: ReplicationLag) -> dict[tuple[str, str], float]:
    return {
        (family.name, sample.labels["peer"]): sample.value
        for family in lag.collect()
        for sample in family.samples
    }


def test_lag_counts_entries_a_peer_holds_that_are_not_committed_here() -> None:
    tick = Tick()
    lag = ReplicationLag(tick)
    lag.held("chengdu", 10)
    lag.peer_holds("chongqing", {"chengdu": 15, "chongqing": 4})
    assert lag.entries_behind("chongqing") == 5 + 4
    tick.now_s = 130.0
    assert _samples(lag) == {
        ("ccnode_replication_lag_entries", "chongqing"): 9,
        ("ccnode_replication_lag_seconds", "chongqing"): 30.0,
    }
    # Another link brings chengdu's entries: the lag to chongqing shrinks all the same.
    lag.held("chengdu", 15)
    lag.held("chongqing", 3)
    tick.now_s = 140.0
    assert _samples(lag)[("ccnode_replication_lag_seconds", "chongqing")] == 40.0  # still behind
    lag.held("chongqing", 4)
    assert _samples(lag) == {
        ("ccnode_replication_lag_entries", "chongqing"): 0,
        ("ccnode_replication_lag_seconds", "chongqing"): 0.0,
    }
    # Behind again: the seconds count from then, not from the first time.
    tick.now_s = 200.0
    lag.peer_holds("chongqing", {"chongqing": 6})
    tick.now_s = 205.0
    assert _samples(lag)[("ccnode_replication_lag_seconds", "chongqing")] == 5.0


def test_batches_only_raise_sizes_and_what_a_peer_says_replaces_them() -> None:
    lag = ReplicationLag(Tick())
    lag.peer_says("chongqing", {"chengdu": 4})
    lag.peer_holds("chongqing", {"chengdu": 8})  # a batch up to 8
    lag.peer_holds("chongqing", {"chengdu": 3})  # an older batch
    lag.held("chengdu", 5)
    lag.held("chengdu", 2)  # commits never lower what is held
    assert lag.entries_behind("chongqing") == 3
    # Its next Hello says what it holds: the batch that showed 8 was rejected, say.
    lag.peer_says("chongqing", {"chengdu": 5, "mianyang": 2})
    assert lag.entries_behind("chongqing") == 2
    lag.forget("chongqing")
    assert _samples(lag) == {}


def _backlog(peer: str) -> float:
    value = METRICS.registry.get_sample_value("ccnode_catchup_backlog_entries", {"peer": peer})
    assert value is not None
    return value


def test_a_catchup_logs_start_progress_and_done_with_rates(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="node.replication.progress")
    tick = Tick()
    peer = "unit-peer-a"
    progress = CatchupProgress(peer, 25_000, tick)
    assert _backlog(peer) == 25_000
    tick.now_s += 0.5
    progress.on_commit(500)  # neither 5 s nor 10,000 entries: no line
    tick.now_s += 0.5
    progress.on_commit(10_000)  # 10,500 entries since the start, 1 s: a line
    assert _backlog(peer) == 14_500
    tick.now_s += 0.2
    progress.on_commit(10_000)  # 10,000 more but within a second: no line
    tick.now_s += 5.0
    progress.on_commit(500)  # 5 s since the last line
    progress.on_caught_up(uncommitted=2)  # live now, but two batches wait for their commit
    assert not progress.done
    tick.now_s += 1.0
    progress.on_commit(4_000)
    progress.settled(uncommitted=1)
    assert not progress.done
    progress.settled(uncommitted=0)
    assert progress.done
    assert _backlog(peer) == 0
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        f"peer {peer}: catch-up started: 25000 entries behind",
        f"peer {peer}: catch-up 10500 of 25000 entries (10500 entries/s)",
        f"peer {peer}: catch-up 21000 of 25000 entries (2019 entries/s)",
        f"peer {peer}: catch-up done: 25000 entries in 7.2 s (3472 entries/s)",
    ]
    progress.end("stream ended")  # already done: nothing more is said
    assert len(caplog.records) == 4


def test_a_session_that_ends_first_says_so_and_a_stream_not_behind_says_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="node.replication.progress")
    tick = Tick()
    quiet = CatchupProgress("unit-peer-b", 0, tick)
    quiet.on_commit(3)
    quiet.end("link stopped")
    assert caplog.records == []
    progress = CatchupProgress("unit-peer-c", 100, tick)
    progress.on_commit(40)
    progress.settled(0)  # not caught up yet: not done however little waits
    tick.now_s += 2.0
    progress.end("UNAVAILABLE: connection reset")
    assert caplog.records[-1].getMessage() == (
        "peer unit-peer-c: catch-up ended before it was done (UNAVAILABLE: connection reset): "
        "40 entries in 2.0 s (20 entries/s)"
    )
    assert _backlog("unit-peer-c") == 0
