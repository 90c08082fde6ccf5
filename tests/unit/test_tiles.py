"""sync.tiles against sync.merkle's leaf-reading proofs (hypothesis)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync import merkle, tiles

SIZE_MAX = 2000


def _leaves(size: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]


_LEAVES = _leaves(SIZE_MAX)


def _stored_nodes(leaves: Sequence[bytes], batch_sizes: Sequence[int]) -> dict[tiles.NodeId, bytes]:
    """Every node hash, written batch by batch as a store does, level 0 being the leaves."""
    stored = {(0, i): leaf for i, leaf in enumerate(leaves)}
    frontier = merkle.Frontier()
    position = 0
    for batch in [*batch_sizes, len(leaves)]:
        batch_end = min(len(leaves), position + batch)
        for level, index, node in tiles.completed_nodes(frontier, leaves[position:batch_end]):
            stored[(level, index)] = node
        position = batch_end
    assert frontier.size == len(leaves)
    assert frontier == merkle.Frontier.from_leaf_hashes(leaves)
    return stored


def _reader(stored: dict[tiles.NodeId, bytes], reads: list[int]) -> tiles.NodeReader:
    def read(nodes: Sequence[tiles.NodeId]) -> list[bytes]:
        fetch = tiles.stored_nodes(nodes)
        reads.append(len(fetch))
        return tiles.assemble(nodes, {node: stored[node] for node in fetch if node in stored})

    return read


@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(1, SIZE_MAX),
    data=st.data(),
    batches=st.lists(st.integers(1, 300), max_size=5),
)
def test_proofs_equal_the_naive_ones(size: int, data: st.DataObject, batches: list[int]) -> None:
    leaves = _LEAVES[:size]
    stored = _stored_nodes(leaves, batches)
    # Exactly the complete subtrees of the stored levels: the leaves and levels >= 4.
    assert set(stored) == {
        (level, index)
        for level in (0, *range(tiles.STORED_LEVEL_MIN, size.bit_length()))
        for index in range(size >> level)
    }
    index = data.draw(st.integers(0, size - 1))
    old_size = data.draw(st.integers(1, size))
    reads: list[int] = []
    read = _reader(stored, reads)
    root = merkle.root(leaves)
    assert tiles.root(size, read) == root

    proof = tiles.inclusion_proof(size, index, read)
    assert proof == merkle.inclusion_proof(leaves, index)
    merkle.verify_inclusion(leaves[index], index, size, proof, root)

    consistency = tiles.consistency_proof(old_size, size, read)
    assert consistency == merkle.consistency_proof(leaves, old_size)
    merkle.verify_consistency(old_size, size, consistency, merkle.root(leaves[:old_size]), root)
    assert tiles.consistency_proof_and_roots(old_size, size, read) == (
        consistency,
        merkle.root(leaves[:old_size]),
        root,
    )
    # One read per call, each of O(log size) stored hashes (a piece of level 1..3 is up to 8
    # leaves).
    assert len(reads) <= 4  # one per call; an empty proof reads nothing
    assert max(reads, default=0) <= 8 * 3 * size.bit_length()


def test_reads_grow_with_log_size_only() -> None:
    # A right-edge proof node is a fold of up to log2(n) pieces, but the pieces of all the
    # nodes of one proof are disjoint subtrees of the tree: at most 2 log2(n) in total.
    for size in (1000, 1 << 20, 10**7, (1 << 40) - 1):
        reads: list[int] = []

        def read(nodes: Sequence[tiles.NodeId], reads: list[int] = reads) -> list[bytes]:
            reads.append(len(nodes))
            fetch = tiles.stored_nodes(nodes)
            reads.append(len(fetch))
            return tiles.assemble(nodes, dict.fromkeys(fetch, bytes(32)))

        tiles.inclusion_proof(size, size // 3, read)
        tiles.consistency_proof(size // 3 + 1, size, read)
        assert max(reads[0::2]) <= 2 * size.bit_length()  # subtrees asked for
        assert max(reads[1::2]) <= 2 * size.bit_length() + 3 * 14  # stored hashes read


def test_assemble_refuses_what_is_not_stored() -> None:
    stored = _stored_nodes(_LEAVES[:20], [])
    with pytest.raises(ValueError, match="not stored"):
        tiles.assemble([(2, 5)], stored)  # leaves 20..23: beyond the log
    with pytest.raises(ValueError, match="not stored"):
        tiles.assemble([(4, 1)], stored)  # leaves 16..31: not complete


def test_empty_and_bad_arguments() -> None:
    def read(nodes: Sequence[tiles.NodeId]) -> list[bytes]:
        raise AssertionError("nothing to read")

    assert tiles.root(0, read) == merkle.EMPTY_ROOT
    with pytest.raises(ValueError):
        tiles.inclusion_proof(5, 5, read)
    with pytest.raises(ValueError):
        tiles.consistency_proof(0, 5, read)
    with pytest.raises(ValueError):
        tiles.range_nodes(3, 7)  # not a range of the RFC recursion: 3 is not 4-aligned
