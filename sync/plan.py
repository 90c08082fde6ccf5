"""Vectors and fetch planning: what to fetch from whom.

A node's vector is, per origin, the size of the log it holds and has verified. Given its own
vector and the vectors (or verified checkpoints) its peers advertise, a node fetches each
origin from the peer that holds the most of it, in batch-sized ranges. Ties go to the origin
itself (first-hand), then to the lowest peer id, so the plan is deterministic.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sync.verify import BATCH_ENTRIES_MAX

Vector = Mapping[str, int]


@dataclass(frozen=True, slots=True, order=True)
class Fetch:
    peer: str
    origin: str
    start: int  # inclusive
    end: int  # exclusive


def lag(mine: Vector, theirs: Vector) -> dict[str, int]:
    """Per origin, how many entries ``theirs`` holds beyond ``mine`` (only positive lags)."""
    return {o: n - mine.get(o, 0) for o, n in sorted(theirs.items()) if n > mine.get(o, 0)}


def behind(mine: Vector, theirs: Vector) -> bool:
    return bool(lag(mine, theirs))


def merge(a: Vector, b: Vector) -> dict[str, int]:
    """Pointwise maximum of two vectors."""
    return {o: max(a.get(o, 0), b.get(o, 0)) for o in sorted(set(a) | set(b))}


def plan_fetches(
    mine: Vector,
    peers: Mapping[str, Vector],
    *,
    frozen: Collection[str] = (),
    batch_entries_max: int = BATCH_ENTRIES_MAX,
) -> list[Fetch]:
    """Ranges to fetch, at most ``batch_entries_max`` entries each, in origin order."""
    assert batch_entries_max > 0
    best: dict[str, tuple[int, int, str]] = {}  # origin -> (size, -firsthand, peer)
    for peer, vector in sorted(peers.items()):
        for origin, size in vector.items():
            if origin in frozen or size <= mine.get(origin, 0):
                continue
            rank = (size, 1 if peer == origin else 0, peer)
            current = best.get(origin)
            if current is None or (rank[0], rank[1]) > (current[0], current[1]):
                best[origin] = rank
    plan: list[Fetch] = []
    for origin in sorted(best):
        size, _, peer = best[origin]
        start = mine.get(origin, 0)
        while start < size:
            end = min(size, start + batch_entries_max)
            plan.append(Fetch(peer=peer, origin=origin, start=start, end=end))
            start = end
    return plan
