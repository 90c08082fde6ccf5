"""RFC 6962 Merkle trees: hashes, roots, proofs, verification and an incremental frontier.

Every origin's log is an RFC 6962 Merkle tree (DESIGN.md section 1). This module is the single
place that knows how such a tree is hashed:

* RFC 6962 section 2.1 (restated in RFC 9162 section 2.1.1): a leaf hashes as
  ``SHA-256(0x00 || data)``, an interior node as ``SHA-256(0x01 || left || right)``, and the
  empty tree as ``SHA-256()``. The distinct prefixes stop a leaf from being passed off as a node.
  The tree over ``n > 1`` leaves splits at ``k``, the largest power of two smaller than ``n``.
* RFC 6962 section 2.1.1 / RFC 9162 section 2.1.3.1 (``PATH``): inclusion proofs, ordered from
  the leaf's sibling up to the root's child.
* RFC 6962 section 2.1.2 / RFC 9162 section 2.1.4.1 (``PROOF``/``SUBPROOF``): consistency proofs,
  defined for ``0 < old_size <= new_size`` (``old_size == new_size`` gives an empty proof).
* RFC 9162 sections 2.1.3.2 and 2.1.4.2: the verification algorithms, followed step by step.
  Where the RFC is silent (equal sizes, an empty old tree, bad argument ranges) the behaviour
  matches transparency-dev/merkle, whose test vectors live in ``shared/testdata/merkle``, plus
  one stricter rule those vectors require (see ``verify_consistency``).
* ``Frontier``: the compact range ``[0, size)`` -- the roots of the perfect subtrees that cover
  the log, largest first -- so that appending leaves and recomputing the root never re-reads
  the log (transparency-dev/merkle ``compact.Range`` restricted to ranges that start at 0).

Generation functions (``root``, ``subtree_root``, ``inclusion_proof``, ``consistency_proof``)
raise ``ValueError`` on out-of-range arguments: that is a caller bug. Verification functions
raise ``ProofError`` (a ``ValueError``) for anything that does not prove the claim: that is
untrusted input from a peer. No message ever contains hash values or payload bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Frontier",
    "ProofError",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "subtree_root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Bytes in a SHA-256 digest: every leaf hash, node hash, proof node and root."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256() (RFC 6962 section 2.1): the root of a log with no entries."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_SIZE_BYTES = 8  # Frontier.to_bytes: big-endian uint64 tree size


class ProofError(ValueError):
    """A proof does not prove what it claims; the message names the rule that failed."""


# ---------------------------------------------------------------------------------- hashing


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the hash of one leaf (for ccnode, the entry's header bytes)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (requires n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# ---------------------------------------------------------------------------------- frontier


class Frontier:
    """Compact range [0, size): roots of the perfect subtrees covering the log, largest first.

    ``hashes[i]`` is the root of a perfect subtree of ``2**b`` leaves, one for each set bit
    ``b`` of ``size`` from the most significant down, so ``len(hashes) == size.bit_count()``.
    Appending a leaf merges equal-sized subtrees like a binary counter carries; the root folds
    the subtrees right to left, exactly as MTH splits at the largest power of two.
    """

    __slots__ = ("hashes", "size")

    size: int
    hashes: list[bytes]

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()) -> None:
        hash_list = list(hashes)
        if size < 0:
            raise ValueError("Frontier size must be >= 0")
        if len(hash_list) != size.bit_count():
            raise ValueError(
                f"Frontier of size {size} needs {size.bit_count()} subtree hashes "
                f"(one per set bit of the size), got {len(hash_list)}"
            )
        for position, subtree_hash in enumerate(hash_list):
            _require_hash_size(f"Frontier hashes[{position}]", subtree_hash, ValueError)
        self.size = size
        self.hashes = hash_list

    @classmethod
    def from_leaf_hashes(cls, leaf_hashes: Iterable[bytes]) -> Frontier:
        """The frontier of a log whose leaf hashes are ``leaf_hashes``, in order."""
        frontier = cls()
        frontier.extend(leaf_hashes)
        return frontier

    @classmethod
    def from_bytes(cls, data: bytes) -> Frontier:
        """Inverse of ``to_bytes``; raises ValueError if ``data`` is not a valid encoding."""
        if len(data) < _SIZE_BYTES:
            raise ValueError(f"Frontier encoding must start with an {_SIZE_BYTES}-byte size")
        size = int.from_bytes(data[:_SIZE_BYTES], "big")
        body = memoryview(data)[_SIZE_BYTES:]
        if len(body) % HASH_SIZE:
            raise ValueError(f"Frontier encoding: hash bytes are not a multiple of {HASH_SIZE}")
        count = len(body) // HASH_SIZE
        if count != size.bit_count():
            raise ValueError(
                f"Frontier encoding: size {size} needs {size.bit_count()} hashes "
                f"(popcount of the size), got {count}"
            )
        hashes = [bytes(body[i : i + HASH_SIZE]) for i in range(0, len(body), HASH_SIZE)]
        return cls(size, hashes)

    def to_bytes(self) -> bytes:
        """8-byte big-endian size followed by the subtree hashes, largest subtree first."""
        return self.size.to_bytes(_SIZE_BYTES, "big") + b"".join(self.hashes)

    def append(self, leaf_hash: bytes) -> None:
        """Append one leaf hash (not the raw data: hash it with ``leaf_hash`` first)."""
        _require_hash_size(f"leaf hash at position {self.size}", leaf_hash, ValueError)
        # Nothing below can fail half-way, so unlike extend() no state needs saving.
        hashes, subtree, carry = self.hashes, leaf_hash, self.size
        while carry & 1:
            subtree = hashlib.sha256(_NODE_PREFIX + hashes.pop() + subtree).digest()
            carry >>= 1
        hashes.append(subtree)
        self.size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append leaf hashes in order; all or nothing if one is malformed or iteration fails.

        Hot path (every received entry goes through it), hence the local bindings and the
        inlined node hash: per leaf this costs one length check, on average one node hash,
        and no allocation beyond the hashes themselves.
        """
        hashes = self.hashes
        size = self.size
        saved = hashes.copy()  # O(log size): lets a failure part-way leave self unchanged
        sha256 = hashlib.sha256
        push = hashes.append
        pop = hashes.pop
        node_prefix = _NODE_PREFIX
        hash_size = HASH_SIZE
        try:
            for subtree in leaf_hashes:
                if len(subtree) != hash_size:
                    raise ValueError(
                        f"leaf hash at position {size} must be {hash_size} bytes, "
                        f"got {len(subtree)}"
                    )
                # Each trailing 1 bit of size is a perfect subtree of the same height as the
                # one being added: merge them, like the carry of a binary increment.
                carry = size
                while carry & 1:
                    subtree = sha256(node_prefix + pop() + subtree).digest()
                    carry >>= 1
                push(subtree)
                size += 1
        except BaseException:
            hashes[:] = saved
            raise
        self.size = size

    def root(self) -> bytes:
        """MTH of the leaves appended so far; O(log size), reads no leaf."""
        return _fold_right(self.hashes)

    def copy(self) -> Frontier:
        """An independent frontier with the same state (e.g. to try a batch before applying)."""
        twin = Frontier.__new__(Frontier)
        twin.size = self.size
        twin.hashes = self.hashes.copy()
        return twin

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frontier):
            return NotImplemented
        return self.size == other.size and self.hashes == other.hashes

    __hash__ = None  # type: ignore[assignment]  # mutable: not usable as a dict key

    def __repr__(self) -> str:
        return f"Frontier(size={self.size}, root={self.root().hex()[:16]}...)"


def _fold_right(subtree_roots: Sequence[bytes]) -> bytes:
    """Hash a left-to-right list of perfect subtree roots (sizes decreasing) into one root."""
    if not subtree_roots:
        return EMPTY_ROOT
    sha256 = hashlib.sha256
    result = subtree_roots[-1]
    for i in range(len(subtree_roots) - 2, -1, -1):
        result = sha256(_NODE_PREFIX + subtree_roots[i] + result).digest()
    return result


# ---------------------------------------------------------------------------------- roots


def _range_root(leaf_hashes: Sequence[bytes], start: int, end: int) -> bytes:
    """MTH(D[start:end]) in O(end - start) hashes and O(log) memory, copying no slice."""
    frontier = Frontier()
    frontier.extend(map(leaf_hashes.__getitem__, range(start, end)))
    return frontier.root()


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over all of ``leaf_hashes``; the empty tree gives ``EMPTY_ROOT``."""
    return _range_root(leaf_hashes, 0, len(leaf_hashes))


def subtree_root(leaf_hashes: Sequence[bytes], start: int, end: int) -> bytes:
    """MTH(D[start:end]): the root of the tree over the leaves in ``[start, end)``."""
    if not 0 <= start <= end <= len(leaf_hashes):
        raise ValueError(
            f"subtree range must satisfy 0 <= start <= end <= {len(leaf_hashes)} "
            f"(number of leaves), got start={start} end={end}"
        )
    return _range_root(leaf_hashes, start, end)


# ---------------------------------------------------------------------------------- proofs


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]) (RFC 9162 section 2.1.3.1), ordered from the leaf upwards.

    Walks down from the root iteratively, noting the sibling range at each split, then hashes
    each sibling range once: O(n) hashing in total, O(log n) extra memory.
    """
    size = len(leaf_hashes)
    if not 0 <= index < size:
        raise ValueError(f"inclusion proof index must satisfy 0 <= index < {size}, got {index}")
    siblings: list[tuple[int, int]] = []  # root-down order
    start, end = 0, size
    while end - start > 1:
        mid = start + _split_point(end - start)
        if index < mid:
            siblings.append((mid, end))
            end = mid
        else:
            siblings.append((start, mid))
            start = mid
    return [_range_root(leaf_hashes, lo, hi) for lo, hi in reversed(siblings)]


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(old_size, D[n]) (RFC 9162 section 2.1.4.1) for 0 < old_size <= n = len(leaves).

    Iterative SUBPROOF: descend until the old tree ends exactly where the current subtree ends,
    noting each sibling range. If the descent ever went right (SUBPROOF's b = false), the
    subtree reached is not the whole old tree, so its root is the first proof node; otherwise
    it *is* the old tree, whose root the verifier already holds. ``old_size == n`` gives [].
    """
    size = len(leaf_hashes)
    if not 0 < old_size <= size:
        raise ValueError(
            f"consistency proof old_size must satisfy 0 < old_size <= {size} "
            f"(number of leaves), got {old_size}"
        )
    siblings: list[tuple[int, int]] = []  # root-down order
    start, end = 0, size
    from_leaf_zero = True  # SUBPROOF's b: the subtree reached still starts at leaf 0
    while end != old_size:  # SUBPROOF recurses until the old tree fills [start, end)
        mid = start + _split_point(end - start)
        if old_size <= mid:
            siblings.append((mid, end))
            end = mid
        else:
            siblings.append((start, mid))
            start = mid
            from_leaf_zero = False
    proof = [] if from_leaf_zero else [_range_root(leaf_hashes, start, end)]
    proof.extend(_range_root(leaf_hashes, lo, hi) for lo, hi in reversed(siblings))
    return proof


# ---------------------------------------------------------------------------------- verification


def _require_hash_size(field: str, value: bytes, error: type[ValueError]) -> None:
    # A hash of the wrong length must be refused before hashing: otherwise 0x01||a||b could be
    # re-split into a different (a', b') and prove something never committed to.
    if len(value) != HASH_SIZE:
        raise error(f"{field} must be {HASH_SIZE} bytes, got {len(value)}")


def _require_proof_nodes(proof: Sequence[bytes]) -> None:
    for position, node in enumerate(proof):
        _require_hash_size(f"proof[{position}]", node, ProofError)


def _inclusion_proof_size(index: int, size: int) -> int:
    """Number of nodes in PATH(index, D[size]); only used to explain a failure."""
    inner = (index ^ (size - 1)).bit_length()  # levels below where index and size-1 part
    return inner + (index >> inner).bit_count()


def _consistency_proof_size(old_size: int, new_size: int) -> int:
    """Number of nodes in PROOF(old_size, D[new_size]) for 0 < old < new; for messages only."""
    shift = (old_size & -old_size).bit_length() - 1  # trailing zeros of old_size
    size = _inclusion_proof_size(old_size - 1, new_size) - shift
    return size if old_size == 1 << shift else size + 1


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``.

    RFC 9162 section 2.1.3.2, step by step. Returns None if the proof holds, else raises
    ProofError saying why.
    """
    if index < 0 or size < 0:
        raise ProofError("inclusion proof: index and size must be >= 0")
    # Step 1.
    if index >= size:
        raise ProofError(f"inclusion proof: index {index} is not below tree size {size}")
    _require_hash_size("leaf_hash", leaf_hash, ProofError)
    _require_proof_nodes(proof)
    # Steps 2-3.
    fn, sn, r = index, size - 1, leaf_hash
    sha256 = hashlib.sha256
    # Step 4.
    for p in proof:
        if sn == 0:  # 4a
            raise ProofError(
                f"inclusion proof has {len(proof)} nodes; index {index} in a tree of size "
                f"{size} needs {_inclusion_proof_size(index, size)}"
            )
        if fn & 1 or fn == sn:  # 4b
            r = sha256(_NODE_PREFIX + p + r).digest()
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = sha256(_NODE_PREFIX + r + p).digest()
        fn >>= 1  # 4c
        sn >>= 1
    # Step 5.
    if sn != 0:
        raise ProofError(
            f"inclusion proof has {len(proof)} nodes; index {index} in a tree of size "
            f"{size} needs {_inclusion_proof_size(index, size)}"
        )
    if r != root:
        raise ProofError("inclusion proof does not lead to the expected root")


def verify_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Check that the tree (new_size, new_root) extends the tree (old_size, old_root).

    RFC 9162 section 2.1.4.2, step by step, for 0 < old_size < new_size. The cases the RFC
    leaves open are decided as transparency-dev/merkle does: equal sizes need an empty proof
    and byte-equal roots; a non-empty tree is never "proved" consistent with the empty tree
    (every tree extends it, so such a proof carries no information and is refused as a misuse).
    One addition, required by shared/testdata/merkle: for old_size == new_size == 0 the roots
    must also be the empty-tree root, the only root a size-0 tree can have.
    Returns None if the proof holds, else raises ProofError saying why.
    """
    if old_size < 0 or new_size < 0:
        raise ProofError("consistency proof: tree sizes must be >= 0")
    if old_size > new_size:
        raise ProofError(
            f"consistency proof: old size {old_size} is larger than new size {new_size}"
        )
    if old_size == new_size:
        if proof:
            raise ProofError("consistency proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError(f"trees of equal size {old_size} have different roots")
        if old_size == 0 and old_root != EMPTY_ROOT:
            # The empty tree has exactly one root; accepting any other would let a bogus
            # "size 0" checkpoint through as consistent with itself.
            raise ProofError("a tree of size 0 must have the empty-tree root SHA-256()")
        return
    if old_size == 0:
        raise ProofError("consistency proof from the empty tree (old size 0) is meaningless")
    # Step 1.
    if not proof:
        raise ProofError("consistency proof is empty but the sizes differ")
    _require_hash_size("old_root", old_root, ProofError)
    _require_hash_size("new_root", new_root, ProofError)
    _require_proof_nodes(proof)
    # Step 2.
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # Steps 3-4.
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = path[0]
    sha256 = hashlib.sha256
    # Step 6.
    nodes: Iterator[bytes] = iter(path)
    next(nodes)
    for c in nodes:
        if sn == 0:  # 6a
            raise ProofError(_consistency_size_message(len(proof), old_size, new_size))
        if fn & 1 or fn == sn:  # 6b
            fr = sha256(_NODE_PREFIX + c + fr).digest()
            sr = sha256(_NODE_PREFIX + c + sr).digest()
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = sha256(_NODE_PREFIX + sr + c).digest()
        fn >>= 1  # 6c
        sn >>= 1
    # Step 7.
    if sn != 0:
        raise ProofError(_consistency_size_message(len(proof), old_size, new_size))
    if fr != old_root:
        raise ProofError("consistency proof does not lead to the old root")
    if sr != new_root:
        raise ProofError("consistency proof does not lead to the new root")


def _consistency_size_message(got: int, old_size: int, new_size: int) -> str:
    want = _consistency_proof_size(old_size, new_size)
    return f"consistency proof has {got} nodes; sizes {old_size} -> {new_size} need {want}"
