"""Helpers of the identity tests: a fixed time, DER of certificate files, a trust store with an
injected monotonic clock, leaves the CA tooling never mints, and refusal reasons."""

from __future__ import annotations

import datetime as dt
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from node.identity.ca import load_ca
from node.identity.errors import IdentityError
from node.identity.keyfiles import load_certificate
from node.identity.truststore import TrustStore

E = TypeVar("E", bound=x509.ExtensionType)
NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
TD = "chengyu.court"


def der(path: Path) -> bytes:
    return load_certificate(path).public_bytes(serialization.Encoding.DER)


def ext(cert: x509.Certificate, cls: type[E]) -> x509.Extension[E]:
    return cert.extensions.get_extension_for_class(cls)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class Clock:
    """Injected monotonic clock: tests move time, never sleep."""

    def __init__(self) -> None:
        self.t_s = 0.0

    def __call__(self) -> float:
        return self.t_s


def store(ca_dir: Path, clock: Clock, bundle: Path | None = None) -> TrustStore:
    return TrustStore(
        bundle or ca_dir / "ca.pem", [ca_dir / "crl.pem"], trust_domain=TD, monotonic=clock
    )


def mint(
    ca_dir: Path,
    sans: Sequence[x509.GeneralName] | None,
    *,
    ekus: tuple[x509.ObjectIdentifier, ...] = (ExtendedKeyUsageOID.CLIENT_AUTH,),
) -> bytes:
    """A leaf signed by the test CA with arbitrary SANs (what issue_* never produces)."""
    ca = load_ca(ca_dir)
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "crafted")]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(ekus)), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if sans is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def refused(ts: TrustStore, cert_der: bytes, now: dt.datetime = NOW) -> str:
    with pytest.raises(IdentityError) as e:
        ts.check(cert_der, now)
    return e.value.reason
