"""Re-verify everything a store holds, from the stored bytes alone.

For every origin: each stored entry's leaf hash is recomputed from its header bytes (the only
thing the Merkle tree commits to) and compared with the stored leaf hash; the header must
decode and name this origin and index; the stored columns the node queries by (kind, subject,
actor, clock) must agree with the header; a stored payload must match the header's
``payload_digest`` and decode as the header's kind. The root recomputed over the leaves must
equal the root of every stored checkpoint at its size, and of the latest one, which must be
signed by the origin's key when that key is known.

Used by ``ccnode audit verify`` with the node down, and by the node's Verify RPC. Reasons name
the rule that failed and never quote stored values (subjects, actors and payloads may hold
personal data).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from node.store.base import LogReader, OriginState, StoredEntry, StoreError
from sync.checkpoint import Checkpoint, CheckpointError, open_checkpoint, origin_line
from sync.entry import Entry, EntryError, Header, check_entry, decode_header
from sync.merkle import Frontier, leaf_hash
from sync.note import NoteError, Verifier, parse_note
from sync.payload import PayloadError, decode_payload

# Entries read per store call: bounds memory on a large log.
CHUNK_ENTRIES = 1000


@dataclass(frozen=True, slots=True)
class Problem:
    origin: str
    index: int  # the entry, or for a checkpoint the last entry it covers
    reason: str


@dataclass
class VerifyReport:
    # Per origin: the largest checkpointed size up to which everything verified.
    verified_sizes: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # Origins whose checkpoint signatures could not be checked (no verifier key given).
    unsigned: list[str] = field(default_factory=list)
    frozen: dict[str, str] = field(default_factory=dict)  # origin -> reason

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_store(
    store: LogReader,
    *,
    trust_domain: str,
    verifiers: Mapping[str, Verifier],
    origins: Iterable[str] = (),
    chunk_entries: int = CHUNK_ENTRIES,
    state_rows: bool = True,
) -> VerifyReport:
    """Verify the logs of ``origins`` (default: every origin the store holds).

    ``verifiers`` maps an origin (node id) to the verifier of its log key, whose name is the
    origin line ``<trust_domain>/<origin>``. ``state_rows=False``: the reader has no state
    rows to compare (an auditor reading a remote node's Audit service sees sizes and the
    latest checkpoint, not the stored root and frontier columns); the latest checkpoint is
    still checked against the entries.
    """
    assert chunk_entries > 0
    report = VerifyReport()
    states = {state.origin: state for state in store.origin_states()}
    wanted = sorted(set(origins)) or sorted(states)
    for origin in wanted:
        state = states.get(origin)
        if state is None:
            report.problems.append(Problem(origin, 0, "no log of this origin is stored"))
            continue
        if state.frozen:
            report.frozen[origin] = state.frozen_reason
        verifier = verifiers.get(origin)
        if verifier is None:
            report.unsigned.append(origin)
        check = _OriginCheck(store, state, trust_domain, verifier, report, chunk_entries)
        check.state_rows = state_rows
        check.run()
    return report


class _OriginCheck:
    def __init__(
        self,
        store: LogReader,
        state: OriginState,
        trust_domain: str,
        verifier: Verifier | None,
        report: VerifyReport,
        chunk_entries: int,
    ) -> None:
        self.store = store
        self.state = state
        self.origin = state.origin
        self.origin_line = origin_line(trust_domain, state.origin)
        self.verifier = verifier
        self.report = report
        self.chunk_entries = chunk_entries
        self.frontier = Frontier()
        self.first_bad: int | None = None  # first entry index with a problem
        self.verified_size = 0
        self.state_rows = True

    def problem(self, index: int, reason: str) -> None:
        self.report.problems.append(Problem(self.origin, index, reason))
        if self.first_bad is None or index < self.first_bad:
            self.first_bad = index

    def run(self) -> None:
        size = self.state.size
        try:
            history = {
                s: self.store.checkpoint_at(self.origin, s)
                for s in self.store.checkpoint_sizes(self.origin)
            }
        except StoreError as e:
            self.problem(0, f"store: cannot read checkpoints ({type(e).__name__})")
            history = {}
        beyond = sorted(s for s in history if s > size)
        if beyond:
            # A running node commits while it is verified: the log may have grown since its
            # state was read. Only a checkpoint beyond the log as it stands now is a problem.
            now = self.store.origin_state(self.origin)
            grown = now.size if now is not None else size
            for cp_size in beyond:
                if cp_size > grown:
                    self.problem(
                        size, f"checkpoint at size {cp_size} is beyond the stored log ({size})"
                    )
        self.at_size(history)
        for start in range(0, size, self.chunk_entries):
            end = min(size, start + self.chunk_entries)
            try:
                batch = self.store.entries(self.origin, start, end, with_payload=True)
            except StoreError as e:
                self.problem(start, f"store: cannot read entries ({type(e).__name__})")
                break
            if len(batch) != end - start:
                self.problem(start + len(batch), "entry missing from the store")
                break
            for offset, entry in enumerate(batch):
                self.check_entry(start + offset, entry)
                self.frontier.append(leaf_hash(entry.header))
                self.at_size(history)
        self.check_state(history.get(size))
        self.report.verified_sizes[self.origin] = self.verified_size

    def at_size(self, history: Mapping[int, str | None]) -> None:
        """Check the stored checkpoint (if any) at the frontier's current size."""
        size = self.frontier.size
        if size not in history:
            return
        note = history[size]
        if note is None:
            self.problem(max(size - 1, 0), f"checkpoint at size {size}: listed but not stored")
            return
        if self.check_note(note, size) and (self.first_bad is None or self.first_bad >= size):
            self.verified_size = size

    def check_note(self, note: str, size: int) -> bool:
        """The note is a checkpoint of this origin at ``size`` whose root is the recomputed
        root, signed by the origin when its key is known."""
        where = max(size - 1, 0)
        prefix = f"checkpoint at size {size}"
        try:
            checkpoint = Checkpoint.parse(parse_note(note).text)
        except (NoteError, CheckpointError) as e:
            self.problem(where, f"{prefix}: malformed ({e})")
            return False
        ok = True
        if checkpoint.origin != self.origin_line:
            self.problem(where, f"{prefix}: names another origin")
            ok = False
        if checkpoint.size != size:
            self.problem(where, f"{prefix}: claims size {checkpoint.size}")
            ok = False
        elif checkpoint.root != self.frontier.root():
            self.problem(where, f"{prefix}: root differs from the root of the stored entries")
            ok = False
        if self.verifier is not None and ok:
            try:
                open_checkpoint(note, self.verifier)
            except (NoteError, CheckpointError) as e:
                self.problem(where, f"{prefix}: signature: {e}")
                ok = False
        return ok

    def check_state(self, history_note: str | None) -> None:
        """The origin's state row: root, frontier and latest checkpoint match the entries."""
        state = self.state
        where = max(state.size - 1, 0)
        if self.frontier.size != state.size:
            return  # entries were missing: already reported
        if self.state_rows:
            if state.root != self.frontier.root():
                self.problem(where, "stored root differs from the root of the stored entries")
            if state.frontier != self.frontier.to_bytes():
                self.problem(where, "stored frontier differs from the stored entries")
        if not state.checkpoint_note:
            if state.size:
                self.problem(where, f"no checkpoint is stored for size {state.size}")
            return
        if state.checkpoint_note == history_note:
            return  # checked with the history
        if self.check_note(state.checkpoint_note, state.size) and self.first_bad is None:
            self.verified_size = state.size

    def check_entry(self, index: int, entry: StoredEntry) -> None:
        if entry.origin != self.origin or entry.index != index:
            self.problem(index, "entry is stored under another origin or index")
        if leaf_hash(entry.header) != entry.leaf_hash:
            self.problem(index, "stored leaf hash differs from the hash of the header bytes")
        try:
            header = decode_header(entry.header)
        except EntryError as e:
            self.problem(index, str(e))
            return
        if header.origin != self.origin or header.index != index:
            self.problem(index, "header names another origin or index")
        for column in _mismatched_columns(entry, header):
            self.problem(index, f"stored {column} differs from the header")
        try:
            check_entry(Entry(entry.header, entry.salt, entry.payload), header)
            if entry.payload is not None:
                decode_payload(header.kind, entry.payload)
        except (EntryError, PayloadError) as e:
            self.problem(index, str(e))


def _mismatched_columns(entry: StoredEntry, header: Header) -> list[str]:
    pairs = (
        ("kind", entry.kind, header.kind),
        ("subject", entry.subject, header.subject),
        ("actor", entry.actor, header.actor),
        ("hlc", entry.hlc, header.hlc),
    )
    return [column for column, stored, signed in pairs if stored != signed]
