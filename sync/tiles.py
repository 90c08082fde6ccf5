"""Merkle proofs in O(log n) reads, from stored hashes of complete subtrees.

``sync.merkle`` builds every proof from the leaf hashes, so a proof over a log of n entries
reads all n of them. But every node an RFC 6962 proof is made of is the root of a range of
leaves that the RFC's recursion produces, and each such range is either a *complete* subtree
``[k * 2**h, (k + 1) * 2**h)`` or the right edge ``[start, size)`` of the tree, which is the
fold (``sync.merkle._fold_right``) of at most log2(n) complete subtrees, largest first. So if
the hash of every complete subtree is kept, a proof needs O(log n) stored hashes and O(log n)
hashing, whatever the size of the log.

A complete subtree is named by ``NodeId = (level, index)``: the ``2**level`` leaves from
``index * 2**level``. Level 0 are the leaf hashes themselves (the store already has them);
the store keeps levels >= ``STORED_LEVEL_MIN`` beside them, written with the entries
(``completed_nodes``), and a node of a level in between is hashed from its at most
``2**(STORED_LEVEL_MIN - 1)`` leaves when asked for (``stored_nodes``, ``assemble``). That
is n / 8 extra rows for n leaves rather than n - 1 for every level (the append path writes
them, so their number is its cost), for at most 14 extra leaf reads per proof node; storing
only every 8th level (C2SP tlog-tiles) would save more rows but hash up to 256 hashes per
piece.

Pure functions: a ``NodeReader`` (e.g. ``Store.subtree_hashes``) brings the hashes, one call
per proof, so the store can fetch them in one query. Results equal ``sync.merkle``'s
(tests/unit/test_tiles.py checks this with hypothesis).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

from sync.merkle import EMPTY_ROOT, Frontier

__all__ = [
    "STORED_LEVEL_MIN",
    "NodeId",
    "NodeReader",
    "assemble",
    "completed_nodes",
    "consistency_proof",
    "consistency_proof_and_roots",
    "frontier_nodes",
    "inclusion_proof",
    "range_nodes",
    "root",
    "stored_nodes",
]

NodeId = tuple[int, int]
"""(level, index): the complete subtree over leaves [index * 2**level, (index + 1) * 2**level)."""

NodeReader = Callable[[Sequence[NodeId]], list[bytes]]
"""Returns the hashes of the given complete subtrees, in the order asked."""

_NODE_PREFIX = b"\x01"

STORED_LEVEL_MIN = 4
"""Lowest level of interior node kept by the store; levels 1..3 are hashed from the leaves."""


def _split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (requires n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> list[NodeId]:
    """The complete subtrees whose right fold is MTH(D[start:end]), largest first.

    Valid for the ranges RFC 6962's recursion produces: ``start`` is a multiple of every
    power of two up to ``end - start`` (a complete subtree, or a right edge of the tree).
    """
    if not 0 <= start < end:
        raise ValueError(f"range must satisfy 0 <= start < end, got start={start} end={end}")
    nodes: list[NodeId] = []
    position = start
    for level in range((end - start).bit_length() - 1, -1, -1):
        if (end - start) >> level & 1:
            if position % (1 << level):
                raise ValueError(f"range start {start} is not aligned for length {end - start}")
            nodes.append((level, position >> level))
            position += 1 << level
    return nodes


def _fold(hashes: Sequence[bytes]) -> bytes:
    sha256 = hashlib.sha256
    result = hashes[-1]
    for i in range(len(hashes) - 2, -1, -1):
        result = sha256(_NODE_PREFIX + hashes[i] + result).digest()
    return result


def _range_roots(ranges: Sequence[tuple[int, int]], read: NodeReader) -> list[bytes]:
    """MTH of each range, with one call to ``read`` for all the pieces of all the ranges."""
    pieces = [range_nodes(lo, hi) for lo, hi in ranges]
    hashes = read([node for nodes in pieces for node in nodes]) if pieces else []
    roots: list[bytes] = []
    offset = 0
    for nodes in pieces:
        roots.append(_fold(hashes[offset : offset + len(nodes)]))
        offset += len(nodes)
    return roots


def root(size: int, read: NodeReader) -> bytes:
    """MTH(D[size]) from at most log2(size) + 1 stored hashes."""
    if size < 0:
        raise ValueError(f"tree size must be >= 0, got {size}")
    return _range_roots([(0, size)], read)[0] if size else EMPTY_ROOT


def inclusion_proof(size: int, index: int, read: NodeReader) -> list[bytes]:
    """PATH(index, D[size]), equal to ``sync.merkle.inclusion_proof``; O(log size) reads."""
    if not 0 <= index < size:
        raise ValueError(f"inclusion proof index must satisfy 0 <= index < {size}, got {index}")
    siblings: list[tuple[int, int]] = []  # root-down order, as sync.merkle walks it
    start, end = 0, size
    while end - start > 1:
        mid = start + _split_point(end - start)
        if index < mid:
            siblings.append((mid, end))
            end = mid
        else:
            siblings.append((start, mid))
            start = mid
    return _range_roots(siblings[::-1], read)


def consistency_proof(old_size: int, size: int, read: NodeReader) -> list[bytes]:
    """PROOF(old_size, D[size]), equal to ``sync.merkle.consistency_proof``; O(log) reads."""
    return _range_roots(_consistency_ranges(old_size, size), read)


def consistency_proof_and_roots(
    old_size: int, size: int, read: NodeReader
) -> tuple[list[bytes], bytes, bytes]:
    """The consistency proof, MTH(D[old_size]) and MTH(D[size]), with one call to ``read``."""
    ranges = [*_consistency_ranges(old_size, size), (0, old_size), (0, size)]
    roots = _range_roots(ranges, read)
    return roots[:-2], roots[-2], roots[-1]


def _consistency_ranges(old_size: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose roots make PROOF(old_size, D[size]), in proof order."""
    if not 0 < old_size <= size:
        raise ValueError(
            f"consistency proof old_size must satisfy 0 < old_size <= {size}, got {old_size}"
        )
    siblings: list[tuple[int, int]] = []  # root-down order
    start, end = 0, size
    from_leaf_zero = True  # SUBPROOF's b (see sync.merkle.consistency_proof)
    while end != old_size:
        mid = start + _split_point(end - start)
        if old_size <= mid:
            siblings.append((mid, end))
            end = mid
        else:
            siblings.append((start, mid))
            start = mid
            from_leaf_zero = False
    return ([] if from_leaf_zero else [(start, end)]) + siblings[::-1]


def frontier_nodes(size: int) -> list[NodeId]:
    """The complete subtrees a ``Frontier`` of ``size`` holds, largest first: a store can
    rebuild the frontier of its log from its own nodes (O(log size) reads) to extend it."""
    return range_nodes(0, size) if size else []


def completed_nodes(
    frontier: Frontier, leaf_hashes: Iterable[bytes]
) -> list[tuple[int, int, bytes]]:
    """Append ``leaf_hashes`` to ``frontier`` (in place) and return the (level, index, hash)
    of every complete subtree of level >= STORED_LEVEL_MIN that the batch completes.

    These are exactly the merges the frontier makes anyway, so storing them costs no hashing
    beyond the append and reads no earlier leaf.
    """
    nodes: list[tuple[int, int, bytes]] = []
    hashes = frontier.hashes
    size = frontier.size
    sha256 = hashlib.sha256
    for subtree in leaf_hashes:
        carry = size
        level = 0
        while carry & 1:
            subtree = sha256(_NODE_PREFIX + hashes.pop() + subtree).digest()
            carry >>= 1
            level += 1
            if level >= STORED_LEVEL_MIN:
                nodes.append((level, size >> level, subtree))
        hashes.append(subtree)
        size += 1
    frontier.size = size
    return nodes


def _is_stored(level: int) -> bool:
    return level == 0 or level >= STORED_LEVEL_MIN


def stored_nodes(nodes: Iterable[NodeId]) -> list[NodeId]:
    """The stored nodes (leaves and levels >= STORED_LEVEL_MIN) that ``assemble`` needs to
    answer ``nodes``, each once, sorted."""
    needed: set[NodeId] = set()
    for level, index in nodes:
        if level < 0 or index < 0:
            raise ValueError("a subtree's level and index must be >= 0")
        if _is_stored(level):
            needed.add((level, index))
        else:
            first_leaf = index << level
            needed.update((0, leaf) for leaf in range(first_leaf, first_leaf + (1 << level)))
    return sorted(needed)


def assemble(nodes: Sequence[NodeId], found: Mapping[NodeId, bytes]) -> list[bytes]:
    """The hashes of ``nodes`` in order, from the stored ones ``found`` (``stored_nodes``);
    raises ValueError if one is missing (not stored, or not below the log's size)."""
    wanted = stored_nodes(nodes)
    missing = sum(1 for node in wanted if node not in found)
    if missing:
        raise ValueError(f"{missing} of {len(wanted)} stored subtrees needed are not stored")
    hashes: list[bytes] = []
    for level, index in nodes:
        if _is_stored(level):
            hashes.append(found[(level, index)])
            continue
        layer = [found[(0, leaf)] for leaf in range(index << level, (index + 1) << level)]
        while len(layer) > 1:
            layer = [
                hashlib.sha256(_NODE_PREFIX + layer[i] + layer[i + 1]).digest()
                for i in range(0, len(layer), 2)
            ]
        hashes.append(layer[0])
    return hashes
