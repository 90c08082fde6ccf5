"""How a read says that a payload was purged: "purged on DATE by retention rule R".

A payload purged by retention (node/businesses/retention.py) leaves its entry's header and
proofs; reads of the matter (tasks show, lookup show, blacklist show, Audit.Payloads) list the
purged entries with the day (court-local) and the rule, instead of silently showing less.
"""

from __future__ import annotations

from collections.abc import Iterable

from ccnode.v1 import log_pb2
from node.store.base import PayloadPurge, RetentionStore
from node.store.runner import Db
from sync.entry import entry_id
from sync.retention import purge_note, unix_ms_date


def purged_on(purge: PayloadPurge) -> str:
    """The court-local day of a purge, YYYY-MM-DD."""
    return unix_ms_date(purge.purged_at_unix_ms).isoformat()


def purge_pb(purge: PayloadPurge) -> log_pb2.PayloadPurge:
    day = purged_on(purge)
    return log_pb2.PayloadPurge(
        entry_id=entry_id(purge.origin, purge.index),
        purged_at_unix_ms=purge.purged_at_unix_ms,
        purged_on=day,
        rule=purge.rule,
        note=purge_note(day, purge.rule),
    )


async def purges_of(
    db: Db[RetentionStore], entries: Iterable[tuple[str, int]]
) -> list[log_pb2.PayloadPurge]:
    """The purge records of those of ``entries`` purged by retention, in (origin, index)
    order."""
    wanted = sorted(set(entries))
    if not wanted:
        return []
    found = await db.read(db.store.payload_purges, wanted)
    return [purge_pb(found[key]) for key in wanted if key in found]


def parse_entry_id(text: str) -> tuple[str, int] | None:
    origin, sep, index = text.rpartition("/")
    if not sep or not origin or not index.isdigit():
        return None
    return origin, int(index)
