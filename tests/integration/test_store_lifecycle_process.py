"""``python -m node`` on an old home: its node.json converted and its store's pending schema
revision applied, each said once in the log; on a store from a newer ccnode, one line and
exit 1, no traceback."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy
from alembic import command

from node.config import NodeConfig
from node.store.migrate import alembic_config, known_revisions
from tests.integration.harness import Federation
from tests.integration.procs import REPO

pytestmark = pytest.mark.integration

LATEST = known_revisions()[-1]


def _old_home(tmp_path: Path) -> Path:
    """A home as ccnode 0.1 left it: node.json (with resync_interval_s), a store at 0007."""
    home = Federation(tmp_path).home("chengdu").home
    data = NodeConfig.load(home).file_data()
    data["limits"]["resync_interval_s"] = 30.0
    (home / "node.toml").unlink()
    (home / "node.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    for made in home.glob("ccnode.db*"):  # the test home's store (its officers) is at head
        made.unlink()
    engine = sqlalchemy.create_engine(f"sqlite:///{home / 'ccnode.db'}")
    try:
        with engine.begin() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, "0007")
    finally:
        engine.dispose()
    return home


def test_an_old_home_is_converted_and_upgraded_with_one_line_each(tmp_path: Path) -> None:
    home = _old_home(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "node", str(home)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CCNODE_LOG": "INFO"},
    )
    try:
        assert proc.stdout is not None
        assert "listening on" in proc.stdout.readline()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    lines = err.splitlines()
    converted = [line for line in lines if "converted" in line and "node.json.bak" in line]
    assert len(converted) == 1 and "limits.resync_interval_s" in converted[0]
    applied = [line for line in lines if "store schema: applied revision" in line]
    known = known_revisions()
    after = known[[r.revision for r in known].index("0007") + 1 :]
    assert len(applied) == len(after)  # one line per revision applied, in order
    for line, revision in zip(applied, after, strict=True):
        assert line.endswith(
            f"INFO node.store.migrate: store schema: applied revision {revision.revision} "
            f"({revision.title})"
        )
    assert "alembic" not in err
    assert (home / "node.toml").exists() and (home / "node.json.bak").exists()


def test_a_newer_store_stops_the_process_in_one_line(tmp_path: Path) -> None:
    home = _old_home(tmp_path)
    with sqlite3.connect(home / "ccnode.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099_newer'")
    conn.close()
    proc = subprocess.run(
        [sys.executable, "-m", "node", str(home)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == (
        "error: this store is at schema revision 0099_newer, newer than this ccnode knows "
        f"(latest {LATEST.revision}); upgrade ccnode"
    )
    assert "Traceback" not in proc.stderr
