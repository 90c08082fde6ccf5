"""The hand-encoded row of a new listing (sync.folds.blacklist) against protobuf itself.

``listed_item_bytes`` writes a ListingState's wire bytes directly and ``_listed`` builds a
listing's row without the state message (the catch-up hot path). Both must stay byte for
byte what protobuf and ``_row`` give, whatever the texts, indexes and record contents.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from ccnode.v1 import log_pb2, payloads_pb2, state_pb2
from node.store.listing_rows import listing_state_bytes
from sync.entry import Header, decode_header, make_entry
from sync.folds.blacklist import (
    _row,
    delist_due_on,
    fold,
    listed_item_bytes,
    listing_subject,
)
from sync.folds.types import Ignored, Row
from sync.ids import NODE_ID_RE
from tests.unit.corefixtures import BASE_MS, blacklist_record, listed_payload, salt_for

INDEX_MAX = 2**63 - 1
_text = st.text(max_size=24)  # any code point but surrogates; often empty
_int32 = st.integers(-(2**31), 2**31 - 1)  # open enums keep unknown values
_uint32 = st.integers(0, 2**32 - 1)
_node_ids = st.from_regex(NODE_ID_RE, fullmatch=True)
_settings = settings(derandomize=True, database=None, max_examples=300, deadline=None)


@st.composite
def _debtors(draw: st.DrawFn, types: st.SearchStrategy[int]) -> payloads_pb2.Debtor:
    return payloads_pb2.Debtor(
        type=draw(types),  # type: ignore[arg-type]
        name=draw(_text),
        id_number=draw(_text),
        credit_code=draw(_text),
        sex=draw(_text),
        legal_representative=draw(_text),
    )


@st.composite
def _records(
    draw: st.DrawFn,
    *,
    grounds: st.SearchStrategy[int] = _int32,
    debtor_types: st.SearchStrategy[int] = _int32,
    term_end_on: st.SearchStrategy[str] = _text,
) -> payloads_pb2.BlacklistRecord:
    """Any record: random texts and enum values, the debtor present or not."""
    record = payloads_pb2.BlacklistRecord(
        case_number=draw(_text),
        court=draw(_text),
        obligation=draw(_text),
        performance=draw(_text),
        ground=draw(grounds),  # type: ignore[arg-type]
        term_years=draw(_uint32),
        conduct=draw(_text),
        basis_issuer=draw(_text),
        basis_number=draw(_text),
        filed_on=draw(_text),
        listed_on=draw(_text),
        term_end_on=draw(term_end_on),
    )
    if draw(st.booleans()):
        record.debtor.CopyFrom(draw(_debtors(debtor_types)))
    return record


_any_records = st.one_of(st.just(payloads_pb2.BlacklistRecord()), _records())


@_settings
@given(
    subject=_text,
    origin=_text,
    entry_id=_text,
    record=_any_records,
    last_index=st.integers(0, INDEX_MAX),
    due_on=_text,
)
def test_listed_item_bytes_is_the_protobuf_encoding(
    subject: str,
    origin: str,
    entry_id: str,
    record: payloads_pb2.BlacklistRecord,
    last_index: int,
    due_on: str,
) -> None:
    record_bytes = record.SerializeToString(deterministic=True)
    item = state_pb2.ListingState(
        subject=subject,
        origin=origin,
        entry_id=entry_id,
        status="listed",
        record=record,
        last_index=last_index,
        delist_due_on=due_on,
    )
    encoded = listed_item_bytes(subject, origin, entry_id, record_bytes, last_index, due_on)
    assert encoded == item.SerializeToString(deterministic=True)
    assert state_pb2.ListingState.FromString(encoded) == item


def test_listed_item_bytes_of_empty_texts_and_an_empty_record() -> None:
    encoded = listed_item_bytes("", "", "", b"", 0, "")
    item = state_pb2.ListingState(status="listed", record=payloads_pb2.BlacklistRecord())
    assert encoded == item.SerializeToString(deterministic=True) == b'"\x06listed*\x00'


def test_listed_item_bytes_at_varint_boundaries() -> None:
    for last_index in (1, 127, 128, 16_383, 16_384, 2**21 - 1, 2**21, 2**32, INDEX_MAX):
        for length in (127, 128, 16_383, 16_384, 2**21):
            text = "x" * length
            item = state_pb2.ListingState(
                subject=text,
                origin="chengdu",
                entry_id="chengdu/1",
                status="listed",
                record=payloads_pb2.BlacklistRecord(conduct=text),
                last_index=last_index,
                delist_due_on="2026-03-11",
            )
            encoded = listed_item_bytes(
                text,
                "chengdu",
                "chengdu/1",
                item.record.SerializeToString(deterministic=True),
                last_index,
                "2026-03-11",
            )
            assert encoded == item.SerializeToString(deterministic=True)
            stored = listing_state_bytes(
                text,
                "chengdu",
                "chengdu/1",
                item.record.SerializeToString(deterministic=True),
                last_index,
                "2026-03-11",
            )
            assert stored == encoded


# ---------------------------------------------------------------- the fold of a listing


def _listing_header(origin: str, index: int, payload: bytes) -> Header:
    entry = make_entry(
        origin=origin,
        index=index,
        kind=log_pb2.BLACKLIST_LISTED,
        subject=listing_subject(origin, index),
        actor="clerk-7",
        hlc=BASE_MS << 16,
        payload=payload,
        salt=salt_for(origin, index),
    )
    return decode_header(entry.header)


def _slow_row(header: Header, record: payloads_pb2.BlacklistRecord) -> Row | None:
    """The row through the state message, as a correction builds it; None if unusable."""
    item = state_pb2.ListingState(
        subject=header.subject,
        origin=header.origin,
        entry_id=header.entry_id,
        status="listed",
        last_index=header.index,
    )
    item.record.CopyFrom(record)
    try:
        item.delist_due_on = delist_due_on(record.term_end_on)
        return _row(item)
    except ValueError:  # malformed date, unknown ground: the fold ignores the entry
        return None


# Dates whose delisting day (3 working days on) is still a date: see the report on
# delist_due_on near date.max.
_term_ends = st.one_of(
    st.just(""),
    st.dates(max_value=dt.date(9999, 12, 1)).map(dt.date.isoformat),
    _text,
)
# Mostly known values; an unknown ground makes the entry unusable, an unknown debtor type
# an organisation.
_grounds = st.sampled_from([*payloads_pb2.ListingGround.values(), 7, 2**31 - 1])
_debtor_types = st.sampled_from([*payloads_pb2.DebtorType.values(), -1, 99])


@_settings
@given(
    origin=_node_ids,
    index=st.integers(0, INDEX_MAX),
    record=st.one_of(
        st.just(payloads_pb2.BlacklistRecord()),
        _records(grounds=_grounds, debtor_types=_debtor_types, term_end_on=_term_ends),
    ),
)
def test_the_fold_of_a_listing_equals_the_row_built_from_its_item(
    origin: str, index: int, record: payloads_pb2.BlacklistRecord
) -> None:
    payload = listed_payload(record)
    header = _listing_header(origin, index, payload)
    expected = _slow_row(header, record)
    outcome = fold(None, header, payload)
    if expected is None:
        assert isinstance(outcome, Ignored)
        assert outcome.reason.startswith("unusable content: ")
    else:
        assert outcome == expected
        assert not isinstance(outcome, Ignored)
        assert type(outcome["record"]) is bytes


def test_the_fold_of_the_fixture_listing_equals_the_row_built_from_its_item() -> None:
    record = blacklist_record()
    payload = listed_payload(record)
    for index in (0, 1, 127, 128, INDEX_MAX):
        header = _listing_header("chengdu", index, payload)
        row = fold(None, header, payload)
        assert row == _slow_row(header, record)
        assert not isinstance(row, Ignored)
        assert row["delist_due_on"] == "2026-03-11"  # 2026-03-06 is a Friday
