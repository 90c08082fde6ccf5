"""Tests for sync.merkle: shared RFC 6962 vectors, an RFC-text reference, and tampering."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sync.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    Frontier,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    subtree_root,
    verify_consistency,
    verify_inclusion,
)

# ------------------------------------------------------------------ RFC 6962 reference
# Written straight from RFC 6962 section 2.1 (MTH), 2.1.1 (PATH) and 2.1.2 (PROOF/SUBPROOF),
# over raw entries, with its own hashing: deliberately naive (recursion over slices) so that it
# shares no code or trick with sync.merkle. The cache only avoids recomputing equal subtrees.


def _largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@functools.cache
def ref_mth(d: tuple[bytes, ...]) -> bytes:
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _largest_power_of_two_below(n)
    return hashlib.sha256(b"\x01" + ref_mth(d[0:k]) + ref_mth(d[k:n])).digest()


def ref_path(m: int, d: tuple[bytes, ...]) -> list[bytes]:
    n = len(d)
    if n == 1:
        assert m == 0
        return []
    k = _largest_power_of_two_below(n)
    if m < k:
        return [*ref_path(m, d[0:k]), ref_mth(d[k:n])]
    return [*ref_path(m - k, d[k:n]), ref_mth(d[0:k])]


def ref_subproof(m: int, d: tuple[bytes, ...], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _largest_power_of_two_below(n)
    if m <= k:
        return [*ref_subproof(m, d[0:k], b), ref_mth(d[k:n])]
    return [*ref_subproof(m - k, d[k:n], False), ref_mth(d[0:k])]


def ref_proof(m: int, d: tuple[bytes, ...]) -> list[bytes]:
    return ref_subproof(m, d, True)


# ------------------------------------------------------------------ helpers


def make_entries(n: int, seed: int) -> tuple[bytes, ...]:
    """``n`` deterministic entries of varied length (0..40 bytes, duplicates possible)."""
    rng = random.Random(seed)
    return tuple(rng.randbytes(rng.randrange(0, 41)) for _ in range(n))


def flip_bit(value: bytes, bit: int) -> bytes:
    flipped = bytearray(value)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


# The eight entries of the certificate-transparency reference tree, which the happy-path
# vectors in shared/testdata/merkle are built from, and its published roots (RFC 6962 tests).
CT_ENTRIES = (
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
)
CT_ROOTS_HEX = (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)
CT_LEAF_HASHES = [leaf_hash(entry) for entry in CT_ENTRIES]

# ------------------------------------------------------------------ shared test vectors

VECTOR_DIR = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "merkle"


def _vector_params(kind: str, pattern: str = "*.json") -> list[Any]:
    files = sorted((VECTOR_DIR / kind).rglob(pattern)) if VECTOR_DIR.is_dir() else []
    if not files:
        return [pytest.param(None, id=f"{kind}-vectors-missing")]
    return [pytest.param(path, id=path.relative_to(VECTOR_DIR).as_posix()) for path in files]


def _load_vector(path: Path | None) -> dict[str, Any]:
    if path is None:
        reason = f"RFC 6962 test vectors not found under {VECTOR_DIR}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI must have shared/ beside the repository)")
        pytest.skip(f"{reason}; shared/ is expected as a sibling of the repository")
    vector: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(vector.get("wantErr"), bool), f"{path}: wantErr must be a boolean"
    return vector


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "", validate=True)


def _b64_list(values: list[str] | None) -> list[bytes]:
    return [_b64(value) for value in values or []]  # "proof": null means no nodes


@pytest.mark.parametrize("path", _vector_params("inclusion"))
def test_inclusion_vector(path: Path | None) -> None:
    v = _load_vector(path)
    args = (_b64(v["leafHash"]), v["leafIdx"], v["treeSize"], _b64_list(v["proof"]))
    if v["wantErr"]:
        with pytest.raises(ProofError, match=r"\w"):
            verify_inclusion(*args, _b64(v["root"]))
    else:
        assert verify_inclusion(*args, _b64(v["root"])) is None


@pytest.mark.parametrize("path", _vector_params("consistency"))
def test_consistency_vector(path: Path | None) -> None:
    v = _load_vector(path)
    args = (v["size1"], v["size2"], _b64_list(v["proof"]), _b64(v["root1"]), _b64(v["root2"]))
    if v["wantErr"]:
        with pytest.raises(ProofError, match=r"\w"):
            verify_consistency(*args)
    else:
        assert verify_consistency(*args) is None


@pytest.mark.parametrize(
    "path",
    _vector_params("inclusion", "happy-path.json")
    + _vector_params("consistency", "happy-path.json"),
)
def test_happy_path_vectors_are_what_we_generate(path: Path | None) -> None:
    v = _load_vector(path)
    assert not v["wantErr"]
    if "leafIdx" in v:
        leaves = CT_LEAF_HASHES[: v["treeSize"]]
        assert leaves[v["leafIdx"]] == _b64(v["leafHash"])
        assert root(leaves) == _b64(v["root"])
        assert inclusion_proof(leaves, v["leafIdx"]) == _b64_list(v["proof"])
    else:
        leaves = CT_LEAF_HASHES[: v["size2"]]
        assert root(leaves[: v["size1"]]) == _b64(v["root1"])
        assert root(leaves) == _b64(v["root2"])
        assert consistency_proof(leaves, v["size1"]) == _b64_list(v["proof"])


# ------------------------------------------------------------------ known answers


def test_hash_primitives_follow_rfc6962() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root([]) == EMPTY_ROOT
    assert Frontier().root() == EMPTY_ROOT
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    left, right = leaf_hash(b"l"), leaf_hash(b"r")
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert len(leaf_hash(b"")) == HASH_SIZE


def test_ct_reference_roots() -> None:
    for size, want_hex in enumerate(CT_ROOTS_HEX, start=1):
        assert root(CT_LEAF_HASHES[:size]).hex() == want_hex
        assert Frontier.from_leaf_hashes(CT_LEAF_HASHES[:size]).root().hex() == want_hex


# ------------------------------------------------------------------ agreement with the reference


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,  # CI runs must be reproducible
    database=None,  # leave no .hypothesis/ behind
    suppress_health_check=[HealthCheck.too_slow],
)
@given(size=st.integers(0, 300), seed=st.integers(0, 2**32), data=st.data())
@example(size=0, seed=0, data=None)
@example(size=1, seed=1, data=None)
@example(size=255, seed=2, data=None)
@example(size=256, seed=3, data=None)
@example(size=257, seed=4, data=None)
@example(size=300, seed=5, data=None)
def test_agrees_with_rfc_reference(size: int, seed: int, data: st.DataObject | None) -> None:
    ref_mth.cache_clear()
    entries = make_entries(size, seed)
    leaves = [leaf_hash(entry) for entry in entries]
    tree_root = ref_mth(entries)

    # Frontier root and encoding at every size along the way.
    frontier = Frontier()
    for prefix in range(size + 1):
        assert frontier.size == prefix
        assert len(frontier.hashes) == prefix.bit_count()
        assert frontier.root() == ref_mth(entries[:prefix])
        assert Frontier.from_bytes(frontier.to_bytes()) == frontier
        if prefix < size:
            frontier.append(leaves[prefix])
    assert Frontier.from_leaf_hashes(leaves) == frontier
    assert root(leaves) == tree_root

    def draw(strategy: st.SearchStrategy[int], label: str, default: int = 0) -> int:
        return default if data is None else data.draw(strategy, label=label)

    start = draw(st.integers(0, size), "start")
    end = draw(st.integers(start, size), "end")
    assert subtree_root(leaves, start, end) == ref_mth(entries[start:end])
    if size == 0:
        return

    indices = {0, size - 1, draw(st.integers(0, size - 1), "index")}
    for index in sorted(indices):
        proof = inclusion_proof(leaves, index)
        assert proof == ref_path(index, entries)
        verify_inclusion(leaves[index], index, size, proof, tree_root)
        _assert_inclusion_tampering_fails(leaves[index], index, size, proof, tree_root, draw)

    old_sizes = {1, size, draw(st.integers(1, size), "old_size", default=1)}
    for old_size in sorted(old_sizes):
        proof = consistency_proof(leaves, old_size)
        assert proof == ref_proof(old_size, entries)
        old_root = ref_mth(entries[:old_size])
        verify_consistency(old_size, size, proof, old_root, tree_root)
        _assert_consistency_tampering_fails(old_size, size, proof, old_root, tree_root, draw)


def _assert_inclusion_tampering_fails(
    leaf: bytes, index: int, size: int, proof: list[bytes], tree_root: bytes, draw: Any
) -> None:
    bit = draw(st.integers(0, 8 * HASH_SIZE - 1), "bit")
    for position in range(len(proof)):
        bad = [*proof[:position], flip_bit(proof[position], bit), *proof[position + 1 :]]
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, bad, tree_root)
    for bad_root_or_leaf in ((flip_bit(leaf, bit), tree_root), (leaf, flip_bit(tree_root, bit))):
        with pytest.raises(ProofError):
            verify_inclusion(bad_root_or_leaf[0], index, size, proof, bad_root_or_leaf[1])
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, [*proof, tree_root], tree_root)  # extra node
    if proof:
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, proof[:-1], tree_root)  # missing node


def _assert_consistency_tampering_fails(
    old_size: int, size: int, proof: list[bytes], old_root: bytes, new_root: bytes, draw: Any
) -> None:
    bit = draw(st.integers(0, 8 * HASH_SIZE - 1), "bit")
    for position in range(len(proof)):
        bad = [*proof[:position], flip_bit(proof[position], bit), *proof[position + 1 :]]
        with pytest.raises(ProofError):
            verify_consistency(old_size, size, bad, old_root, new_root)
    for roots in ((flip_bit(old_root, bit), new_root), (old_root, flip_bit(new_root, bit))):
        with pytest.raises(ProofError):
            verify_consistency(old_size, size, proof, *roots)
    with pytest.raises(ProofError):
        verify_consistency(old_size, size, [*proof, new_root], old_root, new_root)
    if proof:
        with pytest.raises(ProofError):
            verify_consistency(old_size, size, proof[:-1], old_root, new_root)


# ------------------------------------------------------------------ exhaustive small trees

SMALL_SIZES = (1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 16, 17)


@pytest.mark.parametrize("size", SMALL_SIZES)
def test_every_bit_of_every_proof_matters(size: int) -> None:
    # Distinct entries, so that no other index can legitimately hold the same leaf hash.
    entries = tuple(b"entry-%d" % i for i in range(size))
    leaves = [leaf_hash(entry) for entry in entries]
    tree_root = ref_mth(entries)
    for index in range(size):
        proof = inclusion_proof(leaves, index)
        assert proof == ref_path(index, entries)
        verify_inclusion(leaves[index], index, size, proof, tree_root)
        for other in range(size):
            if other != index:
                with pytest.raises(ProofError):
                    verify_inclusion(leaves[index], other, size, proof, tree_root)
        for bad_proof, bad_root in _single_bit_flips(proof, tree_root):
            with pytest.raises(ProofError):
                verify_inclusion(leaves[index], index, size, bad_proof, bad_root)
    for old_size in range(1, size + 1):
        proof = consistency_proof(leaves, old_size)
        assert proof == ref_proof(old_size, entries)
        old_root = ref_mth(entries[:old_size])
        verify_consistency(old_size, size, proof, old_root, tree_root)
        for bad_proof, bad_root in _single_bit_flips(proof, tree_root):
            with pytest.raises(ProofError):
                verify_consistency(old_size, size, bad_proof, old_root, bad_root)
        for _, bad_old_root in _single_bit_flips([], old_root):
            with pytest.raises(ProofError):
                verify_consistency(old_size, size, proof, bad_old_root, tree_root)


def _single_bit_flips(proof: list[bytes], tree_root: bytes) -> list[tuple[list[bytes], bytes]]:
    """Every variant of (proof, root) with exactly one bit flipped somewhere."""
    variants = []
    for position, node in enumerate(proof):
        for bit in range(8 * len(node)):
            bad = [*proof[:position], flip_bit(node, bit), *proof[position + 1 :]]
            variants.append((bad, tree_root))
    variants.extend((proof, flip_bit(tree_root, bit)) for bit in range(8 * len(tree_root)))
    return variants


def test_large_tree_needs_no_deep_recursion() -> None:
    size = (1 << 14) + 3
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    tree_root = root(leaves)
    assert Frontier.from_leaf_hashes(leaves).root() == tree_root
    for index in (0, 1 << 13, size - 1):
        verify_inclusion(leaves[index], index, size, inclusion_proof(leaves, index), tree_root)
    for old_size in (1, 1 << 14, size - 1):
        proof = consistency_proof(leaves, old_size)
        verify_consistency(old_size, size, proof, root(leaves[:old_size]), tree_root)


# ------------------------------------------------------------------ argument checking


def test_generation_rejects_out_of_range_arguments() -> None:
    leaves = CT_LEAF_HASHES[:5]
    bad_calls = [
        lambda: inclusion_proof(leaves, -1),
        lambda: inclusion_proof(leaves, 5),
        lambda: inclusion_proof([], 0),
        lambda: consistency_proof(leaves, 0),
        lambda: consistency_proof(leaves, 6),
        lambda: consistency_proof(leaves, -1),
        lambda: subtree_root(leaves, -1, 2),
        lambda: subtree_root(leaves, 3, 2),
        lambda: subtree_root(leaves, 0, 6),
    ]
    for call in bad_calls:
        with pytest.raises(ValueError, match="must satisfy") as caught:
            call()
        assert not isinstance(caught.value, ProofError)  # a caller bug, not a bad proof
    assert consistency_proof(leaves, 5) == []
    assert subtree_root(leaves, 2, 2) == EMPTY_ROOT
    assert subtree_root(leaves, 0, 4) == root(leaves[:4])


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ((CT_LEAF_HASHES[0], -1, 1, [], EMPTY_ROOT), ">= 0"),
        ((CT_LEAF_HASHES[0], 0, -1, [], EMPTY_ROOT), ">= 0"),
        ((CT_LEAF_HASHES[0], 1, 1, [], CT_LEAF_HASHES[0]), "not below tree size"),
        ((CT_LEAF_HASHES[0][:31], 0, 1, [], CT_LEAF_HASHES[0]), "leaf_hash must be 32 bytes"),
        ((CT_LEAF_HASHES[0], 0, 2, [b"\x00" * 33], EMPTY_ROOT), r"proof\[0\] must be 32"),
        ((CT_LEAF_HASHES[0], 0, 8, [EMPTY_ROOT] * 2, EMPTY_ROOT), "has 2 nodes.*needs 3"),
        ((CT_LEAF_HASHES[0], 0, 8, [EMPTY_ROOT] * 4, EMPTY_ROOT), "has 4 nodes.*needs 3"),
        ((CT_LEAF_HASHES[0], 0, 1, [], EMPTY_ROOT), "expected root"),
    ],
)
def test_inclusion_failures_say_why(args: tuple[Any, ...], reason: str) -> None:
    with pytest.raises(ProofError, match=reason):
        verify_inclusion(*args)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ((-1, 2, [], EMPTY_ROOT, EMPTY_ROOT), ">= 0"),
        ((3, 2, [], EMPTY_ROOT, EMPTY_ROOT), "larger than new size"),
        ((2, 2, [EMPTY_ROOT], EMPTY_ROOT, EMPTY_ROOT), "must be empty"),
        ((2, 2, [], EMPTY_ROOT, CT_LEAF_HASHES[0]), "different roots"),
        ((0, 0, [], CT_LEAF_HASHES[0], CT_LEAF_HASHES[0]), "empty-tree root"),
        ((0, 3, [], EMPTY_ROOT, EMPTY_ROOT), "meaningless"),
        ((1, 3, [], EMPTY_ROOT, EMPTY_ROOT), "is empty"),
        ((1, 3, [EMPTY_ROOT], b"short", EMPTY_ROOT), "old_root must be 32"),
        ((1, 3, [EMPTY_ROOT], EMPTY_ROOT, b"short"), "new_root must be 32"),
        ((1, 3, [b"short"], EMPTY_ROOT, EMPTY_ROOT), r"proof\[0\] must be 32"),
        ((3, 8, [EMPTY_ROOT] * 2, EMPTY_ROOT, EMPTY_ROOT), "has 2 nodes.*need 4"),
        ((3, 8, [EMPTY_ROOT] * 5, EMPTY_ROOT, EMPTY_ROOT), "has 5 nodes.*need 4"),
        ((4, 8, [EMPTY_ROOT], EMPTY_ROOT, EMPTY_ROOT), "new root"),
        ((3, 8, [EMPTY_ROOT] * 4, EMPTY_ROOT, EMPTY_ROOT), "old root"),
    ],
)
def test_consistency_failures_say_why(args: tuple[Any, ...], reason: str) -> None:
    with pytest.raises(ProofError, match=reason):
        verify_consistency(*args)


def test_equal_sizes_need_no_proof() -> None:
    verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    verify_consistency(5, 5, [], root(CT_LEAF_HASHES[:5]), root(CT_LEAF_HASHES[:5]))


# ------------------------------------------------------------------ frontier


def test_frontier_layout_and_encoding() -> None:
    frontier = Frontier.from_leaf_hashes(CT_LEAF_HASHES[:7])
    assert frontier.size == 7
    assert frontier.hashes == [
        subtree_root(CT_LEAF_HASHES, 0, 4),
        subtree_root(CT_LEAF_HASHES, 4, 6),
        CT_LEAF_HASHES[6],
    ]
    encoded = frontier.to_bytes()
    assert encoded == (7).to_bytes(8, "big") + b"".join(frontier.hashes)
    assert Frontier.from_bytes(encoded) == frontier
    assert Frontier.from_bytes(bytearray(encoded)) == frontier
    assert Frontier().to_bytes() == bytes(8)
    assert Frontier.from_bytes(bytes(8)) == Frontier()


@pytest.mark.parametrize(
    ("encoded", "reason"),
    [
        (b"\x00" * 7, "8-byte size"),
        ((1).to_bytes(8, "big") + b"\x00" * 31, "multiple of 32"),
        ((3).to_bytes(8, "big") + b"\x00" * 32, "needs 2 hashes"),
        ((0).to_bytes(8, "big") + b"\x00" * 32, "needs 0 hashes"),
        ((4).to_bytes(8, "big") + b"\x00" * 64, "needs 1 hashes"),
    ],
)
def test_frontier_from_bytes_rejects_bad_encodings(encoded: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        Frontier.from_bytes(encoded)


def test_frontier_constructor_validates() -> None:
    assert Frontier(1, [EMPTY_ROOT]).root() == EMPTY_ROOT
    with pytest.raises(ValueError, match=">= 0"):
        Frontier(-1, [])
    with pytest.raises(ValueError, match="needs 2 subtree hashes"):
        Frontier(3, [EMPTY_ROOT])
    with pytest.raises(ValueError, match=r"hashes\[0\] must be 32 bytes"):
        Frontier(1, [b"short"])


def test_frontier_extend_is_all_or_nothing() -> None:
    frontier = Frontier.from_leaf_hashes(CT_LEAF_HASHES[:3])
    before = frontier.copy()
    with pytest.raises(ValueError, match="position 5 must be 32 bytes"):
        frontier.extend([CT_LEAF_HASHES[3], CT_LEAF_HASHES[4], b"short", CT_LEAF_HASHES[5]])
    assert frontier == before

    def failing_source() -> Any:
        yield CT_LEAF_HASHES[3]
        raise RuntimeError("source failed")

    with pytest.raises(RuntimeError):
        frontier.extend(failing_source())
    assert frontier == before
    with pytest.raises(ValueError, match="must be 32 bytes"):
        frontier.append(b"")
    assert frontier == before


def test_frontier_copy_is_independent_and_equality() -> None:
    frontier = Frontier.from_leaf_hashes(CT_LEAF_HASHES[:5])
    twin = frontier.copy()
    assert twin == frontier
    twin.append(CT_LEAF_HASHES[5])
    assert twin != frontier
    assert frontier.size == 5
    assert frontier.root() == root(CT_LEAF_HASHES[:5])
    assert twin.root() == root(CT_LEAF_HASHES[:6])
    assert frontier != "not a frontier"
    assert "size=5" in repr(frontier)


def test_frontier_checkpoint_batches_match_root() -> None:
    # The replication pattern: extend batch by batch, compare with each signed checkpoint.
    leaves = [leaf_hash(b"h%d" % i) for i in range(1200)]
    frontier = Frontier()
    for batch_end in range(0, 1201, 500):
        frontier.extend(leaves[frontier.size : batch_end])
        assert frontier.root() == root(leaves[:batch_end])
    frontier.extend(leaves[frontier.size :])
    assert frontier.root() == root(leaves)


def test_root_accepts_any_sequence() -> None:
    assert root(tuple(CT_LEAF_HASHES)) == bytes.fromhex(CT_ROOTS_HEX[-1])
