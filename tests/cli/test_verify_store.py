"""node.store.verify against a MemoryStore holding a hand-built, signed log — intact, then
with one stored byte flipped here or there (what disk corruption or tampering looks like)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.store.base import StoredEntry
from node.store.memory import MemoryStore
from node.store.verify import Problem, verify_store
from sync.checkpoint import origin_line
from sync.note import Ed25519Signer, Verifier
from tests.cli.logs import Tamper, append_log

TD = "chengyu.court"


def _signer(origin: str, seed_byte: int) -> Ed25519Signer:
    key = Ed25519PrivateKey.from_private_bytes(bytes([seed_byte]) * 32)
    return Ed25519Signer(origin_line(TD, origin), key)


SIGNERS = {"chengdu": _signer("chengdu", 1), "chongqing": _signer("chongqing", 2)}
VERIFIERS: dict[str, Verifier] = {o: s.verifier() for o, s in SIGNERS.items()}


def _append_log(
    store: MemoryStore,
    origin: str,
    checkpoint_sizes: Sequence[int] = (3, 5),
    tamper: dict[int, Tamper] | None = None,
) -> None:
    append_log(store, SIGNERS[origin], checkpoint_sizes, tamper)


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def _reasons(problems: list[Problem]) -> list[tuple[str, int, str]]:
    return [(p.origin, p.index, p.reason) for p in problems]


@pytest.mark.parametrize("chunk_entries", [1, 2, 1000])
def test_intact_logs_verify(chunk_entries: int) -> None:
    store = MemoryStore()
    _append_log(store, "chengdu")
    _append_log(store, "chongqing", checkpoint_sizes=(1, 2, 4))
    report = verify_store(store, trust_domain=TD, verifiers=VERIFIERS, chunk_entries=chunk_entries)
    assert report.ok, report.problems
    assert report.verified_sizes == {"chengdu": 5, "chongqing": 4}
    assert report.unsigned == []


def test_flipped_header_byte() -> None:
    def flip_actor(e: StoredEntry) -> StoredEntry:
        # A byte of the actor text: the header still decodes, but it is not what was signed.
        return dataclasses.replace(e, header=_flip(e.header, e.header.index(b"officer") + 2))

    store = MemoryStore()
    _append_log(store, "chengdu", tamper={2: flip_actor})
    report = verify_store(store, trust_domain=TD, verifiers=VERIFIERS)
    assert not report.ok
    assert _reasons(report.problems) == [
        ("chengdu", 2, "stored leaf hash differs from the hash of the header bytes"),
        ("chengdu", 2, "stored actor differs from the header"),
        ("chengdu", 2, "checkpoint at size 3: root differs from the root of the stored entries"),
        ("chengdu", 4, "checkpoint at size 5: root differs from the root of the stored entries"),
        ("chengdu", 4, "stored root differs from the root of the stored entries"),
        ("chengdu", 4, "stored frontier differs from the stored entries"),
    ]
    assert report.verified_sizes == {"chengdu": 0}


def test_flipped_payload_byte() -> None:
    def flip_payload(e: StoredEntry) -> StoredEntry:
        assert e.payload is not None
        return dataclasses.replace(e, payload=_flip(e.payload, len(e.payload) - 1))

    store = MemoryStore()
    _append_log(store, "chengdu", tamper={3: flip_payload})
    report = verify_store(store, trust_domain=TD, verifiers=VERIFIERS)
    # The tree commits to the payload only through its digest: the roots still match.
    assert _reasons(report.problems) == [("chengdu", 3, "payload: digest differs from the header")]
    assert report.verified_sizes == {"chengdu": 3}


def test_purged_payload_is_fine() -> None:
    store = MemoryStore()
    _append_log(store, "chengdu")
    assert store.purge_payload("chengdu", 1)
    assert verify_store(store, trust_domain=TD, verifiers=VERIFIERS).ok


def test_stored_column_that_differs_from_the_header() -> None:
    store = MemoryStore()
    _append_log(store, "chengdu", tamper={0: lambda e: dataclasses.replace(e, subject="x/bl/0")})
    report = verify_store(store, trust_domain=TD, verifiers=VERIFIERS)
    assert _reasons(report.problems) == [("chengdu", 0, "stored subject differs from the header")]


def test_checkpoint_signed_by_another_key() -> None:
    store = MemoryStore()
    _append_log(store, "chengdu")
    impostor = _signer("chengdu", 9).verifier()
    report = verify_store(store, trust_domain=TD, verifiers={"chengdu": impostor})
    assert [(p.index, p.reason.split(":")[0]) for p in report.problems] == [
        (2, "checkpoint at size 3"),
        (4, "checkpoint at size 5"),
    ]
    assert all("signature" in p.reason for p in report.problems)


def test_checkpoint_of_another_origin() -> None:
    store = MemoryStore()
    _append_log(store, "chengdu")
    report = verify_store(store, trust_domain="other.court", verifiers={})
    assert {p.reason for p in report.problems} == {
        "checkpoint at size 3: names another origin",
        "checkpoint at size 5: names another origin",
    }


def test_without_a_key_the_signature_is_not_checked() -> None:
    store = MemoryStore()
    _append_log(store, "chengdu")
    _append_log(store, "chongqing")
    report = verify_store(store, trust_domain=TD, verifiers={"chengdu": VERIFIERS["chengdu"]})
    assert report.ok
    assert report.unsigned == ["chongqing"]


def test_selected_origins() -> None:
    store = MemoryStore()
    _append_log(store, "chengdu", tamper={0: lambda e: dataclasses.replace(e, actor="x")})
    _append_log(store, "chongqing")
    report = verify_store(store, trust_domain=TD, verifiers=VERIFIERS, origins=["chongqing"])
    assert report.ok
    assert report.verified_sizes == {"chongqing": 5}
    report = verify_store(store, trust_domain=TD, verifiers=VERIFIERS, origins=["xian"])
    assert _reasons(report.problems) == [("xian", 0, "no log of this origin is stored")]


def test_frozen_origin_is_reported() -> None:
    store = MemoryStore()
    _append_log(store, "chengdu")
    store.freeze("chengdu", "equivocation")
    report = verify_store(store, trust_domain=TD, verifiers=VERIFIERS)
    assert report.ok
    assert report.frozen == {"chengdu": "equivocation"}
