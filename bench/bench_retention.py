"""Payload-retention benchmark: one purge run over N delisted listings on a SQLite store.

    .venv/bin/python -m bench.bench_retention [--listings N] [--runs R] [--batch B]

A SQLite store (the node's schema, WAL, synchronous=NORMAL) holds one origin's log of N
listings, each delisted (2N entries, folded by the node's folds), and N current listings that
must stay. Each run copies the store file, then times ``RetentionPurge.run_once`` on the copy
as of a day past the blacklist period: it reads the closed rows page by page, finds the held
payloads and purges them in transactions of B payloads (recording each purge). The run's
purge count is checked (2N), and that the current listings kept their payloads.

Baseline, measured in the same run on a fresh copy of the same file: one SQL statement that
clears the same 2N payloads (``UPDATE entries SET payload = NULL WHERE subject IN (...)``,
the subjects known in advance) in one transaction: the floor of writing the purge, with no
rule evaluated, nothing paged and nothing recorded.

Prints the median of the runs of each and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from bench.common import median, resident_id
from ccnode.v1 import log_pb2, payloads_pb2
from node.businesses.retention import RetentionPurge
from node.clock import CST, FakeClock
from node.config import Retention
from node.store import open_store
from node.store.base import OriginState, RowChange, StoredEntry
from node.store.runner import Db
from sync.entry import decode_header, make_entry
from sync.folds import fold_batch
from sync.folds.types import Row, StateKey
from sync.hlc import pack
from sync.merkle import leaf_hash
from sync.payload import encode_payload

ORIGIN = "chengdu"
GROUP_ENTRIES = 1000
DELISTED_ON = dt.date(2025, 1, 10)


def _record(index: int) -> payloads_pb2.BlacklistRecord:
    return payloads_pb2.BlacklistRecord(
        case_number=f"（2024）川0104执{index + 1}号",
        court="川0104",
        debtor=payloads_pb2.Debtor(
            type=payloads_pb2.PERSON, name="张三", id_number=resident_id(index)
        ),
        obligation="支付货款人民币100000元",
        performance="未履行",
        ground=payloads_pb2.G1,
        listed_on="2024-03-06",
        filed_on="2024-01-15",
    )


def _entry(index: int, kind: int, body: payloads_pb2.Payload, subject: str) -> StoredEntry:
    at_ms = int(dt.datetime(2025, 1, 10, 12, tzinfo=CST).timestamp() * 1000)
    payload = encode_payload(kind, body)
    entry = make_entry(
        origin=ORIGIN,
        index=index,
        kind=kind,
        subject=subject,
        actor="法官王五",
        hlc=pack(at_ms + index, 0),
        payload=payload,
        salt=index.to_bytes(16, "big"),
    )
    h = decode_header(entry.header)
    return StoredEntry(
        ORIGIN, index, kind, subject, h.actor, h.hlc, leaf_hash(entry.header), entry.header,
        entry.salt, payload,
    )  # fmt: skip


def _log(listings: int) -> list[StoredEntry]:
    """Per listing i: its listing and, for the first ``listings``, its delisting."""
    out: list[StoredEntry] = []
    for i in range(2 * listings):
        index = len(out)
        subject = f"{ORIGIN}/bl/{index}"
        listed = payloads_pb2.Payload(
            blacklist_listed=payloads_pb2.BlacklistListed(record=_record(i))
        )
        out.append(_entry(index, log_pb2.BLACKLIST_LISTED, listed, subject))
        if i < listings:
            delisted = payloads_pb2.Payload(
                blacklist_delisted=payloads_pb2.BlacklistDelisted(
                    ground=payloads_pb2.D1, reason="全部履行完毕",
                    delisted_on=DELISTED_ON.isoformat(),
                )
            )  # fmt: skip
            out.append(_entry(len(out), log_pb2.BLACKLIST_DELISTED, delisted, subject))
    return out


def build(path: Path, listings: int) -> list[str]:
    """The store file; the subjects of the delisted listings."""
    store = open_store(str(path))
    entries = _log(listings)
    rows: dict[StateKey, Row] = {}
    try:
        for start in range(0, len(entries), GROUP_ENTRIES):
            group = entries[start : start + GROUP_ENTRIES]
            folded = fold_batch([(decode_header(e.header), e.payload) for e in group], rows)
            assert not folded.ignored, folded.ignored[:3]
            rows.update(folded.changes)
            end = start + len(group)
            store.append(
                origin=ORIGIN,
                expected_size=start,
                entries=group,
                state=OriginState(ORIGIN, end, b"\0" * 32, b"", f"{ORIGIN}\n{end}\n"),
                changes=[RowChange(t, k, r) for (t, k), r in folded.changes.items()],
            )
    finally:
        store.close()
    return sorted({e.subject for e in entries if e.kind == log_pb2.BLACKLIST_DELISTED})


def _purge_run(path: Path, batch: int) -> tuple[float, int, int]:
    """Seconds of one run_once; payloads purged; current listings' payloads still held."""
    store = open_store(str(path))
    db = Db(store)
    settings = Retention(blacklist_days=365, batch_entries_max=batch)
    day = DELISTED_ON + dt.timedelta(days=400)
    clock = FakeClock(
        int(dt.datetime(day.year, day.month, day.day, 9, tzinfo=CST).timestamp() * 1000)
    )
    job = RetentionPurge(db=db, settings=settings, node_id=ORIGIN, clock=clock, links=None)
    try:
        started = time.perf_counter()
        result = asyncio.run(job.run_once())
        seconds = time.perf_counter() - started
        size = store.vector()[ORIGIN]
        held = sum(e.payload is not None for e in store.entries(ORIGIN, 0, size))
    finally:
        db.close()
    return seconds, sum(result.purged.values()), held


def _baseline_run(path: Path, subjects: list[str]) -> tuple[float, int]:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        marks = ",".join("?" * len(subjects))
        started = time.perf_counter()
        with conn:
            cleared = conn.execute(
                f"UPDATE entries SET payload = NULL WHERE subject IN ({marks})", subjects
            ).rowcount
        return time.perf_counter() - started, cleared
    finally:
        conn.close()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.bench_retention")
    parser.add_argument("--listings", type=int, default=20_000, help="delisted listings")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=Retention().batch_entries_max)
    args = parser.parse_args(argv)
    n = args.listings
    with tempfile.TemporaryDirectory(prefix="ccnode-bench-retention-") as tmp:
        source = Path(tmp) / "source.db"
        subjects = build(source, n)
        purge_s, floor_s = [], []
        for run in range(args.runs):
            copy = Path(tmp) / f"run{run}.db"
            shutil.copyfile(source, copy)
            seconds, purged, held = _purge_run(copy, args.batch)
            assert purged == 2 * n, (purged, 2 * n)
            assert held == n, (held, n)  # the current listings keep theirs
            purge_s.append(seconds)
            base = Path(tmp) / f"base{run}.db"
            shutil.copyfile(source, base)
            seconds, cleared = _baseline_run(base, subjects)
            assert cleared == 2 * n, (cleared, 2 * n)
            floor_s.append(seconds)
            copy.unlink()
            base.unlink()
    purge, floor = median(purge_s), median(floor_s)
    print(f"retention purge of {2 * n} payloads ({n} delisted listings, {n} current), "
          f"batches of {args.batch}, SQLite, median of {args.runs} runs:")  # fmt: skip
    print(f"  RetentionPurge.run_once   {purge:8.3f} s  {2 * n / purge:10,.0f} payloads/s")
    print(f"  baseline one UPDATE       {floor:8.3f} s  {2 * n / floor:10,.0f} payloads/s")
    print(f"  ratio run_once / baseline {purge / floor:8.1f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
