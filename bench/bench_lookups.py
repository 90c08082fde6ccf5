"""Asset-lookup benchmark: round trip and sustained rate between two nodes, 1,000,000 assets.

    .venv/bin/python -m bench.bench_lookups [--assets N] [--lookups N] [--runs R]
                                            [--clients C] [--quick] [--store sqlite|postgresql]

A (Chengdu, 川01) and B (Chongqing) run as separate processes (``python -m node``, as
shipped) on 127.0.0.1, peered both ways over mutual TLS; B trusts A to serve 川01. Before B
starts, its registry is filled with N synthetic assets (node/businesses/lookups/samples.py,
about five per owner) through the store's ``put_assets``, as `ccnode assets import` ends up doing.

* Round trip: one ``lookup request --wait`` through A's admin socket (Lookups.Request with
  wait_s): A validates and commits the request, B receives it, checks it, reads the owner's
  assets of three categories from its 1M-row registry and commits the answer, A receives the
  answer and records the read (ACCESS_RECORDED) before it returns the masked result. One
  lookup at a time; p50 / p99 per run, the median over the runs.
* Sustained: C client threads each issue lookups back to back for the same total; lookups
  answered per second (median over the runs).

Baselines measured in the same run, on the same nodes: a no-op admin Status call on A (the
socket round trip), the request alone (Lookups.Request without waiting: committed and signed
on A), and B's registry query alone (``assets_by_owner`` on the 1M-row table, in process).
Targets: round trip p50 <= 15 ms; >= 400 lookups/s answered with 32 clients; <= 2 ms of CPU
per lookup on each node (user + system time of each node process over the sustained runs).

``--store postgresql``: both nodes store into PostgreSQL 15 (a throwaway cluster the benchmark
starts, tests/pgserver.py, as bench_catchup does; one database per node).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc

from bench.common import (
    ADMIN_TIMEOUT_S,
    AdminClient,
    NodeProcess,
    Pki,
    median,
    percentile,
    wait_until,
)
from ccnode.v1 import admin_pb2, lookups_pb2, lookups_pb2_grpc, payloads_pb2
from node.businesses.lookups.samples import generate
from node.businesses.lookups.sources import asset_row
from node.config import NodeConfig
from node.store import open_store
from node.store.base import CasePartyRecord
from tests.pgserver import PgServer, find_bindir

REQUESTER, TARGET = "chengdu", "chongqing"
LOAD_CHUNK = 20_000
WAIT_S = 10.0
CATEGORIES = [payloads_pb2.DEPOSIT, payloads_pb2.REAL_ESTATE, payloads_pb2.VEHICLE]
TARGET_P50_S = 0.015
TARGET_RATE = 400.0  # lookups/s answered with 32 clients
TARGET_CPU_S = 0.002  # per lookup, on each node
# B's rate limit and daily quota are set to the largest the configuration takes: the
# benchmark measures the node, not them.
CASE = "（2025）川0104执1234号"


def load_registry(home: Path, n: int) -> tuple[list[str], float]:
    """Fill the (stopped) node's registry with n sample assets; (owner ids, seconds)."""
    store = open_store(NodeConfig.load(home).db_url)
    owners: dict[str, None] = {}
    started_s = time.perf_counter()
    try:
        chunk = []
        for record in generate(n, seed=2025, region=TARGET):
            owners.setdefault(record.owner_id)
            chunk.append(asset_row(record))
            if len(chunk) == LOAD_CHUNK:
                store.put_assets(chunk)
                chunk = []
        store.put_assets(chunk)
        assert store.count_assets() == n
    finally:
        store.close()
    return list(owners), time.perf_counter() - started_s


def register_debtors(home: Path, owners: list[str]) -> None:
    """Register every owner as a debtor of CASE in the (stopped) requester's register of case
    parties: a lookup may only concern a debtor of the case it cites."""
    store = open_store(NodeConfig.load(home).db_url)
    try:
        for owner in owners:
            person = len(owner) == 18 and owner[:17].isdigit()
            party = CasePartyRecord(CASE, owner, "person" if person else "org")
            store.put_case_party(party)
    finally:
        store.close()


def registry_query_s(home: Path, owners: list[str], count: int) -> list[float]:
    """B's own read of one lookup's data, in process (the floor of the answer's work)."""
    store = open_store(NodeConfig.load(home).db_url)
    rng = random.Random(7)
    out = []
    try:
        for _ in range(count):
            owner = rng.choice(owners)
            started_s = time.perf_counter()
            store.assets_by_owner(owner, CATEGORIES)
            out.append(time.perf_counter() - started_s)
    finally:
        store.close()
    return out


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def lookup_request(owner: str, wait_s: float) -> lookups_pb2.LookupRequest:
    person = len(owner) == 18 and owner[:17].isdigit()
    debtor = payloads_pb2.Debtor(type=payloads_pb2.PERSON if person else payloads_pb2.ORG)
    if person:
        debtor.id_number = owner
    else:
        debtor.credit_code = owner
    return lookups_pb2.LookupRequest(
        target=TARGET,
        case_number=CASE,
        debtor=debtor,
        categories=CATEGORIES,
        purpose="benchmark",
        actor="bench",
        wait_s=wait_s,
    )


def timed(call: Callable[[], object], count: int) -> list[float]:
    out = []
    for _ in range(count):
        started_s = time.perf_counter()
        call()
        out.append(time.perf_counter() - started_s)
    return out


class Lookups:
    def __init__(self, home: Path) -> None:
        self._channel = grpc.insecure_channel(f"unix://{home / 'admin.sock'}")
        self.stub = lookups_pb2_grpc.LookupsStub(self._channel)

    def ask(self, owner: str, wait_s: float = WAIT_S) -> lookups_pb2.LookupResult:
        result = self.stub.Request(lookup_request(owner, wait_s), timeout=ADMIN_TIMEOUT_S)
        if wait_s and result.item.status != "answered":
            raise RuntimeError(f"lookup not answered: {result.item.status}")
        return result

    def close(self) -> None:
        self._channel.close()


def sustained(home: Path, owners: list[str], total: int, clients: int) -> tuple[float, list[float]]:
    """(lookups answered per second, each lookup's round trip) with ``clients`` threads."""
    rng = random.Random(11)
    picks = [rng.choice(owners) for _ in range(total)]
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(mine: list[str]) -> None:
        client = Lookups(home)
        try:
            times = timed(lambda: client.ask(mine.pop()), len(mine))
        except BaseException as exc:  # reported after the run
            errors.append(exc)
            return
        finally:
            client.close()
        with lock:
            latencies.extend(times)

    threads = [threading.Thread(target=worker, args=(picks[i::clients],)) for i in range(clients)]
    started_s = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed_s = time.perf_counter() - started_s
    if errors:
        raise errors[0]
    return total / elapsed_s, latencies


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=200, help="round trips per run")
    parser.add_argument("--sustained", type=int, default=2000, help="lookups per sustained run")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="100,000 assets, shorter runs")
    parser.add_argument(
        "--store",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="both nodes' store (postgresql: a cluster the benchmark starts)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.assets, args.lookups, args.sustained = 100_000, 100, 500
    pg: PgServer | None = None
    if args.store == "postgresql":
        bindir = find_bindir()
        if bindir is None:
            parser.error("--store postgresql needs PostgreSQL server binaries (make postgres)")
        pg = PgServer(bindir)
        pg.start()
    work = Path(tempfile.mkdtemp(prefix="ccnode-bench-lookups-"))
    procs: list[NodeProcess] = []
    try:
        pki = Pki(work)

        def db(node_id: str) -> str:
            return pg.create_database(node_id) if pg is not None else ""

        pki.home(work / REQUESTER, REQUESTER, db=db(REQUESTER))
        limits = {"lookup_rate_per_minute": 1_000_000, "lookup_daily_quota": 100_000_000}
        pki.home(work / TARGET, TARGET, db=db(TARGET), **limits)
        print(f"loading {args.assets:,} assets into {TARGET}'s registry", flush=True)
        owners, load_s = load_registry(work / TARGET, args.assets)
        register_debtors(work / REQUESTER, owners)
        query = registry_query_s(work / TARGET, owners, 2000)
        for node_id in (REQUESTER, TARGET):
            procs.append(NodeProcess(work / node_id))
            procs[-1].start()
        a, b = AdminClient(work / REQUESTER), AdminClient(work / TARGET)
        a.add_peer(TARGET, procs[1].port)
        peer = admin_pb2.Peer(
            node_id=REQUESTER, address=f"127.0.0.1:{procs[0].port}", court_prefixes=["川01"]
        )
        b.stub.AddPeer(admin_pb2.AddPeerRequest(peer=peer), timeout=ADMIN_TIMEOUT_S)
        lookups = Lookups(work / REQUESTER)
        rng = random.Random(5)
        wait_until(lambda: _answered(lookups, rng.choice(owners)), 30.0, 0.2)
        for _ in range(args.warmup):
            lookups.ask(rng.choice(owners))
        status_s = timed(lambda: a.stub.Status(admin_pb2.StatusRequest()), args.lookups)
        request_s = timed(lambda: lookups.ask(rng.choice(owners), wait_s=0), args.lookups)
        runs = [
            timed(lambda: lookups.ask(rng.choice(owners)), args.lookups) for _ in range(args.runs)
        ]
        rates = []
        loaded: list[float] = []
        cpu_before = [cpu_s(p.pid) for p in procs]
        for _ in range(args.runs):
            rate, latencies = sustained(work / REQUESTER, owners, args.sustained, args.clients)
            rates.append(rate)
            loaded = latencies
        cpu_per_lookup = [
            (cpu_s(p.pid) - before) / (args.runs * args.sustained)
            for p, before in zip(procs, cpu_before, strict=True)
        ]
        found = lookups.ask(owners[0])
        lookups.close()
        a.close()
        b.close()
    finally:
        for proc in reversed(procs):
            proc.stop()
        if pg is not None:
            pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    report(args, load_s, query, status_s, request_s, runs, rates, loaded, cpu_per_lookup, found)


def _answered(lookups: Lookups, owner: str) -> bool:
    try:
        return lookups.ask(owner, wait_s=2.0).item.status == "answered"
    except (grpc.RpcError, RuntimeError):
        return False


def report(
    args: argparse.Namespace,
    load_s: float,
    query: list[float],
    status_s: list[float],
    request_s: list[float],
    runs: list[list[float]],
    rates: list[float],
    loaded: list[float],
    cpu_per_lookup: list[float],
    sample: lookups_pb2.LookupResult,
) -> None:
    p50 = median([percentile(r, 50) for r in runs])
    p99 = median([percentile(r, 99) for r in runs])
    print(
        f"ccnode asset lookups: {args.assets:,} assets in {TARGET}'s registry "
        f"(loaded in {load_s:.1f} s, {args.assets / load_s:,.0f}/s), {REQUESTER} -> {TARGET} "
        f"over mTLS on 127.0.0.1, 3 categories asked; "
        f"{'PostgreSQL 15' if args.store == 'postgresql' else 'SQLite'} stores; "
        f"median of {args.runs} runs"
    )
    print(f"{'workload':58} {'p50 ms':>8} {'p99 ms':>8}")
    rows = [
        ("baseline: no-op admin Status on A", percentile(status_s, 50), percentile(status_s, 99)),
        ("baseline: B's registry query alone (in process)", percentile(query, 50),
         percentile(query, 99)),
        ("baseline: request alone (committed on A, no wait)", percentile(request_s, 50),
         percentile(request_s, 99)),
        (f"lookup round trip, one at a time ({args.lookups} per run)", p50, p99),
        (f"lookup round trip under load ({args.clients} clients)", percentile(loaded, 50),
         percentile(loaded, 99)),
    ]  # fmt: skip
    for name, q50, q99 in rows:
        print(f"{name:58} {q50 * 1000:8.2f} {q99 * 1000:8.2f}")
    print(f"round trip p50 / Status p50: {p50 / percentile(status_s, 50):.1f}")
    print(f"round trip p50 / request-alone p50: {p50 / percentile(request_s, 50):.1f}")
    print(
        f"sustained: {median(rates):,.0f} lookups/s answered "
        f"(runs: {', '.join(f'{r:,.0f}' for r in rates)}; {args.sustained} lookups, "
        f"{args.clients} clients, {os.cpu_count()} CPUs shared by both nodes and the clients)"
    )
    print(
        f"node CPU per lookup under load: {REQUESTER} {cpu_per_lookup[0] * 1000:.2f} ms, "
        f"{TARGET} {cpu_per_lookup[1] * 1000:.2f} ms; "
        f"a sample answer carried {len(sample.assets)} assets"
    )
    for target, met in (
        (f"round trip p50 <= {TARGET_P50_S * 1000:.0f} ms", p50 <= TARGET_P50_S),
        (f">= {TARGET_RATE:.0f} lookups/s sustained", median(rates) >= TARGET_RATE),
        (
            f"<= {TARGET_CPU_S * 1000:.0f} ms CPU per lookup on each node",
            max(cpu_per_lookup) <= TARGET_CPU_S,
        ),
    ):
        print(f"target: {target}: {'ok' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
