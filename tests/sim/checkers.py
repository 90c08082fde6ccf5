"""Invariants checked after every step of every honest node, and at the end of a run.

After every step (``Checker.after_step``), for every origin:

1. **No forgery.** Every entry an honest node holds is, byte for byte, the entry its origin
   wrote at that index (ground truth; a payload may be absent, as for a node outside the
   entry's audience, but never different), and for the Byzantine origin the node's copy is a
   prefix of one of the histories it actually wrote. A held log never shrinks.
2. **Held logs verify.** The Merkle root of the held leaves (recomputed here, independently of
   the node's frontier) equals the root of the checkpoint the node stored for it, and that
   checkpoint -- like every checkpoint kept for relaying -- is one the origin really signed.
3. **Equivocation is detected where it can be.** If a node has seen a validly signed
   checkpoint whose size is within what it holds but whose root contradicts its own copy, or
   two of the same size with different roots, it holds evidence against that origin that
   ``verify_evidence`` accepts, and has frozen it.
   No honest origin is ever frozen, and a node never keeps evidence that does not verify.

At the end of the quiet period (``final_check``):

4. **Convergence.** Every honest node holds every honest origin's log in full (same vector,
   same roots); if the honest nodes together can prove that the Byzantine origin equivocated
   (see ``equivocation_provable``), every honest node has frozen it, otherwise they all hold
   the same copy of its log; the folded
   state of every node equals a fresh fold of the logs it holds, and its digest over the
   converging origins is the same on every honest node.

The checks are incremental (each looks only at what changed since the previous step) so
that running them after every step stays cheap.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice

from sync.entry import Entry, decode_header
from sync.equivocation import EvidenceError, verify_evidence
from sync.folds import fold_batch
from sync.folds.types import Row, StateKey
from sync.merkle import Frontier, leaf_hash
from sync.note import Ed25519Verifier
from tests.sim.node import SimNode
from tests.sim.truth import GroundTruth, NoteTruth


class CheckFailed(AssertionError):
    """An invariant does not hold; the message says which, where and for whom."""


@dataclass
class _Track:
    """What the checker has already verified of one node's copy of one origin's log."""

    history: int = 0  # a ground-truth history the held entries are a prefix of
    entries: int = 0
    frontier: Frontier = field(default_factory=Frontier)
    state_note: str | None = None
    relay_notes: int = 0
    seen: int = 0
    pending: dict[str, NoteTruth] = field(default_factory=dict)  # seen, beyond the held size
    roots_by_size: dict[int, bytes] = field(default_factory=dict)  # of the seen checkpoints


class Checker:
    def __init__(
        self,
        truth: GroundTruth,
        verifiers: Mapping[str, Ed25519Verifier],
        nodes: Sequence[SimNode],
    ) -> None:
        self.truth = truth
        self.verifiers = verifiers
        self.honest = [n for n in nodes if n.honest]
        self._tracks = {(n.id, o): _Track() for n in self.honest for o in truth.origins}
        self._evidence_checked: dict[str, set[str]] = {n.id: set() for n in self.honest}

    # ------------------------------------------------------------------ every step

    def after_step(self, node: SimNode) -> None:
        if not node.honest:
            return
        for origin in self.truth.origins:
            self._check_log(node, origin)
        self._check_evidence(node)

    def _check_log(self, node: SimNode, origin: str) -> None:
        log = node.store.logs[origin]
        track = self._tracks[(node.id, origin)]
        seen = node.store.seen[origin]
        if (
            len(log.entries) == track.entries
            and log.state.checkpoint_note == track.state_note
            and len(log.size_of_note) == track.relay_notes
            and len(seen) == track.seen
        ):
            return  # nothing changed since the last step
        self._check_entries(node, origin, track)
        self._check_checkpoints(node, origin, track)
        self._check_seen(node, origin, track)

    def _check_entries(self, node: SimNode, origin: str, track: _Track) -> None:
        """Invariant 1: every held entry is one the origin wrote there."""
        log = node.store.logs[origin]
        held = len(log.entries)
        if held < track.entries:
            raise CheckFailed(f"{node.id}'s copy of {origin} shrank from {track.entries} to {held}")
        if len(log.leaves) != held:
            raise CheckFailed(
                f"{node.id} holds {held} entries of {origin} but {len(log.leaves)} leaves"
            )
        for index in range(track.entries, held):
            entry = log.entries[index]
            history = self._history_with(origin, track, index, entry)
            if history is None:
                raise CheckFailed(
                    f"{node.id} holds {origin}/{index}, which {origin} never wrote "
                    "(a forged or tampered entry was accepted)"
                )
            track.history = history
            leaf = leaf_hash(entry.header)
            if log.leaves[index] != leaf:
                raise CheckFailed(f"{node.id} stores a wrong leaf hash for {origin}/{index}")
            track.frontier.append(leaf)
        track.entries = held

    def _history_with(self, origin: str, track: _Track, index: int, entry: Entry) -> int | None:
        """A history of ``origin`` whose first ``index`` entries are the ones held (the
        checker's frontier covers exactly those) and whose entry ``index`` is ``entry``."""
        histories = self.truth.histories[origin]
        current = histories[track.history]
        if index < len(current.entries) and _written_as(entry, current.entries[index]):
            return track.history
        held_root = track.frontier.root()  # the Byzantine origin may have forked since
        for number, history in enumerate(histories):
            if (
                index < len(history.entries)
                and history.roots[index] == held_root
                and _written_as(entry, history.entries[index])
            ):
                return number
        return None

    def _check_checkpoints(self, node: SimNode, origin: str, track: _Track) -> None:
        """Invariant 2: the held log verifies against checkpoints the origin really signed."""
        log = node.store.logs[origin]
        state = log.state
        held = track.entries
        if state.size != held or state.frontier.size != held:
            raise CheckFailed(f"{node.id}'s log state of {origin} says {state.size}, holds {held}")
        if held:
            truth = self._note_truth(node, origin, state.checkpoint_note, "stored")
            root = track.frontier.root()
            if truth.size != held or truth.root != root:
                raise CheckFailed(
                    f"{node.id}'s stored checkpoint of {origin} (size {truth.size}) does not "
                    f"match the root of the {held} entries it holds"
                )
            if state.frontier.root() != root:
                raise CheckFailed(f"{node.id}'s frontier of {origin} has a wrong root")
        track.state_note = state.checkpoint_note
        history = track.history  # every matching history agrees on the held prefix
        for note, size in islice(log.size_of_note.items(), track.relay_notes, None):
            truth = self._note_truth(node, origin, note, "relay")
            if truth.size != size or size > held:
                raise CheckFailed(f"{node.id} keeps a checkpoint of {origin} at the wrong size")
            if self.truth.root_at(origin, history, size) != truth.root:
                raise CheckFailed(
                    f"{node.id} keeps a checkpoint of {origin} at {size} that does not cover "
                    "the entries it holds"
                )
        track.relay_notes = len(log.size_of_note)

    def _check_seen(self, node: SimNode, origin: str, track: _Track) -> None:
        """Invariant 3: a checkpoint that contradicts the held log has produced evidence."""
        seen = node.store.seen[origin]
        same_size_conflict = False
        for note in islice(seen, track.seen, None):
            truth = self._note_truth(node, origin, note, "seen")
            track.pending[note] = truth
            if track.roots_by_size.setdefault(truth.size, truth.root) != truth.root:
                same_size_conflict = True
        track.seen = len(seen)
        if origin in self.truth.honest:
            if origin in node.store.frozen or origin in node.store.evidence:
                raise CheckFailed(f"{node.id} froze honest origin {origin}")
            track.pending.clear()  # an honest origin's checkpoints are all consistent
            return
        if origin in node.store.evidence:
            track.pending.clear()
            return
        if same_size_conflict:
            raise CheckFailed(
                f"{node.id} has seen two checkpoints of {origin} of the same size with "
                "different roots, but holds no evidence"
            )
        history = track.history
        for note, truth in list(track.pending.items()):
            if truth.size > track.entries:
                continue  # not decidable from the node's own copy (yet)
            del track.pending[note]
            if self.truth.root_at(origin, history, truth.size) != truth.root:
                raise CheckFailed(
                    f"{node.id} has seen a checkpoint of {origin} at size {truth.size} that "
                    f"contradicts the {track.entries} entries it holds, but holds no evidence"
                )

    def _note_truth(self, node: SimNode, origin: str, note: str | None, what: str) -> NoteTruth:
        truth = self.truth.notes[origin].get(note or "")
        if truth is None:
            raise CheckFailed(f"{node.id} keeps a {what} checkpoint of {origin} it never signed")
        return truth

    def _check_evidence(self, node: SimNode) -> None:
        store = node.store
        checked = self._evidence_checked[node.id]
        for origin, evidence in store.evidence.items():
            if origin in checked:
                continue
            if origin in self.truth.honest:
                raise CheckFailed(f"{node.id} holds evidence against honest origin {origin}")
            try:
                verify_evidence(evidence, self.verifiers[origin])
            except EvidenceError as exc:
                raise CheckFailed(
                    f"{node.id} holds evidence against {origin} that fails: {exc}"
                ) from exc
            if origin not in store.frozen:
                raise CheckFailed(f"{node.id} holds evidence against {origin} but did not freeze")
            checked.add(origin)
        for origin in store.frozen:
            if origin not in store.evidence:
                raise CheckFailed(f"{node.id} froze {origin} without evidence")

    # ------------------------------------------------------------------ end of run

    def equivocation_provable(self, byzantine: str | None) -> bool:
        """Can honest nodes prove, from what they hold, that the Byzantine origin equivocated?

        True if one of them holds evidence, if two checkpoints they have seen have the same
        size and different roots, or if a checkpoint one has seen contradicts a log one holds.
        Two checkpoints of different sizes, neither within a log an honest node holds, prove
        nothing by themselves: only a holder of the larger tree can supply the consistency
        proof, and if that is the Byzantine node alone it may refuse.
        """
        if byzantine is None:
            return False
        if any(byzantine in n.store.evidence for n in self.honest):
            return True
        notes = self.truth.notes[byzantine]
        seen = {notes[note] for node in self.honest for note in node.store.seen[byzantine]}
        roots: dict[int, bytes] = {}
        for truth in seen:
            if roots.setdefault(truth.size, truth.root) != truth.root:
                return True
        for node in self.honest:
            held = node.store.logs[byzantine].size
            history = self._tracks[(node.id, byzantine)].history
            for truth in seen:
                if (
                    truth.size <= held
                    and self.truth.root_at(byzantine, history, truth.size) != truth.root
                ):
                    return True
        return False

    def converged(self, byzantine: str | None) -> bool:
        """Cheap test of invariant 4 without the state folds (used to end the quiet period)."""
        try:
            self._check_vectors(byzantine)
        except CheckFailed:
            return False
        return True

    def final_check(self, byzantine: str | None) -> None:
        for node in self.honest:
            if not node.up:
                raise CheckFailed(f"{node.id} is down at the end of the quiet period")
        for node in self.honest:  # the per-step checks only looked at what was appended
            for origin in self.truth.origins:
                fresh = _Track()
                self._check_entries(node, origin, fresh)
                self._check_checkpoints(node, origin, fresh)
        converging = self._check_vectors(byzantine)
        digests: dict[str, str] = {}
        for node in self.honest:
            if node.store.rows != refold(node):
                raise CheckFailed(f"{node.id}'s folded state differs from a fresh fold of its logs")
            digests[node.id] = state_digest(node.store.rows, converging)
        if len(set(digests.values())) > 1:
            text = ", ".join(f"{n}:{d[:12]}" for n, d in sorted(digests.items()))
            raise CheckFailed(f"state digests differ over {sorted(converging)}: {text}")

    def _check_vectors(self, byzantine: str | None) -> set[str]:
        """Invariant 4 on vectors and roots; returns the origins whose state must agree."""
        converging = set(self.truth.honest)
        for origin in sorted(self.truth.honest):
            size = self.truth.size(origin)
            for node in self.honest:
                held = node.store.logs[origin].size
                if held != size:
                    raise CheckFailed(
                        f"did not converge: {node.id} holds {origin} at {held}, "
                        f"{origin} committed {size}"
                    )
        if byzantine is None:
            return converging
        if self.equivocation_provable(byzantine):
            for node in self.honest:
                if byzantine not in node.store.frozen:
                    raise CheckFailed(
                        f"honest nodes can prove that {byzantine} equivocated, but {node.id} "
                        "did not freeze it"
                    )
            return converging
        copies = {
            (node.store.logs[byzantine].size, node.store.logs[byzantine].state.frontier.root())
            for node in self.honest
        }
        if len(copies) > 1:
            sizes = sorted(size for size, _ in copies)
            raise CheckFailed(f"did not converge on {byzantine}'s log: sizes {sizes}")
        converging.add(byzantine)
        return converging


def _written_as(held: Entry, written: Entry) -> bool:
    """Header and salt exactly as written; the payload too unless it is absent (redacted)."""
    return (
        held.header == written.header
        and held.salt == written.salt
        and (held.payload is None or held.payload == written.payload)
    )


def refold(node: SimNode) -> dict[StateKey, Row]:
    """The state a fresh fold of every log the node holds produces (origin by origin)."""
    rows: dict[StateKey, Row] = {}
    for origin in sorted(node.store.logs):
        entries = node.store.logs[origin].entries
        items = [(decode_header(e.header), e.payload) for e in entries]
        rows.update(fold_batch(items, rows, courts=node.params.courts.get(origin, ())).changes)
    return rows


def state_digest(rows: Mapping[StateKey, Row], origins: set[str]) -> str:
    """SHA-256 over the sorted rows written by ``origins``."""
    digest = hashlib.sha256()
    for key in sorted(rows):
        row = rows[key]
        if row["origin"] in origins:
            digest.update(repr((key, sorted(row.items()))).encode())
    return digest.hexdigest()
