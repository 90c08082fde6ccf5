"""Where the lookup responder finds a region's assets: the AssetSource seam.

By default a node answers from its own registry table (``ccnode assets import``), a copy of
what its land, vehicle, bank, market and tax agencies delivered. A region that can query its
agencies online plugs in its own source instead: any object with the ``find`` coroutine below,
made by a factory assigned to ``SOURCE_FACTORY`` before the node starts. The responder asks
for one owner and some categories and still checks what comes back (owner and categories), so
a source cannot widen an answer beyond what was asked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ccnode.v1 import payloads_pb2
from node.ports import AssetSource
from node.store.base import AssetRow, AssetStore
from node.store.batched import ReadBatcher
from node.store.runner import Db


class StoreAssetSource:
    """The registry table of this node's store (indexed by owner and category).

    The finds asked at once (the responder prepares many replies concurrently) are read in
    one trip to a store thread, a query per owner (node.store.batched)."""

    def __init__(self, db: Db[AssetStore]) -> None:
        store = db.store
        self._finds: ReadBatcher[tuple[str, tuple[int, ...]], list[AssetRow]] = ReadBatcher(
            db, lambda asks: [store.assets_by_owner(owner, cats) for owner, cats in asks]
        )

    async def find(
        self, owner_id: str, categories: Sequence[int]
    ) -> list[payloads_pb2.AssetRecord]:
        rows = await self._finds.read((owner_id, tuple(categories)))
        return [payloads_pb2.AssetRecord.FromString(row.record) for row in rows]


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
