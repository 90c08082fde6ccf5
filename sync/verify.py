"""Verification of received batches: accept a whole batch or reject it with a reason.

A receiver holds, per origin, the size and Merkle frontier it has verified. A batch is a run
of consecutive entries of one origin ending at a checkpoint signed by that origin. The batch
is accepted only if, after appending its leaves to the stored frontier, the root equals the
signed checkpoint's root; nothing is applied otherwise. The decision is pure: the caller
commits entries, checkpoint and folded state in one transaction BEFORE acknowledging.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sync.checkpoint import Checkpoint, CheckpointError, open_checkpoint, origin_line
from sync.entry import Entry, EntryError, Header, check_entry, decode_header, entry_size_bytes
from sync.merkle import Frontier, leaf_hash
from sync.note import Note, NoteError, Verifier, parse_note

BATCH_ENTRIES_MAX = 500
BATCH_BYTES_MAX = 256 * 1024
CHECKPOINT_NOTE_BYTES_MAX = 16 * 1024


class RejectReason(enum.StrEnum):
    GAP = "gap"  # first index beyond what the receiver holds, or non-contiguous indexes
    STALE = "stale"  # nothing new: the receiver already holds every entry
    WRONG_ORIGIN = "wrong_origin"  # an entry or checkpoint of another origin
    UNKNOWN_ORIGIN = "unknown_origin"  # no verified key for the origin
    BAD_SIGNATURE = "bad_signature"  # checkpoint not validly signed by the origin
    MALFORMED = "malformed"  # undecodable header, bad salt, malformed note
    PAYLOAD_MISMATCH = "payload_mismatch"  # payload does not match the header's digest
    SIZE_MISMATCH = "size_mismatch"  # checkpoint size != end of the batch
    ROOT_MISMATCH = "root_mismatch"  # recomputed root differs from the signed root
    OVERSIZED = "oversized"  # too many entries or bytes
    FROZEN = "frozen"  # origin frozen after equivocation


class BatchRejected(Exception):
    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class LogState:
    """What a node holds and has verified of one origin's log."""

    origin: str
    size: int
    frontier: Frontier
    checkpoint_note: str | None = None  # latest accepted signed checkpoint

    def __post_init__(self) -> None:
        assert self.frontier.size == self.size

    @classmethod
    def empty(cls, origin: str) -> LogState:
        return cls(origin=origin, size=0, frontier=Frontier())


@dataclass(frozen=True, slots=True)
class AcceptedBatch:
    """A verified batch: everything the caller persists in one transaction."""

    origin: str
    first_index: int
    entries: tuple[Entry, ...]
    headers: tuple[Header, ...]
    leaf_hashes: tuple[bytes, ...]
    checkpoint: Checkpoint
    note: Note
    checkpoint_note: str
    state: LogState  # the new state after applying the batch


def verify_batch(
    state: LogState,
    *,
    trust_domain: str,
    first_index: int,
    entries: Sequence[Entry],
    checkpoint_note: str,
    verifier: Verifier | None,
    entries_max: int = BATCH_ENTRIES_MAX,
    bytes_max: int = BATCH_BYTES_MAX,
    frozen: bool = False,
    receiver: str | None = None,
) -> AcceptedBatch:
    """Accept the batch as a whole or raise BatchRejected; never returns a partial result.

    Entries the receiver already holds (an overlap after a resend) are skipped: the root check
    over the remainder still binds the whole batch to the signed checkpoint. With ``receiver``
    given, an entry whose audience includes the receiver must carry its payload.
    """
    origin = state.origin
    if frozen:
        raise BatchRejected(RejectReason.FROZEN, f"origin {origin} is frozen after equivocation")
    if verifier is None:
        raise BatchRejected(RejectReason.UNKNOWN_ORIGIN, f"no verified log key for {origin}")
    if len(entries) > entries_max:
        raise BatchRejected(RejectReason.OVERSIZED, f"{len(entries)} entries > {entries_max}")
    total_bytes = sum(entry_size_bytes(e) for e in entries)
    if total_bytes > bytes_max:
        raise BatchRejected(RejectReason.OVERSIZED, f"{total_bytes} bytes > {bytes_max}")
    if len(checkpoint_note.encode()) > CHECKPOINT_NOTE_BYTES_MAX:
        raise BatchRejected(RejectReason.OVERSIZED, "checkpoint note too large")

    checkpoint, note = _open(checkpoint_note, verifier, trust_domain, origin)
    end = first_index + len(entries)
    if checkpoint.size != end:
        raise BatchRejected(
            RejectReason.SIZE_MISMATCH, f"checkpoint size {checkpoint.size} != batch end {end}"
        )
    if first_index > state.size:
        raise BatchRejected(RejectReason.GAP, f"batch starts at {first_index}, hold {state.size}")
    if end <= state.size and (entries or checkpoint.size < state.size):
        raise BatchRejected(RejectReason.STALE, f"batch ends at {end}, hold {state.size}")

    skip = state.size - first_index
    fresh = entries[skip:]
    headers: list[Header] = []
    leaves: list[bytes] = []
    expected = state.size
    for entry in fresh:
        try:
            header = decode_header(entry.header)
            check_entry(entry, header)
        except EntryError as exc:
            raise BatchRejected(
                RejectReason.PAYLOAD_MISMATCH
                if str(exc).startswith("payload")
                else RejectReason.MALFORMED,
                f"entry {expected}: {exc}",
            ) from exc
        if header.origin != origin:
            raise BatchRejected(
                RejectReason.WRONG_ORIGIN, f"entry {expected} belongs to another origin"
            )
        if receiver is not None and entry.payload is None and header.visible_to(receiver):
            # A relay may not strip a payload the receiver is entitled to: the fold would
            # then differ from every node that received it whole.
            raise BatchRejected(
                RejectReason.PAYLOAD_MISMATCH,
                f"entry {expected}: payload withheld from its audience",
            )
        if header.index != expected:
            raise BatchRejected(
                RejectReason.GAP, f"entry at position {expected} has index {header.index}"
            )
        headers.append(header)
        leaves.append(leaf_hash(entry.header))
        expected += 1

    frontier = state.frontier.copy()
    frontier.extend(leaves)
    if frontier.root() != checkpoint.root:
        raise BatchRejected(
            RejectReason.ROOT_MISMATCH,
            f"root of {origin} at size {checkpoint.size} differs from its signed checkpoint",
        )
    return AcceptedBatch(
        origin=origin,
        first_index=state.size,
        entries=tuple(fresh),
        headers=tuple(headers),
        leaf_hashes=tuple(leaves),
        checkpoint=checkpoint,
        note=note,
        checkpoint_note=checkpoint_note,
        state=LogState(origin, frontier.size, frontier, checkpoint_note),
    )


def _open(
    note_text: str, verifier: Verifier, trust_domain: str, origin: str
) -> tuple[Checkpoint, Note]:
    # Syntax first, then whose checkpoint it is, then the signature: each failure gets the
    # reason that names it.
    try:
        claimed = Checkpoint.parse(parse_note(note_text).text)
    except (NoteError, CheckpointError) as exc:
        raise BatchRejected(RejectReason.MALFORMED, f"checkpoint: {exc}") from exc
    if claimed.origin != origin_line(trust_domain, origin):
        raise BatchRejected(RejectReason.WRONG_ORIGIN, "checkpoint names another origin")
    try:
        checkpoint, note = open_checkpoint(note_text, verifier)
    except (NoteError, CheckpointError) as exc:
        raise BatchRejected(RejectReason.BAD_SIGNATURE, f"checkpoint: {exc}") from exc
    return checkpoint, note


def open_origin_checkpoint(
    note_text: str, verifier: Verifier, trust_domain: str, origin: str
) -> tuple[Checkpoint, Note]:
    """Open a checkpoint note of ``origin`` (signature and origin line), or BatchRejected."""
    return _open(note_text, verifier, trust_domain, origin)
