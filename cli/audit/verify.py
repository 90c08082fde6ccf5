"""``ccnode audit verify``: does every stored log verify against its checkpoints?

With ``--home`` and the node running, the node does the work (Verify RPC). With the node
down, this command opens the store itself and runs the same check (node.store.verify); the
origins' log keys come from the certificates the node learned (store) and, for its own log,
HOME/certs/log.pem.

With ``--node HOST:PORT --cert DIR`` (an auditor's certificate), the auditor's machine does
the work and trusts the node for nothing: it reads every origin's entries (headers, no
payloads: nothing is recorded as read) and checkpoint history from the node's Audit service,
recomputes each leaf hash and the root at every checkpointed size, and checks each checkpoint
against the log key of a certificate that chains to DIR/ca.pem and names that origin. The
node's stored leaf hashes must agree with the recomputed ones.

Exit 0 only if everything verified.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519

from ccnode.v1 import admin_pb2
from cli.audit.sources import RemoteSource, SourceSpec, audit_client, source_options
from cli.common.client import CALL_TIMEOUT_S, node_client
from cli.common.errors import NodeNotRunning
from cli.common.offline import offline_store
from cli.common.options import json_option
from cli.output import console, emit_json, err_console, print_table, table
from node.config import NodeConfig
from node.identity.audit_trust import CaBundleError, certificate_check, load_cas
from node.identity.errors import IdentityError, PkiError
from node.identity.keyfiles import load_certificate
from node.identity.spiffe import log_cert_identity
from node.identity.truststore import issued_by
from node.store.base import OriginState, Store, StoredEntry
from node.store.verify import VerifyReport, verify_store
from sync.checkpoint import origin_line
from sync.entry import EntryError, decode_header
from sync.note import Ed25519Verifier, Verifier

VERIFY_TIMEOUT_S = max(CALL_TIMEOUT_S, 300.0)  # the node re-reads every log


def _report_doc(
    source: str,
    verified_sizes: dict[str, int],
    problems: list[dict[str, Any]],
    unsigned: list[str],
    notes: list[str],
) -> dict[str, Any]:
    return {
        "ok": not problems,
        "source": source,
        "verified_sizes": dict(sorted(verified_sizes.items())),
        "problems": problems,
        "unsigned": unsigned,
        "notes": notes,
    }


def _from_rpc(response: admin_pb2.VerifyResponse) -> dict[str, Any]:
    problems = [
        {"origin": p.origin, "index": p.index, "reason": p.reason} for p in response.problems
    ]
    # A node answering ok=False without problems is still a failure: keep one to say so.
    if not response.ok and not problems:
        problems = [{"origin": "", "index": 0, "reason": "the node reports a failed verification"}]
    return _report_doc("node", dict(response.verified_sizes), problems, [], [])


def _from_report(report: VerifyReport, notes: list[str]) -> dict[str, Any]:
    problems = [{"origin": p.origin, "index": p.index, "reason": p.reason} for p in report.problems]
    notes = [*notes, *(f"{o}: frozen ({why})" for o, why in sorted(report.frozen.items()))]
    return _report_doc("store", report.verified_sizes, problems, sorted(report.unsigned), notes)


def _ca_certs(config: NodeConfig) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates((config.certs_dir / "ca.pem").read_bytes())
    except (OSError, ValueError):
        return []


def offline_verifiers(config: NodeConfig, store: Store) -> tuple[dict[str, Verifier], list[str]]:
    """Log verifiers per origin, from log-signing certificates that chain to the node's CA
    bundle and name that origin; and notes on the certificates that were not usable."""
    cas = _ca_certs(config)
    td = config.trust_domain
    certs: dict[str, x509.Certificate] = {}
    notes: list[str] = []
    for origin, der in store.origin_keys().items():
        try:
            certs[origin] = x509.load_der_x509_certificate(der)
        except ValueError:
            notes.append(f"{origin}: stored log certificate is not valid DER")
    try:
        certs[config.node_id] = load_certificate(config.certs_dir / "log.pem")
    except PkiError as e:
        notes.append(f"{config.node_id}: {e}")
    verifiers: dict[str, Verifier] = {}
    for origin, cert in sorted(certs.items()):
        try:
            identity = log_cert_identity(cert, td)
        except IdentityError as e:
            notes.append(f"{origin}: log certificate refused ({e})")
            continue
        if identity.name != origin:
            notes.append(f"{origin}: log certificate names another node")
            continue
        if not any(issued_by(cert, ca) for ca in cas):
            notes.append(f"{origin}: log certificate is not issued by a CA in certs/ca.pem")
            continue
        key = cert.public_key()
        assert isinstance(key, ed25519.Ed25519PublicKey)  # log_cert_identity checked it
        verifiers[origin] = Ed25519Verifier(origin_line(td, origin), key.public_bytes_raw())
    return verifiers, notes


def _verify_offline(home: Path, origins: tuple[str, ...]) -> dict[str, Any]:
    with offline_store(home) as (config, store):
        verifiers, notes = offline_verifiers(config, store)
        report = verify_store(
            store, trust_domain=config.trust_domain, verifiers=verifiers, origins=origins
        )
    return _from_report(report, notes)


def _verify_online(home: Path, origins: tuple[str, ...]) -> dict[str, Any]:
    with node_client(home) as client:
        response = client.call(
            client.admin.Verify,
            admin_pb2.VerifyRequest(origins=list(origins)),
            admin_pb2.VerifyResponse,
            timeout_s=VERIFY_TIMEOUT_S,
        )
    return _from_rpc(response)


class RemoteLogs:
    """A remote node's logs as verify_store reads a store: Audit.Status for the sizes and
    latest checkpoints, Audit.CheckpointHistory, Audit.Entries (headers and the node's leaf
    hashes, no payloads). It has no root or frontier columns: verify with
    ``state_rows=False``."""

    def __init__(self, src: RemoteSource) -> None:
        self.src = src
        self._history: dict[str, dict[int, str]] = {}

    def origin_states(self) -> list[OriginState]:
        return [
            OriginState(v.origin, v.size, b"", b"", v.checkpoint, v.frozen, v.frozen_reason)
            for v in self.src.origins()
        ]

    def origin_state(self, origin: str) -> OriginState | None:
        return next((s for s in self.origin_states() if s.origin == origin), None)

    def _checkpoints(self, origin: str) -> dict[int, str]:
        if origin not in self._history:
            size = max((s.size for s in self.origin_states() if s.origin == origin), default=0)
            self._history[origin] = dict(self.src.checkpoints(origin, size)) if size else {}
        return self._history[origin]

    def checkpoint_sizes(self, origin: str) -> list[int]:
        return sorted(self._checkpoints(origin))

    def checkpoint_at(self, origin: str, size: int) -> str | None:
        return self._checkpoints(origin).get(size)

    def entries(
        self, origin: str, start: int, end: int, *, with_payload: bool = True
    ) -> list[StoredEntry]:
        out = []
        for read in self.src.entries(origin, start, end):
            header = read.entry.header
            try:
                h = decode_header(header)
                columns = (h.kind, h.subject, h.actor, h.hlc)
            except EntryError:
                columns = (0, "", "", 0)  # verify_store reports the header itself
            kind, subject, actor, hlc = columns
            out.append(
                StoredEntry(
                    origin,
                    read.index,
                    kind,
                    subject,
                    actor,
                    hlc,
                    read.stored_leaf_hash,
                    header,
                    read.entry.salt,
                    None,
                )
            )
        return out


def _verify_remote(spec: SourceSpec, origins: tuple[str, ...]) -> dict[str, Any]:
    assert spec.node is not None and spec.cert_dir is not None
    try:
        cas = load_cas(spec.cert_dir / "ca.pem")
    except CaBundleError as e:
        raise click.ClickException(str(e)) from e
    with audit_client(spec.node, spec.cert_dir, spec.node_id) as client:
        src = RemoteSource(client)
        check = certificate_check(cas, src.trust_domain)
        verifiers: dict[str, Verifier] = {}
        notes: list[str] = []
        for origin, pem in sorted(src.certificates().items()):
            try:
                raw = check(origin, pem)
            except ValueError as e:
                notes.append(f"{origin}: log certificate refused ({e})")
                continue
            verifiers[origin] = Ed25519Verifier(origin_line(src.trust_domain, origin), raw)
        report = verify_store(
            RemoteLogs(src),  # type: ignore[arg-type]  # the part of LogReader verify reads
            trust_domain=src.trust_domain,
            verifiers=verifiers,
            origins=origins,
            state_rows=False,
        )
        doc = _from_report(report, notes)
        doc["source"] = f"node {client.node_id} ({spec.node})"
    return doc


@click.command("verify")
@source_options
@click.option("--origin", "origins", multiple=True, help="Only this origin (repeatable).")
@click.option(
    "--offline", is_flag=True, help="With --home: read the store directly even if the node runs."
)
@json_option
@click.pass_context
def verify(
    ctx: click.Context,
    home: Path | None,
    node: str | None,
    cert_dir: Path | None,
    node_id: str | None,
    origins: tuple[str, ...],
    offline: bool,
    as_json: bool,
) -> None:
    """Verify every stored log against its checkpoints; exit 0 only if all of it verifies.

    --home: the node at HOME verifies its store (or, with the node down or --offline, this
    command reads the store). --node HOST:PORT --cert DIR: this command verifies a remote
    node's logs itself, over its Audit service, with an auditor's certificate.
    """
    spec = SourceSpec(home, node, cert_dir, node_id)
    spec.check()
    doc: dict[str, Any] | None = None
    if node is not None:
        if offline:
            raise click.UsageError("--offline reads a local store: use it with --home")
        doc = _verify_remote(spec, origins)
    elif not offline:
        assert home is not None
        try:
            doc = _verify_online(home, origins)
        except NodeNotRunning:
            doc = None
    if doc is None:
        assert home is not None
        if not as_json:
            err_console().print("node not running: verifying the store directly")
        doc = _verify_offline(home, origins)
    if as_json:
        emit_json(doc)
    else:
        _print(doc)
    if not doc["ok"]:
        ctx.exit(1)


def _print(doc: dict[str, Any]) -> None:
    out = console()
    src = {"node": "the node (Verify)", "store": "the store (node not running)"}.get(
        doc["source"], f"this auditor, reading {doc['source']}"
    )
    t = table(
        "origin 来源", "verified size 已验证条数", "signature 签名", title=f"verified by {src}"
    )
    for origin, size in doc["verified_sizes"].items():
        signed = "not checked 未验证" if origin in doc["unsigned"] else "checked 已验证"
        t.add_row(origin, str(size), signed)
    print_table(t)
    for note in doc["notes"]:
        err_console().print(f"note: {note}", markup=False)
    if doc["ok"]:
        out.print("[green]OK 校验通过[/]: every stored log verifies", markup=True)
        return
    p = table("origin 来源", "index 序号", "problem 问题", title="problems 问题")
    for problem in doc["problems"]:
        p.add_row(problem["origin"], str(problem["index"]), problem["reason"])
    print_table(p)
    out.print(f"[red]FAILED 校验失败[/]: {len(doc['problems'])} problems", markup=True)
