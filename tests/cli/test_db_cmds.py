"""``ccnode db status``, ``ccnode db upgrade``, ``ccnode backup`` and ``init --db``: the store's
lifecycle, and the refusal of a store newer than this ccnode."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy
from alembic import command

from node.config import NodeConfig
from node.identity.ca import init_ca, issue_node
from node.store import open_store
from node.store.migrate import alembic_config, known_revisions
from tests.cli.support import fails, ok

LATEST = known_revisions()[-1].revision
NEWER = "0099_from_a_newer_ccnode"
REFUSAL = (
    f"this store is at schema revision {NEWER}, newer than this ccnode knows "
    f"(latest {LATEST}); upgrade ccnode"
)


def _store_at(db: Path, revision: str) -> None:
    """A SQLite store migrated up to ``revision`` only (as an older ccnode left it)."""
    engine = sqlalchemy.create_engine(f"sqlite:///{db}")
    try:
        with engine.begin() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def _set_revision(db: Path, revision: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    conn.close()


def _current(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    conn.close()
    return str(revision)


def test_status_of_a_home_that_never_ran(home: Path) -> None:
    out = ok("db", "status", "--home", home).stdout
    assert "schema revision: none (empty store)" in out
    assert f"no store yet: the node creates it at its first start, at {LATEST}" in out
    assert not (home / "ccnode.db").exists()  # status creates nothing
    assert "holds no store yet" in fails(1, "db", "upgrade", "--home", home).stderr


def test_status_and_upgrade_of_an_older_store(home: Path) -> None:
    db = home / "ccnode.db"
    _store_at(db, "0007")
    doc = json.loads(ok("db", "status", "--home", home, "--json").stdout)
    assert (doc["current"], doc["latest"], doc["newer"]) == ("0007", LATEST, False)
    known = [r.revision for r in known_revisions()]
    pending = known[known.index("0007") + 1 :]
    assert doc["pending"] == pending and pending[-1] == LATEST
    assert doc["known"] == known
    out = ok("db", "status", "--home", home).stdout
    assert f"pending ({len(pending)}); apply with `ccnode db upgrade" in out and LATEST in out
    assert _current(db) == "0007"  # status changed nothing

    upgraded = ok("db", "upgrade", "--home", home).stdout
    assert upgraded.splitlines()[0].startswith(f"applied {pending[0]}  Hashes of complete Merkle")
    assert [line.split()[1] for line in upgraded.splitlines()[: len(pending)]] == pending
    assert f"the store is at revision {LATEST}" in upgraded
    assert _current(db) == LATEST
    assert "up to date" in ok("db", "status", "--home", home).stdout
    assert "nothing to do" in ok("db", "upgrade", "--home", home).stdout


def test_upgrade_refuses_while_the_node_runs(home: Path) -> None:
    import fcntl
    import os

    _store_at(home / "ccnode.db", "0007")
    fd = os.open(home / "serve.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a serving node holds it
        assert "is running" in fails(1, "db", "upgrade", "--home", home).stderr
    finally:
        os.close(fd)
    assert _current(home / "ccnode.db") == "0007"


def test_migrations_are_logged_one_line_per_revision(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        open_store(tmp_path / "fresh.db").close()
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert lines == [
        f"store schema: applied revision {r.revision} ({r.title})" for r in known_revisions()
    ]
    caplog.clear()
    with caplog.at_level(logging.INFO):
        open_store(tmp_path / "fresh.db").close()
    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []  # nothing to apply


def test_a_newer_store_is_refused_in_one_line(home: Path) -> None:
    db = home / "ccnode.db"
    open_store(db).close()
    _set_revision(db, NEWER)
    status = fails(1, "db", "status", "--home", home)
    assert f"schema revision: {NEWER}" in status.stdout
    assert status.stderr == f"Error: {REFUSAL}\n"
    assert fails(1, "db", "upgrade", "--home", home).stderr == f"Error: {REFUSAL}\n"
    served = fails(1, "serve", "--home", home)
    assert served.stderr.endswith(f"{REFUSAL}\n") and "Traceback" not in served.stderr
    offline = fails(1, "audit", "verify", "--home", home, "--offline")
    assert REFUSAL in offline.stderr
    assert _current(db) == NEWER  # nothing touched it


# ---------------------------------------------------------------- init --db


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ca = tmp_path_factory.mktemp("pki") / "ca"
    init_ca(ca, "test.court")
    return issue_node(ca, "chengdu", ca.parent / "chengdu").dir


def _init(home: Path, certs: Path, db: str) -> list[str | Path]:
    return ["init", "--home", home, "--node-id", "chengdu", "--listen", "127.0.0.1:7001",
            "--certs", certs, "--db", db]  # fmt: skip


def test_init_refuses_an_unreachable_database(tmp_path: Path, certs: Path) -> None:
    url = "postgresql://ccnode:s3cret@127.0.0.1:1/ccnode"  # port 1: nothing listens
    result = fails(1, *_init(tmp_path / "h", certs, url))
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "Error: db: cannot connect to postgresql+psycopg://ccnode:***@127.0.0.1:1"
    )
    assert "s3cret" not in result.stderr
    assert not (tmp_path / "h").exists()


def test_init_refuses_a_newer_store(tmp_path: Path, certs: Path) -> None:
    db = tmp_path / "shared.db"
    open_store(db).close()
    _set_revision(db, NEWER)
    result = fails(1, *_init(tmp_path / "h", certs, f"sqlite:///{db}"))
    assert result.stderr == f"Error: db: {REFUSAL}\n"
    assert not (tmp_path / "h").exists()


def test_init_accepts_an_existing_current_store(tmp_path: Path, certs: Path) -> None:
    db = tmp_path / "shared.db"
    open_store(db).close()
    ok(*_init(tmp_path / "h", certs, f"sqlite:///{db}"))
    assert NodeConfig.load(tmp_path / "h").db_url == f"sqlite:///{db}"


def test_init_refuses_a_sqlite_file_in_a_missing_directory(tmp_path: Path, certs: Path) -> None:
    result = fails(1, *_init(tmp_path / "h", certs, f"sqlite:///{tmp_path}/nowhere/x.db"))
    assert "is not a directory" in result.stderr


# ---------------------------------------------------------------- backup (stopped node)


def test_backup_copies_and_refuses_to_overwrite(home: Path, tmp_path: Path) -> None:
    open_store(home / "ccnode.db").close()
    out = tmp_path / "b.db"
    doc = json.loads(ok("backup", "--home", home, "--out", out, "--json").stdout)
    assert (doc["entries"], doc["revision"], doc["bytes"]) == (0, LATEST, out.stat().st_size)
    before = out.read_bytes()
    result = fails(1, "backup", "--home", home, "--out", out)
    assert "already exists" in result.stderr
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_backup_of_a_postgresql_home_points_to_pg_dump(home: Path) -> None:
    env = {"CCNODE_DB_URL": "postgresql://ccnode:s3cret@db1/ccnode"}
    result = fails(1, "backup", "--home", home, "--out", "x.dump", env=env)
    assert "pg_dump --format=custom --file x.dump" in result.stderr
    assert "s3cret" not in result.stderr


def test_backup_of_a_home_without_a_store(home: Path, tmp_path: Path) -> None:
    result = fails(1, "backup", "--home", home, "--out", tmp_path / "b.db")
    assert "no such store" in result.stderr


def test_serve_on_an_unreachable_database_says_so_in_one_line(home: Path) -> None:
    env = {"CCNODE_DB_URL": "postgresql://ccnode:s3cret@127.0.0.1:1/ccnode"}
    result = fails(1, "serve", "--home", home, env=env)
    assert result.stderr.startswith(
        "Error: cannot open the store at postgresql+psycopg://ccnode:***@127.0.0.1:1/ccnode: "
    )
    assert len(result.stderr.splitlines()) == 1 and "s3cret" not in result.stderr
