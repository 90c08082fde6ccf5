"""Federation PKI: minting a development CA and node/auditor/admin certificates, and checking
peer identities after the TLS handshake.

DESIGN.md §4: each node holds two certificates with the same SPIFFE URI
``spiffe://<trust-domain>/node/<id>``: an ECDSA P-256 TLS certificate and a log-signing
certificate for its Ed25519 key (gRPC's TLS stack rejects Ed25519 TLS certificates, so the keys
stay separate). Auditors and admins hold a TLS client certificate only. The role and name come
from the URI path, never from the subject DN.

Log-signing certificate profile: keyUsage digitalSignature and the single extended key usage
id-kp-documentSigning (RFC 9336). An EKU-less certificate would be valid for *any* purpose,
TLS included (RFC 5280 §4.2.1.12); naming one non-TLS purpose makes every TLS stack and
:class:`TrustStore` refuse the log certificate as a TLS peer certificate, and vice versa.

Time is always an argument (``now``), so tests mint expired and not-yet-valid certificates
without sleeping. Exception messages name fields and files, never names or identifiers that
may be personal data.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

log = logging.getLogger(__name__)

TRUST_DOMAIN_DEFAULT = "chengyu.court"
CA_DAYS_DEFAULT = 3650
LEAF_DAYS_DEFAULT = 365
CRL_DAYS_DEFAULT = 30
# Leaves start a few minutes in the past so a peer whose clock runs slightly behind the
# issuer's does not refuse a freshly issued certificate as "not_yet_valid".
BACKDATE = dt.timedelta(minutes=5)

Role = Literal["node", "auditor", "admin"]
Reason = Literal[
    "unknown_ca", "expired", "not_yet_valid", "revoked", "bad_identity", "wrong_trust_domain"
]
ROLES: tuple[Role, ...] = get_args(Role)
REASONS: tuple[Reason, ...] = get_args(Reason)

# RFC 9336 id-kp-documentSigning: the log-signing certificate's only purpose (see module doc).
EKU_DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")

_ISSUER_KEY_TYPES = (
    ec.EllipticCurvePublicKey,
    rsa.RSAPublicKey,
    dsa.DSAPublicKey,
    ed25519.Ed25519PublicKey,
    ed448.Ed448PublicKey,
)

NAME_RULE = "[a-z0-9][a-z0-9-]{0,62}"
_NAME_RE = re.compile(NAME_RULE)
# SPIFFE trust domain: lowercase letters, digits, '.', '-', '_' (SPIFFE-ID spec §2.1).
_TRUST_DOMAIN_RE = re.compile(r"[a-z0-9._-]{1,255}")
_SPIFFE_RE = re.compile(r"spiffe://(?P<td>[^/]*)(?P<path>/.*)?", re.DOTALL)
_PATH_RE = re.compile(rf"/(?P<role>node|auditor|admin)/(?P<name>{NAME_RULE})")
_DNS_RE = re.compile(
    r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
)

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


class PkiError(Exception):
    """Operator-facing failure: bad input, missing or existing files, a CA that cannot sign."""


class IdentityError(Exception):
    """A peer certificate is refused; ``reason`` is one of :data:`REASONS` (metric label)."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        assert reason in REASONS, reason
        self.reason: Reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


@dataclass(frozen=True, slots=True)
class Identity:
    trust_domain: str
    role: Role
    name: str
    uri: str


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


# ---------------------------------------------------------------- small helpers


def _now(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("now: must be timezone-aware (UTC)")
    return now.astimezone(dt.UTC)


def check_name(field: str, value: str) -> str:
    """Node ids and auditor/admin names: ``[a-z0-9][a-z0-9-]{0,62}``."""
    if not isinstance(value, str) or _NAME_RE.fullmatch(value) is None:
        raise PkiError(
            f"{field}: must match {NAME_RULE} (1-63 lowercase letters, digits or '-', "
            "not starting with '-')"
        )
    return value


def check_trust_domain(value: str) -> str:
    if not isinstance(value, str) or _TRUST_DOMAIN_RE.fullmatch(value) is None:
        raise PkiError(
            "trust_domain: must be 1-255 characters of lowercase letters, digits, '.', '-', '_'"
        )
    return value


def spiffe_uri(trust_domain: str, role: Role, name: str) -> str:
    assert role in ROLES, role
    return f"spiffe://{check_trust_domain(trust_domain)}/{role}/{check_name(role, name)}"


def fingerprint_sha256(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def _issuer_public_key(cert: x509.Certificate) -> CertificateIssuerPublicKeyTypes | None:
    """The key of a would-be issuer, or None for key types that cannot sign (X25519, ...)."""
    key = cert.public_key()
    if isinstance(key, _ISSUER_KEY_TYPES):
        return key
    return None


def _write_file(path: Path, data: bytes, *, mode: int, overwrite: bool) -> None:
    """Write ``data`` atomically (temp file + rename) with exactly ``mode``.

    Atomic so a node re-reading ``crl.pem`` never sees half a file; the temporary file is
    created 0600 (mkstemp), so a private key is never readable by anyone else, not even for an
    instant, whatever the umask.
    """
    if not overwrite and path.exists():
        raise PkiError(f"refusing to overwrite existing file {path}")
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        try:
            os.fchmod(fd, mode)
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _key_pem(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    # Unencrypted PKCS8: the node reads these unattended; file mode 0600 protects them.
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def load_certificate(path: Path) -> x509.Certificate:
    """One certificate from a PEM (or DER) file."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise PkiError(f"cannot read certificate file {path}: {e.strerror}") from e
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as e:
        raise PkiError(f"{path} is not a PEM or DER X.509 certificate") from e


def _load_crl_bytes(data: bytes) -> x509.CertificateRevocationList:
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)


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
    _write_file(paths.state, data, mode=0o644, overwrite=True)


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
    t = _now(now)
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
    _write_file(paths.key, _key_pem(key), mode=0o600, overwrite=False)
    _write_file(paths.cert, _cert_pem(cert), mode=0o644, overwrite=False)
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


def _read_ca_crl(paths: CaPaths) -> x509.CertificateRevocationList:
    try:
        return _load_crl_bytes(paths.crl.read_bytes())
    except OSError as e:
        raise PkiError(f"cannot read the CA's CRL {paths.crl}: {e.strerror}") from e
    except ValueError as e:
        raise PkiError(f"{paths.crl} is not a valid CRL") from e


def _crl_number(crl: x509.CertificateRevocationList) -> int:
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        return 0


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
    previous = max(_state_int(state, "crl_number"), _crl_number(current) if current else 0)
    crl_number = previous + 1
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(now)
        .next_update(now + dt.timedelta(days=days))
        .add_extension(x509.CRLNumber(crl_number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    for entry in entries:
        builder = builder.add_revoked_certificate(entry)
    crl = builder.sign(ca.key, hashes.SHA256())
    _write_file(
        ca.paths.crl, crl.public_bytes(serialization.Encoding.PEM), mode=0o644, overwrite=True
    )
    _write_state(ca.paths, {**state, "crl_number": crl_number})


def issued_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    """Whether ``ca_cert`` signed ``cert`` (issuer name and signature; not dates)."""
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


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
    t = _now(now)
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
    _sign_crl(ca, _read_state(ca.paths), current, list(current), now=_now(now), days=crl_days)


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
    return (
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
        .sign(ca.key, hashes.SHA256())
    )


def _prepare_issue(
    ca_dir: Path, role: Role, name: str, days: int, now: dt.datetime | None
) -> tuple[LoadedCa, Identity, dt.datetime]:
    check_name("node_id" if role == "node" else role, name)
    if days <= 0:
        raise PkiError("days: must be a positive number of days")
    ca = load_ca(ca_dir)
    t = _now(now)
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
        _write_file(out / fname, data, mode=mode, overwrite=True)
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
        "ca.pem": (_cert_pem(ca.cert), 0o644),
        "tls.pem": (_cert_pem(cert), 0o644),
        "tls.key": (_key_pem(key), 0o600),
    }


def peer_dns_name(trust_domain: str, node_id: str) -> str:
    """The DNS SAN that binds a node's TLS certificate to its node id."""
    return f"{node_id}.node.{trust_domain}"


def issue_node(
    ca_dir: Path,
    node_id: str,
    out_dir: Path,
    ips: Sequence[str] = ("127.0.0.1",),
    dns: Sequence[str] = ("localhost",),
    *,
    days: int = LEAF_DAYS_DEFAULT,
    now: dt.datetime | None = None,
    overwrite: bool = False,
) -> IssuedPaths:
    """A node's TLS certificate (ECDSA P-256, serverAuth+clientAuth, URI+DNS+IP SANs) and
    log-signing certificate (Ed25519, documentSigning, URI SAN only)."""
    if isinstance(ips, str) or isinstance(dns, str):
        raise PkiError("ips, dns: must be sequences of strings, not a single string")
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
    )
    files["log.pem"] = (_cert_pem(log_cert), 0o644)
    files["log.key"] = (_key_pem(log_key), 0o600)
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


# ---------------------------------------------------------------- identities


def parse_spiffe_id(uri: str) -> Identity:
    """``spiffe://<td>/<role>/<name>`` in any trust domain; IdentityError("bad_identity")."""
    m = _SPIFFE_RE.fullmatch(uri)
    if m is None:
        raise IdentityError("bad_identity", "URI SAN is not a spiffe:// URI")
    td = m.group("td")
    if _TRUST_DOMAIN_RE.fullmatch(td) is None:
        raise IdentityError("bad_identity", "SPIFFE trust domain is malformed")
    p = _PATH_RE.fullmatch(m.group("path") or "")
    if p is None:
        raise IdentityError(
            "bad_identity", f"SPIFFE path must be /node|auditor|admin/<name> with name {NAME_RULE}"
        )
    role = next(r for r in ROLES if r == p.group("role"))  # the regex admits only ROLES
    return Identity(td, role, p.group("name"), uri)


def cert_uris(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    except ValueError as e:  # malformed or duplicate extensions
        raise IdentityError("bad_identity", "certificate extensions are malformed") from e
    return san.get_values_for_type(x509.UniformResourceIdentifier)


def identity_from_cert(cert: x509.Certificate, trust_domain: str) -> Identity:
    """The SPIFFE identity of ``cert``: exactly one URI SAN (SPIFFE X509-SVID §2), in
    ``trust_domain``, with path ``/node/<id>``, ``/auditor/<name>`` or ``/admin/<name>``."""
    uris = cert_uris(cert)
    if len(uris) != 1:
        raise IdentityError(
            "bad_identity", f"certificate has {len(uris)} URI SANs; exactly one is required"
        )
    identity = parse_spiffe_id(uris[0])
    if identity.trust_domain != trust_domain:
        raise IdentityError(
            "wrong_trust_domain", f"certificate is not in trust domain {trust_domain}"
        )
    return identity


def identity_from_der(der: bytes, trust_domain: str) -> Identity:
    return identity_from_cert(_parse_der(der), trust_domain)


def _eku(cert: x509.Certificate) -> list[x509.ObjectIdentifier] | None:
    try:
        return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return None
    except ValueError as e:  # malformed or duplicate extensions
        raise IdentityError("bad_identity", "certificate extensions are malformed") from e


def log_cert_identity(cert: x509.Certificate, trust_domain: str) -> Identity:
    """Identity of a log-signing certificate, after checking its profile: Ed25519 key,
    documentSigning EKU (never a TLS purpose), node role. Does not check the chain; see
    :meth:`TrustStore.check_log_cert`."""
    if not isinstance(cert.public_key(), ed25519.Ed25519PublicKey):
        raise IdentityError("bad_identity", "log-signing certificate key must be Ed25519")
    ekus = _eku(cert)
    if ekus is None or EKU_DOCUMENT_SIGNING not in ekus:
        raise IdentityError("bad_identity", "log-signing certificate lacks documentSigning EKU")
    if ExtendedKeyUsageOID.SERVER_AUTH in ekus or ExtendedKeyUsageOID.CLIENT_AUTH in ekus:
        raise IdentityError("bad_identity", "log-signing certificate must not allow TLS")
    identity = identity_from_cert(cert, trust_domain)
    if identity.role != "node":
        raise IdentityError("bad_identity", "log-signing certificate must name a node")
    return identity


def _ed25519_raw(cert: x509.Certificate) -> bytes:
    key = cert.public_key()
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise IdentityError("bad_identity", "log-signing certificate key must be Ed25519")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# ---------------------------------------------------------------- loading a node's own files


def load_log_signing_key(path: Path, cert_path: Path | None = None) -> ed25519.Ed25519PrivateKey:
    """The node's Ed25519 log-signing key (``log.key``); with ``cert_path``, also checks that
    it is the key certified by ``log.pem``."""
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except OSError as e:
        raise PkiError(f"cannot read log-signing key {path}: {e.strerror}") from e
    except (ValueError, TypeError) as e:
        raise PkiError(f"{path} is not an unencrypted PKCS8 PEM private key") from e
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise PkiError(f"{path}: log-signing key must be Ed25519")
    if cert_path is not None:
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        if raw != load_log_cert_public_key(cert_path):
            raise PkiError(f"{path} does not match the certificate {cert_path}")
    return key


def load_log_cert_public_key(path: Path) -> bytes:
    """The raw 32-byte Ed25519 public key certified by ``log.pem``."""
    cert = load_certificate(path)
    try:
        return _ed25519_raw(cert)
    except IdentityError as e:
        raise PkiError(f"{path}: log-signing certificate key must be Ed25519") from e


def tls_credentials_files(dir: Path) -> tuple[bytes, bytes, bytes]:
    """``(tls.key, tls.pem, ca.pem)`` bytes from ``dir``, as ``grpc.ssl_server_credentials``
    and ``grpc.ssl_channel_credentials`` take them."""
    d = Path(dir)
    out: list[bytes] = []
    for fname in ("tls.key", "tls.pem", "ca.pem"):
        try:
            out.append((d / fname).read_bytes())
        except OSError as e:
            raise PkiError(f"cannot read {d / fname}: {e.strerror}") from e
    return out[0], out[1], out[2]


# ---------------------------------------------------------------- the trust store


@dataclass(frozen=True, slots=True)
class _LoadedCrl:
    ca_spki: bytes  # which CA in the bundle signed it
    number: int  # CRLNumber; a reload never goes back to a lower one
    serials: frozenset[int]
    next_update: dt.datetime | None


@dataclass(frozen=True, slots=True)
class _Chain:
    """A leaf whose issuer signature was verified against a CA of the bundle."""

    ca_spki: bytes  # the issuing CA, which is also the CRL issuer to consult
    serial: int
    valid_from: dt.datetime  # the later of leaf and CA notBefore
    valid_until: dt.datetime  # the earlier of leaf and CA notAfter


def _spki(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


_StatSig = tuple[int, int, int]  # (st_ino, st_size, st_mtime_ns)
_CACHE_MAX = 4096


class TrustStore:
    """CA bundle + CRLs; checks a peer certificate after the TLS handshake, on every call.

    Cheap on the hot path: a verified chain is cached by its DER bytes, so a repeat call costs
    a dict lookup, two date comparisons and a set lookup. ``reload_if_changed`` stats the CRL
    files at most once per ``reload_interval_s`` of the injected monotonic clock.

    A CRL past its nextUpdate still applies (its revocations stay true) and is reported by
    :meth:`stale_crls` for alerting; it does not refuse every peer of its CA.
    """

    def __init__(
        self,
        ca_bundle: Path,
        crl_files: Sequence[Path] = (),
        *,
        trust_domain: str = TRUST_DOMAIN_DEFAULT,
        monotonic: Callable[[], float] = time.monotonic,
        reload_interval_s: float = 1.0,
    ) -> None:
        self.trust_domain = check_trust_domain(trust_domain)
        self._cas = self._load_bundle(Path(ca_bundle))
        self._store = Store(self._cas)
        self._monotonic = monotonic
        self._reload_interval_s = reload_interval_s
        self._next_stat_s = monotonic() + reload_interval_s
        self._crl_paths = tuple(Path(p) for p in crl_files)
        self._crls: dict[Path, _LoadedCrl] = {}
        self._stats: dict[Path, _StatSig | None] = {}
        for p in self._crl_paths:
            self._stats[p], self._crls[p] = self._read_crl(p)  # errors propagate at startup
        self._revoked = self._index_revoked()
        self._cache: dict[bytes, tuple[_Chain, Identity]] = {}

    # -- loading

    @staticmethod
    def _load_bundle(path: Path) -> list[x509.Certificate]:
        try:
            cas = x509.load_pem_x509_certificates(path.read_bytes())
        except OSError as e:
            raise PkiError(f"cannot read CA bundle {path}: {e.strerror}") from e
        except ValueError as e:
            raise PkiError(f"{path} is not a PEM bundle of CA certificates") from e
        for i, ca in enumerate(cas):
            try:
                bc = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
            except x509.ExtensionNotFound:
                bc = None
            if bc is None or not bc.ca:
                raise PkiError(f"{path}: certificate #{i} is not a CA certificate")
        return cas

    def _read_crl(self, path: Path) -> tuple[_StatSig, _LoadedCrl]:
        try:
            with path.open("rb") as f:
                st = os.fstat(f.fileno())
                data = f.read()
        except OSError as e:
            raise PkiError(f"cannot read CRL {path}: {e.strerror}") from e
        try:
            crl = _load_crl_bytes(data)
        except ValueError as e:
            raise PkiError(f"{path} is not a PEM or DER CRL") from e
        for ca in self._cas:
            ca_key = _issuer_public_key(ca)
            if ca.subject == crl.issuer and ca_key is not None and crl.is_signature_valid(ca_key):
                loaded = _LoadedCrl(
                    _spki(ca),
                    _crl_number(crl),
                    frozenset(r.serial_number for r in crl),
                    crl.next_update_utc,
                )
                return (st.st_ino, st.st_size, st.st_mtime_ns), loaded
        raise PkiError(f"{path} is not signed by any CA in the bundle")

    def _index_revoked(self) -> dict[bytes, frozenset[int]]:
        index: dict[bytes, frozenset[int]] = {}
        for crl in self._crls.values():
            index[crl.ca_spki] = index.get(crl.ca_spki, frozenset()) | crl.serials
        return index

    def reload_if_changed(self) -> bool:
        """Re-read CRL files whose inode, size or mtime changed; True if any was reloaded.
        A missing or broken file, or one with a lower CRL number than the loaded one, keeps the
        previous revocations and is logged once per change."""
        t = self._monotonic()
        if t < self._next_stat_s:
            return False
        self._next_stat_s = t + self._reload_interval_s
        changed = False
        for p in self._crl_paths:
            try:
                st = p.stat()
                sig: _StatSig | None = (st.st_ino, st.st_size, st.st_mtime_ns)
            except OSError:
                sig = None
            if sig == self._stats[p]:
                continue
            self._stats[p] = sig  # whatever happens next, warn once per change of the file
            try:
                sig, crl = self._read_crl(p)
            except PkiError as e:
                log.warning("CRL reload failed, keeping previous revocations: %s", e)
                continue
            old = self._crls[p]
            if crl.ca_spki == old.ca_spki and crl.number < old.number:
                # An older CRL copied back would silently un-revoke certificates.
                log.warning("CRL %s goes back to an older CRL number; keeping the newer one", p)
                continue
            self._stats[p], self._crls[p] = sig, crl
            changed = True
        if changed:
            self._revoked = self._index_revoked()
        return changed

    def stale_crls(self, now: dt.datetime | None = None) -> list[Path]:
        """CRL files past their nextUpdate: the CA admin must re-sign them."""
        t = _now(now)
        return [
            p
            for p, crl in self._crls.items()
            if crl.next_update is not None and crl.next_update < t
        ]

    # -- checking

    def _issuer(self, cert: x509.Certificate) -> x509.Certificate:
        for ca in self._cas:
            if issued_by(cert, ca):
                return ca
        raise IdentityError("unknown_ca", "certificate is not issued by a CA in the bundle")

    @staticmethod
    def _check_dates(chain: _Chain, now: dt.datetime) -> None:
        if now < chain.valid_from:
            raise IdentityError("not_yet_valid", "certificate (or its CA) is not valid yet")
        if now > chain.valid_until:
            raise IdentityError("expired", "certificate (or its CA) has expired")

    def _check_revoked(self, chain: _Chain) -> None:
        if chain.serial in self._revoked.get(chain.ca_spki, ()):
            raise IdentityError("revoked", "certificate is revoked")

    def _chain(self, cert: x509.Certificate, now: dt.datetime) -> _Chain:
        ca = self._issuer(cert)
        chain = _Chain(
            ca_spki=_spki(ca),
            serial=cert.serial_number,
            valid_from=max(cert.not_valid_before_utc, ca.not_valid_before_utc),
            valid_until=min(cert.not_valid_after_utc, ca.not_valid_after_utc),
        )
        self._check_dates(chain, now)
        return chain

    def check(self, cert_der: bytes, now: dt.datetime | None = None) -> Identity:
        """The identity of a TLS peer certificate, or IdentityError(reason).

        Order of refusals: unknown_ca, not_yet_valid/expired, bad_identity (not a TLS client
        certificate), revoked, bad_identity/wrong_trust_domain (its SPIFFE URI).
        """
        t = _now(now)
        hit = self._cache.get(cert_der)
        if hit is None:
            hit = self._verify_tls(cert_der, t)
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[cert_der] = hit
        chain, identity = hit
        # Time moves and CRLs are reloaded, so these two are re-checked on every call.
        self._check_dates(chain, t)
        self._check_revoked(chain)
        return identity

    def _verify_tls(self, cert_der: bytes, now: dt.datetime) -> tuple[_Chain, Identity]:
        cert = _parse_der(cert_der)
        chain = self._chain(cert, now)
        # Full RFC 5280 / CA-B profile checks on top of the signature and dates above:
        # CA basicConstraints and keyUsage, the leaf's clientAuth EKU, SAN presence, etc.
        # serverAuth-only or log-signing certificates fail here.
        verifier = PolicyBuilder().store(self._store).time(now).build_client_verifier()
        try:
            verifier.verify(cert, [])
        except VerificationError as e:
            raise IdentityError(
                "bad_identity", f"not a valid TLS client certificate ({_why(e)})"
            ) from e
        self._check_revoked(chain)
        return chain, identity_from_cert(cert, self.trust_domain)

    def check_log_cert(
        self, cert_der: bytes, now: dt.datetime | None = None
    ) -> tuple[Identity, bytes]:
        """Identity and raw Ed25519 public key of a peer's log-signing certificate (e.g. an
        ``OriginKey``): chain, dates, revocation and profile (see :func:`log_cert_identity`)."""
        cert = _parse_der(cert_der)
        chain = self._chain(cert, _now(now))
        self._check_revoked(chain)
        identity = log_cert_identity(cert, self.trust_domain)
        return identity, _ed25519_raw(cert)


def _why(e: VerificationError) -> str:
    """cryptography's reason without the certificate it appends: that subject DN may name a
    person (auditor and admin certificates), and personal data must not reach logs."""
    why = re.sub(r"\s*\(encountered processing.*", "", str(e), flags=re.DOTALL)
    return "path validation failed" if "<" in why else why


def _parse_der(der: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError as e:
        raise IdentityError("bad_identity", "peer certificate is not valid DER X.509") from e


def install_crl(crl_dir: Path, name: str, crl_file: Path) -> Path:
    """Copy a CRL (checked to parse) into ``crl_dir/<name>.pem`` atomically; return the path."""
    check_name("name", name)
    data = Path(crl_file).read_bytes()
    try:
        _load_crl_bytes(data)
    except (ValueError, PkiError) as e:
        raise PkiError(f"{crl_file}: not a PEM certificate revocation list") from e
    crl_dir = Path(crl_dir)
    crl_dir.mkdir(parents=True, exist_ok=True)
    target = crl_dir / f"{name}.pem"
    _write_file(target, data, mode=0o644, overwrite=True)
    return target
