"""Witness: peers' cosignatures of this node's checkpoint are checked, kept and merged into the
stored note, whether they arrive one by one or all at once (lines that arrive during a write
are written together); the latest own checkpoint is read once per store change; a peer's
checkpoint is cosigned only if it matches the held log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.clock import FakeClock
from node.replication.witnessing import Witness
from node.store.memory import MemoryStore
from node.store.runner import Db
from sync.checkpoint import Checkpoint, CosignatureSigner, CosignatureVerifier, origin_line
from sync.note import Ed25519Signer, Ed25519Verifier, parse_note
from tests.cli.logs import append_log

TRUST_DOMAIN = "chengyu.court"
SELF = "chengdu"
PEERS = ("chongqing", "leshan", "mianyang", "yibin", "zigong")


def _key(node: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(node.encode().ljust(32, b".")[:32])


def _cosigner(node: str) -> CosignatureSigner:
    return CosignatureSigner(origin_line(TRUST_DOMAIN, node), _key(node))


class _Keys:
    def verifier(self, origin: str) -> Ed25519Verifier | None:
        if origin not in (SELF, *PEERS):
            return None
        return Ed25519Signer(origin_line(TRUST_DOMAIN, origin), _key(origin)).verifier()

    def courts(self, origin: str) -> tuple[str, ...]:
        return ()

    def certificates(self) -> dict[str, bytes]:
        return {}


@dataclass
class _Changes:
    version: int = 0
    closed: bool = False

    async def wait(self, seen_version: int, timeout_s: float) -> int:
        return self.version


@dataclass
class _Equivocation:
    conflicts: list[tuple[str, str]] = field(default_factory=list)

    async def record_conflict(self, origin: str, note: str) -> None:
        self.conflicts.append((origin, note))


class _CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.own_reads = 0

    def cosignatures(self, origin: str, size: int) -> list[tuple[str, str]]:
        self.own_reads += 1
        return super().cosignatures(origin, size)


@dataclass
class _Node:
    witness: Witness
    store: _CountingStore
    changes: _Changes
    equivocation: _Equivocation


@pytest.fixture
async def node() -> AsyncIterator[_Node]:
    store = _CountingStore()
    append_log(store, Ed25519Signer(origin_line(TRUST_DOMAIN, SELF), _key(SELF)), (3, 5))
    db = Db(store)
    changes = _Changes()
    equivocation = _Equivocation()
    witness = Witness(
        db=db,
        keys=_Keys(),
        cosigner=_cosigner(SELF),
        equivocation=equivocation,  # type: ignore[arg-type]
        node_id=SELF,
        clock=FakeClock(),
        changes=changes,
    )
    yield _Node(witness, store, changes, equivocation)
    db.close()


def _line(store: MemoryStore, witness: str, size: int, at_s: int = 1_709_600_000) -> str:
    note = store.checkpoint_at(SELF, size)
    assert note is not None
    return _cosigner(witness).cosign(parse_note(note).text, at_s).line()


def _kept(store: MemoryStore, size: int) -> tuple[list[tuple[str, str]], list[str]]:
    """The stored cosignature lines, and the names of the valid cosignatures in the note."""
    note = store.checkpoint_at(SELF, size)
    assert note is not None
    parsed = parse_note(note)
    valid = []
    for sig in parsed.signatures:
        for peer in PEERS:
            verifier = _cosigner(peer).verifier()
            if sig.name == verifier.name and verifier.verify(parsed.text, sig):
                valid.append(peer)
    return store.cosignatures(SELF, size), sorted(valid)


async def test_concurrent_cosignatures_are_all_kept_as_one_by_one(node: _Node) -> None:
    lines = {peer: _line(node.store, peer, 5) for peer in PEERS}
    await asyncio.gather(*(node.witness.add_cosignature(p, 5, lines[p]) for p in PEERS))
    together = _kept(node.store, 5)

    store = MemoryStore()
    append_log(store, Ed25519Signer(origin_line(TRUST_DOMAIN, SELF), _key(SELF)), (3, 5))
    db = Db(store)
    try:
        one_by_one = Witness(
            db=db,
            keys=_Keys(),
            cosigner=_cosigner(SELF),
            equivocation=_Equivocation(),  # type: ignore[arg-type]
            node_id=SELF,
            clock=FakeClock(),
        )
        for peer in PEERS:
            await one_by_one.add_cosignature(peer, 5, lines[peer])
        assert _kept(store, 5) == together
    finally:
        db.close()
    assert together == (sorted(lines.items()), sorted(PEERS))
    own = await node.witness.latest_own()
    assert own is not None and own.size == 5 and own.cosigned_by == frozenset(PEERS)
    assert own.note == node.store.checkpoint_at(SELF, 5)
    assert node.store.origin_state(SELF).checkpoint_note == own.note  # type: ignore[union-attr]


async def test_a_bad_or_unknown_cosignature_is_not_kept(node: _Node) -> None:
    other_size = _line(node.store, "leshan", 3)  # a valid line, of another checkpoint
    await node.witness.add_cosignature("leshan", 5, other_size)
    await node.witness.add_cosignature("stranger", 5, _line(node.store, "leshan", 5))
    await node.witness.add_cosignature("leshan", 5, "— not a signature line")
    assert _kept(node.store, 5) == ([], [])


async def test_a_witness_second_line_for_a_size_is_not_merged(node: _Node) -> None:
    first = _line(node.store, "leshan", 5, 1_709_600_000)
    await node.witness.add_cosignature("leshan", 5, first)
    await node.witness.add_cosignature("leshan", 5, _line(node.store, "leshan", 5, 1_709_600_001))
    note = node.store.checkpoint_at(SELF, 5)
    assert note is not None and len(parse_note(note).signatures) == 2  # the origin's, leshan's
    assert _kept(node.store, 5) == ([("leshan", first)], ["leshan"])


async def test_an_older_checkpoint_is_cosigned_from_its_stored_note(node: _Node) -> None:
    await node.witness.add_cosignature("yibin", 3, _line(node.store, "yibin", 3))
    assert _kept(node.store, 3) == ([("yibin", _line(node.store, "yibin", 3))], ["yibin"])
    assert _kept(node.store, 5) == ([], [])


async def test_the_latest_own_checkpoint_is_read_once_per_change(node: _Node) -> None:
    first, second = await asyncio.gather(node.witness.latest_own(), node.witness.latest_own())
    assert first == second and first is not None and first.cosigned_by == frozenset()
    await node.witness.add_cosignature("zigong", 5, _line(node.store, "zigong", 5))
    own = await node.witness.latest_own()
    assert own is not None and own.cosigned_by == {"zigong"}
    assert node.store.own_reads == 1  # the write told the shared copy who cosigned
    node.changes.version += 1
    again = await node.witness.latest_own()
    assert again == own and node.store.own_reads == 2


async def test_a_peer_checkpoint_is_cosigned_only_if_it_matches_the_held_log(node: _Node) -> None:
    store = node.store
    peer = "leshan"
    append_log(store, Ed25519Signer(origin_line(TRUST_DOMAIN, peer), _key(peer)), (2, 4))
    state = store.origin_state(peer)
    assert state is not None
    origin = origin_line(TRUST_DOMAIN, peer)
    verifier = CosignatureVerifier(origin_line(TRUST_DOMAIN, SELF), _key(SELF).public_key()
                                   .public_bytes_raw())  # fmt: skip
    for size in (2, 4):
        note = store.checkpoint_at(peer, size)
        assert note is not None
        cp = Checkpoint.parse(parse_note(note).text)
        line = await node.witness.witness(peer, cp, note)
        assert line is not None
        sig = parse_note(cp.body() + "\n" + line).signatures[0]
        assert verifier.verify(cp.body(), sig)
    assert await node.witness.witness(peer, Checkpoint(origin, 5, state.root), "") is None
    assert await node.witness.witness(peer, Checkpoint(origin, 0, state.root), "") is None
    assert node.equivocation.conflicts == []
    assert await node.witness.witness(peer, Checkpoint(origin, 3, state.root), "fork") is None
    assert node.equivocation.conflicts == [(peer, "fork")]
