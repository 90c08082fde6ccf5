"""Listing rows read their record from the listing entry's payload instead of a second copy.

Revision ID: 0013_listing_record_from_payload
Revises: 0012_registers
Create Date: 2026-12-02

A listing as listed (neither corrected nor delisted) kept in ``state_blacklist.record`` a
``ListingState`` whose bulk, the ``BlacklistRecord``, is the payload of its listing entry,
stored in ``entries`` as well. ``record`` gives way to ``record_index`` (the entry whose
payload the row rebuilds its record from; NULL: none) and ``kept_record`` (the record kept
whole: corrected or delisted listings, and any row whose record is not exactly the listing as
listed of that payload). The bytes a row reads back are unchanged (node/store/listing_rows.py);
this migration keeps the functions it needs as they were at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0013_listing_record_from_payload"
down_revision: str | None = "0012_registers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PAGE = 1000
_READ = sa.text(
    "SELECT b.key, b.origin, b.entry_id, b.delist_due_on, b.last_index, b.record, e.subject, "
    "e.payload FROM state_blacklist b LEFT JOIN entries e "
    "ON e.origin = b.origin AND e.idx = b.last_index WHERE b.key > :after ORDER BY b.key "
    "LIMIT :page"
)
_READ_BACK = sa.text(
    "SELECT b.key, b.origin, b.entry_id, b.delist_due_on, b.record_index, b.kept_record, "
    "e.payload FROM state_blacklist b LEFT JOIN entries e "
    "ON e.origin = b.origin AND e.idx = b.record_index WHERE b.key > :after ORDER BY b.key "
    "LIMIT :page"
)


def upgrade() -> None:
    with op.batch_alter_table("state_blacklist") as batch:
        batch.add_column(sa.Column("record_index", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("kept_record", sa.LargeBinary(), nullable=True))
    conn = op.get_bind()
    update = sa.text(
        "UPDATE state_blacklist SET record_index = :record_index, kept_record = :kept_record "
        "WHERE key = :key"
    )
    after = ""
    while rows := conn.execute(_READ, {"after": after, "page": _PAGE}).all():
        after = rows[-1][0]
        values = []
        for key, origin, entry_id, due_on, last_index, record, subject, payload in rows:
            index, kept = None, record
            row = (key, origin, entry_id, last_index, due_on)
            if subject == key and _rebuilds(record, *row, payload):
                index, kept = last_index, None
            values.append({"key": key, "record_index": index, "kept_record": kept})
        conn.execute(update, values)
    with op.batch_alter_table("state_blacklist") as batch:
        batch.drop_column("record")


def downgrade() -> None:
    with op.batch_alter_table("state_blacklist") as batch:
        batch.add_column(sa.Column("record", sa.LargeBinary(), nullable=True))
    conn = op.get_bind()
    update = sa.text("UPDATE state_blacklist SET record = :record WHERE key = :key")
    after = ""
    while rows := conn.execute(_READ_BACK, {"after": after, "page": _PAGE}).all():
        after = rows[-1][0]
        values = []
        for key, origin, entry_id, due_on, index, kept, payload in rows:
            record = kept
            if index is not None:
                listed = None if payload is None else _listed_record(bytes(payload))
                if listed is None:
                    raise RuntimeError(
                        f"listing row {key}: the payload of entry {origin}/{index}, which "
                        "holds its record, is not held"
                    )
                record = _listing_state_bytes(key, origin, entry_id, listed, index, due_on)
            values.append({"key": key, "record": record})
        conn.execute(update, values)
    with op.batch_alter_table("state_blacklist") as batch:
        batch.drop_column("kept_record")
        batch.drop_column("record_index")


def _rebuilds(
    record: Any, key: str, origin: Any, entry_id: Any, last_index: Any, due_on: Any, payload: Any
) -> bool:
    """Whether ``record`` is exactly the listing as listed of ``payload``."""
    if payload is None or record is None:
        return False
    if not all(isinstance(v, str) for v in (origin, entry_id, due_on)):
        return False
    if not isinstance(last_index, int):
        return False
    listed = _listed_record(bytes(payload))
    if listed is None:
        return False
    rebuilt = _listing_state_bytes(key, origin, entry_id, listed, last_index, due_on)
    return rebuilt == bytes(record)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while position < len(data) and shift < 64:
        byte = data[position]
        value |= (byte & 0x7F) << shift
        position += 1
        if byte < 0x80:
            return value, position
        shift += 7
    return -1, -1


def _listed_record(payload: bytes) -> bytes | None:
    """The record of ``Payload(blacklist_listed=BlacklistListed(record=R))`` in canonical
    form, None for any other payload."""
    if payload[:1] != b"\n":
        return None
    outer, position = _read_varint(payload, 1)
    if outer < 0 or position + outer != len(payload) or payload[position : position + 1] != b"\n":
        return None
    inner, start = _read_varint(payload, position + 1)
    if inner < 0 or start + inner != len(payload):
        return None
    if _varint(outer) != payload[1:position] or _varint(inner) != payload[position + 1 : start]:
        return None
    return payload[start:]


def _field(tag: bytes, value: bytes) -> bytes:
    return tag + _varint(len(value)) + value if value else b""


def _listing_state_bytes(
    key: str, origin: str, entry_id: str, record: bytes, last_index: int, due_on: str
) -> bytes:
    """ListingState(subject, origin, entry_id, "listed", record, last_index, delist_due_on),
    deterministically serialised."""
    return b"".join(
        (
            _field(b"\n", key.encode()),
            _field(b"\x12", origin.encode()),
            _field(b"\x1a", entry_id.encode()),
            b'"\x06listed',
            b"*" + _varint(len(record)) + record,
            b"H" + _varint(last_index) if last_index else b"",
            _field(b"R", due_on.encode()),
        )
    )
