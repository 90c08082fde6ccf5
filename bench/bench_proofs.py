"""Proof benchmark: inclusion and consistency proofs from stored subtree hashes vs the leaves.

    .venv/bin/python -m bench.bench_proofs [--sizes 10000,100000] [--million] [--runs R]

For each size n a fresh SQLite store (the node's default) gets a log of n entries, appended
in batches of 1,000 as replication does, which also writes the log's complete-subtree hashes
(merkle_nodes). Then, in the same run, on the same store:

* tiles: node.store.proofs (what Audit and Federation answer with), O(log n) rows;
* naive: all n leaf hashes read, then sync.merkle's proofs (what they answered with before).

Each proof is timed as the median of R runs over indexes spread across the log; the rows a
proof reads are counted (tiles: the stored rows, leaves and merkle_nodes, that
Store.subtree_hashes looks up for it; naive: n). The
two answers are checked equal. Target: tiles time and rows flat in n apart from log n.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from node.store import SqlStore, open_store, proofs
from node.store.base import OriginState, StoredEntry
from sync import merkle, tiles

ORIGIN = "bench.example"
BATCH_ENTRIES = 1_000


def _entry(index: int) -> StoredEntry:
    header = f"header {index}".encode()
    return StoredEntry(
        origin=ORIGIN,
        index=index,
        kind=1,
        subject=f"{ORIGIN}/bl/{index}",
        actor="clerk-1",
        hlc=1_700_000_000_000 + index,
        leaf_hash=merkle.leaf_hash(header),
        header=header,
        salt=bytes(16),
        payload=b"payload",
    )


def build_log(store: SqlStore, size: int) -> None:
    frontier = merkle.Frontier()
    for start in range(0, size, BATCH_ENTRIES):
        batch = [_entry(i) for i in range(start, min(size, start + BATCH_ENTRIES))]
        frontier.extend(entry.leaf_hash for entry in batch)
        store.append(
            origin=ORIGIN,
            expected_size=start,
            entries=batch,
            state=OriginState(
                origin=ORIGIN,
                size=frontier.size,
                root=frontier.root(),
                frontier=frontier.to_bytes(),
                checkpoint_note=f"{ORIGIN}\n{frontier.size}\n",
            ),
        )


class CountingStore:
    """Forwards subtree_hashes to the store, counting the stored rows it looks up."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.rows = 0

    def subtree_hashes(self, origin: str, nodes: Sequence[tuple[int, int]]) -> list[bytes]:
        self.rows += len(tiles.stored_nodes(nodes))
        return self.store.subtree_hashes(origin, nodes)


def _median_ms(call: Callable[[int], object], arguments: Sequence[int]) -> float:
    times_ms = []
    for argument in arguments:
        started = time.perf_counter()
        call(argument)
        times_ms.append((time.perf_counter() - started) * 1000)
    return statistics.median(times_ms)


def bench_size(size: int, runs: int, directory: Path) -> None:
    store = open_store(str(directory / f"proofs-{size}.db"))
    assert isinstance(store, SqlStore)
    try:
        started = time.perf_counter()
        build_log(store, size)
        build_s = time.perf_counter() - started
        indexes = [(size - 1) * k // max(1, runs - 1) for k in range(runs)]
        old_sizes = [max(1, index) for index in indexes]
        counting = CountingStore(store)

        def tiles_inclusion(index: int) -> list[bytes]:
            return proofs.inclusion_proof(counting, ORIGIN, size, index)

        def naive_inclusion(index: int) -> list[bytes]:
            return merkle.inclusion_proof(store.leaf_hashes(ORIGIN, 0, size), index)

        def tiles_consistency(old_size: int) -> proofs.Consistency:
            return proofs.consistency(counting, ORIGIN, old_size, size)

        def naive_consistency(old_size: int) -> list[bytes]:
            return merkle.consistency_proof(store.leaf_hashes(ORIGIN, 0, size), old_size)

        for index in (0, size // 2, size - 1):
            assert tiles_inclusion(index) == naive_inclusion(index)
            assert tiles_consistency(index + 1).proof == naive_consistency(index + 1)
        counting.rows = 0
        tiles_inclusion_ms = _median_ms(tiles_inclusion, indexes)
        inclusion_rows = counting.rows / len(indexes)
        counting.rows = 0
        tiles_consistency_ms = _median_ms(tiles_consistency, old_sizes)
        consistency_rows = counting.rows / len(old_sizes)
        naive_inclusion_ms = _median_ms(naive_inclusion, indexes)
        naive_consistency_ms = _median_ms(naive_consistency, old_sizes)
    finally:
        store.close()
    print(f"n={size:>9,}  (log built in {build_s:.1f} s)")
    for name, tiles_ms, naive_ms, rows in (
        ("inclusion", tiles_inclusion_ms, naive_inclusion_ms, inclusion_rows),
        ("consistency", tiles_consistency_ms, naive_consistency_ms, consistency_rows),
    ):
        print(
            f"  {name:<12} tiles {tiles_ms:8.3f} ms, {rows:5.1f} rows | "
            f"naive {naive_ms:9.1f} ms, {size:,} rows | naive/tiles {naive_ms / tiles_ms:8.0f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated log sizes")
    parser.add_argument("--million", action="store_true", help="also a log of 1,000,000")
    parser.add_argument("--runs", type=int, default=7, help="proofs per median")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    if args.million:
        sizes.append(1_000_000)
    with tempfile.TemporaryDirectory(prefix="bench-proofs-") as directory:
        for size in sizes:
            bench_size(size, args.runs, Path(directory))


if __name__ == "__main__":
    main()
