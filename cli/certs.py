"""``ccnode certs``: a development/federation CA (node/identity/ca.py) from the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import click
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID
from rich.console import Console
from rich.text import Text

from node.identity import ca, keyfiles
from node.identity.court_authority import court_prefixes_of
from node.identity.errors import IdentityError, PkiError
from node.identity.spiffe import (
    EKU_DOCUMENT_SIGNING,
    TRUST_DOMAIN_DEFAULT,
    Identity,
    cert_uris,
    identity_from_cert,
    parse_spiffe_id,
)
from node.identity.truststore import issued_by

_EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    EKU_DOCUMENT_SIGNING: "documentSigning",
}


@contextmanager
def _clear_errors() -> Iterator[None]:
    """Operator mistakes become one clear line and exit code 1, not a traceback."""
    try:
        yield
    except (PkiError, IdentityError) as e:
        raise click.ClickException(str(e)) from e
    except OSError as e:
        raise click.ClickException(f"{e.filename or 'file'}: {e.strerror}") from e


def _console() -> Console:
    # soft_wrap: long URIs and fingerprints stay on one line, whatever the terminal width.
    return Console(soft_wrap=True, highlight=False)


def _print_fields(fields: list[tuple[str, str]]) -> None:
    console = _console()
    width = max(len(label) for label, _ in fields)
    for label, value in fields:
        console.print(Text.assemble((label.ljust(width + 2), "bold"), value))


def _emit_json(doc: dict[str, object]) -> None:
    click.echo(json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True))


def _identity_doc(identity: Identity) -> dict[str, object]:
    return {
        "trust_domain": identity.trust_domain,
        "role": identity.role,
        "name": identity.name,
        "uri": identity.uri,
    }


_DIR = click.Path(path_type=Path, file_okay=False)
_CA_DIR = click.Path(path_type=Path, file_okay=False, exists=True)
_CERT_FILE = click.Path(path_type=Path, dir_okay=False, exists=True)


@click.group(name="certs")
def certs() -> None:
    """Development/federation PKI: CA, node/auditor/admin/agency certificates, revocation."""


@certs.command("init-ca")
@click.option("--dir", "ca_dir", required=True, type=_DIR, help="New CA directory.")
@click.option("--trust-domain", default=TRUST_DOMAIN_DEFAULT, show_default=True)
@click.option("--common-name", default=None, help="CA subject CN (e.g. a region CA's name).")
@click.option("--days", default=ca.CA_DAYS_DEFAULT, show_default=True, type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def init_ca(
    ca_dir: Path, trust_domain: str, common_name: str | None, days: int, as_json: bool
) -> None:
    """Create a federation CA: ca.key (0600), ca.pem, crl.pem, ca.json."""
    with _clear_errors():
        paths = ca.init_ca(ca_dir, trust_domain, common_name, days=days)
    files = {"cert": paths.cert, "key": paths.key, "crl": paths.crl, "state": paths.state}
    if as_json:
        _emit_json({"trust_domain": trust_domain, "files": {k: str(v) for k, v in files.items()}})
        return
    _print_fields([("trust domain", trust_domain), *((k, str(v)) for k, v in files.items())])


@certs.command("issue")
@click.option("--ca", "ca_dir", required=True, type=_CA_DIR, help="CA directory.")
@click.option("--node-id", default=None, help="Issue a node's TLS and log-signing certificates.")
@click.option("--auditor", default=None, help="Issue an auditor's TLS client certificate.")
@click.option("--admin", default=None, help="Issue a remote admin's TLS client certificate.")
@click.option(
    "--agency",
    default=None,
    help="Issue a joint-punishment agency's TLS client certificate (联合惩戒单位).",
)
@click.option("--out", "out_dir", required=True, type=_DIR, help="Output directory.")
@click.option("--ip", "ips", multiple=True, help="IP SAN (node only; default 127.0.0.1).")
@click.option("--dns", "dns", multiple=True, help="DNS SAN (node only; default localhost).")
@click.option(
    "--court-prefix",
    "court_prefixes",
    multiple=True,
    help="A court code prefix the node may state facts for, e.g. 川01 (node only; repeatable; "
    "written into its log-signing certificate; none: the node serves no court).",
)
@click.option("--days", default=ca.LEAF_DAYS_DEFAULT, show_default=True, type=click.IntRange(1))
@click.option("--force", is_flag=True, help="Replace existing files in --out.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def issue(
    ca_dir: Path,
    node_id: str | None,
    auditor: str | None,
    admin: str | None,
    agency: str | None,
    out_dir: Path,
    ips: tuple[str, ...],
    dns: tuple[str, ...],
    court_prefixes: tuple[str, ...],
    days: int,
    force: bool,
    as_json: bool,
) -> None:
    """Issue certificates for exactly one of --node-id, --auditor, --admin, --agency."""
    chosen = [v for v in (node_id, auditor, admin, agency) if v is not None]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --node-id, --auditor, --admin, --agency")
    if node_id is None and (ips or dns):
        raise click.UsageError("--ip and --dns apply to --node-id only")
    if node_id is None and court_prefixes:
        raise click.UsageError("--court-prefix applies to --node-id only")
    with _clear_errors():
        if node_id is not None:
            issued = ca.issue_node(
                ca_dir,
                node_id,
                out_dir,
                ips or ("127.0.0.1",),
                dns or ("localhost",),
                court_prefixes=court_prefixes,
                days=days,
                overwrite=force,
            )
        elif auditor is not None:
            issued = ca.issue_auditor(ca_dir, auditor, out_dir, days=days, overwrite=force)
        elif admin is not None:
            issued = ca.issue_admin(ca_dir, admin, out_dir, days=days, overwrite=force)
        else:
            assert agency is not None
            issued = ca.issue_agency(ca_dir, agency, out_dir, days=days, overwrite=force)
    files = {
        "ca": issued.ca,
        "tls_cert": issued.tls_cert,
        "tls_key": issued.tls_key,
        "log_cert": issued.log_cert,
        "log_key": issued.log_key,
    }
    written = {k: str(v) for k, v in files.items() if v is not None}
    if as_json:
        _emit_json({"identity": _identity_doc(issued.identity), "files": written})
        return
    _print_fields([("identity", issued.identity.uri), *written.items()])


@certs.command("revoke")
@click.option("--ca", "ca_dir", required=True, type=_CA_DIR, help="CA directory.")
@click.option(
    "--reason",
    type=click.Choice(ca.REVOCATION_REASONS),
    default="unspecified",
    show_default=True,
)
@click.argument("cert_files", metavar="CERT_FILE...", nargs=-1, required=True, type=_CERT_FILE)
def revoke(ca_dir: Path, reason: str, cert_files: tuple[Path, ...]) -> None:
    """Add certificates to the CA's CRL (crl.pem); nodes pick it up within a second."""
    console = _console()
    with _clear_errors():
        for cert_file in cert_files:
            already = ca.is_revoked(ca_dir, keyfiles.load_certificate(cert_file))
            ca.revoke(ca_dir, cert_file, reason)
            state = "already revoked" if already else "revoked"
            console.print(Text.assemble((state, "bold"), f"  {cert_file}"))


@certs.command("refresh-crl")
@click.option("--ca", "ca_dir", required=True, type=_CA_DIR, help="CA directory.")
@click.option("--days", default=ca.CRL_DAYS_DEFAULT, show_default=True, type=click.IntRange(1))
def refresh_crl(ca_dir: Path, days: int) -> None:
    """Re-sign crl.pem with a fresh nextUpdate (run before the current one passes)."""
    with _clear_errors():
        ca.refresh_crl(ca_dir, crl_days=days)
    _console().print(Text.assemble(("re-signed", "bold"), f"  {ca.CaPaths.of(ca_dir).crl}"))


@certs.command("install-crl")
@click.option("--home", envvar="CCNODE_HOME", required=True, type=_DIR, help="Node home.")
@click.option("--name", default="federation", show_default=True, help="CRL slot in HOME/crl/.")
@click.argument("crl_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def install_crl(home: Path, name: str, crl_file: Path) -> None:
    """Install a CRL into a node's home (HOME/crl/NAME.pem), replacing that slot atomically.

    A running node re-reads the CRL files it started with within a second of a change and
    refuses revoked certificates on the next call; a new slot is read at the next start.
    """
    with _clear_errors():
        keyfiles.install_crl(home / "crl", name, crl_file)
    _console().print(Text.assemble(("installed", "bold"), f"  {home / 'crl' / (name + '.pem')}"))


@dataclass
class _CertInfo:
    subject: str
    uris: list[str]
    key_type: str
    extended_key_usage: list[str]
    serial: str  # hex
    not_before: str  # ISO 8601, UTC
    not_after: str
    fingerprint_sha256: str  # hex
    identity: dict[str, object] | None = None
    identity_error: str | None = None
    issued_by_ca: bool | None = None  # None: no --ca given
    revoked: bool | None = None
    # The courts a log-signing certificate entitles its node to (None: not a log certificate).
    court_prefixes: list[str] | None = None


def _key_type(cert: x509.Certificate) -> str:
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ecdsa-{key.curve.name}"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519"
    return type(key).__name__


def _describe(cert: x509.Certificate, ca_dir: Path | None) -> _CertInfo:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        ekus = [_EKU_NAMES.get(oid, oid.dotted_string) for oid in eku]
    except x509.ExtensionNotFound:
        ekus = []
    info = _CertInfo(
        subject=cert.subject.rfc4514_string(),
        uris=cert_uris(cert),
        key_type=_key_type(cert),
        extended_key_usage=ekus,
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc.isoformat(),
        not_after=cert.not_valid_after_utc.isoformat(),
        fingerprint_sha256=ca.fingerprint_sha256(cert),
    )
    try:
        if "documentSigning" in ekus:
            info.court_prefixes = list(court_prefixes_of(cert))
        if ca_dir is None:
            if len(info.uris) != 1:
                raise IdentityError("bad_identity", f"{len(info.uris)} URI SANs, need one")
            identity = parse_spiffe_id(info.uris[0])
        else:
            ca_cert, trust_domain = ca.read_ca_public(ca_dir)
            info.issued_by_ca = issued_by(cert, ca_cert)
            info.revoked = ca.is_revoked(ca_dir, cert)
            identity = identity_from_cert(cert, trust_domain)
        info.identity = _identity_doc(identity)
    except IdentityError as e:
        info.identity_error = str(e)
    return info


@certs.command("show")
@click.argument("cert_file", type=_CERT_FILE)
@click.option("--ca", "ca_dir", default=None, type=_CA_DIR, help="Also check against this CA.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def show(cert_file: Path, ca_dir: Path | None, as_json: bool) -> None:
    """Identity, validity, fingerprint (and, with --ca, revocation) of a certificate."""
    with _clear_errors():
        info = _describe(keyfiles.load_certificate(cert_file), ca_dir)
    if as_json:
        _emit_json(asdict(info))
        return
    fields = [("uri", ", ".join(info.uris) or "(none)")]
    if info.identity is not None:
        fields += [("role", str(info.identity["role"])), ("name", str(info.identity["name"]))]
    else:
        fields.append(("identity", str(info.identity_error)))
    fields += [
        ("key", info.key_type),
        ("eku", ", ".join(info.extended_key_usage) or "(none)"),
        ("serial", info.serial),
        ("not before", info.not_before),
        ("not after", info.not_after),
        ("sha256", info.fingerprint_sha256),
    ]
    if info.court_prefixes is not None:
        fields.append(("court prefixes", ", ".join(info.court_prefixes) or "(none: no court)"))
    if ca_dir is not None:
        fields += [("issued by CA", str(info.issued_by_ca)), ("revoked", str(info.revoked))]
    _print_fields(fields)
