"""Growth benchmark: how each cost grows with the log, at 10,000, 100,000 and 1,000,000 entries.

    .venv/bin/python -m bench.bench_growth [--sizes 10000,100000,1000000] [--runs R] [--quick]

For each size n, node A (Chengdu) holds n blacklist listings (its own log, built once with the
node's code path and cached under bench/results/catchup-n, as bench_catchup builds it), and:

* **catch-up**: a fresh node B (a separate ``python -m node`` process, SQLite) copies, verifies,
  stores and folds A's log over mutual TLS (bench_catchup.catch_up_once); entries per second,
  and the ratio to the floor measured in the same run on the same bytes (A's batches streamed
  by a trivial gRPC server + executemany of the rows into a same-shaped SQLite table);
* **store bytes per entry**: A's database (with its WAL) after a checkpoint, divided by n;
* **blacklist check**: ``Admin.BlacklistSearch`` by one debtor's resident ID on the running A
  (what ``ccnode blacklist check --id`` sends), p50 over 200 random debtors; baseline in the
  same run: a no-op ``Admin.Status`` round trip on the same socket;
* **inclusion proof**: ``node.store.proofs.inclusion_proof`` on A's store (what
  ``Audit.InclusionProof`` answers from) for random entries, p50 over 200; baseline in the same
  run: reading that entry's one leaf hash from the same store.

Each figure is the median over R runs; the table shows how it moves from one size to the next
(flat = does not grow with the log).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.bench_catchup import (
    ORIGIN,
    a_root,
    catch_up_once,
    insert_floor,
    stream_floor,
)
from bench.common import (
    ADMIN_TIMEOUT_S,
    RESULTS_DIR,
    AdminClient,
    NodeProcess,
    cached_origin,
    median,
    resident_id,
)
from ccnode.v1 import admin_pb2
from node.store import open_store
from node.store.proofs import inclusion_proof

SAMPLES = 200


def _p50_ms(samples: list[float]) -> float:
    return median(samples) * 1000


def store_bytes(home: Path) -> int:
    db = home / "ccnode.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in home.glob("ccnode.db*"))


def check_latency(home: Path, n: int, rng: random.Random) -> tuple[float, float]:
    """(p50 of BlacklistSearch by ID, p50 of Status), in seconds, on the running node."""
    client = AdminClient(home)
    try:
        check, noop = [], []
        for _ in range(SAMPLES):
            request = admin_pb2.BlacklistSearchRequest(id_number=resident_id(rng.randrange(n)))
            started = time.perf_counter()
            reply = client.stub.BlacklistSearch(request, timeout=ADMIN_TIMEOUT_S)
            check.append(time.perf_counter() - started)
            assert reply.total == 1, "each debtor is listed once"
            started = time.perf_counter()
            client.stub.Status(admin_pb2.StatusRequest(), timeout=ADMIN_TIMEOUT_S)
            noop.append(time.perf_counter() - started)
        return median(check), median(noop)
    finally:
        client.close()


def proof_latency(db: Path, n: int, rng: random.Random) -> tuple[float, float]:
    """(p50 of an inclusion proof at size n, p50 of one leaf-hash read), in seconds."""
    store = open_store(db)
    try:
        proofs, leaves = [], []
        for _ in range(SAMPLES):
            index = rng.randrange(n)
            started = time.perf_counter()
            proof = inclusion_proof(store, ORIGIN, n, index)
            proofs.append(time.perf_counter() - started)
            assert len(proof) <= n.bit_length()
            started = time.perf_counter()
            store.leaf_hashes(ORIGIN, index, index + 1)
            leaves.append(time.perf_counter() - started)
        return median(proofs), median(leaves)
    finally:
        store.close()


def measure(n: int, runs: int, results: Path, rng: random.Random) -> dict[str, float]:
    root = cached_origin(n, results, ORIGIN)
    home = root / "homes" / ORIGIN
    db = home / "ccnode.db"
    rows: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        rows.setdefault(key, []).append(value)

    with tempfile.TemporaryDirectory(prefix="ccnode-growth-") as tmp:
        work = Path(tmp)
        for run in range(runs):
            a = NodeProcess(home)
            try:
                a_port = a.start()
                tree = a_root(root)
                catch = catch_up_once(root, a.pid, a_port, tree, n, work, run)
                check_s, status_s = check_latency(home, n, rng)
            finally:
                a.stop()
            stream_s, _ = stream_floor(root, n)
            insert_s = insert_floor(db, n, work)
            proof_s, leaf_s = proof_latency(db, n, rng)
            add("catchup_rate", n / catch.seconds)
            add("catchup_x_floor", catch.seconds / (stream_s + insert_s))
            add("check_ms", check_s * 1000)
            add("check_x_status", check_s / status_s)
            add("proof_ms", proof_s * 1000)
            add("proof_x_leaf", proof_s / leaf_s)
            print(f"  {n:,}: run {run + 1} done", flush=True)
        bytes_per_entry = store_bytes(home) / n
    out = {key: median(values) for key, values in rows.items()}
    out["bytes_per_entry"] = bytes_per_entry
    return out


COLUMNS = [
    ("catchup_rate", "catch-up entries/s", "{:,.0f}"),
    ("catchup_x_floor", "catch-up x floor", "{:.2f}"),
    ("bytes_per_entry", "store bytes/entry", "{:,.0f}"),
    ("check_ms", "check p50 ms", "{:.2f}"),
    ("check_x_status", "check x Status", "{:.2f}"),
    ("proof_ms", "proof p50 ms", "{:.3f}"),
    ("proof_x_leaf", "proof x 1 leaf read", "{:.2f}"),
]


def report(results: dict[int, dict[str, float]], runs: int) -> None:
    sizes = sorted(results)
    print(f"ccnode growth: median of {runs} run(s) per size; ratios against same-run baselines")
    header = f"{'':22}" + "".join(f"{n:>14,}" for n in sizes)
    print(header)
    for key, label, fmt in COLUMNS:
        print(f"{label:22}" + "".join(f"{fmt.format(results[n][key]):>14}" for n in sizes))
    first, last = sizes[0], sizes[-1]
    growth = last / first
    print(f"from {first:,} to {last:,} entries ({growth:,.0f}x the log):")
    for key, label, _ in COLUMNS:
        if key in ("catchup_x_floor", "check_x_status", "proof_x_leaf"):
            continue
        print(f"  {label}: x{results[last][key] / results[first][key]:.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="sizes 2,000 and 10,000, one run")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="cache directory")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    sizes = [2_000, 10_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    runs = 1 if args.quick else args.runs
    rng = random.Random(args.seed)
    results = {n: measure(n, runs, args.results, rng) for n in sizes}
    report(results, runs)


if __name__ == "__main__":
    main()
