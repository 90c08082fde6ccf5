"""kill -9 of the node during a big ``ccnode blacklist import``: the CLI says the outcome is
unknown (not "not running"), and running the same import again lists every record exactly
once, whether the node died before or after it committed."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.harness import Federation, valid_ids
from tests.integration.procs import REPO, NodeProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RECORDS = 3_000
KILL_WAIT_S = 120.0


def _write_file(path: Path) -> Path:
    lines = [
        json.dumps(
            {
                "case_number": "（2024）川0104执1234号",
                "court": "川0104",
                "debtor_type": "person",
                "name": f"债务人{n}",
                "id_number": id_number,
                "obligation": "支付货款人民币100000元",
                "performance": "未履行",
                "ground": "G1",
                "basis_issuer": "成都市锦江区人民法院",
                "basis_number": "（2023）川0104民初5678号",
                "filed_on": "2024-01-15",
            },
            ensure_ascii=False,
        )
        for n, id_number in enumerate(valid_ids(RECORDS))
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _import(home: Path, file: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "blacklist", "import", "--home", str(home),
         str(file), "--actor", "王五", "--json"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "300"},
    )  # fmt: skip


def _log_size(db: Path) -> int:
    """The node's own log size as committed, read beside the node (SQLite allows it)."""
    if not db.exists():
        return 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        row = conn.execute("SELECT size FROM origins WHERE origin = 'chengdu'").fetchone()
    return int(row[0]) if row else 0


def _listed(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT court, case_number, id_key FROM state_blacklist WHERE status = 'listed'"
        ).fetchall()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


def test_reimport_after_kill9_lists_every_record_once(tmp_path: Path) -> None:
    home = Federation(tmp_path).home("chengdu").home
    file = _write_file(tmp_path / "listings.jsonl")
    db = home / "ccnode.db"
    node = NodeProcess(home)
    try:
        node.start()
        cli = _import(home, file)
        # Kill the node the moment the import is committed: its answer is then (most likely)
        # still on its way. A kill before the commit is the other half of the same promise.
        deadline = time.monotonic() + KILL_WAIT_S
        while _log_size(db) < RECORDS and cli.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        node.kill9()
        out, err = cli.communicate(timeout=60)
        committed = _log_size(db)
        assert committed in (0, RECORDS)  # one all-or-nothing submission
        if cli.returncode != 0:
            assert cli.returncode == 5, err
            assert "the outcome is unknown" in err and "safe to re-run" in err, err
            assert "not running" not in err

        node.start()
        again = _import(home, file)
        out, err = again.communicate(timeout=KILL_WAIT_S)
        assert again.returncode == 0, err
        doc = json.loads(out)
        assert doc["listed"] + doc["already_listed"] == RECORDS
        assert doc["already_listed"] == committed
        # Once more, after a complete import: nothing is listed twice.
        third = _import(home, file)
        out, err = third.communicate(timeout=KILL_WAIT_S)
        assert third.returncode == 0, err
        assert json.loads(out)["already_listed"] == RECORDS
        node.stop()
        listed = _listed(db)
        assert len(listed) == RECORDS == len(set(listed))
        assert _log_size(db) == RECORDS
    finally:
        node.stop()
        for proc in (p for p in ("cli", "again", "third") if p in locals()):
            popen = locals()[proc]
            if popen.poll() is None:
                popen.send_signal(signal.SIGKILL)
                popen.wait()
