"""The storage contract: a small Protocol with named errors, implemented by an in-memory twin
(node.store.memory) and by SQLAlchemy over SQLite or PostgreSQL (node.store.sql).

Ordering rule that every implementation keeps: ``append`` commits the entries, the
checkpoint, the new log state and the folded-state row changes in ONE transaction, and only
if the stored size still equals ``expected_size``. The node acknowledges (to a peer, to the
CLI) only after ``append`` returned. After a crash the node resumes from what the store holds
(its vector), never from a separate cursor.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

# Folded-state tables the store keeps; each row is a flat mapping of column -> value with a
# string primary key "key". Later business (tasks, seizures, lookups) adds tables here.
STATE_TABLES: dict[str, tuple[str, ...]] = {
    # 失信被执行人名单: one row per listing subject, folded from its origin's entries.
    "blacklist": (
        "key",  # subject, e.g. "chengdu/bl/42"
        "origin",
        "entry_id",  # the listing entry
        "status",  # "listed" | "delisted"
        "debtor_type",  # "person" | "org"
        "id_key",  # normalised ID number / credit code, for exact lookups
        "name",
        "case_number",
        "court",
        "ground",
        "listed_on",
        "term_end_on",
        "delist_due_on",
        "delisted_on",
        "last_index",
        "record",  # bytes: serialised ccnode.v1.ListingState
    ),
    # The persons a listed organisation's consumption restriction binds (限制消费令), derived
    # from its listing's row (sync/folds/blacklist.py derive): one row per listing, role and
    # person, found by the person's resident ID.
    "blacklist_representatives": (
        "key",  # "<listing subject>/<role number>/<ID>"
        "listing",  # the organisation's listing subject
        "id_key",  # the representative's resident ID, normalised
        "role",  # RepresentativeRole name, e.g. "LEGAL_REPRESENTATIVE"
        "status",  # the listing's "listed" | "delisted"; "removed" once a correction drops it
    ),
    # 跨区域财产联查: one row per lookup subject "<requester>/lookup/<index>", folded from the
    # request (requester's log) and the reply (target's log). Payload columns are filled only
    # on the two nodes of the audience.
    "lookups": (
        "key",
        "origin",  # the requester
        "target",
        "status",  # "pending" | "answered" | "denied"
        "case_number",
        "subject_key",  # SHA-256 hex of the debtor's identifier, for audit access
        "answered_on",  # court-local date of the reply, for daily quotas
        "record",  # bytes: serialised ccnode.v1.LookupState
    ),
    # Reads of personal data recorded in this node's own log (ACCESS_RECORDED).
    "access": (
        "key",  # subject "<node>/access/<index>"
        "origin",
        "actor",
        "subject_key",
        "record",  # bytes: serialised ccnode.v1.AccessState
    ),
    # Derived from an access row whose read concerned many subjects (AccessState.subject_keys):
    # one row per subject, key "<access key>/<n>", so a subject's reads are found by index.
    "access_subjects": (
        "key",
        "access",  # the access row's key
        "subject_key",
    ),
    # 委托执行: one row per task subject "<delegating node>/task/<index>", recomputed from the
    # task's events on every fold (two writers; sync/folds/tasks.py, docs/tasks.md).
    "tasks": (
        "key",  # subject, e.g. "chengdu/task/7"
        "origin",  # the delegating node (the subject's namespace)
        "receiving",  # the receiving node (the other member of the audience)
        "status",  # "unknown" | "delegated" | "accepted" | "in_progress" | "returned" | ...
        "scope",  # "WHOLE_CASE" | "MATTER" ("" when the payload is not held)
        "matter",
        "case_number",
        "delegating_court",
        "receiving_court",
        "delegated_on",  # ISO date of the delegation entry (from its HLC, CST)
        "record",  # bytes: serialised ccnode.v1.TaskState (events + folded state)
    ),
    # 查封、扣押、冻结 ledger: one row per seizure measure, derived from its task's row. Numbers
    # are decimal text (column kinds go by name, node/store/checks.py); the record is exact.
    "seizures": (
        "key",  # seizure id, "<task subject>/s<n>"
        "task",
        "case_number",
        "asset_id",
        "category",  # AssetCategory name
        "value_fen",
        "start_on",
        "end_on",
        "status",  # "in_effect" | "queued" | "released" | "void"
        "queue_position",
        "record",  # bytes: serialised ccnode.v1.SeizureState
    ),
}


class StoreError(Exception):
    """Base class of storage errors."""


class ConflictError(StoreError):
    """The log moved under the caller (stored size != expected_size): nothing was written."""


class IntegrityError(StoreError):
    """A write would break an invariant (duplicate index, unknown table or column, ...)."""


class StoreFull(StoreError):
    """The database or its disk is full: the write was rolled back, nothing committed is lost.
    Callers answer RESOURCE_EXHAUSTED; the operator frees space or grows the volume."""


@dataclass(slots=True)
class StoredEntry:
    """An entry as the store keeps it; never changed once built (not frozen for speed: one
    is built per received entry, see sync.entry.Entry)."""

    origin: str
    index: int
    kind: int
    subject: str
    actor: str
    hlc: int
    leaf_hash: bytes
    header: bytes
    salt: bytes
    payload: bytes | None


@dataclass(frozen=True, slots=True)
class OriginState:
    """What the node holds and has verified of one origin's log."""

    origin: str
    size: int
    root: bytes
    frontier: bytes  # sync.merkle.Frontier.to_bytes()
    checkpoint_note: str  # latest accepted signed checkpoint (may carry cosignatures)
    frozen: bool = False
    frozen_reason: str = ""


@dataclass(frozen=True, slots=True)
class PreparedAppend:
    """An append checked and laid out for writing (Store.prepare_append), not yet written.

    ``layout`` holds the entries and row changes in the store's own form (for SQL: tuples
    in column order; node.store.sql.prepare_sql_append). Picklable.
    """

    origin: str
    expected_size: int
    state: OriginState
    checkpoints: tuple[tuple[int, str], ...]
    layout: Any


@dataclass(slots=True)
class RowChange:
    """Upsert (row given) or delete (row None) of one folded-state row. Never changed once
    built; not frozen for speed (one per folded entry, see sync.entry.Entry)."""

    table: str
    key: str
    row: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class EvidenceRecord:
    origin: str
    smaller_note: str
    larger_note: str
    prefix_root: bytes
    consistency_proof: tuple[bytes, ...]
    detected_by: str
    detected_at_unix_ms: int


@dataclass(frozen=True, slots=True)
class Refusal:
    """Refused calls of one caller, method and reason within one UTC day: ``at_unix_ms`` and
    ``peer`` are the first call's, ``count`` how many calls (or refused items) it stands for."""

    at_unix_ms: int
    peer: str  # network address
    identity: str  # SAN URI or "" when none
    method: str
    reason: str
    count: int = 1


# A stored refusal's text fields are cut to these lengths (a caller chooses what it sends, so
# what it sends must not choose the size of the store); reasons come from a fixed vocabulary.
REFUSAL_PEER_CHARS_MAX = 100
REFUSAL_IDENTITY_CHARS_MAX = 200
REFUSAL_METHOD_CHARS_MAX = 100
REFUSAL_REASON_CHARS_MAX = 200
# Refusals of one (identity, method, reason) fold into one row per UTC day, so one caller adds
# at most one row per method and reason a day, whatever it sends; a row is kept at least this
# long (the operation-log rule: six months) and pruned once older.
REFUSAL_FOLD_MS = 86_400_000
REFUSAL_RETENTION_DAYS = 183
REFUSAL_RETENTION_MS = REFUSAL_RETENTION_DAYS * REFUSAL_FOLD_MS
# One read of refusals returns at most this many rows: ~600 bytes each at the lengths above,
# far within the gRPC message limit; readers page with ``offset``.
REFUSALS_PAGE_MAX = 1000


def clip_refusal(refusal: Refusal) -> Refusal:
    """The refusal as stored: text fields cut to their bounds, count at least 1."""
    return Refusal(
        refusal.at_unix_ms,
        refusal.peer[:REFUSAL_PEER_CHARS_MAX],
        refusal.identity[:REFUSAL_IDENTITY_CHARS_MAX],
        refusal.method[:REFUSAL_METHOD_CHARS_MAX],
        refusal.reason[:REFUSAL_REASON_CHARS_MAX],
        max(refusal.count, 1),
    )


def refusal_day(at_unix_ms: int) -> int:
    """The start of the UTC day of ``at_unix_ms``: refusals fold per (identity, method,
    reason, day)."""
    return at_unix_ms - at_unix_ms % REFUSAL_FOLD_MS


@dataclass(frozen=True, slots=True)
class PeerRecord:
    node_id: str
    address: str
    # Court code prefixes this node trusts the peer to serve (e.g. ("川01",)): whose cases
    # the peer may cite in asset lookups addressed to this node. Empty: none.
    court_prefixes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AgencyRecord:
    """A joint-punishment agency admitted to the Agency service (``ccnode agencies add``);
    None: the node's default (node.config.Agencies)."""

    name: str  # <name> of spiffe://<td>/agency/<name>
    rate_per_s: float | None
    burst: int | None
    daily_quota: int | None
    added_at_unix_ms: int
    added_by: str  # the officer who admitted it


@dataclass(frozen=True, slots=True)
class ListingChange:
    """One position of the blacklist change feed: listing ``key`` took, in one commit, the
    state that its entry ``last_index`` made (the row as it stands now: ``row``)."""

    seq: int  # node-local, gapless from 1, in commit order
    key: str
    last_index: int
    row: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class OfficerRecord:
    """An officer registered at one of this node's courts (local data, never replicated):
    the ``actor`` of an officer's steps names ``officer_id`` (sync/domain/registers.py)."""

    officer_id: str
    court: str  # court code, e.g. 川0104
    name: str
    role: str  # sync.domain.registers.OFFICER_ROLES


@dataclass(frozen=True, slots=True)
class CasePartyRecord:
    """A debtor of an enforcement case of this node's courts (local data, never replicated)."""

    case_number: str  # normalised
    party_id: str  # normalised resident ID or credit code (personal data)
    party_type: str  # "person" | "org"
    name: str = ""


@dataclass(frozen=True, slots=True)
class AssetRow:
    """One record of this region's asset registry (local data, not a log)."""

    asset_id: str  # stable id within the region's registry
    owner_id: str  # normalised resident ID or credit code
    category: int  # payloads_pb2.AssetCategory
    record: bytes  # serialised payloads_pb2.AssetRecord


@dataclass(frozen=True, slots=True)
class RowQuery:
    """Filters over columns of one table, ordered by key, paged.

    Text ranges compare by code point on every backend; a NULL cell never matches a range.
    ``after_key`` pages by key (keyset paging): it is a filter like the others, so the total
    counts only the matches after it, and a scan that goes on from the last key it read costs
    each page the same whatever its position (an offset re-reads every row before it).
    """

    table: str
    equals: Mapping[str, Any] = field(default_factory=dict)
    prefix: Mapping[str, str] = field(default_factory=dict)  # column LIKE 'value%'
    above: Mapping[str, str] = field(default_factory=dict)  # column > value (text)
    below: Mapping[str, str] = field(default_factory=dict)  # column < value (text)
    # column IN values (at most ROW_QUERY_AMONG_MAX; none matches no row): many lookups of an
    # indexed column in one query (e.g. the listings of every debtor of an import).
    among: Mapping[str, Collection[Any]] = field(default_factory=dict)
    after_key: str | None = None  # key > after_key
    limit: int = 100
    offset: int = 0


class LogReader(Protocol):
    """What any reader of replicated logs needs: sizes, entries, leaf hashes, checkpoints."""

    def vector(self) -> dict[str, int]: ...

    def origin_state(self, origin: str) -> OriginState | None: ...

    def origin_states(self) -> list[OriginState]: ...

    def entries(
        self, origin: str, start: int, end: int, *, with_payload: bool = True
    ) -> list[StoredEntry]: ...

    def leaf_hashes(self, origin: str, start: int, end: int) -> list[bytes]: ...

    def subtree_hashes(self, origin: str, nodes: Sequence[tuple[int, int]]) -> list[bytes]:
        """The hashes of complete subtrees (level, index) of the log (sync.tiles.NodeId), in
        the order asked; level 0 is a leaf hash. Raise ValueError if one is not stored (not
        below the log's size)."""
        ...

    def entries_by_subject(self, subjects: Iterable[str]) -> list[StoredEntry]: ...

    def checkpoint_at(self, origin: str, size: int) -> str | None: ...

    def checkpoint_sizes(self, origin: str, after: int = -1) -> list[int]:
        """The sizes of the origin's stored checkpoints above ``after``, ascending (a reader
        that holds the earlier ones asks for the newer only)."""
        ...

    def cosignatures(self, origin: str, size: int) -> list[tuple[str, str]]: ...


class LogWriter(LogReader, Protocol):
    """Appending to logs and the notes kept beside them (the local log, replication)."""

    def append(
        self,
        *,
        origin: str,
        expected_size: int,
        entries: Sequence[StoredEntry],
        state: OriginState,
        changes: Sequence[RowChange] = (),
        checkpoints: Sequence[tuple[int, str]] = (),
        trusted_rows: bool = False,
    ) -> None:
        """Commit entries [expected_size, state.size), the new origin state (with its
        checkpoint, also kept in checkpoint history) and row changes in one transaction.
        Raise ConflictError if the stored size != expected_size; IntegrityError if the
        entries are not exactly indexes expected_size..state.size-1 of ``origin``.
        ``checkpoints`` are (size, note) of intermediate checkpoints signed within this
        commit, kept in the checkpoint history in the same transaction.
        ``trusted_rows``: only for node code passing rows built by sync.folds (right
        columns, types and keys by construction): those are not checked again, except for
        text with NUL characters (rules.collapse_changes)."""
        ...

    def prepare_append(
        self,
        *,
        origin: str,
        expected_size: int,
        entries: Sequence[StoredEntry],
        state: OriginState,
        changes: Sequence[RowChange] = (),
        checkpoints: Sequence[tuple[int, str]] = (),
        trusted_rows: bool = False,
    ) -> PreparedAppend:
        """The checks and layout of ``append`` without touching the database (CPU only, any
        thread), raising its IntegrityErrors; ``commit_append`` then writes it. A writer can
        so prepare the next batch while the store writes this one."""
        ...

    def commit_append(self, prepared: PreparedAppend) -> None:
        """Write a prepared append in one transaction, with the errors of ``append``
        (ConflictError if the stored size moved since). ``append`` = prepare + commit."""
        ...

    def commit_appends(self, prepared: Sequence[PreparedAppend]) -> tuple[int, StoreError | None]:
        """Write prepared appends in order, each whole or not at all, stopping at the first
        that ``commit_append`` would refuse: (how many were written, that refusal or None).
        A SQL store writes them in one transaction (a savepoint each), so a catch-up pays a
        commit per group of batches, not per batch; an error of the database itself (a full
        disk) raises, and then none of them was written."""
        ...

    def update_checkpoint_note(self, origin: str, size: int, note: str) -> None:
        """Replace the stored note of (origin, size) — same body, more cosignatures."""
        ...

    def add_cosignature(self, origin: str, size: int, witness: str, line: str) -> bool: ...

    def purge_payload(self, origin: str, index: int) -> bool: ...

    def freeze(self, origin: str, reason: str) -> None: ...


class EvidenceStore(Protocol):
    """Equivocation evidence: stored once, read by peers and auditors."""

    def add_evidence(self, evidence: EvidenceRecord) -> bool: ...

    def evidence(self) -> list[EvidenceRecord]: ...


class KeyStore(Protocol):
    """Origin log keys (log-signing certificates learned from peers, DER)."""

    def put_origin_key(self, origin: str, certificate_der: bytes) -> None: ...

    def origin_keys(self) -> dict[str, bytes]: ...


class PeerStore(Protocol):
    """The configured peers."""

    def put_peer(self, peer: PeerRecord) -> None: ...

    def remove_peer(self, node_id: str) -> bool: ...

    def peers(self) -> list[PeerRecord]: ...


class RefusalStore(Protocol):
    """Refused calls and batches, kept for admins and auditors.

    ``record_refusal`` clips the text fields (``clip_refusal``), adds the count to the row of
    the same identity, method and reason of the same UTC day if there is one, else adds a row
    (and prunes rows older than ``REFUSAL_RETENTION_MS`` before the new one). ``refusals``
    reads rows newest first, at most ``REFUSALS_PAGE_MAX``, skipping ``offset``;
    ``refusal_count`` is the sum of the rows' counts."""

    def record_refusal(self, refusal: Refusal) -> None: ...

    def refusals(self, limit: int = 100, offset: int = 0) -> list[Refusal]: ...

    def refusal_count(self) -> int: ...


class AgencyStore(Protocol):
    """The agencies admitted to the Agency service (local configuration, never replicated)."""

    def put_agency(self, agency: AgencyRecord) -> None: ...

    def remove_agency(self, name: str) -> bool: ...

    def agencies(self) -> list[AgencyRecord]: ...


class ChangeFeedStore(Protocol):
    """The blacklist change feed: every commit that changes a listing row also appends, in
    the same transaction, one position per changed listing, numbered 1, 2, 3, ... in commit
    order. It is this node's own numbering (two nodes number the same changes differently)
    and a reader resumes from the last position it read: nothing is skipped or repeated."""

    def blacklist_changes(self, after_seq: int, limit: int) -> list[ListingChange]:
        """Positions after ``after_seq`` in order, at most ``limit``, each with its listing's
        current row."""
        ...

    def blacklist_change_head(self) -> int:
        """The last position (0: none yet)."""
        ...


class RowStore(Protocol):
    """Folded state: rows by key, and queries over them."""

    def get_rows(self, table: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]: ...

    def snapshot(self) -> AbstractContextManager[None]:
        """Within the block, this thread's reads share one connection and one read
        transaction (one consistent snapshot, and no connection checkout or BEGIN per read):
        the writer prepares a commit group under it. Writes are not affected."""
        ...

    def query_rows(self, query: RowQuery) -> tuple[list[dict[str, Any]], int]:
        """Matching rows (paged) and the total count of matches."""
        ...


class RegisterStore(Protocol):
    """The registers of officers and of case parties (local data: never replicated). ``put_*``
    insert or replace by key (officer id; case number and party id)."""

    def put_officer(self, officer: OfficerRecord) -> None: ...

    def remove_officer(self, officer_id: str) -> bool: ...

    def officer(self, officer_id: str) -> OfficerRecord | None: ...

    def officers(self) -> list[OfficerRecord]:
        """Every officer, by court then officer id."""
        ...

    def put_case_party(self, party: CasePartyRecord) -> None: ...

    def remove_case_party(self, case_number: str, party_id: str) -> bool: ...

    def is_case_party(self, case_number: str, party_id: str) -> bool: ...

    def case_parties(self, case_number: str = "") -> list[CasePartyRecord]:
        """The parties of one case ("" = every case), by case number then party id."""
        ...


class AssetStore(Protocol):
    """This region's asset registry (local data: never replicated)."""

    def put_assets(self, assets: Sequence[AssetRow]) -> None:
        """Insert or replace (by asset_id) the given records in one transaction."""
        ...

    def assets_by_owner(self, owner_id: str, categories: Iterable[int]) -> list[AssetRow]:
        """The owner's assets of the given categories, ordered by asset_id."""
        ...

    def count_assets(self) -> int: ...


@dataclass(frozen=True, slots=True)
class PayloadPurge:
    """A payload this store purged under a retention rule (sync/retention.py): when, and by
    which rule. The entry's header, salt and leaf hash stay; only the payload is gone."""

    origin: str
    index: int
    purged_at_unix_ms: int
    rule: str


@dataclass(frozen=True, slots=True)
class HeldPayload:
    """An entry whose payload this store still holds (its header, without the payload)."""

    origin: str
    index: int
    kind: int
    subject: str
    header: bytes


# The holdings of at most this many subjects are read per call (bounded batches).
HELD_SUBJECTS_MAX = 1000


class RetentionStore(Protocol):
    """Purging payloads of closed matters and remembering that (and why) they were purged.

    ``purge_payloads`` clears, in ONE transaction, the payloads of the given entries that are
    still held and records each as purged at ``at_unix_ms`` by ``rule``; it returns how many it
    purged (entries already without a payload are left alone and not counted). Headers, leaf
    hashes, checkpoints and folded rows are untouched, so every proof stays valid."""

    def purge_payloads(
        self, entries: Sequence[tuple[str, int]], *, at_unix_ms: int, rule: str
    ) -> int: ...

    def payload_purges(
        self, entries: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], PayloadPurge]:
        """The purge records of those of ``entries`` that were purged by retention."""
        ...

    def purge_counts(self) -> dict[str, int]:
        """How many payloads were purged, per rule."""
        ...

    def held_payloads(self, subjects: Iterable[str]) -> list[HeldPayload]:
        """Entries of these subjects (at most HELD_SUBJECTS_MAX) whose payload is held, in
        (origin, index) order."""
        ...


class MetaStore(Protocol):
    """Node-local notes (never replicated) and the rewrite of folded rows they go with, e.g.
    delisting deadlines counted again after a holiday-calendar upgrade."""

    def get_meta(self, key: str) -> str | None: ...

    def put_meta(self, key: str, value: str) -> None: ...

    def rewrite_rows(self, changes: Sequence[RowChange], *, meta: Mapping[str, str]) -> None:
        """Write row changes (checked like ``append``'s) and notes in ONE transaction, so a
        rewrite interrupted half-way is redone whole next time."""
        ...


class FoldedLogStore(LogWriter, RowStore, Protocol):
    """Appending to logs together with the folded rows they change: the local log and the
    replica, which fold over the current rows."""


class Store(
    FoldedLogStore,
    EvidenceStore,
    KeyStore,
    PeerStore,
    RefusalStore,
    RowStore,
    AssetStore,
    RetentionStore,
    MetaStore,
    AgencyStore,
    ChangeFeedStore,
    RegisterStore,
    Protocol,
):
    """The whole contract, implemented by MemoryStore and SqlStore. Only the runtime holds a
    Store; every other part is handed the narrow protocols above that it uses."""

    def close(self) -> None: ...


class AppendInTwoSteps(ABC):
    """``Store.append`` as ``commit_append(prepare_append(...))``, for the stores."""

    @abstractmethod
    def prepare_append(
        self,
        *,
        origin: str,
        expected_size: int,
        entries: Sequence[StoredEntry],
        state: OriginState,
        changes: Sequence[RowChange] = (),
        checkpoints: Sequence[tuple[int, str]] = (),
        trusted_rows: bool = False,
    ) -> PreparedAppend: ...

    @abstractmethod
    def commit_append(self, prepared: PreparedAppend) -> None: ...

    def commit_appends(self, prepared: Sequence[PreparedAppend]) -> tuple[int, StoreError | None]:
        """One ``commit_append`` after another (a store with transactions overrides it)."""
        for position, one in enumerate(prepared):
            try:
                self.commit_append(one)
            except (ConflictError, IntegrityError) as exc:
                return position, exc
        return len(prepared), None

    def append(
        self,
        *,
        origin: str,
        expected_size: int,
        entries: Sequence[StoredEntry],
        state: OriginState,
        changes: Sequence[RowChange] = (),
        checkpoints: Sequence[tuple[int, str]] = (),
        trusted_rows: bool = False,
    ) -> None:
        self.commit_append(
            self.prepare_append(
                origin=origin,
                expected_size=expected_size,
                entries=entries,
                state=state,
                changes=changes,
                checkpoints=checkpoints,
                trusted_rows=trusted_rows,
            )
        )
