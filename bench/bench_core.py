"""Log-core benchmark: entry encode/decode, checkpoint sign/verify, and batch verification.

    .venv/bin/python -m bench.bench_core [--entries N] [--quick]

Prints medians of several runs and ratios against a floor measured in the same run (plain
SHA-256 of the same header bytes). Target: verifying 1,000,000 received entries against
their checkpoints (decode + digest check + leaf hash + frontier + root + signature per batch)
costs at most 5 s of CPU.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ccnode.v1 import log_pb2, payloads_pb2
from sync.checkpoint import Checkpoint, open_checkpoint, origin_line, sign_checkpoint
from sync.entry import Entry, decode_header, make_entry
from sync.merkle import Frontier
from sync.note import Ed25519Signer, Ed25519Verifier
from sync.verify import LogState, verify_batch

TD = "chengyu.court"
BATCH = 500


def _median(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100,000 entries")
    args = parser.parse_args()
    n = 100_000 if args.quick else args.entries
    rng = random.Random(7)
    key = Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
    signer = Ed25519Signer(origin_line(TD, "chengdu"), key)
    verifier = Ed25519Verifier(signer.name, signer.public_key_bytes)
    record = payloads_pb2.Payload(
        blacklist_listed=payloads_pb2.BlacklistListed(
            record=payloads_pb2.BlacklistRecord(
                case_number="（2024）川0104执1234号",
                court="川0104",
                obligation="支付货款人民币100000元",
            )
        )
    ).SerializeToString()

    t0 = time.perf_counter()
    entries = [
        make_entry(
            origin="chengdu",
            index=i,
            kind=log_pb2.BLACKLIST_LISTED,
            subject=f"chengdu/bl/{i}",
            actor="法官王五",
            hlc=(1_700_000_000_000 + i) << 16,
            payload=record,
            salt=rng.randbytes(16),
        )
        for i in range(n)
    ]
    encode_s = time.perf_counter() - t0
    frontier = Frontier()
    notes = []
    for start in range(0, n, BATCH):
        frontier.extend(e.leaf_hash() for e in entries[start : start + BATCH])
        notes.append(
            sign_checkpoint(Checkpoint(signer.name, frontier.size, frontier.root()), signer)
        )

    headers = [e.header for e in entries]
    floor = _median(lambda: [hashlib.sha256(h).digest() for h in headers], args.runs)
    decode = _median(lambda: [decode_header(h) for h in headers], args.runs)

    def verify_all() -> None:
        state = LogState.empty("chengdu")
        for b, start in enumerate(range(0, n, BATCH)):
            batch: list[Entry] = entries[start : start + BATCH]
            state = verify_batch(
                state,
                trust_domain=TD,
                first_index=start,
                entries=batch,
                checkpoint_note=notes[b],
                verifier=verifier,
            ).state

    verify = _median(verify_all, args.runs)
    cp = Checkpoint(signer.name, 1, b"\x00" * 32)
    sign = _median(lambda: [sign_checkpoint(cp, signer) for _ in range(2000)], args.runs)
    note = sign_checkpoint(cp, signer)
    opened = _median(lambda: [open_checkpoint(note, verifier) for _ in range(2000)], args.runs)

    print(
        f"ccnode log core, {n:,} entries "
        f"(~{len(headers[0]) + 16 + len(record)} bytes each), median of {args.runs}"
    )
    print(f"{'workload':44} {'cpu s':>8} {'per second':>14} {'x floor':>8}")
    rows = [
        ("sha256(header) floor", floor[1], n / floor[1], 1.0),
        ("entry encode (make_entry, once)", encode_s, n / encode_s, encode_s / floor[1]),
        ("header decode", decode[1], n / decode[1], decode[1] / floor[1]),
        (
            "verify batches of 500 vs signed checkpoints",
            verify[1],
            n / verify[1],
            verify[1] / floor[1],
        ),
        ("checkpoint sign", sign[1], 2000 / sign[1], 0.0),
        ("checkpoint open + verify", opened[1], 2000 / opened[1], 0.0),
    ]
    for name, cpu_s, rate, ratio in rows:
        print(f"{name:44} {cpu_s:8.3f} {rate:14,.0f} {ratio:8.2f}")
    per_million = verify[1] * 1_000_000 / n
    print(f"verification CPU per 1,000,000 entries: {per_million:.2f} s (target <= 5 s)")


if __name__ == "__main__":
    main()
