"""``ccnode audit verify``: does every stored log verify against its checkpoints?

With the node running, the node does the work (Verify RPC). With the node down, this command
opens the store itself and runs the same check (node.store.verify); the origins' log keys
come from the certificates the node learned (store) and, for its own log, HOME/certs/log.pem.
Exit 0 only if everything verified.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519

from ccnode.v1 import admin_pb2
from cli.audit_access import access
from cli.audit_bundle import export, prove, verify_bundle_cmd, verify_proof_cmd
from cli.audit_crosscheck import crosscheck, verify_evidence_cmd
from cli.audit_log import log_cmd
from cli.client import CALL_TIMEOUT_S, NodeNotRunning, admin_client, home_option, load_config
from cli.output import console, emit_json, err_console, json_option, print_table, table
from cli.report import report
from node.config import NodeConfig
from node.identity.errors import IdentityError, PkiError
from node.identity.keyfiles import load_certificate
from node.identity.spiffe import log_cert_identity
from node.identity.truststore import issued_by
from node.store import open_store
from node.store.base import Store, StoreError
from node.store.verify import VerifyReport, verify_store
from sync.checkpoint import origin_line
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
    config = load_config(home)
    if not config.db and not (home / "ccnode.db").exists():
        raise click.ClickException(f"{home} holds no store yet (the node has never run)")
    try:
        store = open_store(config.db_url)
    except (StoreError, OSError) as e:
        raise click.ClickException(f"cannot open the store of {home}: {e}") from e
    try:
        verifiers, notes = offline_verifiers(config, store)
        report = verify_store(
            store, trust_domain=config.trust_domain, verifiers=verifiers, origins=origins
        )
    finally:
        store.close()
    return _from_report(report, notes)


def _verify_online(home: Path, origins: tuple[str, ...]) -> dict[str, Any]:
    with admin_client(home) as client:
        response = client.Verify(
            admin_pb2.VerifyRequest(origins=list(origins)), timeout_s=VERIFY_TIMEOUT_S
        )
    return _from_rpc(response)


@click.group("audit")
def audit() -> None:
    """Audit this node's copy of the logs."""


@audit.command("verify")
@home_option
@click.option("--origin", "origins", multiple=True, help="Only this origin (repeatable).")
@click.option("--offline", is_flag=True, help="Read the store directly even if the node runs.")
@json_option
@click.pass_context
def verify(
    ctx: click.Context, home: Path, origins: tuple[str, ...], offline: bool, as_json: bool
) -> None:
    """Verify every stored log against its checkpoints; exit 0 only if all of it verifies."""
    doc: dict[str, Any] | None = None
    if not offline:
        try:
            doc = _verify_online(home, origins)
        except NodeNotRunning:
            doc = None
    if doc is None:
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
    src = "the node (Verify)" if doc["source"] == "node" else "the store (node not running)"
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


# ---------------------------------------------------------------- subcommands
# One module per command family; add another with one line here.
audit.add_command(export)
audit.add_command(verify_bundle_cmd)
audit.add_command(prove)
audit.add_command(verify_proof_cmd)
audit.add_command(access)
audit.add_command(crosscheck)
audit.add_command(verify_evidence_cmd)
audit.add_command(log_cmd)
audit.add_command(report)
