"""Range filters (``above``, ``below``) and keyset paging (``after_key``) of RowQuery, held to
one contract on every Store: memory, SQLite and PostgreSQL (conformance style: every test takes
the parametrised ``store`` fixture of tests/conftest.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from node.store import Store
from node.store.base import IntegrityError, RowQuery
from tests.unit.test_store_conformance import ORIGIN, append, upsert

# term_end_on: "" (no term), None (never set), ISO dates, and text beyond the BMP.
ROWS = {
    "chengdu/bl/0": {"status": "listed", "term_end_on": "2026-03-06"},
    "chengdu/bl/1": {"status": "listed", "term_end_on": ""},
    "chengdu/bl/10": {"status": "listed", "term_end_on": "2027-01-01"},
    "chengdu/bl/2": {"status": "delisted", "term_end_on": "2025-12-31"},
    "chengdu/bl/3": {"status": "listed", "term_end_on": None},
    "chengdu/bl/4": {"status": "listed", "term_end_on": "2025-12-31"},
    "chengdu/bl/5": {"status": "listed", "term_end_on": "\U0001f600"},
    "chengdu/bl/6": {"status": "listed", "term_end_on": "\uffff"},
}


@pytest.fixture
def filled(store: Store) -> Store:
    append(store, ORIGIN, 0, 1, changes=[upsert(key, **row) for key, row in ROWS.items()])
    return store


def _keys(store: Store, query: RowQuery) -> tuple[list[str], int]:
    rows, total = store.query_rows(query)
    return [row["key"] for row in rows], total


def _expected(match: Any) -> list[str]:
    return sorted(key for key, row in ROWS.items() if match(row))


def test_above_and_below_compare_text_by_code_point_and_never_match_null(filled: Store) -> None:
    query = RowQuery("blacklist")

    def keys(**filters: dict[str, str]) -> list[str]:
        found, total = _keys(filled, replace(query, **filters))
        assert total == len(found)
        return found

    term = "term_end_on"
    assert keys(above={term: ""}) == _expected(lambda r: r[term])
    assert keys(below={term: "2026-01-01"}) == _expected(
        lambda r: r[term] is not None and r[term] < "2026-01-01"
    )
    assert keys(above={term: ""}, below={term: "2026-03-06"}) == [
        "chengdu/bl/2",
        "chengdu/bl/4",
    ]
    assert keys(above={term: "2025-12-31"}, below={term: "2027-01-01"}) == ["chengdu/bl/0"]
    # A supplementary character sorts above U+FFFF, as in Python (not as in UTF-16).
    assert keys(above={term: "\uffff"}) == ["chengdu/bl/5"]
    assert keys(below={term: "\U0001f600"}, above={term: "2027-01-01"}) == ["chengdu/bl/6"]
    assert keys(above={"key": "chengdu/bl/1"}, below={"key": "chengdu/bl/3"}) == [
        "chengdu/bl/10",
        "chengdu/bl/2",
    ]
    assert keys(above={term: ""}, below={term: ""}) == []


def test_ranges_combine_with_equality_and_prefix(filled: Store) -> None:
    query = RowQuery(
        "blacklist",
        equals={"status": "listed"},
        above={"term_end_on": ""},
        below={"term_end_on": "2026-12-31"},
    )
    assert _keys(filled, query) == (["chengdu/bl/0", "chengdu/bl/4"], 2)
    assert _keys(filled, replace(query, prefix={"key": "chengdu/bl/4"})) == (["chengdu/bl/4"], 1)


def test_after_key_pages_by_key_and_counts_the_rest(filled: Store) -> None:
    everything = sorted(ROWS)
    pages: list[list[str]] = []
    after: str | None = None
    while True:
        found, total = _keys(filled, RowQuery("blacklist", after_key=after, limit=3))
        assert total == len([k for k in everything if after is None or k > after])
        if not found:
            break
        pages.append(found)
        after = found[-1]
    assert pages == [everything[0:3], everything[3:6], everything[6:]]
    # A key that is not stored still bounds the page; offset applies after it.
    assert _keys(filled, RowQuery("blacklist", after_key="chengdu/bl/10~")) == (
        everything[3:],
        5,
    )
    assert _keys(filled, RowQuery("blacklist", after_key="chengdu/bl/1", offset=1, limit=2)) == (
        everything[3:5],
        6,
    )
    assert _keys(filled, RowQuery("blacklist", after_key="")) == (everything, len(ROWS))
    assert _keys(filled, RowQuery("blacklist", after_key="\U0010ffff")) == ([], 0)


def test_after_key_with_ranges_reads_only_the_due_rows(filled: Store) -> None:
    """The expiry scan's query: listed rows with a term that ended before a day, by key."""
    query = RowQuery(
        "blacklist",
        equals={"status": "listed"},
        above={"term_end_on": ""},
        below={"term_end_on": "2027-06-01"},
        limit=1,
    )
    seen: list[str] = []
    after: str | None = None
    while rows := filled.query_rows(replace(query, after_key=after))[0]:
        seen.extend(row["key"] for row in rows)
        after = rows[-1]["key"]
    assert seen == ["chengdu/bl/0", "chengdu/bl/10", "chengdu/bl/4"]


@pytest.mark.parametrize(
    "query",
    [
        RowQuery("blacklist", above={"no_such_column": "x"}),
        RowQuery("blacklist", below={"last_index": "1"}),  # not a text column
        RowQuery("blacklist", above={"record": "x"}),
        RowQuery("blacklist", below={"term_end_on": 2026}),  # type: ignore[dict-item]
        RowQuery("blacklist", above={"term_end_on": "a\x00"}),
        RowQuery("blacklist", after_key=7),  # type: ignore[arg-type]
        RowQuery("blacklist", after_key="a\x00b"),
    ],
)
def test_bad_ranges_are_refused_naming_the_field(store: Store, query: RowQuery) -> None:
    with pytest.raises(IntegrityError, match=r"query\.(above|below|after_key)") as err:
        store.query_rows(query)
    assert "a\x00" not in str(err.value)
