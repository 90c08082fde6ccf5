"""Fold of the 失信被执行人名单 (blacklist) entries into one row per listing.

Single writer: only the listing court's node (the subject's origin) lists, corrects or
delists an entry; an entry about another origin's listing is ignored by every node alike.
Entries of one origin are folded in index order, so the row depends only on the log.

A listing's subject is ``<origin>/bl/<index of the listing entry>``: the origin assigns it
(node/businesses/blacklist/prepare.py), and a listing under any other subject is ignored. So the
row of a subject can only ever be created by that one entry, and folding a listing never needs
the current row (``NEW_ROW_KINDS``): a receiver does not look it up.

Court authority: an origin states listings only for the courts its log-signing certificate
names (its court prefixes, issued by the federation CA; node/identity/court_authority.py). A
listing, correction or delisting whose court (the record's court and the court of its case
number) is outside them is ignored as ``court_not_served`` on every node alike: every node
holds the same certificate for the origin, so the same entries give the same rows. ``courts``
is None only where no certificate is at hand (pure tests of other rules).

The fold never raises on a validly signed entry whose content is unusable (unknown subject,
correction after delisting, ...): it returns an ``Ignored`` decision so that every node
ignores the same entries and replication never stalls on one bad fact. The origin validates
drafts against the domain rules before it appends them (node/), so such entries are rare.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence

from ccnode.v1 import log_pb2, payloads_pb2, state_pb2
from sync.domain.calendar import DEFAULT_CALENDAR
from sync.domain.case_number import case_court, court_served
from sync.entry import Header
from sync.folds.types import BLACKLIST_TABLE, REPRESENTATIVES_TABLE, Ignored, Row
from sync.ids import LISTING_SUBJECTS
from sync.payload import PayloadError, decode_payload

TABLE = BLACKLIST_TABLE
# The index of representatives (derive): who a listed organisation's consumption restriction
# binds with it (限制消费令: legal representative, principal managers, directly responsible
# persons, actual controller), by their resident ID.
REP_TABLE = REPRESENTATIVES_TABLE
KINDS = frozenset(
    {log_pb2.BLACKLIST_LISTED, log_pb2.BLACKLIST_CORRECTED, log_pb2.BLACKLIST_DELISTED}
)
# A listing creates the row of its own subject, which no earlier entry can have created.
NEW_ROW_KINDS = frozenset({log_pb2.BLACKLIST_LISTED})
_LISTED = log_pb2.BLACKLIST_LISTED
# The fold takes the origin's court prefixes (sync/folds/__init__.py fold_batch passes them).
COURT_BOUND = True
# The reason of an entry about a court its origin's certificate does not name.
COURT_NOT_SERVED = "court_not_served"
# A fixed-term entry is delisted within 3 working days after its term ends (法释〔2017〕7号
# art. 2), counted in the statutory calendar of this release (holidays and adjusted working
# weekends of the State Council notices). Every node computes the same date because the
# calendar is fixed per release and nodes with another calendar version do not peer
# (sync.domain.calendar.check_peer_calendar). A term ending in a year no notice covers yet is
# counted Monday–Friday there; ``refresh_due_on`` re-derives such a date under a newer release.
DELIST_WORKDAYS = 3
_FOLD_CALENDAR = DEFAULT_CALENDAR


def subject_prefix(origin: str) -> str:
    return LISTING_SUBJECTS.prefix(origin)


def listing_subject(origin: str, index: int) -> str:
    """The subject of the listing that is entry ``index`` of ``origin``'s log."""
    return LISTING_SUBJECTS.of(origin, index)


def id_key(debtor: payloads_pb2.Debtor) -> str:
    """The exact-match key of a debtor: resident ID, or credit code (organisation code for an
    organisation without one), upper-cased."""
    if debtor.type == payloads_pb2.PERSON:
        return debtor.id_number.strip().upper()
    return (debtor.credit_code or debtor.org_code).strip().upper()


def delist_due_on(term_end_on: str) -> str:
    """Term end + 3 working days ("" when there is no fixed term); ValueError if malformed."""
    if not term_end_on:
        return ""
    # A catch-up folds a listing per entry, and terms end on a few hundred distinct days:
    # each date is counted once per calendar (a malformed one raises every time).
    cached = _DUE_ON.get(term_end_on)
    if cached is not None and cached[0] is _FOLD_CALENDAR:
        return cached[1]
    end = dt.date.fromisoformat(term_end_on)
    due_on = _FOLD_CALENDAR.add_workdays(end, DELIST_WORKDAYS).isoformat()
    if len(_DUE_ON) >= _DUE_ON_MAX:
        _DUE_ON.clear()
    _DUE_ON[term_end_on] = (_FOLD_CALENDAR, due_on)
    return due_on


# delist_due_on's counted dates: term end -> (the calendar it was counted in, due date).
_DUE_ON: dict[str, tuple[object, str]] = {}
_DUE_ON_MAX = 4096


def refresh_due_on(row: Row) -> Row | None:
    """``row`` with its delisting deadline counted again in this release's calendar; None when
    the deadline is unchanged (or the row has none).

    The release that folded a listing (or its latest correction) counted the deadline. When a
    later release adds a year's notice, a deadline counted Monday–Friday through that year may
    move, and a node folding the same log afresh would get the new date: a node that keeps its
    rows across such an upgrade re-derives them with this to agree with it. Only listed rows
    with a term carry a deadline; the row is otherwise the same.
    """
    if row["status"] != "listed" or not row["term_end_on"]:
        return None
    due_on = delist_due_on(row["term_end_on"])
    if due_on == row["delist_due_on"]:
        return None
    item = state_of(row)
    item.delist_due_on = due_on
    return _row(item)


def derive(row: Row) -> dict[tuple[str, str], Row]:
    """The index rows of a listing's representatives: a function of the listing's row alone.
    Each (role, person) the record names has a row whose status is the listing's; those a
    correction removed keep theirs, marked "removed" (the listing's state remembers them), so
    the set of keys only grows and no row is left stale. Persons have none."""
    if row["debtor_type"] != "org":
        return {}
    item = state_of(row)
    out: dict[tuple[str, str], Row] = {}
    for rep in item.former_representatives:
        _rep_row(out, item.subject, rep, "removed")
    for rep in item.record.representatives:
        _rep_row(out, item.subject, rep, item.status)
    return out


def _rep_row(
    out: dict[tuple[str, str], Row], subject: str, rep: payloads_pb2.Representative, status: str
) -> None:
    key = representative_key(subject, rep)
    out[(REP_TABLE, key)] = {
        "key": key,
        "listing": subject,
        "id_key": rep.id_number.strip().upper(),
        "role": payloads_pb2.RepresentativeRole.Name(rep.role)
        if rep.role in _ROLE_NAMES
        else str(rep.role),
        "status": status,
    }


_ROLE_NAMES = frozenset(v.number for v in payloads_pb2.RepresentativeRole.DESCRIPTOR.values)


def representative_key(subject: str, rep: payloads_pb2.Representative) -> str:
    """The index row of one representative of listing ``subject``: one per role and person."""
    return f"{subject}/{rep.role}/{rep.id_number.strip().upper()}"


def state_of(row: Row) -> state_pb2.ListingState:
    return state_pb2.ListingState.FromString(row["record"])


def fold(
    row: Row | None,
    header: Header,
    payload: bytes | None,
    *,
    courts: Sequence[str] | None = None,
) -> Row | Ignored:
    """The row after applying one entry to the current row (None = no row yet); ``courts``:
    the court prefixes the origin may speak for (None: not checked)."""
    kind = header.kind
    if kind not in KINDS:
        return Ignored("not a blacklist entry")
    subject = header.subject
    # A listing under its own subject is within the origin's namespace too (the common case,
    # checked first); any other subject takes the checks in their order.
    if kind != _LISTED or subject != listing_subject(header.origin, header.index):
        if not subject.startswith(subject_prefix(header.origin)):
            return Ignored("subject is not in the origin's namespace (single writer)")
        if kind == _LISTED:
            return Ignored("a listing's subject must be <origin>/bl/<its index>")
    if payload is None:
        return Ignored("payload not held (redacted or purged)")
    try:
        body = decode_payload(kind, payload)
    except PayloadError as exc:
        return Ignored(str(exc))
    if kind == _LISTED:  # a catch-up's entry after entry: each field read once
        record = body.blacklist_listed.record
        court, case_number = record.court, record.case_number
        if courts is not None and not _codes_served(court, case_number, courts):
            return Ignored(COURT_NOT_SERVED)
        if row is not None:
            return Ignored("subject already listed")
        try:
            return _listed(header, record, court, case_number)
        except (ValueError, OverflowError) as exc:  # as below
            return Ignored(f"unusable content: {type(exc).__name__}")
    if courts is not None and not _served(row, header, body, courts):
        return Ignored(COURT_NOT_SERVED)
    try:
        return _apply(row, header, body)
    # An unknown enum value, a malformed date, a date whose term runs past year 9999: the same
    # outcome everywhere.
    except (ValueError, OverflowError) as exc:
        return Ignored(f"unusable content: {type(exc).__name__}")


def _served(
    row: Row | None, header: Header, body: payloads_pb2.Payload, courts: Sequence[str]
) -> bool:
    """Whether the origin may state this entry: its record's court and its case's court (a
    delisting: the listing's) start with one of the origin's court prefixes."""
    if header.kind == log_pb2.BLACKLIST_DELISTED:
        if row is None:
            return True  # ignored anyway: no such listing
        record = state_of(row).record
    elif header.kind == log_pb2.BLACKLIST_LISTED:
        record = body.blacklist_listed.record
    else:
        record = body.blacklist_corrected.record
    return _codes_served(record.court, record.case_number, courts)


def _codes_served(court: str, case_number: str, courts: Sequence[str]) -> bool:
    """_served of a record's court and case number."""
    if type(courts) is not tuple:
        assert not isinstance(courts, str), "courts is a sequence of prefixes, not one string"
        courts = tuple(courts)
    return _court_served(court, courts) and _court_served(case_court(case_number), courts)


# court_served of a (court code, prefixes) pair, kept: a federation has a few hundred court
# codes and an origin one set of prefixes, and every listing of a catch-up asks twice.
_court_served = functools.lru_cache(maxsize=4096)(court_served)


def _apply(row: Row | None, header: Header, body: payloads_pb2.Payload) -> Row | Ignored:
    if header.kind == log_pb2.BLACKLIST_LISTED:
        if row is not None:
            return Ignored("subject already listed")
        record = body.blacklist_listed.record
        return _listed(header, record, record.court, record.case_number)
    if row is None:
        return Ignored("no such listing")
    if row["origin"] != header.origin:
        return Ignored("only the listing node may change its entries")
    if row["status"] != "listed":
        return Ignored("listing already delisted")
    if header.kind == log_pb2.BLACKLIST_CORRECTED:
        return _corrected(row, header, body.blacklist_corrected)
    return _delisted(row, header, body.blacklist_delisted)


def _row(item: state_pb2.ListingState) -> Row:
    # A row per listing on the catch-up hot path: every message field is read once (each
    # read builds a new Python object).
    rec = item.record
    debtor = rec.debtor
    ground = rec.ground
    return {
        "key": item.subject,
        "origin": item.origin,
        "entry_id": item.entry_id,
        "status": item.status,
        "debtor_type": "person" if debtor.type == payloads_pb2.PERSON else "org",
        "id_key": id_key(debtor),
        "name": debtor.name,
        "case_number": rec.case_number,
        "court": rec.court,
        # An unknown value raises ValueError, as ListingGround.Name does.
        "ground": _GROUND_NAMES.get(ground) or payloads_pb2.ListingGround.Name(ground),
        "listed_on": rec.listed_on,
        "term_end_on": rec.term_end_on,
        "delist_due_on": item.delist_due_on,
        "delisted_on": item.delisted_on,
        "last_index": item.last_index,
        "record": item.SerializeToString(deterministic=True),
    }


_GROUND_NAMES: dict[int, str] = {
    value.number: value.name for value in payloads_pb2.ListingGround.DESCRIPTOR.values
}


def _listed(
    header: Header, record: payloads_pb2.BlacklistRecord, court: str, case_number: str
) -> Row:
    # The row of a new listing, built straight from the record (a row per listing on the
    # catch-up hot path): the same row as _row(ListingState(...)), which a test checks,
    # without building the state message and reading it back.
    origin = header.origin
    index = header.index
    subject = header.subject
    entry_id = f"{origin}/{index}"
    term_end_on = record.term_end_on
    due_on = delist_due_on(term_end_on)
    debtor = record.debtor
    person = debtor.type == payloads_pb2.PERSON
    ground = record.ground
    return {
        "key": subject,
        "origin": origin,
        "entry_id": entry_id,
        "status": "listed",
        "debtor_type": "person" if person else "org",
        "id_key": (debtor.id_number if person else debtor.credit_code or debtor.org_code)
        .strip()
        .upper(),
        "name": debtor.name,
        "case_number": case_number,
        "court": court,
        "ground": _GROUND_NAMES.get(ground) or payloads_pb2.ListingGround.Name(ground),
        "listed_on": record.listed_on,
        "term_end_on": term_end_on,
        "delist_due_on": due_on,
        "delisted_on": "",
        "last_index": index,
        "record": listed_item_bytes(
            subject, origin, entry_id, record.SerializeToString(deterministic=True), index, due_on
        ),
    }


def listed_item_bytes(
    subject: str, origin: str, entry_id: str, record: bytes, last_index: int, delist_due_on: str
) -> bytes:
    """``ListingState(subject, origin, entry_id, status="listed", record, last_index,
    delist_due_on).SerializeToString(deterministic=True)``, encoded directly: fields in number
    order, proto3 defaults (empty text, zero) left out, the record always present."""
    s, o, e, d = subject.encode(), origin.encode(), entry_id.encode(), delist_due_on.encode()
    return b'%b%b%b"\x06listed*%b%b%b' % (
        b"\n" + _varint(len(s)) + s if s else b"",  # field 1
        b"\x12" + _varint(len(o)) + o if o else b"",  # field 2
        b"\x1a" + _varint(len(e)) + e if e else b"",  # field 3 (4 is the constant status)
        _varint(len(record)) + record,  # field 5, always present
        b"H" + _varint(last_index) if last_index else b"",  # field 9
        b"R" + _varint(len(d)) + d if d else b"",  # field 10
    )


_SMALL = [bytes((value,)) for value in range(0x80)]


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


def _corrected(row: Row, header: Header, body: payloads_pb2.BlacklistCorrected) -> Row | Ignored:
    item = state_of(row)
    new = body.record
    if id_key(new.debtor) != row["id_key"] or new.court != item.record.court:
        return Ignored("a correction may not change the debtor's ID or the court")
    _remember_removed(item, new)
    item.record.CopyFrom(new)
    item.last_index = header.index
    item.delist_due_on = delist_due_on(new.term_end_on)
    return _row(item)


def _remember_removed(item: state_pb2.ListingState, new: payloads_pb2.BlacklistRecord) -> None:
    """Keep in ``former_representatives`` each (role, person) the correction drops, once; one
    the correction names again is current again."""
    current = {representative_key("", r) for r in new.representatives}
    former = {representative_key("", r): r for r in item.former_representatives}
    for rep in item.record.representatives:
        key = representative_key("", rep)
        if key not in current and key not in former:
            former[key] = rep
    kept = [r for key, r in sorted(former.items()) if key not in current]
    del item.former_representatives[:]
    item.former_representatives.extend(kept)


def _delisted(row: Row, header: Header, body: payloads_pb2.BlacklistDelisted) -> Row:
    item = state_of(row)
    item.status = "delisted"
    item.delisted_on = body.delisted_on
    item.delist_ground = body.ground
    item.delist_reason = body.reason
    item.credit_repair = body.credit_repair
    item.delist_ground_arose_on = body.ground_arose_on
    item.delist_act_due_on = body.act_due_on
    item.delisted_late = body.late
    item.delist_due_on = ""
    item.last_index = header.index
    return _row(item)
