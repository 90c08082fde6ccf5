"""How the SQL store keeps a blacklist listing's row without a second copy of its record.

A listing's folded row (``STATE_TABLES["blacklist"]``) carries ``record``: the serialised
``ccnode.v1.ListingState``, whose bulk is the ``BlacklistRecord`` the listing entry's payload
already holds. A listing as listed (neither corrected nor delisted) is exactly
``ListingState(subject, origin, entry_id, status="listed", record, last_index,
delist_due_on)`` (sync/folds/blacklist.py ``listed_item_bytes``), all of it in the row's
columns but the record, which is the payload of entry ``(origin, last_index)``. The SQL store
keeps such a row with ``record_index`` = that index and ``kept_record`` NULL, and builds
``record`` back from the payload when it reads the row (``listing_record``). Every other row
(corrected, delisted, written outside an append, or with a payload that is not the canonical
encoding) keeps its ``record`` whole in ``kept_record`` (``record_index`` NULL). The bytes read
back are the bytes written, on every backend: the store drops the copy only after checking
that the rebuilt bytes equal the row's ``record``.

A payload the row reads from is never purged while the row reads from it: retention purges only
closed (delisted) listings, whose rows keep their record, and the store's purge copies the
record of any other row into ``kept_record`` first (node/store/sql.py).

Pure bytes (no protobuf, no SQLAlchemy): the catch-up helper process lays rows out with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from node.store.base import StoreError

# The stored columns that replace ``record`` in the SQL table state_blacklist.
RECORD_INDEX = "record_index"
KEPT_RECORD = "kept_record"
_LISTED_STATUS = b'"\x06listed'  # ListingState field 4, status = "listed"


class ListingRowError(StoreError):
    """A stored listing row whose record cannot be built back (its payload is gone)."""


def _varint(value: int) -> bytes:
    if value < 0x80:
        return _SMALL[value]
    if value < 0x4000:  # a record's length, an index below 16,384
        return bytes(((value & 0x7F) | 0x80, value >> 7))
    if value < 0x200000:
        return bytes(((value & 0x7F) | 0x80, (value >> 7 & 0x7F) | 0x80, value >> 14))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_SMALL = [bytes((value,)) for value in range(0x80)]


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    """(value, position after it); (-1, -1) when ``data`` ends inside it or it is too long."""
    value = shift = 0
    while position < len(data) and shift < 64:
        byte = data[position]
        value |= (byte & 0x7F) << shift
        position += 1
        if byte < 0x80:
            return value, position
        shift += 7
    return -1, -1


def listed_record(payload: bytes) -> bytes | None:
    """The ``BlacklistRecord`` bytes of a listing payload that is exactly
    ``Payload(blacklist_listed=BlacklistListed(record=R))`` in canonical form (each message
    once, its length minimal, nothing else); None for any other payload."""
    # A listing of a catch-up per call: lengths of one or two bytes (records under 16 KiB)
    # are read inline; any other payload takes the general reading.
    size = len(payload)
    if size < 4 or payload[0] != 0x0A:
        return None
    first, second = payload[1], payload[2]
    if first < 0x80:
        outer, position = first, 2
    elif 0 < second < 0x80:  # a second byte of 0 would pad the length
        outer, position = (first & 0x7F) | second << 7, 3
    else:
        return _listed_record(payload)
    if position + outer != size:
        return None
    if size - position < 3 or payload[position] != 0x0A:
        return _listed_record(payload)
    first, second = payload[position + 1], payload[position + 2]
    if first < 0x80:
        inner, start = first, position + 2
    elif 0 < second < 0x80:
        inner, start = (first & 0x7F) | second << 7, position + 3
    else:
        return _listed_record(payload)
    if start + inner != size:
        return None
    return payload[start:]


def _listed_record(payload: bytes) -> bytes | None:
    """listed_record for lengths of any size, one byte at a time: the reference that
    listed_record's inline reading is tested against."""
    if payload[:1] != b"\n":
        return None
    outer, position = _read_varint(payload, 1)
    if outer < 0 or position + outer != len(payload) or payload[position : position + 1] != b"\n":
        return None
    inner, start = _read_varint(payload, position + 1)
    if inner < 0 or start + inner != len(payload):
        return None
    if _varint(outer) != payload[1:position] or _varint(inner) != payload[position + 1 : start]:
        return None  # a length with padding bytes: not the canonical encoding
    return payload[start:]


def listing_state_bytes(
    key: str, origin: str, entry_id: str, record: bytes, last_index: int, delist_due_on: str
) -> bytes:
    """``ListingState(subject=key, origin, entry_id, status="listed", record, last_index,
    delist_due_on).SerializeToString(deterministic=True)``: fields in number order, proto3
    defaults left out, the record always present (as the fold's ``listed_item_bytes``)."""
    k, o, e, d = key.encode(), origin.encode(), entry_id.encode(), delist_due_on.encode()
    return b"%b%b%b%b*%b%b%b%b" % (
        b"\n" + _varint(len(k)) + k if k else b"",
        b"\x12" + _varint(len(o)) + o if o else b"",
        b"\x1a" + _varint(len(e)) + e if e else b"",
        _LISTED_STATUS,
        _varint(len(record)),
        record,
        b"H" + _varint(last_index) if last_index else b"",
        b"R" + _varint(len(d)) + d if d else b"",
    )


def stored_record(
    key: str, row: Mapping[str, Any], payload: bytes | None
) -> tuple[int | None, Any]:
    """``(record_index, kept_record)``: what the SQL store keeps of a listing row's
    ``record``. ``(last_index, None)`` when it is the listing as listed of the payload of
    entry ``(origin, last_index)`` (``payload``: that entry's, None when it is not at hand),
    else ``(None, record)``."""
    record = row.get("record")
    whole = (None, record)
    if payload is None or not isinstance(record, bytes) or not record.startswith(b"\n"):
        return whole
    origin, entry_id, due_on = row.get("origin"), row.get("entry_id"), row.get("delist_due_on")
    last_index = row.get("last_index")
    if not (isinstance(origin, str) and isinstance(entry_id, str) and isinstance(due_on, str)):
        return whole
    if not isinstance(last_index, int):
        return whole
    listed = listed_record(payload)
    if listed is None:
        return whole
    if listing_state_bytes(key, origin, entry_id, listed, last_index, due_on) != record:
        return whole
    return last_index, None


def listing_record(row: Mapping[str, Any], payload: bytes | None) -> Any:
    """A stored listing row's ``record``: its ``kept_record``, or built back from ``payload``
    (of entry ``(origin, record_index)``) when it has a ``record_index``."""
    index = row[RECORD_INDEX]
    if index is None:
        kept = row[KEPT_RECORD]
        return None if kept is None else bytes(kept)
    listed = None if payload is None else listed_record(bytes(payload))
    if listed is None:
        raise ListingRowError(
            f"listing row {row['key']}: the payload of entry {row['origin']}/{index}, "
            "which holds its record, is not held"
        )
    return listing_state_bytes(
        row["key"], row["origin"], row["entry_id"], listed, index, row["delist_due_on"]
    )
