"""EquivocationWatch.adopt: evidence a peer sends is verified here, with the origin key this
node holds, before it stores anything or freezes anyone; new evidence wakes the streams."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from ccnode.v1 import log_pb2
from node.clock import FakeClock
from node.replication.equivocation import BAD_EVIDENCE, EquivocationWatch
from node.store.memory import MemoryStore
from node.store.runner import Db
from sync.merkle import root
from sync.note import Ed25519Verifier
from tests.unit.corefixtures import log_signer, signed_checkpoint

ORIGIN = "chengdu"
SELF = "chongqing"


@dataclass
class _Keys:
    known: tuple[str, ...] = (ORIGIN, SELF)

    def verifier(self, origin: str) -> Ed25519Verifier | None:
        return log_signer(origin).verifier() if origin in self.known else None

    def certificates(self) -> dict[str, bytes]:
        return {}


@dataclass
class _Freezer:
    frozen: list[str] = field(default_factory=list)

    def freeze(self, origin: str, reason: str) -> None:
        self.frozen.append(origin)


@dataclass
class _Node:
    watch: EquivocationWatch
    db: Db[MemoryStore]
    freezer: _Freezer
    wakes: list[int]


@pytest.fixture
async def node() -> AsyncIterator[_Node]:
    db = Db(MemoryStore())
    freezer = _Freezer()
    wakes: list[int] = []
    watch = EquivocationWatch(
        db=db,
        keys=_Keys(),
        freezer=freezer,
        node_id=SELF,
        clock=FakeClock(),
        notify=lambda: wakes.append(1),
    )
    yield _Node(watch, db, freezer, wakes)
    db.close()


def _root(tag: str, size: int) -> bytes:
    return root([hashlib.sha256(f"{tag}/{i}".encode()).digest() for i in range(size)])


def _fork(origin: str = ORIGIN, **fields: object) -> log_pb2.EquivocationEvidence:
    """Two checkpoints of one size with different roots, signed by ``origin``'s log key."""
    signer = log_signer(origin)
    base: dict[str, object] = {
        "origin": origin,
        "smaller_note": signed_checkpoint(origin, 4, _root("main", 4), signer),
        "larger_note": signed_checkpoint(origin, 4, _root("fork", 4), signer),
        "detected_by": "leshan",
        "detected_at_unix_ms": 1_700_000_000_000,
    }
    return log_pb2.EquivocationEvidence(**(base | fields))  # type: ignore[arg-type]


def _relabelled(
    evidence: log_pb2.EquivocationEvidence, origin: str
) -> log_pb2.EquivocationEvidence:
    """chengdu's checkpoints presented as evidence against another origin."""
    out = log_pb2.EquivocationEvidence()
    out.CopyFrom(evidence)
    out.origin = origin
    return out


async def test_valid_evidence_is_stored_as_found_freezes_and_wakes_the_streams(
    node: _Node,
) -> None:
    assert await node.watch.adopt(_fork()) is None
    (record,) = await node.db.read(node.db.store.evidence)
    assert (record.origin, record.detected_by, record.detected_at_unix_ms) == (
        ORIGIN,
        "leshan",
        1_700_000_000_000,
    )
    assert node.freezer.frozen == [ORIGIN]
    assert node.wakes == [1]
    # Once an origin is proven, more records against it are neither checked nor stored.
    other = _fork(larger_note=signed_checkpoint(ORIGIN, 4, _root("third", 4), log_signer(ORIGIN)))
    assert await node.watch.adopt(other) is None
    assert len(await node.db.read(node.db.store.evidence)) == 1
    assert node.wakes == [1]


@pytest.mark.parametrize(
    "evidence",
    [
        pytest.param(_fork(larger_note=_fork().smaller_note), id="consistent"),
        pytest.param(
            _fork(
                larger_note=signed_checkpoint(
                    ORIGIN, 4, _root("fork", 4), log_signer(ORIGIN, seed=b"impostor")
                )
            ),
            id="another-key",
        ),
        pytest.param(_fork("kunming"), id="unknown-origin"),
        pytest.param(_relabelled(_fork(), SELF), id="names-another-origin"),
        pytest.param(_fork(consistency_proof=[bytes(32)] * 129), id="proof-too-long"),
        pytest.param(_fork(smaller_note="x" * 20_000), id="note-too-large"),
    ],
)
async def test_evidence_that_does_not_verify_here_changes_nothing(
    node: _Node, evidence: log_pb2.EquivocationEvidence
) -> None:
    assert await node.watch.adopt(evidence) == BAD_EVIDENCE
    assert await node.db.read(node.db.store.evidence) == []
    assert node.freezer.frozen == []
    assert node.wakes == []


async def test_evidence_against_this_nodes_own_log_is_kept_but_freezes_nothing(
    node: _Node,
) -> None:
    assert await node.watch.adopt(_fork(SELF)) is None
    assert [e.origin for e in await node.db.read(node.db.store.evidence)] == [SELF]
    assert node.freezer.frozen == []
    assert node.wakes == [1]
