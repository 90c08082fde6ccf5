"""Propagation benchmark: one listing submitted on node A, until node B answers with it.

    .venv/bin/python -m bench.bench_propagation [--appends N] [--warmup W]

A and B run as separate processes (``python -m node``, as shipped) on 127.0.0.1; B
subscribes to A over mutual TLS (a live Subscribe stream). For each append the clock starts
just before A's admin Submit (one new listing, through validation, group commit and
signing) and stops when B's admin API returns the new listing (BlacklistGet by its subject,
polled every ~1 ms; B answers NOT_FOUND until it has verified, stored and folded the batch).
Appends run one after another.

Baselines measured in the same run: the round trip of a no-op admin Status call on B (the
polling's own resolution), and A's Submit alone (until A answers: the entry is committed and
signed there). Targets: propagation p50 <= 20 ms, p99 <= 100 ms.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import grpc

from bench.common import (
    ADMIN_TIMEOUT_S,
    AdminClient,
    NodeProcess,
    Pki,
    listing_draft,
    median,
    percentile,
    wait_until,
)
from ccnode.v1 import admin_pb2

ORIGIN = "chengdu"
READER = "chongqing"
POLL_S = 0.001
VISIBLE_TIMEOUT_S = 30.0
TARGET_P50_S = 0.020
TARGET_P99_S = 0.100


def visible_on(b: AdminClient, subject: str) -> bool:
    try:
        b.stub.BlacklistGet(admin_pb2.BlacklistGetRequest(subject=subject), timeout=ADMIN_TIMEOUT_S)
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return False
        raise
    return True


def propagate_once(a: AdminClient, b: AdminClient, seq: int) -> tuple[float, float]:
    """(seconds until B returns the new listing, seconds of A's Submit alone)."""
    request = admin_pb2.SubmitRequest(drafts=[listing_draft(seq)], actor="bench")
    started_s = time.perf_counter()
    reply = a.stub.Submit(request, timeout=ADMIN_TIMEOUT_S)
    submitted_s = time.perf_counter() - started_s
    subject = reply.subjects[0]
    deadline_s = started_s + VISIBLE_TIMEOUT_S
    while not visible_on(b, subject):
        if time.perf_counter() > deadline_s:
            raise TimeoutError("listing did not reach B")
        time.sleep(POLL_S)
    return time.perf_counter() - started_s, submitted_s


def status_round_trips(b: AdminClient, count: int) -> list[float]:
    out = []
    for _ in range(count):
        started_s = time.perf_counter()
        b.stub.Status(admin_pb2.StatusRequest(), timeout=ADMIN_TIMEOUT_S)
        out.append(time.perf_counter() - started_s)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="ccnode-bench-"))
    procs: list[NodeProcess] = []
    clients: list[AdminClient] = []
    try:
        pki = Pki(work)
        for node_id in (ORIGIN, READER):
            pki.home(work / node_id, node_id)
            procs.append(NodeProcess(work / node_id))
            procs[-1].start()
        a, b = AdminClient(work / ORIGIN), AdminClient(work / READER)
        clients += [a, b]
        b.add_peer(ORIGIN, procs[0].port)
        for seq in range(args.warmup):  # connect, learn A's key, warm both nodes' caches
            propagate_once(a, b, seq)
        wait_until(lambda: b.origin_view(ORIGIN)[0] == args.warmup, VISIBLE_TIMEOUT_S, 0.01)
        latencies, submits = [], []
        for seq in range(args.warmup, args.warmup + args.appends):
            latency_s, submit_s = propagate_once(a, b, seq)
            latencies.append(latency_s)
            submits.append(submit_s)
        statuses = status_round_trips(b, args.appends)
    finally:
        for client in clients:
            client.close()
        for proc in reversed(procs):
            proc.stop()
        shutil.rmtree(work, ignore_errors=True)
    report(args.appends, latencies, submits, statuses)


def report(n: int, latencies: list[float], submits: list[float], statuses: list[float]) -> None:
    print(
        f"ccnode propagation: {n} single-listing appends, Submit on A -> returned by B's "
        f"admin API (polled every {POLL_S * 1000:.0f} ms), A and B over mTLS on 127.0.0.1"
    )
    print(f"{'workload':52} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    p50 = percentile(latencies, 50)
    after = [t - s for t, s in zip(latencies, submits, strict=True)]
    rows = [
        ("baseline: no-op admin Status round trip on B", statuses),
        ("baseline: Submit on A alone (committed, signed)", submits),
        ("propagation: Submit on A -> visible on B", latencies),
        ("  of which after A's Submit returned", after),
    ]
    for name, values in rows:
        print(
            f"{name:52} {percentile(values, 50) * 1000:8.2f} "
            f"{percentile(values, 99) * 1000:8.2f} {max(values) * 1000:8.2f}"
        )
    p99 = percentile(latencies, 99)
    print(f"propagation p50 / Status p50: {p50 / median(statuses):.1f}")
    print(
        f"targets: p50 <= {TARGET_P50_S * 1000:.0f} ms: {'ok' if p50 <= TARGET_P50_S else 'MISSED'}"
        f"; p99 <= {TARGET_P99_S * 1000:.0f} ms: {'ok' if p99 <= TARGET_P99_S else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
