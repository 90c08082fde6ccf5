"""RowReader.find_by: the committed rows of one column's value, overlaid by the pending rows
of the group, without a scan of the pending rows."""

from __future__ import annotations

from typing import Any

import pytest

from node.ownlog import writer
from node.ownlog.writer import RowReader
from node.store.base import RowQuery
from sync.folds.types import Row, StateKey


class _Committed:
    """query_rows over a fixed set of committed rows (equals and after_key, by key)."""

    def __init__(self, rows: list[Row]) -> None:
        self.rows = sorted(rows, key=lambda row: str(row["key"]))
        self.queries: list[RowQuery] = []

    def query_rows(self, query: RowQuery) -> tuple[list[Row], int]:
        self.queries.append(query)
        hits = [
            row
            for row in self.rows
            if all(row.get(c) == v for c, v in query.equals.items())
            and (query.after_key is None or str(row["key"]) > query.after_key)
        ]
        return hits[query.offset : query.offset + query.limit], len(hits)


def _row(key: str, id_key: str, status: str = "listed") -> Row:
    return {"key": key, "id_key": id_key, "status": status}


def _reader(committed: list[Row], pending: dict[StateKey, Row]) -> tuple[RowReader, _Committed]:
    store = _Committed(committed)
    return RowReader(store, pending), store  # type: ignore[arg-type]


def test_committed_and_pending_rows_of_a_value() -> None:
    reader, _ = _reader(
        [_row("a/bl/0", "X"), _row("a/bl/1", "Y")],
        {("blacklist", "a/bl/2"): _row("a/bl/2", "X"), ("tasks", "t"): _row("t", "X")},
    )
    assert [r["key"] for r in reader.find_by("blacklist", "id_key", "X")] == ["a/bl/0", "a/bl/2"]
    assert reader.find_by("blacklist", "id_key", "Z") == []


def test_a_pending_change_decides_over_the_committed_row() -> None:
    reader, _ = _reader([_row("a/bl/0", "X")], {})
    assert reader.find_by("blacklist", "id_key", "X")[0]["status"] == "listed"
    reader.record({("blacklist", "a/bl/0"): _row("a/bl/0", "X", "delisted")})
    assert [r["status"] for r in reader.find_by("blacklist", "id_key", "X")] == ["delisted"]
    # A row whose value changed no longer matches its old value, pending or committed.
    reader.record({("blacklist", "a/bl/0"): _row("a/bl/0", "W")})
    assert reader.find_by("blacklist", "id_key", "X") == []
    assert [r["key"] for r in reader.find_by("blacklist", "id_key", "W")] == ["a/bl/0"]


def test_rows_recorded_after_the_first_lookup_are_found() -> None:
    reader, _ = _reader([], {})
    assert reader.find_by("blacklist", "id_key", "X") == []
    reader.record({("blacklist", "a/bl/5"): _row("a/bl/5", "X")})
    assert [r["key"] for r in reader.find_by("blacklist", "id_key", "X")] == ["a/bl/5"]
    assert reader.pending[("blacklist", "a/bl/5")]["id_key"] == "X"


def test_many_committed_rows_are_read_page_by_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer, "FIND_PAGE_ROWS", 2)
    committed = [_row(f"a/bl/{i}", "X") for i in range(5)]
    reader, store = _reader(committed, {})
    found: list[Any] = [r["key"] for r in reader.find_by("blacklist", "id_key", "X")]
    assert found == sorted(str(r["key"]) for r in committed)
    assert [q.after_key for q in store.queries] == [None, "a/bl/1", "a/bl/3"]
    assert all(q.equals == {"id_key": "X"} and q.offset == 0 for q in store.queries)


class _Among(_Committed):
    def query_rows(self, query: RowQuery) -> tuple[list[Row], int]:
        self.queries.append(query)
        hits = [
            row
            for row in self.rows
            if all(row.get(c) in vs for c, vs in query.among.items())
            and all(row.get(c) == v for c, v in query.equals.items())
            and (query.after_key is None or str(row["key"]) > query.after_key)
        ]
        return hits[: query.limit], len(hits)


def test_prefetch_reads_many_values_in_few_queries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer, "ROW_QUERY_AMONG_MAX", 3)
    store = _Among([_row("a/bl/0", "V1"), _row("a/bl/1", "V4"), _row("a/bl/2", "V4")])
    reader = RowReader(store, {})  # type: ignore[arg-type]
    calls: list[int] = []

    def values() -> list[str]:
        calls.append(1)
        return [f"V{i}" for i in range(7)]

    reader.prefetch_by("blacklist", "id_key", values)
    reader.prefetch_by("blacklist", "id_key", values)  # once per reader
    assert len(calls) == 1
    assert [len(q.among["id_key"]) for q in store.queries] == [3, 3, 1]
    store.queries.clear()
    assert [r["key"] for r in reader.find_by("blacklist", "id_key", "V4")] == ["a/bl/1", "a/bl/2"]
    assert reader.find_by("blacklist", "id_key", "V2") == []
    assert store.queries == []  # answered from the prefetched rows
    assert reader.find_by("blacklist", "id_key", "other") == []
    assert len(store.queries) == 1  # a value not prefetched is looked up on its own
    reader.record({("blacklist", "a/bl/1"): _row("a/bl/1", "V4", "delisted")})
    assert [r["status"] for r in reader.find_by("blacklist", "id_key", "V4")] == [
        "delisted",
        "listed",
    ]


class _ByKey:
    """get_rows over a fixed set of committed rows, counting the reads."""

    def __init__(self, rows: list[Row]) -> None:
        self.rows = {str(row["key"]): row for row in rows}
        self.reads: list[list[str]] = []

    def get_rows(self, table: str, keys: list[str]) -> dict[str, Row]:
        self.reads.append(list(keys))
        return {k: self.rows[k] for k in keys if k in self.rows}


def test_get_reads_a_committed_row_once_per_group() -> None:
    store = _ByKey([_row("a/bl/0", "X")])
    committed: dict[StateKey, Row | None] = {}
    first = RowReader(store, {}, committed)  # type: ignore[arg-type]
    assert first.get("blacklist", "a/bl/0") == _row("a/bl/0", "X")
    assert first.get("blacklist", "a/bl/0") == _row("a/bl/0", "X")
    assert first.get("blacklist", "a/bl/9") is None
    assert first.get("blacklist", "a/bl/9") is None  # an absent row is remembered too
    # The group's next submission shares what was read; its pending rows still come first.
    second = RowReader(store, {("blacklist", "a/bl/0"): _row("a/bl/0", "Y")}, committed)  # type: ignore[arg-type]
    assert second.get("blacklist", "a/bl/0") == _row("a/bl/0", "Y")
    assert second.get("blacklist", "a/bl/9") is None
    assert store.reads == [["a/bl/0"], ["a/bl/9"]]
