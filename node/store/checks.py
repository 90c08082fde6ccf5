"""Rules both stores share, so memory, SQLite and PostgreSQL accept and refuse exactly the
same things and return the same rows: input checks made before anything is written, the
collapsing of row changes, and the state of an origin we hold nothing of.

Messages name the field and the rule, never the value: subjects, actors and rows can carry
personal data (ID numbers, names).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from node.store.base import (
    STATE_TABLES,
    IntegrityError,
    OriginState,
    RowChange,
    RowQuery,
    StoredEntry,
)
from sync.merkle import Frontier

# hlc, sizes and indexes are uint64 on the wire but are stored as signed 64-bit integers
# (SQLite INTEGER, PostgreSQL BIGINT). An HLC is (unix ms << 16) | counter (sync/hlc.py), which
# stays below 2**63 until the year 6429, so anything above is a bug or a hostile peer.
INT64_LIMIT = 2**63
INT32_LIMIT = 2**31

# Column kinds of the folded-state tables, by name: every other column is text.
# (record_index and kept_record: the SQL store's stored form of a listing's record,
# node/store/listing_rows.py.)
BYTES_COLUMNS = frozenset({"record", "kept_record"})
INT_COLUMNS = frozenset({"last_index", "record_index"})
KEY_COLUMN = "key"
# Values of one RowQuery.among filter: well within every backend's bound parameters.
ROW_QUERY_AMONG_MAX = 1000


def column_kind(column: str) -> type:
    """The Python type a folded-state column holds (``None`` is always allowed)."""
    if column in BYTES_COLUMNS:
        return bytes
    if column in INT_COLUMNS:
        return int
    return str


def _require_int64(field: str, value: int) -> None:
    if not 0 <= value < INT64_LIMIT:
        raise IntegrityError(f"{field} must be in [0, 2**63)")


def _require_text(field: str, value: str) -> None:
    # PostgreSQL text cannot hold NUL; refuse it everywhere so the backends agree.
    if "\x00" in value:
        raise IntegrityError(f"{field} must not contain NUL characters")


def check_append(
    origin: str,
    expected_size: int,
    entries: Sequence[StoredEntry],
    state: OriginState,
    checkpoints: Sequence[tuple[int, str]],
) -> None:
    """The batch is exactly entries expected_size..state.size-1 of ``origin``, and the
    intermediate checkpoints lie strictly inside it, in increasing size order."""
    if state.origin != origin:
        raise IntegrityError("state.origin must equal origin")
    if expected_size < 0:
        raise IntegrityError("expected_size must be >= 0")
    _require_int64("state.size", state.size)
    if state.size != expected_size + len(entries):
        raise IntegrityError("state.size must equal expected_size + len(entries)")
    _require_text("origin", origin)
    _require_text("state.checkpoint_note", state.checkpoint_note)
    for offset, entry in enumerate(entries):
        if entry.origin != origin:
            raise IntegrityError(f"entries[{offset}].origin must equal origin")
        if entry.index != expected_size + offset:
            raise IntegrityError(f"entries[{offset}].index must be expected_size + {offset}")
        if not 0 <= entry.hlc < INT64_LIMIT:
            raise IntegrityError(f"entries[{offset}].hlc must be in [0, 2**63)")
        if not -INT32_LIMIT <= entry.kind < INT32_LIMIT:  # a protobuf enum is an int32
            raise IntegrityError(f"entries[{offset}].kind must be an int32")
        if "\x00" in entry.subject or "\x00" in entry.actor:
            raise IntegrityError(f"entries[{offset}] subject and actor must not contain NUL")
    previous_size = expected_size
    for position, (size, note) in enumerate(checkpoints):
        if not previous_size < size < state.size:
            raise IntegrityError(
                f"checkpoints[{position}] size must be above the previous checkpoint "
                "and below state.size"
            )
        _require_text(f"checkpoints[{position}] note", note)
        previous_size = size


def collapse_changes(changes: Sequence[RowChange], *, trusted: bool = False) -> list[RowChange]:
    """Validate the changes and keep the last one per (table, key), sorted by (table, key).

    Only the final value of a row matters, and one change per row lets the SQL store batch
    them (a multi-row upsert may not touch a row twice). Sorting gives every writer the same
    row-lock order, so two concurrent appends touching the same rows cannot deadlock.

    ``trusted``: the rows were built by the node's own folds (sync.folds), with their table's
    columns, types and key, so only what depends on the folded entries is checked: text
    without NUL characters (check_trusted_change).
    """
    check = check_trusted_change if trusted else check_change
    last: dict[tuple[str, str], RowChange] = {}
    for position, change in enumerate(changes):
        check(position, change)
        last[(change.table, change.key)] = change
    return [last[table_key] for table_key in sorted(last)]


def check_trusted_change(position: int, change: RowChange) -> None:
    """The checks of check_change that a fold cannot vouch for: text comes from the entries
    (a validly signed payload may carry NUL characters, which PostgreSQL cannot store)."""
    texts = _TEXT_GETTERS.get(change.table)
    if texts is None:
        raise IntegrityError(f"changes[{position}].table is not a folded-state table")
    row = change.row
    if row is None:
        return
    try:  # at C speed: a row per entry on the catch-up hot path
        clean = "\x00" not in "".join(texts(row))
    except (KeyError, TypeError):  # a column left out, or None: look at each value
        clean = not any(type(value) is str and "\x00" in value for value in row.values())
    if not clean:
        check_change(position, change)  # names the column
        raise AssertionError("check_change accepted text with NUL")  # pragma: no cover


def check_change(position: int, change: RowChange) -> None:
    kinds = _COLUMN_KINDS.get(change.table)
    if kinds is None:
        raise IntegrityError(f"changes[{position}].table is not a folded-state table")
    if not isinstance(change.key, str) or not change.key:
        raise IntegrityError(f"changes[{position}].key must be a non-empty string")
    if change.row is None:
        return
    # On the catch-up hot path (a row per entry): messages are built only on failure.
    for column, value in change.row.items():
        kind = kinds.get(column)
        if kind is None:
            raise IntegrityError(
                f"changes[{position}].row: {column!r} is not a column of {change.table!r}"
            )
        if not value_fits(kind, value):
            raise IntegrityError(f"changes[{position}].row[{column!r}] {_RULES[kind]}")
    if change.row.get(KEY_COLUMN, change.key) != change.key:
        raise IntegrityError(f"changes[{position}].row['key'] must equal changes[{position}].key")


def value_fits(kind: type, value: Any) -> bool:
    """May ``value`` be stored in a column holding ``kind``? (See _RULES.)"""
    if value is None:
        return True
    if kind is str:
        # PostgreSQL text cannot hold NUL; refuse it everywhere so the backends agree.
        return isinstance(value, str) and "\x00" not in value
    if kind is int:
        # bool is an int subclass; a flag stored as 0/1 would read back as an int.
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < INT64_LIMIT
    return isinstance(value, bytes)


_RULES = {
    str: "must be str without NUL characters, or None",
    int: "must be an int in [0, 2**63), or None",
    bytes: "must be bytes or None",
}


def check_value(field: str, column: str, value: Any) -> None:
    kind = column_kind(column)
    if not value_fits(kind, value):
        raise IntegrityError(f"{field} {_RULES[kind]}")


def full_row(table: str, key: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """An upsert replaces the whole row: columns the change leaves out become None."""
    values = {column: row.get(column) for column in STATE_TABLES[table]}
    values[KEY_COLUMN] = key
    return values


def check_query(query: RowQuery) -> None:
    columns = _table_columns(query.table, "query.table")
    if query.limit < 0:
        raise ValueError("query.limit must be >= 0")
    if query.offset < 0:
        raise ValueError("query.offset must be >= 0")
    for column, value in query.equals.items():
        if column not in columns:
            raise IntegrityError(f"query.equals: {column!r} is not a column of {query.table!r}")
        _check_filtered(query.table, "equals", column)
        check_value(f"query.equals[{column!r}]", column, value)
    for name, filters in (
        ("prefix", query.prefix),
        ("above", query.above),
        ("below", query.below),
    ):
        for column, value in filters.items():
            if column not in columns or column_kind(column) is not str:
                raise IntegrityError(
                    f"query.{name}: {column!r} is not a text column of {query.table!r}"
                )
            if not isinstance(value, str):
                raise IntegrityError(f"query.{name}[{column!r}] must be str")
            check_value(f"query.{name}[{column!r}]", column, value)
    for column, values in query.among.items():
        if column not in columns:
            raise IntegrityError(f"query.among: {column!r} is not a column of {query.table!r}")
        _check_filtered(query.table, "among", column)
        if isinstance(values, (str, bytes)) or len(values) > ROW_QUERY_AMONG_MAX:
            raise IntegrityError(
                f"query.among[{column!r}] must be a sequence of at most {ROW_QUERY_AMONG_MAX}"
            )
        for value in values:
            if value is None:  # SQL's IN never matches NULL: refused, not answered differently
                raise IntegrityError(f"query.among[{column!r}] must not hold None")
            check_value(f"query.among[{column!r}]", column, value)
    if query.after_key is not None:
        if not isinstance(query.after_key, str):
            raise IntegrityError("query.after_key must be str or None")
        check_value("query.after_key", KEY_COLUMN, query.after_key)


def check_table(table: str) -> None:
    _table_columns(table, "table")


def check_range(start: int, end: int) -> None:
    if start < 0:
        raise ValueError("start must be >= 0")
    if end < start:
        raise ValueError("end must be >= start")


_COLUMN_KINDS: dict[str, dict[str, type]] = {
    table: {column: column_kind(column) for column in columns}
    for table, columns in STATE_TABLES.items()
}
# Per table, the text values of a row (a tuple; the one value if the key is its only text
# column: "".join takes either).
_TEXT_GETTERS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    table: itemgetter(*(column for column, kind in kinds.items() if kind is str))
    for table, kinds in _COLUMN_KINDS.items()
}


def _table_columns(table: str, field: str) -> tuple[str, ...]:
    columns = STATE_TABLES.get(table)
    if columns is None:
        raise IntegrityError(f"{field} is not a folded-state table")
    return columns


def _check_filtered(table: str, name: str, column: str) -> None:
    # The SQL store builds a listing's record from its entry's payload when it reads the row
    # (node/store/listing_rows.py): there is no column to compare it with.
    if table == "blacklist" and column == "record":
        raise IntegrityError(f"query.{name}: rows of {table!r} are not filtered by {column!r}")


def empty_state(origin: str) -> OriginState:
    """The state of an origin we hold nothing of (frozen before its first entry arrived)."""
    frontier = Frontier()
    return OriginState(
        origin=origin,
        size=0,
        root=frontier.root(),
        frontier=frontier.to_bytes(),
        checkpoint_note="",
    )
