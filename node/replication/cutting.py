"""Cutting batches of a held log for a reader (the sending side of replication).

A batch is a run of entries of one origin that ends at a checkpoint this node holds, so the
reader can verify it against the origin's signature; it respects the reader's and the
protocol's limits (BATCH_ENTRIES_MAX entries, bytes), and carries each payload only to readers
in the entry's audience.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable

from ccnode.v1 import federation_pb2, log_pb2
from node.store.base import LogReader, StoredEntry
from sync.entry import decode_header, header_audience
from sync.verify import BATCH_ENTRIES_MAX


def cut_batch(
    store: LogReader,
    origin: str,
    start: int,
    size: int,
    entries_max: int,
    bytes_max: int,
    reader: str,
    sizes_cache: dict[str, list[int]],
    *,
    headers_suffice: bool = False,
) -> federation_pb2.Batch | None:
    """Entries [start, end) of ``origin`` for ``reader``, ending at a checkpoint this node holds
    (blocking: run it in a reader thread). None if no held checkpoint can end such a batch or
    the reader needs a payload this node does not hold.

    ``headers_suffice``: the reader is the origin recovering its own log, which takes an entry
    without its payload when no peer holds it; a missing payload then does not stop the batch."""
    sizes = sizes_cache.get(origin)
    if not sizes:
        sizes = sizes_cache[origin] = store.checkpoint_sizes(origin)
    elif sizes[-1] < min(size, start + entries_max):
        # A live tail: only the checkpoints signed since the last batch (a log holds one per
        # commit group, so reading them all again would cost more with every batch).
        sizes.extend(store.checkpoint_sizes(origin, after=sizes[-1]))
    lo = bisect.bisect_right(sizes, start)
    hi = bisect.bisect_right(sizes, min(size, start + entries_max))
    candidates = sizes[lo:hi]
    if not candidates and lo < len(sizes) and sizes[lo] <= min(size, start + BATCH_ENTRIES_MAX):
        # The reader asked for smaller batches than the origin's checkpoint interval: the
        # next checkpoint still fits the protocol's limit, so send up to it.
        candidates = [sizes[lo]]
    if not candidates:
        return None
    rows = store.entries(origin, start, candidates[-1])
    # An entry whose payload the reader is entitled to but this node does not hold (this
    # node is outside its audience): the reader rightly refuses it without the payload, so
    # the batch stops before it and the reader gets that part of the log from the origin
    # or another member of the audience.
    for i, row in enumerate(rows):
        if (
            not headers_suffice
            and row.payload is None
            and decode_header(row.header).visible_to(reader)
        ):
            candidates = [c for c in candidates if c <= start + i]
            if not candidates:
                return None
            rows = rows[: candidates[-1] - start]
            break
    payloads: list[bytes | None] = []  # as the reader receives them
    end = candidates[0]
    total = 0
    ends = set(candidates)
    for i, e in enumerate(rows):
        payload = for_reader(e, reader)
        total += len(e.header) + len(e.salt) + (len(payload) if payload is not None else 0)
        if total > bytes_max and start + i + 1 > candidates[0]:
            break
        payloads.append(payload)
        if start + i + 1 in ends:
            end = start + i + 1
    note = store.checkpoint_at(origin, end)
    assert note is not None
    batch = federation_pb2.Batch(
        origin=origin, first_index=start, checkpoint=log_pb2.SignedCheckpoint(note=note)
    )
    add = batch.entries.add  # built in place: no Entry message copied into the batch
    for e, payload in zip(rows[: end - start], payloads, strict=False):
        if payload is None:
            add(header=e.header, salt=e.salt)
        else:
            add(header=e.header, salt=e.salt, payload=payload)
    return batch


def for_reader(e: StoredEntry, reader: str) -> bytes | None:
    """The entry's payload as ``reader`` may receive it: only within the audience."""
    if e.payload is None:
        return None
    audience = header_audience(e.header)  # a stored header: verified when it came in
    return e.payload if not audience or reader in audience else None


def for_every_reader(batch: federation_pb2.Batch) -> bool:
    """Whether ``batch`` is valid as it is for every reader: every entry is for every node (no
    audience), so each gets the same payloads; another reader's own cut may only go further
    (cut_batch stops before a payload it cannot give a reader entitled to it)."""
    return all(not header_audience(e.header) for e in batch.entries)


# cut_batch's signature: what the Federation service calls to cut batches (a test relay that
# withholds part of a log passes its own).
BatchCutter = Callable[
    [LogReader, str, int, int, int, int, str, dict[str, list[int]]], federation_pb2.Batch | None
]
