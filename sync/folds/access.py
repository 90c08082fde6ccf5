"""Fold of ACCESS_RECORDED entries (reads of personal data) into one row per read.

A read is recorded in the reader's own log with the reader alone as audience, so only the
reader's node holds the payload and only it gets a row: it answers `audit access` (every read
concerning one person or company, by the hash of their identifier) without scanning its log.
Other nodes hold the header and ignore it.
"""

from __future__ import annotations

from ccnode.v1 import log_pb2, state_pb2
from sync.entry import Header
from sync.folds.types import ACCESS_SUBJECTS_TABLE, ACCESS_TABLE, Ignored, Row
from sync.payload import PayloadError, decode_payload

TABLE = ACCESS_TABLE
SUBJECTS_TABLE = ACCESS_SUBJECTS_TABLE
KINDS = frozenset({log_pb2.ACCESS_RECORDED})


def subject_for(origin: str, index: int) -> str:
    return f"{origin}/access/{index}"


def state_of(row: Row) -> state_pb2.AccessState:
    return state_pb2.AccessState.FromString(row["record"])


def fold(row: Row | None, header: Header, payload: bytes | None) -> Row | Ignored:
    if header.kind not in KINDS:
        return Ignored("not an access record")
    if header.subject != subject_for(header.origin, header.index):
        return Ignored("an access record's subject names the record itself")
    if row is not None:
        return Ignored("access already recorded")
    if payload is None:
        return Ignored("payload not held (another node's reads)")
    try:
        body = decode_payload(header.kind, payload).access_recorded
    except PayloadError as exc:
        return Ignored(str(exc))
    item = state_pb2.AccessState(
        entry_id=header.entry_id,
        actor=header.actor,
        hlc=header.hlc,
        purpose=body.purpose,
        what=body.what,
        entries=body.entries,
        subject_key=body.subject_key,
        subject_keys=body.subject_keys,
    )
    return {
        "key": header.subject,
        "origin": header.origin,
        "actor": header.actor,
        "subject_key": body.subject_key or None,
        "record": item.SerializeToString(deterministic=True),
    }


def derive(row: Row) -> dict[tuple[str, str], Row]:
    """A read about many subjects (an agency's CheckBatch, recorded as one entry) gets one
    ``access_subjects`` row per subject, so `audit access --subject` finds it by any of them."""
    item = state_of(row)
    return {
        (SUBJECTS_TABLE, f"{row['key']}/{n}"): {
            "key": f"{row['key']}/{n}",
            "access": row["key"],
            "subject_key": key,
        }
        for n, key in enumerate(item.subject_keys)
    }
