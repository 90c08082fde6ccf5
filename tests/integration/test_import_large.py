"""A 50,000-listing ``ccnode blacklist import`` through the CLI against a real node: the file
is larger than one gRPC message, so it is checked by the node part by part and then listed in
several submissions; every line is listed once, and a re-run lists nothing twice."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.harness import Federation, valid_ids
from tests.integration.procs import REPO, NodeProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RECORDS = 50_000
CALL_TIMEOUT_S = 600.0


def _write_file(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for n, id_number in enumerate(valid_ids(RECORDS)):
            line = {
                "case_number": f"（2025）川0104执{1000 + n % 7}号",
                "court": "川0104",
                "debtor_type": "person",
                "name": f"债务人{n}",
                "id_number": id_number,
                "obligation": "支付货款人民币100000元",
                "performance": "未履行",
                "ground": "G1",
                "basis_issuer": "成都市锦江区人民法院",
                "basis_number": "（2024）川0104民初5678号",
                "filed_on": "2025-01-15",
            }
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return path


def _import(home: Path, file: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "blacklist", "import", "--home", str(home),
         str(file), "--actor", "王五", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=CALL_TIMEOUT_S,
        env={**os.environ, "COLUMNS": "300"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    doc: dict[str, object] = json.loads(done.stdout)
    return doc


def test_import_of_50000_listings_is_split_and_lists_each_once(tmp_path: Path) -> None:
    home = Federation(tmp_path).home("chengdu").home
    file = _write_file(tmp_path / "listings.jsonl")
    assert file.stat().st_size > 4 * 1024 * 1024  # over the default message limit
    node = NodeProcess(home)
    try:
        node.start()
        doc = _import(home, file)
        assert doc["listed"] == RECORDS and doc["already_listed"] == 0
        assert isinstance(doc["submissions"], int) and doc["submissions"] > 1
        assert doc["size"] == RECORDS
        again = _import(home, file)
        assert again["listed"] == 0 and again["already_listed"] == RECORDS
        node.stop()
        with sqlite3.connect(f"file:{home / 'ccnode.db'}?mode=ro", uri=True) as conn:
            rows = conn.execute(
                "SELECT court, case_number, id_key FROM state_blacklist WHERE status = 'listed'"
            ).fetchall()
            (size,) = conn.execute("SELECT size FROM origins WHERE origin = 'chengdu'").fetchone()
        assert len(rows) == RECORDS == len(set(rows))
        assert size == RECORDS
    finally:
        node.stop()
