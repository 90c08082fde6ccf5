"""Tests for sync.verify: a batch is accepted whole or rejected with the right reason."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ccnode.v1 import log_pb2
from sync.entry import Entry, make_entry, payload_digest
from sync.merkle import Frontier
from sync.note import sign_note
from sync.verify import (
    BATCH_BYTES_MAX,
    BATCH_ENTRIES_MAX,
    AcceptedBatch,
    BatchRejected,
    LogState,
    RejectReason,
    verify_batch,
)
from tests.unit.corefixtures import (
    TRUST_DOMAIN,
    Log,
    blacklist_entry,
    build_log,
    log_signer,
    salt_for,
    signed_checkpoint,
)

ORIGIN = "chengdu"


@pytest.fixture(scope="module")
def log() -> Log:
    return build_log(8, ORIGIN)


def _verify(
    state: LogState,
    log: Log,
    *,
    first_index: int | None = None,
    entries: Sequence[Entry] | None = None,
    note: str | None = None,
    frozen: bool = False,
    **kwargs: object,
) -> AcceptedBatch:
    """Verify log.entries[state.size:] against log.checkpoint() unless told otherwise."""
    first = state.size if first_index is None else first_index
    batch = log.entries[first:] if entries is None else entries
    return verify_batch(
        state,
        trust_domain=TRUST_DOMAIN,
        first_index=first,
        entries=batch,
        checkpoint_note=log.checkpoint() if note is None else note,
        verifier=kwargs.pop("verifier", log.verifier),  # type: ignore[arg-type]
        frozen=frozen,
        **kwargs,  # type: ignore[arg-type]
    )


def _rejection(state: LogState, log: Log, **kwargs: object) -> BatchRejected:
    snapshot = Frontier(state.frontier.size, list(state.frontier.hashes))
    before = (state.size, state.checkpoint_note)
    with pytest.raises(BatchRejected) as err:
        _verify(state, log, **kwargs)  # type: ignore[arg-type]
    # Nothing is applied: the receiver's state is untouched, compared by value.
    assert state.frontier == snapshot
    assert (state.size, state.checkpoint_note) == before
    assert str(err.value).startswith(err.value.reason.value + ": ")
    return err.value


def _reject(state: LogState, log: Log, **kwargs: object) -> RejectReason:
    return _rejection(state, log, **kwargs).reason


def _replace(entries: Sequence[Entry], position: int, entry: Entry) -> list[Entry]:
    out = list(entries)
    out[position] = entry
    return out


# ---------------------------------------------------------------- accepted batches


@pytest.mark.parametrize("held", [0, 1, 3, 7])
def test_a_valid_batch_is_accepted_and_its_root_is_the_checkpoint_root(log: Log, held: int) -> None:
    state = log.state(held)
    accepted = _verify(state, log)
    assert accepted.origin == ORIGIN
    assert accepted.first_index == held
    assert accepted.entries == tuple(log.entries[held:])
    assert accepted.leaf_hashes == tuple(log.leaf_hashes[held:])
    assert [h.index for h in accepted.headers] == list(range(held, 8))
    assert accepted.checkpoint.size == 8
    assert accepted.state.size == 8
    assert accepted.state.frontier.root() == accepted.checkpoint.root == log.root()
    assert accepted.state.frontier == Frontier.from_leaf_hashes(log.leaf_hashes)
    assert accepted.state.checkpoint_note == accepted.checkpoint_note == log.checkpoint()


def test_accepted_state_chains_into_the_next_batch(log: Log) -> None:
    first = _verify(
        LogState.empty(ORIGIN), log, first_index=0, entries=log.entries[:5], note=log.checkpoint(5)
    )
    second = _verify(first.state, log)
    assert second.first_index == 5
    assert second.state.frontier.root() == log.root()


def test_an_overlapping_resend_returns_only_the_new_entries(log: Log) -> None:
    state = log.state(5)
    accepted = _verify(state, log, first_index=2)
    assert accepted.first_index == 5
    assert accepted.entries == tuple(log.entries[5:])
    assert [h.index for h in accepted.headers] == [5, 6, 7]
    assert accepted.state.frontier.root() == log.root()


def test_a_redacted_entry_is_accepted(log: Log) -> None:
    entries = _replace(log.entries, 3, log.entries[3].redacted())
    accepted = _verify(LogState.empty(ORIGIN), log, entries=entries)
    assert accepted.entries[3].payload is None
    assert accepted.state.frontier.root() == log.root()


def test_an_empty_batch_at_the_held_size_reaffirms_the_checkpoint(log: Log) -> None:
    state = log.state(8)
    accepted = _verify(state, log, entries=[])
    assert accepted.entries == ()
    assert accepted.state.frontier == state.frontier


def test_the_input_state_is_not_mutated_by_an_accepted_batch(log: Log) -> None:
    state = log.state(3)
    snapshot = Frontier(state.frontier.size, list(state.frontier.hashes))
    _verify(state, log)
    assert state.frontier == snapshot
    assert state.size == 3


def test_a_lone_entry_over_the_byte_budget_is_oversized() -> None:
    # Real entries (<= 192 KiB payload, <= 4 KiB header) always fit the protocol's 256 KiB
    # budget, so no exemption for a lone entry is needed or allowed.
    big = build_log(0, ORIGIN)
    big.entries = [
        make_entry(
            origin=ORIGIN,
            index=0,
            kind=log_pb2.BLACKLIST_LISTED,
            subject="chengdu/bl/0",
            actor="clerk-7",
            hlc=1,
            payload=bytes(150 * 1024),
            salt=salt_for(ORIGIN, 0),
        )
    ]
    rejected = _rejection(LogState.empty(ORIGIN), big, bytes_max=100 * 1024)
    assert rejected.reason is RejectReason.OVERSIZED


# ---------------------------------------------------------------- one reason each


@pytest.mark.parametrize("first_index", [3, 4, 7])
def test_gap_first_index_beyond_what_is_held(log: Log, first_index: int) -> None:
    rejected = _rejection(log.state(2), log, first_index=first_index)
    assert rejected.reason is RejectReason.GAP
    # Refused on the announced start, before any entry is looked at.
    assert rejected.detail == f"batch starts at {first_index}, hold 2"


def test_gap_non_contiguous_index_inside_the_batch(log: Log) -> None:
    # Entry 3 twice, and no entry 4: the count and checkpoint size still match.
    entries = _replace(log.entries, 4, log.entries[3])
    assert _reject(LogState.empty(ORIGIN), log, entries=entries) is RejectReason.GAP


def test_reordered_entries_are_caught_by_their_indexes(log: Log) -> None:
    entries = list(log.entries)
    entries[2], entries[5] = entries[5], entries[2]
    assert _reject(LogState.empty(ORIGIN), log, entries=entries) is RejectReason.GAP


def test_stale_every_entry_already_held(log: Log) -> None:
    state = log.state(8)
    assert _reject(state, log, first_index=4, entries=log.entries[4:]) is RejectReason.STALE


def test_stale_an_older_checkpoint_without_entries(log: Log) -> None:
    state = log.state(8)
    reason = _reject(state, log, first_index=5, entries=[], note=log.checkpoint(5))
    assert reason is RejectReason.STALE


def test_wrong_origin_an_entry_of_another_origin(log: Log) -> None:
    # A chongqing entry at the right index: decodes, digests fine, but is not chengdu's.
    entries = _replace(log.entries, 6, blacklist_entry("chongqing", 6))
    assert _reject(log.state(4), log, entries=entries[4:]) is RejectReason.WRONG_ORIGIN


def test_wrong_origin_a_checkpoint_signed_for_another_origin(log: Log) -> None:
    # The caller handed the key of the origin the checkpoint names, not the state's origin.
    other = build_log(8, "chongqing")
    reason = _reject(LogState.empty(ORIGIN), log, note=other.checkpoint(), verifier=other.verifier)
    assert reason is RejectReason.WRONG_ORIGIN


def test_wrong_origin_a_checkpoint_naming_another_origin(log: Log) -> None:
    other = build_log(8, "chongqing")
    reason = _reject(LogState.empty(ORIGIN), log, note=other.checkpoint())
    assert reason is RejectReason.WRONG_ORIGIN


def test_unknown_origin_without_a_verifier(log: Log) -> None:
    assert _reject(LogState.empty(ORIGIN), log, verifier=None) is RejectReason.UNKNOWN_ORIGIN


def test_bad_signature_another_key_with_the_right_name(log: Log) -> None:
    impostor = log_signer(ORIGIN, seed=b"impostor")
    assert impostor.name == log.signer.name
    note = signed_checkpoint(ORIGIN, 8, log.root(), impostor)
    assert _reject(LogState.empty(ORIGIN), log, note=note) is RejectReason.BAD_SIGNATURE


def test_bad_signature_a_body_changed_under_the_signature(log: Log) -> None:
    good = log.checkpoint()
    forged_body = signed_checkpoint(ORIGIN, 8, bytes(32), log.signer).split("\n\n")[0]
    note = forged_body + "\n\n" + good.split("\n\n")[1]
    assert _reject(LogState.empty(ORIGIN), log, note=note) is RejectReason.BAD_SIGNATURE


def test_malformed_undecodable_header(log: Log) -> None:
    entries = _replace(log.entries, 2, Entry(b"\xff\xff", salt_for(ORIGIN, 2), None))
    assert _reject(LogState.empty(ORIGIN), log, entries=entries) is RejectReason.MALFORMED


def test_malformed_bad_salt(log: Log) -> None:
    e = log.entries[2]
    entries = _replace(log.entries, 2, Entry(e.header, e.salt[:15], e.payload))
    assert _reject(LogState.empty(ORIGIN), log, entries=entries) is RejectReason.MALFORMED


def test_malformed_a_signed_note_whose_body_is_not_a_checkpoint(log: Log) -> None:
    note = sign_note("chengyu.court/chengdu\nnot a size\n", log.signer)
    assert _reject(LogState.empty(ORIGIN), log, note=note) is RejectReason.MALFORMED


def test_malformed_a_note_that_is_not_a_signed_note(log: Log) -> None:
    assert _reject(LogState.empty(ORIGIN), log, note="garbage\n") is RejectReason.MALFORMED


def test_payload_mismatch_a_flipped_payload_byte(log: Log) -> None:
    e = log.entries[5]
    assert e.payload is not None
    flipped = Entry(e.header, e.salt, e.payload[:-1] + bytes([e.payload[-1] ^ 1]))
    entries = _replace(log.entries, 5, flipped)
    assert _reject(LogState.empty(ORIGIN), log, entries=entries) is RejectReason.PAYLOAD_MISMATCH


def test_payload_mismatch_a_payload_of_the_wrong_size(log: Log) -> None:
    e = log.entries[5]
    entries = _replace(log.entries, 5, Entry(e.header, e.salt, (e.payload or b"") + b"\x00"))
    assert _reject(LogState.empty(ORIGIN), log, entries=entries) is RejectReason.PAYLOAD_MISMATCH


def test_size_mismatch_checkpoint_size_is_not_the_batch_end(log: Log) -> None:
    reason = _reject(LogState.empty(ORIGIN), log, note=log.checkpoint(7))
    assert reason is RejectReason.SIZE_MISMATCH


def test_size_mismatch_a_dropped_last_entry(log: Log) -> None:
    reason = _reject(LogState.empty(ORIGIN), log, entries=log.entries[:-1])
    assert reason is RejectReason.SIZE_MISMATCH


def test_root_mismatch_a_dropped_entry_with_later_ones_renumbered(log: Log) -> None:
    # Entries carry no signature of their own: a relay can drop entry 3 and re-make the
    # rest with contiguous indexes. The signed root still binds the true history.
    rest = [blacklist_entry(ORIGIN, i, subject=f"chengdu/bl/{i + 1}") for i in range(3, 7)]
    entries = log.entries[:3] + rest
    note = log.checkpoint(7)
    reason = _reject(LogState.empty(ORIGIN), log, entries=entries, note=note)
    assert reason is RejectReason.ROOT_MISMATCH


def test_root_mismatch_a_checkpoint_signed_for_another_root(log: Log) -> None:
    # The origin really signed this note, but over a different history of the same size.
    note = signed_checkpoint(ORIGIN, 8, log.root(7), log.signer)
    assert _reject(LogState.empty(ORIGIN), log, note=note) is RejectReason.ROOT_MISMATCH


def test_root_mismatch_a_flipped_header_byte(log: Log) -> None:
    e = log.entries[4]
    at = e.header.index(b"clerk-7")  # a byte of the actor: the header still decodes
    header = e.header[:at] + bytes([e.header[at] ^ 0x01]) + e.header[at + 1 :]
    entries = _replace(log.entries, 4, Entry(header, e.salt, e.payload))
    assert _reject(LogState.empty(ORIGIN), log, entries=entries) is RejectReason.ROOT_MISMATCH


def test_root_mismatch_against_a_held_frontier_of_another_history(log: Log) -> None:
    # The receiver's frontier is the other half of an equivocation: the batch is fine alone.
    forked = build_log(4, ORIGIN)
    forked.entries[1] = blacklist_entry(ORIGIN, 1, subject="chengdu/bl/other")
    state = LogState(ORIGIN, 4, Frontier.from_leaf_hashes(forked.leaf_hashes))
    assert _reject(state, log) is RejectReason.ROOT_MISMATCH


def test_oversized_too_many_entries() -> None:
    many = build_log(BATCH_ENTRIES_MAX + 1, ORIGIN)
    assert _reject(LogState.empty(ORIGIN), many) is RejectReason.OVERSIZED
    # The limit itself is fine.
    accepted = _verify(
        LogState.empty(ORIGIN),
        many,
        first_index=0,
        entries=many.entries[:BATCH_ENTRIES_MAX],
        note=many.checkpoint(BATCH_ENTRIES_MAX),
    )
    assert accepted.state.size == BATCH_ENTRIES_MAX


def test_oversized_too_many_bytes() -> None:
    payload_bytes = BATCH_BYTES_MAX // 2 + 1  # two such entries exceed the budget
    big = build_log(0, ORIGIN)
    big.entries = [
        make_entry(
            origin=ORIGIN,
            index=i,
            kind=log_pb2.BLACKLIST_LISTED,
            subject=f"chengdu/bl/{i}",
            actor="clerk-7",
            hlc=i,
            payload=bytes(payload_bytes),
            salt=salt_for(ORIGIN, i),
        )
        for i in range(2)
    ]
    assert _reject(LogState.empty(ORIGIN), big) is RejectReason.OVERSIZED


def test_oversized_checkpoint_note(log: Log) -> None:
    note = log.checkpoint() + "x" * (16 * 1024)
    assert _reject(LogState.empty(ORIGIN), log, note=note) is RejectReason.OVERSIZED


def test_oversized_a_lone_entry_beyond_what_make_entry_allows() -> None:
    payload = bytes(1024 * 1024)
    salt = salt_for(ORIGIN, 0)
    header = log_pb2.EntryHeader(
        version=1,
        origin=ORIGIN,
        index=0,
        kind=log_pb2.BLACKLIST_LISTED,
        subject="chengdu/bl/0",
        actor="clerk-7",
        payload_digest=payload_digest(salt, payload),
        payload_size_bytes=len(payload),
    ).SerializeToString()
    huge = build_log(0, ORIGIN)
    huge.entries = [Entry(header, salt, payload)]
    assert _reject(LogState.empty(ORIGIN), huge) is RejectReason.OVERSIZED


def test_frozen_origin_is_refused_before_anything_else(log: Log) -> None:
    reason = _reject(LogState.empty(ORIGIN), log, frozen=True, verifier=None)
    assert reason is RejectReason.FROZEN


def test_a_rejection_after_the_frontier_was_extended_leaves_the_state_unchanged(
    log: Log,
) -> None:
    # ROOT_MISMATCH is decided after extending a copy of the frontier: the original stays.
    state = log.state(3)
    note = signed_checkpoint(ORIGIN, 8, bytes(32), log.signer)
    assert _reject(state, log, note=note) is RejectReason.ROOT_MISMATCH
    assert state.frontier == Frontier.from_leaf_hashes(log.leaf_hashes[:3])
