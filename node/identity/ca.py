"""A development (or federation) CA: minting it, issuing node, auditor and admin certificates,
and revoking them. This is what ``ccnode certs`` runs; a running node never imports it.

A CA directory holds ``ca.key`` (0600), ``ca.pem``, ``crl.pem`` and ``ca.json`` (trust domain,
CRL number, count of issued certificates). A node gets its TLS certificate (ECDSA P-256,
serverAuth + clientAuth, URI + DNS + IP SANs) and its log-signing certificate (Ed25519,
documentSigning only, URI SAN only; see node/identity/spiffe.py for why the profiles differ);
auditors and admins get a TLS client certificate only.

Revocation is permanent: a certificate's serial is added to the CA's CRL, which is re-signed
with a higher CRL number; nodes pick up the copy they are given (``install_crl``) when the file
changes.

Time is always an argument (``now``), so tests mint expired and not-yet-valid certificates
without sleeping. Exception messages name fields and files, never names or identifiers that
may be personal data.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from node.identity.court_authority import check_court_prefixes, court_prefixes_extension
from node.identity.errors import PkiError
from node.identity.keyfiles import cert_pem, key_pem, load_certificate, load_crl_bytes, write_file
from node.identity.spiffe import (
    EKU_DOCUMENT_SIGNING,
    TRUST_DOMAIN_DEFAULT,
    Identity,
    Role,
    check_name,
    check_trust_domain,
    peer_dns_name,
    spiffe_uri,
)
from node.identity.truststore import crl_number, issued_by, utc_now
from sync.ids import DNS_LABEL

CA_DAYS_DEFAULT = 3650
LEAF_DAYS_DEFAULT = 365
CRL_DAYS_DEFAULT = 30
# Leaves start a few minutes in the past so a peer whose clock runs slightly behind the
# issuer's does not refuse a freshly issued certificate as "not_yet_valid".
BACKDATE = dt.timedelta(minutes=5)

# A DNS SAN: lowercase labels, 253 characters at most in all.
_DNS_RE = re.compile(rf"(?=.{{1,253}}$){DNS_LABEL}(?:\.{DNS_LABEL})*")

# Revocation reasons an operator may give; certificateHold (reversible) and removeFromCRL are
# deliberately absent: revocation here is permanent.
REVOCATION_REASONS: tuple[str, ...] = (
    "unspecified",
    "key_compromise",
    "ca_compromise",
    "affiliation_changed",
    "superseded",
    "cessation_of_operation",
    "privilege_withdrawn",
)


@dataclass(frozen=True, slots=True)
class CaPaths:
    dir: Path
    cert: Path  # ca.pem
    key: Path  # ca.key (0600)
    crl: Path  # crl.pem
    state: Path  # ca.json

    @classmethod
    def of(cls, ca_dir: Path) -> CaPaths:
        d = Path(ca_dir)
        return cls(d, d / "ca.pem", d / "ca.key", d / "crl.pem", d / "ca.json")


@dataclass(frozen=True, slots=True)
class IssuedPaths:
    """What ``issue_*`` wrote; ``log_*`` are set for nodes only."""

    dir: Path
    identity: Identity
    ca: Path  # ca.pem
    tls_cert: Path  # tls.pem
    tls_key: Path  # tls.key (0600)
    log_cert: Path | None = None  # log.pem
    log_key: Path | None = None  # log.key (0600, Ed25519 PKCS8)


@dataclass(frozen=True, slots=True)
class LoadedCa:
    paths: CaPaths
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    trust_domain: str


def fingerprint_sha256(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


# ---------------------------------------------------------------- the CA


def _key_usage(
    *,
    digital_signature: bool = False,
    key_agreement: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=key_agreement,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


_CA_KEY_USAGE = _key_usage(key_cert_sign=True, crl_sign=True)
_LOG_KEY_USAGE = _key_usage(digital_signature=True)
# ECDSA TLS keys sign handshakes; keyAgreement also admits static-ECDH suites of older peers.
_TLS_KEY_USAGE = _key_usage(digital_signature=True, key_agreement=True)


def _read_state(paths: CaPaths) -> dict[str, object]:
    try:
        state = json.loads(paths.state.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise PkiError(f"cannot read CA state {paths.state}") from e
    if not isinstance(state, dict) or state.get("format") != 1:
        raise PkiError(f"{paths.state}: unknown format (expected format 1)")
    return state


def _write_state(paths: CaPaths, state: dict[str, object]) -> None:
    data = (json.dumps(state, indent=2, sort_keys=True) + "\n").encode()
    write_file(paths.state, data, mode=0o644, overwrite=True)


def _state_int(state: dict[str, object], field: str) -> int:
    value = state.get(field)
    if not isinstance(value, int) or value < 0:
        raise PkiError(f"CA state: {field} must be a non-negative integer")
    return value


def init_ca(
    dir: Path,
    trust_domain: str = TRUST_DOMAIN_DEFAULT,
    common_name: str | None = None,
    *,
    days: int = CA_DAYS_DEFAULT,
    now: dt.datetime | None = None,
) -> CaPaths:
    """Create a federation (or region) CA in ``dir``: ``ca.key``, ``ca.pem``, ``crl.pem``,
    ``ca.json``. Refuses to touch a directory that already holds any of them."""
    check_trust_domain(trust_domain)
    if days <= 0:
        raise PkiError("days: must be a positive number of days")
    paths = CaPaths.of(dir)
    for p in (paths.cert, paths.key, paths.crl, paths.state):
        if p.exists():
            raise PkiError(f"refusing to overwrite an existing CA in {paths.dir} ({p.name} exists)")
    paths.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    t = utc_now(now)
    cn = common_name or f"ccnode federation CA ({trust_domain})"
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, trust_domain),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )
    key = ec.generate_private_key(ec.SECP256R1())
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(t - BACKDATE)
        .not_valid_after(t + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_CA_KEY_USAGE, critical=True)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    # Key first and exclusively: if two init-ca runs race, one fails before writing anything.
    write_file(paths.key, key_pem(key), mode=0o600, overwrite=False)
    write_file(paths.cert, cert_pem(cert), mode=0o644, overwrite=False)
    state: dict[str, object] = {
        "format": 1,
        "trust_domain": trust_domain,
        "crl_number": 0,
        "issued_count": 0,
    }
    ca = LoadedCa(paths, cert, key, trust_domain)
    _sign_crl(ca, state, None, [], now=t, days=CRL_DAYS_DEFAULT)
    return paths


def read_ca_public(ca_dir: Path) -> tuple[x509.Certificate, str]:
    """The CA certificate and trust domain, without touching the private key."""
    paths = CaPaths.of(ca_dir)
    for p in (paths.cert, paths.state):
        if not p.exists():
            raise PkiError(f"{paths.dir} is not a CA directory ({p.name} missing; run init-ca)")
    trust_domain = _read_state(paths).get("trust_domain")
    if not isinstance(trust_domain, str):
        raise PkiError(f"{paths.state}: trust_domain missing")
    return load_certificate(paths.cert), check_trust_domain(trust_domain)


def load_ca(ca_dir: Path) -> LoadedCa:
    """The CA's certificate, private key and trust domain (for issuing and revoking)."""
    cert, trust_domain = read_ca_public(ca_dir)
    paths = CaPaths.of(ca_dir)
    try:
        key = serialization.load_pem_private_key(paths.key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as e:
        raise PkiError(f"cannot load CA key {paths.key}") from e
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError(f"{paths.key}: CA key must be an ECDSA key")
    if key.public_key() != cert.public_key():
        raise PkiError(f"{paths.key} does not match {paths.cert}")
    return LoadedCa(paths, cert, key, trust_domain)


def _sign_crl(
    ca: LoadedCa,
    state: dict[str, object],
    current: x509.CertificateRevocationList | None,
    entries: Iterable[x509.RevokedCertificate],
    *,
    now: dt.datetime,
    days: int,
) -> None:
    # CRL numbers must strictly increase (RFC 5280 §5.2.3). The CRL file is written before
    # ca.json, so after a crash between the two the file holds the higher number.
    previous = max(_state_int(state, "crl_number"), crl_number(current) if current else 0)
    number = previous + 1
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(now)
        .next_update(now + dt.timedelta(days=days))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    for entry in entries:
        builder = builder.add_revoked_certificate(entry)
    crl = builder.sign(ca.key, hashes.SHA256())
    write_file(
        ca.paths.crl, crl.public_bytes(serialization.Encoding.PEM), mode=0o644, overwrite=True
    )
    _write_state(ca.paths, {**state, "crl_number": number})


# ---------------------------------------------------------------- revocation


def _read_ca_crl(paths: CaPaths) -> x509.CertificateRevocationList:
    try:
        return load_crl_bytes(paths.crl.read_bytes())
    except OSError as e:
        raise PkiError(f"cannot read the CA's CRL {paths.crl}: {e.strerror}") from e
    except ValueError as e:
        raise PkiError(f"{paths.crl} is not a valid CRL") from e


def is_revoked(ca_dir: Path, cert: x509.Certificate) -> bool:
    """Whether this CA's current ``crl.pem`` lists ``cert`` (issuer and serial)."""
    crl = _read_ca_crl(CaPaths.of(ca_dir))
    return (
        crl.issuer == cert.issuer
        and crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
    )


def revoke(
    ca_dir: Path,
    cert_file: Path,
    reason: str = "unspecified",
    *,
    now: dt.datetime | None = None,
    crl_days: int = CRL_DAYS_DEFAULT,
) -> None:
    """Add ``cert_file``'s serial to the CA's CRL and re-sign ``crl.pem`` (previous
    revocations kept, CRL number bumped, nextUpdate ``now + crl_days``). Revoking an already
    revoked certificate changes nothing."""
    if reason not in REVOCATION_REASONS:
        raise PkiError(f"reason: must be one of {', '.join(REVOCATION_REASONS)}")
    ca = load_ca(ca_dir)
    cert = load_certificate(cert_file)
    if not issued_by(cert, ca.cert):
        raise PkiError(f"{cert_file} was not issued by the CA in {ca.paths.dir}")
    current = _read_ca_crl(ca.paths)
    if current.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
        return
    t = utc_now(now)
    entry = x509.RevokedCertificateBuilder().serial_number(cert.serial_number).revocation_date(t)
    # RFC 5280 §5.3.1: the reason code "unspecified" SHOULD be absent rather than encoded.
    if reason != "unspecified":
        entry = entry.add_extension(x509.CRLReason(x509.ReasonFlags[reason]), critical=False)
    entries = [*current, entry.build()]
    _sign_crl(ca, _read_state(ca.paths), current, entries, now=t, days=crl_days)


def refresh_crl(
    ca_dir: Path, *, now: dt.datetime | None = None, crl_days: int = CRL_DAYS_DEFAULT
) -> None:
    """Re-sign ``crl.pem`` unchanged but with a fresh thisUpdate/nextUpdate."""
    ca = load_ca(ca_dir)
    current = _read_ca_crl(ca.paths)
    _sign_crl(ca, _read_state(ca.paths), current, list(current), now=utc_now(now), days=crl_days)


# ---------------------------------------------------------------- issuing


def _sans(uri: str, ips: Sequence[str], dns: Sequence[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(uri)]
    for i, name in enumerate(dns):
        if not isinstance(name, str) or _DNS_RE.fullmatch(name) is None:
            raise PkiError(f"dns[{i}]: must be a lowercase DNS name")
        names.append(x509.DNSName(name))
    for i, ip in enumerate(ips):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(ip)))
        except ValueError as e:
            raise PkiError(f"ips[{i}]: must be an IPv4 or IPv6 address") from e
    return names


def _sign_leaf(
    ca: LoadedCa,
    identity: Identity,
    public_key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey,
    sans: list[x509.GeneralName],
    key_usage: x509.KeyUsage,
    ekus: list[x509.ObjectIdentifier],
    *,
    days: int,
    now: dt.datetime,
    extra: Sequence[x509.ExtensionType] = (),
) -> x509.Certificate:
    not_before = now - BACKDATE
    # A leaf never outlives its CA: a verifier would refuse it then anyway.
    not_after = min(now + dt.timedelta(days=days), ca.cert.not_valid_after_utc)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, identity.trust_domain),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, identity.role),
            x509.NameAttribute(NameOID.COMMON_NAME, identity.name),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    for extension in extra:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(ca.key, hashes.SHA256())


def _prepare_issue(
    ca_dir: Path, role: Role, name: str, days: int, now: dt.datetime | None
) -> tuple[LoadedCa, Identity, dt.datetime]:
    check_name("node_id" if role == "node" else role, name)
    if days <= 0:
        raise PkiError("days: must be a positive number of days")
    ca = load_ca(ca_dir)
    t = utc_now(now)
    if not ca.cert.not_valid_before_utc <= t <= ca.cert.not_valid_after_utc:
        raise PkiError(f"the CA in {ca.paths.dir} is not valid at the issuing time")
    uri = spiffe_uri(ca.trust_domain, role, name)
    return ca, Identity(ca.trust_domain, role, name, uri), t


def _write_issued(
    ca: LoadedCa,
    out_dir: Path,
    files: dict[str, tuple[bytes, int]],
    *,
    certs_issued: int,
    overwrite: bool,
) -> None:
    out = Path(out_dir)
    if not overwrite:
        # Check every target first so a refusal never leaves half a credential set behind.
        for fname in files:
            if (out / fname).exists():
                raise PkiError(f"refusing to overwrite existing file {out / fname} (use --force)")
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    for fname, (data, mode) in files.items():
        write_file(out / fname, data, mode=mode, overwrite=True)
    state = _read_state(ca.paths)
    count = _state_int(state, "issued_count") + certs_issued
    _write_state(ca.paths, {**state, "issued_count": count})


def _tls_files(
    ca: LoadedCa,
    identity: Identity,
    sans: list[x509.GeneralName],
    ekus: list[x509.ObjectIdentifier],
    days: int,
    now: dt.datetime,
) -> dict[str, tuple[bytes, int]]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _sign_leaf(
        ca, identity, key.public_key(), sans, _TLS_KEY_USAGE, ekus, days=days, now=now
    )
    return {
        "ca.pem": (cert_pem(ca.cert), 0o644),
        "tls.pem": (cert_pem(cert), 0o644),
        "tls.key": (key_pem(key), 0o600),
    }


def issue_node(
    ca_dir: Path,
    node_id: str,
    out_dir: Path,
    ips: Sequence[str] = ("127.0.0.1",),
    dns: Sequence[str] = ("localhost",),
    *,
    court_prefixes: Sequence[str] = (),
    days: int = LEAF_DAYS_DEFAULT,
    now: dt.datetime | None = None,
    overwrite: bool = False,
) -> IssuedPaths:
    """A node's TLS certificate (ECDSA P-256, serverAuth+clientAuth, URI+DNS+IP SANs) and
    log-signing certificate (Ed25519, documentSigning, URI SAN only, and the court prefixes
    the node may speak for: node/identity/court_authority.py; none given, none served)."""
    if isinstance(ips, str) or isinstance(dns, str):
        raise PkiError("ips, dns: must be sequences of strings, not a single string")
    prefixes = check_court_prefixes(court_prefixes)
    ca, identity, t = _prepare_issue(ca_dir, "node", node_id, days, now)
    # Every node certificate also names <node-id>.node.<trust-domain>: peers connect with that
    # as the TLS target name, so the handshake itself proves the server is the peer they meant.
    tls_sans = _sans(identity.uri, ips, dns)
    peer_name = x509.DNSName(peer_dns_name(identity.trust_domain, node_id))
    if peer_name not in tls_sans:
        tls_sans.insert(1, peer_name)
    files = _tls_files(
        ca,
        identity,
        tls_sans,
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
        days,
        t,
    )
    log_key = ed25519.Ed25519PrivateKey.generate()
    log_cert = _sign_leaf(
        ca,
        identity,
        log_key.public_key(),
        [x509.UniformResourceIdentifier(identity.uri)],
        _LOG_KEY_USAGE,
        [EKU_DOCUMENT_SIGNING],
        days=days,
        now=t,
        extra=[court_prefixes_extension(prefixes)] if prefixes else [],
    )
    files["log.pem"] = (cert_pem(log_cert), 0o644)
    files["log.key"] = (key_pem(log_key), 0o600)
    _write_issued(ca, out_dir, files, certs_issued=2, overwrite=overwrite)
    out = Path(out_dir)
    return IssuedPaths(
        out,
        identity,
        out / "ca.pem",
        out / "tls.pem",
        out / "tls.key",
        out / "log.pem",
        out / "log.key",
    )


def _issue_client(
    role: Role,
    ca_dir: Path,
    name: str,
    out_dir: Path,
    days: int,
    now: dt.datetime | None,
    overwrite: bool,
) -> IssuedPaths:
    ca, identity, t = _prepare_issue(ca_dir, role, name, days, now)
    sans: list[x509.GeneralName] = [x509.UniformResourceIdentifier(identity.uri)]
    files = _tls_files(ca, identity, sans, [ExtendedKeyUsageOID.CLIENT_AUTH], days, t)
    _write_issued(ca, out_dir, files, certs_issued=1, overwrite=overwrite)
    out = Path(out_dir)
    return IssuedPaths(out, identity, out / "ca.pem", out / "tls.pem", out / "tls.key")


def issue_auditor(
    ca_dir: Path,
    name: str,
    out_dir: Path,
    *,
    days: int = LEAF_DAYS_DEFAULT,
    now: dt.datetime | None = None,
    overwrite: bool = False,
) -> IssuedPaths:
    """An auditor's TLS client certificate (clientAuth only, URI SAN only)."""
    return _issue_client("auditor", ca_dir, name, out_dir, days, now, overwrite)


def issue_admin(
    ca_dir: Path,
    name: str,
    out_dir: Path,
    *,
    days: int = LEAF_DAYS_DEFAULT,
    now: dt.datetime | None = None,
    overwrite: bool = False,
) -> IssuedPaths:
    """A remote admin's TLS client certificate (clientAuth only, URI SAN only)."""
    return _issue_client("admin", ca_dir, name, out_dir, days, now, overwrite)


def issue_agency(
    ca_dir: Path,
    name: str,
    out_dir: Path,
    *,
    days: int = LEAF_DAYS_DEFAULT,
    now: dt.datetime | None = None,
    overwrite: bool = False,
) -> IssuedPaths:
    """A joint-punishment agency's TLS client certificate (clientAuth only, URI SAN only):
    it may call the Agency service of the nodes that admit it, nothing else."""
    return _issue_client("agency", ca_dir, name, out_dir, days, now, overwrite)
