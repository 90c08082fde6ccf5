"""Key, certificate and CRL files: writing them safely and loading a node's own credentials.

Private keys are unencrypted PKCS8 PEM because the node reads them unattended; file mode 0600
protects them, and :func:`write_file` makes sure no other mode (and no half-written file) is
ever visible. Loading checks the format and the key type only: whether a certificate is
trusted is the trust store's question (node/identity/truststore.py).

The CA tooling (node/identity/ca.py) writes through these; the running node loads its own
credentials through them, and ``ccnode init``/``certs install-crl`` install the CRLs it reads.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from node.identity.errors import IdentityError, PkiError
from node.identity.spiffe import check_name, ed25519_key_raw


def write_file(path: Path, data: bytes, *, mode: int, overwrite: bool) -> None:
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


def key_pem(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    # Unencrypted PKCS8: the node reads these unattended; file mode 0600 protects them.
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def cert_pem(cert: x509.Certificate) -> bytes:
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


def load_crl_bytes(data: bytes) -> x509.CertificateRevocationList:
    """A CRL from PEM or DER bytes; ValueError if it is neither."""
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)


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
        return ed25519_key_raw(cert)
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


def install_crl(crl_dir: Path, name: str, crl_file: Path) -> Path:
    """Copy a CRL (checked to parse) into ``crl_dir/<name>.pem`` atomically; return the path."""
    check_name("name", name)
    data = Path(crl_file).read_bytes()
    try:
        load_crl_bytes(data)
    except (ValueError, PkiError) as e:
        raise PkiError(f"{crl_file}: not a PEM certificate revocation list") from e
    crl_dir = Path(crl_dir)
    crl_dir.mkdir(parents=True, exist_ok=True)
    target = crl_dir / f"{name}.pem"
    write_file(target, data, mode=0o644, overwrite=True)
    return target
