"""Origin log keys: which Ed25519 key signs each origin's checkpoints.

A node learns an origin's key from its log-signing certificate (relayed by any peer), and
trusts it only if the certificate chains to the federation CA, is not revoked, names
``spiffe://<trust-domain>/node/<origin>`` and carries an Ed25519 key. A relay can therefore
pass keys along but never substitute one.

The same certificate says which court prefixes the origin may state facts for
(node/identity/court_authority.py): ``courts(origin)`` is what the folds check the origin's
listings against, on every node alike.
"""

from __future__ import annotations

import threading

from node.clock import Clock, utc_datetime
from node.identity.court_authority import court_prefixes_of
from node.identity.errors import IdentityError
from node.identity.spiffe import parse_der
from node.identity.truststore import TrustStore
from node.store.base import Store
from sync.checkpoint import origin_line
from sync.note import Ed25519Verifier


class OriginKeyError(Exception):
    """An origin key certificate was refused."""


class OriginKeys:
    def __init__(self, *, trust: TrustStore, trust_domain: str, store: Store, clock: Clock) -> None:
        self._trust = trust
        self._trust_domain = trust_domain
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._verifiers: dict[str, Ed25519Verifier] = {}
        self._certs: dict[str, bytes] = {}
        self._courts: dict[str, tuple[str, ...]] = {}

    def load(self) -> None:
        """Load persisted keys (blocking: call from a worker thread at start-up)."""
        for origin, der in self._store.origin_keys().items():
            try:
                self._remember(origin, der)
            except OriginKeyError:
                continue  # revoked since: the origin is simply unknown until re-learned

    def verifier(self, origin: str) -> Ed25519Verifier | None:
        with self._lock:
            return self._verifiers.get(origin)

    def courts(self, origin: str) -> tuple[str, ...]:
        """The court prefixes the origin's certificate entitles it to; () for an unknown
        origin or a certificate without them."""
        with self._lock:
            return self._courts.get(origin, ())

    def certificates(self) -> dict[str, bytes]:
        with self._lock:
            return dict(self._certs)

    def learn(self, origin: str, certificate_der: bytes) -> bool:
        """Check and persist an origin's log certificate; True if it was new (blocking)."""
        with self._lock:
            if self._certs.get(origin) == certificate_der:
                return False
        self._remember(origin, certificate_der)
        self._store.put_origin_key(origin, certificate_der)
        return True

    def _remember(self, origin: str, certificate_der: bytes) -> None:
        try:
            identity, raw = self._trust.check_log_cert(certificate_der, utc_datetime(self._clock))
            courts = court_prefixes_of(parse_der(certificate_der))
        except IdentityError as exc:
            raise OriginKeyError(f"log certificate of {origin}: {exc}") from exc
        if identity.role != "node" or identity.name != origin:
            raise OriginKeyError(f"log certificate names {identity.uri}, not node {origin}")
        verifier = Ed25519Verifier(origin_line(self._trust_domain, origin), raw)
        with self._lock:
            self._verifiers[origin] = verifier
            self._certs[origin] = certificate_der
            self._courts[origin] = courts
