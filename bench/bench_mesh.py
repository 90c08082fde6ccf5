"""Mesh benchmark: how many copies of each entry reach a node, and how fast a listing is on all.

    .venv/bin/python -m bench.bench_mesh [--nodes 8] [--runs 3] [--appends 80] [--import 2000]
    .venv/bin/python -m bench.bench_mesh --quick      # a smoke run: 4 nodes, 1 run, tiny sizes

``--nodes`` nodes run as separate processes (``python -m node``) on 127.0.0.1, peered over
mutual TLS in three topologies: a **full mesh** (every node peers with every other, both
ways), a **chain** (node i with i-1 and i+1) and a **star** (one hub, every other node with
the hub). Each topology runs twice in the same run, with fresh nodes: with the selective
subscription (each origin taken from one peer: node.replication.routes) and with the
behaviour before it (``subscribe_selectively = false``: every link streams every origin its
peer holds), the baseline.

Per run: a warm-up append on every node (links, keys and routes settle), then
``--appends`` single-listing appends, round robin over the nodes, one after another; each is
timed from just before its Submit until every other node's admin API returns the listing
(BlacklistGet by subject, polled every ~1 ms by one thread per node); then node 0 imports
``--import`` listings (Submit calls of 250 drafts) and the run waits until every node holds
them. From the nodes' Prometheus metrics, read before and after each phase:

* **duplication factor** = entries received in peers' batches / entries stored from peers
  (``ccnode_received_entries_total`` / ``ccnode_applied_entries_total``), summed over nodes;
  1.0 means each entry crossed into each node once;
* **bytes per node**: replication stream bytes received (``ccnode_received_bytes_total``),
  mean over nodes: in total for the import (KiB), and per entry stored on that node;
* **CPU per append**: user + system CPU of every node process (and catch-up helper) during
  the appends, from ``/proc/<pid>/stat``, divided by ``--appends`` (it includes answering
  the visibility polls: compare runs with the same ``--poll-ms``).

The same-run baseline for the latency is a no-op admin Status round trip. Figures are the
median over ``--runs`` runs. Targets (full mesh, selective): duplication factor <= 1.3, p50
visibility on all nodes <= 50 ms.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from prometheus_client.parser import text_string_to_metric_families

from bench.common import (
    ADMIN_TIMEOUT_S,
    AdminClient,
    NodeProcess,
    Pki,
    child_pids,
    cpu_seconds,
    listing_draft,
    median,
    percentile,
    wait_until,
)
from ccnode.v1 import admin_pb2
from node.config import NodeConfig


@dataclass
class _Poll:
    interval_s: float = 0.001  # each of the polling threads (one per node) waits this long


POLL = _Poll()
VISIBLE_TIMEOUT_S = 60.0
IMPORT_CALL_DRAFTS = 250
START_ATTEMPTS = 3
TARGET_DUPLICATION = 1.3
TARGET_P50_S = 0.050
TOPOLOGIES = ("mesh", "chain", "star")
MODES = ("selective", "every origin (before)")
METRIC_NAMES = (
    "ccnode_received_entries_total",
    "ccnode_applied_entries_total",
    "ccnode_received_bytes_total",
)


def edges(topology: str, n: int) -> list[tuple[int, int]]:
    """(subscriber, server) pairs: every link is added both ways."""
    if topology == "mesh":
        pairs = [(a, b) for a in range(n) for b in range(n) if a < b]
    elif topology == "chain":
        pairs = [(i, i + 1) for i in range(n - 1)]
    elif topology == "star":
        pairs = [(0, i) for i in range(1, n)]
    else:
        raise ValueError(f"topology: one of {', '.join(TOPOLOGIES)}")
    return [p for a, b in pairs for p in ((a, b), (b, a))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Phase:
    """What one phase moved, from the metrics of every node."""

    received_entries: float = 0.0
    applied_entries: float = 0.0
    bytes_per_node: list[float] = field(default_factory=list)
    stored_per_node: list[float] = field(default_factory=list)

    @property
    def duplication(self) -> float:
        return self.received_entries / self.applied_entries if self.applied_entries else 0.0

    @property
    def kib_per_node(self) -> float:
        return (
            sum(self.bytes_per_node) / len(self.bytes_per_node) / 1024
            if self.bytes_per_node
            else 0.0
        )

    @property
    def bytes_per_entry(self) -> float:
        per = [b / s for b, s in zip(self.bytes_per_node, self.stored_per_node, strict=True) if s]
        return sum(per) / len(per) if per else 0.0


@dataclass
class RunResult:
    latencies_s: list[float]
    statuses_s: list[float]
    live: Phase
    bulk: Phase
    cpu_per_append_s: float = 0.0  # CPU of every node process (and helper), per live append


class Cluster:
    """``n`` node processes in one topology, all with the same subscription mode."""

    def __init__(self, root: Path, pki: Pki, n: int, *, selective: bool) -> None:
        self.root = root
        self.ids = [f"n{i}" for i in range(n)]
        self.procs: list[NodeProcess] = []
        self.clients: list[AdminClient] = []
        self.metrics_ports: list[int] = []
        for node_id in self.ids:
            home = root / node_id
            pki.home(home, node_id, subscribe_selectively=selective, backoff_max_s=2.0)
            self.metrics_ports.append(0)
            self.procs.append(NodeProcess(home, extensions=False))

    def _start_node(self, i: int) -> None:
        """Start node ``i`` with its metrics on a free port (again on another port if that
        one was taken meanwhile)."""
        for attempt in range(START_ATTEMPTS):
            home = self.procs[i].home
            config = NodeConfig.load(home)
            self.metrics_ports[i] = free_port()
            config.metrics_listen = f"127.0.0.1:{self.metrics_ports[i]}"
            config.save()
            try:
                self.procs[i].start()
                return
            except RuntimeError as exc:
                if "Address already in use" not in str(exc) or attempt == START_ATTEMPTS - 1:
                    raise

    def start(self, topology: str) -> None:
        with ThreadPoolExecutor(len(self.procs)) as pool:
            list(pool.map(self._start_node, range(len(self.procs))))
        self.clients = [AdminClient(p.home) for p in self.procs]
        for a, b in edges(topology, len(self.ids)):
            self.clients[a].add_peer(self.ids[b], self.procs[b].port)

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        with ThreadPoolExecutor(len(self.procs)) as pool:
            list(pool.map(lambda p: p.stop(), self.procs))

    def cpu_s(self) -> float:
        """CPU seconds the node processes (and their catch-up helpers) have used so far."""
        total = 0.0
        for proc in self.procs:
            for pid in (proc.pid, *child_pids(proc.pid)):
                try:
                    total += cpu_seconds(pid)
                except OSError:
                    continue  # a helper that exited meanwhile
        return total

    def metrics(self) -> list[dict[str, float]]:
        """Per node, the sums of METRIC_NAMES."""
        out = []
        for port in self.metrics_ports:
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
            sums = dict.fromkeys(METRIC_NAMES, 0.0)
            for family in text_string_to_metric_families(text.decode()):
                for sample in family.samples:
                    if sample.name in sums:
                        sums[sample.name] += sample.value
            out.append(sums)
        return out


def phase(before: list[dict[str, float]], after: list[dict[str, float]]) -> Phase:
    out = Phase()
    for b, a in zip(before, after, strict=True):
        diff = {k: a[k] - b[k] for k in METRIC_NAMES}
        out.received_entries += diff["ccnode_received_entries_total"]
        out.applied_entries += diff["ccnode_applied_entries_total"]
        out.bytes_per_node.append(diff["ccnode_received_bytes_total"])
        out.stored_per_node.append(diff["ccnode_applied_entries_total"])
    return out


def visible(client: AdminClient, subject: str) -> bool:
    try:
        client.stub.BlacklistGet(
            admin_pb2.BlacklistGetRequest(subject=subject), timeout=ADMIN_TIMEOUT_S
        )
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return False
        raise
    return True


def wait_visible(client: AdminClient, subject: str, deadline_s: float) -> float:
    while not visible(client, subject):
        if time.perf_counter() > deadline_s:
            raise TimeoutError("listing did not reach every node")
        time.sleep(POLL.interval_s)
    return time.perf_counter()


def append_everywhere(cluster: Cluster, pool: ThreadPoolExecutor, origin: int, seq: int) -> float:
    """Seconds from just before ``origin``'s Submit until every other node returns it."""
    clients = cluster.clients
    request = admin_pb2.SubmitRequest(drafts=[listing_draft(seq)], actor="bench")
    started_s = time.perf_counter()
    subject = clients[origin].stub.Submit(request, timeout=ADMIN_TIMEOUT_S).subjects[0]
    deadline_s = started_s + VISIBLE_TIMEOUT_S
    others = [c for i, c in enumerate(clients) if i != origin]
    seen = list(pool.map(lambda c: wait_visible(c, subject, deadline_s), others))
    return max(seen) - started_s


def import_on(cluster: Cluster, origin: int, count: int, first_seq: int) -> None:
    client = cluster.clients[origin]
    for start in range(0, count, IMPORT_CALL_DRAFTS):
        drafts = [
            listing_draft(first_seq + i)
            for i in range(start, min(count, start + IMPORT_CALL_DRAFTS))
        ]
        client.stub.Submit(admin_pb2.SubmitRequest(drafts=drafts, actor="bench"), timeout=120)
    size, _ = client.origin_view(cluster.ids[origin])
    for other in cluster.clients:
        wait_until(lambda o=other: o.origin_view(cluster.ids[origin])[0] >= size, 120, 0.02)


def status_round_trips(client: AdminClient, count: int) -> list[float]:
    out = []
    for _ in range(count):
        started_s = time.perf_counter()
        client.stub.Status(admin_pb2.StatusRequest(), timeout=ADMIN_TIMEOUT_S)
        out.append(time.perf_counter() - started_s)
    return out


def run_once(
    work: Path, pki: Pki, topology: str, *, nodes: int, selective: bool, appends: int, bulk: int
) -> RunResult:
    root = Path(tempfile.mkdtemp(prefix=f"{topology}-", dir=work))
    cluster = Cluster(root, pki, nodes, selective=selective)
    try:
        cluster.start(topology)
        with ThreadPoolExecutor(nodes) as pool:
            seq = 0
            for origin in range(nodes):  # warm-up: links, origin keys and routes settle
                append_everywhere(cluster, pool, origin, seq)
                seq += 1
            time.sleep(1.0)
            before = cluster.metrics()
            cpu_before_s = cluster.cpu_s()
            latencies = []
            for i in range(appends):
                latencies.append(append_everywhere(cluster, pool, i % nodes, seq))
                seq += 1
            cpu_per_append_s = (cluster.cpu_s() - cpu_before_s) / max(1, appends)
            middle = cluster.metrics()
            statuses = status_round_trips(cluster.clients[-1], max(appends, 20))
            if bulk:
                import_on(cluster, 0, bulk, 1_000_000)
            after = cluster.metrics()
        return RunResult(
            latencies, statuses, phase(before, middle), phase(middle, after), cpu_per_append_s
        )
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--appends", type=int, default=80)
    parser.add_argument("--import", dest="bulk", type=int, default=2000)
    parser.add_argument("--topologies", default=",".join(TOPOLOGIES))
    parser.add_argument("--quick", action="store_true", help="4 nodes, 1 run, tiny sizes")
    parser.add_argument(
        "--poll-ms", type=float, default=1.0, help="interval of each node's visibility poll"
    )
    args = parser.parse_args(argv)
    POLL.interval_s = args.poll_ms / 1000
    if args.quick:
        args.nodes, args.runs, args.appends, args.bulk = 4, 1, 8, 300
    topologies = [t for t in args.topologies.split(",") if t]
    work = Path(tempfile.mkdtemp(prefix="ccnode-bench-mesh-"))
    results: dict[tuple[str, str], list[RunResult]] = {}
    try:
        pki = Pki(work)
        for run in range(args.runs):
            for topology in topologies:
                for mode in MODES:
                    results.setdefault((topology, mode), []).append(
                        run_once(
                            work,
                            pki,
                            topology,
                            nodes=args.nodes,
                            selective=mode == MODES[0],
                            appends=args.appends,
                            bulk=args.bulk,
                        )
                    )
                    print(f"  run {run + 1}/{args.runs}: {topology}, {mode}: done", flush=True)
            if run + 1 < args.runs:  # figures so far, in case a later run fails
                print(f"after {run + 1} run(s):")
                report(args, topologies, results)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(args, topologies, results)


def _median_of(runs: list[RunResult], value: Callable[[RunResult], float]) -> float:
    return median([value(r) for r in runs])


def report(
    args: argparse.Namespace,
    topologies: list[str],
    results: dict[tuple[str, str], list[RunResult]],
) -> None:
    print(
        f"ccnode mesh: {args.nodes} node processes over mTLS on 127.0.0.1, median of "
        f"{len(next(iter(results.values())))} run(s); {args.appends} single-listing appends "
        f"round robin (Submit -> returned by every other node), then an import of "
        f"{args.bulk} listings on one node; visibility polled every {args.poll_ms:g} ms "
        f"on each node"
    )
    header = (
        f"{'topology':8} {'subscription':22} {'dup live':>9} {'dup import':>10} "
        f"{'B/entry live':>12} {'B/entry imp':>11} {'KiB/node imp':>12} {'p50 ms':>8} "
        f"{'p99 ms':>8}"
    )
    print(header)
    for topology in topologies:
        for mode in MODES:
            runs = results[(topology, mode)]
            print(
                f"{topology:8} {mode:22} "
                f"{_median_of(runs, lambda r: r.live.duplication):9.2f} "
                f"{_median_of(runs, lambda r: r.bulk.duplication):10.2f} "
                f"{_median_of(runs, lambda r: r.live.bytes_per_entry):12.0f} "
                f"{_median_of(runs, lambda r: r.bulk.bytes_per_entry):11.0f} "
                f"{_median_of(runs, lambda r: r.bulk.kib_per_node):12.0f} "
                f"{_median_of(runs, lambda r: percentile(r.latencies_s, 50)) * 1000:8.1f} "
                f"{_median_of(runs, lambda r: percentile(r.latencies_s, 99)) * 1000:8.1f}"
            )
    for topology in topologies:
        cpu = [
            _median_of(results[(topology, m)], lambda r: r.cpu_per_append_s) * 1000 for m in MODES
        ]
        print(
            f"{topology}: CPU per live append, summed over the node processes: "
            + ", ".join(f"{m} {c:.0f} ms" for m, c in zip(MODES, cpu, strict=True))
        )
    all_runs = [r for runs in results.values() for r in runs]
    status_p50 = _median_of(all_runs, lambda r: percentile(r.statuses_s, 50))
    print(f"baseline: no-op admin Status round trip p50 {status_p50 * 1000:.2f} ms")
    for topology in topologies:
        new, old = (results[(topology, m)] for m in MODES)
        dup_new = _median_of(new, lambda r: r.bulk.duplication)
        dup_old = _median_of(old, lambda r: r.bulk.duplication)
        bytes_new = _median_of(new, lambda r: r.bulk.bytes_per_entry)
        bytes_old = _median_of(old, lambda r: r.bulk.bytes_per_entry)
        p50_new = _median_of(new, lambda r: percentile(r.latencies_s, 50))
        p50_old = _median_of(old, lambda r: percentile(r.latencies_s, 50))
        print(
            f"{topology}: import duplication {dup_old:.2f} -> {dup_new:.2f} "
            f"({dup_old / dup_new if dup_new else 0:.1f}x fewer copies), bytes per entry "
            f"{bytes_old:.0f} -> {bytes_new:.0f}, p50 visible on all {p50_old * 1000:.1f} -> "
            f"{p50_new * 1000:.1f} ms ({p50_new / status_p50:.0f}x a Status round trip)"
        )
    if "mesh" in topologies:
        new = results[("mesh", MODES[0])]
        dup = max(
            _median_of(new, lambda r: r.live.duplication),
            _median_of(new, lambda r: r.bulk.duplication),
        )
        p50 = _median_of(new, lambda r: percentile(r.latencies_s, 50))
        print(
            f"targets (full mesh): duplication <= {TARGET_DUPLICATION}: "
            f"{'ok' if dup <= TARGET_DUPLICATION else 'MISSED'} ({dup:.2f}); p50 on all <= "
            f"{TARGET_P50_S * 1000:.0f} ms: {'ok' if p50 <= TARGET_P50_S else 'MISSED'} "
            f"({p50 * 1000:.1f} ms)"
        )


if __name__ == "__main__":
    main()
