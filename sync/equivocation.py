"""Equivocation evidence: proof that an origin signed two inconsistent views of its log.

Evidence is self-contained: anyone holding the origin's log verifier key can check it
(``verify_evidence``); a node adopts evidence a peer sends only after checking it so.

* Both notes must be validly signed checkpoints of the same origin.
* Equal sizes: the roots differ.
* Different sizes m < n: ``prefix_root`` is claimed to be the root of the first m leaves of
  the larger tree, and ``consistency_proof`` proves prefix_root (size m) consistent with the
  larger root (size n). By collision resistance prefix_root is then the larger tree's true
  m-prefix; if it differs from the smaller checkpoint's root, no single append-only log can
  have produced both checkpoints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sync.checkpoint import Checkpoint, open_checkpoint
from sync.merkle import ProofError, consistency_proof, subtree_root, verify_consistency
from sync.note import NoteError, Verifier


class EvidenceError(ValueError):
    """The evidence does not prove equivocation."""


@dataclass(frozen=True, slots=True)
class Evidence:
    origin: str  # node id
    smaller_note: str
    larger_note: str
    prefix_root: bytes = b""
    consistency_proof: tuple[bytes, ...] = ()
    detected_by: str = ""
    detected_at_unix_ms: int = 0

    def key(self) -> tuple[str, str, str]:
        """Identity of the evidence regardless of who found it, for de-duplication."""
        return (self.origin, self.smaller_note, self.larger_note)


def _open_pair(
    note_a: str, note_b: str, verifier: Verifier
) -> tuple[tuple[Checkpoint, str], tuple[Checkpoint, str]]:
    try:
        cp_a, _ = open_checkpoint(note_a, verifier)
        cp_b, _ = open_checkpoint(note_b, verifier)
    except (NoteError, ValueError) as exc:
        raise EvidenceError(f"checkpoint not validly signed by the origin: {exc}") from exc
    if cp_a.origin != cp_b.origin:
        raise EvidenceError("checkpoints of different origins")
    pair = sorted([(cp_a, note_a), (cp_b, note_b)], key=lambda p: (p[0].size, p[1]))
    return pair[0], pair[1]


def verify_evidence(evidence: Evidence, verifier: Verifier) -> None:
    """Return None if the evidence proves equivocation; raise EvidenceError otherwise."""
    (small, _), (large, _) = _open_pair(evidence.smaller_note, evidence.larger_note, verifier)
    if small.origin.rsplit("/", 1)[-1] != evidence.origin:
        # A receiver freezes the origin the evidence names: it must be the one that signed.
        raise EvidenceError("the evidence names another origin than its checkpoints")
    if small.size == large.size:
        if small.root == large.root:
            raise EvidenceError("same size and same root: consistent")
        return
    if small.size == 0:
        raise EvidenceError("an empty tree is consistent with every tree")
    if evidence.prefix_root == small.root:
        raise EvidenceError("prefix root equals the smaller root: consistent")
    try:
        verify_consistency(
            small.size,
            large.size,
            list(evidence.consistency_proof),
            evidence.prefix_root,
            large.root,
        )
    except ProofError as exc:
        raise EvidenceError(f"prefix root not proved part of the larger tree: {exc}") from exc


def find_equivocation(
    note_a: str,
    note_b: str,
    verifier: Verifier,
    *,
    larger_leaf_hashes: Sequence[bytes] | None = None,
    prefix_root: bytes | None = None,
    proof: Sequence[bytes] = (),
    detected_by: str = "",
    detected_at_unix_ms: int = 0,
) -> Evidence | None:
    """Evidence that two validly signed checkpoints are inconsistent, or None.

    For different sizes the caller supplies either the larger tree's leaf hashes (it holds
    that history) or a ``prefix_root`` with its consistency ``proof`` obtained from a peer.
    Returns None when the checkpoints are consistent or consistency cannot be decided.
    """
    (small, small_note), (large, large_note) = _open_pair(note_a, note_b, verifier)
    origin = small.origin.rsplit("/", 1)[-1]
    base = Evidence(
        origin=origin,
        smaller_note=small_note,
        larger_note=large_note,
        detected_by=detected_by,
        detected_at_unix_ms=detected_at_unix_ms,
    )
    if small.size == large.size:
        return base if small.root != large.root else None
    if small.size == 0:
        return None
    if larger_leaf_hashes is not None:
        if len(larger_leaf_hashes) < large.size:
            return None
        leaves = larger_leaf_hashes[: large.size]
        prefix_root = subtree_root(leaves, 0, small.size)
        proof = consistency_proof(leaves, small.size)
    if prefix_root is None:
        return None
    evidence = Evidence(
        origin=origin,
        smaller_note=small_note,
        larger_note=large_note,
        prefix_root=prefix_root,
        consistency_proof=tuple(proof),
        detected_by=detected_by,
        detected_at_unix_ms=detected_at_unix_ms,
    )
    try:
        verify_evidence(evidence, verifier)
    except EvidenceError:
        return None
    return evidence
