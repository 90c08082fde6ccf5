"""What the index of representatives costs the blacklist fold, and what a check costs.

    .venv/bin/python -m bench.bench_representatives [--listings N] [--runs R]

Folds N listings (one batch of one origin, as a catch-up does) three ways, each the median of
R runs: persons, the fold with its representative index as shipped; the same persons with
the blacklist's ``derive`` switched off (the baseline: the fold before the index); and
organisations naming two representatives each (every listing derives two index rows). Then
``check_subject`` of a representative's ID against a store holding the organisations' rows
(SQLite), against the baseline of a debtor-only check (``representatives=False``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ccnode.v1 import log_pb2, payloads_pb2
from node.businesses.blacklist.check import check_subject
from node.store import open_store
from node.store.base import OriginState, RowChange
from sync import folds
from sync.entry import SALT_BYTES, Header, decode_header, make_entry
from sync.folds import blacklist as bl_fold
from sync.folds import fold_batch
from sync.payload import encode_payload

ORIGIN = "chengdu"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _resident_id(seq: int) -> str:
    body = f"52{(seq // 1000) % 10_000:04d}19800101{seq % 1000:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


def _record(i: int, org: bool) -> payloads_pb2.BlacklistRecord:
    rec = payloads_pb2.BlacklistRecord(
        case_number=f"（2024）川0104执{i + 1}号",
        court="川0104",
        obligation="支付货款人民币100000元",
        performance="未履行",
        ground=payloads_pb2.G1,
        basis_issuer="成都市锦江区人民法院",
        basis_number="（2023）川0104民初5678号",
        filed_on="2024-01-15",
        listed_on="2024-03-01",
    )
    if not org:
        rec.debtor.CopyFrom(
            payloads_pb2.Debtor(type=payloads_pb2.PERSON, name="张三", id_number=_resident_id(i))
        )
        return rec
    rec.debtor.CopyFrom(
        payloads_pb2.Debtor(
            type=payloads_pb2.ORG, name=f"某某公司{i}", credit_code="91350100M000100Y43",
            legal_representative="李四",
        )
    )  # fmt: skip
    rec.representatives.add(
        role=payloads_pb2.LEGAL_REPRESENTATIVE, name="李四", id_number=_resident_id(2 * i)
    )
    rec.representatives.add(
        role=payloads_pb2.ACTUAL_CONTROLLER, name="王五", id_number=_resident_id(2 * i + 1)
    )
    return rec


def _batch(n: int, org: bool) -> list[tuple[Header, bytes]]:
    out = []
    for i in range(n):
        payload = encode_payload(
            log_pb2.BLACKLIST_LISTED,
            payloads_pb2.Payload(
                blacklist_listed=payloads_pb2.BlacklistListed(record=_record(i, org))
            ),
        )
        entry = make_entry(
            origin=ORIGIN, index=i, kind=log_pb2.BLACKLIST_LISTED,
            subject=bl_fold.listing_subject(ORIGIN, i), actor="bench", hlc=(1 << 40) + i,
            payload=payload, salt=bytes(SALT_BYTES),
        )  # fmt: skip
        out.append((decode_header(entry.header), payload))
    return out


def _median_s(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _without_derive(items: Sequence[tuple[Header, bytes]]) -> None:
    derive = folds._DERIVE.pop(bl_fold.TABLE)
    try:
        fold_batch(items, {})
    finally:
        folds._DERIVE[bl_fold.TABLE] = derive


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    n, runs = args.listings, args.runs
    persons, orgs = _batch(n, org=False), _batch(n, org=True)
    baseline = _median_s(lambda: _without_derive(persons), runs)
    with_index = _median_s(lambda: fold_batch(persons, {}), runs)
    org_fold = _median_s(lambda: fold_batch(orgs, {}), runs)
    print(f"fold of {n:,} listings, median of {runs} runs")
    print(f"  persons, no representative index (baseline) {baseline * 1e6 / n:8.2f} µs/listing")
    print(f"  persons, with the index                     {with_index * 1e6 / n:8.2f} µs/listing"
          f"  ×{with_index / baseline:.2f}")  # fmt: skip
    print(f"  organisations, 2 representatives each       {org_fold * 1e6 / n:8.2f} µs/listing"
          f"  ×{org_fold / baseline:.2f}")  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(str(Path(tmp) / "bench.db"))
        try:
            changes = [RowChange(t, k, r) for (t, k), r in fold_batch(orgs, {}).changes.items()]
            state = OriginState(ORIGIN, 0, bytes(32), b"", f"{ORIGIN}\n0\nroot\n")
            store.append(origin=ORIGIN, expected_size=0, entries=[], state=state,
                         changes=changes, trusted_rows=True)  # fmt: skip
            ids = [_resident_id(2 * i) for i in range(0, n, max(1, n // 200))]
            debtor_only = _median_s(
                lambda: [check_subject(store, x, representatives=False) for x in ids], runs
            )
            full = _median_s(lambda: [check_subject(store, x) for x in ids], runs)
            assert all(check_subject(store, x).listed for x in ids[:5])
        finally:
            store.close()
    print(f"check_subject on SQLite holding {n:,} organisations ({2 * n:,} index rows), "
          f"{len(ids)} IDs, median of {runs} runs")  # fmt: skip
    print(f"  debtor only (baseline)                      {debtor_only * 1e3 / len(ids):8.3f} "
          "ms/check")  # fmt: skip
    print(f"  debtor and representatives                  {full * 1e3 / len(ids):8.3f} ms/check"
          f"  ×{full / debtor_only:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
