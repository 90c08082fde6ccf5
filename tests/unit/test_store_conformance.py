"""One conformance suite for every Store: memory, SQLite and PostgreSQL (STYLE.md item 3).

Every test takes the parametrised ``store`` fixture (tests/conftest.py), so the in-memory twin
and the SQL store are held to the same contract: same results, same ordering, same errors,
and refused writes leave no trace.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from node.store import MemoryStore, SqlStore, Store, migrate, open_store
from node.store.base import (
    HELD_SUBJECTS_MAX,
    REFUSAL_FOLD_MS,
    REFUSAL_REASON_CHARS_MAX,
    REFUSAL_RETENTION_MS,
    REFUSALS_PAGE_MAX,
    STATE_TABLES,
    AgencyRecord,
    ConflictError,
    EvidenceRecord,
    IntegrityError,
    OriginState,
    PayloadPurge,
    PeerRecord,
    PreparedAppend,
    Refusal,
    RowChange,
    RowQuery,
    StoredEntry,
    StoreError,
)
from node.store.checks import ROW_QUERY_AMONG_MAX
from node.store.layout import SqlAppendLayout
from node.store.schema import metadata
from sync import merkle, tiles

ORIGIN = "chengdu"
OTHER = "chongqing"


# ---------------------------------------------------------------- builders


def downgrade_store(conn: sqlalchemy.Connection, revision: str) -> None:
    """Run the store's migrations down to ``revision`` on ``conn`` (the later revisions' own
    downgrades), as the tests of older stores need them."""
    config = migrate.alembic_config()
    config.attributes["connection"] = conn
    command.downgrade(config, revision)


def make_entry(
    origin: str,
    index: int,
    *,
    subject: str | None = None,
    kind: int = 1,
    actor: str = "clerk-1",
    payload: bytes | None = b"payload",
) -> StoredEntry:
    header = f"header {origin} {index}".encode()
    return StoredEntry(
        origin=origin,
        index=index,
        kind=kind,
        subject=subject if subject is not None else f"{origin}/bl/{index}",
        actor=actor,
        hlc=1_700_000_000_000 + index,
        leaf_hash=hashlib.sha256(b"\x00" + header).digest(),
        header=header,
        salt=bytes([index % 256]) * 16,
        payload=payload,
    )


def state_for(origin: str, size: int, *, note: str | None = None) -> OriginState:
    """A stand-in state: the store treats root, frontier and note as opaque."""
    return OriginState(
        origin=origin,
        size=size,
        root=hashlib.sha256(f"root {origin} {size}".encode()).digest(),
        frontier=size.to_bytes(8, "big"),
        checkpoint_note=note if note is not None else f"{origin}\n{size}\nroot\n",
    )


def append(
    store: Store,
    origin: str,
    start: int,
    count: int,
    changes: Sequence[RowChange] = (),
    **entry_fields: Any,
) -> list[StoredEntry]:
    batch = [make_entry(origin, start + i, **entry_fields) for i in range(count)]
    store.append(
        origin=origin,
        expected_size=start,
        entries=batch,
        state=state_for(origin, start + count),
        changes=changes,
    )
    return batch


def upsert(key: str, **row: Any) -> RowChange:
    return RowChange("blacklist", key, row)


def snapshot(store: Store) -> dict[str, Any]:
    """Everything an append can touch, to prove a refused append changed nothing."""
    return {
        "vector": store.vector(),
        "states": store.origin_states(),
        "entries": {origin: store.entries(origin, 0, 1_000) for origin in (ORIGIN, OTHER)},
        "checkpoints": {origin: store.checkpoint_sizes(origin) for origin in (ORIGIN, OTHER)},
        "rows": store.query_rows(RowQuery("blacklist", limit=1_000)),
        "feed": store.blacklist_changes(0, 1_000),
    }


# ---------------------------------------------------------------- logs


def test_append_and_read_back(store: Store) -> None:
    batch = append(store, ORIGIN, 0, 5)

    assert store.entries(ORIGIN, 0, 5) == batch
    assert store.entries(ORIGIN, 1, 3) == batch[1:3]
    assert store.entries(ORIGIN, 3, 100) == batch[3:]  # clipped at the log's end
    assert store.entries(ORIGIN, 5, 9) == []
    assert store.entries(OTHER, 0, 5) == []
    assert store.entries(ORIGIN, 0, 5, with_payload=False) == [
        replace(entry, payload=None) for entry in batch
    ]
    assert store.leaf_hashes(ORIGIN, 1, 4) == [entry.leaf_hash for entry in batch[1:4]]
    assert store.origin_state(ORIGIN) == state_for(ORIGIN, 5)
    assert store.origin_state(OTHER) is None
    read = store.entries(ORIGIN, 0, 1)[0]
    assert all(type(value) is bytes for value in (read.header, read.salt, read.leaf_hash))
    assert type(read.payload) is bytes


def test_a_large_append_keeps_every_entry_and_row(store: Store) -> None:
    """More entries and rows than one multi-row statement holds (SQLite splits them)."""
    count = 1_000 + 7
    changes = [upsert(f"k{i}", status="listed", last_index=i) for i in range(count)]
    batch = append(store, ORIGIN, 0, count, changes=changes)
    assert store.entries(ORIGIN, 0, count) == batch
    rows = store.get_rows("blacklist", [f"k{i}" for i in range(count)])
    assert sorted(row["last_index"] for row in rows.values()) == list(range(count))
    batch += append(store, ORIGIN, count, 3, changes=changes[:3])
    assert store.entries(ORIGIN, 0, count + 3) == batch


def test_redacted_entry_keeps_null_payload(store: Store) -> None:
    batch = append(store, ORIGIN, 0, 2, payload=None)
    assert store.entries(ORIGIN, 0, 2) == batch


def test_vector_and_origin_states_in_origin_order(store: Store) -> None:
    append(store, OTHER, 0, 2)
    append(store, ORIGIN, 0, 3)
    append(store, ORIGIN, 3, 4)

    assert store.vector() == {ORIGIN: 7, OTHER: 2}
    assert list(store.vector()) == [ORIGIN, OTHER]
    assert store.origin_states() == [state_for(ORIGIN, 7), state_for(OTHER, 2)]


def test_an_empty_log_can_be_committed(store: Store) -> None:
    store.append(origin=ORIGIN, expected_size=0, entries=[], state=state_for(ORIGIN, 0))
    assert store.vector() == {ORIGIN: 0}
    assert store.checkpoint_sizes(ORIGIN) == [0]
    append(store, ORIGIN, 0, 1)
    assert store.vector() == {ORIGIN: 1}


def test_bad_ranges_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="start"):
        store.entries(ORIGIN, -1, 2)
    with pytest.raises(ValueError, match="end"):
        store.leaf_hashes(ORIGIN, 3, 2)


@pytest.mark.parametrize("expected_size", [0, 2, 4])
def test_stale_expected_size_conflicts_and_writes_nothing(store: Store, expected_size: int) -> None:
    append(store, ORIGIN, 0, 3, changes=[upsert("k1", status="listed")])
    before = snapshot(store)

    with pytest.raises(ConflictError):
        append(store, ORIGIN, expected_size, 2, changes=[upsert("k2", status="listed")])

    assert snapshot(store) == before


def test_conflict_on_a_new_origin_leaves_no_trace(store: Store) -> None:
    with pytest.raises(ConflictError):
        append(store, OTHER, 2, 1)
    assert store.vector() == {}
    assert store.origin_state(OTHER) is None


def _gap(batch: list[StoredEntry]) -> list[StoredEntry]:
    return [batch[0], replace(batch[1], index=batch[1].index + 1)]


def _duplicate(batch: list[StoredEntry]) -> list[StoredEntry]:
    return [batch[0], batch[0]]


def _wrong_start(batch: list[StoredEntry]) -> list[StoredEntry]:
    return [replace(entry, index=entry.index + 1) for entry in batch]


def _wrong_origin(batch: list[StoredEntry]) -> list[StoredEntry]:
    return [batch[0], replace(batch[1], origin=OTHER)]


def _hlc_too_big(batch: list[StoredEntry]) -> list[StoredEntry]:
    return [batch[0], replace(batch[1], hlc=2**63)]


def _kind_beyond_int32(batch: list[StoredEntry]) -> list[StoredEntry]:
    return [batch[0], replace(batch[1], kind=2**31)]


def _nul_in_subject(batch: list[StoredEntry]) -> list[StoredEntry]:
    return [batch[0], replace(batch[1], subject="chengdu/bl/\x00")]


@pytest.mark.parametrize("corrupt", [_gap, _duplicate, _wrong_start, _wrong_origin, _hlc_too_big])
def test_bad_batch_is_refused_whole(
    store: Store, corrupt: Callable[[list[StoredEntry]], list[StoredEntry]]
) -> None:
    append(store, ORIGIN, 0, 3, changes=[upsert("k1", status="listed")])
    before = snapshot(store)

    batch = corrupt([make_entry(ORIGIN, 3), make_entry(ORIGIN, 4)])
    with pytest.raises(IntegrityError):
        store.append(
            origin=ORIGIN,
            expected_size=3,
            entries=batch,
            state=state_for(ORIGIN, 5),
            changes=[upsert("k2", status="listed"), RowChange("blacklist", "k1", None)],
        )

    assert snapshot(store) == before


def test_state_size_must_match_the_batch(store: Store) -> None:
    with pytest.raises(IntegrityError, match=r"state\.size"):
        store.append(
            origin=ORIGIN,
            expected_size=0,
            entries=[make_entry(ORIGIN, 0)],
            state=state_for(ORIGIN, 2),
        )
    with pytest.raises(IntegrityError, match=r"state\.origin"):
        store.append(origin=ORIGIN, expected_size=0, entries=[], state=state_for(OTHER, 0))
    assert store.vector() == {}


def test_concurrent_appends_to_one_origin_exactly_one_wins(store: Store) -> None:
    _race_appends([store, store])


def test_two_stores_on_one_database_exactly_one_wins(
    sql_store_location: str, open_test_store: Callable[[str], Store]
) -> None:
    """Two processes' worth of stores: the database's own locking decides, not a Python lock."""
    _race_appends([open_test_store(sql_store_location), open_test_store(sql_store_location)])


def _race_appends(stores: list[Store], rounds: int = 15, batch_entries: int = 20) -> None:
    """Each round, every store appends its own batch at the same expected_size at once."""
    size = 0
    for round_number in range(rounds):
        outcomes = _race_one_round(stores, size, f"round-{round_number}", batch_entries)

        winners = [outcome for outcome in outcomes if outcome != "conflict"]
        assert len(winners) == 1 and outcomes.count("conflict") == len(stores) - 1, outcomes
        size += batch_entries
        reader = stores[0]
        assert reader.vector() == {ORIGIN: size}
        written = reader.entries(ORIGIN, size - batch_entries, size)
        assert {entry.actor for entry in written} == {winners[0]}
        row = reader.get_rows("blacklist", [f"round-{round_number}"])[f"round-{round_number}"]
        assert row["name"] == winners[0]


def _race_one_round(stores: list[Store], size: int, row_key: str, batch_entries: int) -> list[str]:
    """The contenders' outcomes: their actor name if their append won, else "conflict"."""
    start = threading.Barrier(len(stores))
    outcomes: list[str] = []
    lock = threading.Lock()

    def contend(contender: int) -> None:
        actor = f"contender-{contender}"
        batch = [make_entry(ORIGIN, size + i, actor=actor) for i in range(batch_entries)]
        start.wait()
        try:
            stores[contender].append(
                origin=ORIGIN,
                expected_size=size,
                entries=batch,
                state=state_for(ORIGIN, size + batch_entries),
                changes=[upsert(row_key, name=actor)],
            )
            outcome = actor
        except ConflictError:
            outcome = "conflict"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_entries_by_subject(store: Store) -> None:
    shared = "chengdu/bl/7"
    first = append(store, ORIGIN, 0, 2, subject=shared)
    append(store, ORIGIN, 2, 1, subject="chengdu/bl/8")
    other = append(store, OTHER, 0, 1, subject=shared)

    assert store.entries_by_subject([shared]) == [*first, *other]  # by (origin, index)
    assert store.entries_by_subject([shared, shared, "nobody"]) == [*first, *other]
    assert [e.index for e in store.entries_by_subject(iter(["chengdu/bl/8"]))] == [2]
    assert store.entries_by_subject([]) == []


def test_purge_payloads_records_time_and_rule(store: Store) -> None:
    batch = append(store, ORIGIN, 0, 4)
    append(store, OTHER, 0, 1)
    store.purge_payload(ORIGIN, 3)  # purged before, by no rule: not counted again

    purged = store.purge_payloads(
        [(ORIGIN, 1), (ORIGIN, 2), (ORIGIN, 3), (ORIGIN, 9), (OTHER, 0), (ORIGIN, 1)],
        at_unix_ms=1_800_000_000_000,
        rule="lookup_answers",
    )

    assert purged == 3
    assert store.purge_payloads([(ORIGIN, 1)], at_unix_ms=1, rule="tasks") == 0
    assert [e.payload for e in store.entries(ORIGIN, 0, 4)] == [b"payload", None, None, None]
    assert store.leaf_hashes(ORIGIN, 0, 4) == [entry.leaf_hash for entry in batch]
    records = store.payload_purges([(ORIGIN, 0), (ORIGIN, 1), (ORIGIN, 3), (OTHER, 0)])
    assert sorted(records) == [(ORIGIN, 1), (OTHER, 0)]
    assert records[(ORIGIN, 1)] == PayloadPurge(ORIGIN, 1, 1_800_000_000_000, "lookup_answers")
    assert store.purge_counts() == {"lookup_answers": 3}
    with pytest.raises(IntegrityError):
        store.purge_payloads([(ORIGIN, 0)], at_unix_ms=1, rule="")
    assert store.entries(ORIGIN, 0, 1)[0].payload == b"payload"  # a refused purge: nothing


def test_held_payloads_lists_entries_whose_payload_is_held(store: Store) -> None:
    append(store, ORIGIN, 0, 3, subject="chengdu/task/0")
    append(store, OTHER, 0, 2, subject="chengdu/task/0", payload=None)
    store.purge_payloads([(ORIGIN, 1)], at_unix_ms=5, rule="tasks")

    held = store.held_payloads(["chengdu/task/0", "nobody"])

    assert [(h.origin, h.index, h.subject) for h in held] == [
        (ORIGIN, 0, "chengdu/task/0"),
        (ORIGIN, 2, "chengdu/task/0"),
    ]
    assert held[0].header == b"header chengdu 0" and held[0].kind == 1
    assert store.held_payloads([]) == []
    with pytest.raises(IntegrityError):
        store.held_payloads(f"s{i}" for i in range(HELD_SUBJECTS_MAX + 1))


def test_meta_notes_are_kept_and_replaced(store: Store) -> None:
    assert store.get_meta("calendar_version") is None
    store.put_meta("calendar_version", "cn-2025")
    store.put_meta("calendar_version", "cn-2026")
    store.put_meta("other", "x")
    assert store.get_meta("calendar_version") == "cn-2026"
    assert store.get_meta("other") == "x"


def test_purge_payload_keeps_header_and_leaf_hash(store: Store) -> None:
    batch = append(store, ORIGIN, 0, 3)

    assert store.purge_payload(ORIGIN, 1) is True
    assert store.purge_payload(ORIGIN, 1) is False  # nothing left to purge
    assert store.purge_payload(ORIGIN, 9) is False
    assert store.purge_payload(OTHER, 0) is False

    assert store.entries(ORIGIN, 0, 3) == [batch[0], replace(batch[1], payload=None), batch[2]]
    assert store.leaf_hashes(ORIGIN, 0, 3) == [entry.leaf_hash for entry in batch]
    assert store.entries_by_subject([batch[1].subject]) == [replace(batch[1], payload=None)]


# ---------------------------------------------------------------- checkpoints


def test_checkpoint_history_and_note_updates(store: Store) -> None:
    append(store, ORIGIN, 0, 2)
    append(store, ORIGIN, 2, 3)

    assert store.checkpoint_sizes(ORIGIN) == [2, 5]
    assert store.checkpoint_sizes(OTHER) == []
    assert store.checkpoint_sizes(ORIGIN, after=2) == [5]
    assert store.checkpoint_sizes(ORIGIN, after=1) == [2, 5]
    assert store.checkpoint_sizes(ORIGIN, after=5) == []
    assert store.checkpoint_at(ORIGIN, 2) == state_for(ORIGIN, 2).checkpoint_note
    assert store.checkpoint_at(ORIGIN, 3) is None

    cosigned = state_for(ORIGIN, 5).checkpoint_note + "\n— witness sig\n"
    store.update_checkpoint_note(ORIGIN, 5, cosigned)
    assert store.checkpoint_at(ORIGIN, 5) == cosigned
    state = store.origin_state(ORIGIN)
    assert state is not None and state.checkpoint_note == cosigned  # latest = current note

    older = state_for(ORIGIN, 2).checkpoint_note + "\n— witness sig\n"
    store.update_checkpoint_note(ORIGIN, 2, older)
    assert store.checkpoint_at(ORIGIN, 2) == older
    assert store.origin_state(ORIGIN) == state  # an older note is not the current one

    with pytest.raises(IntegrityError):
        store.update_checkpoint_note(ORIGIN, 3, "no such checkpoint")
    with pytest.raises(IntegrityError):
        store.update_checkpoint_note(OTHER, 2, "no such origin")


def test_intermediate_checkpoints_join_the_history(store: Store) -> None:
    append(store, ORIGIN, 0, 2)
    store.append(
        origin=ORIGIN,
        expected_size=2,
        entries=[make_entry(ORIGIN, i) for i in range(2, 10)],
        state=state_for(ORIGIN, 10),
        checkpoints=[(3, "note 3"), (7, "note 7")],
    )
    assert store.checkpoint_sizes(ORIGIN) == [2, 3, 7, 10]
    assert [store.checkpoint_at(ORIGIN, size) for size in (3, 7)] == ["note 3", "note 7"]


@pytest.mark.parametrize(
    "checkpoints",
    [[(2, "at the stored size")], [(5, "at state.size")], [(4, "b"), (3, "a")], [(3, "a")] * 2],
)
def test_misplaced_intermediate_checkpoints_are_refused(
    store: Store, checkpoints: list[tuple[int, str]]
) -> None:
    append(store, ORIGIN, 0, 2)
    before = snapshot(store)
    with pytest.raises(IntegrityError, match="checkpoints"):
        store.append(
            origin=ORIGIN,
            expected_size=2,
            entries=[make_entry(ORIGIN, i) for i in range(2, 5)],
            state=state_for(ORIGIN, 5),
            checkpoints=checkpoints,
        )
    assert snapshot(store) == before


def test_empty_append_repeats_the_checkpoint_or_is_refused(store: Store) -> None:
    append(store, ORIGIN, 0, 2, changes=[upsert("k1", status="listed")])
    same = state_for(ORIGIN, 2)

    store.append(
        origin=ORIGIN,
        expected_size=2,
        entries=[],
        state=same,
        changes=[upsert("k1", status="delisted")],
    )
    assert store.get_rows("blacklist", ["k1"])["k1"]["status"] == "delisted"
    before = snapshot(store)

    for refused in (
        replace(same, checkpoint_note="another note at the same size"),
        replace(same, root=b"\x01" * 32),
    ):
        with pytest.raises(IntegrityError):
            store.append(
                origin=ORIGIN,
                expected_size=2,
                entries=[],
                state=refused,
                changes=[upsert("k1", status="listed")],
            )
        assert snapshot(store) == before


def test_cosignatures_are_deduplicated_per_witness(store: Store) -> None:
    assert store.add_cosignature(ORIGIN, 5, "witness-b", "— b sig1") is True
    assert store.add_cosignature(ORIGIN, 5, "witness-b", "— b sig2") is False
    assert store.add_cosignature(ORIGIN, 5, "witness-a", "— a sig") is True
    assert store.add_cosignature(ORIGIN, 6, "witness-a", "— a sig6") is True

    assert store.cosignatures(ORIGIN, 5) == [("witness-a", "— a sig"), ("witness-b", "— b sig1")]
    assert store.cosignatures(ORIGIN, 6) == [("witness-a", "— a sig6")]
    assert store.cosignatures(OTHER, 5) == []


def test_evidence_is_deduplicated_on_its_notes(store: Store) -> None:
    first = EvidenceRecord(
        origin=ORIGIN,
        smaller_note="note 3" * 200,  # long notes: the SQL store indexes a digest
        larger_note="note 5" * 200,
        prefix_root=b"\x07" * 32,
        consistency_proof=(b"\x01" * 32, b"\x02" * 32, b""),
        detected_by="chongqing",
        detected_at_unix_ms=1_700_000_000_000,
    )
    second = replace(first, larger_note="note 6", consistency_proof=())

    assert store.evidence() == []
    assert store.add_evidence(first) is True
    assert store.evidence() == [first]  # read again after every add (the SQL store holds it)
    assert store.add_evidence(replace(first, detected_by="someone-else")) is False
    assert store.add_evidence(second) is True
    assert store.evidence() == [first, second]


def test_freeze_stops_appends(store: Store) -> None:
    append(store, ORIGIN, 0, 2)
    store.freeze(ORIGIN, "equivocation at size 2")

    state = store.origin_state(ORIGIN)
    assert state == replace(
        state_for(ORIGIN, 2), frozen=True, frozen_reason="equivocation at size 2"
    )
    with pytest.raises(ConflictError):
        append(store, ORIGIN, 2, 1)
    assert store.vector() == {ORIGIN: 2}


def test_freeze_an_origin_we_hold_nothing_of(store: Store) -> None:
    store.freeze(OTHER, "equivocation seen in gossip")

    state = store.origin_state(OTHER)
    assert state is not None
    assert (state.size, state.frozen, state.frozen_reason) == (
        0,
        True,
        "equivocation seen in gossip",
    )
    assert state.root == hashlib.sha256(b"").digest()  # RFC 6962: root of the empty tree
    assert store.vector() == {OTHER: 0}
    with pytest.raises(ConflictError):
        append(store, OTHER, 0, 1)


# ---------------------------------------------------------------- keys, peers, refusals


def test_origin_keys(store: Store) -> None:
    assert store.origin_keys() == {}
    store.put_origin_key(OTHER, b"der-1")
    store.put_origin_key(ORIGIN, b"der-2")
    store.put_origin_key(OTHER, b"der-3")  # a renewed certificate replaces the old one
    assert store.origin_keys() == {ORIGIN: b"der-2", OTHER: b"der-3"}
    assert list(store.origin_keys()) == [ORIGIN, OTHER]


def test_peers(store: Store) -> None:
    store.put_peer(PeerRecord("chongqing", "10.0.0.2:7443"))
    store.put_peer(PeerRecord("beijing", "10.0.0.3:7443"))
    store.put_peer(PeerRecord("chongqing", "10.0.0.9:7443"))

    assert store.peers() == [
        PeerRecord("beijing", "10.0.0.3:7443"),
        PeerRecord("chongqing", "10.0.0.9:7443"),
    ]
    assert store.remove_peer("beijing") is True
    assert store.remove_peer("beijing") is False
    assert store.peers() == [PeerRecord("chongqing", "10.0.0.9:7443")]


def test_refusals_newest_first_with_count(store: Store) -> None:
    assert store.refusals() == [] and store.refusal_count() == 0
    recorded = [
        Refusal(
            at_unix_ms=1_000 + i,
            peer=f"127.0.0.1:{40_000 + i}",
            identity="" if i % 2 else "spiffe://ccnode/node/x",
            method="/ccnode.v1.Federation/Subscribe",
            reason=f"reason {i}",
        )
        for i in range(5)
    ]
    for refusal in recorded:
        store.record_refusal(refusal)

    assert store.refusal_count() == 5
    assert store.refusals(limit=3) == recorded[::-1][:3]
    assert store.refusals() == recorded[::-1]
    assert store.refusals(limit=0) == []


def test_refusals_of_one_caller_method_and_reason_fold_per_day(store: Store) -> None:
    day = 20_000 * REFUSAL_FOLD_MS
    caller = "spiffe://ccnode/node/x"
    store.record_refusal(Refusal(day + 5, "10.0.0.1:1", caller, "Hello", "revoked"))
    store.record_refusal(Refusal(day + 9, "10.0.0.1:2", caller, "Hello", "revoked", count=4))
    store.record_refusal(Refusal(day + 9, "10.0.0.1:2", caller, "Hello", "expired"))
    store.record_refusal(Refusal(day + REFUSAL_FOLD_MS, "10.0.0.1:3", caller, "Hello", "revoked"))

    assert store.refusals() == [
        Refusal(day + REFUSAL_FOLD_MS, "10.0.0.1:3", caller, "Hello", "revoked", 1),
        Refusal(day + 9, "10.0.0.1:2", caller, "Hello", "expired", 1),
        Refusal(day + 5, "10.0.0.1:1", caller, "Hello", "revoked", 5),
    ]
    assert store.refusal_count() == 7


def test_a_refusal_is_stored_clipped(store: Store) -> None:
    store.record_refusal(Refusal(1, "p" * 10_000, "i" * 10_000, "m" * 10_000, "r" * 10_000))
    (row,) = store.refusals()
    assert len(row.reason) == REFUSAL_REASON_CHARS_MAX
    assert max(len(row.peer), len(row.identity), len(row.method)) <= REFUSAL_REASON_CHARS_MAX


def test_refusals_are_kept_six_months_then_pruned(store: Store) -> None:
    start = 20_000 * REFUSAL_FOLD_MS
    store.record_refusal(Refusal(start, "p", "old", "Hello", "revoked"))
    store.record_refusal(Refusal(start + REFUSAL_RETENTION_MS, "p", "kept", "Hello", "revoked"))
    assert [r.identity for r in store.refusals()] == ["kept", "old"]

    store.record_refusal(Refusal(start + REFUSAL_RETENTION_MS + 1, "p", "new", "Hello", "x"))
    assert [r.identity for r in store.refusals()] == ["new", "kept"]


def test_refusals_page_by_offset_within_the_page_bound(store: Store) -> None:
    for i in range(REFUSALS_PAGE_MAX + 5):
        store.record_refusal(Refusal(i, "p", "caller", "Hello", f"reason {i}"))
    first = store.refusals(REFUSALS_PAGE_MAX + 100)
    assert len(first) == REFUSALS_PAGE_MAX
    rest = store.refusals(REFUSALS_PAGE_MAX, offset=REFUSALS_PAGE_MAX)
    assert [r.reason for r in rest] == [f"reason {i}" for i in range(4, -1, -1)]
    assert store.refusals(10, offset=REFUSALS_PAGE_MAX + 5) == []
    with pytest.raises(ValueError):
        store.refusals(10, offset=-1)


# ---------------------------------------------------------------- folded state


BLACKLIST_ROWS = {
    "chengdu/bl/1": {"origin": ORIGIN, "status": "listed", "name": "张三", "id_key": "A1"},
    "chengdu/bl/2": {"origin": ORIGIN, "status": "delisted", "name": "张四", "id_key": "A2"},
    "chengdu/bl/10": {"origin": ORIGIN, "status": "listed", "name": "Zhang", "id_key": "a3"},
    "chongqing/bl/1": {"origin": OTHER, "status": "listed", "name": "李四", "id_key": "B1"},
    "chongqing/bl/%_": {"origin": OTHER, "status": "listed", "name": None, "id_key": "B2"},
}


def _fill_rows(store: Store) -> None:
    changes = [
        upsert(key, **row, last_index=i, record=f"record {i}".encode())
        for i, (key, row) in enumerate(BLACKLIST_ROWS.items())
    ]
    append(store, ORIGIN, 0, 1, changes=changes)


def test_get_rows_returns_whole_rows(store: Store) -> None:
    _fill_rows(store)

    rows = store.get_rows("blacklist", ["chengdu/bl/2", "missing", "chengdu/bl/1"])
    assert list(rows) == ["chengdu/bl/1", "chengdu/bl/2"]
    row = rows["chengdu/bl/2"]
    assert row["key"] == "chengdu/bl/2"
    assert (row["status"], row["name"], row["last_index"]) == ("delisted", "张四", 1)
    assert row["record"] == b"record 1" and type(row["record"]) is bytes
    assert row["case_number"] is None  # columns never given are None
    assert set(row) == set(store.get_rows("blacklist", ["chengdu/bl/1"])["chengdu/bl/1"])
    assert store.get_rows("blacklist", []) == {}
    with pytest.raises(IntegrityError):
        store.get_rows("no_such_table", ["k"])


def _keys(result: tuple[list[dict[str, Any]], int]) -> tuple[list[str], int]:
    rows, total = result
    return [row["key"] for row in rows], total


def test_query_rows_filters_orders_and_pages(store: Store) -> None:
    _fill_rows(store)
    query = RowQuery("blacklist")

    assert _keys(store.query_rows(query)) == (sorted(BLACKLIST_ROWS), 5)
    assert _keys(store.query_rows(replace(query, equals={"status": "listed"}))) == (
        ["chengdu/bl/1", "chengdu/bl/10", "chongqing/bl/%_", "chongqing/bl/1"],
        4,
    )
    assert _keys(
        store.query_rows(replace(query, equals={"status": "listed", "origin": OTHER}))
    ) == (
        ["chongqing/bl/%_", "chongqing/bl/1"],
        2,
    )
    assert _keys(store.query_rows(replace(query, equals={"name": None}))) == (
        ["chongqing/bl/%_"],
        1,
    )
    assert _keys(store.query_rows(replace(query, equals={"last_index": 2}))) == (
        ["chengdu/bl/10"],
        1,
    )
    # Paging keeps the total of all matches.
    assert _keys(store.query_rows(replace(query, limit=2, offset=1))) == (
        ["chengdu/bl/10", "chengdu/bl/2"],
        5,
    )
    assert _keys(store.query_rows(replace(query, limit=2, offset=10))) == ([], 5)
    assert _keys(store.query_rows(replace(query, limit=0))) == ([], 5)


def test_query_rows_prefix_is_literal_and_case_sensitive(store: Store) -> None:
    _fill_rows(store)
    query = RowQuery("blacklist")

    def prefix(**columns: str) -> tuple[list[str], int]:
        return _keys(store.query_rows(replace(query, prefix=columns)))

    assert prefix(key="chengdu/bl/1") == (["chengdu/bl/1", "chengdu/bl/10"], 2)
    assert prefix(name="张") == (["chengdu/bl/1", "chengdu/bl/2"], 2)
    assert prefix(name="Z") == (["chengdu/bl/10"], 1)
    assert prefix(name="z") == ([], 0)  # case-sensitive, unlike SQLite's LIKE
    assert prefix(id_key="A") == (["chengdu/bl/1", "chengdu/bl/2"], 2)
    assert prefix(key="chongqing/bl/%") == (["chongqing/bl/%_"], 1)  # % is not a wildcard
    assert prefix(key="chongqing/bl/_") == ([], 0)  # nor is _
    assert prefix(key="") == (sorted(BLACKLIST_ROWS), 5)
    assert prefix(key="chengdu/", name="张") == (["chengdu/bl/1", "chengdu/bl/2"], 2)
    assert prefix(key="chengdu/\U0010ffff") == ([], 0)
    assert _keys(
        store.query_rows(replace(query, equals={"status": "listed"}, prefix={"key": "cheng"}))
    ) == (["chengdu/bl/1", "chengdu/bl/10"], 2)


def test_query_rows_among_matches_any_of_the_values(store: Store) -> None:
    _fill_rows(store)
    query = RowQuery("blacklist")

    def among(**columns: list[object]) -> tuple[list[str], int]:
        return _keys(store.query_rows(replace(query, among=columns)))

    assert among(id_key=["A1", "B2", "missing"]) == (["chengdu/bl/1", "chongqing/bl/%_"], 2)
    assert among(id_key=["a1"]) == ([], 0)  # exact, case-sensitive
    assert among(id_key=[]) == ([], 0)  # no value matches no row
    assert among(last_index=[1, 2]) == (["chengdu/bl/10", "chengdu/bl/2"], 2)
    assert _keys(
        store.query_rows(
            replace(query, among={"id_key": ["A1", "A2", "B1"]}, equals={"status": "listed"})
        )
    ) == (["chengdu/bl/1", "chongqing/bl/1"], 2)
    values = [f"V{i}" for i in range(ROW_QUERY_AMONG_MAX)]
    assert among(id_key=values) == ([], 0)  # the most one query takes


@pytest.mark.parametrize(
    "query",
    [
        RowQuery("blacklist", among={"no_such_column": ["x"]}),
        RowQuery("blacklist", among={"id_key": "A1"}),  # a string is not a list of values
        RowQuery("blacklist", among={"id_key": [None]}),  # SQL's IN never matches NULL
        RowQuery("blacklist", among={"last_index": ["2"]}),
        RowQuery("blacklist", among={"id_key": ["x"] * (ROW_QUERY_AMONG_MAX + 1)}),
    ],
)
def test_query_rows_refuses_bad_among_filters(store: Store, query: RowQuery) -> None:
    with pytest.raises(IntegrityError):
        store.query_rows(query)


@pytest.mark.parametrize(
    "query",
    [
        RowQuery("no_such_table"),
        RowQuery("blacklist", equals={"no_such_column": "x"}),
        RowQuery("blacklist", equals={"last_index": "2"}),
        RowQuery("blacklist", prefix={"record": "x"}),
        RowQuery("blacklist", prefix={"last_index": "1"}),
    ],
)
def test_query_rows_refuses_unknown_tables_columns_and_types(store: Store, query: RowQuery) -> None:
    with pytest.raises(IntegrityError):
        store.query_rows(query)


def test_query_rows_refuses_negative_paging(store: Store) -> None:
    with pytest.raises(ValueError, match="limit"):
        store.query_rows(RowQuery("blacklist", limit=-1))
    with pytest.raises(ValueError, match="offset"):
        store.query_rows(RowQuery("blacklist", offset=-1))


def test_row_changes_replace_whole_rows_and_delete(store: Store) -> None:
    append(store, ORIGIN, 0, 1, changes=[upsert("k1", status="listed", name="张三", last_index=0)])
    append(
        store,
        ORIGIN,
        1,
        1,
        changes=[
            upsert("k1", status="delisted", last_index=1),  # name left out: becomes None
            upsert("k2", status="listed"),
            upsert("k3", status="listed"),
            RowChange("blacklist", "k3", None),  # the last change of a key wins
            RowChange("blacklist", "never-existed", None),
        ],
    )
    rows = store.get_rows("blacklist", ["k1", "k2", "k3"])
    assert list(rows) == ["k1", "k2"]
    assert (rows["k1"]["status"], rows["k1"]["name"], rows["k1"]["last_index"]) == (
        "delisted",
        None,
        1,
    )

    append(store, ORIGIN, 2, 1, changes=[RowChange("blacklist", "k1", None)])
    assert list(store.get_rows("blacklist", ["k1", "k2"])) == ["k2"]
    assert store.query_rows(RowQuery("blacklist"))[1] == 1


@pytest.mark.parametrize(
    "change",
    [
        RowChange("no_such_table", "k", {"status": "x"}),
        RowChange("blacklist", "k", {"no_such_column": "x"}),
        RowChange("blacklist", "k", {"key": "other"}),
        RowChange("blacklist", "", {"status": "x"}),
        RowChange("blacklist", "k", {"last_index": "1"}),
        RowChange("blacklist", "k", {"last_index": True}),
        RowChange("blacklist", "k", {"last_index": 2**63}),
        RowChange("blacklist", "k", {"record": "not bytes"}),
        RowChange("blacklist", "k", {"name": b"not text"}),
        RowChange("blacklist", "k", {"name": "nul\x00inside"}),
        RowChange("no_such_table", "k", None),
    ],
)
def test_bad_row_change_refuses_the_whole_append(store: Store, change: RowChange) -> None:
    append(store, ORIGIN, 0, 1, changes=[upsert("k1", status="listed")])
    before = snapshot(store)

    with pytest.raises(IntegrityError) as refused:
        append(store, ORIGIN, 1, 2, changes=[upsert("k2", status="listed"), change])

    assert snapshot(store) == before
    # Messages name the field and the rule, never the value (rows carry personal data).
    for value in (change.row or {}).values():
        text = value.decode(errors="replace") if isinstance(value, bytes) else value
        if isinstance(text, str) and len(text) > 3:
            assert text not in str(refused.value)


def _whole_row(key: str, **values: Any) -> dict[str, Any]:
    """A row with every column, as the folds build them."""
    return {column: None for column in STATE_TABLES["blacklist"]} | {"key": key} | values


def _append_trusted(store: Store, start: int, changes: Sequence[RowChange]) -> None:
    batch = [make_entry(ORIGIN, start)]
    store.append(
        origin=ORIGIN,
        expected_size=start,
        entries=batch,
        state=state_for(ORIGIN, start + 1),
        changes=changes,
        trusted_rows=True,
    )


def test_trusted_rows_are_stored_like_checked_ones(store: Store) -> None:
    """Rows built by the node's folds skip the column checks, not the result."""
    whole = _whole_row("k1", status="listed", name="张三", last_index=3, record=b"\x00r")
    _append_trusted(
        store,
        0,
        [
            RowChange("blacklist", "k1", whole),
            RowChange("blacklist", "k2", {"key": "k2", "status": "listed"}),  # the rest: None
            RowChange("blacklist", "k3", _whole_row("k3")),
            RowChange("blacklist", "k3", None),  # the last change of a key wins
        ],
    )
    rows = store.get_rows("blacklist", ["k1", "k2", "k3"])
    assert rows == {"k1": whole, "k2": _whole_row("k2", status="listed")}
    _append_trusted(store, 1, [RowChange("blacklist", "k1", None)])
    assert list(store.get_rows("blacklist", ["k1", "k2"])) == ["k2"]


@pytest.mark.parametrize(
    "row",
    [
        _whole_row("k", name="nul\x00inside"),
        {"key": "k", "case_number": "nul\x00inside"},  # columns left out
        _whole_row("k", name=None, court="nul\x00inside"),
    ],
)
def test_trusted_rows_with_nul_text_refuse_the_whole_append(
    store: Store, row: dict[str, Any]
) -> None:
    """Text comes from the entries (PostgreSQL cannot store NUL): checked on every backend."""
    append(store, ORIGIN, 0, 1, changes=[upsert("k1", status="listed")])
    before = snapshot(store)

    with pytest.raises(IntegrityError, match=r"changes\[1\]\.row\['(name|case_number|court)'\]"):
        _append_trusted(store, 1, [upsert("k0", status="listed"), RowChange("blacklist", "k", row)])

    assert snapshot(store) == before


# ---------------------------------------------------------------- SQL: durability and schema


def test_reopening_keeps_everything(
    sql_store_location: str, open_test_store: Callable[[str], Store]
) -> None:
    first = open_test_store(sql_store_location)
    _fill_rows(first)
    append(first, ORIGIN, 1, 3)
    append(first, OTHER, 0, 2, payload=None)
    first.purge_payload(ORIGIN, 2)
    first.update_checkpoint_note(ORIGIN, 4, "cosigned note")
    first.add_cosignature(ORIGIN, 4, "witness", "— sig")
    first.add_evidence(EvidenceRecord(OTHER, "a", "b", b"r", (b"p",), "chengdu", 7))
    first.freeze(OTHER, "equivocation")
    first.put_origin_key(OTHER, b"der")
    first.put_peer(PeerRecord(OTHER, "10.0.0.2:7443"))
    first.record_refusal(Refusal(1, "127.0.0.1:1", "", "/m", "unknown identity"))

    def everything(store: Store) -> dict[str, Any]:
        return {
            **snapshot(store),
            "payload_free": store.entries(OTHER, 0, 9, with_payload=False),
            "notes": [store.checkpoint_at(ORIGIN, size) for size in (1, 4)],
            "cosignatures": store.cosignatures(ORIGIN, 4),
            "evidence": store.evidence(),
            "keys": store.origin_keys(),
            "peers": store.peers(),
            "refusals": (store.refusals(), store.refusal_count()),
        }

    written = everything(first)
    first.close()

    assert everything(open_test_store(sql_store_location)) == written


_KILL_CHILD = """
import hashlib, sys
from node.store import open_store
from node.store.base import OriginState, StoredEntry

store = open_store(sys.argv[1])
size = 0
while True:
    batch = [
        StoredEntry("chengdu", i, 1, f"s/{i}", "a", i, hashlib.sha256(b"%d" % i).digest(),
                    b"h%d" % i, b"s" * 16, b"p" * 100)
        for i in range(size, size + 100)
    ]
    state = OriginState("chengdu", size + 100, b"r" * 32, b"f", f"note {size + 100}")
    store.append(origin="chengdu", expected_size=size, entries=batch, state=state)
    size += 100
    print(size, flush=True)  # acknowledged only after append returned
"""


def test_acknowledged_appends_survive_kill_9(
    tmp_path: Any, open_test_store: Callable[[str], Store]
) -> None:
    """synchronous=NORMAL in WAL mode: what append acknowledged survives SIGKILL."""
    location = str(tmp_path / "killed.db")
    child = subprocess.Popen(
        [sys.executable, "-c", _KILL_CHILD, location], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        acknowledged = [int(child.stdout.readline()) for _ in range(5)][-1]
    finally:
        child.kill()  # SIGKILL, possibly in the middle of the next append
        child.wait(timeout=60)
        if child.stdout is not None:
            child.stdout.close()

    store = open_test_store(location)
    size = store.vector()["chengdu"]
    assert size >= acknowledged
    assert len(store.leaf_hashes("chengdu", 0, size + 1_000)) == size  # no torn batch
    assert store.checkpoint_sizes("chengdu")[-1] == size


def test_migrated_schema_matches_the_metadata(
    sql_store_location: str, open_test_store: Callable[[str], Store]
) -> None:
    store = open_test_store(sql_store_location)  # opening runs `alembic upgrade head`
    assert isinstance(store, SqlStore)
    url = sql_store_location if "://" in sql_store_location else f"sqlite:///{sql_store_location}"
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
            assert context.get_current_revision() is not None
    finally:
        engine.dispose()


def test_concurrent_opens_migrate_once(
    sql_store_location: str, open_test_store: Callable[[str], Store]
) -> None:
    """Two threads opening a new database at once: the migration runs once, both stores work."""
    start = threading.Barrier(2)
    opened: list[Store] = []
    failures: list[BaseException] = []

    def open_() -> None:
        start.wait()
        try:
            opened.append(open_test_store(sql_store_location))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=open_) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    append(opened[0], ORIGIN, 0, 1)
    assert opened[1].vector() == {ORIGIN: 1}


def test_concurrent_processes_migrate_once(
    sql_store_location: str, open_test_store: Callable[[str], Store]
) -> None:
    """Two processes (two nodes, or a node and the CLI) opening a new database at once must
    not race on DDL: the database itself serialises the migrations."""
    script = "import sys; from node.store import open_store; open_store(sys.argv[1]).close()"
    processes = [
        subprocess.Popen(
            [sys.executable, "-W", "error", "-c", script, sql_store_location],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(process.wait(timeout=120), *process.communicate()) for process in processes]
    assert [code for code, _, _ in results] == [0, 0], results
    assert open_test_store(sql_store_location).vector() == {}


def test_reopening_does_not_migrate_twice(
    sql_store_location: str, open_test_store: Callable[[str], Store]
) -> None:
    append(open_test_store(sql_store_location), ORIGIN, 0, 1)
    assert open_test_store(sql_store_location).vector() == {ORIGIN: 1}


def test_migration_fills_the_merkle_nodes_of_stored_logs(
    sql_store_location: str, open_test_store: Callable[[str], Store]
) -> None:
    """A database from before merkle_nodes (revision 0007, leaves only): upgrading computes
    every complete subtree from the stored leaf hashes, so proofs work on old logs."""
    store = open_test_store(sql_store_location)
    append(store, ORIGIN, 0, 11)
    append(store, ORIGIN, 11, 22)
    append(store, OTHER, 0, 1)
    leaves = store.leaf_hashes(ORIGIN, 0, 33)
    store.close()
    url = sql_store_location if "://" in sql_store_location else f"sqlite:///{sql_store_location}"
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as conn:
            downgrade_store(conn, "0012_registers")  # 0013 changed state_blacklist's columns
            conn.execute(sqlalchemy.text("DROP TABLE merkle_nodes"))
            # ... and the tables of the later revisions, which upgrading creates again.
            conn.execute(sqlalchemy.text("DROP TABLE state_blacklist_representatives"))
            for later in (
                "payload_purges",  # 0010
                "node_meta",
                "blacklist_changes",  # 0011
                "agencies",
                "state_access_subjects",
                "officers",  # 0012
                "case_parties",
            ):
                conn.execute(sqlalchemy.text(f"DROP TABLE {later}"))
            conn.execute(sqlalchemy.text("UPDATE alembic_version SET version_num = '0007'"))
    finally:
        engine.dispose()
    reopened = open_test_store(sql_store_location)  # upgrades to head: 0008 fills the table

    def read(nodes: Sequence[tuple[int, int]]) -> list[bytes]:
        return reopened.subtree_hashes(ORIGIN, nodes)

    assert tiles.root(33, read) == merkle.root(leaves)
    for index in range(33):
        assert tiles.inclusion_proof(33, index, read) == merkle.inclusion_proof(leaves, index)
    append(reopened, ORIGIN, 33, 31)  # appends go on from the filled nodes
    leaves = reopened.leaf_hashes(ORIGIN, 0, 64)
    assert reopened.subtree_hashes(ORIGIN, [(6, 0)]) == [merkle.root(leaves)]


def test_migration_adds_the_purge_records_to_a_store_with_entries(
    sql_store_location: str, open_test_store: Callable[[str], Store]
) -> None:
    """A database at revision 0009 (before payload retention): upgrading adds the purge
    records and node notes, keeps every entry, and purges record from then on."""
    store = open_test_store(sql_store_location)
    batch = append(store, ORIGIN, 0, 3)
    store.close()
    url = sql_store_location if "://" in sql_store_location else f"sqlite:///{sql_store_location}"
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as conn:
            downgrade_store(conn, "0012_registers")
            for table in (
                "payload_purges",
                "node_meta",
                "blacklist_changes",
                "agencies",
                "state_access_subjects",
                "officers",
                "case_parties",
            ):
                conn.execute(sqlalchemy.text(f"DROP TABLE {table}"))
            conn.execute(
                sqlalchemy.text(
                    "UPDATE alembic_version SET version_num = '0009_blacklist_representatives'"
                )
            )
    finally:
        engine.dispose()
    reopened = open_test_store(sql_store_location)  # upgrades to head: 0010 adds the tables
    assert reopened.entries(ORIGIN, 0, 3) == batch
    assert reopened.purge_counts() == {} and reopened.get_meta("calendar_version") is None
    assert reopened.purge_payloads([(ORIGIN, 2)], at_unix_ms=7, rule="tasks") == 1
    assert reopened.payload_purges([(ORIGIN, 2)]) == {
        (ORIGIN, 2): PayloadPurge(ORIGIN, 2, 7, "tasks")
    }
    reopened.put_meta("calendar_version", "cn-x")
    assert reopened.get_meta("calendar_version") == "cn-x"


# ---------------------------------------------------------------- blacklist change feed


def test_every_listing_row_an_append_changes_takes_the_next_feed_position(store: Store) -> None:
    assert (store.blacklist_change_head(), store.blacklist_changes(0, 10)) == (0, [])
    listed = [upsert(f"{ORIGIN}/bl/{i}", status="listed", last_index=i) for i in (1, 0)]
    append(store, ORIGIN, 0, 2, listed)
    append(store, ORIGIN, 2, 1, [upsert(f"{ORIGIN}/bl/0", status="delisted", last_index=2)])
    append(store, OTHER, 0, 1, [RowChange("access", f"{OTHER}/access/0", {"origin": OTHER})])
    feed = store.blacklist_changes(0, 10)
    # One position per listing per commit, in commit order (key order within a commit).
    assert [(c.seq, c.key, c.last_index) for c in feed] == [
        (1, f"{ORIGIN}/bl/0", 0),
        (2, f"{ORIGIN}/bl/1", 1),
        (3, f"{ORIGIN}/bl/0", 2),
    ]
    assert feed[0].row is not None and feed[0].row["status"] == "delisted"  # the row now
    assert store.blacklist_change_head() == 3
    assert [c.seq for c in store.blacklist_changes(1, 1)] == [2]
    assert store.blacklist_changes(3, 10) == []


def test_a_refused_append_takes_no_feed_position(store: Store) -> None:
    append(store, ORIGIN, 0, 1, [upsert(f"{ORIGIN}/bl/0", status="listed", last_index=0)])
    with pytest.raises(ConflictError):
        append(store, ORIGIN, 0, 1, [upsert(f"{ORIGIN}/bl/9", status="listed", last_index=9)])
    assert store.blacklist_change_head() == 1


def test_agencies_are_admitted_replaced_and_removed(store: Store) -> None:
    first = AgencyRecord("samr-sc", None, None, 500, 1_000, "赵六")
    store.put_agency(first)
    store.put_agency(AgencyRecord("tax-sc", 2.5, 5, None, 2_000, "赵六"))
    store.put_agency(replace(first, daily_quota=900))
    assert store.agencies() == [
        replace(first, daily_quota=900),
        AgencyRecord("tax-sc", 2.5, 5, None, 2_000, "赵六"),
    ]
    assert store.remove_agency("samr-sc") and not store.remove_agency("samr-sc")
    assert [a.name for a in store.agencies()] == ["tax-sc"]


def test_migration_numbers_the_listings_already_stored(
    sql_store_location: str, open_test_store: Callable[[str], Store]
) -> None:
    """A database from before the change feed (revision 0010): upgrading gives every stored
    listing a position, so an agency that follows from 0 finds them all."""
    store = open_test_store(sql_store_location)
    append(store, ORIGIN, 0, 2, [upsert(f"{ORIGIN}/bl/{i}", status="listed", last_index=i)
                                 for i in range(2)])  # fmt: skip
    store.close()
    url = sql_store_location if "://" in sql_store_location else f"sqlite:///{sql_store_location}"
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as conn:
            downgrade_store(conn, "0012_registers")
            for later in (
                "blacklist_changes",
                "agencies",
                "state_access_subjects",
                "officers",  # 0012
                "case_parties",
            ):
                conn.execute(sqlalchemy.text(f"DROP TABLE {later}"))
            conn.execute(
                sqlalchemy.text("UPDATE alembic_version SET version_num = '0010_payload_purges'")
            )
    finally:
        engine.dispose()
    reopened = open_test_store(sql_store_location)
    feed = reopened.blacklist_changes(0, 10)
    assert [(c.seq, c.key) for c in feed] == [(1, f"{ORIGIN}/bl/0"), (2, f"{ORIGIN}/bl/1")]
    append(reopened, ORIGIN, 2, 1, [upsert(f"{ORIGIN}/bl/0", status="delisted", last_index=2)])
    assert reopened.blacklist_change_head() == 3


# ---------------------------------------------------------------- open_store


def test_open_store_picks_the_backend(tmp_path: Any) -> None:
    memory = open_store("memory:")
    assert isinstance(memory, MemoryStore)
    for location in (tmp_path / "a.db", str(tmp_path / "b.db"), f"sqlite:///{tmp_path}/c.db"):
        store = open_store(location)
        try:
            assert isinstance(store, SqlStore)
            assert store.vector() == {}
        finally:
            store.close()


@pytest.mark.parametrize("location", ["sqlite:///:memory:", "sqlite://", "mysql://h/db"])
def test_open_store_refuses_unusable_urls(location: str) -> None:
    with pytest.raises(StoreError):
        open_store(location)


# ---------------------------------------------------------------- merkle nodes (sync.tiles)


def test_subtree_hashes_answer_proofs_like_the_leaves(store: Store) -> None:
    # Batches of uneven sizes, so nodes complete across batch boundaries.
    position = 0
    for count in (1, 2, 5, 13, 3, 40):
        append(store, ORIGIN, position, count)
        position += count
    append(store, OTHER, 0, 3)
    leaves = store.leaf_hashes(ORIGIN, 0, position)

    def read(nodes: Sequence[tuple[int, int]]) -> list[bytes]:
        return store.subtree_hashes(ORIGIN, nodes)

    for size in (1, 2, 7, 21, 64, position):
        assert tiles.root(size, read) == merkle.root(leaves[:size])
        for index in (0, size // 2, size - 1):
            assert tiles.inclusion_proof(size, index, read) == merkle.inclusion_proof(
                leaves[:size], index
            )
        for old_size in (1, size // 3 + 1, size):
            assert tiles.consistency_proof(old_size, size, read) == merkle.consistency_proof(
                leaves[:size], old_size
            )
    assert store.subtree_hashes(ORIGIN, []) == []
    assert store.subtree_hashes(ORIGIN, [(6, 0), (0, 63)]) == [
        merkle.root(leaves[:64]),
        leaves[63],
    ]
    with pytest.raises(ValueError, match="not stored"):
        store.subtree_hashes(ORIGIN, [(0, position)])  # beyond the log
    with pytest.raises(ValueError, match="not stored"):
        store.subtree_hashes(OTHER, [(2, 0)])  # OTHER has 3 leaves: no complete 4-subtree


def test_commit_appends_writes_in_order_up_to_the_first_refusal(
    store_location: str, open_test_store: Callable[[str], Store]
) -> None:
    store = open_test_store(store_location)

    def prepared(size: int, key: str) -> PreparedAppend:
        return store.prepare_append(
            origin="chengdu",
            expected_size=size,
            entries=[make_entry("chengdu", size)],
            state=state_for("chengdu", size + 1),
            changes=[upsert(key, status="listed", last_index=size)],
        )

    # The third was laid out against a size the store no longer has (another writer went
    # first); the fourth follows it.
    batches = [prepared(0, "k0"), prepared(1, "k1"), prepared(1, "stale"), prepared(3, "k3")]
    written, refused = store.commit_appends(batches)

    assert written == 2 and isinstance(refused, ConflictError)
    assert store.vector() == {"chengdu": 2}
    assert set(store.get_rows("blacklist", ["k0", "k1", "stale", "k3"])) == {"k0", "k1"}

    # A batch refused half-way through its statements (SQL: its entry row breaks the primary
    # key after its Merkle nodes went in) leaves nothing behind either.
    broken = prepared(2, "broken")
    layout = broken.layout
    if isinstance(layout, SqlAppendLayout):
        assert isinstance(batches[1].layout, SqlAppendLayout)
        layout.entry_rows[:] = batches[1].layout.entry_rows
    else:
        broken = replace(broken, expected_size=1)
    written, refused = store.commit_appends([prepared(2, "k2"), broken])
    assert written == 1 and isinstance(refused, IntegrityError | ConflictError)
    assert store.vector() == {"chengdu": 3}
    assert set(store.get_rows("blacklist", ["k2", "broken"])) == {"k2"}
    # The node the refused batch wrote before its entry was taken back with it.
    assert store.commit_appends([prepared(3, "k3")]) == (1, None)
    assert store.leaf_hashes("chengdu", 0, 4) == [
        make_entry("chengdu", i).leaf_hash for i in range(4)
    ]
    assert store.commit_appends([]) == (0, None)
