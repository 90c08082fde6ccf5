"""Shared helpers of the node benchmarks: a throwaway PKI, node homes, nodes as processes,
the admin API over the Unix socket, a bulk-built origin log, and statistics.

Nodes run as real processes (``python -m node HOME``, as in tests/integration/procs.py) so
that a node's peak memory can be read from ``/proc/<pid>/status`` and the benchmark's own
client work never shares a GIL with the node it measures.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import grpc

from ccnode.v1 import admin_pb2, admin_pb2_grpc, log_pb2, payloads_pb2
from node.config import Limits, NodeConfig, init_home
from node.identity.ca import init_ca, issue_node
from node.identity.keyfiles import load_log_signing_key
from node.ownlog import preparers
from node.ownlog.writer import (
    CHECKPOINT_INTERVAL_ENTRIES,
    Draft,
    PrepareContext,
    RowReader,
)
from node.store import open_store
from node.store.base import OfficerRecord, OriginState, RowChange, Store, StoredEntry
from sync.checkpoint import Checkpoint, origin_line, sign_checkpoint
from sync.entry import SALT_BYTES, decode_header, make_entry
from sync.folds import fold_batch
from sync.merkle import Frontier
from sync.note import Ed25519Signer
from sync.payload import encode_payload

TRUST_DOMAIN = "chengyu.court"
CERTS_FROM = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "bench" / "results"
ADMIN_TIMEOUT_S = 60.0
# Entries per store.append while bulk-building a log: LocalLog's group size (Limits), signed
# every CHECKPOINT_INTERVAL_ENTRIES like the node does.
BUILD_GROUP_ENTRIES = Limits().checkpoint_entries_max
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


# ---------------------------------------------------------------- PKI and homes


class Pki:
    """A federation CA in ``root/ca`` and node certificates in ``root/certs/<id>``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        if not (root / "ca" / "ca.pem").exists():
            init_ca(root / "ca", trust_domain=TRUST_DOMAIN, now=CERTS_FROM)

    def certs(self, node_id: str) -> Path:
        out = self.root / "certs" / node_id
        if not (out / "log.key").exists():
            issue_node(
                self.root / "ca", node_id, out, court_prefixes=["川01"], days=3650, now=CERTS_FROM
            )
        return out

    def home(self, home: Path, node_id: str, *, db: str = "", **limits: int) -> NodeConfig:
        """A node home listening on a free loopback port, on ``db`` (default: SQLite in the
        home), with optional limit overrides."""
        config = init_home(
            home,
            node_id=node_id,
            listen="127.0.0.1:0",
            certs=self.certs(node_id),
            trust_domain=TRUST_DOMAIN,
            court_prefixes=["川01"],
            db=db,
        )
        config.metrics_listen = ""  # off: several nodes on one host
        config.save()
        if limits:
            for key, value in limits.items():
                setattr(config.limits, key, value)
            config.save()
        register_officers(config)
        return config


# The actors the benchmarks submit as: registered officers of the node's court (川01).
BENCH_OFFICERS = ("bench", "法官王五")


def register_officers(config: NodeConfig) -> None:
    """Register BENCH_OFFICERS in the (stopped) node's store: every --actor must be one."""
    store = open_store(config.db_url)
    try:
        for officer_id in BENCH_OFFICERS:
            store.put_officer(OfficerRecord(officer_id, "川01", officer_id, "clerk"))
    finally:
        store.close()


# ---------------------------------------------------------------- processes and admin API


def peak_rss_bytes(pid: int) -> int:
    """VmHWM (the peak resident set size) of a live process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc status")


def child_pids(pid: int) -> list[int]:
    """Live child processes of ``pid`` (the node's catch-up helper, node.replication.worker)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(_stat_fields(int(stat.parent.name))[1])
        except OSError:
            continue  # exited meanwhile
        if parent == pid:
            children.append(int(stat.parent.name))
    return children


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process has used so far."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name (field 3, the state, first)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


class NodeProcess:
    """A node as a real process (as tests/integration/procs.py): start, read the port, stop.

    ``extensions=False`` runs the node without its background extensions (the blacklist
    expiry scheduler): see bench_catchup for why the origin of a catch-up runs without it.
    """

    def __init__(self, home: Path, *, extensions: bool = True) -> None:
        self.home = home
        self.extensions = extensions
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0

    @property
    def pid(self) -> int:
        assert self.proc is not None, "node not running"
        return self.proc.pid

    def start(self, timeout_s: float = 60.0) -> int:
        command = [sys.executable, "-m", "node", str(self.home)]
        if not self.extensions:
            command = [sys.executable, "-m", "bench.common", "serve-without-extensions"]
            command.append(str(self.home))
        with open(self.home / "node.log", "a", encoding="utf-8") as log:
            self.proc = subprocess.Popen(
                command,
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env={**os.environ, "CCNODE_LOG": "WARNING"},
            )
        deadline = time.monotonic() + timeout_s
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                tail = (self.home / "node.log").read_text()[-2000:]
                raise RuntimeError(f"node exited: {tail}")
            if "(port " in line:
                self.port = int(line.rsplit("(port ", 1)[1].rstrip(")\n"))
                return self.port
        raise TimeoutError("node did not report its port")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None


class AdminClient:
    """The admin API of a node over its Unix socket (blocking stubs: precise, no event loop)."""

    def __init__(self, home: Path) -> None:
        self._channel = grpc.insecure_channel(f"unix://{home / 'admin.sock'}")
        self.stub = admin_pb2_grpc.AdminStub(self._channel)

    def add_peer(self, node_id: str, port: int) -> None:
        peer = admin_pb2.Peer(node_id=node_id, address=f"127.0.0.1:{port}")
        self.stub.AddPeer(admin_pb2.AddPeerRequest(peer=peer), timeout=ADMIN_TIMEOUT_S)

    def origin_view(self, origin: str) -> tuple[int, bytes]:
        """(size, root) of ``origin``'s log as this node holds it ((0, b"") if none)."""
        status = self.stub.SyncStatus(admin_pb2.SyncStatusRequest(), timeout=ADMIN_TIMEOUT_S)
        for o in status.origins:
            if o.origin == origin:
                return o.size, o.root
        return 0, b""

    def listed(self, origin: str) -> int:
        """How many listings of ``origin`` this node has folded."""
        reply = self.stub.BlacklistSearch(
            admin_pb2.BlacklistSearchRequest(origin=origin, limit=1), timeout=ADMIN_TIMEOUT_S
        )
        return int(reply.total)

    def close(self) -> None:
        self._channel.close()


def wait_until(check: Callable[[], bool], timeout_s: float, interval_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout_s} s")
        time.sleep(interval_s)


# ---------------------------------------------------------------- a bulk-built origin log


def resident_id(seq: int) -> str:
    """A distinct, checksum-valid resident ID for each seq < 36,500,000 (area 510104)."""
    birth = dt.date(1960, 1, 1) + dt.timedelta(days=seq // 1000 % 36_500)
    body = f"510104{birth:%Y%m%d}{seq % 1000:03d}"
    total = sum(int(c) * w for c, w in zip(body, ID_WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def listing_draft(seq: int) -> admin_pb2.Draft:
    """The admin API draft of one new listing (a person, ground G1, court 川0104)."""
    record = payloads_pb2.BlacklistRecord(
        case_number=f"（2024）川0104执{seq % 100_000 + 1}号",
        court="川0104",
        debtor=payloads_pb2.Debtor(
            type=payloads_pb2.PERSON, name=f"债务人{seq}", id_number=resident_id(seq)
        ),
        obligation="支付货款人民币100000元",
        performance="未履行",
        ground=payloads_pb2.G1,
        basis_issuer="成都市锦江区人民法院",
        basis_number="（2023）川0104民初5678号",
        filed_on="2024-01-15",
    )
    return admin_pb2.Draft(
        kind=log_pb2.BLACKLIST_LISTED,
        payload=payloads_pb2.Payload(blacklist_listed=payloads_pb2.BlacklistListed(record=record)),
    )


def _prepared_template(store: Store, node_id: str) -> payloads_pb2.Payload:
    """One listing through the node's own validation, as LocalLog would append it."""
    draft = listing_draft(0)
    ctx = PrepareContext(node_id, ("川01",), dt.date(2025, 3, 3), 0)
    ready, _ = preparers.prepare(Draft(draft.kind, draft.payload), RowReader(store, {}), ctx)
    return ready.payload


def build_log(home: Path, node_id: str, n: int, *, progress: bool = True) -> None:
    """Append ``n`` listings to the node's own log in its store, by the node's code path.

    As LocalLog does, but without the per-draft validation (done once, for the template;
    the entries differ only by debtor name and ID number): entries by make_entry, folded by
    fold_batch, committed by ``store.append`` in groups of BUILD_GROUP_ENTRIES under
    checkpoints signed every CHECKPOINT_INTERVAL_ENTRIES with the node's own log key.
    """
    config = NodeConfig.load(home)
    key = load_log_signing_key(config.certs_dir / "log.key", config.certs_dir / "log.pem")
    signer = Ed25519Signer(origin_line(config.trust_domain, node_id), key)
    store = open_store(config.db_url)
    try:
        template = _prepared_template(store, node_id)
        frontier = Frontier()
        hlc0 = 1_740_000_000_000 << 16
        started_s = time.monotonic()
        for start in range(0, n, BUILD_GROUP_ENTRIES):
            end = min(n, start + BUILD_GROUP_ENTRIES)
            stored = [_built_entry(node_id, i, template, hlc0 + i) for i in range(start, end)]
            checkpoints = []
            for entry in stored:
                frontier.append(entry.leaf_hash)
                if frontier.size % CHECKPOINT_INTERVAL_ENTRIES == 0 or frontier.size == end:
                    cp = Checkpoint(signer.name, frontier.size, frontier.root())
                    checkpoints.append((frontier.size, sign_checkpoint(cp, signer)))
            folded = fold_batch([(decode_header(e.header), e.payload) for e in stored], {})
            assert not folded.ignored, folded.ignored[:1]
            final_size, final_note = checkpoints[-1]
            store.append(
                origin=node_id,
                expected_size=start,
                entries=stored,
                state=OriginState(
                    origin=node_id,
                    size=final_size,
                    root=frontier.root(),
                    frontier=frontier.to_bytes(),
                    checkpoint_note=final_note,
                ),
                changes=[RowChange(t, k, row) for (t, k), row in folded.changes.items()],
                checkpoints=checkpoints[:-1],
            )
            if progress and (end // BUILD_GROUP_ENTRIES) % 100 == 0:
                rate = end / (time.monotonic() - started_s)
                print(f"  built {end:,} of {n:,} entries ({rate:,.0f}/s)", flush=True)
    finally:
        store.close()


def _built_entry(node_id: str, index: int, template: payloads_pb2.Payload, hlc: int) -> StoredEntry:
    payload_pb = payloads_pb2.Payload()
    payload_pb.CopyFrom(template)
    debtor = payload_pb.blacklist_listed.record.debtor
    debtor.name = f"债务人{index}"
    debtor.id_number = resident_id(index)
    payload = encode_payload(log_pb2.BLACKLIST_LISTED, payload_pb)
    subject = f"{node_id}/bl/{index}"
    entry = make_entry(
        origin=node_id,
        index=index,
        kind=log_pb2.BLACKLIST_LISTED,
        subject=subject,
        actor="import",
        hlc=hlc,
        payload=payload,
        salt=secrets.token_bytes(SALT_BYTES),
    )
    return StoredEntry(
        origin=node_id,
        index=index,
        kind=log_pb2.BLACKLIST_LISTED,
        subject=subject,
        actor="import",
        hlc=hlc,
        leaf_hash=entry.leaf_hash(),
        header=entry.header,
        salt=entry.salt,
        payload=payload,
    )


def cached_origin(n: int, results_dir: Path, node_id: str = "chengdu") -> Path:
    """The federation root holding a CA and ``node_id``'s home with an ``n``-entry log.

    Built once per ``n`` under ``results_dir/catchup-<n>`` (into a temporary directory,
    renamed when complete, so an interrupted build is never reused).
    """
    root = results_dir / f"catchup-{n}"
    # The log's checkpoint cadence is part of what was built: a cache built with another
    # cadence (an older version of the node) is built again.
    stamp = (
        f"{n} entries, checkpoint every {CHECKPOINT_INTERVAL_ENTRIES}, "
        f"groups of {BUILD_GROUP_ENTRIES}\n"
    )
    complete = root / "complete"
    if complete.exists() and complete.read_text() == stamp:
        return root
    partial = results_dir / f"catchup-{n}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        pki_ = Pki(partial)
        pki_.home(partial / "homes" / node_id, node_id)
        t0 = time.monotonic()
        print(f"building {node_id}'s log of {n:,} entries (once; cached in {root})", flush=True)
        build_log(partial / "homes" / node_id, node_id, n, progress=n >= 100_000)
        print(f"  built in {time.monotonic() - t0:.1f} s", flush=True)
        (partial / "complete").write_text(stamp)
        shutil.rmtree(root, ignore_errors=True)
        partial.rename(root)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return root


def entry_rows(db_path: Path, origin: str) -> sqlite3.Cursor:
    """A cursor over the stored entry rows of ``origin`` in index order (read-only; the
    connection closes when the cursor is garbage-collected)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    return conn.execute(
        "SELECT origin, idx, kind, subject, actor, hlc, leaf_hash, header, salt, payload "
        "FROM entries WHERE origin = ? ORDER BY idx",
        (origin,),
    )


# ---------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def _serve_without_extensions(home: Path) -> None:
    import dataclasses

    from node.runtime.registry import DEFAULT
    from node.runtime.serve import run_node

    run_node(home, dataclasses.replace(DEFAULT, background=()))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "serve-without-extensions":
        raise SystemExit("usage: python -m bench.common serve-without-extensions HOME")
    _serve_without_extensions(Path(sys.argv[2]))
