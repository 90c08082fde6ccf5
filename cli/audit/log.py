"""``ccnode audit log``: who did what, when and why, read from the logs.

Headers are read first (they hold no personal data beyond the acting officer) and filtered by
origin, kind, subject prefix, actor and time. Payloads are read only with ``--payloads
--purpose``, only for the entries shown, and only within the reader's rights: remotely through
Audit.Payloads (public entries, and restricted ones if the node grants this auditor), locally
through the node, which records the read first. Personal data in payloads is masked unless
``--reveal``, which the reader's rights must allow (granted auditors; the local operator).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ccnode.v1 import audit_pb2
from cli.audit.labels import hlc_time, kind_label, kind_name, parse_kind, payload_view, summary
from cli.audit.sources import (
    LocalSource,
    RemoteSource,
    SourceSpec,
    ids_of,
    open_source,
    record_local_read,
    source_options,
)
from cli.common.options import json_option
from cli.output import emit_json, print_table, table
from node.clock import CST
from sync.entry import EntryError, Header, decode_header
from sync.hlc import physical_ms
from sync.retention import purge_note, unix_ms_date

LIMIT_DEFAULT = 200


@dataclass(frozen=True, slots=True)
class Row:
    header: Header
    payload: bytes | None = None
    purged: str = ""  # "purged on DATE by retention rule R" when the source purged it


def _moment(text: str, *, end: bool) -> int:
    """Unix ms of a date (court-local day; --until includes the whole day) or ISO time."""
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            if end:
                day += dt.timedelta(days=1)
            moment = dt.datetime(day.year, day.month, day.day, tzinfo=CST)
        else:
            moment = dt.datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=CST)
    except ValueError:
        raise click.BadParameter(
            "must be YYYY-MM-DD or an ISO date-time", param_hint="--since/--until"
        ) from None
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class Filters:
    origins: tuple[str, ...]
    kinds: frozenset[int]
    subject: str
    actor: str
    since_ms: int | None
    until_ms: int | None

    def keep(self, h: Header) -> bool:
        at_ms = physical_ms(h.hlc)
        return (
            (not self.kinds or h.kind in self.kinds)
            and h.subject.startswith(self.subject)
            and (not self.actor or h.actor == self.actor)
            and (self.since_ms is None or at_ms >= self.since_ms)
            and (self.until_ms is None or at_ms < self.until_ms)
        )


def _rows(src: LocalSource | RemoteSource, filters: Filters, limit: int) -> list[Row]:
    views = src.origins()
    origins = [v for v in views if not filters.origins or v.origin in filters.origins]
    kept: list[Row] = []
    for view in origins:
        for read in src.entries(view.origin, 0, view.size):
            try:
                header = decode_header(read.entry.header)
            except EntryError:
                continue  # `audit verify` reports broken entries; a reader skips them
            if filters.keep(header):
                kept.append(Row(header))
    kept.sort(key=lambda r: (r.header.hlc, r.header.origin, r.header.index))
    return kept[-limit:] if limit else kept


def _with_payloads(src: LocalSource | RemoteSource, rows: Sequence[Row], purpose: str) -> list[Row]:
    by_origin: dict[str, list[int]] = {}
    for r in rows:
        by_origin.setdefault(r.header.origin, []).append(r.header.index)
    got: dict[tuple[str, int], bytes] = {}
    purged: dict[tuple[str, int], str] = {}
    for origin, indexes in by_origin.items():
        if isinstance(src, RemoteSource):
            payloads, notes = src.payloads_and_purges(origin, indexes, purpose)
            got.update({(origin, index): payload for index, payload in payloads.items()})
            purged.update({(origin, index): note for index, note in notes.items()})
        else:
            # Recorded through the node BEFORE reading (raises if the node is down).
            record_local_read(src.config.home, src.actor, purpose, ids_of(origin, indexes))
            for index in indexes:
                stored = src.store.entries(origin, index, index + 1)
                if stored and stored[0].payload is not None:
                    got[(origin, index)] = stored[0].payload
            missing = [(origin, i) for i in indexes if (origin, i) not in got]
            for key, purge in src.store.payload_purges(missing).items():
                day = unix_ms_date(purge.purged_at_unix_ms).isoformat()
                purged[key] = purge_note(day, purge.rule)
    return [
        Row(r.header, got.get(key), purged.get(key, ""))
        for r in rows
        for key in [(r.header.origin, r.header.index)]
    ]


def _may_reveal(src: LocalSource | RemoteSource) -> bool:
    if isinstance(src, LocalSource):
        return True  # the node's own operator, recorded through the node
    status = src.client.call("Status", audit_pb2.AuditStatusRequest())
    return bool(status.payload_access)


def _doc(row: Row, reveal: bool, read_payloads: bool) -> dict[str, Any]:
    h = row.header
    view = payload_view(h.kind, row.payload, reveal=reveal)
    return {
        "entry_id": h.entry_id,
        "origin": h.origin,
        "index": h.index,
        "kind": kind_name(h.kind),
        "kind_label": kind_label(h.kind),
        "subject": h.subject,
        "actor": h.actor,
        "time": hlc_time(h.hlc),
        "audience": list(h.audience),
        "payload": view,
        "payload_status": (
            "read"
            if row.payload is not None
            else (row.purged or "withheld")
            if read_payloads
            else "not read"
        ),
    }


@click.command("log")
@source_options
@click.option("--origin", "origins", multiple=True, help="Only this origin (repeatable).")
@click.option("--kind", "kinds", multiple=True, help="Only this kind, e.g. BLACKLIST_LISTED.")
@click.option("--subject", default="", help="Only subjects starting with this.")
@click.option("--actor", default="", help="Only entries caused by this actor.")
@click.option("--since", default=None, help="From this day (YYYY-MM-DD, CST) or ISO time.")
@click.option("--until", default=None, help="Up to and including this day, or before a time.")
@click.option(
    "--limit", type=click.IntRange(min=0), default=LIMIT_DEFAULT, help="Newest N (0=all)."
)
@click.option("--payloads", is_flag=True, help="Read payloads within your rights (recorded).")
@click.option("--purpose", default="", help="Why you read payloads (recorded).")
@click.option("--reveal", is_flag=True, help="Show personal data unmasked (if your rights allow).")
@click.option("--reader", default="", help="Who reads payloads from a local --home (recorded).")
@json_option
def log_cmd(
    home: Path | None,
    node: str | None,
    cert_dir: Path | None,
    node_id: str | None,
    origins: tuple[str, ...],
    kinds: tuple[str, ...],
    subject: str,
    actor: str,
    since: str | None,
    until: str | None,
    limit: int,
    payloads: bool,
    purpose: str,
    reveal: bool,
    reader: str,
    as_json: bool,
) -> None:
    """Read the log entries: who did what, when, and why."""
    try:
        kind_set = frozenset(parse_kind(k) for k in kinds)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--kind") from None
    if (payloads or reveal) and not purpose.strip():
        raise click.UsageError("--payloads and --reveal need --purpose (the read is recorded)")
    filters = Filters(
        origins=origins,
        kinds=kind_set,
        subject=subject,
        actor=actor,
        since_ms=_moment(since, end=False) if since else None,
        until_ms=_moment(until, end=True) if until else None,
    )
    spec = SourceSpec(home, node, cert_dir, node_id)
    with open_source(spec, actor=reader) as src:
        if reveal and not _may_reveal(src):
            raise click.ClickException(
                f"node {src.node_id} does not grant you personal data: leave out --reveal"
            )
        rows = _rows(src, filters, limit)
        read = payloads or reveal
        if read and rows:
            rows = _with_payloads(src, rows, purpose.strip())
    docs = [_doc(r, reveal, read) for r in rows]
    if as_json:
        emit_json({"entries": docs, "count": len(docs), "masked": not reveal})
        return
    t = table(
        "来源 origin",
        "序号 index",
        "时间 time (CST)",
        "类型 kind",
        "主题 subject",
        "操作人 actor",
        "受众 audience",
        "内容 content",
        title=f"{len(docs)} entries 条目" + ("" if reveal else " (personal data masked 已脱敏)"),
    )
    for d in docs:
        t.add_row(
            d["origin"],
            str(d["index"]),
            d["time"],
            d["kind_label"],
            d["subject"],
            d["actor"],
            ", ".join(d["audience"]) or "公开 public",
            summary(d["payload"]) if d["payload"] is not None else d["payload_status"],
        )
    print_table(t)
