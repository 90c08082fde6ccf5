"""Witnessing: cosigning what this node verified, and keeping peers' cosignatures of its own
log (C2SP cosignature/v1).

A peer asks this node to cosign a checkpoint of the peer's own log; the node cosigns only a
checkpoint whose root equals the root of what it holds at that size, so a cosignature means
"this witness saw the same log". A checkpoint that disagrees is an equivocation, handed to
the EquivocationWatch. In the other direction, each link asks its peer to cosign this node's
latest checkpoint and keeps the returned line after checking it.
"""

from __future__ import annotations

import logging

from node.clock import Clock
from node.ports import EquivocationWatch, Keys
from node.store import proofs
from node.store.base import LogWriter
from node.store.runner import Db
from sync.checkpoint import Checkpoint, CosignatureSigner, CosignatureVerifier
from sync.note import NoteError, add_signatures, parse_note

log = logging.getLogger(__name__)


class Witness:
    def __init__(
        self,
        *,
        db: Db[LogWriter],
        keys: Keys,
        cosigner: CosignatureSigner,
        equivocation: EquivocationWatch,
        node_id: str,
        clock: Clock,
    ) -> None:
        self._db = db
        self._keys = keys
        self._cosigner = cosigner
        self._equivocation = equivocation
        self._node_id = node_id
        self._clock = clock

    async def witness(self, origin: str, checkpoint: Checkpoint, note: str) -> str | None:
        """Cosign ``origin``'s checkpoint if it matches what this node verified (else None)."""
        db = self._db
        state = await db.read(db.store.origin_state, origin)
        if state is None or checkpoint.size > state.size or checkpoint.size == 0:
            return None
        if checkpoint.size == state.size:
            root = state.root
        else:
            root = await db.read(proofs.root, db.store, origin, checkpoint.size)
        if root != checkpoint.root:
            await self._equivocation.record_conflict(origin, note)
            return None
        sig = self._cosigner.cosign(checkpoint.body(), self._clock.now_ms() // 1000)
        return sig.line()

    async def add_cosignature(self, witness: str, size: int, line: str) -> None:
        """Keep a witness's cosignature of this node's checkpoint at ``size``, after checking it."""
        db = self._db
        verifier = self._keys.verifier(witness)
        note = await db.read(db.store.checkpoint_at, self._node_id, size)
        if verifier is None or note is None:
            return
        body = parse_note(note).text
        cos_verifier = CosignatureVerifier(verifier.name, verifier.public_key_bytes)
        try:
            sig = parse_note(body + "\n" + line).signatures[0]
        except NoteError:
            return
        if not cos_verifier.verify(body, sig):
            log.warning("invalid cosignature from %s", witness)
            return
        await db.write(db.store.add_cosignature, self._node_id, size, witness, line)
        await db.write(
            db.store.update_checkpoint_note, self._node_id, size, add_signatures(note, [sig])
        )
