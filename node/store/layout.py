"""How an append is laid out for the SQL store: rows as tuples in column order.

Kept apart from node.store.sql (and SQLAlchemy) because the catch-up helper process
(node.replication.worker) lays out rows too, and starts faster and smaller without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from node.store.base import STATE_TABLES, OriginState, PreparedAppend, RowChange, StoredEntry
from node.store.checks import KEY_COLUMN, check_append, collapse_changes

# Per state table, its columns but the key, in the order _state_values passes them (the
# order of the table's columns, node.store.schema).
STATE_VALUE_COLUMNS: dict[str, list[str]] = {
    name: [column for column in columns if column != KEY_COLUMN]
    for name, columns in STATE_TABLES.items()
}
# Per state table, its columns but the key as a tuple (at C speed; a row per entry).
_STATE_VALUE_GETTERS = {
    name: itemgetter(*columns) for name, columns in STATE_VALUE_COLUMNS.items() if columns
}

LISTING_TABLE = "blacklist"  # sync.folds.blacklist.TABLE (the store imports no fold)

# Per state table: keys to delete and rows (_state_values) to upsert.
ChangesByTable = dict[str, tuple[list[str], list[tuple[Any, ...]]]]


@dataclass(frozen=True, slots=True)
class SqlAppendLayout:
    """An append's rows in the order of the SQL statements (SqlStore.prepare_append)."""

    entry_rows: list[tuple[Any, ...]]
    by_table: ChangesByTable
    # (key, last_index) of each listing row the append upserts: its change-feed positions
    # (node/store/base.py, ChangeFeedStore), numbered by the store in the same transaction.
    listing_changes: list[tuple[str, int]]


def prepare_sql_append(
    *,
    origin: str,
    expected_size: int,
    entries: Sequence[StoredEntry],
    state: OriginState,
    changes: Sequence[RowChange] = (),
    checkpoints: Sequence[tuple[int, str]] = (),
    trusted_rows: bool = False,
) -> PreparedAppend:
    """SqlStore.prepare_append as a plain function (pure CPU, no connection): the layout is
    the same for SQLite and PostgreSQL, and the catch-up helper process runs it too."""
    check_append(origin, expected_size, entries, state, checkpoints)
    collapsed = collapse_changes(changes, trusted=trusted_rows)
    by_table = _changes_by_table(collapsed)
    entry_rows = [
        (
            e.origin,
            e.index,
            e.kind,
            e.subject,
            e.actor,
            e.hlc,
            e.leaf_hash,
            e.header,
            e.salt,
            e.payload,
        )
        for e in entries
    ]
    return PreparedAppend(
        origin=origin,
        expected_size=expected_size,
        state=state,
        checkpoints=tuple(checkpoints),
        layout=SqlAppendLayout(entry_rows, by_table, listing_changes(collapsed)),
    )


def listing_changes(changes: Sequence[RowChange]) -> list[tuple[str, int]]:
    """The change-feed positions an append's (collapsed) row changes make: one per listing
    row it upserts, in key order; every blacklist upsert comes from folding an entry."""
    return sorted(
        (change.key, int(change.row.get("last_index") or 0))
        for change in changes
        if change.table == LISTING_TABLE and change.row is not None
    )


def _changes_by_table(changes: Sequence[RowChange]) -> ChangesByTable:
    by_table: ChangesByTable = {}
    for change in changes:
        deletes, upserts = by_table.setdefault(change.table, ([], []))
        if change.row is None:
            deletes.append(change.key)
        else:
            upserts.append(_state_values(change))
    return by_table


def _state_values(change: RowChange) -> tuple[Any, ...]:
    """An upsert replaces the whole row: columns the change leaves out become NULL."""
    assert change.row is not None
    row = change.row
    columns = STATE_VALUE_COLUMNS[change.table]
    if len(columns) > 1 and len(row) >= len(columns):
        try:
            return (*_STATE_VALUE_GETTERS[change.table](row), change.key)
        except KeyError:  # a column left out (and another one given): NULL below
            pass
    return (*(row.get(name) for name in columns), change.key)


def changes_by_table(changes: Sequence[RowChange]) -> ChangesByTable:
    """Collapsed row changes (checks.collapse_changes) laid out per table, for writes of
    rows outside an append (SqlStore.rewrite_rows)."""
    return _changes_by_table(changes)
