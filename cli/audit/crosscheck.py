"""``ccnode audit crosscheck`` and ``ccnode audit verify-evidence``: what no single node sees.

Crosscheck asks every reachable node (its Audit service, over mutual TLS) for its latest
checkpoint of every origin, checks each against the origin's log-signing certificate (itself
checked against the CA), and then (sync.crosscheck):

* two different roots at one size, or a smaller head that a node holding the larger tree
  proves is not its prefix: **equivocation**, written as an evidence file that anyone checks
  with ``verify-evidence --ca CA.pem``;
* a checkpoint the origin's key did not sign: **forged** by the node serving it;
* a node holding less of an origin than others: **lagging**, by how many entries and since
  when (the oldest entry it lacks), naming its peers that hold more (a relay that withholds
  an origin shows up as a peer that has the entries and does not pass them on).

Exit 1 on equivocation, forgery or a node that cannot prove its own tree; lagging alone is
reported and exits 0 (replication is asynchronous: a small lag is normal).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from ccnode.v1 import audit_pb2
from cli.audit.sources import AuditClient, audit_client, split_address
from cli.common.errors import Unreachable
from cli.common.offline import offline_store
from cli.common.options import json_option
from cli.output import console, emit_json, err_console, print_table, table
from node.identity.audit_trust import CaBundleError, certificate_check, der_to_pem, load_cas
from sync.checkpoint import origin_line
from sync.crosscheck import Lag, Plan, Sighting, Unproven, judge, plan
from sync.entry import EntryError, decode_header
from sync.equivocation import Evidence, EvidenceError, verify_evidence
from sync.evidence_file import (
    EvidenceFileError,
    Observation,
    evidence_document,
    format_evidence_file,
    verify_evidence_file,
)
from sync.hlc import physical_ms
from sync.note import Ed25519Verifier


@dataclass
class NodeView:
    address: str
    node_id: str = ""
    error: str = ""
    status: audit_pb2.AuditStatusResponse | None = None
    keys: dict[str, str] = field(default_factory=dict)  # origin -> PEM
    evidence: list[Any] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Target:
    address: str
    node_id: str | None


def parse_target(text: str) -> Target:
    """``HOST:PORT`` or ``NODE-ID@HOST:PORT``."""
    node_id, sep, address = text.rpartition("@")
    split_address(address)
    return Target(address, node_id if sep else None)


# ---------------------------------------------------------------- gathering


def _gather(targets: Sequence[Target], cert_dir: Path) -> list[NodeView]:
    views: list[NodeView] = []
    for target in targets:
        view = NodeView(target.address, target.node_id or "")
        try:
            with audit_client(target.address, cert_dir, target.node_id) as client:
                view.node_id = client.node_id
                view.status = client.call("Status", audit_pb2.AuditStatusRequest())
                keys = client.call("OriginKeys", audit_pb2.OriginKeysRequest()).keys
                view.keys = {k.origin: der_to_pem(k.certificate_der) for k in keys}
                view.evidence = list(
                    client.call("Evidence", audit_pb2.EvidenceListRequest()).evidence
                )
        except click.ClickException as e:
            view.error = e.message
        if any(v.node_id and v.node_id == view.node_id for v in views):
            continue  # the same node under two addresses
        views.append(view)
    return views


def _verifiers(
    views: Sequence[NodeView], cas: list[Any], trust_domain: str
) -> tuple[dict[str, Ed25519Verifier], dict[str, str], list[str]]:
    """Per origin, the key its CA-checked certificate certifies; its PEM; notes on refusals."""
    check = certificate_check(cas, trust_domain)
    verifiers: dict[str, Ed25519Verifier] = {}
    pems: dict[str, str] = {}
    notes: list[str] = []
    for view in views:
        for origin, pem in sorted(view.keys.items()):
            try:
                raw = check(origin, pem)
            except ValueError as e:
                notes.append(f"{view.node_id} serves a log certificate of {origin} that fails: {e}")
                continue
            known = verifiers.get(origin)
            if known is not None and known.public_key_bytes != raw:
                notes.append(f"{origin} has more than one certified log key; using the first")
                continue
            verifiers[origin] = Ed25519Verifier(origin_line(trust_domain, origin), raw)
            pems[origin] = pem
    return verifiers, pems, notes


# ---------------------------------------------------------------- judging


@dataclass
class Outcome:
    plan: Plan
    found: list[Evidence] = field(default_factory=list)
    unproven: list[Unproven] = field(default_factory=list)
    lag_details: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    stored: list[dict[str, Any]] = field(default_factory=list)


def _client_for(node_id: str, views: Sequence[NodeView], cert_dir: Path) -> AuditClient:
    view = next(v for v in views if v.node_id == node_id)
    return AuditClient(view.address, cert_dir, node_id)


def _settle(
    outcome: Outcome, views: Sequence[NodeView], cert_dir: Path, verifiers: dict[str, Any]
) -> None:
    outcome.found.extend(outcome.plan.equivocations)
    for request in outcome.plan.proofs_needed:
        client = _client_for(request.ask, views, cert_dir)
        try:
            reply = client.call(
                "ConsistencyProof",
                audit_pb2.ConsistencyProofRequest(
                    origin=request.origin,
                    old_size=request.old.size,
                    new_size=request.new.size,
                ),
            )
        except click.ClickException as e:
            outcome.unproven.append(Unproven(request.origin, request.ask, e.message))
            continue
        finally:
            client.close()
        verdict = judge(request, list(reply.proof), reply.old_root, verifiers[request.origin])
        if isinstance(verdict, Evidence):
            outcome.found.append(verdict)
        elif isinstance(verdict, Unproven):
            outcome.unproven.append(verdict)


def _lag_detail(lag: Lag, views: Sequence[NodeView], cert_dir: Path) -> dict[str, Any]:
    """When the oldest entry the lagging node lacks was written, and which of its peers hold
    more of that origin (the relays that could have passed it on)."""
    detail: dict[str, Any] = {"oldest_missing_unix_ms": 0, "peers_holding_more": {}}
    client = _client_for(lag.holders[0], views, cert_dir)
    try:
        reply = client.call(
            "InclusionProof",
            audit_pb2.InclusionProofRequest(origin=lag.origin, index=lag.size, size=lag.latest),
        )
        detail["oldest_missing_unix_ms"] = physical_ms(decode_header(reply.entry.header).hlc)
    except (click.ClickException, EntryError):
        pass
    finally:
        client.close()
    view = next((v for v in views if v.node_id == lag.node), None)
    if view is not None and view.status is not None:
        detail["peers_holding_more"] = {
            p.node_id: p.peer_sizes[lag.origin]
            for p in view.status.peers
            if p.peer_sizes.get(lag.origin, 0) > lag.size
        }
    return detail


def _stored_evidence(views: Sequence[NodeView], verifiers: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for view in views:
        for e in view.evidence:
            verifier = verifiers.get(e.origin)
            evidence = Evidence(
                e.origin, e.smaller_note, e.larger_note, e.prefix_root, tuple(e.consistency_proof)
            )
            ok = verifier is not None
            try:
                if verifier is not None:
                    verify_evidence(evidence, verifier)
            except EvidenceError:
                ok = False
            out.append({"node": view.node_id, "origin": e.origin, "verified": ok})
    return out


# ---------------------------------------------------------------- output


def _iso(unix_ms: int) -> str:
    if unix_ms <= 0:
        return ""
    moment = dt.datetime.fromtimestamp(unix_ms / 1000, tz=dt.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _nodes_with(heads: Any, note: str) -> list[str]:
    return sorted(n for h in heads if h.note == note for n in h.nodes)


def _write_evidence(
    evidence: Evidence,
    pem: str,
    heads: Any,
    trust_domain: str,
    directory: Path | None,
    number: int,
) -> str | None:
    if directory is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    observed = [Observation(n, "smaller") for n in _nodes_with(heads, evidence.smaller_note)]
    observed += [Observation(n, "larger") for n in _nodes_with(heads, evidence.larger_note)]
    doc = evidence_document(
        trust_domain=trust_domain, evidence=evidence, certificate_pem=pem, observed=observed
    )
    path = directory / f"equivocation-{evidence.origin}-{number}.json"
    path.write_text(format_evidence_file(doc), encoding="utf-8")
    return str(path)


def _document(
    views: Sequence[NodeView],
    outcome: Outcome,
    pems: dict[str, str],
    notes: list[str],
    trust_domain: str,
    evidence_dir: Path | None,
) -> dict[str, Any]:
    p = outcome.plan
    equivocations = []
    for number, e in enumerate(outcome.found, start=1):
        heads = p.heads.get(e.origin, [])
        equivocations.append(
            {
                "origin": e.origin,
                "sizes": [_size_of(heads, e.smaller_note), _size_of(heads, e.larger_note)],
                "nodes_seeing_smaller": _nodes_with(heads, e.smaller_note),
                "nodes_seeing_larger": _nodes_with(heads, e.larger_note),
                "evidence_file": _write_evidence(
                    e, pems[e.origin], heads, trust_domain, evidence_dir, number
                ),
            }
        )
    # An origin that signed two histories has no "latest" to lag behind: its lags are moot.
    split = {e.origin for e in outcome.found}
    lagging = [
        {
            "node": lag.node,
            "origin": lag.origin,
            "size": lag.size,
            "latest": lag.latest,
            "behind": lag.behind,
            "holders": list(lag.holders),
            **outcome.lag_details.get((lag.node, lag.origin), {}),
        }
        for lag in p.lags
        if lag.origin not in split
    ]
    frozen = [
        {"node": v.node_id, "origin": o.origin, "reason": o.frozen_reason}
        for v in views
        if v.status is not None
        for o in v.status.origins
        if o.frozen
    ]
    bad = bool(equivocations or p.forged or outcome.unproven)
    return {
        "ok": not bad,
        "nodes": [
            {"node": v.node_id, "address": v.address, "reachable": not v.error, "error": v.error}
            for v in views
        ],
        "origins": {
            origin: {
                "latest": heads[0].size,
                "heads": [
                    {"size": h.size, "root": h.root.hex(), "nodes": list(h.nodes)} for h in heads
                ],
            }
            for origin, heads in p.heads.items()
        },
        "equivocations": equivocations,
        "forged": [{"node": f.node, "origin": f.origin, "reason": f.reason} for f in p.forged],
        "unproven": [
            {"node": u.node, "origin": u.origin, "reason": u.reason} for u in outcome.unproven
        ],
        "lagging": lagging,
        "frozen": frozen,
        "stored_evidence": outcome.stored,
        "unchecked": sorted({f"{s.node}:{s.origin}" for s in p.unknown}),
        "notes": notes,
    }


def _size_of(heads: Any, note: str) -> int:
    return next((h.size for h in heads if h.note == note), 0)


def _print(doc: dict[str, Any]) -> None:
    out = console()
    t = table("节点 node", "地址 address", "状态 status", title="nodes 节点")
    for n in doc["nodes"]:
        t.add_row(
            n["node"] or "?", n["address"], "reachable 可达" if n["reachable"] else n["error"]
        )
    print_table(t)
    t = table("来源 origin", "最新 latest", "各节点所见 heads (size: nodes)", title="origins 来源")
    for origin, info in doc["origins"].items():
        heads = "; ".join(f"{h['size']}: {', '.join(h['nodes'])}" for h in info["heads"])
        t.add_row(origin, str(info["latest"]), heads)
    print_table(t)
    if doc["lagging"]:
        t = table(
            "节点 node",
            "来源 origin",
            "持有 holds",
            "落后 behind",
            "最早缺失 oldest missing",
            "持有更多的对等节点 peers holding more",
            title="lagging 复制滞后",
        )
        for lag in doc["lagging"]:
            peers = ", ".join(f"{p} ({n})" for p, n in lag.get("peers_holding_more", {}).items())
            t.add_row(
                lag["node"],
                lag["origin"],
                f"{lag['size']} / {lag['latest']}",
                f"{lag['behind']} entries 条",
                _iso(lag.get("oldest_missing_unix_ms", 0)),
                peers or "—",
            )
        print_table(t)
    for e in doc["equivocations"]:
        out.print(
            f"[red]EQUIVOCATION 分叉[/]: {e['origin']} signed sizes {e['sizes'][0]} and "
            f"{e['sizes'][1]} that are not one history; seen by "
            f"{', '.join(e['nodes_seeing_smaller'])} vs {', '.join(e['nodes_seeing_larger'])}"
            + (f"; evidence: {e['evidence_file']}" if e["evidence_file"] else ""),
            markup=True,
        )
    for f in doc["forged"]:
        out.print(f"[red]FORGED 伪造[/]: {f['node']} serves a checkpoint of {f['origin']}: "
                  f"{f['reason']}", markup=True)  # fmt: skip
    for u in doc["unproven"]:
        out.print(f"[red]UNPROVEN 无法证明[/]: {u['node']} on {u['origin']}: {u['reason']}",
                  markup=True)  # fmt: skip
    for fz in doc["frozen"]:
        out.print(f"frozen 已冻结: {fz['node']} froze {fz['origin']} ({fz['reason']})")
    for note in doc["notes"]:
        err_console().print(f"note: {note}", markup=False)
    if doc["ok"]:
        out.print("[green]OK 一致[/]: no equivocation or forgery among the nodes", markup=True)


# ---------------------------------------------------------------- commands


def _home_targets(home: Path) -> tuple[list[Target], Path]:
    """The node at ``home`` and its peers, reached with the node's own certificate."""
    with offline_store(home) as (config, store):
        peers = store.peers()
    host, _, port = config.listen.rpartition(":")
    own = f"{'127.0.0.1' if host in ('0.0.0.0', '::', '[::]') else host}:{port}"  # noqa: S104
    targets = [Target(own, config.node_id), *(Target(p.address, p.node_id) for p in peers)]
    return targets, config.certs_dir


@click.command("crosscheck")
@click.option("--node", "nodes", multiple=True, metavar="[ID@]HOST:PORT", help="A node to ask.")
@click.option(
    "--cert",
    "cert_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Certificate directory (tls.pem, tls.key, ca.pem), e.g. an auditor's.",
)
@click.option(
    "--home",
    type=click.Path(path_type=Path, file_okay=False),
    help="Ask this node and its peers, with the node's own certificate.",
)
@click.option(
    "--evidence-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write each equivocation as an evidence file here.",
)
@json_option
@click.pass_context
def crosscheck(
    ctx: click.Context,
    nodes: tuple[str, ...],
    cert_dir: Path | None,
    home: Path | None,
    evidence_dir: Path | None,
    as_json: bool,
) -> None:
    """Compare every reachable node's checkpoints of every origin."""
    if bool(nodes) == bool(home):
        raise click.UsageError("give --node (repeatable) with --cert, or --home")
    if home is not None:
        targets, cert_dir = _home_targets(home)
    else:
        if cert_dir is None:
            raise click.UsageError("--node needs --cert DIR (tls.pem, tls.key, ca.pem)")
        targets = [parse_target(t) for t in nodes]
    assert cert_dir is not None
    views = _gather(targets, cert_dir)
    reachable = [v for v in views if v.status is not None]
    if not reachable:
        raise Unreachable(
            "no node could be reached: "
            + "; ".join(
                v.error if v.address in v.error else f"{v.address}: {v.error}" for v in views
            )
        )
    trust_domain = reachable[0].status.trust_domain if reachable[0].status else ""
    try:
        cas = load_cas(cert_dir / "ca.pem")
    except CaBundleError as e:
        raise click.ClickException(str(e)) from e
    verifiers, pems, notes = _verifiers(reachable, cas, trust_domain)
    sightings = [
        Sighting(v.node_id, o.origin, o.checkpoint)
        for v in reachable
        if v.status is not None
        for o in v.status.origins
        if o.checkpoint
    ]
    outcome = Outcome(plan(sightings, verifiers, nodes=[v.node_id for v in reachable]))
    _settle(outcome, reachable, cert_dir, verifiers)
    for lag in outcome.plan.lags:
        outcome.lag_details[(lag.node, lag.origin)] = _lag_detail(lag, reachable, cert_dir)
    outcome.stored = _stored_evidence(reachable, verifiers)
    doc = _document(views, outcome, pems, notes, trust_domain, evidence_dir)
    if as_json:
        emit_json(doc)
    else:
        _print(doc)
    if not doc["ok"]:
        ctx.exit(1)


@click.command("verify-evidence")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--ca",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The federation CA certificate(s), PEM.",
)
@json_option
@click.pass_context
def verify_evidence_cmd(ctx: click.Context, file: Path, ca: Path, as_json: bool) -> None:
    """Check an equivocation evidence file offline, with the CA certificate alone."""
    try:
        cas = load_cas(ca)
        text = file.read_text(encoding="utf-8")
    except (CaBundleError, OSError, UnicodeDecodeError) as e:
        raise click.ClickException(str(e)) from e
    try:
        claimed = json.loads(text).get("trust_domain", "")
    except (ValueError, AttributeError):
        claimed = ""
    try:
        summary = verify_evidence_file(text, certificate_check(cas, str(claimed)))
    except EvidenceFileError as e:
        doc: dict[str, Any] = {"ok": False, "reason": e.reason}
    else:
        doc = {
            "ok": True,
            "reason": "",
            "origin": summary.origin,
            "sizes": [summary.smaller.size, summary.larger.size],
            "detected_by": summary.detected_by,
        }
    if as_json:
        emit_json(doc)
    elif doc["ok"]:
        console().print(
            f"[green]PROVEN 证据成立[/]: {doc['origin']} signed two inconsistent checkpoints "
            f"(sizes {doc['sizes'][0]} and {doc['sizes'][1]})",
            markup=True,
        )
    else:
        console().print(f"[red]NOT PROVEN 证据不成立[/]: {doc['reason']}", markup=True)
    if not doc["ok"]:
        ctx.exit(1)
