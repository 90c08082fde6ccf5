"""A full SQLite database (``PRAGMA max_page_count`` caps it, as a full disk would) refuses a
write with StoreFull, rolls it back whole, and loses nothing it committed before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from node.store import SqlStore
from node.store.base import Refusal, StoreError, StoreFull
from tests.unit.test_store_conformance import ORIGIN, append, snapshot


def _cap_pages(store: SqlStore) -> None:
    """Every new connection may not grow the file past its current page count."""
    engine = store._engine  # the test reaches in: only a new connection takes the pragma

    def cap(dbapi_connection: Any, _record: Any) -> None:
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(engine, "connect", cap)
    engine.dispose()


def test_a_full_database_raises_store_full_and_keeps_what_it_committed(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    store = SqlStore(path)
    append(store, ORIGIN, 0, 3)
    committed = snapshot(store)
    _cap_pages(store)

    with pytest.raises(StoreFull, match="database or its disk is full") as err:
        append(store, ORIGIN, 3, 400, payload=b"x" * 4_000)
    assert isinstance(err.value, StoreError)
    with pytest.raises(StoreFull):
        for i in range(2_000):
            store.record_refusal(Refusal(i, "p", "i", "m", f"reason {i}" + "r" * 190))
    assert snapshot(store) == committed
    store.close()

    reopened = SqlStore(path)
    try:
        assert snapshot(reopened) == committed
        append(reopened, ORIGIN, 3, 1)  # room again once the cap is gone
    finally:
        reopened.close()


def test_postgresql_disk_full_is_store_full_too() -> None:
    import psycopg
    import sqlalchemy.exc

    from node.store.sql import _is_disk_full

    wrapped = sqlalchemy.exc.OperationalError("INSERT", {}, psycopg.errors.DiskFull())
    assert _is_disk_full(wrapped) and _is_disk_full(psycopg.errors.DiskFull())
    assert not _is_disk_full(sqlalchemy.exc.OperationalError("x", {}, psycopg.OperationalError()))
