"""Checking log-signing certificates with the CA certificate alone, for offline verification.

Bundles, proofs and evidence files carry the log-signing certificates of the origin and of
the witnesses. A verifier trusts a certificate's Ed25519 key for node ``X`` only if

* the certificate is issued (signed) by a CA in the given bundle,
* it has the log-signing profile (Ed25519 key, documentSigning EKU, no TLS purpose) and names
  ``spiffe://<trust-domain>/node/X`` (node.identity.spiffe.log_cert_identity), and
* its PEM is exactly the canonical encoding of its DER, so no byte of the file goes unchecked.

Validity dates and CRLs are deliberately not checked: an archived log must still verify years
after the certificates that signed it expired. Check revocation separately where it matters.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding

from node.identity.errors import IdentityError
from node.identity.spiffe import log_cert_identity
from node.identity.truststore import issued_by
from sync.bundle import CertificateCheck


class CaBundleError(Exception):
    """The CA file cannot be used."""


def load_cas(path: Path) -> list[x509.Certificate]:
    try:
        cas = x509.load_pem_x509_certificates(Path(path).read_bytes())
    except OSError as e:
        raise CaBundleError(f"cannot read {path}: {e.strerror}") from e
    except ValueError as e:
        raise CaBundleError(f"{path} is not a PEM bundle of CA certificates") from e
    for cert in cas:
        try:
            ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            ca = False
        if not ca:
            raise CaBundleError(f"{path} holds a certificate that is not a CA")
    return cas


def der_to_pem(der: bytes) -> str:
    return x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode("ascii")


def certificate_check(cas: list[x509.Certificate], trust_domain: str) -> CertificateCheck:
    """A check of (node id, PEM) -> raw Ed25519 key against ``cas``; ValueError says why."""

    def check(node_id: str, pem: str) -> bytes:
        try:
            cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise ValueError("not a PEM certificate") from None
        if cert.public_bytes(Encoding.PEM).decode("ascii") != pem:
            raise ValueError("the PEM is not the canonical encoding of the certificate")
        if not any(issued_by(cert, ca) for ca in cas):
            raise ValueError("not issued by the CA")
        try:
            identity = log_cert_identity(cert, trust_domain)
        except IdentityError as e:
            raise ValueError(f"not a log-signing certificate of this federation ({e})") from None
        if identity.name != node_id:
            raise ValueError(f"the certificate names node {identity.name}")
        key = cert.public_key()
        assert isinstance(key, ed25519.Ed25519PublicKey)  # log_cert_identity checked it
        return key.public_bytes_raw()

    return check
