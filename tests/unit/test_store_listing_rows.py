"""A listing's row without a second copy of its record (node/store/listing_rows.py): every
backend reads back the very row the fold wrote, whatever the SQL store keeps of it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import sqlalchemy
from hypothesis import given
from hypothesis import strategies as st

from ccnode.v1 import log_pb2, payloads_pb2, state_pb2
from node.store import SqlStore, Store
from node.store.base import RowChange, RowQuery
from node.store.listing_rows import _listed_record, listed_record, listing_state_bytes
from sync.entry import decode_header
from sync.folds.blacklist import fold, listed_item_bytes
from sync.folds.types import Ignored, Row
from tests.unit.corefixtures import (
    blacklist_entry,
    blacklist_record,
    corrected_payload,
    delisted_payload,
    listed_payload,
)
from tests.unit.test_store_conformance import downgrade_store, make_entry, state_for

ORIGIN = "chengdu"
LISTED, CORRECTED, DELISTED = (
    log_pb2.BLACKLIST_LISTED,
    log_pb2.BLACKLIST_CORRECTED,
    log_pb2.BLACKLIST_DELISTED,
)


def _fold(row: Row | None, index: int, kind: int, subject: str, payload: bytes) -> Row:
    entry = blacklist_entry(ORIGIN, index, kind=kind, subject=subject, payload=payload)
    out = fold(row, decode_header(entry.header), payload)
    assert not isinstance(out, Ignored), out
    return out


def _append(
    store: Store, start: int, items: Sequence[tuple[int, str, bytes]], rows: Sequence[Row]
) -> None:
    """Entries start.. (kind, subject, payload) and the rows folded from them, in one append."""
    entries = [
        make_entry(ORIGIN, start + i, kind=kind, subject=subject, payload=payload)
        for i, (kind, subject, payload) in enumerate(items)
    ]
    store.append(
        origin=ORIGIN,
        expected_size=start,
        entries=entries,
        state=state_for(ORIGIN, start + len(items)),
        changes=[RowChange("blacklist", row["key"], row) for row in rows],
    )


def _listings(store: Store, count: int) -> dict[str, Row]:
    """``count`` listings (entries 0..count-1), the second one corrected and the third one
    delisted afterwards (entries count, count+1)."""
    items, rows = [], {}
    for index in range(count):
        subject = f"{ORIGIN}/bl/{index}"
        payload = listed_payload(blacklist_record(name=f"张{index}", term_end_on=""))
        items.append((LISTED, subject, payload))
        rows[subject] = _fold(None, index, LISTED, subject, payload)
    _append(store, 0, items, list(rows.values()))
    corrected = corrected_payload(blacklist_record(name="张一改", term_end_on="2027-01-04"))
    one, two = f"{ORIGIN}/bl/1", f"{ORIGIN}/bl/2"
    rows[one] = _fold(rows[one], count, CORRECTED, one, corrected)
    rows[two] = _fold(rows[two], count + 1, DELISTED, two, delisted_payload())
    later = [(CORRECTED, one, corrected), (DELISTED, two, delisted_payload())]
    _append(store, count, later, [rows[one], rows[two]])
    return rows


def _every_read(store: Store, keys: Sequence[str]) -> list[dict[str, Row]]:
    """The rows as each reader of the folded rows gets them."""
    got, _ = store.query_rows(RowQuery("blacklist", limit=1000))
    feed = {c.key: c.row for c in store.blacklist_changes(0, 1000) if c.row is not None}
    by_id = store.query_rows(RowQuery("blacklist", among={"key": list(keys)}))[0]
    return [
        store.get_rows("blacklist", keys),
        {row["key"]: row for row in got},
        feed,
        {row["key"]: row for row in by_id},
    ]


def test_every_reader_gets_the_row_the_fold_wrote(store: Store) -> None:
    rows = _listings(store, 5)
    for read in _every_read(store, sorted(rows)):
        assert read == rows
    assert state_pb2.ListingState.FromString(rows[f"{ORIGIN}/bl/1"]["record"]).record.debtor.name


def test_a_purged_payload_leaves_the_listing_readable(store: Store) -> None:
    """A listing whose entry's payload is purged (retention purges delisted listings only; the
    store keeps the record of any other row it would lose) still reads whole."""
    rows = _listings(store, 4)
    purged = [(ORIGIN, index) for index in range(6)]  # every listing, correction, delisting
    assert store.purge_payloads(purged[:3], at_unix_ms=1, rule="blacklist") == 3
    assert store.purge_payload(ORIGIN, 3)
    for read in _every_read(store, sorted(rows)):
        assert read == rows


def test_sql_keeps_one_copy_of_a_listing_as_listed(
    sql_store_location: str, open_test_store: Any
) -> None:
    """The SQL table holds the record of a listing as listed nowhere but in its entry's
    payload; a corrected or delisted listing, or a row its entry's payload does not rebuild,
    keeps its record whole."""
    store = open_test_store(sql_store_location)
    assert isinstance(store, SqlStore)
    rows = _listings(store, 4)
    odd = dict(rows[f"{ORIGIN}/bl/3"], name="not the payload's")  # a row the payload does not
    odd["record"] = odd["record"] + b"X\x01"  # rebuild: kept whole
    store.rewrite_rows([RowChange("blacklist", odd["key"], odd)], meta={})
    stored = _stored(sql_store_location)
    assert stored["chengdu/bl/0"] == (0, None)
    assert stored["chengdu/bl/1"] == (None, rows["chengdu/bl/1"]["record"])  # corrected
    assert stored["chengdu/bl/2"] == (None, rows["chengdu/bl/2"]["record"])  # delisted
    assert stored["chengdu/bl/3"] == (None, odd["record"])
    assert store.get_rows("blacklist", [odd["key"]])[odd["key"]] == odd


def _stored(location: str) -> dict[str, tuple[int | None, bytes | None]]:
    engine = sqlalchemy.create_engine(_url(location))
    try:
        with engine.connect() as conn:
            return {
                key: (index, None if kept is None else bytes(kept))
                for key, index, kept in conn.execute(
                    sqlalchemy.text("SELECT key, record_index, kept_record FROM state_blacklist")
                )
            }
    finally:
        engine.dispose()


def _url(location: str) -> str:
    return location if "://" in location else f"sqlite:///{location}"


def test_upgrading_a_store_with_listings_reads_them_back_the_same(
    sql_store_location: str, open_test_store: Any
) -> None:
    """Rows written at 0012 (a whole ``record`` column) read back identical after 0013, which
    keeps the record of a listing as listed only in its payload; downgrading restores the
    column byte for byte."""
    store = open_test_store(sql_store_location)
    rows = _listings(store, 6)
    store.purge_payloads([(ORIGIN, 4)], at_unix_ms=1, rule="blacklist")  # kept in its row
    store.close()
    engine = sqlalchemy.create_engine(_url(sql_store_location))
    try:
        with engine.begin() as conn:
            downgrade_store(conn, "0012_registers")
        with engine.connect() as conn:
            columns = {c["name"] for c in sqlalchemy.inspect(conn).get_columns("state_blacklist")}
            assert "record" in columns and "kept_record" not in columns
            at_0012 = dict(
                conn.execute(sqlalchemy.text("SELECT key, record FROM state_blacklist")).all()
            )
    finally:
        engine.dispose()
    assert {key: bytes(record) for key, record in at_0012.items()} == {
        key: row["record"] for key, row in rows.items()
    }
    reopened = open_test_store(sql_store_location)  # upgrades to head: 0013
    for read in _every_read(reopened, sorted(rows)):
        assert read == rows
    stored = _stored(sql_store_location)
    assert [key for key, (index, _) in sorted(stored.items()) if index is not None] == [
        f"{ORIGIN}/bl/{i}"
        for i in (0, 3, 5)  # 4: its payload is purged
    ]


@given(
    key=st.text(max_size=20),
    origin=st.text(max_size=10),
    entry_id=st.text(max_size=20),
    last_index=st.integers(0, 2**63 - 1),
    due_on=st.text(max_size=12),
    name=st.text(max_size=300),
)
def test_the_rebuilt_bytes_are_the_folds(
    key: str, origin: str, entry_id: str, last_index: int, due_on: str, name: str
) -> None:
    record = payloads_pb2.BlacklistRecord(court="川0104", debtor=payloads_pb2.Debtor(name=name))
    raw = record.SerializeToString(deterministic=True)
    expected = state_pb2.ListingState(
        subject=key,
        origin=origin,
        entry_id=entry_id,
        status="listed",
        record=record,
        last_index=last_index,
        delist_due_on=due_on,
    ).SerializeToString(deterministic=True)
    assert listing_state_bytes(key, origin, entry_id, raw, last_index, due_on) == expected
    assert listed_item_bytes(key, origin, entry_id, raw, last_index, due_on) == expected
    payload = payloads_pb2.Payload(
        blacklist_listed=payloads_pb2.BlacklistListed(record=record)
    ).SerializeToString(deterministic=True)
    assert listed_record(payload) == raw


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\x12\x02\x0a\x00",  # blacklist_corrected
        b"\x0a\x02\x0a\x00\x0a\x00",  # a second body field
        b"\x0a\x82\x00\x0a\x00",  # a padded length
        b"\x0a\x03\x0a\x00\x10",  # another field of BlacklistListed
        b"\x0a\x05\x0a\x09abc",  # a record running past the end
    ],
)
def test_only_a_canonical_listing_payload_is_read_as_one(payload: bytes) -> None:
    assert listed_record(payload) is None


def _framed(body: bytes, lengths: tuple[int, int]) -> bytes:
    """``body`` inside two length-delimited fields 1, each length padded by so many bytes."""

    def length(value: int, padding: int) -> bytes:
        out = bytearray()
        while value >= 0x80:
            out.append((value & 0x7F) | 0x80)
            value >>= 7
        if padding:
            out.append(value | 0x80)
            out.extend(b"\x80" * (padding - 1))
            out.append(0)
        else:
            out.append(value)
        return bytes(out)

    inner = b"\n" + length(len(body), lengths[1]) + body
    return b"\n" + length(len(inner), lengths[0]) + inner


@given(
    payload=st.one_of(
        st.binary(max_size=40),
        st.builds(
            _framed,
            st.binary(max_size=20_000),
            st.tuples(st.integers(0, 2), st.integers(0, 2)),
        ),
        st.builds(
            lambda framed, cut, extra: framed[:cut] + extra,
            st.builds(_framed, st.binary(max_size=300), st.just((0, 0))),
            st.integers(0, 310),
            st.binary(max_size=3),
        ),
    )
)
def test_the_inline_reading_of_a_listing_payload_is_the_general_one(payload: bytes) -> None:
    assert listed_record(payload) == _listed_record(payload)
