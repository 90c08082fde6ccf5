"""Equivocation: two validly signed, inconsistent checkpoints of one origin.

Whatever reveals it (a peer's Hello gossip, a batch whose root the held frontier cannot reach,
a checkpoint a peer asks this node to witness), the node turns it into self-contained evidence
(sync.equivocation: a prefix root with its consistency proof, checkable by anyone holding the
origin's key), stores it, and freezes the origin: no further entry of it is applied or relayed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

import grpc

from ccnode.v1 import federation_pb2, federation_pb2_grpc, log_pb2
from node.clock import Clock
from node.metrics import METRICS
from node.ports import Keys
from node.store.base import EvidenceRecord, EvidenceStore, LogReader
from node.store.runner import Db
from sync import merkle
from sync.checkpoint import Checkpoint, open_checkpoint
from sync.equivocation import Evidence, find_equivocation
from sync.note import NoteError, Verifier, parse_note

log = logging.getLogger(__name__)


class _EvidenceStore(LogReader, EvidenceStore, Protocol):
    """Reads the held log; stores evidence."""


class _Freezer(Protocol):
    def freeze(self, origin: str, reason: str) -> None: ...


class EquivocationWatch:
    def __init__(
        self,
        *,
        db: Db[_EvidenceStore],
        keys: Keys,
        freezer: _Freezer,
        node_id: str,
        clock: Clock,
    ) -> None:
        self._db = db
        self._keys = keys
        self._freezer = freezer
        self._node_id = node_id
        self._clock = clock

    async def check_gossip(self, checkpoints: Iterable[log_pb2.SignedCheckpoint]) -> None:
        """Compare a peer's checkpoints with what this node holds; store evidence on conflict."""
        db = self._db
        for cp_pb in checkpoints:
            try:
                cp = Checkpoint.parse(parse_note(cp_pb.note).text)
            except (NoteError, ValueError):
                continue
            origin = cp.origin.rsplit("/", 1)[-1]
            verifier = self._keys.verifier(origin)
            if verifier is None:
                continue
            try:
                open_checkpoint(cp_pb.note, verifier)
            except (NoteError, ValueError):
                continue  # not validly signed by the origin: proves nothing
            state = await db.read(db.store.origin_state, origin)
            if state is None or cp.size > state.size:
                continue  # the stream will bring it, verified, or reject it
            held = await db.read(db.store.checkpoint_at, origin, cp.size)
            if held is not None and parse_note(held).text == parse_note(cp_pb.note).text:
                continue
            leaves = await db.read(db.store.leaf_hashes, origin, 0, state.size)
            if merkle.subtree_root(leaves, 0, cp.size) == cp.root:
                continue
            await self._evidence_from_leaves(state.checkpoint_note, cp_pb.note, verifier, leaves)

    async def investigate(
        self, origin: str, note: str, stub: federation_pb2_grpc.FederationStub
    ) -> None:
        """A validly signed checkpoint whose root our frontier cannot reach: equivocation?"""
        db = self._db
        verifier = self._keys.verifier(origin)
        state = await db.read(db.store.origin_state, origin)
        if verifier is None or state is None or state.size == 0:
            return
        try:
            cp, _ = open_checkpoint(note, verifier)
        except (NoteError, ValueError):
            return
        evidence: Evidence | None
        if cp.size == state.size:
            evidence = find_equivocation(state.checkpoint_note, note, verifier)
        elif cp.size > state.size:
            try:
                proof = await stub.ProveConsistency(
                    federation_pb2.ProveConsistencyRequest(
                        origin=origin, old_size=state.size, new_size=cp.size
                    ),
                    timeout=30,
                )
            except grpc.aio.AioRpcError:
                return
            evidence = find_equivocation(
                state.checkpoint_note,
                note,
                verifier,
                prefix_root=proof.old_root,
                proof=list(proof.proof),
            )
        else:
            leaves = await db.read(db.store.leaf_hashes, origin, 0, state.size)
            await self._evidence_from_leaves(state.checkpoint_note, note, verifier, leaves)
            return
        if evidence is not None:
            await self.store_evidence(evidence)  # stamps detector and time

    async def record_conflict(self, origin: str, note: str) -> None:
        """``note`` (of at most the held size) disagrees with the held log: prove it from the
        held leaf hashes and store the evidence."""
        db = self._db
        verifier = self._keys.verifier(origin)
        state = await db.read(db.store.origin_state, origin)
        if verifier is None or state is None:
            return
        leaves = await db.read(db.store.leaf_hashes, origin, 0, state.size)
        await self._evidence_from_leaves(state.checkpoint_note, note, verifier, leaves)

    async def _evidence_from_leaves(
        self, held_note: str, note: str, verifier: Verifier, leaves: list[bytes]
    ) -> None:
        evidence = find_equivocation(held_note, note, verifier, larger_leaf_hashes=leaves)
        if evidence is not None:
            await self.store_evidence(evidence)  # stamps detector and time

    async def store_evidence(self, evidence: Evidence) -> None:
        """Store the evidence (stamped with this node and the time if it carries neither) and
        freeze the origin."""
        record = EvidenceRecord(
            origin=evidence.origin,
            smaller_note=evidence.smaller_note,
            larger_note=evidence.larger_note,
            prefix_root=evidence.prefix_root,
            consistency_proof=tuple(evidence.consistency_proof),
            detected_by=evidence.detected_by or self._node_id,
            detected_at_unix_ms=evidence.detected_at_unix_ms or self._clock.now_ms(),
        )
        new = await self._db.write(self._db.store.add_evidence, record)
        await self._db.write(self._freezer.freeze, evidence.origin, "equivocation")
        if new:
            METRICS.equivocations.inc()
            log.error("EQUIVOCATION by origin %s: evidence stored, origin frozen", evidence.origin)


def evidence_pb(e: EvidenceRecord) -> log_pb2.EquivocationEvidence:
    return log_pb2.EquivocationEvidence(
        origin=e.origin,
        smaller_note=e.smaller_note,
        larger_note=e.larger_note,
        prefix_root=e.prefix_root,
        consistency_proof=list(e.consistency_proof),
        detected_by=e.detected_by,
        detected_at_unix_ms=e.detected_at_unix_ms,
    )
