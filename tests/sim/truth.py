"""Ground truth: every entry and checkpoint each origin actually produced.

The checkers compare what nodes hold against this registry, never against what the nodes
believe. An honest origin has one history (history 0) and the registry asserts that each
checkpoint it signs extends the previous one: if the simulation itself ever made an honest
origin equivocate, the run fails here rather than blaming the replication code. The
Byzantine origin may have several histories (forks); every checkpoint it ever signed is
recorded with the history it covers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sync.checkpoint import Checkpoint
from sync.entry import Entry, decode_header
from sync.merkle import Frontier, leaf_hash
from sync.note import parse_note


@dataclass
class HistoryTruth:
    """One history of an origin's log as the origin wrote it."""

    entries: list[Entry] = field(default_factory=list)
    roots: list[bytes] = field(default_factory=lambda: [Frontier().root()])  # roots[k]: k leaves
    frontier: Frontier = field(default_factory=Frontier)

    def extend(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            self.entries.append(entry)
            self.frontier.append(leaf_hash(entry.header))
            self.roots.append(self.frontier.root())

    def prefix(self, size: int) -> HistoryTruth:
        fork = HistoryTruth()
        fork.extend(self.entries[:size])
        return fork


@dataclass(frozen=True, slots=True)
class NoteTruth:
    history: int
    size: int
    root: bytes


class TruthError(AssertionError):
    """The simulation's own origins broke an invariant (a bug in the harness)."""


class GroundTruth:
    def __init__(self, origins: Sequence[str], honest: Iterable[str]) -> None:
        self.origins = tuple(origins)
        self.honest = frozenset(honest)
        self.histories: dict[str, list[HistoryTruth]] = {o: [HistoryTruth()] for o in origins}
        self.notes: dict[str, dict[str, NoteTruth]] = {o: {} for o in origins}

    def fork(self, origin: str, parent: int, size: int) -> int:
        """Start a new history of ``origin`` sharing the first ``size`` entries of ``parent``."""
        if origin in self.honest:
            raise TruthError(f"honest origin {origin} forked its log")
        histories = self.histories[origin]
        histories.append(histories[parent].prefix(size))
        return len(histories) - 1

    def record_commit(
        self, origin: str, history: int, entries: Sequence[Entry], note: str
    ) -> NoteTruth:
        """The origin appended ``entries`` to ``history`` and signed ``note`` over the result."""
        if origin in self.honest and history != 0:
            raise TruthError(f"honest origin {origin} wrote a second history")
        hist = self.histories[origin][history]
        for offset, entry in enumerate(entries):
            if decode_header(entry.header).index != len(hist.entries) + offset:
                raise TruthError(f"{origin} wrote an entry out of place in its own log")
        hist.extend(entries)
        cp = Checkpoint.parse(parse_note(note).text)
        size = cp.size
        if size > len(hist.entries) or hist.roots[size] != cp.root:
            raise TruthError(f"{origin} signed a checkpoint over something it never wrote")
        truth = NoteTruth(history, size, cp.root)
        self.notes[origin][note] = truth
        return truth

    def size(self, origin: str) -> int:
        """Committed size of an honest origin's only history."""
        return len(self.histories[origin][0].entries)

    def root_at(self, origin: str, history: int, size: int) -> bytes:
        return self.histories[origin][history].roots[size]

    def consistent(self, origin: str, a: NoteTruth, b: NoteTruth) -> bool:
        """Could one append-only log have produced both checkpoints?"""
        small, large = (a, b) if a.size <= b.size else (b, a)
        return self.root_at(origin, large.history, small.size) == small.root
