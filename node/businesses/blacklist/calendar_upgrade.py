"""Delisting deadlines counted again after a holiday-calendar upgrade.

A listing's automatic-delisting deadline (term end + 3 working days) is counted when the
listing is folded, in the calendar of the release that folds it (sync/folds/blacklist.py). A
release with a newer calendar (sync/domain/holidays_cn.py, e.g. a year's State Council notice
added) may count some stored deadlines differently, and a node folding the same log afresh
would store the new date. So at start, when the calendar version differs from the one the
store last saw (kept as a node-local note), every listed row with a term gets its deadline
counted again (``sync.folds.blacklist.refresh_due_on``) and the version is stored, so every
node's rows agree again whatever release first folded them.

Rows are rewritten page by page; the version is stored with the last page, so a start
interrupted half-way refreshes again next time (refreshed rows are then unchanged).
"""

from __future__ import annotations

import logging
from typing import Protocol

from node.store.base import MetaStore, RowChange, RowQuery, RowStore
from node.store.runner import Db
from sync.folds import blacklist as bl_fold

log = logging.getLogger(__name__)

CALENDAR_META_KEY = "calendar_version"
PAGE_ROWS = 1000


class CalendarRows(RowStore, MetaStore, Protocol):
    """The blacklist rows and the node-local note of the calendar they were counted with."""


def refresh_deadlines(store: CalendarRows, version: str) -> int | None:
    """Count the deadlines of listed rows again if the store last saw another calendar
    version (blocking); how many rows changed, or None when the version was current."""
    if store.get_meta(CALENDAR_META_KEY) == version:
        return None
    changed = 0
    after_key: str | None = None
    while True:
        rows, _ = store.query_rows(
            RowQuery(
                table=bl_fold.TABLE,
                equals={"status": "listed"},
                above={"term_end_on": ""},
                after_key=after_key,
                limit=PAGE_ROWS,
            )
        )
        changes = []
        for row in rows:
            refreshed = bl_fold.refresh_due_on(row)
            if refreshed is not None:
                changes.append(RowChange(bl_fold.TABLE, row["key"], refreshed))
        last = len(rows) < PAGE_ROWS
        store.rewrite_rows(changes, meta={CALENDAR_META_KEY: version} if last else {})
        changed += len(changes)
        if last:
            return changed
        after_key = rows[-1]["key"]


async def refresh_on_start(db: Db[CalendarRows], version: str) -> None:
    changed = await db.write(refresh_deadlines, db.store, version)
    if changed is not None:
        log.info(
            "holiday calendar %s: delisting deadlines counted again, %d listings changed",
            version,
            changed,
        )
