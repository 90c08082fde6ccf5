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
from typing import TYPE_CHECKING, Protocol

from ccnode.v1 import payloads_pb2
from node.store.base import AssetRow

if TYPE_CHECKING:
    from node.runtime.node import Node
    from node.store.runner import Db


class AssetSource(Protocol):
    async def find(
        self, owner_id: str, categories: Sequence[int]
    ) -> list[payloads_pb2.AssetRecord]:
        """The owner's assets of these categories (owner_id normalised: trimmed, upper-case).
        Must not log or raise with the owner id in the message."""
        ...


class StoreAssetSource:
    """The registry table of this node's store (indexed by owner and category)."""

    def __init__(self, db: Db) -> None:
        self._db = db

    async def find(
        self, owner_id: str, categories: Sequence[int]
    ) -> list[payloads_pb2.AssetRecord]:
        rows = await self._db.read(self._db.store.assets_by_owner, owner_id, categories)
        return [payloads_pb2.AssetRecord.FromString(row.record) for row in rows]


def asset_row(record: payloads_pb2.AssetRecord) -> AssetRow:
    """The stored form of a validated, normalised record (sync.domain.assets)."""
    return AssetRow(
        asset_id=record.asset_id,
        owner_id=record.owner_id,
        category=record.category,
        record=record.SerializeToString(deterministic=True),
    )


def _store_source(node: Node) -> AssetSource:
    return StoreAssetSource(node.db)


# The source the lookup responder of every node started in this process uses.
SOURCE_FACTORY: Callable[[Node], AssetSource] = _store_source
