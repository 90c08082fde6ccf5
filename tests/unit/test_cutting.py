"""cut_batch on a live tail: the checkpoint sizes it holds for a stream are extended with the
checkpoints signed since, not read again whole, and batches still end at held checkpoints; a
batch that is the same for every reader (for_every_reader) is what each reader's own cut
starts with."""

from __future__ import annotations

from dataclasses import replace

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from node.replication.cutting import cut_batch, for_every_reader
from node.store.base import OriginState, StoredEntry
from node.store.memory import MemoryStore
from sync.checkpoint import Checkpoint, origin_line, sign_checkpoint
from sync.entry import make_entry
from sync.merkle import Frontier
from sync.note import Ed25519Signer
from tests.cli.logs import append_log, stored_entry

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


# ---------------------------------------------------------------- a batch for every reader

READERS = ("chongqing", "leshan", "mianyang")


def _entry_for(index: int, audience: tuple[str, ...], held: bool) -> StoredEntry:
    """Entry ``index`` of ORIGIN for ``audience`` (empty: every node); its payload held or
    not (this node is outside the audience, or purged it)."""
    e = stored_entry(ORIGIN, index)
    entry = make_entry(
        origin=ORIGIN,
        index=index,
        kind=e.kind,
        subject=e.subject,
        actor=e.actor,
        hlc=e.hlc,
        payload=e.payload or b"",
        salt=e.salt,
        audience=audience,
    )
    return replace(
        e, leaf_hash=entry.leaf_hash(), header=entry.header, payload=e.payload if held else None
    )


def _mixed_log(shapes: list[tuple[tuple[str, ...], bool]], sizes: list[int]) -> MemoryStore:
    store = MemoryStore()
    frontier = Frontier()
    size = 0
    entries = [_entry_for(i, audience, held) for i, (audience, held) in enumerate(shapes)]
    for end in sizes:
        frontier.extend(e.leaf_hash for e in entries[size:end])
        note = sign_checkpoint(Checkpoint(SIGNER.name, end, frontier.root()), SIGNER)
        store.append(
            origin=ORIGIN,
            expected_size=size,
            entries=entries[size:end],
            state=OriginState(ORIGIN, end, frontier.root(), frontier.to_bytes(), note),
        )
        size = end
    return store


_shapes = st.lists(
    st.tuples(
        st.sampled_from([(), (), ("chongqing",), ("leshan", "mianyang"), ("yibin",)]),
        st.booleans() | st.just(True),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(shapes=_shapes, data=st.data())
def test_a_batch_for_every_reader_is_a_valid_batch_for_each(
    shapes: list[tuple[tuple[str, ...], bool]], data: st.DataObject
) -> None:
    """What the Federation service shares between streams: a batch for_every_reader says is
    the same for every reader is the start of what each reader's own cut gives it (the same
    entries and payloads), and ends at a checkpoint the node holds."""
    n = len(shapes)
    sizes = sorted({*data.draw(st.lists(st.integers(1, n), max_size=n)), n})
    store = _mixed_log(shapes, sizes)
    entries_max = data.draw(st.integers(1, 6))
    bytes_max = data.draw(st.sampled_from([1 << 20, 400, 1200]))
    for start in range(n):
        for first in READERS:
            batch = cut_batch(store, ORIGIN, start, n, entries_max, bytes_max, first, {})
            if batch is None or not for_every_reader(batch):
                continue
            end = batch.first_index + len(batch.entries)
            assert end in sizes
            for other in READERS:
                own = cut_batch(store, ORIGIN, start, n, entries_max, bytes_max, other, {})
                assert own is not None and len(own.entries) >= len(batch.entries)
                assert list(own.entries)[: len(batch.entries)] == list(batch.entries)


def test_for_every_reader_tells_an_audience_apart() -> None:
    store = _mixed_log([((), True), ((), True), (("chongqing",), True)], [2, 3])
    everyone = cut_batch(store, ORIGIN, 0, 2, 500, 1 << 20, "leshan", {})
    audience = cut_batch(store, ORIGIN, 0, 3, 500, 1 << 20, "chongqing", {})
    assert everyone is not None and for_every_reader(everyone)
    assert audience is not None and len(audience.entries) == 3
    assert not for_every_reader(audience)
