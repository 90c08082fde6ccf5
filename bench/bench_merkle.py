"""Benchmark the Merkle hot path: hash received headers into leaves and fold them into a root.

Run: ``.venv/bin/python -m bench.bench_merkle [--entries N | --quick] [--runs R]``.

Every workload hashes the same deterministic ~200-byte headers (made up-front, not timed) and
is timed ``--runs`` times; the table shows the median wall and CPU (``time.process_time``)
seconds, entries per CPU second, and the CPU cost relative to the floor: bare
``hashlib.sha256`` over the same headers, which no RFC 6962 implementation can beat. The
budget (DESIGN.md section 2, replication) is <= 5 s CPU per 1,000,000 verified entries.
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import random
import statistics
import time
from collections.abc import Callable

from sync.merkle import Frontier, leaf_hash

DEFAULT_ENTRIES = 1_000_000
QUICK_ENTRIES = 100_000
HEADER_BYTES_MIN, HEADER_BYTES_MAX = 180, 220  # ~200 bytes, like a real entry header
CHECKPOINT_BATCH = 500  # entries per replication batch, each ending at a signed checkpoint
BUDGET_CPU_S_PER_MILLION = 5.0
SEED = 6962


def make_headers(count: int) -> list[bytes]:
    rng = random.Random(SEED)
    return [rng.randbytes(rng.randint(HEADER_BYTES_MIN, HEADER_BYTES_MAX)) for _ in range(count)]


def floor_sha256(headers: list[bytes]) -> None:
    sha256 = hashlib.sha256
    for header in headers:
        sha256(header).digest()


def append_each(headers: list[bytes]) -> None:
    frontier = Frontier()
    for header in headers:
        frontier.append(leaf_hash(header))
    frontier.root()


def extend_all(headers: list[bytes]) -> None:
    frontier = Frontier()
    frontier.extend(map(leaf_hash, headers))
    frontier.root()


def checkpoint_batches(headers: list[bytes]) -> None:
    # What a receiver does: per batch, extend a trial copy and compare its root with the
    # checkpoint before adopting it (the comparison itself is a bytes == and not modelled).
    frontier = Frontier()
    for start in range(0, len(headers), CHECKPOINT_BATCH):
        trial = frontier.copy()
        trial.extend(map(leaf_hash, headers[start : start + CHECKPOINT_BATCH]))
        trial.root()
        frontier = trial


WORKLOADS: list[tuple[str, Callable[[list[bytes]], None]]] = [
    ("sha256(header) floor", floor_sha256),
    ("leaf_hash + append + root", append_each),
    ("leaf_hash + extend + root", extend_all),
    (f"batches of {CHECKPOINT_BATCH} + root each", checkpoint_batches),
]


def measure(
    work: Callable[[list[bytes]], None], headers: list[bytes], runs: int
) -> tuple[float, float]:
    """Median (wall_s, cpu_s) over ``runs`` runs."""
    wall_s: list[float] = []
    cpu_s: list[float] = []
    for _ in range(runs):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        work(headers)
        cpu_s.append(time.process_time() - cpu_start)
        wall_s.append(time.perf_counter() - wall_start)
    return statistics.median(wall_s), statistics.median(cpu_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=DEFAULT_ENTRIES, help="headers to hash")
    parser.add_argument("--quick", action="store_true", help=f"use {QUICK_ENTRIES:,} entries")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per workload (median)")
    args = parser.parse_args(argv)
    entries = QUICK_ENTRIES if args.quick else args.entries
    if entries <= 0 or args.runs <= 0:
        parser.error("--entries and --runs must be positive")

    headers = make_headers(entries)
    mean_bytes = sum(map(len, headers)) / entries
    print(
        f"Merkle hot path: {entries:,} headers of ~{mean_bytes:.0f} bytes, median of "
        f"{args.runs} runs, Python {platform.python_version()} ({platform.machine()})"
    )
    header = f"{'workload':<34} {'wall s':>8} {'cpu s':>8} {'entries/s':>12} {'x floor':>8}"
    print(header)
    print("-" * len(header))
    floor_cpu_s = 0.0
    results: dict[str, float] = {}
    for name, work in WORKLOADS:
        wall_s, cpu_s = measure(work, headers, args.runs)
        floor_cpu_s = floor_cpu_s or cpu_s  # the first workload is the floor
        results[name] = cpu_s
        print(
            f"{name:<34} {wall_s:>8.3f} {cpu_s:>8.3f} {entries / cpu_s:>12,.0f} "
            f"{cpu_s / floor_cpu_s:>8.2f}"
        )
    checkpoint_cpu_s = results[WORKLOADS[-1][0]]
    per_million_s = checkpoint_cpu_s * 1_000_000 / entries
    print(
        f"\nbudget: {per_million_s:.2f} s CPU per 1,000,000 entries verified in checkpoint "
        f"batches (limit {BUDGET_CPU_S_PER_MILLION:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
