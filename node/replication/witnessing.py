"""Witnessing: cosigning what this node verified, and keeping peers' cosignatures of its own
log (C2SP cosignature/v1).

A peer asks this node to cosign a checkpoint of the peer's own log; the node cosigns only a
checkpoint whose root equals the root of what it holds at that size, so a cosignature means
"this witness saw the same log". A checkpoint that disagrees is an equivocation, handed to
the EquivocationWatch. In the other direction, each link asks its peer to cosign this node's
latest checkpoint and keeps the returned line after checking it.

The links of a mesh ask for their cosignatures at about the same time, after each commit of
this node's log: they share one read of its latest checkpoint (and of who cosigned it) per
ChangeFeed version, each returned line is checked against that checkpoint's body, and the
lines that arrive while a write is under way are stored together, in one trip to the writer
thread, which also merges them into the stored note (only that thread writes, so no line is
lost to a concurrent update of the note).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from node.clock import Clock
from node.ports import ChangeFeed, EquivocationWatch, Keys, OwnCheckpoint
from node.store import proofs
from node.store.base import LogReader, LogWriter
from node.store.runner import Db
from sync.checkpoint import Checkpoint, CosignatureSigner, CosignatureVerifier
from sync.note import NoteError, NoteSignature, add_signatures, parse_note

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Kept:
    """A checked cosignature line waiting for its write."""

    witness: str
    size: int
    line: str
    signature: NoteSignature
    done: asyncio.Future[None]


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
        changes: ChangeFeed | None = None,
    ) -> None:
        self._db = db
        self._keys = keys
        self._cosigner = cosigner
        self._equivocation = equivocation
        self._node_id = node_id
        self._clock = clock
        # The ChangeFeed's version moves on every commit (of this node's log too): the latest
        # own checkpoint is read again only when it moved (None: at every call).
        self._changes = changes
        self._own: tuple[int, asyncio.Future[OwnCheckpoint | None]] | None = None
        self._queue: list[_Kept] = []
        self._writer: asyncio.Task[None] | None = None

    # ---------------------------------------------------------------- a peer's checkpoint

    async def witness(self, origin: str, checkpoint: Checkpoint, note: str) -> str | None:
        """Cosign ``origin``'s checkpoint if it matches what this node verified (else None)."""
        if checkpoint.size == 0:
            return None
        db = self._db
        root = await db.read(_held_root, db.store, origin, checkpoint.size)
        if root is None:
            return None  # not held yet (or not at all)
        if root != checkpoint.root:
            await self._equivocation.record_conflict(origin, note)
            return None
        sig = self._cosigner.cosign(checkpoint.body(), self._clock.now_ms() // 1000)
        return sig.line()

    # ---------------------------------------------------------------- this node's checkpoint

    async def latest_own(self) -> OwnCheckpoint | None:
        """This node's latest checkpoint and its witnesses so far (None: an empty log). One
        read serves every caller until the store changes."""
        version = -1 if self._changes is None else self._changes.version
        held = self._own
        if (
            held is None
            or held[0] != version
            or version < 0
            or (held[1].done() and (held[1].cancelled() or held[1].exception() is not None))
        ):
            held = self._own = (version, asyncio.ensure_future(self._read_own()))
        return await asyncio.shield(held[1])

    async def _read_own(self) -> OwnCheckpoint | None:
        return await self._db.read(_own_checkpoint, self._db.store, self._node_id)

    async def add_cosignature(self, witness: str, size: int, line: str) -> None:
        """Keep a witness's cosignature of this node's checkpoint at ``size``, after checking it."""
        verifier = self._keys.verifier(witness)
        if verifier is None:
            return
        own = await self.latest_own()
        if own is not None and own.size == size:
            note: str | None = own.note
        else:
            note = await self._db.read(self._db.store.checkpoint_at, self._node_id, size)
        if note is None:
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
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(_Kept(witness, size, line, sig, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_kept(), name="ccnode-cosignatures")
        await asyncio.shield(done)

    async def _write_kept(self) -> None:
        """Store the queued lines, those queued meanwhile in the next trip, until none is left."""
        while self._queue:
            kept, self._queue = self._queue, []
            try:
                notes = await self._db.write(
                    _store_cosignatures,
                    self._db.store,
                    self._node_id,
                    [(k.witness, k.size, k.line, k.signature) for k in kept],
                )
            except Exception as exc:  # each caller gets the failure; the link retries later
                for k in kept:
                    if not k.done.done():
                        k.done.set_exception(exc)
                continue
            self._kept(notes, {(k.size, k.witness) for k in kept})
            for k in kept:
                if not k.done.done():
                    k.done.set_result(None)

    def _kept(self, notes: dict[int, str], witnessed: set[tuple[int, str]]) -> None:
        """The shared latest checkpoint, as the write left it (so no caller reads it again)."""
        held = self._own
        if held is None or not held[1].done() or held[1].cancelled() or held[1].exception():
            return
        own = held[1].result()
        if own is None or own.size not in notes:
            return
        by = own.cosigned_by | {w for size, w in witnessed if size == own.size}
        future: asyncio.Future[OwnCheckpoint | None] = asyncio.get_running_loop().create_future()
        future.set_result(replace(own, note=notes[own.size], cosigned_by=frozenset(by)))
        self._own = (held[0], future)


def _held_root(store: LogReader, origin: str, size: int) -> bytes | None:
    """The root of the held log of ``origin`` at ``size`` (None if not held that far), in one
    trip to a reader thread."""
    state = store.origin_state(origin)
    if state is None or size > state.size:
        return None
    return state.root if size == state.size else proofs.root(store, origin, size)


def _own_checkpoint(store: LogReader, node_id: str) -> OwnCheckpoint | None:
    state = store.origin_state(node_id)
    if state is None or state.size == 0 or not state.checkpoint_note:
        return None
    cosigned = store.cosignatures(node_id, state.size)
    return OwnCheckpoint(state.size, state.checkpoint_note, frozenset(w for w, _ in cosigned))


def _store_cosignatures(
    store: LogWriter, node_id: str, kept: Sequence[tuple[str, int, str, NoteSignature]]
) -> dict[int, str]:
    """Store checked cosignature lines and merge them into the stored notes they cosign (in
    the writer thread); per size, the note as it is now."""
    notes: dict[int, str] = {}
    for size in sorted({size for _, size, _, _ in kept}):
        lines = [(w, line, sig) for w, s, line, sig in kept if s == size]
        inserted = {w for w, line, _ in lines if store.add_cosignature(node_id, size, w, line)}
        note = store.checkpoint_at(node_id, size)
        if note is None:
            continue
        # A line stored before without its note (a crash between the two) is merged now; a
        # witness's second line for one size is not (its first is the one kept).
        present = {s.name for s in parse_note(note).signatures}
        merged = add_signatures(
            note, [sig for w, _, sig in lines if w in inserted or sig.name not in present]
        )
        if merged != note:
            store.update_checkpoint_note(node_id, size, merged)
        notes[size] = merged
    return notes
