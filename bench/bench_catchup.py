"""Catch-up benchmark: a fresh node B copies, verifies, stores and folds node A's log.

    .venv/bin/python -m bench.bench_catchup [--entries N] [--quick] [--runs R] [--no-postgres]
                                            [--store sqlite|postgresql]

A holds N blacklist listings (its own log, built once with the node's code path and cached
under bench/results/catchup-N). A and B run as separate processes (``python -m node``) on
127.0.0.1 over mutual TLS, with the default SQLite store. B is started fresh for each run;
the clock runs from B's AddPeer until B's vector shows A's full size (polled every 50 ms);
then B's peak RSS (VmHWM) is read, and its root and folded listing count are checked.

Floor, measured in the same run on the same bytes:
* the very Batch messages A sends (cut by A's own code), pre-serialised, streamed by a
  trivial grpc.aio server over mutual TLS (a separate process) to a client that only counts;
* the same entry rows inserted with executemany, one transaction per batch, into a SQLite
  table of the same shape (A's own DDL: primary key and indexes) in WAL mode,
  synchronous=NORMAL, like the node's store.
The floor is the sum of the two (the node does both, batch after batch).

Peer to beat: PostgreSQL 15 logical replication copying the same rows between two local
clusters (tests/pgserver.py; wal_level=logical on the publisher): publication on one,
subscription on the other; timed from CREATE SUBSCRIPTION until the subscriber's row count
matches (initial table sync; nothing verified, nothing folded).

Targets: >= 50,000 entries/s and B's peak RSS <= 300 MB.

``--store postgresql``: B stores into PostgreSQL 15 (a throwaway cluster the benchmark starts,
tests/pgserver.py; a fresh database per run), as a region that outgrows SQLite runs it. The
insert floor is then executemany into a same-shaped PostgreSQL table of the same cluster, one
transaction per batch (psycopg, like the node's store); the stream floor and the PostgreSQL
logical-replication peer are the same.

A and B run the node exactly as shipped (the blacklist expiry scheduler reads only due
listings, by key, so it no longer competes with the catch-up). B starts its catch-up helper
process (node.replication.worker) for this stream, as it does for any stream that starts >= 5,000
entries behind: the peak RSS reported is B's plus its helper's, and the CPU seconds of A, B
and the helper during the catch-up are printed (all of them share the machine's cores).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import psycopg

from bench.common import (
    REPO,
    RESULTS_DIR,
    AdminClient,
    NodeProcess,
    Pki,
    cached_origin,
    child_pids,
    cpu_seconds,
    entry_rows,
    median,
    peak_rss_bytes,
    wait_until,
)
from ccnode.v1 import federation_pb2
from node.config import Limits
from node.identity.spiffe import peer_dns_name
from node.replication.cutting import cut_batch
from node.store import open_store
from node.store.sql import SQLITE_PAGE_BYTES
from tests.pgserver import PgServer, find_bindir

ORIGIN = "chengdu"
READER = "chongqing"
TARGET_RATE = 50_000
TARGET_RSS_BYTES = 300 * 1000 * 1000
POLL_S = 0.05
CATCH_UP_TIMEOUT_S = 3600.0
FLOOR_METHOD = "/ccnode.bench.Floor/Stream"
GRPC_OPTIONS = [
    ("grpc.max_receive_message_length", Limits().grpc_message_bytes_max),
    ("grpc.max_send_message_length", Limits().grpc_message_bytes_max),
]
ENTRY_COLUMNS = "origin, idx, kind, subject, actor, hlc, leaf_hash, header, salt, payload"


@dataclass(frozen=True)
class CatchUp:
    seconds: float
    peak_rss_bytes: int  # B's process
    helper_rss_bytes: int  # B's catch-up helper process (node.replication.worker), if it ran
    cpu_s: dict[str, float]  # CPU seconds during the catch-up: A, B, B's helper


# ---------------------------------------------------------------- the node


def catch_up_once(
    root: Path,
    a_pid: int,
    a_port: int,
    a_tree: bytes,
    n: int,
    work: Path,
    run: int,
    pg: PgServer | None = None,
) -> CatchUp:
    """A fresh B subscribes to A; seconds until B holds all n entries, B's peak RSS (and its
    helper's) and the CPU time each process used meanwhile. ``pg``: B's store is a fresh
    database of that server."""
    home = work / f"b{run}"
    Pki(root).home(home, READER, db=pg.create_database(f"b{run}") if pg is not None else "")
    b = NodeProcess(home)
    client = None
    try:
        b.start()
        client = AdminClient(home)
        cpu_before = {"A": cpu_seconds(a_pid), "B": cpu_seconds(b.pid)}
        started_s = time.perf_counter()
        client.add_peer(ORIGIN, a_port)
        helpers: dict[int, tuple[int, float]] = {}  # pid -> (peak RSS, CPU s), while alive

        def caught_up() -> bool:
            for pid in child_pids(b.pid):
                with contextlib.suppress(OSError, RuntimeError):
                    helpers[pid] = (peak_rss_bytes(pid), cpu_seconds(pid))
            return client.origin_view(ORIGIN)[0] >= n

        wait_until(caught_up, CATCH_UP_TIMEOUT_S, POLL_S)
        seconds = time.perf_counter() - started_s
        cpu_s = {
            "A": cpu_seconds(a_pid) - cpu_before["A"],
            "B": cpu_seconds(b.pid) - cpu_before["B"],
            "B's helper": sum(cpu for _, cpu in helpers.values()),
        }
        rss = peak_rss_bytes(b.pid)
        helper_rss = sum(peak for peak, _ in helpers.values())
        if client.origin_view(ORIGIN) != (n, a_tree):
            raise AssertionError("B's log of A differs from A's")
        if client.listed(ORIGIN) != n:
            raise AssertionError("B did not fold every listing")
        return CatchUp(seconds, rss, helper_rss, cpu_s)
    finally:
        if client is not None:
            client.close()
        b.stop()
        shutil.rmtree(home, ignore_errors=True)


def a_root(root: Path) -> bytes:
    a = AdminClient(root / "homes" / ORIGIN)
    try:
        return a.origin_view(ORIGIN)[1]
    finally:
        a.close()


# ---------------------------------------------------------------- floor: gRPC stream


def serialised_batches(db_path: Path, n: int) -> list[bytes]:
    """The SyncMessages A sends B, cut by A's own code (node.replication.cutting)."""
    store = open_store(db_path)
    try:
        limits = Limits()
        out: list[bytes] = []
        sizes: dict[str, list[int]] = {}
        have = 0
        while have < n:
            batch = cut_batch(
                store,
                ORIGIN,
                have,
                n,
                limits.batch_entries_max,
                limits.batch_bytes_max,
                READER,
                sizes,
            )
            assert batch is not None
            out.append(federation_pb2.SyncMessage(batch=batch).SerializeToString())
            have = batch.first_index + len(batch.entries)
        return out
    finally:
        store.close()


async def _serve_floor(root: Path, n: int) -> None:
    messages = serialised_batches(root / "homes" / ORIGIN / "ccnode.db", n)
    certs = root / "certs" / ORIGIN

    async def stream(request: bytes, context: grpc.aio.ServicerContext) -> object:
        for message in messages:
            yield message

    handler = grpc.method_handlers_generic_handler(
        "ccnode.bench.Floor", {"Stream": grpc.unary_stream_rpc_method_handler(stream)}
    )
    server = grpc.aio.server(options=GRPC_OPTIONS)
    server.add_generic_rpc_handlers((handler,))
    creds = grpc.ssl_server_credentials(
        [((certs / "tls.key").read_bytes(), (certs / "tls.pem").read_bytes())],
        root_certificates=(certs / "ca.pem").read_bytes(),
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", creds)
    await server.start()
    print(f"ready {port} {len(messages)} {sum(map(len, messages))}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until EOF
    await server.stop(None)


async def _count_stream(root: Path, port: int) -> tuple[float, int, int]:
    certs = root / "certs" / READER
    creds = grpc.ssl_channel_credentials(
        root_certificates=(certs / "ca.pem").read_bytes(),
        private_key=(certs / "tls.key").read_bytes(),
        certificate_chain=(certs / "tls.pem").read_bytes(),
    )
    options = [
        *GRPC_OPTIONS,
        ("grpc.ssl_target_name_override", peer_dns_name("chengyu.court", ORIGIN)),
    ]
    async with grpc.aio.secure_channel(f"127.0.0.1:{port}", creds, options=options) as channel:
        await channel.channel_ready()
        call = channel.unary_stream(FLOOR_METHOD)
        count = total_bytes = 0
        started_s = time.perf_counter()
        async for message in call(b""):
            count += 1
            total_bytes += len(message)
        return time.perf_counter() - started_s, count, total_bytes


def stream_floor(root: Path, n: int) -> tuple[float, int]:
    """Seconds to stream A's batches over mTLS to a counting client, and the bytes sent."""
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_catchup", "--serve-floor", str(root), str(n)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdin is not None
        ready = server.stdout.readline().split()
        if not ready or ready[0] != "ready":
            raise RuntimeError("floor server did not start")
        port, messages, sent_bytes = int(ready[1]), int(ready[2]), int(ready[3])
        seconds, count, received = asyncio.run(_count_stream(root, port))
        assert (count, received) == (messages, sent_bytes), "floor stream lost messages"
        return seconds, sent_bytes
    finally:
        if server.stdin is not None:
            server.stdin.close()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout is not None:
            server.stdout.close()


# ---------------------------------------------------------------- floor: SQLite insert


def batch_ends(db_path: Path, n: int) -> list[int]:
    """Where A's batches end (its checkpoint sizes up to n, as _cut_batch cuts them)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        sizes = [
            s
            for (s,) in conn.execute(
                "SELECT size FROM checkpoints WHERE origin = ? AND size <= ? ORDER BY size",
                (ORIGIN, n),
            )
        ]
    finally:
        conn.close()
    return sizes


def insert_floor(db_path: Path, n: int, work: Path) -> float:
    """Seconds to executemany A's entry rows, batch by batch, into a same-shaped SQLite table."""
    source = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        ddl = [
            sql
            for (sql,) in source.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'entries' AND sql IS NOT NULL"
            )
        ]
    finally:
        source.close()
    target_path = work / "floor.db"
    target = sqlite3.connect(target_path, isolation_level=None)
    try:
        target.execute(f"PRAGMA page_size = {SQLITE_PAGE_BYTES}")  # as the node's store
        target.execute("PRAGMA journal_mode = WAL")
        target.execute("PRAGMA synchronous = NORMAL")
        for statement in ddl:
            target.execute(statement)
        insert = f"INSERT INTO entries ({ENTRY_COLUMNS}) VALUES ({', '.join('?' * 10)})"
        seconds = 0.0
        have = 0
        rows_iter = entry_rows(db_path, ORIGIN)
        for end in batch_ends(db_path, n):
            rows = rows_iter.fetchmany(end - have)
            have = end
            started_s = time.perf_counter()
            target.execute("BEGIN")
            target.executemany(insert, rows)
            target.execute("COMMIT")
            seconds += time.perf_counter() - started_s
        assert have == n
        return seconds
    finally:
        target.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target_path}{suffix}").unlink(missing_ok=True)


def insert_floor_pg(db_path: Path, n: int, server: PgServer) -> float:
    """Seconds to executemany A's entry rows, batch by batch, into a same-shaped PostgreSQL
    table (one transaction per batch), on ``server``."""
    server.create_database("floor")
    with psycopg.connect(
        host="127.0.0.1", port=server.port, user="postgres", dbname="floor"
    ) as conn:
        for statement in PG_TABLE.split(";"):
            conn.execute(statement)
        conn.commit()
        insert = f"INSERT INTO entries ({ENTRY_COLUMNS}) VALUES ({', '.join(['%s'] * 10)})"
        seconds = 0.0
        have = 0
        rows_iter = entry_rows(db_path, ORIGIN)
        for end in batch_ends(db_path, n):
            rows = rows_iter.fetchmany(end - have)
            have = end
            started_s = time.perf_counter()
            with conn.cursor() as cursor:
                cursor.executemany(insert, rows)
            conn.commit()
            seconds += time.perf_counter() - started_s
        assert have == n
    return seconds


# ---------------------------------------------------------------- PostgreSQL logical replication


class LogicalPgServer(PgServer):
    """A throwaway cluster that can publish (wal_level=logical)."""

    def _write_settings(self) -> None:
        super()._write_settings()
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("wal_level = logical\nmax_wal_senders = 10\nmax_replication_slots = 10\n")


PG_TABLE = """
CREATE TABLE entries (
    origin text COLLATE "C" NOT NULL, idx bigint NOT NULL, kind integer NOT NULL,
    subject text COLLATE "C" NOT NULL, actor text COLLATE "C" NOT NULL, hlc bigint NOT NULL,
    leaf_hash bytea NOT NULL, header bytea NOT NULL, salt bytea NOT NULL, payload bytea,
    PRIMARY KEY (origin, idx)
);
CREATE INDEX ON entries (subject);
CREATE INDEX ON entries (kind, actor)
"""


def _pg_connect(server: PgServer) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host="127.0.0.1", port=server.port, user="postgres", dbname="bench", autocommit=True
    )


def pg_logical_replication(db_path: Path, n: int) -> float | None:
    """Seconds for PostgreSQL's initial table sync of the same n rows (None: no server)."""
    bindir = find_bindir()
    if bindir is None:
        return None
    publisher, subscriber = LogicalPgServer(bindir), PgServer(bindir)
    try:
        for server in (publisher, subscriber):
            server.start()
            server.create_database("bench")
            with _pg_connect(server) as conn:
                for statement in PG_TABLE.split(";"):
                    conn.execute(statement)
        with _pg_connect(publisher) as conn, conn.cursor() as cursor:
            with cursor.copy(f"COPY entries ({ENTRY_COLUMNS}) FROM STDIN") as copy:
                rows_iter = entry_rows(db_path, ORIGIN)
                while rows := rows_iter.fetchmany(10_000):
                    for row in rows:
                        copy.write_row(row)
            conn.execute("CREATE PUBLICATION bench_pub FOR TABLE entries")
        with _pg_connect(subscriber) as conn:
            started_s = time.perf_counter()
            conn.execute(
                "CREATE SUBSCRIPTION bench_sub CONNECTION "
                f"'host=127.0.0.1 port={publisher.port} user=postgres dbname=bench' "
                "PUBLICATION bench_pub"
            )

            def synced() -> bool:
                pending = conn.execute(
                    "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate NOT IN ('r', 's')"
                ).fetchone()
                if pending is None or pending[0] != 0:
                    return False
                count = conn.execute("SELECT count(*) FROM entries").fetchone()
                return count is not None and count[0] == n

            wait_until(synced, CATCH_UP_TIMEOUT_S, 0.01)
            seconds = time.perf_counter() - started_s
            conn.execute("ALTER SUBSCRIPTION bench_sub DISABLE")
            conn.execute("ALTER SUBSCRIPTION bench_sub SET (slot_name = NONE)")
            conn.execute("DROP SUBSCRIPTION bench_sub")
        return seconds
    finally:
        subscriber.stop()
        publisher.stop()


# ---------------------------------------------------------------- report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 entries")
    parser.add_argument("--runs", type=int, default=3, help="node catch-ups (median)")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="cache directory")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL peer")
    parser.add_argument(
        "--store",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="B's store (postgresql: a cluster the benchmark starts)",
    )
    parser.add_argument("--serve-floor", nargs=2, metavar=("ROOT", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_floor:
        asyncio.run(_serve_floor(Path(args.serve_floor[0]), int(args.serve_floor[1])))
        return
    n = 100_000 if args.quick else args.entries
    root = cached_origin(n, args.results, ORIGIN)
    db_path = root / "homes" / ORIGIN / "ccnode.db"
    runs: list[CatchUp] = []
    pg: PgServer | None = None
    if args.store == "postgresql":
        bindir = find_bindir()
        if bindir is None:
            parser.error("--store postgresql needs PostgreSQL server binaries (make postgres)")
        pg = PgServer(bindir)
        pg.start()
    try:
        with tempfile.TemporaryDirectory(prefix="ccnode-bench-") as tmp:
            work = Path(tmp)
            a = NodeProcess(root / "homes" / ORIGIN)
            try:
                a_port = a.start()
                a_tree = a_root(root)
                for run in range(args.runs):
                    runs.append(catch_up_once(root, a.pid, a_port, a_tree, n, work, run, pg))
                    print(f"  run {run + 1}: {runs[-1].seconds:.2f} s", flush=True)
            finally:
                a.stop()
            stream_s, stream_bytes = stream_floor(root, n)
            insert_s = (
                insert_floor(db_path, n, work) if pg is None else insert_floor_pg(db_path, n, pg)
            )
            pg_s = None if args.no_postgres else pg_logical_replication(db_path, n)
    finally:
        if pg is not None:
            pg.stop()
    report(n, runs, stream_s, stream_bytes, insert_s, pg_s, args.no_postgres, args.store)


def report(
    n: int,
    runs: list[CatchUp],
    stream_s: float,
    stream_bytes: int,
    insert_s: float,
    pg_s: float | None,
    pg_skipped: bool,
    store: str = "sqlite",
) -> None:
    node_s = median([r.seconds for r in runs])
    rss = max(r.peak_rss_bytes + r.helper_rss_bytes for r in runs)
    helper_rss = max(r.helper_rss_bytes for r in runs)
    floor_s = stream_s + insert_s
    rate = n / node_s
    print(
        f"ccnode catch-up: {n:,} blacklist entries (~{stream_bytes // n} bytes each on the "
        f"wire), A -> fresh B over mTLS on 127.0.0.1, B on "
        f"{'PostgreSQL 15' if store == 'postgresql' else 'SQLite'}; median of {len(runs)} run(s)"
    )
    print("  runs (s): " + ", ".join(f"{r.seconds:.2f}" for r in runs))
    print(f"{'workload':56} {'seconds':>8} {'per second':>12} {'x floor':>8}")
    rows = [
        ("floor: gRPC stream of A's batches, mTLS, count only", stream_s, None),
        (
            "floor: executemany into same-shaped PostgreSQL table"
            if store == "postgresql"
            else "floor: executemany into same-shaped SQLite table, WAL",
            insert_s,
            None,
        ),
        ("floor: stream + insert", floor_s, 1.0),
        ("node: catch-up, verified, stored and folded (median)", node_s, node_s / floor_s),
    ]
    if pg_s is not None:
        rows.append(("PostgreSQL 15 logical replication, initial sync", pg_s, pg_s / floor_s))
    for name, seconds, ratio in rows:
        ratio_text = f"{ratio:8.2f}" if ratio is not None else f"{'':8}"
        print(f"{name:56} {seconds:8.2f} {n / seconds:12,.0f} {ratio_text}")
    if pg_s is not None:
        print(f"node rate / PostgreSQL rate: {pg_s / node_s:.2f}")
    elif pg_skipped:
        print("PostgreSQL logical replication: skipped (--no-postgres)")
    else:
        print("PostgreSQL logical replication: skipped (no PostgreSQL server binaries)")
    middle = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]
    print(
        "CPU seconds in the median run: "
        + ", ".join(f"{who} {cpu:.1f}" for who, cpu in middle.cpu_s.items())
        + f" ({sum(middle.cpu_s.values()) / middle.seconds:.2f} cores busy on average)"
    )
    rss_verdict = "ok" if rss <= TARGET_RSS_BYTES else "MISSED"
    print(
        f"B peak RSS (VmHWM, max over runs, B + its catch-up helper): {rss / 1e6:.0f} MB, "
        f"of which the helper {helper_rss / 1e6:.0f} MB "
        f"(target <= {TARGET_RSS_BYTES / 1e6:.0f} MB: {rss_verdict})"
    )
    print(
        f"catch-up rate: {rate:,.0f} entries/s "
        f"(target >= {TARGET_RATE:,}: {'ok' if rate >= TARGET_RATE else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
