"""A simulated node's state: the committed store, and the volatile state a crash loses.

``Store`` is what a real node keeps in its database. Every change a node makes to it happens
inside one method call that the simulation never interrupts, which models DESIGN.md's "entries,
checkpoint and materialised state commit in ONE database transaction": a crash can only
happen between commits. ``Volatile`` is everything else (received but unprocessed messages,
drafted but uncommitted entries, stream sessions, timers); a crash replaces it with a fresh one,
so a restarted node resumes from its store and nothing else.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from sync.checkpoint import Checkpoint
from sync.entry import Entry, entry_size_bytes
from sync.equivocation import Evidence
from sync.folds.types import Row, StateKey
from sync.merkle import Frontier
from sync.routing import Stalls
from sync.verify import LogState
from tests.sim.messages import Message


@dataclass
class OriginLog:
    """One origin's log as a node holds it: a verified prefix and the checkpoints covering it.

    ``notes`` keeps every signed checkpoint the node accepted for this history, not just the
    latest: a responder must end each batch at a checkpoint the origin signed, so these sizes
    are the only places a batch of this log can end.
    """

    origin: str
    entries: list[Entry] = field(default_factory=list)
    leaves: list[bytes] = field(default_factory=list)
    state: LogState = field(init=False)
    notes: dict[int, str] = field(default_factory=dict)  # size -> checkpoint note
    note_sizes: list[int] = field(default_factory=list)  # ascending
    size_of_note: dict[str, int] = field(default_factory=dict)
    roots: dict[int, bytes] = field(default_factory=dict)  # size -> root of that checkpoint
    cumulative_bytes: list[int] = field(default_factory=lambda: [0])  # bytes of first k entries

    def __post_init__(self) -> None:
        self.state = LogState.empty(self.origin)

    @property
    def size(self) -> int:
        return self.state.size

    def append(
        self,
        entries: Sequence[Entry],
        leaves: Sequence[bytes],
        state: LogState,
        note: str,
        root: bytes,
    ) -> None:
        """Add verified entries and the checkpoint that covers them (part of a commit)."""
        assert len(entries) == len(leaves)
        assert state.size == self.size + len(entries), "a log only grows at its end"
        for entry in entries:
            self.cumulative_bytes.append(self.cumulative_bytes[-1] + entry_size_bytes(entry))
        self.entries.extend(entries)
        self.leaves.extend(leaves)
        self.state = state
        if state.size not in self.notes:
            self.note_sizes.append(state.size)
        self.notes[state.size] = note
        self.size_of_note[note] = state.size
        self.roots[state.size] = root

    def prefix(self, size: int) -> OriginLog:
        """A copy of the first ``size`` entries and the checkpoints within them (for forks)."""
        fork = OriginLog(self.origin)
        fork.entries = self.entries[:size]
        fork.leaves = self.leaves[:size]
        fork.cumulative_bytes = self.cumulative_bytes[: size + 1]
        frontier = Frontier.from_leaf_hashes(fork.leaves)
        kept = [s for s in self.note_sizes if s <= size]
        fork.note_sizes = kept
        fork.notes = {s: self.notes[s] for s in kept}
        fork.size_of_note = {self.notes[s]: s for s in kept}
        fork.roots = {s: self.roots[s] for s in kept}
        fork.state = LogState(self.origin, size, frontier, fork.notes.get(size))
        return fork

    def batch_end(
        self, first: int, start: int, entries_max: int, bytes_max: int
    ) -> tuple[int | None, str]:
        """The furthest checkpoint size ``end > start`` such that entries [first, end) fit a batch.

        A batch may start before ``start`` (an overlap the receiver skips). Returns the end
        (``None`` if the checkpoints are too far apart to cut a batch within the limits) and
        what stopped it: "entries", "bytes" or "log" (no further checkpoint).
        """
        best = None
        for end in self.note_sizes[bisect.bisect_right(self.note_sizes, start) :]:
            if end - first > entries_max:
                return best, "entries"
            batch_bytes = self.cumulative_bytes[end] - self.cumulative_bytes[first]
            if batch_bytes > bytes_max:
                return best, "bytes"
            best = end
        return best, "log"


@dataclass
class Store:
    """What survives a crash."""

    logs: dict[str, OriginLog]
    rows: dict[StateKey, Row] = field(default_factory=dict)  # the folded state
    # Every validly signed checkpoint seen per origin (batches, gossip, proofs): the material
    # equivocation evidence is made of. ``undecided`` holds those beyond the held size, which
    # can only be compared with the node's own log once it has caught up (or via a proof).
    seen: dict[str, dict[str, Checkpoint]] = field(default_factory=dict)
    undecided: dict[str, dict[str, Checkpoint]] = field(default_factory=dict)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    frozen: dict[str, int] = field(default_factory=dict)  # origin -> size it was frozen at
    hlc: int = 0

    @classmethod
    def empty(cls, origins: Sequence[str]) -> Store:
        return cls(
            logs={o: OriginLog(o) for o in origins},
            seen={o: {} for o in origins},
            undecided={o: {} for o in origins},
        )

    def vector(self) -> dict[str, int]:
        return {origin: log.size for origin, log in self.logs.items()}


@dataclass
class Session:
    """The responder's side of one subscriber's stream: what it believes the subscriber holds."""

    vector: dict[str, int]
    frozen: set[str]
    take: set[str] | None = None  # None: every origin


@dataclass
class PeerLink:
    """The subscriber's side of its stream from one peer (reconnect timer with backoff)."""

    next_subscribe_tick: int
    interval_ticks: int
    heard: bool = True  # heard from the peer since the last subscribe
    last_subscribe_tick: int = -(10**9)


@dataclass
class Volatile:
    """What a crash loses."""

    inbox: deque[tuple[str, Message]] = field(default_factory=deque)
    drafts: dict[int, list[Entry]] = field(default_factory=dict)  # history -> uncommitted
    sessions: dict[str, Session] = field(default_factory=dict)
    links: dict[str, PeerLink] = field(default_factory=dict)
    proofs_asked: dict[tuple[str, str, int, str], int] = field(default_factory=dict)
    undecided_since: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    last_progress_tick: dict[str, int] = field(default_factory=dict)
    next_gossip_tick: int = 0
    # Routing (sync.routing): when each peer was last heard, what it told of its routes and
    # vector, the selection each link last sent, and the stall guard.
    heard_tick: dict[str, int] = field(default_factory=dict)
    routes: dict[str, dict[str, int]] = field(default_factory=dict)
    sizes: dict[str, dict[str, int]] = field(default_factory=dict)
    taken: dict[str, frozenset[str]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    stalls: Stalls | None = None
