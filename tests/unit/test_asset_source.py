"""The registry's asset source reads the finds asked at once in one trip to a store thread:
each caller gets exactly what a find of its own would have read, and a failed trip fails each
of them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccnode.v1 import payloads_pb2
from node.businesses.lookups.sources import StoreAssetSource, asset_row
from node.store.base import AssetRow
from node.store.memory import MemoryStore
from node.store.runner import Db

OWNERS = [f"OWNER{i}" for i in range(6)]
CATEGORIES = [payloads_pb2.DEPOSIT, payloads_pb2.REAL_ESTATE, payloads_pb2.VEHICLE]


def record(asset_id: str, owner: str, category: int) -> payloads_pb2.AssetRecord:
    asked = payloads_pb2.AssetCategory.ValueType(category)
    return payloads_pb2.AssetRecord(asset_id=asset_id, owner_id=owner, category=asked)


def alone(store: MemoryStore, owner: str, categories: Iterable[int]) -> list[str]:
    """The asset ids one find of its own reads."""
    return [r.asset_id for r in store.assets_by_owner(owner, categories)]


@settings(max_examples=25, deadline=None)
@given(
    assets=st.lists(st.tuples(st.sampled_from(OWNERS), st.sampled_from(CATEGORIES)), max_size=40),
    asks=st.lists(
        st.tuples(st.sampled_from(OWNERS), st.lists(st.sampled_from(CATEGORIES), unique=True)),
        min_size=1,
        max_size=12,
    ),
    stagger=st.lists(st.booleans(), min_size=12, max_size=12),
)
def test_finds_asked_at_once_read_what_each_alone_would(
    assets: list[tuple[str, int]], asks: list[tuple[str, list[int]]], stagger: list[bool]
) -> None:
    store = MemoryStore()
    store.put_assets([asset_row(record(f"a-{i:03d}", o, c)) for i, (o, c) in enumerate(assets)])
    db = Db(store)
    source = StoreAssetSource(db)

    async def one(i: int, owner: str, categories: list[int]) -> list[str]:
        if stagger[i]:
            await asyncio.sleep(0)  # asked a little later: the same or the next trip
        return [a.asset_id for a in await source.find(owner, categories)]

    async def run() -> list[list[str]]:
        return await asyncio.gather(*(one(i, o, c) for i, (o, c) in enumerate(asks)))

    try:
        found = asyncio.run(run())
    finally:
        db.close()
    assert found == [alone(store, o, c) for o, c in asks]


class Failing(MemoryStore):
    def assets_by_owner(self, owner_id: str, categories: Iterable[int]) -> list[AssetRow]:
        raise OSError("disk")


def test_a_failed_trip_fails_every_find_in_it() -> None:
    db = Db(Failing())
    source = StoreAssetSource(db)

    async def run() -> list[object]:
        return list(
            await asyncio.gather(
                source.find(OWNERS[0], CATEGORIES),
                source.find(OWNERS[1], CATEGORIES),
                return_exceptions=True,
            )
        )

    try:
        results = asyncio.run(run())
    finally:
        db.close()
    assert [type(r) for r in results] == [OSError, OSError]


def test_a_cancelled_find_leaves_the_others_their_answer() -> None:
    store = MemoryStore()
    store.put_assets([asset_row(record("a-1", OWNERS[0], CATEGORIES[0]))])
    db = Db(store)
    source = StoreAssetSource(db)

    async def run() -> list[str]:
        cancelled = asyncio.ensure_future(source.find(OWNERS[0], CATEGORIES))
        kept = asyncio.ensure_future(source.find(OWNERS[0], CATEGORIES))
        await asyncio.sleep(0)
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        return [a.asset_id for a in await kept]

    try:
        assert asyncio.run(run()) == ["a-1"]
    finally:
        db.close()
