"""The in-memory twin of the SQL store: same contract, same errors, same ordering.

Used by tests and simulations that need a Store without a database, and as the reference the
conformance suite holds the SQL store to. One lock serialises every call; each write checks
everything it can refuse BEFORE it mutates anything, so a refused write leaves no trace.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from node.store.asset_checks import check_assets, check_categories, check_court_prefixes
from node.store.base import (
    HELD_SUBJECTS_MAX,
    REFUSAL_FOLD_MS,
    REFUSAL_RETENTION_MS,
    REFUSALS_PAGE_MAX,
    STATE_TABLES,
    AgencyRecord,
    AppendInTwoSteps,
    AssetRow,
    CasePartyRecord,
    ConflictError,
    EvidenceRecord,
    HeldPayload,
    IntegrityError,
    ListingChange,
    OfficerRecord,
    OriginState,
    PayloadPurge,
    PeerRecord,
    PreparedAppend,
    Refusal,
    RowChange,
    RowQuery,
    StoredEntry,
    clip_refusal,
    refusal_day,
)
from node.store.checks import (
    KEY_COLUMN,
    check_append,
    check_query,
    check_range,
    check_table,
    collapse_changes,
    empty_state,
    full_row,
)
from node.store.layout import LISTING_TABLE, listing_changes
from sync import tiles
from sync.merkle import Frontier


class MemoryStore(AppendInTwoSteps):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._origins: dict[str, OriginState] = {}
        # Per origin, entries by index: the list position IS the index (logs are gapless).
        self._entries: dict[str, list[StoredEntry]] = {}
        # Per origin, the hashes of complete subtrees of level >= 4 (sync.tiles).
        self._nodes: dict[str, dict[tuple[int, int], bytes]] = {}
        self._by_subject: dict[str, list[tuple[str, int]]] = {}
        self._checkpoints: dict[str, dict[int, str]] = {}
        self._cosignatures: dict[tuple[str, int], dict[str, str]] = {}
        self._evidence: list[EvidenceRecord] = []
        self._evidence_keys: set[tuple[str, str, str]] = set()
        self._origin_keys: dict[str, bytes] = {}
        self._peers: dict[str, PeerRecord] = {}
        self._refusals: list[Refusal] = []
        self._rows: dict[str, dict[str, dict[str, Any]]] = {table: {} for table in STATE_TABLES}
        self._assets: dict[str, AssetRow] = {}
        self._listing_changes: list[tuple[str, int]] = []  # position n = item n - 1
        self._agencies: dict[str, AgencyRecord] = {}
        self._officers: dict[str, OfficerRecord] = {}
        self._parties: dict[tuple[str, str], CasePartyRecord] = {}
        self._assets_by_owner: dict[str, set[str]] = {}
        self._purges: dict[tuple[str, int], PayloadPurge] = {}
        self._meta: dict[str, str] = {}

    # ---- logs

    def vector(self) -> dict[str, int]:
        with self._lock:
            return {origin: state.size for origin, state in sorted(self._origins.items())}

    def origin_state(self, origin: str) -> OriginState | None:
        with self._lock:
            return self._origins.get(origin)

    def origin_states(self) -> list[OriginState]:
        with self._lock:
            return [self._origins[origin] for origin in sorted(self._origins)]

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
        check_append(origin, expected_size, entries, state, checkpoints)
        return PreparedAppend(
            origin=origin,
            expected_size=expected_size,
            state=state,
            checkpoints=tuple(checkpoints),
            layout=_MemoryLayout(
                tuple(entries), tuple(collapse_changes(changes, trusted=trusted_rows))
            ),
        )

    def commit_append(self, prepared: PreparedAppend) -> None:
        if not isinstance(prepared.layout, _MemoryLayout):
            raise IntegrityError("prepared by another kind of store")
        origin = prepared.origin
        expected_size = prepared.expected_size
        entries = prepared.layout.entries
        state = prepared.state
        checkpoints = prepared.checkpoints
        final_changes = prepared.layout.changes
        with self._lock:
            stored = self._origins.get(origin)
            stored_size = stored.size if stored is not None else 0
            if stored_size != expected_size:
                raise ConflictError("stored size != expected_size")
            if stored is not None and stored.frozen:
                raise ConflictError("origin is frozen")
            if stored is not None and not entries and stored.root != state.root:
                raise IntegrityError("state.root differs from the stored root at the same size")
            history = self._checkpoints.setdefault(origin, {})
            known_note = history.get(state.size)
            if known_note is not None and known_note != state.checkpoint_note:
                raise IntegrityError(
                    "a different checkpoint note is stored at this size "
                    "(use update_checkpoint_note to add cosignatures)"
                )
            # The log's frontier from its own nodes (the state's is opaque to the store).
            frontier_nodes = tiles.frontier_nodes(expected_size)
            frontier = Frontier(expected_size, self._subtree_hashes(origin, frontier_nodes))
            nodes = tiles.completed_nodes(frontier, [entry.leaf_hash for entry in entries])
            # Nothing below can fail: the write is all or nothing.
            stored_nodes = self._nodes.setdefault(origin, {})
            for level, index, node in nodes:
                stored_nodes[(level, index)] = node
            log = self._entries.setdefault(origin, [])
            for entry in entries:
                log.append(entry)
                self._by_subject.setdefault(entry.subject, []).append((origin, entry.index))
            history.update(checkpoints)  # intermediate checkpoints signed in this commit
            history[state.size] = state.checkpoint_note
            self._origins[origin] = state
            for change in final_changes:
                rows = self._rows[change.table]
                if change.row is None:
                    rows.pop(change.key, None)
                else:
                    rows[change.key] = full_row(change.table, change.key, change.row)
            self._listing_changes.extend(listing_changes(final_changes))

    def entries(
        self, origin: str, start: int, end: int, *, with_payload: bool = True
    ) -> list[StoredEntry]:
        check_range(start, end)
        with self._lock:
            selected = self._entries.get(origin, [])[start:end]
        if with_payload:
            return selected
        return [dataclasses.replace(entry, payload=None) for entry in selected]

    def leaf_hashes(self, origin: str, start: int, end: int) -> list[bytes]:
        check_range(start, end)
        with self._lock:
            return [entry.leaf_hash for entry in self._entries.get(origin, [])[start:end]]

    def subtree_hashes(self, origin: str, nodes: Sequence[tuple[int, int]]) -> list[bytes]:
        with self._lock:
            return self._subtree_hashes(origin, list(nodes))

    def _subtree_hashes(self, origin: str, wanted: list[tuple[int, int]]) -> list[bytes]:
        """subtree_hashes with the lock held."""
        log = self._entries.get(origin, [])
        stored_nodes = self._nodes.get(origin, {})
        found: dict[tuple[int, int], bytes] = {}
        for level, index in tiles.stored_nodes(wanted):
            if level == 0 and index < len(log):
                found[(level, index)] = log[index].leaf_hash
            elif (level, index) in stored_nodes:
                found[(level, index)] = stored_nodes[(level, index)]
        return tiles.assemble(wanted, found)

    def entries_by_subject(self, subjects: Iterable[str]) -> list[StoredEntry]:
        with self._lock:
            positions = sorted(
                {
                    position
                    for subject in set(subjects)
                    for position in self._by_subject.get(subject, [])
                }
            )
            return [self._entries[origin][index] for origin, index in positions]

    def purge_payload(self, origin: str, index: int) -> bool:
        with self._lock:
            log = self._entries.get(origin, [])
            if not 0 <= index < len(log) or log[index].payload is None:
                return False
            log[index] = dataclasses.replace(log[index], payload=None)
            return True

    # ---- retention

    def purge_payloads(
        self, entries: Sequence[tuple[str, int]], *, at_unix_ms: int, rule: str
    ) -> int:
        if not rule:
            raise IntegrityError("purge_payloads: a rule is required")
        with self._lock:
            purged = 0
            for origin, index in sorted(set(entries)):
                log = self._entries.get(origin, [])
                if not 0 <= index < len(log) or log[index].payload is None:
                    continue
                log[index] = dataclasses.replace(log[index], payload=None)
                self._purges[(origin, index)] = PayloadPurge(origin, index, at_unix_ms, rule)
                purged += 1
            return purged

    def payload_purges(
        self, entries: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], PayloadPurge]:
        with self._lock:
            return {key: self._purges[key] for key in set(entries) if key in self._purges}

    def purge_counts(self) -> dict[str, int]:
        with self._lock:
            counts: dict[str, int] = {}
            for purge in self._purges.values():
                counts[purge.rule] = counts.get(purge.rule, 0) + 1
            return dict(sorted(counts.items()))

    def held_payloads(self, subjects: Iterable[str]) -> list[HeldPayload]:
        wanted = set(subjects)
        if len(wanted) > HELD_SUBJECTS_MAX:
            raise IntegrityError(f"held_payloads: at most {HELD_SUBJECTS_MAX} subjects")
        with self._lock:
            positions = sorted({p for subject in wanted for p in self._by_subject.get(subject, [])})
            held = [self._entries[origin][index] for origin, index in positions]
            return [
                HeldPayload(e.origin, e.index, e.kind, e.subject, e.header)
                for e in held
                if e.payload is not None
            ]

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            return self._meta.get(key)

    def put_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._meta[key] = value

    def rewrite_rows(self, changes: Sequence[RowChange], *, meta: Mapping[str, str]) -> None:
        final_changes = collapse_changes(changes)  # raises before anything changes
        with self._lock:
            for change in final_changes:
                rows = self._rows[change.table]
                if change.row is None:
                    rows.pop(change.key, None)
                else:
                    rows[change.key] = full_row(change.table, change.key, change.row)
            self._meta.update(meta)

    # ---- checkpoints, cosignatures, evidence

    def checkpoint_at(self, origin: str, size: int) -> str | None:
        with self._lock:
            return self._checkpoints.get(origin, {}).get(size)

    def checkpoint_sizes(self, origin: str, after: int = -1) -> list[int]:
        with self._lock:
            return sorted(s for s in self._checkpoints.get(origin, {}) if s > after)

    def update_checkpoint_note(self, origin: str, size: int, note: str) -> None:
        with self._lock:
            history = self._checkpoints.get(origin, {})
            if size not in history:
                raise IntegrityError("no checkpoint is stored for this origin and size")
            history[size] = note
            stored = self._origins[origin]
            if stored.size == size:
                self._origins[origin] = dataclasses.replace(stored, checkpoint_note=note)

    def add_cosignature(self, origin: str, size: int, witness: str, line: str) -> bool:
        with self._lock:
            lines = self._cosignatures.setdefault((origin, size), {})
            if witness in lines:
                return False
            lines[witness] = line
            return True

    def cosignatures(self, origin: str, size: int) -> list[tuple[str, str]]:
        with self._lock:
            return sorted(self._cosignatures.get((origin, size), {}).items())

    def add_evidence(self, evidence: EvidenceRecord) -> bool:
        key = (evidence.origin, evidence.smaller_note, evidence.larger_note)
        with self._lock:
            if key in self._evidence_keys:
                return False
            self._evidence_keys.add(key)
            self._evidence.append(evidence)
            return True

    def evidence(self) -> list[EvidenceRecord]:
        with self._lock:
            return list(self._evidence)

    def freeze(self, origin: str, reason: str) -> None:
        with self._lock:
            stored = self._origins.get(origin) or empty_state(origin)
            self._origins[origin] = dataclasses.replace(stored, frozen=True, frozen_reason=reason)

    # ---- origin keys

    def put_origin_key(self, origin: str, certificate_der: bytes) -> None:
        with self._lock:
            self._origin_keys[origin] = certificate_der

    def origin_keys(self) -> dict[str, bytes]:
        with self._lock:
            return dict(sorted(self._origin_keys.items()))

    # ---- registers of officers and case parties

    def put_officer(self, officer: OfficerRecord) -> None:
        with self._lock:
            self._officers[officer.officer_id] = officer

    def remove_officer(self, officer_id: str) -> bool:
        with self._lock:
            return self._officers.pop(officer_id, None) is not None

    def officer(self, officer_id: str) -> OfficerRecord | None:
        with self._lock:
            return self._officers.get(officer_id)

    def officers(self) -> list[OfficerRecord]:
        with self._lock:
            return sorted(self._officers.values(), key=lambda o: (o.court, o.officer_id))

    def put_case_party(self, party: CasePartyRecord) -> None:
        with self._lock:
            self._parties[(party.case_number, party.party_id)] = party

    def remove_case_party(self, case_number: str, party_id: str) -> bool:
        with self._lock:
            return self._parties.pop((case_number, party_id), None) is not None

    def is_case_party(self, case_number: str, party_id: str) -> bool:
        with self._lock:
            return (case_number, party_id) in self._parties

    def case_parties(self, case_number: str = "") -> list[CasePartyRecord]:
        with self._lock:
            return [
                self._parties[k]
                for k in sorted(self._parties)
                if not case_number or k[0] == case_number
            ]

    # ---- peers and refusals

    def put_peer(self, peer: PeerRecord) -> None:
        check_court_prefixes(peer.court_prefixes)
        with self._lock:
            self._peers[peer.node_id] = peer

    def remove_peer(self, node_id: str) -> bool:
        with self._lock:
            return self._peers.pop(node_id, None) is not None

    def peers(self) -> list[PeerRecord]:
        with self._lock:
            return [self._peers[node_id] for node_id in sorted(self._peers)]

    def record_refusal(self, refusal: Refusal) -> None:
        refusal = clip_refusal(refusal)
        day = refusal_day(refusal.at_unix_ms)
        with self._lock:
            for i in range(len(self._refusals) - 1, -1, -1):
                row = self._refusals[i]
                if (row.identity, row.method, row.reason) == (
                    refusal.identity,
                    refusal.method,
                    refusal.reason,
                ) and day <= row.at_unix_ms < day + REFUSAL_FOLD_MS:
                    self._refusals[i] = dataclasses.replace(row, count=row.count + refusal.count)
                    return
            cutoff = refusal.at_unix_ms - REFUSAL_RETENTION_MS
            self._refusals = [r for r in self._refusals if r.at_unix_ms >= cutoff]
            self._refusals.append(refusal)

    def refusals(self, limit: int = 100, offset: int = 0) -> list[Refusal]:
        """Newest first."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must be >= 0")
        limit = min(limit, REFUSALS_PAGE_MAX)
        with self._lock:
            return self._refusals[::-1][offset : offset + limit]

    def refusal_count(self) -> int:
        with self._lock:
            return sum(r.count for r in self._refusals)

    # ---- folded state

    def snapshot(self) -> contextlib.nullcontext[None]:
        return contextlib.nullcontext()  # one lock serialises every call already

    def get_rows(self, table: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        check_table(table)
        with self._lock:
            rows = self._rows[table]
            return {key: dict(rows[key]) for key in sorted(set(keys)) if key in rows}

    def query_rows(self, query: RowQuery) -> tuple[list[dict[str, Any]], int]:
        check_query(query)
        if query.among:  # a set per filter: each row is tested against up to 1,000 values
            among = {column: frozenset(values) for column, values in query.among.items()}
            query = dataclasses.replace(query, among=among)
        with self._lock:
            matches = [
                row for _, row in sorted(self._rows[query.table].items()) if _matches(row, query)
            ]
        page = matches[query.offset : query.offset + query.limit]
        return [dict(row) for row in page], len(matches)

    # ---- asset registry

    def put_assets(self, assets: Sequence[AssetRow]) -> None:
        check_assets(assets)
        with self._lock:
            for row in assets:
                old = self._assets.get(row.asset_id)
                if old is not None:
                    self._assets_by_owner[old.owner_id].discard(row.asset_id)
                self._assets[row.asset_id] = row
                self._assets_by_owner.setdefault(row.owner_id, set()).add(row.asset_id)

    def assets_by_owner(self, owner_id: str, categories: Iterable[int]) -> list[AssetRow]:
        wanted = check_categories(categories)
        with self._lock:
            ids = sorted(self._assets_by_owner.get(owner_id, ()))
            rows = [self._assets[asset_id] for asset_id in ids]
        return [row for row in rows if row.category in wanted]

    def count_assets(self) -> int:
        with self._lock:
            return len(self._assets)

    # ---- the blacklist change feed, agencies

    def blacklist_changes(self, after_seq: int, limit: int) -> list[ListingChange]:
        with self._lock:
            start = max(0, after_seq)
            picked = self._listing_changes[start : start + max(0, limit)]
            rows = self._rows[LISTING_TABLE]
            return [
                ListingChange(
                    start + i + 1,
                    key,
                    last_index,
                    dict(rows[key]) if key in rows else None,
                )
                for i, (key, last_index) in enumerate(picked)
            ]

    def blacklist_change_head(self) -> int:
        with self._lock:
            return len(self._listing_changes)

    def put_agency(self, agency: AgencyRecord) -> None:
        with self._lock:
            self._agencies[agency.name] = agency

    def remove_agency(self, name: str) -> bool:
        with self._lock:
            return self._agencies.pop(name, None) is not None

    def agencies(self) -> list[AgencyRecord]:
        with self._lock:
            return [self._agencies[name] for name in sorted(self._agencies)]

    def close(self) -> None:
        """Nothing to release; the data lives as long as the object."""


def _matches(row: dict[str, Any], query: RowQuery) -> bool:
    for column, value in query.equals.items():
        if row[column] != value:
            return False
    for column, values in query.among.items():
        if row[column] not in values:
            return False
    for column, prefix in query.prefix.items():
        cell = row[column]
        if cell is None or not cell.startswith(prefix):
            return False
    for column, bound in query.above.items():
        cell = row[column]
        if cell is None or not cell > bound:
            return False
    for column, bound in query.below.items():
        cell = row[column]
        if cell is None or not cell < bound:
            return False
    return query.after_key is None or row[KEY_COLUMN] > query.after_key


@dataclasses.dataclass(frozen=True, slots=True)
class _MemoryLayout:
    entries: tuple[StoredEntry, ...]
    changes: tuple[RowChange, ...]  # collapsed
