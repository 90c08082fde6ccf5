"""Shared storage fixtures for every test folder.

* ``pg_server`` / ``pg_url`` (session): a throwaway PostgreSQL server (tests/pgserver.py) and
  the URL of a database on it. Missing server binaries skip the PostgreSQL tests, except in CI
  (``CI=true``), where they fail: CI must never pass by silently testing less.
* ``fresh_pg_url``: an empty database per test (one database, emptied before each test: a
  tenth of the cost of CREATE DATABASE), so tests are independent.
* ``store`` (parametrised memory / sqlite / postgresql) and ``sql_store_location`` (sqlite /
  postgresql): one test function runs against every backend (STYLE.md item 3).
* ``open_test_store``: opens stores (also reopens the same location) and closes them all at
  teardown.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from node.store import MEMORY_URL, Store, open_store
from tests.pgserver import PgServer, find_bindir

BACKENDS = ["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
SQL_BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

FRESH_DATABASE = "ccnode_test"
SWEEP_SEEDS_DEFAULT = 300  # seeds of the simulation sweep (tests/sim)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sim", "seeded deterministic simulation (tests/sim)")
    group.addoption(
        "--seed",
        type=int,
        default=None,
        help="replay exactly this simulation seed (as printed by 'SIM FAILED seed=<n>')",
    )
    group.addoption(
        "--sim-seeds",
        type=int,
        default=SWEEP_SEEDS_DEFAULT,
        help=f"number of seeds in the simulation sweep (default {SWEEP_SEEDS_DEFAULT})",
    )


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bindir = find_bindir()
    if bindir is None:
        reason = (
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin, pg_config, "
            "initdb on PATH); run `make postgres`"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true requires the PostgreSQL tests to run")
        pytest.skip(reason)
    server = PgServer(bindir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_url(pg_server: PgServer) -> str:
    """A database shared by the whole session; use ``fresh_pg_url`` for an isolated one."""
    return pg_server.create_database("ccnode_session")


@pytest.fixture(scope="session")
def _pg_reset_database(pg_server: PgServer) -> str:
    return pg_server.create_database(FRESH_DATABASE)


@pytest.fixture
def fresh_pg_url(pg_server: PgServer, _pg_reset_database: str) -> str:
    """An empty database for this test alone (emptied on entry, whatever the last test did)."""
    pg_server.reset_database(FRESH_DATABASE)
    return _pg_reset_database


def _location(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "memory":
        return MEMORY_URL
    if backend == "sqlite":
        return str(tmp_path / "store.db")
    assert backend == "postgresql", backend
    url: str = request.getfixturevalue("fresh_pg_url")
    return url


@pytest.fixture(params=BACKENDS)
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's store lives: "memory:", a SQLite file, or a fresh PostgreSQL database."""
    return _location(request.param, request, tmp_path)


@pytest.fixture(params=SQL_BACKENDS)
def sql_store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Like store_location, for tests that need a database (reopening, schema checks)."""
    return _location(request.param, request, tmp_path)


@pytest.fixture
def open_test_store() -> Iterator[Callable[[str], Store]]:
    opened: list[Store] = []

    def open_(location: str) -> Store:
        store = open_store(location)
        opened.append(store)
        return store

    try:
        yield open_
    finally:
        for store in opened:
            store.close()


@pytest.fixture
def store(store_location: str, open_test_store: Callable[[str], Store]) -> Store:
    return open_test_store(store_location)
