"""Is this subject on any region's list? The one check every reader of the blacklist uses.

A subject (a person by resident ID, an organisation by credit code) is on the list when a
listing names it as the debtor, and — for a person — also when a listing of an organisation
names them as one of the persons its consumption restriction binds (限制消费令: the legal
representative 法定代表人, principal managers 主要负责人, directly responsible persons 直接责任人员,
the actual controller 实际控制人; DOMAIN.md). The node's folded state holds every region's
listings, so the answer covers the federation, offline.

``check_subject`` reads the store (call it in a reader thread: ``db.read(check_subject,
db.store, ...)``); the court's Admin search, the agency service and the public disclosure page
all answer from it and differ only in what they show of the hits.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ccnode.v1 import payloads_pb2, state_pb2
from node.store.base import RowQuery, RowStore
from node.store.checks import ROW_QUERY_AMONG_MAX
from sync.domain.blacklist import RepresentativeRole
from sync.domain.blacklist_codec import representative_role
from sync.folds import blacklist as bl_fold

# Rows per query: a page of listings for up to ROW_QUERY_AMONG_MAX identifiers.
_PAGE_ROWS = 1000

__all__ = [
    "HITS_MAX",
    "STATUSES",
    "SubjectCheck",
    "SubjectHit",
    "check_subject",
    "check_subjects",
    "listings_by_id",
    "name_key",
    "normalised_id",
]

# Hits read of each kind (as debtor, as representative): far above any real subject's, a
# bound on the work of one check. A check that reaches it says so (``truncated``).
HITS_MAX: Final = 500
STATUSES: Final = frozenset({"listed", "delisted"})


@dataclass(frozen=True, slots=True)
class SubjectHit:
    """One listing that concerns the subject: as its debtor (``role`` None), or as a person
    the listed organisation's consumption restriction binds (``representative`` as the
    listing records them, unmasked: the caller masks what it shows)."""

    listing: state_pb2.ListingState
    role: RepresentativeRole | None = None
    representative: payloads_pb2.Representative | None = None

    @property
    def listed(self) -> bool:
        return self.listing.status == "listed"

    @property
    def reason_en(self) -> str:
        """Why this listing concerns the subject, e.g. "legal representative of 某某有限公司
        (listing chengdu/bl/3)"."""
        if self.role is None:
            return f"listed debtor (listing {self.listing.subject})"
        org = self.listing.record.debtor.name
        return f"{self.role.label_en} of {org} (listing {self.listing.subject})"

    @property
    def reason_zh(self) -> str:
        if self.role is None:
            return f"失信被执行人（{self.listing.subject}）"
        org = self.listing.record.debtor.name
        return f"{org}的{self.role.label_zh}（{self.listing.subject}）"


@dataclass(frozen=True, slots=True)
class SubjectCheck:
    hits: tuple[SubjectHit, ...]  # debtor hits first, then representative hits; by subject
    truncated: bool = False  # HITS_MAX reached for one kind: more listings exist

    @property
    def listed(self) -> bool:
        """Whether any listing binds the subject now (listed, not delisted)."""
        return any(hit.listed for hit in self.hits)

    @property
    def as_debtor(self) -> tuple[SubjectHit, ...]:
        return tuple(hit for hit in self.hits if hit.role is None)

    @property
    def as_representative(self) -> tuple[SubjectHit, ...]:
        return tuple(hit for hit in self.hits if hit.role is not None)


def name_key(name: str) -> str:
    """The exact-match form of a name: Unicode NFKC (full-width letters and digits as their
    ASCII forms), surrounding space removed. Nothing else is folded: no partial match."""
    return unicodedata.normalize("NFKC", name).strip()


def normalised_id(id_number: str) -> str:
    """The form an identifier is stored in (``id_key``): a resident ID or credit code."""
    return id_number.strip().upper()


def check_subject(
    store: RowStore,
    id_number: str,
    *,
    name: str | None = None,
    statuses: Collection[str] = STATUSES,
    debtors: bool = True,
    representatives: bool = True,
) -> SubjectCheck:
    """The listings that concern the subject with this resident ID or credit code, in every
    region the store holds.

    ``name``: when given, a hit counts only if the name matches exactly too (``name_key``):
    the debtor's name for a debtor hit, the representative's recorded name for a
    representative hit. ``statuses``: "listed" and/or "delisted". ``debtors``: the listings
    of this subject as the debtor (an Admin search reads those itself, paged).
    ``representatives``: the organisations' listings that name this person as a
    representative (persons' IDs only: a credit code is never a representative's).
    """
    (result,) = check_subjects(
        store,
        [(id_number, name)],
        statuses=statuses,
        debtors=debtors,
        representatives=representatives,
    )
    return result


def check_subjects(
    store: RowStore,
    subjects: Sequence[tuple[str, str | None]],
    *,
    statuses: Collection[str] = STATUSES,
    debtors: bool = True,
    representatives: bool = True,
) -> list[SubjectCheck]:
    """``check_subject`` of many (ID, name or None) subjects at once, in order: a few
    queries per ROW_QUERY_AMONG_MAX identifiers (an agency screening applicants in bulk)."""
    wanted = frozenset(statuses) & STATUSES
    keys = [normalised_id(i) for i, _ in subjects]
    present = [k for k in keys if k]
    as_debtor = listings_by_id(store, present, statuses=wanted) if debtors and wanted else {}
    as_rep = _representative_rows(store, present, wanted) if representatives and wanted else {}
    rep_listings = store.get_rows(
        bl_fold.TABLE, {row["listing"] for rows in as_rep.values() for row in rows}
    )
    out: list[SubjectCheck] = []
    for key, (_, name) in zip(keys, subjects, strict=True):
        if not key or not wanted:
            out.append(SubjectCheck(()))
            continue
        want_name = name_key(name) if name is not None else None
        rows = as_debtor.get(key, [])
        hits = [
            SubjectHit(bl_fold.state_of(row))
            for row in rows[:HITS_MAX]
            if want_name is None or name_key(row["name"] or "") == want_name
        ]
        index = as_rep.get(key, [])
        hits += _representative_hits(index[:HITS_MAX], rep_listings, want_name)
        out.append(SubjectCheck(tuple(hits), len(rows) > HITS_MAX or len(index) > HITS_MAX))
    return out


def listings_by_id(
    store: RowStore, id_numbers: Iterable[str], *, statuses: Collection[str] = STATUSES
) -> dict[str, list[dict[str, Any]]]:
    """Per normalised identifier, the listing rows naming it as the debtor (key order; only
    rows in ``statuses``). An identifier that finds nothing maps to []."""
    return _rows_by_id(store, bl_fold.TABLE, id_numbers, statuses)


def _representative_rows(
    store: RowStore, ids: Sequence[str], statuses: frozenset[str]
) -> dict[str, list[dict[str, Any]]]:
    """The same of the representatives' index rows (persons an organisation's listing binds)."""
    return _rows_by_id(store, bl_fold.REP_TABLE, ids, statuses)


def _rows_by_id(
    store: RowStore, table: str, id_numbers: Iterable[str], statuses: Collection[str]
) -> dict[str, list[dict[str, Any]]]:
    """Per normalised identifier, the rows of ``table`` with that ``id_key`` in ``statuses``,
    read ROW_QUERY_AMONG_MAX identifiers a query."""
    wanted = sorted({normalised_id(i) for i in id_numbers if i.strip()})
    found: dict[str, list[dict[str, Any]]] = {key: [] for key in wanted}
    for start in range(0, len(wanted), ROW_QUERY_AMONG_MAX):
        for row in _rows_among(store, table, wanted[start : start + ROW_QUERY_AMONG_MAX]):
            # The status is filtered here, not in the query: with it, SQLite would read the
            # (status, term_end_on) index (every listed row) instead of the id_key index.
            if row["status"] in statuses:
                found[row["id_key"]].append(row)
    return found


def _rows_among(store: RowStore, table: str, ids: Collection[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        rows, total = store.query_rows(
            RowQuery(table=table, among={"id_key": ids}, after_key=after, limit=_PAGE_ROWS)
        )
        out.extend(rows)
        if len(rows) >= total or not rows:
            return out
        after = rows[-1]["key"]


def _representative_hits(
    index: Sequence[dict[str, Any]],
    listings: dict[str, dict[str, Any]],
    want_name: str | None,
) -> list[SubjectHit]:
    hits = []
    for row in index:
        listing_row = listings.get(row["listing"])
        if listing_row is None:  # pragma: no cover - derived in the same transaction
            continue
        listing = bl_fold.state_of(listing_row)
        # The record is the truth the index row was derived from: take the representative
        # (role and name) from it.
        for rep in listing.record.representatives:
            if (
                bl_fold.representative_key(listing.subject, rep) == row["key"]
                and (want_name is None or name_key(rep.name) == want_name)
                and (role := representative_role(rep.role)) is not None
            ):
                hits.append(SubjectHit(listing, role, rep))
    return hits
