"""``ccnode audit report --out report.html``: one self-contained HTML page for auditors.

Sections: log sizes per origin (and entries by kind); checkpoints and witness cosignatures
over time; replication lag between regions; asset lookups per requester with their answers;
overdue delegated tasks; refused calls; reads of personal data by actor; equivocation
evidence. Everything comes from the logs (entry headers: no payload is read, so producing the
report reads no personal data) and from what the node records (refusals, evidence, peers).

Lookups and tasks appear only when there is something to show. With a local ``--home`` and
the business's folded table present (``lookups``, ``tasks`` in node.store.base.STATE_TABLES)
the report uses the table; otherwise it counts the entries by kind from the headers.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519

from ccnode.v1 import admin_pb2, audit_pb2, log_pb2
from cli.audit.labels import kind_label
from cli.audit.report_html import render
from cli.audit.sources import LocalSource, RemoteSource, SourceSpec, open_source, source_options
from cli.common.client import node_client
from cli.common.errors import NodeNotRunning
from cli.output import err_console
from node.clock import CST, SystemClock
from node.store.base import STATE_TABLES, RowQuery
from sync.checkpoint import CosignatureVerifier, cosignature_timestamp, origin_line
from sync.entry import EntryError, Header, decode_header
from sync.folds import access as access_fold
from sync.hlc import physical_ms
from sync.note import NoteError, parse_note

TIMELINE_POINTS_MAX = 200  # checkpoints drawn per origin (evenly sampled, the latest always)
REFUSALS_READ_MAX = 10_000
REFUSALS_PAGE = 1_000  # the node's page bound (node/store/base.py, REFUSALS_PAGE_MAX)
REFUSALS_SHOWN = 50
ROWS_PAGE = 1000
# DESIGN.md section 3: 7 days to register a delegated task; escalation after 6 months.
REGISTER_DAYS = 7
ESCALATION_DAYS = 183
TASK_TERMINAL_KINDS = frozenset(
    {log_pb2.TASK_COMPLETED, log_pb2.TASK_FAILED, log_pb2.TASK_REJECTED, log_pb2.TASK_CANCELLED}
)
TASK_REGISTERED_KINDS = frozenset(
    {log_pb2.TASK_ACCEPTED, log_pb2.TASK_RETURNED, log_pb2.TASK_PROGRESS} | TASK_TERMINAL_KINDS
)
TASK_TERMINAL_STATUSES = frozenset({"completed", "failed", "rejected", "cancelled"})
LOOKUP_KINDS = frozenset({log_pb2.LOOKUP_REQUESTED, log_pb2.LOOKUP_ANSWERED, log_pb2.LOOKUP_DENIED})


# ---------------------------------------------------------------- scanning the headers


@dataclass
class _Task:
    delegated_ms: int = 0
    kinds: set[int] = field(default_factory=set)


@dataclass
class Scan:
    """What the headers of every origin say, gathered in one pass."""

    kinds: dict[str, Counter[str]] = field(default_factory=dict)
    newest_ms: dict[str, int] = field(default_factory=dict)
    times: dict[tuple[str, int], int] = field(default_factory=dict)  # (origin, size) -> ms
    requested: Counter[str] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)
    denied: Counter[str] = field(default_factory=Counter)
    tasks: dict[str, _Task] = field(default_factory=dict)
    access: Counter[str] = field(default_factory=Counter)

    def add(self, h: Header, sampled_sizes: set[int]) -> None:
        at_ms = physical_ms(h.hlc)
        self.kinds.setdefault(h.origin, Counter())[kind_label(h.kind)] += 1
        self.newest_ms[h.origin] = max(self.newest_ms.get(h.origin, 0), at_ms)
        if h.index + 1 in sampled_sizes:
            self.times[(h.origin, h.index + 1)] = at_ms
        if h.kind == log_pb2.LOOKUP_REQUESTED:
            self.requested[h.origin] += 1
        elif h.kind in (log_pb2.LOOKUP_ANSWERED, log_pb2.LOOKUP_DENIED):
            # The answer is addressed to {requester, target}: the requester is the other one.
            requester = next((a for a in h.audience if a != h.origin), "?")
            (self.answered if h.kind == log_pb2.LOOKUP_ANSWERED else self.denied)[requester] += 1
        elif log_pb2.TASK_DELEGATED <= h.kind <= log_pb2.TASK_CANCELLED:
            task = self.tasks.setdefault(h.subject, _Task())
            task.kinds.add(h.kind)
            if h.kind == log_pb2.TASK_DELEGATED:
                task.delegated_ms = at_ms
        elif h.kind == log_pb2.ACCESS_RECORDED:
            self.access[h.actor] += 1


def _sample(sizes: Sequence[int]) -> list[int]:
    if len(sizes) <= TIMELINE_POINTS_MAX:
        return list(sizes)
    step = len(sizes) / (TIMELINE_POINTS_MAX - 1)
    picked = {sizes[int(i * step)] for i in range(TIMELINE_POINTS_MAX - 1)}
    return sorted(picked | {sizes[-1]})


def _cosigners(certs: dict[str, str], trust_domain: str) -> list[tuple[str, CosignatureVerifier]]:
    """Witness keys from the log certificates the node holds (drawn, not audited here)."""
    out = []
    for node, pem in sorted(certs.items()):
        try:
            key = x509.load_pem_x509_certificate(pem.encode()).public_key()
        except ValueError:
            continue
        if isinstance(key, ed25519.Ed25519PublicKey):
            name = origin_line(trust_domain, node)
            out.append((node, CosignatureVerifier(name, key.public_bytes_raw())))
    return out


def _witness_points(
    note: str, size: int, cosigners: Sequence[tuple[str, CosignatureVerifier]]
) -> list[list[Any]]:
    try:
        parsed = parse_note(note)
    except NoteError:
        return []
    points = []
    for sig in parsed.signatures:
        for node, verifier in cosigners:
            if (sig.name, sig.key_id) == (verifier.name, verifier.key_id) and verifier.verify(
                parsed.text, sig
            ):
                points.append([cosignature_timestamp(sig) * 1000, size, node])
    return points


# ---------------------------------------------------------------- sections


def _lag(src: LocalSource | RemoteSource, own: dict[str, int]) -> dict[str, Any]:
    rows: dict[str, dict[str, int]] = {src.node_id: own}
    note = ""
    if isinstance(src, RemoteSource):
        status = src.client.call("Status", audit_pb2.AuditStatusRequest())
        for peer in status.peers:
            rows[peer.node_id] = dict(peer.peer_sizes)
        note = f"{src.node_id} 所见对等节点规模 peers' sizes as {src.node_id} last saw them"
    else:
        try:
            with node_client(src.config.home) as client:
                sync = client.call(
                    client.admin.SyncStatus,
                    admin_pb2.SyncStatusRequest(),
                    admin_pb2.SyncStatusResponse,
                )
                for peer in sync.peers:
                    rows[peer.peer.node_id] = dict(peer.peer_sizes)
            note = f"{src.node_id} 所见对等节点规模 peers' sizes as {src.node_id} last saw them"
        except (NodeNotRunning, click.ClickException):
            note = "节点未运行：仅显示本节点 node not running: this node's own view only"
    origins = sorted(own)
    latest = {o: max(r.get(o, 0) for r in rows.values()) for o in origins}
    return {
        "origins": origins,
        "rows": [
            {"node": node, "cells": {o: latest[o] - sizes.get(o, 0) for o in origins}}
            for node, sizes in rows.items()
        ],
        "note": note,
    }


def _table_rows(src: LocalSource | RemoteSource, table: str) -> list[dict[str, Any]] | None:
    """All rows of a folded-state table, when reading a local store that has it."""
    if not isinstance(src, LocalSource) or table not in STATE_TABLES:
        return None
    rows: list[dict[str, Any]] = []
    while True:
        page, total = src.store.query_rows(RowQuery(table, limit=ROWS_PAGE, offset=len(rows)))
        rows.extend(page)
        if not page or len(rows) >= total:
            return rows


def _lookups(src: LocalSource | RemoteSource, scan: Scan) -> dict[str, Any] | None:
    table = _table_rows(src, "lookups")
    if table:
        counts: dict[str, Counter[str]] = {}
        for row in table:
            counts.setdefault(str(row.get("origin")), Counter())[str(row.get("status"))] += 1
        rows = [
            {
                "requester": requester,
                "requested": sum(c.values()),
                "answered": c["answered"],
                "denied": c["denied"],
                "pending": sum(c.values()) - c["answered"] - c["denied"],
            }
            for requester, c in sorted(counts.items())
        ]
        return {"rows": rows, "note": "来自联查状态表 from the folded lookups table"}
    requesters = sorted(set(scan.requested) | set(scan.answered) | set(scan.denied))
    if not requesters:
        return None
    return {
        "rows": [
            {
                "requester": r,
                "requested": scan.requested[r],
                "answered": scan.answered[r],
                "denied": scan.denied[r],
                "pending": max(scan.requested[r] - scan.answered[r] - scan.denied[r], 0),
            }
            for r in requesters
        ],
        "note": "按日志条目类型统计 counted from entry kinds in the logs",
    }


def _agencies(src: LocalSource | RemoteSource) -> list[dict[str, Any]]:
    """Reads by agencies of joint punishment (Agency service calls), per agency and stated
    purpose, from the folded access table of a local store (the purpose is in the record's
    payload, which the headers do not carry; no personal data is read)."""
    table = _table_rows(src, "access")
    if not table:
        return []
    calls: Counter[tuple[str, str]] = Counter()
    for row in table:
        actor = str(row.get("actor") or "")
        if "/agency/" in actor:
            calls[(actor, access_fold.state_of(row).purpose)] += 1
    return [
        {"agency": actor, "purpose": purpose, "calls": n}
        for (actor, purpose), n in sorted(calls.items())
    ]


def _overdue(status: str, registered: bool, delegated: dt.date | None, today: dt.date) -> list[Any]:
    if delegated is None or status in TASK_TERMINAL_STATUSES:
        return []
    out = []
    due = delegated + dt.timedelta(days=REGISTER_DAYS)
    if not registered and today > due:
        out.append(("未在7日内立案 not registered within 7 days", due))
    due = delegated + dt.timedelta(days=ESCALATION_DAYS)
    if today > due:
        out.append(("逾6个月未结 unfinished after 6 months", due))
    return out


def _day(unix_ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(unix_ms / 1000, CST).date()


def _tasks(src: LocalSource | RemoteSource, scan: Scan, now_ms: int) -> dict[str, Any] | None:
    today = _day(now_ms)
    table = _table_rows(src, "tasks")
    by_status: Counter[str] = Counter()
    overdue = []
    if table:
        for row in table:
            status = str(row.get("status") or "unknown")
            by_status[status] += 1
            text = row.get("delegated_on")
            delegated = dt.date.fromisoformat(text) if isinstance(text, str) and text else None
            registered = status not in ("delegated", "unknown")
            for rule, due in _overdue(status, registered, delegated, today):
                overdue.append((str(row["key"]), status, rule, due))
        note = "来自任务状态表 from the folded tasks table"
    elif scan.tasks:
        for subject, task in sorted(scan.tasks.items()):
            status = "closed" if task.kinds & TASK_TERMINAL_KINDS else "open"
            by_status[status] += 1
            delegated = _day(task.delegated_ms) if task.delegated_ms else None
            registered = bool(task.kinds & TASK_REGISTERED_KINDS)
            for rule, due in _overdue(status, registered, delegated, today):
                overdue.append((subject, status, rule, due))
        note = "按日志条目类型推算 derived from entry kinds in the logs"
    else:
        return None
    return {
        "by_status": dict(sorted(by_status.items())),
        "overdue": [
            {"task": t, "status": s, "rule": r, "due_on": d.isoformat()} for t, s, r, d in overdue
        ],
        "note": note,
    }


def _refusal_row(r: Any) -> dict[str, Any]:
    return {"at_ms": r.at_unix_ms, "peer": r.peer, "identity": r.identity, "method": r.method,
            "reason": r.reason, "count": r.count}  # fmt: skip


def _local_refusals(store: Any) -> list[dict[str, Any]]:
    """Up to REFUSALS_READ_MAX rows, newest first, a bounded page at a time."""
    rows: list[dict[str, Any]] = []
    while len(rows) < REFUSALS_READ_MAX:
        page = store.refusals(min(REFUSALS_PAGE, REFUSALS_READ_MAX - len(rows)), len(rows))
        rows += [_refusal_row(r) for r in page]
        if not page:
            break
    return rows


def _remote_refusals(src: RemoteSource) -> tuple[list[dict[str, Any]], int]:
    """Up to REFUSALS_READ_MAX rows, newest first, page by page (each page within the message
    limit however many the node holds), and the node's total."""
    rows: list[dict[str, Any]] = []
    offset, total = 0, 0
    while len(rows) < REFUSALS_READ_MAX:
        request = audit_pb2.AuditRefusalsRequest(
            limit=min(REFUSALS_PAGE, REFUSALS_READ_MAX - len(rows)), offset=offset
        )
        reply = src.client.call("Refusals", request)
        rows += [_refusal_row(r) for r in reply.refusals]
        total = reply.total
        if not reply.next_offset:
            break
        offset = reply.next_offset
    return rows, total


def _refusals(src: LocalSource | RemoteSource) -> dict[str, Any] | None:
    if isinstance(src, LocalSource):
        rows = _local_refusals(src.store)
        total = src.store.refusal_count()
    else:
        try:
            rows, total = _remote_refusals(src)
        except click.ClickException:
            return None  # auditor only: a node certificate does not get them
    reasons: Counter[str] = Counter()
    for r in rows:
        reasons[str(r["reason"]).split(":")[0]] += int(r["count"])
    shown = sum(int(r["count"]) for r in rows)
    note = "" if total <= shown else f"最近 {len(rows)} 条 of {total} (latest shown)"
    return {
        "total": total,
        "by_reason": dict(sorted(reasons.items())),
        "latest": rows[:REFUSALS_SHOWN],
        "note": note,
    }


def _evidence(src: LocalSource | RemoteSource) -> list[dict[str, Any]]:
    if isinstance(src, LocalSource):
        records: Iterable[Any] = src.store.evidence()
    else:
        records = src.client.call("Evidence", audit_pb2.EvidenceListRequest()).evidence
    return [
        {"origin": e.origin, "detected_by": e.detected_by, "at_ms": e.detected_at_unix_ms}
        for e in records
    ]


# ---------------------------------------------------------------- gathering


def gather(src: LocalSource | RemoteSource, now_ms: int) -> dict[str, Any]:
    """Everything the page shows, as plain JSON-able data."""
    views = src.origins()
    cosigners = _cosigners(src.certificates(), src.trust_domain)
    scan = Scan()
    timeline = []
    for view in views:
        history = dict(src.checkpoints(view.origin, view.size))
        sampled = _sample(sorted(history))
        for read in src.entries(view.origin, 0, view.size):
            try:
                scan.add(decode_header(read.entry.header), set(sampled))
            except EntryError:
                continue  # broken entries are `audit verify`'s business
        timeline.append(
            {
                "origin": view.origin,
                "points": [
                    [scan.times[(view.origin, s)], s]
                    for s in sampled
                    if (view.origin, s) in scan.times
                ],
                "witness": [
                    point for s in sampled for point in _witness_points(history[s], s, cosigners)
                ],
            }
        )
    now = dt.datetime.fromtimestamp(now_ms / 1000, CST).strftime("%Y-%m-%d %H:%M")
    return {
        "title": f"审计报告 Audit report — {src.node_id}",
        "subtitle": f"信任域 {src.trust_domain} · 读取者 {src.reader} · 生成于 {now} (CST)",
        "node": src.node_id,
        "generated_at_ms": now_ms,
        "origins": [
            {
                "origin": v.origin,
                "size": v.size,
                "frozen": v.frozen,
                "frozen_reason": v.frozen_reason,
                "newest_ms": scan.newest_ms.get(v.origin, 0),
                "kinds": dict(sorted(scan.kinds.get(v.origin, Counter()).items())),
            }
            for v in views
        ],
        "timeline": timeline,
        "lag": _lag(src, {v.origin: v.size for v in views}),
        "lookups": _lookups(src, scan),
        "tasks": _tasks(src, scan, now_ms),
        "refusals": _refusals(src),
        "access": {"by_actor": dict(sorted(scan.access.items())), "agencies": _agencies(src)},
        "evidence": _evidence(src),
    }


@click.command("report")
@source_options
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The HTML file to write (self-contained: open it in any browser, offline).",
)
def report(
    home: Path | None, node: str | None, cert_dir: Path | None, node_id: str | None, out: Path
) -> None:
    """Write an HTML audit report: sizes, witnesses, lag, lookups, tasks, refusals."""
    with open_source(SourceSpec(home, node, cert_dir, node_id)) as src:
        data = gather(src, SystemClock().now_ms())
    out.write_text(render(data), encoding="utf-8")
    err_console().print(f"wrote {out}", markup=False)
