"""Applying verified batches of any origin's log (the receiving side of replication).

Verification, folding and the commit run in the store's writer thread, one batch at a time:
the batch is verified against the stored frontier, folded over the current rows, and the
entries, the checkpoint, the new log state and the row changes are committed in ONE
transaction BEFORE the stream moves on or anyone is told. A rejected batch changes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from node.db import Db
from node.keys import OriginKeys
from node.store.base import OriginState, RowChange, StoredEntry
from sync.entry import Entry
from sync.folds import fold_batch, state_keys
from sync.merkle import Frontier
from sync.verify import AcceptedBatch, BatchRejected, LogState, RejectReason, verify_batch


@dataclass(frozen=True)
class Applied:
    origin: str
    first_index: int
    count: int
    size: int
    ignored: int
    tables: frozenset[str] = frozenset()  # folded-state tables the batch changed


class Replica:
    def __init__(
        self,
        *,
        db: Db,
        keys: OriginKeys,
        node_id: str,
        trust_domain: str,
        batch_entries_max: int,
        batch_bytes_max: int,
    ) -> None:
        self._db = db
        self._keys = keys
        self.node_id = node_id
        self._trust_domain = trust_domain
        self._entries_max = batch_entries_max
        self._bytes_max = batch_bytes_max
        self._cache: dict[str, tuple[LogState, bool]] = {}
        self._lock = threading.Lock()

    def log_state(self, origin: str) -> tuple[LogState, bool]:
        """(verified state, frozen) of an origin, cached; blocking."""
        with self._lock:
            cached = self._cache.get(origin)
        if cached is not None:
            return cached
        stored = self._db.store.origin_state(origin)
        if stored is None:
            value = (LogState.empty(origin), False)
        else:
            frontier = Frontier.from_bytes(stored.frontier)
            value = (LogState(origin, stored.size, frontier, stored.checkpoint_note), stored.frozen)
        with self._lock:
            self._cache[origin] = value
        return value

    def forget(self, origin: str) -> None:
        with self._lock:
            self._cache.pop(origin, None)

    def verify(
        self, origin: str, first_index: int, entries: Sequence[Entry], note: str
    ) -> AcceptedBatch:
        state, frozen = self.log_state(origin)
        return verify_batch(
            state,
            trust_domain=self._trust_domain,
            first_index=first_index,
            entries=entries,
            checkpoint_note=note,
            verifier=self._keys.verifier(origin),
            entries_max=self._entries_max,
            bytes_max=self._bytes_max,
            frozen=frozen,
            receiver=self.node_id,
        )

    def apply(self, origin: str, first_index: int, entries: Sequence[Entry], note: str) -> Applied:
        """Verify and commit one batch (blocking; run in the writer thread)."""
        if origin == self.node_id:
            raise BatchRejected(RejectReason.WRONG_ORIGIN, "a peer sent entries of this node's log")
        accepted = self.verify(origin, first_index, entries, note)
        store = self._db.store
        # Defence in depth: never keep a payload outside its audience, even if a relay sent it.
        payloads = [
            e.payload if h.visible_to(self.node_id) else None
            for e, h in zip(accepted.entries, accepted.headers, strict=True)
        ]
        keys = state_keys(accepted.headers)
        current = {}
        for table in {t for t, _ in keys}:
            rows = store.get_rows(table, [k for t, k in keys if t == table])
            current.update({(table, k): v for k, v in rows.items()})
        folded = fold_batch(list(zip(accepted.headers, payloads, strict=True)), current)
        stored = [
            StoredEntry(
                origin=origin,
                index=h.index,
                kind=h.kind,
                subject=h.subject,
                actor=h.actor,
                hlc=h.hlc,
                leaf_hash=leaf,
                header=e.header,
                salt=e.salt,
                payload=p,
            )
            for e, h, leaf, p in zip(
                accepted.entries, accepted.headers, accepted.leaf_hashes, payloads, strict=True
            )
        ]
        new = accepted.state
        try:
            store.append(
                origin=origin,
                expected_size=accepted.first_index,
                entries=stored,
                state=OriginState(
                    origin=origin,
                    size=new.size,
                    root=new.frontier.root(),
                    frontier=new.frontier.to_bytes(),
                    checkpoint_note=accepted.checkpoint_note,
                ),
                changes=[RowChange(t, k, row) for (t, k), row in folded.changes.items()],
                trusted_rows=True,  # built by sync.folds just above
            )
        except Exception:
            self.forget(origin)
            raise
        with self._lock:
            self._cache[origin] = (new, False)
        return Applied(
            origin,
            accepted.first_index,
            len(stored),
            new.size,
            len(folded.ignored),
            frozenset(table for table, _ in folded.changes),
        )

    def freeze(self, origin: str, reason: str) -> None:
        self._db.store.freeze(origin, reason)
        self.forget(origin)
