"""Fold of asset-lookup entries into one row per lookup (subject ``<requester>/lookup/<index>``).

Two writers, two logs: the request is in the requester's log, the reply (answer or denial) in
the target's. A node may receive the target's log before the requester's (a relay forwards
origins in its own order), so the row must not depend on which came first:

* the structure comes from the headers alone — subject, audience, parents, kind — so a node
  outside the audience (which holds headers only) folds the same status as the two inside;
* a reply counts only if its author is the request's target. Replies held before the request
  are kept as candidates (one per origin: the first in that origin's log order) and settled
  when the request arrives; until then the least origin name stands in, a fixed rule;
* payload details (case, purpose, categories, counts, denial reason) are added where the
  payload is held and usable; they never change the status.

Never raises on a validly signed entry: unusable entries are ``Ignored`` by every node alike.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.protobuf.message import DecodeError

from ccnode.v1 import log_pb2, payloads_pb2, state_pb2
from sync.domain.lookups import (
    debtor_identifier,
    parse_lookup_subject,
    request_entry_id,
    subject_key,
)
from sync.entry import Header
from sync.folds.types import LOOKUPS_TABLE, Ignored, Row
from sync.hlc import physical_ms
from sync.payload import PayloadError, decode_payload

TABLE = LOOKUPS_TABLE
KINDS = frozenset({log_pb2.LOOKUP_REQUESTED, log_pb2.LOOKUP_ANSWERED, log_pb2.LOOKUP_DENIED})

PENDING, ANSWERED, DENIED = "pending", "answered", "denied"
# Court-local day of a reply, for daily quotas: China Standard Time, a fixed UTC+8.
_CST_OFFSET = dt.timedelta(hours=8)
_EPOCH = dt.datetime(1970, 1, 1)


def state_of(row: Row) -> state_pb2.LookupState:
    return state_pb2.LookupState.FromString(row["record"])


def hlc_day(hlc: int) -> str:
    """The China-Standard-Time date of a hybrid-logical-clock stamp (unix ms << 16 | n)."""
    # Plain arithmetic, no platform time functions: any hlc below 2**63 is year 6430 or less.
    unix_ms = physical_ms(hlc)
    return (_EPOCH + _CST_OFFSET + dt.timedelta(milliseconds=unix_ms)).date().isoformat()


def fold(row: Row | None, header: Header, payload: bytes | None) -> Row | Ignored:
    """The row after applying one entry to the current row (None = no row yet)."""
    if header.kind not in KINDS:
        return Ignored("not a lookup entry")
    parsed = parse_lookup_subject(header.subject)
    if parsed is None:
        return Ignored("subject is not a lookup subject")
    try:
        item = state_of(row) if row is not None else state_pb2.LookupState()
    except DecodeError:
        return Ignored("stored lookup row is unreadable")
    item.subject = header.subject
    item.requester = parsed[0]
    if header.kind == log_pb2.LOOKUP_REQUESTED:
        outcome = _requested(item, header, payload, parsed[1])
    else:
        outcome = _replied(item, header, payload)
    if isinstance(outcome, Ignored):
        return outcome
    return _row(_settle(item))


# ---------------------------------------------------------------- the request


def _requested(
    item: state_pb2.LookupState, header: Header, payload: bytes | None, index: int
) -> Ignored | None:
    if header.origin != item.requester or header.index != index:
        return Ignored("a request's subject must name the request itself")
    audience = set(header.audience)
    if len(audience) != 2 or item.requester not in audience:
        return Ignored("a request's audience is exactly the requester and the target")
    if item.request_entry:
        return Ignored("lookup already requested")
    item.target = next(iter(audience - {item.requester}))
    item.request_entry = header.entry_id
    item.requested_by = header.actor
    item.requested_hlc = header.hlc
    body = _body(header, payload, "lookup_requested")
    if isinstance(body, payloads_pb2.LookupRequested) and body.target_node == item.target:
        item.case_number = body.case_number
        item.court = body.court
        item.purpose = body.purpose
        item.categories[:] = body.categories
        item.debtor_type = body.debtor.type
        identifier = debtor_identifier(body.debtor)
        item.subject_key = subject_key(identifier) if identifier else ""
    return None


# ---------------------------------------------------------------- the reply


def _replied(item: state_pb2.LookupState, header: Header, payload: bytes | None) -> Ignored | None:
    if header.origin == item.requester:
        return Ignored("the requester cannot reply to its own lookup")
    if set(header.audience) != {item.requester, header.origin}:
        return Ignored("a reply's audience is exactly the requester and the target")
    request_id = request_entry_id(item.subject)
    if header.parents != (request_id,):
        return Ignored("a reply names the request as its only parent")
    if item.request_entry and header.origin != item.target:
        return Ignored("only the lookup's target may reply")
    held = [item.reply] if item.HasField("reply") else []
    held += list(item.candidates)
    if any(r.origin == header.origin for r in held):
        return Ignored("lookup already replied to by this node")
    reply = state_pb2.LookupReplyState(
        entry_id=header.entry_id,
        origin=header.origin,
        denied=header.kind == log_pb2.LOOKUP_DENIED,
        actor=header.actor,
        hlc=header.hlc,
    )
    _reply_details(reply, header, payload, request_id)
    item.candidates.append(reply)
    return None


def _reply_details(
    reply: state_pb2.LookupReplyState, header: Header, payload: bytes | None, request_id: str
) -> None:
    if reply.denied:
        denied = _body(header, payload, "lookup_denied")
        if isinstance(denied, payloads_pb2.LookupDenied) and denied.request == request_id:
            reply.denial_reason = denied.reason
            reply.denial_detail = denied.detail
        return
    answered = _body(header, payload, "lookup_answered")
    if isinstance(answered, payloads_pb2.LookupAnswered) and answered.request == request_id:
        reply.asset_count = len(answered.assets)
        reply.assets_found = answered.assets_found or len(answered.assets)
        reply.truncated = answered.truncated


# ---------------------------------------------------------------- settling


def _settle(item: state_pb2.LookupState) -> state_pb2.LookupState:
    """Choose the reply that counts from every reply held, by a rule independent of order."""
    held = [item.reply] if item.HasField("reply") else []
    held += list(item.candidates)
    if item.request_entry:
        held = [r for r in held if r.origin == item.target]
    held.sort(key=lambda r: r.origin)
    del item.candidates[:]
    item.ClearField("reply")
    if held:
        item.reply.CopyFrom(held[0])
        item.candidates.extend(held[1:])
        if not item.request_entry:
            item.target = held[0].origin  # provisional until the request arrives
        item.status = DENIED if held[0].denied else ANSWERED
    else:
        item.status = PENDING
    return item


def _body(header: Header, payload: bytes | None, case: str) -> Any:
    """The payload's body message, or None when not held or unusable."""
    if payload is None:
        return None
    try:
        decoded = decode_payload(header.kind, payload)
    except PayloadError:
        return None
    return getattr(decoded, case)


def _row(item: state_pb2.LookupState) -> Row:
    return {
        "key": item.subject,
        "origin": item.requester,
        "target": item.target,
        "status": item.status,
        "case_number": item.case_number or None,
        "subject_key": item.subject_key or None,
        "answered_on": hlc_day(item.reply.hlc) if item.HasField("reply") else None,
        "record": item.SerializeToString(deterministic=True),
    }
