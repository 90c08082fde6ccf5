"""Deterministic building blocks for the pure-core unit tests.

Keys come from fixed seeds and salts from a hash of the entry id, so every test builds
byte-identical logs on every run: no randomness, no clock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ccnode.v1 import log_pb2, payloads_pb2
from sync.checkpoint import Checkpoint, origin_line, sign_checkpoint
from sync.entry import Entry, make_entry
from sync.hlc import pack
from sync.merkle import Frontier
from sync.note import Ed25519Signer, Ed25519Verifier
from sync.payload import encode_payload
from sync.verify import LogState

TRUST_DOMAIN = "chengyu.court"
# 2024-03-04 00:00 UTC (a Monday), so HLC values look like real ones.
BASE_MS = 1_709_510_400_000
# GB 11643 sample resident ID (the standard's own worked example), not a real person's.
SAMPLE_ID_NUMBER = "11010519491231002X"
SAMPLE_CREDIT_CODE = "91350100M000100Y43"


def private_key(seed: bytes) -> Ed25519PrivateKey:
    """A fixed Ed25519 key: the private bytes are SHA-256 of ``seed``."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed).digest())


def log_signer(origin: str, *, seed: bytes | None = None) -> Ed25519Signer:
    """The log key of ``origin``; another ``seed`` gives another key with the same name."""
    key = private_key(seed if seed is not None else b"log-key:" + origin.encode())
    return Ed25519Signer(origin_line(TRUST_DOMAIN, origin), key)


def log_verifier(origin: str) -> Ed25519Verifier:
    return log_signer(origin).verifier()


def salt_for(origin: str, index: int) -> bytes:
    return hashlib.sha256(f"salt:{origin}/{index}".encode()).digest()[:16]


def blacklist_record(
    *,
    id_number: str = SAMPLE_ID_NUMBER,
    court: str = "川0104",
    case_number: str = "(2024)川0104执100号",
    term_end_on: str = "2026-03-06",
    name: str = "张三",
) -> payloads_pb2.BlacklistRecord:
    return payloads_pb2.BlacklistRecord(
        case_number=case_number,
        court=court,
        debtor=payloads_pb2.Debtor(type=payloads_pb2.PERSON, name=name, id_number=id_number),
        obligation="pay 100000 fen",
        performance="not performed",
        ground=payloads_pb2.G2,
        term_years=2,
        conduct="obstructed enforcement",
        listed_on="2024-03-06",
        term_end_on=term_end_on,
    )


def listed_payload(record: payloads_pb2.BlacklistRecord | None = None) -> bytes:
    body = payloads_pb2.BlacklistListed(record=record or blacklist_record())
    return encode_payload(log_pb2.BLACKLIST_LISTED, payloads_pb2.Payload(blacklist_listed=body))


def corrected_payload(record: payloads_pb2.BlacklistRecord) -> bytes:
    body = payloads_pb2.BlacklistCorrected(record=record, reason="typo", corrected_on="2024-04-01")
    return encode_payload(
        log_pb2.BLACKLIST_CORRECTED, payloads_pb2.Payload(blacklist_corrected=body)
    )


def delisted_payload(delisted_on: str = "2024-05-06") -> bytes:
    body = payloads_pb2.BlacklistDelisted(
        ground=payloads_pb2.D1, reason="paid in full", delisted_on=delisted_on
    )
    return encode_payload(log_pb2.BLACKLIST_DELISTED, payloads_pb2.Payload(blacklist_delisted=body))


def blacklist_entry(
    origin: str,
    index: int,
    *,
    kind: int = log_pb2.BLACKLIST_LISTED,
    subject: str | None = None,
    payload: bytes | None = None,
    audience: tuple[str, ...] = (),
) -> Entry:
    """Entry ``index`` of ``origin``: by default the listing of subject ``<origin>/bl/<index>``."""
    return make_entry(
        origin=origin,
        index=index,
        kind=kind,
        subject=subject if subject is not None else f"{origin}/bl/{index}",
        actor="clerk-7",
        hlc=pack(BASE_MS + index, 0),
        payload=payload if payload is not None else listed_payload(),
        salt=salt_for(origin, index),
        audience=audience,
    )


@dataclass
class Log:
    """One origin's log: its entries, their leaf hashes and a way to sign checkpoints."""

    origin: str
    signer: Ed25519Signer
    entries: list[Entry] = field(default_factory=list)

    @property
    def verifier(self) -> Ed25519Verifier:
        return self.signer.verifier()

    @property
    def leaf_hashes(self) -> list[bytes]:
        return [e.leaf_hash() for e in self.entries]

    def root(self, size: int | None = None) -> bytes:
        size = len(self.entries) if size is None else size
        return Frontier.from_leaf_hashes(self.leaf_hashes[:size]).root()

    def checkpoint(self, size: int | None = None) -> str:
        """The origin's signed checkpoint note at ``size`` (default: the whole log)."""
        size = len(self.entries) if size is None else size
        cp = Checkpoint(origin_line(TRUST_DOMAIN, self.origin), size, self.root(size))
        return sign_checkpoint(cp, self.signer)

    def state(self, size: int) -> LogState:
        """A receiver's verified state after holding the first ``size`` entries."""
        frontier = Frontier.from_leaf_hashes(self.leaf_hashes[:size])
        note = self.checkpoint(size) if size else None
        return LogState(self.origin, size, frontier, note)


def build_log(n: int, origin: str = "chengdu", *, signer: Ed25519Signer | None = None) -> Log:
    """A valid log of ``n`` blacklist listings, each about its own subject."""
    log = Log(origin, signer or log_signer(origin))
    log.entries = [blacklist_entry(origin, i) for i in range(n)]
    return log


def signed_checkpoint(origin: str, size: int, root: bytes, signer: Ed25519Signer) -> str:
    """A checkpoint note for any (size, root), e.g. to forge or equivocate in a test."""
    return sign_checkpoint(Checkpoint(origin_line(TRUST_DOMAIN, origin), size, root), signer)
