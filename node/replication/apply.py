"""Applying verified batches of any origin's log (the receiving side of replication).

A batch is verified against the origin's frontier, folded over the current rows, and the
entries, the checkpoint, the new log state and the row changes are committed in ONE
transaction (in the store's writer thread) BEFORE anyone is told. A rejected batch changes
nothing.

``apply`` does it all at once. A stream pipelines it: ``prepare`` (verify, fold, lay out the
rows; pure CPU) of the next batches runs while ``commit`` writes this one, either in a
thread (``Replica.prepare``) or, during a large catch-up, in a helper process
(node.replication.worker) that runs the same ``prepare_batch``. ``commit`` checks that the
origin's committed state is still the one a batch was verified against, and verifies the
batch again from the committed state if not, so the outcome is always that of batches
applied one by one.

The folds check each fact against the court prefixes of the origin's log-signing certificate
(``OriginKeys.courts``; the helper process is handed them with the key): a listing for a court
the origin does not serve is ignored (``court_not_served``) by every node alike, and the
receiver records each such entry as a refusal naming the origin and the entry (never its
content) and counts it in ``ccnode_ignored_entries_total``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from node.clock import Clock, SystemClock
from node.store.base import (
    FoldedLogStore,
    OriginState,
    PreparedAppend,
    Refusal,
    RefusalStore,
    RowChange,
    StoredEntry,
)
from sync.entry import Entry, Header
from sync.folds import FoldResult, fold_batch, state_keys
from sync.folds.blacklist import COURT_NOT_SERVED
from sync.folds.types import StateKey
from sync.merkle import Frontier
from sync.note import Verifier
from sync.verify import BatchRejected, LogState, RejectReason, verify_batch

if TYPE_CHECKING:
    from node.identity.origin_keys import OriginKeys
    from node.store.runner import Db

log = logging.getLogger(__name__)

# Store.prepare_append, or the same layout as a plain function (in the helper process).
LayOut = Callable[..., PreparedAppend]


class ReplicaStore(FoldedLogStore, RefusalStore, Protocol):
    """What the replica writes: entries with their folded rows, and the refusals of facts
    their origin was not entitled to state."""


@dataclass(frozen=True)
class Applied:
    origin: str
    first_index: int
    count: int
    size: int
    ignored: int
    tables: frozenset[str] = frozenset()  # folded-state tables the batch changed
    kinds: frozenset[int] = frozenset()  # the kinds of the entries it added (log_pb2.Kind)


class AppliedFeed:
    """Who is told, on the event loop, after a peer's batch was verified and committed."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[Applied], None]] = []

    def subscribe(self, callback: Callable[[Applied], None]) -> None:
        self._callbacks.append(callback)

    def unsubscribe(self, callback: Callable[[Applied], None]) -> None:
        self._callbacks.remove(callback)

    def publish(self, applied: Applied) -> None:
        for callback in list(self._callbacks):
            callback(applied)


@dataclass(frozen=True, slots=True)
class PrepareRules:
    """What verifying a batch needs besides the batch and the origin's state."""

    node_id: str  # the receiver: never its own log; payloads only within their audience
    trust_domain: str
    entries_max: int
    bytes_max: int


@dataclass(slots=True)
class Prepared:
    """A verified batch laid out for its commit (``prepare_batch``).

    Picklable: the helper process sends it back. Either folded already (``append`` set:
    the batch only creates rows) or waiting for the committed rows it changes (``items``
    and ``stored`` set, folded at commit).
    """

    origin: str
    first_index: int  # as sent
    note: str
    base_size: int  # the origin's state the batch was verified against
    base_root: bytes
    state: LogState  # the origin's state after the batch
    start: int  # the first index the batch adds (entries below it were held already)
    keys: frozenset[StateKey]  # existing rows the fold reads
    append: PreparedAppend | None = None
    ignored: int = 0
    tables: frozenset[str] = frozenset()
    kinds: frozenset[int] = frozenset()  # of the entries the batch adds
    # The court prefixes of the origin's certificate the batch is folded with.
    courts: tuple[str, ...] = ()
    # Entry ids the folds ignored as court_not_served (reported at commit).
    not_served: tuple[str, ...] = ()
    items: list[tuple[Header, bytes | None]] | None = None
    stored: list[StoredEntry] | None = None
    # The batch's entries as received, built on demand for a verification again at commit
    # (set by the receiver; never sent by the helper process).
    received: Callable[[], Sequence[Entry]] | None = None

    @property
    def count(self) -> int:
        """Entries the batch adds."""
        return self.state.size - self.start


def prepare_batch(
    rules: PrepareRules,
    state: LogState,
    *,
    frozen: bool,
    verifier: Verifier | None,
    origin: str,
    first_index: int,
    entries: Sequence[Entry],
    note: str,
    lay_out: LayOut,
    courts: tuple[str, ...],
    own_log: bool = False,
) -> Prepared:
    """Verify a batch of ``origin`` against ``state``; fold it (with ``courts``, the court
    prefixes of the origin's certificate) if it only creates rows, and lay out what its
    commit writes. Pure CPU (no store access): any thread or process.

    ``own_log``: the batch is this node's own log, fetched back from a peer by own-log
    recovery (node.replication.recovery), the one path that may apply it; the same checks
    hold (this node's key, its stored frontier), except that a payload may be missing (no
    peer may hold the payload of a restricted entry: the entry is then stored without it)."""
    if origin == rules.node_id and not own_log:
        raise BatchRejected(RejectReason.WRONG_ORIGIN, "a peer sent entries of this node's log")
    node_id = rules.node_id
    accepted = verify_batch(
        state,
        trust_domain=rules.trust_domain,
        first_index=first_index,
        entries=entries,
        checkpoint_note=note,
        verifier=verifier,
        entries_max=rules.entries_max,
        bytes_max=rules.bytes_max,
        frozen=frozen,
        receiver=None if own_log else node_id,
    )
    headers = accepted.headers
    # Defence in depth: never keep a payload outside its audience, even if a relay sent it.
    payloads = [
        e.payload if h.visible_to(node_id) else None
        for e, h in zip(accepted.entries, headers, strict=True)
    ]
    stored = [
        StoredEntry(origin, h.index, h.kind, h.subject, h.actor, h.hlc, leaf, e.header, e.salt, p)
        for e, h, leaf, p in zip(
            accepted.entries, headers, accepted.leaf_hashes, payloads, strict=True
        )
    ]
    items = list(zip(headers, payloads, strict=True))
    keys = frozenset(state_keys(headers))
    prepared = Prepared(
        origin=origin,
        first_index=first_index,
        note=note,
        base_size=state.size,
        base_root=state.frontier.root(),
        state=accepted.state,
        start=accepted.first_index,
        keys=keys,
        courts=courts,
        kinds=frozenset(h.kind for h in headers),
    )
    if keys:
        prepared.items = items
        prepared.stored = stored
    else:  # nothing to read: fold and lay out the rows now
        _lay_out(prepared, fold_batch(items, {}, courts=courts), stored, lay_out)
    return prepared


def _lay_out(
    prepared: Prepared, folded: FoldResult, stored: list[StoredEntry], lay_out: LayOut
) -> None:
    new = prepared.state
    assert new.checkpoint_note is not None  # an accepted batch ends at a signed checkpoint
    prepared.append = lay_out(
        origin=prepared.origin,
        expected_size=prepared.start,
        entries=stored,
        state=OriginState(
            origin=prepared.origin,
            size=new.size,
            root=new.frontier.root(),
            frontier=new.frontier.to_bytes(),
            checkpoint_note=new.checkpoint_note,
        ),
        changes=[RowChange(t, k, row) for (t, k), row in folded.changes.items()],
        trusted_rows=True,  # built by sync.folds
    )
    prepared.ignored = len(folded.ignored)
    prepared.not_served = tuple(
        entry_id for entry_id, reason in folded.ignored if reason == COURT_NOT_SERVED
    )
    prepared.tables = frozenset(table for table, _ in folded.changes)
    prepared.items = None
    prepared.stored = None


class Replica:
    def __init__(
        self,
        *,
        db: Db[ReplicaStore],
        keys: OriginKeys,
        node_id: str,
        trust_domain: str,
        batch_entries_max: int,
        batch_bytes_max: int,
        clock: Clock | None = None,
    ) -> None:
        self._db = db
        self._keys = keys
        self._clock: Clock = clock or SystemClock()
        self.node_id = node_id
        self.rules = PrepareRules(node_id, trust_domain, batch_entries_max, batch_bytes_max)
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

    def apply(self, origin: str, first_index: int, entries: Sequence[Entry], note: str) -> Applied:
        """Verify and commit one batch (blocking; run in the writer thread)."""
        return self.commit(self.prepare(origin, first_index, entries, note))

    def prepare(
        self,
        origin: str,
        first_index: int,
        entries: Sequence[Entry],
        note: str,
        *,
        after: Prepared | None = None,
    ) -> Prepared:
        """``prepare_batch`` against the origin's committed state (blocking; any thread).

        ``after``: the batch of the same stream prepared just before, whose commit may not
        have run yet; this batch is then verified against the state that batch leads to.
        """
        state, frozen = self.log_state(origin)
        if after is not None and after.origin == origin and not frozen:
            state = after.state
        received = tuple(entries)
        prepared = prepare_batch(
            self.rules,
            state,
            frozen=frozen,
            verifier=self._keys.verifier(origin),
            origin=origin,
            first_index=first_index,
            entries=received,
            note=note,
            lay_out=self._db.store.prepare_append,
            courts=self._keys.courts(origin),
        )
        prepared.received = lambda: received
        return prepared

    def commit(self, prepared: Prepared) -> Applied:
        """Commit a prepared batch in one transaction (blocking; run in the writer thread).

        If the origin's committed state is not the one the batch was verified against (the
        batch before it was not committed, or another stream delivered the same entries
        first), the batch is verified again from the committed state.
        """
        origin = prepared.origin
        state, frozen = self.log_state(origin)
        if frozen:
            raise BatchRejected(
                RejectReason.FROZEN, f"origin {origin} is frozen after equivocation"
            )
        if state.size != prepared.base_size or state.frontier.root() != prepared.base_root:
            if prepared.received is None:
                raise BatchRejected(RejectReason.GAP, "prepared against another state")
            prepared = self.prepare(
                origin, prepared.first_index, prepared.received(), prepared.note
            )
        if prepared.append is None:
            assert prepared.items is not None and prepared.stored is not None
            store = self._db.store
            current = {}
            keys = prepared.keys
            for table in {t for t, _ in keys}:
                rows = store.get_rows(table, [k for t, k in keys if t == table])
                current.update({(table, k): v for k, v in rows.items()})
            folded = fold_batch(prepared.items, current, courts=prepared.courts)
            _lay_out(prepared, folded, prepared.stored, store.prepare_append)
        assert prepared.append is not None
        try:
            self._db.store.commit_append(prepared.append)
        except Exception:
            self.forget(origin)
            raise
        applied = self._committed(prepared)
        self._report_not_served(prepared)
        return applied

    def _committed(self, prepared: Prepared) -> Applied:
        """Cache the state a committed batch led to; what it applied."""
        with self._lock:
            self._cache[prepared.origin] = (prepared.state, False)
        return Applied(
            prepared.origin,
            prepared.start,
            prepared.count,
            prepared.state.size,
            prepared.ignored,
            prepared.tables,
            prepared.kinds,
        )

    def _report_not_served(self, prepared: Prepared) -> None:
        """Record and count the facts the origin was not entitled to state (committed as
        entries, ignored by the folds): an admin or auditor reads them in the refusals."""
        if not prepared.not_served:
            return
        # One row per batch with a count (folded per origin and day by the store): an origin
        # publishing a million such entries costs a counter, not a million rows. The entries
        # themselves stay in its log, where an auditor finds them.
        first, last = prepared.not_served[0], prepared.not_served[-1]
        self._db.store.record_refusal(
            Refusal(
                self._clock.now_ms(),
                "",
                f"node/{prepared.origin}",
                "fold",
                COURT_NOT_SERVED,
                count=len(prepared.not_served),
            )
        )
        log.warning(
            "ignored %d entries of %s for courts it does not serve (%s .. %s)",
            len(prepared.not_served),
            prepared.origin,
            first,
            last,
        )
        # Imported here: the catch-up helper process (node.replication.worker) imports this
        # module for prepare_batch and starts faster without the metrics' registry.
        from node.metrics import METRICS

        METRICS.ignored.labels(origin=prepared.origin, reason=COURT_NOT_SERVED).inc(
            len(prepared.not_served)
        )

    def commit_all(
        self, batches: Sequence[Prepared]
    ) -> tuple[list[Applied], tuple[int, Exception] | None]:
        """Commit prepared batches in order, each whole or not at all, stopping at the first
        failure: (what was applied, (position, error) of the failure or None). One trip to
        the writer thread for several batches that are ready.

        Consecutive batches that only add entries and rows (folded already, each verified
        against the state the one before it leads to) go to the store together, in one
        transaction with a savepoint each (``commit_appends``); the others, one by one
        through ``commit``. The outcome is that of committing them one by one."""
        applied: list[Applied] = []
        position = 0
        while position < len(batches):
            run = self._appends_only(batches, position)
            if len(run) > 1:
                try:
                    written, refused = self._db.store.commit_appends(
                        [b.append for b in run if b.append is not None]
                    )
                except Exception as exc:  # nothing of the run was written
                    for prepared in run:
                        self.forget(prepared.origin)
                    return applied, (position, exc)
                for prepared in run[:written]:
                    applied.append(self._committed(prepared))
                position += written
                if refused is None:
                    continue
                self.forget(run[written].origin)  # then committed alone: same error, or not
            try:
                applied.append(self.commit(batches[position]))
            except Exception as exc:
                return applied, (position, exc)
            position += 1
        return applied, None

    def _appends_only(self, batches: Sequence[Prepared], start: int) -> list[Prepared]:
        """The batches from ``start`` on that ``commit`` would write as they are: laid out
        already, no refusal to record, each against the state the one before leads to."""
        run: list[Prepared] = []
        states: dict[str, LogState] = {}
        for prepared in batches[start:]:
            origin = prepared.origin
            if prepared.append is None or prepared.not_served:
                break
            state = states.get(origin)
            if state is None:
                state, frozen = self.log_state(origin)
                if frozen:
                    break
            if state.size != prepared.base_size or state.frontier.root() != prepared.base_root:
                break
            states[origin] = prepared.state
            run.append(prepared)
        return run

    def recover_own(self, first_index: int, entries: Sequence[Entry], note: str) -> Applied:
        """Verify and commit a batch of this node's own log fetched back from a peer
        (blocking; run in the writer thread while the local log's gate is closed).

        The cached state of the own origin is dropped before and after: the local log
        commits without the replica, so the cache never describes the own log."""
        origin = self.node_id
        self.forget(origin)
        try:
            state, frozen = self.log_state(origin)
            prepared = prepare_batch(
                self.rules,
                state,
                frozen=frozen,
                verifier=self._keys.verifier(origin),
                origin=origin,
                first_index=first_index,
                entries=entries,
                note=note,
                lay_out=self._db.store.prepare_append,
                courts=self._keys.courts(origin),
                own_log=True,
            )
            return self.commit(prepared)
        finally:
            self.forget(origin)

    def freeze(self, origin: str, reason: str) -> None:
        self._db.store.freeze(origin, reason)
        self.forget(origin)
