"""A PostgreSQL home's lifecycle through the CLI: ``init --db`` checks the server, the password
lives in CCNODE_DB_URL only, ``db status`` / ``db upgrade`` work on the server's schema, and
``backup`` points to pg_dump."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from node.identity.ca import init_ca, issue_node
from node.store.migrate import known_revisions
from tests.cli.support import fails, ok

pytestmark = pytest.mark.postgres

PASSWORD = "pw-not-in-the-file"  # the test server trusts loopback: any password is accepted


def test_postgresql_home_from_init_to_upgrade(tmp_path: Path, fresh_pg_url: str) -> None:
    ca = tmp_path / "ca"
    init_ca(ca, "test.court")
    certs = issue_node(ca, "chengdu", tmp_path / "chengdu").dir
    in_file = fresh_pg_url  # postgresql+psycopg://postgres@127.0.0.1:PORT/DB, no password
    with_password = in_file.replace("postgres@", f"postgres:{PASSWORD}@")
    env = {"CCNODE_DB_URL": with_password}
    home = tmp_path / "h"

    init = ok("init", "--home", home, "--node-id", "chengdu", "--listen", "127.0.0.1:7001",
              "--certs", certs, "--db", in_file, "--json", env=env)  # fmt: skip
    assert PASSWORD not in init.stdout
    saved = (home / "node.toml").read_text(encoding="utf-8")
    assert tomllib.loads(saved)["db"] == in_file and PASSWORD not in saved

    shown = ok("config", "show", "--home", home, "--json", env=env)
    assert json.loads(shown.stdout)["db"] == in_file.replace("postgres@", "postgres:***@")
    assert PASSWORD not in shown.stdout

    status = json.loads(ok("db", "status", "--home", home, "--json", env=env).stdout)
    known = [r.revision for r in known_revisions()]
    assert (status["current"], status["pending"]) == (None, known)  # an empty database
    upgraded = ok("db", "upgrade", "--home", home, env=env).stdout
    assert [line.split()[1] for line in upgraded.splitlines()[:-1]] == known
    status = json.loads(ok("db", "status", "--home", home, "--json", env=env).stdout)
    assert (status["current"], status["pending"]) == (known[-1], [])

    backup = fails(1, "backup", "--home", home, "--out", tmp_path / "x.dump", env=env)
    assert "pg_dump" in backup.stderr and PASSWORD not in backup.stderr
