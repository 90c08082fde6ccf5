"""SPIFFE identities: who a certificate names, and the rules for names and trust domains.

DESIGN.md §4: each node holds two certificates with the same SPIFFE URI
``spiffe://<trust-domain>/node/<id>``: an ECDSA P-256 TLS certificate and a log-signing
certificate for its Ed25519 key (gRPC's TLS stack rejects Ed25519 TLS certificates, so the keys
stay separate). Auditors, admins and agencies of joint punishment (联合惩戒单位, role
``agency``) hold a TLS client certificate only. The role and name come
from the URI path, never from the subject DN.

Log-signing certificate profile: keyUsage digitalSignature and the single extended key usage
id-kp-documentSigning (RFC 9336). An EKU-less certificate would be valid for *any* purpose,
TLS included (RFC 5280 §4.2.1.12); naming one non-TLS purpose makes every TLS stack and the
trust store refuse the log certificate as a TLS peer certificate, and vice versa.

Everything here reads a certificate already in memory: whether it is signed by a trusted CA,
still valid or revoked is the trust store's question (node/identity/truststore.py). Node ids
and auditor/admin names follow the federation's node-id rule (sync/ids.py), so a name in a
certificate is always a valid origin of a log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID

from node.identity.errors import IdentityError, PkiError
from sync.ids import NODE_ID, NODE_ID_RE

TRUST_DOMAIN_DEFAULT = "chengyu.court"

Role = Literal["node", "auditor", "admin", "agency"]
ROLES: tuple[Role, ...] = get_args(Role)

# RFC 9336 id-kp-documentSigning: the log-signing certificate's only purpose (see module doc).
EKU_DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")

# SPIFFE trust domain: lowercase letters, digits, '.', '-', '_' (SPIFFE-ID spec §2.1).
_TRUST_DOMAIN_RE = re.compile(r"[a-z0-9._-]{1,255}")
_SPIFFE_RE = re.compile(r"spiffe://(?P<td>[^/]*)(?P<path>/.*)?", re.DOTALL)
_PATH_RE = re.compile(rf"/(?P<role>node|auditor|admin|agency)/(?P<name>{NODE_ID})")


@dataclass(frozen=True, slots=True)
class Identity:
    trust_domain: str
    role: Role
    name: str
    uri: str


def check_name(field: str, value: str) -> str:
    """Node ids and auditor/admin names: the node-id rule (sync.ids.NODE_ID)."""
    if not isinstance(value, str) or NODE_ID_RE.fullmatch(value) is None:
        raise PkiError(
            f"{field}: must match {NODE_ID} (1-63 lowercase letters, digits or '-', "
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


def peer_dns_name(trust_domain: str, node_id: str) -> str:
    """The DNS SAN that binds a node's TLS certificate to its node id."""
    return f"{node_id}.node.{trust_domain}"


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
            "bad_identity",
            f"SPIFFE path must be /node|auditor|admin|agency/<name> with name {NODE_ID}",
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
    ``trust_domain``, with path ``/node/<id>``, ``/auditor/<name>``, ``/admin/<name>`` or
    ``/agency/<name>``."""
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


def parse_der(der: bytes) -> x509.Certificate:
    """A peer's certificate from its DER bytes; IdentityError("bad_identity") if it is not one."""
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError as e:
        raise IdentityError("bad_identity", "peer certificate is not valid DER X.509") from e


def identity_from_der(der: bytes, trust_domain: str) -> Identity:
    return identity_from_cert(parse_der(der), trust_domain)


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
    ``TrustStore.check_log_cert``."""
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


def ed25519_key_raw(cert: x509.Certificate) -> bytes:
    """The raw 32-byte public key of a log-signing certificate; IdentityError if not Ed25519."""
    key = cert.public_key()
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise IdentityError("bad_identity", "log-signing certificate key must be Ed25519")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
