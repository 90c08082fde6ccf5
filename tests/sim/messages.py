"""What simulated nodes say to each other: the replication protocol of DESIGN.md section 2.

The shapes follow the gRPC stream without the transport: the subscriber sends its vector and
the origins it takes from that peer (``Subscribe``, sent again when that selection changes:
the Sync stream's Take); the responder streams, per origin taken, the missing entries in
batches that each end at a checkpoint signed by the origin (``Batch``); a receiver that
rejects a batch tells the responder why and from where to resume (``Reject``). Nodes gossip
their latest checkpoints, any equivocation evidence, their routes and vector (``Gossip``),
and ask peers for consistency proofs when two signed checkpoints of an origin may disagree
(``ProofRequest`` / ``ProofResponse``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sync.entry import Entry
from sync.equivocation import Evidence


@dataclass(frozen=True, slots=True)
class Subscribe:
    vector: tuple[tuple[str, int], ...]  # (origin, verified size), sorted by origin
    frozen: tuple[str, ...]  # origins the subscriber refuses (frozen after equivocation)
    take: tuple[str, ...] | None = None  # the origins taken from this peer; None: every one


@dataclass(frozen=True, slots=True)
class Batch:
    origin: str
    first_index: int
    entries: tuple[Entry, ...]
    note: str  # signed checkpoint of ``origin`` at first_index + len(entries)


@dataclass(frozen=True, slots=True)
class Reject:
    origin: str
    reason: str
    held_size: int  # where the responder should resume this origin


@dataclass(frozen=True, slots=True)
class Gossip:
    notes: tuple[tuple[str, str], ...]  # (origin, latest held checkpoint note)
    evidence: tuple[Evidence, ...]
    hops: tuple[tuple[str, int], ...] | None = None  # the sender's routes, told to this peer
    vector: tuple[tuple[str, int], ...] | None = None  # what the sender holds


@dataclass(frozen=True, slots=True)
class ProofRequest:
    origin: str
    old_size: int  # the requester's verified size
    note: str  # a larger checkpoint the requester cannot check against its own log


@dataclass(frozen=True, slots=True)
class ProofResponse:
    origin: str
    old_size: int
    note: str
    prefix_root: bytes  # root of the first old_size leaves of the note's tree
    proof: tuple[bytes, ...]  # consistency proof from prefix_root to the note's root


Message = Subscribe | Batch | Reject | Gossip | ProofRequest | ProofResponse


def describe(msg: Message) -> str:
    """A one-line summary for traces (no payload bytes, no note text)."""
    if isinstance(msg, Subscribe):
        vector = ",".join(f"{o}:{n}" for o, n in msg.vector)
        return f"Subscribe({vector})"
    if isinstance(msg, Batch):
        end = msg.first_index + len(msg.entries)
        return f"Batch({msg.origin} [{msg.first_index},{end}))"
    if isinstance(msg, Reject):
        return f"Reject({msg.origin} {msg.reason} resume@{msg.held_size})"
    if isinstance(msg, Gossip):
        return f"Gossip({len(msg.notes)} notes, {len(msg.evidence)} evidence)"
    if isinstance(msg, ProofRequest):
        return f"ProofRequest({msg.origin} from {msg.old_size})"
    return f"ProofResponse({msg.origin} from {msg.old_size})"
