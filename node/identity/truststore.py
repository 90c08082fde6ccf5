"""The trust store: which CAs and CRLs the node trusts, and the check of every peer.

After the TLS handshake (which already refuses unknown CAs) each call re-checks the peer's
certificate here: issued by a CA of the bundle, within its validity and its CA's, not revoked
by that CA's CRL, and naming a SPIFFE identity of this trust domain (node/identity/spiffe.py).
Time moves and CRL files change while the node runs, so a verified chain is cached but its
dates and revocation are re-checked on every call, and CRL files are re-read when they change.

A TLS peer certificate must pass the full RFC 5280 client-certificate profile; a log-signing
certificate (relayed as an origin's key) must instead have the log-signing profile, so neither
can stand in for the other.

Time is always an argument (``now``), so tests check expired and not-yet-valid certificates
without sleeping. Refusal details never quote a subject DN (it may name a person).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPublicKeyTypes
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from node.identity.errors import IdentityError, PkiError
from node.identity.keyfiles import load_crl_bytes
from node.identity.spiffe import (
    TRUST_DOMAIN_DEFAULT,
    Identity,
    check_trust_domain,
    ed25519_key_raw,
    identity_from_cert,
    log_cert_identity,
    parse_der,
)

log = logging.getLogger(__name__)

_ISSUER_KEY_TYPES = (
    ec.EllipticCurvePublicKey,
    rsa.RSAPublicKey,
    dsa.DSAPublicKey,
    ed25519.Ed25519PublicKey,
    ed448.Ed448PublicKey,
)


def utc_now(now: dt.datetime | None) -> dt.datetime:
    """``now`` in UTC, or the current time if None; a naive datetime is refused (ValueError)."""
    if now is None:
        return dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("now: must be timezone-aware (UTC)")
    return now.astimezone(dt.UTC)


def issued_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    """Whether ``ca_cert`` signed ``cert`` (issuer name and signature; not dates)."""
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def crl_number(crl: x509.CertificateRevocationList) -> int:
    """The CRL's CRLNumber extension (0 if absent): a newer CRL of one CA has a higher one."""
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        return 0


def _issuer_public_key(cert: x509.Certificate) -> CertificateIssuerPublicKeyTypes | None:
    """The key of a would-be issuer, or None for key types that cannot sign (X25519, ...)."""
    key = cert.public_key()
    if isinstance(key, _ISSUER_KEY_TYPES):
        return key
    return None


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
            crl = load_crl_bytes(data)
        except ValueError as e:
            raise PkiError(f"{path} is not a PEM or DER CRL") from e
        for ca in self._cas:
            ca_key = _issuer_public_key(ca)
            if ca.subject == crl.issuer and ca_key is not None and crl.is_signature_valid(ca_key):
                loaded = _LoadedCrl(
                    _spki(ca),
                    crl_number(crl),
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

    def next_update(self) -> dt.datetime | None:
        """The earliest nextUpdate of the CRLs held (metrics); None without CRLs."""
        dates = [crl.next_update for crl in list(self._crls.values()) if crl.next_update]
        return min(dates, default=None)

    def stale_crls(self, now: dt.datetime | None = None) -> list[Path]:
        """CRL files past their nextUpdate: the CA admin must re-sign them."""
        t = utc_now(now)
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
        t = utc_now(now)
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
        cert = parse_der(cert_der)
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
        cert = parse_der(cert_der)
        chain = self._chain(cert, utc_now(now))
        self._check_revoked(chain)
        identity = log_cert_identity(cert, self.trust_domain)
        return identity, ed25519_key_raw(cert)


def _why(e: VerificationError) -> str:
    """cryptography's reason without the certificate it appends: that subject DN may name a
    person (auditor and admin certificates), and personal data must not reach logs."""
    why = re.sub(r"\s*\(encountered processing.*", "", str(e), flags=re.DOTALL)
    return "path validation failed" if "<" in why else why
