"""Agency service benchmark: CheckBatch and the Follow catch-up against 1,000,000 listings.

    .venv/bin/python -m bench.bench_agency [--listings N] [--runs R] [--quick]

One node (Chengdu) runs as its own process (``python -m node`` without its background
extensions, as bench_catchup's origin) on a copy of a cached store of N listings built by the
node's own append path (bench/common.py ``build_log``; the change feed numbers every listing
in the same transactions). An agency certificate is issued and the agency admitted with
limits far above the load, so the benchmark measures the node, not its limits.

* CheckBatch: one call of 1,000 distinct listed subjects over mutual TLS (parse and check
  each identifier, one trip to a reader thread for the listings of all 1,000, the art. 6
  projection, the access record committed to the node's log, the answer); subjects per
  second of the median call. Baseline in the same run: the raw indexed SQL lookup of the same
  1,000 identifiers (``state_blacklist`` by ``id_key IN (...)`` joined with the entry its
  record is read from, on the node's SQLite file, read-only, no decoding).
* Follow catch-up: Follow from position 0 until CaughtUp (every listing once, a page of 500
  per message, each page recorded in the node's log before it is sent); changes per second.
  Baseline: the raw scan of the same feed joined with its rows (``blacklist_changes`` ⟕
  ``state_blacklist`` ⟕ the record's entry, in pages of 500, read-only, no decoding).

Medians of R runs, each beside its baseline, and the ratio.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import grpc

from bench.common import (
    ADMIN_TIMEOUT_S,
    RESULTS_DIR,
    TRUST_DOMAIN,
    AdminClient,
    NodeProcess,
    cached_origin,
    median,
    resident_id,
)
from ccnode.v1 import admin_pb2, agency_pb2, agency_pb2_grpc
from node.config import Agencies, NodeConfig
from node.identity import ca
from node.identity.spiffe import peer_dns_name

NODE = "chengdu"
AGENCY = "bench-agency"
BATCH = 1000
PAGE = 500
PURPOSE = "benchmark"
UNLIMITED = 10**9  # the largest daily quota the configuration takes


def _channel(certs: Path, port: int) -> grpc.Channel:
    creds = grpc.ssl_channel_credentials(
        root_certificates=(certs / "ca.pem").read_bytes(),
        private_key=(certs / "tls.key").read_bytes(),
        certificate_chain=(certs / "tls.pem").read_bytes(),
    )
    options = [
        ("grpc.ssl_target_name_override", peer_dns_name(TRUST_DOMAIN, NODE)),
        ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ]
    return grpc.secure_channel(f"127.0.0.1:{port}", creds, options=options)


def _prepare(root: Path, work: Path) -> tuple[Path, Path]:
    """A copy of the cached federation root (the benchmark appends access records to the
    node's log: the cache stays as built), the agency's certificates, a node.toml with
    limits above the load."""
    shutil.copytree(root, work, dirs_exist_ok=True)
    home = work / "homes" / NODE
    for stale in ("admin.sock", "node.log"):
        (home / stale).unlink(missing_ok=True)
    certs = work / "certs" / f"agency-{AGENCY}"
    ca.issue_agency(work / "ca", AGENCY, certs, days=3650, overwrite=True)
    config = NodeConfig.load(home)
    config.agencies = Agencies(
        rate_per_s=1e5, burst=10**6, daily_quota=UNLIMITED, follow_page_changes=PAGE
    )
    config.save()
    return home, certs


def _sql_lookup(db: Path, ids: list[str]) -> tuple[float, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        marks = ", ".join("?" for _ in ids)
        statement = (
            "SELECT b.kept_record, e.payload FROM state_blacklist b LEFT JOIN entries e "
            "ON e.origin = b.origin AND e.idx = b.record_index "
            f"WHERE b.id_key IN ({marks})"
        )
        started = time.perf_counter()
        rows = conn.execute(statement, ids).fetchall()
        return time.perf_counter() - started, len(rows)
    finally:
        conn.close()


def _sql_scan(db: Path) -> tuple[float, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    statement = (
        "SELECT c.seq, c.key, c.last_index, b.kept_record, e.payload FROM blacklist_changes c "
        "LEFT JOIN state_blacklist b ON b.key = c.key "
        "LEFT JOIN entries e ON e.origin = b.origin AND e.idx = b.record_index "
        "WHERE c.seq > ? ORDER BY c.seq LIMIT ?"
    )
    try:
        started = time.perf_counter()
        after, count = 0, 0
        while rows := conn.execute(statement, (after, PAGE)).fetchall():
            count += len(rows)
            after = rows[-1][0]
        return time.perf_counter() - started, count
    finally:
        conn.close()


def _check_batch(stub: agency_pb2_grpc.AgencyStub, ids: list[str]) -> tuple[float, int]:
    request = agency_pb2.CheckBatchRequest(
        subjects=[agency_pb2.AgencySubject(id_number=i) for i in ids], purpose=PURPOSE
    )
    started = time.perf_counter()
    reply = stub.CheckBatch(request, timeout=ADMIN_TIMEOUT_S)
    elapsed = time.perf_counter() - started
    return elapsed, sum(1 for r in reply.results if r.listed)


def _follow(stub: agency_pb2_grpc.AgencyStub) -> tuple[float, int]:
    started = time.perf_counter()
    call = stub.Follow(agency_pb2.FollowRequest(after=0, purpose=PURPOSE), timeout=3600)
    count, position = 0, 0
    for message in call:
        count += len(message.changes)
        if message.changes:
            assert message.changes[0].position == position + 1, "a gap in the feed"
            position = message.changes[-1].position
        if message.HasField("caught_up"):
            break
    elapsed = time.perf_counter() - started
    call.cancel()
    return elapsed, count


def run(listings: int, runs: int, part: str = "all") -> None:
    root = cached_origin(listings, RESULTS_DIR, NODE)
    rng = random.Random(2025)
    with tempfile.TemporaryDirectory(prefix="bench-agency-") as tmp:
        home, certs = _prepare(root, Path(tmp) / "fed")
        db = home / "ccnode.db"
        node = NodeProcess(home, extensions=False)
        port = node.start()
        admin = AdminClient(home)
        try:
            entry = admin_pb2.AgencyEntry(
                name=AGENCY, rate_per_s=1e6, burst=10**6, daily_quota=UNLIMITED
            )
            admin.stub.AddAgency(
                admin_pb2.AddAgencyRequest(agency=entry, actor="bench"), timeout=ADMIN_TIMEOUT_S
            )
            with _channel(certs, port) as channel:
                stub = agency_pb2_grpc.AgencyStub(channel)
                if part in ("all", "check"):
                    _bench_check(stub, db, listings, runs, rng)
                if part in ("all", "follow"):
                    _bench_follow(stub, db, listings, runs)
        finally:
            admin.close()
            node.stop()


def _bench_check(
    stub: agency_pb2_grpc.AgencyStub, db: Path, listings: int, runs: int, rng: random.Random
) -> None:
    print(f"CheckBatch of {BATCH:,} subjects against {listings:,} listings:")
    _check_batch(stub, [resident_id(s) for s in rng.sample(range(listings), BATCH)])
    node_s, sql_s = [], []
    for r in range(runs):
        ids = [resident_id(s) for s in rng.sample(range(listings), BATCH)]
        base, found = _sql_lookup(db, ids)
        assert found == BATCH, found
        took, listed = _check_batch(stub, ids)
        assert listed == BATCH, listed
        node_s.append(took)
        sql_s.append(base)
        print(
            f"  run {r + 1}: {BATCH / took:,.0f} subjects/s "
            f"(baseline raw SQL {BATCH / base:,.0f}/s)"
        )
    node_rate, sql_rate = BATCH / median(node_s), BATCH / median(sql_s)
    print(f"  median: CheckBatch {node_rate:,.0f} subjects/s")
    print(f"  baseline: raw indexed SQL lookup {sql_rate:,.0f} subjects/s")
    print(f"  ratio baseline/CheckBatch: {sql_rate / node_rate:.1f}x")


def _bench_follow(stub: agency_pb2_grpc.AgencyStub, db: Path, listings: int, runs: int) -> None:
    print(f"Follow catch-up from 0 of {listings:,} changes:")
    node_s, sql_s = [], []
    for r in range(runs):
        base, scanned = _sql_scan(db)
        took, count = _follow(stub)
        assert count == scanned >= listings, (count, scanned)
        node_s.append(took / count)
        sql_s.append(base / scanned)
        print(
            f"  run {r + 1}: {count / took:,.0f} changes/s "
            f"(baseline raw scan {scanned / base:,.0f}/s)"
        )
    node_rate, sql_rate = 1 / median(node_s), 1 / median(sql_s)
    print(f"  median: Follow catch-up {node_rate:,.0f} changes/s")
    print(f"  baseline: raw store scan {sql_rate:,.0f} changes/s")
    print(f"  ratio baseline/Follow: {sql_rate / node_rate:.1f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listings", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="20,000 listings, 2 runs")
    parser.add_argument("--part", choices=("all", "check", "follow"), default="all")
    args = parser.parse_args(argv)
    if args.quick:
        args.listings, args.runs = 20_000, 2
    if args.listings < BATCH:
        parser.error(f"--listings: at least {BATCH}")
    run(args.listings, args.runs, args.part)


if __name__ == "__main__":
    main()
