"""The replication pipeline of node.replica (prepare the next batches while this one is
committed) and the two-step append of the stores (prepare_append, commit_append).

Every pipelined outcome is held to the same standard: the store ends exactly as if the
batches had been applied one by one, and a refused batch leaves no trace. Runs on the
memory store and on SQLite in tmp_path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

from ccnode.v1 import log_pb2
from node.identity.origin_keys import OriginKeys
from node.metrics import METRICS
from node.replication.apply import Applied, Prepared, Replica, prepare_batch
from node.store import MEMORY_URL, MemoryStore, Store, open_store
from node.store.base import (
    ConflictError,
    IntegrityError,
    OriginState,
    RowChange,
    RowQuery,
    StoredEntry,
)
from node.store.layout import SqlAppendLayout, prepare_sql_append
from node.store.runner import Db
from sync.entry import Entry, decode_header
from sync.folds import fold_batch
from sync.merkle import Frontier
from sync.note import Ed25519Verifier
from sync.verify import BATCH_BYTES_MAX, BATCH_ENTRIES_MAX, BatchRejected, RejectReason
from tests.unit.corefixtures import (
    TRUST_DOMAIN,
    Log,
    blacklist_entry,
    blacklist_record,
    build_log,
    corrected_payload,
    delisted_payload,
    listed_payload,
    log_signer,
)

ORIGIN = "chengdu"
LISTED_KINDS = frozenset({log_pb2.BLACKLIST_LISTED})  # the kinds of the entries the batches add
RECEIVER = "chongqing"
LISTED, CORRECTED, DELISTED = (
    log_pb2.BLACKLIST_LISTED,
    log_pb2.BLACKLIST_CORRECTED,
    log_pb2.BLACKLIST_DELISTED,
)

Batch = tuple[int, list[Entry], str]  # (first index, entries, checkpoint note)


# ---------------------------------------------------------------- fixtures


@dataclass
class _Keys:
    """The methods of OriginKeys a Replica uses: each origin's key and court prefixes."""

    verifiers: dict[str, Ed25519Verifier] = field(default_factory=dict)
    court_prefixes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def verifier(self, origin: str) -> Ed25519Verifier | None:
        return self.verifiers.get(origin)

    def courts(self, origin: str) -> tuple[str, ...]:
        # The fixtures list for 川0104: every origin serves it unless a test says otherwise.
        return self.court_prefixes.get(origin, ("川01",))


@pytest.fixture(params=["memory", "sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_db(backend: str, tmp_path: Path) -> Iterator[Callable[[], Db]]:
    """Fresh stores of the test's backend (each its own SQLite file), closed at teardown."""
    opened: list[Db] = []

    def open_() -> Db:
        location = MEMORY_URL if backend == "memory" else str(tmp_path / f"{len(opened)}.db")
        db = Db(open_store(location), readers=1)
        opened.append(db)
        return db

    try:
        yield open_
    finally:
        for db in opened:
            db.close()


@pytest.fixture
def open_replica(open_db: Callable[[], Db]) -> Callable[[], Replica]:
    """Fresh receivers (chongqing) that know chengdu's log key."""

    def open_() -> Replica:
        keys = _Keys({ORIGIN: log_signer(ORIGIN).verifier()})
        return Replica(
            db=open_db(),
            keys=cast(OriginKeys, keys),
            node_id=RECEIVER,
            trust_domain=TRUST_DOMAIN,
            batch_entries_max=BATCH_ENTRIES_MAX,
            batch_bytes_max=BATCH_BYTES_MAX,
        )

    return open_


@pytest.fixture(scope="module")
def listings() -> Log:
    return build_log(12, ORIGIN)


@pytest.fixture(scope="module")
def changes_log() -> Log:
    """Listings, then corrections and a delisting of them (which read existing rows)."""
    corrected = blacklist_record(case_number="(2024)川0104执999号", term_end_on="2027-01-04")
    log = Log(ORIGIN, log_signer(ORIGIN))
    log.entries = [
        blacklist_entry(ORIGIN, 0),
        blacklist_entry(ORIGIN, 1),
        blacklist_entry(ORIGIN, 2, payload=listed_payload(blacklist_record(term_end_on=""))),
        _change(3, CORRECTED, 0, corrected_payload(corrected)),
        _change(4, DELISTED, 1, delisted_payload()),
        blacklist_entry(ORIGIN, 5),
        _change(6, CORRECTED, 5, corrected_payload(corrected)),
        _change(7, CORRECTED, 1, corrected_payload(corrected)),  # after delisting: ignored
    ]
    return log


def _change(index: int, kind: int, listing: int, payload: bytes) -> Entry:
    return blacklist_entry(
        ORIGIN, index, kind=kind, subject=f"{ORIGIN}/bl/{listing}", payload=payload
    )


def _batches(log: Log, *ends: int, start: int = 0) -> list[Batch]:
    """The log cut at ``ends``, each batch under the origin's checkpoint at its end."""
    out = []
    for end in ends:
        out.append((start, log.entries[start:end], log.checkpoint(end)))
        start = end
    return out


def _batch(log: Log, start: int, end: int) -> Batch:
    return (start, log.entries[start:end], log.checkpoint(end))


def _prepare(replica: Replica, batch: Batch, after: Prepared | None = None) -> Prepared:
    first, entries, note = batch
    return replica.prepare(ORIGIN, first, entries, note, after=after)


def _apply_one_by_one(replica: Replica, batches: Sequence[Batch]) -> list[Applied]:
    return [replica.apply(ORIGIN, first, entries, note) for first, entries, note in batches]


def _count_verifications(prepared: Prepared) -> list[int]:
    """Count calls of ``prepared.received`` (a verification again at commit)."""
    calls: list[int] = []
    received = prepared.received
    assert received is not None

    def counted() -> Sequence[Entry]:
        calls.append(1)
        return received()

    prepared.received = counted
    return calls


def snapshot(store: Store) -> dict[str, Any]:
    """Everything a commit can touch."""
    sizes = store.checkpoint_sizes(ORIGIN)
    return {
        "vector": store.vector(),
        "states": store.origin_states(),
        "entries": store.entries(ORIGIN, 0, 1_000),
        "checkpoints": {size: store.checkpoint_at(ORIGIN, size) for size in sizes},
        "rows": store.query_rows(RowQuery("blacklist", limit=1_000)),
    }


def _rows(replica: Replica) -> dict[str, dict[str, Any]]:
    rows, _ = replica._db.store.query_rows(RowQuery("blacklist", limit=1_000))
    return {row["key"]: row for row in rows}


def _replayed_rows(log: Log) -> dict[str, dict[str, Any]]:
    """The rows of the whole log folded at once, as the store returns them."""
    items = [(decode_header(e.header), e.payload) for e in log.entries]
    store = MemoryStore()
    store.append(
        origin=ORIGIN,
        expected_size=0,
        entries=[_stored(e) for e in log.entries],
        state=_origin_state(log, len(log.entries)),
        changes=[RowChange(t, k, row) for (t, k), row in fold_batch(items, {}).changes.items()],
    )
    rows, _ = store.query_rows(RowQuery("blacklist", limit=1_000))
    return {row["key"]: row for row in rows}


def _stored(entry: Entry) -> StoredEntry:
    h = decode_header(entry.header)
    return StoredEntry(
        h.origin,
        h.index,
        h.kind,
        h.subject,
        h.actor,
        h.hlc,
        entry.leaf_hash(),
        entry.header,
        entry.salt,
        entry.payload,
    )


def _origin_state(log: Log, size: int) -> OriginState:
    frontier = Frontier.from_leaf_hashes(log.leaf_hashes[:size])
    return OriginState(ORIGIN, size, frontier.root(), frontier.to_bytes(), log.checkpoint(size))


def _rejected(fn: Callable[[], object]) -> RejectReason:
    with pytest.raises(BatchRejected) as err:
        fn()
    return err.value.reason


# ---------------------------------------------------------------- (a) pipelined in order


def test_pipelined_batches_end_as_if_applied_one_by_one(
    open_replica: Callable[[], Replica], listings: Log
) -> None:
    batches = _batches(listings, 3, 7, 12)
    reference = open_replica()
    expected = _apply_one_by_one(reference, batches)

    replica = open_replica()
    prepared: list[Prepared] = []
    for batch in batches:  # all prepared before the first commit
        prepared.append(_prepare(replica, batch, after=prepared[-1] if prepared else None))
    assert [p.base_size for p in prepared] == [0, 3, 7]
    assert replica._db.store.vector() == {}
    verifications = [_count_verifications(p) for p in prepared]

    applied = [replica.commit(p) for p in prepared]

    assert applied == expected
    assert [(a.first_index, a.count, a.size) for a in applied] == [(0, 3, 3), (3, 4, 7), (7, 5, 12)]
    assert all(a.tables == frozenset({"blacklist"}) for a in applied)
    assert verifications == [[], [], []]  # each base was the committed state: no second pass
    assert snapshot(replica._db.store) == snapshot(reference._db.store)
    assert replica._db.store.vector() == {ORIGIN: 12}
    assert len(_rows(replica)) == 12


def test_commit_all_of_pipelined_batches_equals_apply(
    open_replica: Callable[[], Replica], listings: Log
) -> None:
    batches = _batches(listings, 1, 2, 8, 12)
    reference = open_replica()
    expected = _apply_one_by_one(reference, batches)
    replica = open_replica()
    prepared: list[Prepared] = []
    for batch in batches:
        prepared.append(_prepare(replica, batch, after=prepared[-1] if prepared else None))

    applied, failure = replica.commit_all(prepared)

    assert failure is None
    assert applied == expected
    assert snapshot(replica._db.store) == snapshot(reference._db.store)


def test_a_batch_committed_before_the_one_it_follows_is_refused_harmlessly(
    open_replica: Callable[[], Replica], listings: Log
) -> None:
    replica = open_replica()
    first = _prepare(replica, _batch(listings, 0, 4))
    second = _prepare(replica, _batch(listings, 4, 8), after=first)
    before = snapshot(replica._db.store)

    # Verified again from the committed state (empty): entries 4.. leave a gap.
    assert _rejected(lambda: replica.commit(second)) == RejectReason.GAP
    assert snapshot(replica._db.store) == before

    replica.commit(first)
    assert replica.commit(second) == Applied(
        ORIGIN, 4, 4, 8, 0, frozenset({"blacklist"}), LISTED_KINDS
    )
    assert replica._db.store.vector() == {ORIGIN: 8}


def test_after_of_another_origin_is_not_followed(
    open_replica: Callable[[], Replica], listings: Log
) -> None:
    replica = open_replica()
    other = build_log(3, "mianyang")
    keys = cast(_Keys, replica._keys)
    keys.verifiers["mianyang"] = other.verifier
    mianyang = replica.prepare("mianyang", 0, other.entries, other.checkpoint())
    prepared = _prepare(replica, _batch(listings, 0, 2), after=mianyang)
    assert prepared.base_size == 0  # chengdu's committed state, not mianyang's
    replica.commit(mianyang)
    replica.commit(prepared)
    assert replica._db.store.vector() == {ORIGIN: 2, "mianyang": 3}


# ---------------------------------------------------------------- (b) the base moved


def test_a_batch_whose_entries_were_committed_meanwhile_is_stale(
    open_replica: Callable[[], Replica], listings: Log
) -> None:
    replica = open_replica()
    late = _prepare(replica, _batch(listings, 0, 4))
    early = _prepare(replica, _batch(listings, 0, 4))  # the same range from another stream
    verifications = _count_verifications(late)
    replica.commit(early)
    before = snapshot(replica._db.store)

    assert _rejected(lambda: replica.commit(late)) == RejectReason.STALE

    assert verifications == [1]  # verified again from the committed state
    assert snapshot(replica._db.store) == before


def test_an_overlapping_batch_applies_only_its_new_entries(
    open_replica: Callable[[], Replica], listings: Log
) -> None:
    reference = open_replica()
    _apply_one_by_one(reference, [_batch(listings, 0, 4), _batch(listings, 0, 6)])
    replica = open_replica()
    late = _prepare(replica, _batch(listings, 0, 6))
    replica.commit(_prepare(replica, _batch(listings, 0, 4)))

    applied = replica.commit(late)

    assert (applied.first_index, applied.count, applied.size) == (4, 2, 6)
    assert snapshot(replica._db.store) == snapshot(reference._db.store)


def test_an_overlapping_batch_that_changes_rows_is_folded_over_the_committed_rows(
    open_replica: Callable[[], Replica], changes_log: Log
) -> None:
    reference = open_replica()
    _apply_one_by_one(reference, [_batch(changes_log, 0, 5), _batch(changes_log, 0, 8)])
    replica = open_replica()
    late = _prepare(replica, _batch(changes_log, 0, 8))
    replica.commit(_prepare(replica, _batch(changes_log, 0, 5)))

    applied = replica.commit(late)

    assert (applied.first_index, applied.count, applied.ignored) == (5, 3, 1)
    assert snapshot(replica._db.store) == snapshot(reference._db.store)
    assert _rows(replica) == _replayed_rows(changes_log)


def test_a_prepared_batch_without_its_entries_is_refused_when_its_base_moved(
    open_replica: Callable[[], Replica], listings: Log
) -> None:
    # As a batch from the helper process before the stream attaches its entries.
    replica = open_replica()
    late = _prepare(replica, _batch(listings, 0, 6))
    late.received = None
    replica.commit(_prepare(replica, _batch(listings, 0, 4)))
    before = snapshot(replica._db.store)

    assert _rejected(lambda: replica.commit(late)) == RejectReason.GAP
    assert snapshot(replica._db.store) == before


# ---------------------------------------------------------------- (c) frozen origins


def test_a_batch_prepared_before_a_freeze_is_refused_at_commit(
    open_replica: Callable[[], Replica], listings: Log
) -> None:
    replica = open_replica()
    replica.apply(ORIGIN, *_batch(listings, 0, 4))
    prepared = _prepare(replica, _batch(listings, 4, 8))
    replica.freeze(ORIGIN, "equivocation")
    before = snapshot(replica._db.store)

    assert _rejected(lambda: replica.commit(prepared)) == RejectReason.FROZEN
    applied, failure = replica.commit_all([prepared])
    assert applied == []
    assert failure is not None and failure[0] == 0
    assert isinstance(failure[1], BatchRejected) and failure[1].reason == RejectReason.FROZEN

    assert snapshot(replica._db.store) == before
    assert replica._db.store.vector() == {ORIGIN: 4}
    assert replica.log_state(ORIGIN)[1] is True


def test_a_frozen_origin_refuses_new_batches_even_after_a_prepared_one(
    open_replica: Callable[[], Replica], listings: Log
) -> None:
    replica = open_replica()
    replica.apply(ORIGIN, *_batch(listings, 0, 4))
    pending = _prepare(replica, _batch(listings, 4, 6))
    replica.freeze(ORIGIN, "equivocation")
    reason = _rejected(lambda: _prepare(replica, _batch(listings, 6, 8), after=pending))
    assert reason == RejectReason.FROZEN


# ---------------------------------------------------------------- (d) commit_all failures


def test_commit_all_stops_at_the_first_failure(
    open_replica: Callable[[], Replica], listings: Log
) -> None:
    replica = open_replica()
    first = _prepare(replica, _batch(listings, 0, 4))
    duplicate = _prepare(replica, _batch(listings, 0, 4))
    following = _prepare(replica, _batch(listings, 4, 8), after=first)

    applied, failure = replica.commit_all([first, duplicate, following])

    assert applied == [Applied(ORIGIN, 0, 4, 4, 0, frozenset({"blacklist"}), LISTED_KINDS)]
    assert failure is not None
    position, exc = failure
    assert position == 1
    assert isinstance(exc, BatchRejected) and exc.reason == RejectReason.STALE
    assert replica._db.store.vector() == {ORIGIN: 4}  # the batch after it was not committed
    assert len(_rows(replica)) == 4

    applied, failure = replica.commit_all([following])  # the caller goes on past a stale one
    assert failure is None and [a.size for a in applied] == [8]


def test_commit_all_writes_the_batches_before_one_the_store_refuses_mid_group(
    backend: str, open_replica: Callable[[], Replica], listings: Log
) -> None:
    replica = open_replica()
    first = _prepare(replica, _batch(listings, 0, 4))
    second = _prepare(replica, _batch(listings, 4, 8), after=first)
    third = _prepare(replica, _batch(listings, 8, 12), after=second)
    reference = open_replica()
    reference.commit(_prepare(reference, _batch(listings, 0, 4)))
    # The second batch's entry rows are the first's: its Merkle nodes go in, then its
    # entries break the primary key; the store takes back all of that batch, none of the first.
    assert first.append is not None and second.append is not None
    if backend == "sqlite":
        assert isinstance(first.append.layout, SqlAppendLayout)
        assert isinstance(second.append.layout, SqlAppendLayout)
        second.append.layout.entry_rows[:] = first.append.layout.entry_rows
    else:
        second.append = dataclasses.replace(second.append, expected_size=0)

    applied, failure = replica.commit_all([first, second, third])

    assert [a.size for a in applied] == [4]
    assert failure is not None and failure[0] == 1
    assert isinstance(failure[1], IntegrityError | ConflictError)
    assert snapshot(replica._db.store) == snapshot(reference._db.store)
    assert replica._db.store.leaf_hashes(ORIGIN, 0, 4) == reference._db.store.leaf_hashes(
        ORIGIN, 0, 4
    )
    # The next batches, prepared again, commit as usual (the store kept no node of the refused one).
    again = _prepare(replica, _batch(listings, 4, 8))
    applied, failure = replica.commit_all(
        [again, _prepare(replica, _batch(listings, 8, 12), after=again)]
    )
    assert failure is None and [a.size for a in applied] == [8, 12]
    assert replica._db.store.vector() == {ORIGIN: 12}
    assert len(_rows(replica)) == 12


def test_commit_all_reports_a_store_error_at_its_position(
    backend: str, open_replica: Callable[[], Replica], listings: Log
) -> None:
    replica = open_replica()
    first = _prepare(replica, _batch(listings, 0, 4))
    # Laid out for the other kind of store: the store refuses it, and nothing of it is written.
    other_layout = prepare_sql_append if backend == "memory" else MemoryStore().prepare_append
    start, entries, note = _batch(listings, 4, 8)
    foreign = prepare_batch(
        replica.rules,
        first.state,
        frozen=False,
        verifier=listings.verifier,
        origin=ORIGIN,
        first_index=start,
        entries=entries,
        note=note,
        lay_out=other_layout,
        courts=("川01",),
    )

    applied, failure = replica.commit_all([first, foreign])

    assert [a.size for a in applied] == [4]
    assert failure is not None and failure[0] == 1 and isinstance(failure[1], IntegrityError)
    assert replica._db.store.vector() == {ORIGIN: 4}
    # The state is read again from the store: the next batch commits as usual.
    assert replica.commit(_prepare(replica, _batch(listings, 4, 8))).size == 8


# ---------------------------------------------------------------- (e) batches that change rows


def test_a_batch_that_changes_rows_is_folded_at_commit(
    open_replica: Callable[[], Replica], changes_log: Log
) -> None:
    batches = _batches(changes_log, 3, 6, 8)
    reference = open_replica()
    expected = _apply_one_by_one(reference, batches)

    replica = open_replica()
    listings = _prepare(replica, batches[0])
    changes = _prepare(replica, batches[1], after=listings)
    late = _prepare(replica, batches[2], after=changes)
    assert listings.append is not None and listings.keys == frozenset()
    # Corrections and delistings read rows that are not committed yet: folded at commit.
    assert changes.append is None and changes.items is not None and changes.stored is not None
    assert changes.keys == {("blacklist", f"{ORIGIN}/bl/0"), ("blacklist", f"{ORIGIN}/bl/1")}
    assert late.append is None

    applied = [replica.commit(p) for p in (listings, changes, late)]

    assert applied == expected
    assert changes.append is not None and changes.items is None and changes.stored is None
    assert [a.ignored for a in applied] == [0, 0, 1]  # the correction after the delisting
    assert snapshot(replica._db.store) == snapshot(reference._db.store)
    rows = _rows(replica)
    assert rows == _replayed_rows(changes_log)
    assert rows[f"{ORIGIN}/bl/0"]["case_number"] == "(2024)川0104执999号"
    assert rows[f"{ORIGIN}/bl/0"]["last_index"] == 3
    assert rows[f"{ORIGIN}/bl/1"]["status"] == "delisted"
    assert rows[f"{ORIGIN}/bl/5"]["case_number"] == "(2024)川0104执999号"


def test_listings_and_their_changes_in_one_batch_are_folded_at_commit(
    open_replica: Callable[[], Replica], changes_log: Log
) -> None:
    replica = open_replica()
    prepared = _prepare(replica, _batch(changes_log, 0, 8))
    assert prepared.append is None  # corrections name their rows: read at commit (absent)
    replica.commit(prepared)
    assert _rows(replica) == _replayed_rows(changes_log)


# ---------------------------------------------------------------- (f) prepare/commit_append


def _append_args(log: Log, start: int, end: int) -> dict[str, Any]:
    items = [(decode_header(e.header), e.payload) for e in log.entries[start:end]]
    folded = fold_batch(items, {})
    return {
        "origin": ORIGIN,
        "expected_size": start,
        "entries": [_stored(e) for e in log.entries[start:end]],
        "state": _origin_state(log, end),
        "changes": [RowChange(t, k, row) for (t, k), row in folded.changes.items()],
        "checkpoints": [(size, log.checkpoint(size)) for size in range(start + 1, end)][:2],
    }


def test_prepare_then_commit_append_equals_append(open_db: Callable[[], Db], listings: Log) -> None:
    appended, committed = open_db().store, open_db().store
    for start, end in ((0, 5), (5, 12)):
        appended.append(**_append_args(listings, start, end))
        prepared = committed.prepare_append(**_append_args(listings, start, end))
        assert committed.vector() == ({} if start == 0 else {ORIGIN: start})  # not written yet
        committed.commit_append(prepared)
    assert snapshot(committed) == snapshot(appended)
    assert committed.checkpoint_sizes(ORIGIN) == [1, 2, 5, 6, 7, 12]


def test_a_prepared_append_of_another_kind_of_store_is_refused(
    backend: str, open_db: Callable[[], Db], listings: Log
) -> None:
    store = open_db().store
    if backend == "memory":
        foreign = prepare_sql_append(**_append_args(listings, 0, 5))
    else:
        foreign = MemoryStore().prepare_append(**_append_args(listings, 0, 5))
    before = snapshot(store)
    with pytest.raises(IntegrityError, match="another kind of store"):
        store.commit_append(foreign)
    assert snapshot(store) == before


def test_the_sql_stores_layout_is_prepare_sql_append(tmp_path: Path, listings: Log) -> None:
    store = open_store(tmp_path / "store.db")
    try:
        args = _append_args(listings, 0, 5)
        assert store.prepare_append(**args) == prepare_sql_append(**args)
    finally:
        store.close()


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"expected_size": 1}, "state.size must equal expected_size"),
        ({"origin": "mianyang"}, "state.origin must equal origin"),
        ({"checkpoints": [(7, "note")]}, "checkpoints\\[0\\] size"),
        ({"changes": [RowChange("nope", "k", {})]}, "changes\\[0\\].table"),
    ],
)
def test_a_refused_prepare_append_writes_nothing(
    open_db: Callable[[], Db], listings: Log, change: dict[str, Any], rule: str
) -> None:
    store = open_db().store
    store.append(**_append_args(listings, 0, 2))
    before = snapshot(store)
    with pytest.raises(IntegrityError, match=rule):
        store.prepare_append(**{**_append_args(listings, 2, 5), **change})
    assert snapshot(store) == before


def test_a_prepared_append_whose_log_moved_is_a_conflict(
    open_db: Callable[[], Db], listings: Log
) -> None:
    store = open_db().store
    prepared = store.prepare_append(**_append_args(listings, 0, 5))
    store.append(**_append_args(listings, 0, 2))
    before = snapshot(store)
    with pytest.raises(ConflictError):
        store.commit_append(prepared)
    assert snapshot(store) == before


# ---------------------------------------------------------------- court authority


@pytest.mark.parametrize("path", ["creates_rows", "reads_rows"])
def test_listings_for_a_court_the_origin_does_not_serve_are_ignored_recorded_and_counted(
    open_db: Callable[[], Db], listings: Log, changes_log: Log, path: str
) -> None:
    # chengdu's certificate names 渝 only: every listing of 川0104 is a fact it may not state.
    log = listings if path == "creates_rows" else changes_log
    keys = _Keys({ORIGIN: log_signer(ORIGIN).verifier()}, {ORIGIN: ("渝",)})
    replica = Replica(
        db=open_db(),
        keys=cast(OriginKeys, keys),
        node_id=RECEIVER,
        trust_domain=TRUST_DOMAIN,
        batch_entries_max=BATCH_ENTRIES_MAX,
        batch_bytes_max=BATCH_BYTES_MAX,
    )
    counter = METRICS.ignored.labels(origin=ORIGIN, reason="court_not_served")
    before = counter._value.get()
    size = len(log.entries)

    applied = replica.apply(ORIGIN, 0, log.entries, log.checkpoint(size))

    assert (applied.count, applied.ignored) == (size, size)  # committed, none folded
    assert replica._db.store.vector() == {ORIGIN: size}
    assert _rows(replica) == {}
    # Listings and corrections name their court; a delisting of a listing never folded is
    # ignored as "no such listing".
    listed = [
        i for i, e in enumerate(log.entries) if decode_header(e.header).kind in (LISTED, CORRECTED)
    ]
    refusals = replica._db.store.refusals(limit=1_000)
    # One row for the origin with the count of entries ignored (not one row per entry).
    assert [(r.reason, r.identity, r.method, r.count) for r in refusals] == [
        ("court_not_served", f"node/{ORIGIN}", "fold", len(listed))
    ]
    assert counter._value.get() - before == len(listed)
