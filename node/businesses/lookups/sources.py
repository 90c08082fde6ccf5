"""Where the lookup responder finds a region's assets: the AssetSource seam.

By default a node answers from its own registry table (``ccnode assets import``), a copy of
what its land, vehicle, bank, market and tax agencies delivered. A region that can query its
agencies online plugs in its own source instead: any object with the ``find`` coroutine below,
made by a factory assigned to ``SOURCE_FACTORY`` before the node starts. The responder asks
for one owner and some categories and still checks what comes back (owner and categories), so
a source cannot widen an answer beyond what was asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ccnode.v1 import payloads_pb2
from node.ports import AssetSource
from node.store.base import AssetRow, AssetStore
from node.store.runner import Db


class StoreAssetSource:
    """The registry table of this node's store (indexed by owner and category).

    The finds asked at once (the responder prepares many replies concurrently) are read in
    one trip to a store thread, a query per owner: a trip costs more than such a query."""

    def __init__(self, db: Db[AssetStore]) -> None:
        self._db = db
        self._asks: list[_Ask] = []

    async def find(
        self, owner_id: str, categories: Sequence[int]
    ) -> list[payloads_pb2.AssetRecord]:
        loop = asyncio.get_running_loop()
        ask = _Ask(owner_id, tuple(categories), loop.create_future())
        self._asks.append(ask)
        if len(self._asks) == 1:
            # After the callbacks already due: the other finds asked at once join this trip.
            loop.call_soon(self._read)
        rows = await ask.found
        return [payloads_pb2.AssetRecord.FromString(row.record) for row in rows]

    def _read(self) -> None:
        asks, self._asks = self._asks, []
        trip = asyncio.ensure_future(self._db.read(_find_all, self._db.store, asks))
        trip.add_done_callback(lambda done: _deliver(asks, done))


@dataclass(frozen=True)
class _Ask:
    owner_id: str
    categories: tuple[int, ...]
    found: asyncio.Future[list[AssetRow]]


def _find_all(store: AssetStore, asks: Sequence[_Ask]) -> list[list[AssetRow]]:
    return [store.assets_by_owner(ask.owner_id, ask.categories) for ask in asks]


def _deliver(asks: Sequence[_Ask], done: asyncio.Future[list[list[AssetRow]]]) -> None:
    error = None if done.cancelled() else done.exception()
    for i, ask in enumerate(asks):
        if ask.found.done():  # its caller was cancelled
            continue
        if done.cancelled():
            ask.found.cancel()
        elif error is not None:
            ask.found.set_exception(error)
        else:
            ask.found.set_result(done.result()[i])


def asset_row(record: payloads_pb2.AssetRecord) -> AssetRow:
    """The stored form of a validated, normalised record (sync.domain.assets)."""
    return AssetRow(
        asset_id=record.asset_id,
        owner_id=record.owner_id,
        category=record.category,
        record=record.SerializeToString(deterministic=True),
    )


def store_source(db: Db[AssetStore]) -> AssetSource:
    """The default source: the registry table of the node's own store."""
    return StoreAssetSource(db)


# A factory of asset sources, given the node's store runner. The runtime's registry
# (node.runtime.registry) makes the responder's source with the factory it is given.
SourceFactory = Callable[[Db[AssetStore]], AssetSource]
