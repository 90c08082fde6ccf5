"""Cross-checking what many nodes hold of every origin's log. Pure, no I/O.

A single node cannot see a split view: an origin may show one history to some peers and
another to the rest, or a relay may quietly stop passing an origin's entries on. An auditor
who asks every reachable node for its latest checkpoint of every origin can. ``plan`` sorts
those sightings into

* forged sightings: a node serves a checkpoint the origin's certified key did not sign;
* heads: the distinct (size, root) pairs per origin; two heads of one size with different
  roots are equivocation outright;
* proof requests: every smaller head against the largest one, to be settled with a
  consistency proof from a node that holds the larger tree (``judge``);
* lags: nodes holding less of an origin than the largest head, and by how much.

``judge`` turns a consistency proof into a verdict: consistent, equivocation evidence that
anyone holding the origin's key can check, or "unproven" when the prover's proof is bad
(which is suspicious, but proves nothing about the origin).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sync.checkpoint import Checkpoint, CheckpointError, open_checkpoint, split_origin
from sync.equivocation import Evidence, EvidenceError, verify_evidence
from sync.merkle import ProofError, verify_consistency
from sync.note import NoteError, Verifier, parse_note


@dataclass(frozen=True, slots=True)
class Sighting:
    """A node's latest checkpoint of one origin, as the node served it."""

    node: str
    origin: str
    note: str


@dataclass(frozen=True, slots=True)
class Head:
    origin: str
    size: int
    root: bytes
    note: str  # the first note seen with this size and root
    nodes: tuple[str, ...]  # nodes that hold exactly this head


@dataclass(frozen=True, slots=True)
class Forged:
    node: str
    origin: str
    reason: str


@dataclass(frozen=True, slots=True)
class ProofRequest:
    origin: str
    old: Head
    new: Head
    ask: str  # a node that holds the larger tree


@dataclass(frozen=True, slots=True)
class Lag:
    node: str
    origin: str
    size: int  # what the node holds
    latest: int  # the largest validly signed size any node holds
    holders: tuple[str, ...]  # nodes that hold the latest size

    @property
    def behind(self) -> int:
        return self.latest - self.size


@dataclass(frozen=True, slots=True)
class Unproven:
    origin: str
    node: str
    reason: str


@dataclass
class Plan:
    heads: dict[str, list[Head]] = field(default_factory=dict)  # by origin, largest first
    forged: list[Forged] = field(default_factory=list)
    unknown: list[Sighting] = field(default_factory=list)  # no certified key to check with
    equivocations: list[Evidence] = field(default_factory=list)
    proofs_needed: list[ProofRequest] = field(default_factory=list)
    lags: list[Lag] = field(default_factory=list)


def _origin_of(note: str) -> str | None:
    try:
        return split_origin(Checkpoint.parse(parse_note(note).text).origin)[1]
    except (NoteError, CheckpointError):
        return None


def plan(
    sightings: Iterable[Sighting], verifiers: Mapping[str, Verifier], nodes: Sequence[str] = ()
) -> Plan:
    """Sort the sightings of all nodes; ``nodes`` are every node that answered (a node that
    answered without any checkpoint of an origin lags by all of it)."""
    out = Plan()
    valid: dict[str, list[tuple[Checkpoint, Sighting]]] = {}
    for s in sightings:
        if _origin_of(s.note) != s.origin:
            out.forged.append(Forged(s.node, s.origin, "not a checkpoint of that origin"))
            continue
        verifier = verifiers.get(s.origin)
        if verifier is None:
            out.unknown.append(s)
            continue
        try:
            checkpoint, _ = open_checkpoint(s.note, verifier)
        except (NoteError, CheckpointError, ValueError) as e:
            out.forged.append(Forged(s.node, s.origin, f"signature: {e}"))
            continue
        valid.setdefault(s.origin, []).append((checkpoint, s))
    for origin in sorted(valid):
        heads = _heads(origin, valid[origin])
        out.heads[origin] = heads
        top = heads[0]
        for other in heads[1:]:
            if other.size == top.size:
                out.equivocations.append(_same_size(origin, top, other))
            else:
                out.proofs_needed.append(ProofRequest(origin, other, top, top.nodes[0]))
        holders = tuple(sorted(n for h in heads if h.size == top.size for n in h.nodes))
        held = {s.node: cp.size for cp, s in valid[origin]}
        for node in sorted(set(nodes) | set(held)):
            if held.get(node, 0) < top.size:
                out.lags.append(Lag(node, origin, held.get(node, 0), top.size, holders))
    return out


def _heads(origin: str, seen: list[tuple[Checkpoint, Sighting]]) -> list[Head]:
    by_head: dict[tuple[int, bytes], list[Sighting]] = {}
    for checkpoint, s in seen:
        by_head.setdefault((checkpoint.size, checkpoint.root), []).append(s)
    heads = [
        Head(origin, size, root, group[0].note, tuple(sorted({s.node for s in group})))
        for (size, root), group in by_head.items()
    ]
    # Largest first; among equal sizes a fixed order, so reports are deterministic.
    return sorted(heads, key=lambda h: (-h.size, h.root))


def _same_size(origin: str, a: Head, b: Head) -> Evidence:
    small, large = sorted([a.note, b.note])
    return Evidence(origin=origin, smaller_note=small, larger_note=large)


def judge(
    request: ProofRequest,
    proof: Sequence[bytes],
    prefix_root: bytes,
    verifier: Verifier,
) -> Evidence | Unproven | None:
    """Settle a proof request with the prover's consistency proof from ``request.old.size``
    to ``request.new.size`` and its root of the first ``old.size`` leaves.

    None: the old head is a prefix of the new one. Evidence: the prover proved that the new
    tree's prefix differs from the old head, so the origin signed two histories. Unproven:
    the proof does not lead to the new (signed) root, which blames the prover, not the origin.
    """
    old, new = request.old, request.new
    try:
        verify_consistency(old.size, new.size, list(proof), prefix_root, new.root)
    except ProofError as e:
        return Unproven(request.origin, request.ask, f"consistency proof: {e}")
    if prefix_root == old.root:
        return None
    evidence = Evidence(
        origin=request.origin,
        smaller_note=old.note,
        larger_note=new.note,
        prefix_root=prefix_root,
        consistency_proof=tuple(proof),
    )
    try:
        verify_evidence(evidence, verifier)
    except EvidenceError as e:  # the notes were verified in plan(): a caller bug
        raise AssertionError(f"judge: evidence does not verify ({e})") from None
    return evidence
