"""How an append is laid out for the SQL store: rows as tuples in column order.

Kept apart from node.store.sql (and SQLAlchemy) because the catch-up helper process
(node.replication.worker) lays out rows too, and starts faster and smaller without it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from node.store.base import STATE_TABLES, OriginState, PreparedAppend, RowChange, StoredEntry
from node.store.checks import KEY_COLUMN, check_append, collapse_changes
from node.store.listing_rows import KEPT_RECORD, RECORD_INDEX, stored_record

LISTING_TABLE = "blacklist"  # sync.folds.blacklist.TABLE (the store imports no fold)

# Per state table, the columns of its SQL table (node.store.schema): those of STATE_TABLES,
# but a listing's record, which the SQL table keeps as record_index and kept_record
# (node/store/listing_rows.py).
STORED_STATE_COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple(
        stored
        for column in columns
        for stored in (
            (RECORD_INDEX, KEPT_RECORD)
            if name == LISTING_TABLE and column == "record"
            else (column,)
        )
    )
    for name, columns in STATE_TABLES.items()
}
# Per state table, its stored columns but the key, in the order _state_values passes them.
STATE_VALUE_COLUMNS: dict[str, list[str]] = {
    name: [column for column in columns if column != KEY_COLUMN]
    for name, columns in STORED_STATE_COLUMNS.items()
}
# Per state table, the row's values of its stored columns but the key as a tuple (at C speed;
# a row per entry); a listing's, its columns before the record.
_STATE_VALUE_GETTERS = {
    name: itemgetter(*(c for c in columns if c not in (RECORD_INDEX, KEPT_RECORD)))
    for name, columns in STATE_VALUE_COLUMNS.items()
    if columns
}

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
    # A listing row reads its record back from the payload of its entry when this append
    # carries it (node/store/listing_rows.py).
    by_table = _changes_by_table(collapsed, {(e.origin, e.index): e for e in entries})
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


def _changes_by_table(
    changes: Sequence[RowChange], entries: Mapping[tuple[Any, Any], StoredEntry]
) -> ChangesByTable:
    by_table: ChangesByTable = {}
    for change in changes:
        deletes, upserts = by_table.setdefault(change.table, ([], []))
        if change.row is None:
            deletes.append(change.key)
        elif change.table == LISTING_TABLE:
            upserts.append(_listing_values(change, entries))
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


_LISTING_VALUE_COLUMNS = STATE_VALUE_COLUMNS[LISTING_TABLE][:-2]
assert STATE_VALUE_COLUMNS[LISTING_TABLE][-2:] == [RECORD_INDEX, KEPT_RECORD]


def _listing_values(
    change: RowChange, entries: Mapping[tuple[Any, Any], StoredEntry]
) -> tuple[Any, ...]:
    """_state_values of a listing row: its record as record_index and kept_record (the
    record's last columns in STATE_TABLES)."""
    assert change.row is not None
    row = change.row
    try:
        values = _STATE_VALUE_GETTERS[LISTING_TABLE](row)
    except KeyError:  # a column left out: NULL
        values = tuple(row.get(name) for name in _LISTING_VALUE_COLUMNS)
    entry = entries.get((row.get("origin"), row.get("last_index")))
    payload = None
    if entry is not None and entry.subject == change.key:
        payload = entry.payload
    return (*values, *stored_record(change.key, row, payload), change.key)


def changes_by_table(changes: Sequence[RowChange]) -> ChangesByTable:
    """Collapsed row changes (checks.collapse_changes) laid out per table, for writes of
    rows outside an append (SqlStore.rewrite_rows)."""
    return _changes_by_table(changes, {})
