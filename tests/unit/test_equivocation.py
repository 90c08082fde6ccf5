"""Tests for sync.equivocation: evidence that an origin signed two inconsistent checkpoints."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.equivocation import Evidence, EvidenceError, find_equivocation, verify_evidence
from sync.merkle import consistency_proof, root, subtree_root
from sync.note import Ed25519Signer, sign_note
from tests.unit.corefixtures import log_signer, signed_checkpoint

ORIGIN = "chengdu"
SIGNER = log_signer(ORIGIN)
VERIFIER = SIGNER.verifier()


def _leaves(n: int, fork_at: int | None = None) -> list[bytes]:
    """Leaf hashes of a log of n entries; ``fork_at`` changes that one leaf (another history)."""
    return [
        hashlib.sha256(f"{'fork' if i == fork_at else 'main'}/{i}".encode()).digest()
        for i in range(n)
    ]


def _note(leaves: list[bytes], size: int, signer: Ed25519Signer = SIGNER) -> str:
    return signed_checkpoint(ORIGIN, size, root(leaves[:size]), signer)


MAIN = _leaves(13)
FORK = _leaves(13, fork_at=4)  # agrees with MAIN on leaves 0..3


@pytest.fixture
def same_size() -> Evidence:
    evidence = find_equivocation(_note(MAIN, 9), _note(FORK, 9), VERIFIER)
    assert evidence is not None
    return evidence


@pytest.fixture
def different_sizes() -> Evidence:
    evidence = find_equivocation(_note(FORK, 6), _note(MAIN, 13), VERIFIER, larger_leaf_hashes=MAIN)
    assert evidence is not None
    return evidence


# ---------------------------------------------------------------- finding evidence


def test_same_size_different_roots_is_evidence(same_size: Evidence) -> None:
    assert same_size.origin == ORIGIN
    assert (same_size.prefix_root, same_size.consistency_proof) == (b"", ())
    assert {same_size.smaller_note, same_size.larger_note} == {_note(MAIN, 9), _note(FORK, 9)}
    verify_evidence(same_size, VERIFIER)


def test_different_sizes_with_the_larger_trees_leaves_is_evidence(
    different_sizes: Evidence,
) -> None:
    assert different_sizes.smaller_note == _note(FORK, 6)
    assert different_sizes.larger_note == _note(MAIN, 13)
    assert different_sizes.prefix_root == subtree_root(MAIN, 0, 6)
    assert list(different_sizes.consistency_proof) == consistency_proof(MAIN, 6)
    verify_evidence(different_sizes, VERIFIER)


def test_the_larger_history_may_be_the_forked_one() -> None:
    evidence = find_equivocation(_note(MAIN, 7), _note(FORK, 11), VERIFIER, larger_leaf_hashes=FORK)
    assert evidence is not None
    verify_evidence(evidence, VERIFIER)


def test_different_sizes_with_a_prefix_root_and_proof_from_a_peer() -> None:
    evidence = find_equivocation(
        _note(MAIN, 13),
        _note(FORK, 6),
        VERIFIER,
        prefix_root=subtree_root(MAIN, 0, 6),
        proof=consistency_proof(MAIN, 6),
        detected_by="chongqing",
        detected_at_unix_ms=1_709_510_400_000,
    )
    assert evidence is not None
    assert (evidence.detected_by, evidence.detected_at_unix_ms) == ("chongqing", 1_709_510_400_000)
    verify_evidence(evidence, VERIFIER)


@pytest.mark.parametrize(("small", "large"), [(5, 13), (1, 2), (4, 4), (13, 13), (8, 12)])
def test_a_consistent_pair_is_not_evidence(small: int, large: int) -> None:
    assert (
        find_equivocation(_note(MAIN, small), _note(MAIN, large), VERIFIER, larger_leaf_hashes=MAIN)
        is None
    )


def test_a_fork_after_the_smaller_size_is_not_evidence() -> None:
    # FORK differs only at leaf 4: its 4-prefix is MAIN's, so (FORK, 4) is consistent.
    assert (
        find_equivocation(_note(FORK, 4), _note(MAIN, 10), VERIFIER, larger_leaf_hashes=MAIN)
        is None
    )


def test_undecidable_pairs_give_none() -> None:
    small, large = _note(FORK, 6), _note(MAIN, 13)
    assert find_equivocation(small, large, VERIFIER) is None  # neither leaves nor prefix
    short = MAIN[:12]
    assert find_equivocation(small, large, VERIFIER, larger_leaf_hashes=short) is None
    # leaves of another history than the larger checkpoint's prove nothing
    assert find_equivocation(small, large, VERIFIER, larger_leaf_hashes=FORK) is None
    # a prefix root without a valid proof proves nothing either
    assert find_equivocation(small, large, VERIFIER, prefix_root=root(MAIN[:6])) is None


def test_the_empty_tree_is_consistent_with_everything() -> None:
    empty = _note([], 0)
    assert find_equivocation(empty, _note(MAIN, 5), VERIFIER, larger_leaf_hashes=MAIN) is None


def test_find_refuses_notes_not_signed_by_the_origin() -> None:
    impostor = log_signer(ORIGIN, seed=b"impostor")
    with pytest.raises(EvidenceError):
        find_equivocation(_note(MAIN, 9), _note(FORK, 9, impostor), VERIFIER)


# ---------------------------------------------------------------- verifying evidence


def test_tampered_prefix_root_fails(different_sizes: Evidence) -> None:
    bad = dataclasses.replace(different_sizes, prefix_root=bytes(32))
    with pytest.raises(EvidenceError, match="not proved"):
        verify_evidence(bad, VERIFIER)


def test_a_prefix_root_equal_to_the_smaller_root_is_no_evidence(different_sizes: Evidence) -> None:
    bad = dataclasses.replace(different_sizes, prefix_root=root(FORK[:6]))
    with pytest.raises(EvidenceError, match="consistent"):
        verify_evidence(bad, VERIFIER)


def test_tampered_proof_fails(different_sizes: Evidence) -> None:
    proof = list(different_sizes.consistency_proof)
    proof[0] = bytes([proof[0][0] ^ 1]) + proof[0][1:]
    for bad_proof in (tuple(proof), different_sizes.consistency_proof[:-1], ()):
        bad = dataclasses.replace(different_sizes, consistency_proof=bad_proof)
        with pytest.raises(EvidenceError):
            verify_evidence(bad, VERIFIER)


@pytest.mark.parametrize("smaller", [True, False])
def test_a_note_signed_by_another_key_fails(different_sizes: Evidence, smaller: bool) -> None:
    impostor = log_signer(ORIGIN, seed=b"impostor")
    note = different_sizes.smaller_note if smaller else different_sizes.larger_note
    resigned = sign_note(note.split("\n\n")[0] + "\n", impostor)  # same body, another key
    if smaller:
        bad = dataclasses.replace(different_sizes, smaller_note=resigned)
    else:
        bad = dataclasses.replace(different_sizes, larger_note=resigned)
    with pytest.raises(EvidenceError, match="not validly signed"):
        verify_evidence(bad, VERIFIER)


def test_same_size_evidence_signed_by_another_key_fails(same_size: Evidence) -> None:
    other_key = log_signer(ORIGIN, seed=b"impostor").verifier()
    with pytest.raises(EvidenceError):
        verify_evidence(same_size, other_key)


def test_notes_of_different_origins_fail() -> None:
    other = log_signer("chongqing")
    foreign = signed_checkpoint("chongqing", 9, root(FORK[:9]), other)
    evidence = Evidence(origin=ORIGIN, smaller_note=_note(MAIN, 9), larger_note=foreign)
    with pytest.raises(EvidenceError):
        verify_evidence(evidence, VERIFIER)


def test_evidence_naming_another_origin_fails(same_size: Evidence) -> None:
    # A receiver freezes the origin the record names: it must be the one whose key signed.
    mislabelled = dataclasses.replace(same_size, origin="chongqing")
    with pytest.raises(EvidenceError, match="another origin"):
        verify_evidence(mislabelled, VERIFIER)


def test_who_found_it_and_when_is_not_part_of_the_proof(different_sizes: Evidence) -> None:
    # A relay passes evidence on with the original detector; that claim is unsigned context.
    relayed = dataclasses.replace(different_sizes, detected_by="kunming", detected_at_unix_ms=1)
    verify_evidence(relayed, VERIFIER)


def test_same_size_same_root_fails() -> None:
    note = _note(MAIN, 9)
    with pytest.raises(EvidenceError, match="consistent"):
        verify_evidence(Evidence(ORIGIN, note, note), VERIFIER)


def test_different_sizes_from_the_empty_tree_fail() -> None:
    evidence = Evidence(ORIGIN, _note([], 0), _note(MAIN, 5), prefix_root=bytes(32))
    with pytest.raises(EvidenceError, match="empty tree"):
        verify_evidence(evidence, VERIFIER)


def test_evidence_with_its_notes_swapped_still_verifies(different_sizes: Evidence) -> None:
    swapped = dataclasses.replace(
        different_sizes,
        smaller_note=different_sizes.larger_note,
        larger_note=different_sizes.smaller_note,
    )
    verify_evidence(swapped, VERIFIER)


# ---------------------------------------------------------------- de-duplication


def test_key_does_not_depend_on_which_note_came_first() -> None:
    a, b = _note(MAIN, 9), _note(FORK, 9)
    ab = find_equivocation(a, b, VERIFIER, detected_by="chongqing")
    ba = find_equivocation(b, a, VERIFIER, detected_by="kunming")
    assert ab is not None and ba is not None
    assert ab.key() == ba.key()
    assert ab.key()[0] == ORIGIN


def test_key_does_not_depend_on_note_order_for_different_sizes() -> None:
    small, large = _note(FORK, 6), _note(MAIN, 13)
    one = find_equivocation(small, large, VERIFIER, larger_leaf_hashes=MAIN)
    two = find_equivocation(large, small, VERIFIER, larger_leaf_hashes=MAIN)
    assert one is not None and two is not None
    assert one.key() == two.key() == (ORIGIN, small, large)
    assert one == two


# ---------------------------------------------------------------- property


@settings(derandomize=True, database=None, max_examples=40, deadline=None)
@given(data=st.data())
def test_evidence_exactly_when_the_histories_differ_within_the_smaller_tree(
    data: st.DataObject,
) -> None:
    large = data.draw(st.integers(min_value=1, max_value=20), label="large")
    small = data.draw(st.integers(min_value=1, max_value=large), label="small")
    fork_at = data.draw(st.integers(min_value=0, max_value=large - 1), label="fork_at")
    main, fork = _leaves(large), _leaves(large, fork_at=fork_at)
    evidence = find_equivocation(
        _note(fork, small), _note(main, large), VERIFIER, larger_leaf_hashes=main
    )
    assert (evidence is not None) == (fork_at < small)
    if evidence is not None:
        verify_evidence(evidence, VERIFIER)
