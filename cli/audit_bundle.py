"""``ccnode audit export | verify-bundle | prove | verify-proof``: logs and single entries as
files that anyone verifies offline with the federation's CA certificate alone.

The formats are documented in docs/audit.md: bundles (sync.bundle) and C2SP tlog-proofs
(sync.tlog_proof). Exporting verifies the written file straight away, so an export taken from a
node whose store was altered behind its back fails here already, naming the entry.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from cryptography import x509

from cli.audit_remote import (
    LocalSource,
    ReadEntry,
    RemoteSource,
    SourceSpec,
    open_source,
    source_options,
)
from cli.output import console, emit_json, err_console, json_option, print_table, table
from node.clock import SystemClock
from node.identity.audit_trust import CaBundleError, certificate_check, load_cas
from node.identity.errors import IdentityError
from node.identity.spiffe import TRUST_DOMAIN_DEFAULT, identity_from_cert
from sync.bundle import BundleInfo, BundleReport, BundleWriter, verify_bundle
from sync.checkpoint import CosignatureVerifier, origin_line, split_origin
from sync.entry import Entry, EntryError, decode_header, parse_entry_id
from sync.note import Ed25519Verifier
from sync.tlog_proof import (
    FILE_EXTENSION,
    TlogProof,
    TlogProofError,
    format_proof,
    parse_proof,
    verify_proof,
)

_PEM_RE = re.compile(
    r"-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n", re.ASCII
)


def _cas(ca: Path) -> list[x509.Certificate]:
    try:
        return load_cas(ca)
    except CaBundleError as e:
        raise click.ClickException(str(e)) from e


def _write_atomically(path: Path, chunks: Iterator[bytes]) -> None:
    """Write to a temporary file beside ``path`` and rename: never a half-written bundle."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("wb") as f:
            for chunk in chunks:
                f.write(chunk)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _source_ca(spec: SourceSpec) -> Path:
    if spec.cert_dir is not None:
        return spec.cert_dir / "ca.pem"
    assert spec.home is not None
    return spec.home / "certs" / "ca.pem"


# ---------------------------------------------------------------- export


def _bundle_lines(
    src: LocalSource | RemoteSource, origin: str, purpose: str, now_ms: int
) -> Iterator[bytes]:
    views = {v.origin: v for v in src.origins()}
    view = views.get(origin)
    if view is None:
        raise click.ClickException(f"node {src.node_id} holds no log of {origin}")
    certs = src.certificates()
    if origin not in certs:
        raise click.ClickException(f"node {src.node_id} holds no log certificate of {origin}")
    writer = BundleWriter(
        BundleInfo(
            trust_domain=src.trust_domain,
            origin=origin,
            size=view.size,
            source=src.node_id,
            exported_by=src.reader,
            exported_at_unix_ms=now_ms,
            payloads="within-rights" if purpose else "none",
        )
    )
    yield writer.header()
    yield writer.certificate(origin, certs[origin])
    for node in sorted(certs):
        if node != origin:  # witnesses: every other node may have cosigned
            yield writer.certificate(node, certs[node])
    checkpoints = dict(src.checkpoints(origin, view.size))
    checkpoints.setdefault(view.size, view.checkpoint)
    for chunk in _chunks(src.entries(origin, 0, view.size, purpose=purpose), 500):
        if purpose and isinstance(src, RemoteSource):
            _fill_restricted(src, origin, chunk, purpose)
        for read in chunk:
            yield writer.entry(read.index, read.stored_leaf_hash, read.entry)
            size = read.index + 1
            if size in checkpoints:
                yield writer.checkpoint(size, checkpoints[size])
    yield writer.end()


def _chunks(items: Iterator[ReadEntry], n: int) -> Iterator[list[ReadEntry]]:
    chunk: list[ReadEntry] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _fill_restricted(src: RemoteSource, origin: str, chunk: list[ReadEntry], purpose: str) -> None:
    """Ask for the payloads of restricted entries (granted auditors only; recorded there)."""
    wanted = []
    for read in chunk:
        if read.entry.payload is None:
            with contextlib.suppress(EntryError):
                if decode_header(read.entry.header).audience:
                    wanted.append(read.index)
    if not wanted:
        return
    got = src.restricted_payloads(origin, wanted, purpose)
    for position, read in enumerate(chunk):
        if read.index in got:
            entry = Entry(read.entry.header, read.entry.salt, got[read.index])
            chunk[position] = ReadEntry(read.index, read.stored_leaf_hash, entry)


@click.command("export")
@source_options
@click.option("--origin", required=True, help="The origin (node id) whose log to export.")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The bundle file to write.",
)
@click.option("--payloads", is_flag=True, help="Include payloads within your rights (recorded).")
@click.option("--purpose", default="", help="Why you read payloads (recorded; with --payloads).")
@click.option("--actor", default="", help="Who reads payloads from a local --home (recorded).")
@json_option
@click.pass_context
def export(
    ctx: click.Context,
    home: Path | None,
    node: str | None,
    cert_dir: Path | None,
    node_id: str | None,
    origin: str,
    out: Path,
    payloads: bool,
    purpose: str,
    actor: str,
    as_json: bool,
) -> None:
    """Write ORIGIN's log (entries, checkpoints, cosignatures, certificates) as a bundle."""
    spec = SourceSpec(home, node, cert_dir, node_id)
    if payloads and not purpose.strip():
        raise click.UsageError("--payloads needs --purpose (every read of payloads is recorded)")
    with open_source(spec, actor=actor) as src:
        td = src.trust_domain
        reading = purpose.strip() if payloads else ""
        lines = _bundle_lines(src, origin, reading, SystemClock().now_ms())
        _write_atomically(out, lines)
    report = _verify_file(out, _source_ca(spec), td)
    doc = {"file": str(out), **_report_doc(report)}
    if as_json:
        emit_json(doc)
    else:
        err_console().print(f"wrote {out}", markup=False)
        _print_report(doc)
    if not report.ok:
        ctx.exit(1)


# ---------------------------------------------------------------- verify-bundle


def _verify_file(path: Path, ca: Path, trust_domain: str | None = None) -> BundleReport:
    cas = _cas(ca)
    try:
        f = path.open("rb")
    except OSError as e:
        raise click.ClickException(f"cannot read {path}: {e.strerror}") from e
    with f:
        if trust_domain is None:
            trust_domain = _peek_trust_domain(f.readline())
            f.seek(0)
        return verify_bundle(f, certificate_check(cas, trust_domain))


def _peek_trust_domain(first_line: bytes) -> str:
    # The certificates are checked against the trust domain the bundle claims; the checkpoints'
    # origin lines, which the origin signs, must then name the same one.
    try:
        value = json.loads(first_line).get("trust_domain")
    except (ValueError, AttributeError):
        value = None
    return value if isinstance(value, str) and value else TRUST_DOMAIN_DEFAULT


def _report_doc(report: BundleReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "origin": report.origin,
        "trust_domain": report.trust_domain,
        "size": report.size,
        "entries": report.entries,
        "verified_size": report.verified_size,
        "checkpoints": report.checkpoints,
        "payloads_checked": report.payloads,
        "cosignatures": dict(sorted(report.cosignatures.items())),
        "unchecked_signers": report.unchecked_signers,
        "problems": [
            {"line": p.line, "index": p.index, "reason": p.reason} for p in report.problems
        ],
    }


def _print_report(doc: dict[str, Any]) -> None:
    out = console()
    t = table("项目 item", "值 value", title=f"bundle of {doc['origin'] or '?'}")
    t.add_row("条目 entries", f"{doc['entries']} / {doc['size']}")
    t.add_row("已验证 verified size", str(doc["verified_size"]))
    t.add_row("检查点 checkpoints", str(doc["checkpoints"]))
    t.add_row("载荷 payloads checked", str(doc["payloads_checked"]))
    cos = ", ".join(f"{w} ({n})" for w, n in doc["cosignatures"].items()) or "—"
    t.add_row("见证 cosigned by", cos)
    print_table(t)
    for signer in doc["unchecked_signers"]:
        err_console().print(f"note: signatures by {signer} not checked (no certificate)")
    if doc["ok"]:
        out.print("[green]OK 校验通过[/]: the bundle verifies", markup=True)
        return
    p = table("行 line", "序号 entry", "问题 problem", title="problems 问题")
    for problem in doc["problems"]:
        index = "" if problem["index"] is None else str(problem["index"])
        p.add_row(str(problem["line"] or ""), index, problem["reason"])
    print_table(p)
    out.print(f"[red]FAILED 校验失败[/]: {len(doc['problems'])} problems", markup=True)


@click.command("verify-bundle")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--ca",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The federation CA certificate(s), PEM.",
)
@json_option
@click.pass_context
def verify_bundle_cmd(ctx: click.Context, file: Path, ca: Path, as_json: bool) -> None:
    """Verify a bundle offline; exit 0 only if every byte of it checks out."""
    doc = {"file": str(file), **_report_doc(_verify_file(file, ca))}
    if as_json:
        emit_json(doc)
    else:
        _print_report(doc)
    if not doc["ok"]:
        ctx.exit(1)


# ---------------------------------------------------------------- prove, verify-proof


def _certs_path(out: Path) -> Path:
    return out.with_name(out.name + ".certs.pem")


@click.command("prove")
@source_options
@click.argument("entry")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help=f"The proof file to write (C2SP tlog-proof; conventionally *{FILE_EXTENSION}).",
)
@click.option("--size", type=click.IntRange(min=0), default=0, help="Checkpoint size (0 = latest).")
@json_option
@click.pass_context
def prove(
    ctx: click.Context,
    home: Path | None,
    node: str | None,
    cert_dir: Path | None,
    node_id: str | None,
    entry: str,
    out: Path,
    size: int,
    as_json: bool,
) -> None:
    """Write an inclusion proof of ENTRY (origin/index) and the certificates beside it."""
    try:
        origin, index = parse_entry_id(entry)
    except EntryError as e:
        raise click.BadParameter(str(e), param_hint="ENTRY") from None
    spec = SourceSpec(home, node, cert_dir, node_id)
    with open_source(spec) as src:
        proof_hashes, note, header, _ = src.inclusion(origin, index, size)
        certs = src.certificates()
    if origin not in certs:
        raise click.ClickException(f"no log certificate of {origin} is held")
    proof = TlogProof(index=index, hashes=tuple(proof_hashes), checkpoint=note, extra=header)
    pems = [certs[origin], *(certs[n] for n in sorted(certs) if n != origin)]
    _write_atomically(out, iter([format_proof(proof).encode()]))
    _write_atomically(_certs_path(out), iter(["".join(pems).encode()]))
    doc = _verify_proof_file(out, _source_ca(spec), _certs_path(out))
    doc["certificates_file"] = str(_certs_path(out))
    if as_json:
        emit_json(doc)
    else:
        err_console().print(f"wrote {out} and {_certs_path(out)}", markup=False)
        _print_proof(doc)
    if not doc["ok"]:
        ctx.exit(1)


def _split_pems(text: str) -> list[str]:
    blocks = _PEM_RE.findall(text)
    if "".join(blocks) != text:
        raise click.ClickException("the certificates file holds something besides PEM blocks")
    return list(blocks)


def _verify_proof_file(file: Path, ca: Path, certs_file: Path) -> dict[str, Any]:
    try:
        proof = parse_proof(file.read_text(encoding="utf-8"))
        pems = _split_pems(certs_file.read_text(encoding="ascii"))
    except (OSError, UnicodeDecodeError) as e:
        raise click.ClickException(f"cannot read the proof or its certificates: {e}") from e
    except TlogProofError as e:
        return {"ok": False, "reason": e.reason}
    try:
        origin_name = proof.checkpoint.split("\n", 1)[0]
        trust_domain, origin = split_origin(origin_name)
    except ValueError:
        return {"ok": False, "reason": "checkpoint: the first line is not an origin line"}
    check = certificate_check(_cas(ca), trust_domain)
    origin_verifier: Ed25519Verifier | None = None
    cosigners: list[CosignatureVerifier] = []
    for pem in pems:
        try:
            cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
            node = identity_from_cert(cert, trust_domain).name
            raw = check(node, pem)
        except (IdentityError, ValueError) as e:
            return {"ok": False, "reason": f"certificate: {e}"}
        name = origin_line(trust_domain, node)
        if node == origin:
            origin_verifier = Ed25519Verifier(name, raw)
        else:
            cosigners.append(CosignatureVerifier(name, raw))
    if origin_verifier is None:
        return {"ok": False, "reason": f"no valid log certificate of {origin}"}
    try:
        report = verify_proof(proof, origin_verifier, cosigners)
    except TlogProofError as e:
        return {"ok": False, "reason": e.reason}
    h = report.header
    return {
        "ok": True,
        "reason": "",
        "entry": f"{h.origin}/{h.index}",
        "kind": h.kind,
        "size": report.checkpoint.size,
        "cosigned_by": [n.rsplit("/", 1)[-1] for n in report.cosignatures],
        "unchecked_signers": report.unchecked_signers,
    }


def _print_proof(doc: dict[str, Any]) -> None:
    out = console()
    if not doc["ok"]:
        out.print(f"[red]FAILED 校验失败[/]: {doc['reason']}", markup=True)
        return
    cos = ", ".join(doc["cosigned_by"]) or "—"
    out.print(
        f"[green]OK 校验通过[/]: entry {doc['entry']} is in the log of size {doc['size']}"
        f" (cosigned by {cos})",
        markup=True,
    )


@click.command("verify-proof")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--ca",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The federation CA certificate(s), PEM.",
)
@click.option(
    "--certs",
    "certs_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Log certificates (default: FILE.certs.pem, as `prove` writes it).",
)
@json_option
@click.pass_context
def verify_proof_cmd(
    ctx: click.Context, file: Path, ca: Path, certs_file: Path | None, as_json: bool
) -> None:
    """Verify a single-entry proof offline."""
    certs = certs_file or _certs_path(file)
    if not certs.exists():
        raise click.ClickException(f"{certs} not found: pass --certs")
    doc = _verify_proof_file(file, ca, certs)
    if as_json:
        emit_json(doc)
    else:
        _print_proof(doc)
    if not doc["ok"]:
        ctx.exit(1)
