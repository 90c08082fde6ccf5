"""Equivocation: two validly signed, inconsistent checkpoints of one origin.

Whatever reveals it (a peer's Hello gossip, a batch whose root the held frontier cannot reach,
a stale batch whose checkpoint disagrees with the log held at its size, a checkpoint a peer asks
this node to witness), the node turns it into self-contained evidence (sync.equivocation: a
prefix root with its consistency proof, checkable by anyone holding the origin's key), stores
it, and freezes the origin: no further entry of it is applied or relayed.

Evidence spreads: every Subscribe stream carries the evidence its server holds (one record per
origin), and a receiver adopts a record only after verifying it itself with the origin key it
holds (``adopt``), never on the sender's word. Storing new evidence wakes this node's own
streams (``notify``), so it floods the federation hop by hop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Protocol

import grpc

from ccnode.v1 import federation_pb2, federation_pb2_grpc, log_pb2
from node.clock import Clock
from node.metrics import METRICS
from node.ports import Keys
from node.store import proofs
from node.store.base import EvidenceRecord, EvidenceStore, LogReader
from node.store.runner import Db
from sync.checkpoint import Checkpoint, open_checkpoint
from sync.equivocation import Evidence, EvidenceError, find_equivocation, verify_evidence
from sync.note import NoteError, Verifier, parse_note
from sync.verify import CHECKPOINT_NOTE_BYTES_MAX

log = logging.getLogger(__name__)

# Evidence records one Subscribe stream carries (sent or taken): one per origin suffices, so
# this bounds what a peer can make a node verify and store, whatever it sends.
EVIDENCE_PER_STREAM_MAX = 64
# A consistency proof between two sizes of a tree of at most 2^64 leaves has fewer hashes.
_PROOF_HASHES_MAX = 128
BAD_EVIDENCE = "bad_evidence"


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
        notify: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = db
        self._keys = keys
        self._freezer = freezer
        self._node_id = node_id
        self._clock = clock
        self._notify = notify  # the ChangeFeed: live Subscribe streams send the new evidence

    async def check_gossip(self, checkpoints: Iterable[log_pb2.SignedCheckpoint]) -> None:
        """Compare a peer's checkpoints with what this node holds; store evidence on conflict."""
        for cp_pb in checkpoints:
            try:
                cp = Checkpoint.parse(parse_note(cp_pb.note).text)
            except (NoteError, ValueError):
                continue
            await self.check_held(cp.origin.rsplit("/", 1)[-1], cp_pb.note)

    async def check_held(self, origin: str, note: str) -> None:
        """A checkpoint of ``origin`` at a size this node may hold already (gossip, a stale
        batch's): harmless if it agrees with the held log at its size, evidence otherwise."""
        db = self._db
        verifier = self._keys.verifier(origin)
        if verifier is None:
            return
        try:
            cp, _ = open_checkpoint(note, verifier)
        except (NoteError, ValueError):
            return  # not validly signed by the origin: proves nothing
        state = await db.read(db.store.origin_state, origin)
        if state is None or cp.size == 0 or cp.size > state.size:
            return  # the stream will bring it, verified, or reject it
        held = await db.read(db.store.checkpoint_at, origin, cp.size)
        if held is not None and parse_note(held).text == parse_note(note).text:
            return
        # Stale batches are common in a mesh: read past the checkpoint's size only on conflict.
        if await db.read(proofs.root, db.store, origin, cp.size) == cp.root:
            return  # O(log n) stored hashes; the whole log is read only to prove a conflict
        leaves = await db.read(db.store.leaf_hashes, origin, 0, state.size)
        await self._evidence_from_leaves(state.checkpoint_note, note, verifier, leaves)

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

    async def adopt(self, wire: log_pb2.EquivocationEvidence) -> str | None:
        """Evidence a peer holds: stored and its origin frozen only if it verifies here, with
        the origin key this node holds. Returns None if adopted (or the origin is proven here
        already), else the refusal reason for the sender."""
        db = self._db
        if any(e.origin == wire.origin for e in await db.read(db.store.evidence)):
            return None  # one record per origin is enough to freeze it
        verifier = self._keys.verifier(wire.origin)
        if verifier is None or not _bounded(wire):
            return BAD_EVIDENCE
        evidence = Evidence(
            origin=wire.origin,
            smaller_note=wire.smaller_note,
            larger_note=wire.larger_note,
            prefix_root=wire.prefix_root,
            consistency_proof=tuple(wire.consistency_proof),
            detected_by=wire.detected_by,
            detected_at_unix_ms=wire.detected_at_unix_ms,
        )
        try:
            verify_evidence(evidence, verifier)
        except EvidenceError as exc:
            log.warning("refused evidence against origin %s: %s", wire.origin, exc)
            return BAD_EVIDENCE
        await self.store_evidence(evidence)
        return None

    async def store_evidence(self, evidence: Evidence) -> None:
        """Store the evidence (stamped with this node and the time if it carries neither) and
        freeze the origin; new evidence wakes the live streams, which pass it on.

        Evidence against this node's own log is kept (operators must see it) but freezes
        nothing: only this node appends to that log."""
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
        own = evidence.origin == self._node_id
        if not own:
            await self._db.write(self._freezer.freeze, evidence.origin, "equivocation")
        if new:
            METRICS.equivocations.inc()
            log.error(
                "EQUIVOCATION by origin %s: evidence stored, %s",
                evidence.origin,
                "this node's own log" if own else "origin frozen",
            )
            self._notify()


def _bounded(wire: log_pb2.EquivocationEvidence) -> bool:
    """Within what honest evidence can be: checked before any signature is."""
    return (
        len(wire.smaller_note.encode()) <= CHECKPOINT_NOTE_BYTES_MAX
        and len(wire.larger_note.encode()) <= CHECKPOINT_NOTE_BYTES_MAX
        and len(wire.consistency_proof) <= _PROOF_HASHES_MAX
    )


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
