"""Prometheus metrics. Labels never carry personal data: only node ids, kinds and reasons."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
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
        self.peer_connected = Gauge(
            "ccnode_peer_connected", "Replication stream up", ["peer"], registry=r
        )
        self.equivocations = Counter(
            "ccnode_equivocation_evidence", "Equivocation evidence stored", registry=r
        )
        self.commit_seconds = Histogram(
            "ccnode_commit_seconds", "Time to commit a group", registry=r
        )


METRICS = Metrics()
