"""PostgreSQL-only behaviour of the SQL store and of the test server itself.

The backend-neutral contract is tested by tests/unit/test_store_conformance.py, whose
PostgreSQL half also runs here under the ``postgres`` marker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace

import psycopg
import pytest
from psycopg import sql

from node.store import SqlStore, Store, open_store
from node.store.base import OriginState, RowChange, StoreError
from tests.pgserver import PgServer
from tests.unit.test_store_conformance import make_entry, state_for

pytestmark = pytest.mark.postgres


def test_server_listens_on_loopback_and_a_private_socket(pg_server: PgServer, pg_url: str) -> None:
    assert pg_url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    assert pg_server.base_dir is not None
    with psycopg.connect(
        host=str(pg_server.base_dir), port=pg_server.port, user="postgres"
    ) as conn:
        settings = {
            name: conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()
            for name in ("listen_addresses", "fsync", "server_encoding")
        }
    assert settings == {
        "listen_addresses": ("127.0.0.1",),
        "fsync": ("off",),
        "server_encoding": ("UTF8",),
    }


def test_reset_empties_the_database(pg_server: PgServer, fresh_pg_url: str) -> None:
    database = fresh_pg_url.rsplit("/", 1)[1]
    pg_server.admin_sql(sql.SQL("CREATE TABLE leftover (x int)"), database=database)
    pg_server.reset_database(database)
    with psycopg.connect(
        host="127.0.0.1", port=pg_server.port, user="postgres", dbname=database
    ) as conn:
        tables = conn.execute(
            sql.SQL("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        ).fetchone()
    assert tables == (0,)


def test_plain_postgresql_url_uses_psycopg(
    fresh_pg_url: str, open_test_store: Callable[[str], Store]
) -> None:
    store = open_test_store(fresh_pg_url.replace("postgresql+psycopg://", "postgresql://"))
    assert isinstance(store, SqlStore)
    assert store.vector() == {}


def test_non_utf8_database_is_refused(pg_server: PgServer) -> None:
    name = "ccnode_latin1"
    pg_server.admin_sql(
        sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'LATIN1' LOCALE 'C'").format(
            sql.Identifier(name)
        )
    )
    try:
        with pytest.raises(StoreError, match="UTF8"):
            open_store(pg_server.url(name))
    finally:
        pg_server.admin_sql(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def test_appends_touching_the_same_rows_in_opposite_orders_do_not_deadlock(
    fresh_pg_url: str, open_test_store: Callable[[str], Store]
) -> None:
    """Two origins' folds may write the same rows (a task has two writers); row locks are
    taken in (table, key) order whatever order the changes come in, so no deadlock."""
    stores = [open_test_store(fresh_pg_url), open_test_store(fresh_pg_url)]
    origins = ["chengdu", "chongqing"]
    rounds = 30
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def writer(which: int) -> None:
        store, origin = stores[which], origins[which]
        keys = [f"task/{k}" for k in range(20)]
        if which:
            keys.reverse()
        start.wait()
        try:
            for size in range(rounds):
                store.append(
                    origin=origin,
                    expected_size=size,
                    entries=[make_entry(origin, size)],
                    state=state_for(origin, size + 1),
                    changes=[
                        RowChange("blacklist", key, {"status": origin, "last_index": size})
                        for key in keys
                    ],
                )
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert stores[0].vector() == {"chengdu": rounds, "chongqing": rounds}


def test_state_round_trips_64_bit_values(
    fresh_pg_url: str, open_test_store: Callable[[str], Store]
) -> None:
    store = open_test_store(fresh_pg_url)
    entry = make_entry("chengdu", 0)
    big = replace(entry, hlc=2**63 - 1, kind=2**31 - 1)
    store.append(
        origin="chengdu",
        expected_size=0,
        entries=[big],
        state=state_for("chengdu", 1),
        changes=[RowChange("blacklist", "k", {"last_index": 2**63 - 1})],
    )
    assert store.entries("chengdu", 0, 1) == [big]
    assert store.get_rows("blacklist", ["k"])["k"]["last_index"] == 2**63 - 1
    assert isinstance(store.origin_state("chengdu"), OriginState)
