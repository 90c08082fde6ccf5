"""cut_batch on a live tail: the checkpoint sizes it holds for a stream are extended with the
checkpoints signed since, not read again whole, and batches still end at held checkpoints."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.replication.cutting import cut_batch
from node.store.base import OriginState
from node.store.memory import MemoryStore
from sync.checkpoint import origin_line
from sync.merkle import Frontier
from sync.note import Ed25519Signer
from tests.cli.logs import append_log

ORIGIN = "chengdu"
SIGNER = Ed25519Signer(
    origin_line("chengyu.court", ORIGIN), Ed25519PrivateKey.from_private_bytes(b"\x01" * 32)
)


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.size_reads: list[int] = []  # the ``after`` of every checkpoint_sizes call

    def checkpoint_sizes(self, origin: str, after: int = -1) -> list[int]:
        self.size_reads.append(after)
        return super().checkpoint_sizes(origin, after)


def test_live_tail_reads_only_new_checkpoints() -> None:
    store = CountingStore()
    append_log(store, SIGNER, (3, 5))
    cache: dict[str, list[int]] = {}

    first = cut_batch(store, ORIGIN, 0, 5, 500, 1 << 20, "chongqing", cache)
    assert first is not None and len(first.entries) == 5
    assert store.size_reads == [-1] and cache[ORIGIN] == [3, 5]

    # The origin appends twice more (a checkpoint per commit): the next cut asks for the
    # checkpoints above the last one it held, and ends at the newest.
    _append_after(store, 5, (6, 8))
    second = cut_batch(store, ORIGIN, 5, 8, 500, 1 << 20, "chongqing", cache)
    assert second is not None
    assert (second.first_index, len(second.entries)) == (5, 3)
    assert store.size_reads == [-1, 5] and cache[ORIGIN] == [3, 5, 6, 8]

    # Nothing new: the held sizes suffice, no read.
    again = cut_batch(store, ORIGIN, 6, 8, 500, 1 << 20, "chongqing", cache)
    assert again is not None and len(again.entries) == 2
    assert store.size_reads == [-1, 5]


def _append_after(store: MemoryStore, size: int, sizes: tuple[int, ...]) -> None:
    """Append the entries after ``size`` up to each of ``sizes`` (the log as append_log
    builds it, so the checkpoints chain on the stored frontier)."""
    fresh = MemoryStore()
    append_log(fresh, SIGNER, (size, *sizes))
    state = store.origin_state(ORIGIN)
    assert state is not None and state.size == size
    start = size
    for end in sizes:
        held = fresh.origin_state(ORIGIN)
        assert held is not None
        note = fresh.checkpoint_at(ORIGIN, end)
        assert note is not None
        store.append(
            origin=ORIGIN,
            expected_size=start,
            entries=fresh.entries(ORIGIN, start, end),
            state=_state_at(fresh, end, note),
        )
        start = end


def _state_at(store: MemoryStore, size: int, note: str) -> OriginState:
    frontier = Frontier()
    frontier.extend(e.leaf_hash for e in store.entries(ORIGIN, 0, size))
    return OriginState(ORIGIN, size, frontier.root(), frontier.to_bytes(), note)
