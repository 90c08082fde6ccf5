"""Pages of refusals for Admin.Refusals and Audit.Refusals: within the message limit however
many refusals the node holds, so a flood of refused calls never blinds the node's readers."""

from __future__ import annotations

from typing import TypedDict

from node.store.base import REFUSALS_PAGE_MAX, Refusal, RefusalStore
from node.store.runner import Db

PAGE_DEFAULT = 100
# Offsets past this are past any store's rows (and past what SQL takes as an OFFSET).
OFFSET_MAX = 2**62


async def refusals_page(db: Db[RefusalStore], limit: int, offset: int) -> tuple[list[Refusal], int]:
    """Rows newest first, at most ``REFUSALS_PAGE_MAX`` (``limit`` 0 asks for the default),
    and the offset of the next page (0 when there is none)."""
    size = min(limit or PAGE_DEFAULT, REFUSALS_PAGE_MAX)
    offset = min(offset, OFFSET_MAX)
    store = db.store

    def page() -> tuple[list[Refusal], bool]:  # one trip to a reader thread for both reads
        rows = store.refusals(size, offset)
        return rows, len(rows) == size and bool(store.refusals(1, offset + size))

    rows, more = await db.read(page)
    return rows, offset + size if more else 0


class RefusalFields(TypedDict):
    at_unix_ms: int
    peer: str
    identity: str
    method: str
    reason: str
    count: int


def refusal_fields(r: Refusal) -> RefusalFields:
    """The fields of a refusal row as both Admin.Refusal and Audit.AuditRefusal name them."""
    return {
        "at_unix_ms": r.at_unix_ms,
        "peer": r.peer,
        "identity": r.identity,
        "method": r.method,
        "reason": r.reason,
        "count": r.count,
    }
