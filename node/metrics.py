"""Prometheus metrics. Labels never carry personal data: only node ids, kinds and reasons.

Every metric is listed in docs/operations.md ("Metrics"). Replication lag is computed when
scraped (``ReplicationLag``), from what each peer said it holds and what this node committed,
so it stays true when another link commits the entries a peer is ahead by.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

# No `<counter>_created` series: the process start time (process_start_time_seconds) dates
# every counter of the node, and the extra series only double what an admin scans.
disable_created_metrics()  # type: ignore[no-untyped-call]

# Lookups wait for a peer's reply over replication: from well under a second to minutes.
LOOKUP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
REQUESTER, TARGET = "requester", "target"


class OptionalGauge(Collector):
    """An unlabelled gauge read when scraped from a function, exposed only while that
    returns a value (a timestamp that may not exist: 0 would read as "long past")."""

    def __init__(self, name: str, documentation: str) -> None:
        self._name = name
        self._documentation = documentation
        self._read: Callable[[], float | None] = lambda: None

    def set_function(self, read: Callable[[], float | None]) -> None:
        self._read = read

    def collect(self) -> Iterable[Metric]:
        value = self._read()
        if value is not None:
            yield GaugeMetricFamily(self._name, self._documentation, value=value)


class ReplicationLag(Collector):
    """Per peer: entries the peer said it holds that this node has not committed, and for
    how long this node has been behind it (0 while it is not).

    Updated on the event loop (``peer_holds``, ``held``), read by the scrape thread: a lock
    keeps the two consistent. A disconnected peer keeps the sizes it last announced.
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._monotonic = monotonic
        self._held: dict[str, int] = {}  # origin -> size committed here
        self._peers: dict[str, dict[str, int]] = {}  # peer -> origin -> size it holds
        self._behind_since: dict[str, float] = {}  # peer -> monotonic time it fell behind

    def held(self, origin: str, size: int) -> None:
        """This node committed ``origin``'s log up to ``size``."""
        with self._lock:
            if size <= self._held.get(origin, 0):
                return
            self._held[origin] = size
            self._refresh([peer for peer, sizes in self._peers.items() if origin in sizes])

    def peer_says(self, peer: str, sizes: dict[str, int]) -> None:
        """``peer`` said (Hello, caught-up) it holds these sizes: they replace what it said
        before (a size it showed by a batch that was then rejected does not stay)."""
        with self._lock:
            self._peers[peer] = dict(sizes)
            self._refresh([peer])

    def peer_holds(self, peer: str, sizes: dict[str, int]) -> None:
        """``peer`` showed (a batch) it holds at least these sizes."""
        with self._lock:
            known = self._peers.setdefault(peer, {})
            for origin, size in sizes.items():
                if size > known.get(origin, 0):
                    known[origin] = size
            self._refresh([peer])

    def forget(self, peer: str) -> None:
        """The peer was removed from this node's peers."""
        with self._lock:
            self._peers.pop(peer, None)
            self._behind_since.pop(peer, None)

    def entries_behind(self, peer: str) -> int:
        with self._lock:
            return self._entries_behind(peer)

    def _entries_behind(self, peer: str) -> int:
        sizes = self._peers.get(peer, {})
        return sum(max(0, size - self._held.get(o, 0)) for o, size in sizes.items())

    def _refresh(self, peers: list[str]) -> None:
        now = self._monotonic()
        for peer in peers:
            if self._entries_behind(peer) == 0:
                self._behind_since.pop(peer, None)
            else:
                self._behind_since.setdefault(peer, now)

    def collect(self) -> Iterable[Metric]:
        entries = GaugeMetricFamily(
            "ccnode_replication_lag_entries",
            "Entries a peer holds that this node has not committed",
            labels=["peer"],
        )
        seconds = GaugeMetricFamily(
            "ccnode_replication_lag_seconds",
            "How long this node has been behind a peer (0 while it is not)",
            labels=["peer"],
        )
        with self._lock:
            now = self._monotonic()
            for peer in sorted(self._peers):
                entries.add_metric([peer], self._entries_behind(peer))
                since = self._behind_since.get(peer)
                seconds.add_metric([peer], 0.0 if since is None else now - since)
        yield entries
        yield seconds


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        # The process (CPU, memory, open files, start time), the Python platform and the
        # garbage collector, as every Prometheus client exposes them.
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.appended = Counter(
            "ccnode_appended_entries", "Entries appended to own log", registry=r
        )
        self.applied = Counter(
            "ccnode_applied_entries", "Entries verified and applied", ["origin"], registry=r
        )
        self.rejected = Counter(
            "ccnode_rejected_batches", "Batches rejected", ["reason"], registry=r
        )
        self.ignored = Counter(
            "ccnode_ignored_entries",
            "Verified entries of a peer's batch the folds ignored",
            ["origin", "reason"],
            registry=r,
        )
        self.received_entries = Counter(
            "ccnode_received_entries",
            "Entries received in peers' batches, applied or skipped as already held",
            ["peer"],
            registry=r,
        )
        self.received_bytes = Counter(
            "ccnode_received_bytes",
            "Bytes of replication stream messages received",
            ["peer"],
            registry=r,
        )
        self.refusals = Counter("ccnode_refusals", "Calls refused", ["reason"], registry=r)
        self.log_size = Gauge("ccnode_log_size", "Verified log size", ["origin"], registry=r)
        self.checkpoint_time = Gauge(
            "ccnode_checkpoint_timestamp_seconds",
            "Origin's clock time of the last entry under the newest checkpoint held of a log",
            ["origin"],
            registry=r,
        )
        self.peer_connected = Gauge(
            "ccnode_peer_connected", "Replication stream up", ["peer"], registry=r
        )
        self.catchup_backlog = Gauge(
            "ccnode_catchup_backlog_entries",
            "Entries left to receive in a replication stream's catch-up (0 once live)",
            ["peer"],
            registry=r,
        )
        self.equivocations = Counter(
            "ccnode_equivocation_evidence", "Equivocation evidence stored", registry=r
        )
        # The public disclosure page (node/public/): every query, by outcome only ("listed",
        # "not_listed", "refused", "rate_limited"); what was asked is never recorded.
        self.public_queries = Counter(
            "ccnode_public_queries",
            "Queries of the public disclosure page",
            ["outcome"],
            registry=r,
        )
        self.purged_payloads = Counter(
            "ccnode_purged_payloads",
            "Payloads of closed matters purged by a retention rule",
            ["rule"],
            registry=r,
        )
        self.commit_seconds = Histogram(
            "ccnode_commit_seconds", "Time to commit a group", registry=r
        )
        self.lookup_seconds = Histogram(
            "ccnode_lookup_seconds",
            "Asset lookups: from request to reply, by this node's role and the outcome",
            ["role", "outcome"],
            buckets=LOOKUP_BUCKETS,
            registry=r,
        )
        self.cert_expiry = Gauge(
            "ccnode_certificate_expiry_timestamp_seconds",
            "notAfter of the node's certificates (tls, log) and of its earliest-expiring CA",
            ["cert"],
            registry=r,
        )
        self.crl_next_update = OptionalGauge(
            "ccnode_crl_next_update_timestamp_seconds",
            "Earliest nextUpdate of the CRLs the node holds (absent without CRLs)",
        )
        r.register(self.crl_next_update)
        self.lag = ReplicationLag()
        r.register(self.lag)

    def log_held(self, origin: str, size: int) -> None:
        """This node committed ``origin``'s log up to ``size`` (own log or a peer's)."""
        self.log_size.labels(origin=origin).set(size)
        self.lag.held(origin, size)


METRICS = Metrics()
