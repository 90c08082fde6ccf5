"""Is this person or organisation listed? The one check every reader of the list goes through.

`ccnode blacklist check --id` (Admin.BlacklistSearch with an ID) and the agencies of joint
punishment (Agency.Check and CheckBatch) answer from the same function, so a rule about which
listings an identifier finds is written once, here, and holds for every reader. It runs in a
store reader thread (``Db.read``) and reads the folded rows only.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from node.store.base import RowQuery, RowStore
from node.store.checks import ROW_QUERY_AMONG_MAX
from sync.folds import blacklist as bl_fold

# Rows per query: a page of listings for up to ROW_QUERY_AMONG_MAX identifiers.
_PAGE_ROWS = 1000


def normalised_id(id_number: str) -> str:
    """The form an identifier is stored in (``id_key``): a resident ID or credit code."""
    return id_number.strip().upper()


def listings_by_id(
    store: RowStore, id_numbers: Iterable[str], *, status: str = ""
) -> dict[str, list[dict[str, Any]]]:
    """Per normalised identifier, the listing rows it finds (key order; ``status`` "" any,
    else only rows in that status). An identifier that finds nothing maps to []."""
    wanted = sorted({normalised_id(i) for i in id_numbers if i.strip()})
    found: dict[str, list[dict[str, Any]]] = {key: [] for key in wanted}
    for start in range(0, len(wanted), ROW_QUERY_AMONG_MAX):
        for row in _rows_among(store, wanted[start : start + ROW_QUERY_AMONG_MAX]):
            # The status is filtered here, not in the query: with it, SQLite would read the
            # (status, term_end_on) index (every listed row) instead of the id_key index.
            if not status or row["status"] == status:
                found[row["id_key"]].append(row)
    return found


def _rows_among(store: RowStore, ids: Collection[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        rows, total = store.query_rows(
            RowQuery(
                table=bl_fold.TABLE,
                among={"id_key": ids},
                after_key=after,
                limit=_PAGE_ROWS,
            )
        )
        out.extend(rows)
        if len(rows) >= total or not rows:
            return out
        after = rows[-1]["key"]
