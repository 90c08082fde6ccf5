"""Merkle proofs and roots of a stored log from its stored subtree hashes (sync.tiles).

Each function reads O(log size) rows through ``LogReader.subtree_hashes`` instead of the
log's leaf hashes, and is meant to run on the store's thread (``Db.read``), so one call does
all its reads and hashing there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sync import tiles


class SubtreeReader(Protocol):
    """The one store method the proofs need (LogReader.subtree_hashes)."""

    def subtree_hashes(self, origin: str, nodes: Sequence[tuple[int, int]]) -> list[bytes]: ...


@dataclass(frozen=True, slots=True)
class Consistency:
    """PROOF(old_size, D[new_size]) with both roots."""

    proof: list[bytes]
    old_root: bytes
    new_root: bytes


def _reader(store: SubtreeReader, origin: str) -> tiles.NodeReader:
    def read(nodes: Sequence[tiles.NodeId]) -> list[bytes]:
        return store.subtree_hashes(origin, nodes)

    return read


def root(store: SubtreeReader, origin: str, size: int) -> bytes:
    """MTH(D[size]) of the stored log of ``origin``."""
    return tiles.root(size, _reader(store, origin))


def inclusion_proof(store: SubtreeReader, origin: str, size: int, index: int) -> list[bytes]:
    """PATH(index, D[size]) of the stored log of ``origin``."""
    return tiles.inclusion_proof(size, index, _reader(store, origin))


def consistency(store: SubtreeReader, origin: str, old_size: int, new_size: int) -> Consistency:
    """PROOF(old_size, D[new_size]) and the roots at both sizes, of the stored log."""
    proof, old_root, new_root = tiles.consistency_proof_and_roots(
        old_size, new_size, _reader(store, origin)
    )
    return Consistency(proof=proof, old_root=old_root, new_root=new_root)
