"""`ccnode audit verify` fails when any stored header or payload byte is changed."""

from __future__ import annotations

import json
import sqlite3

import pytest

from ccnode.v1 import admin_pb2
from tests.cli.support import fails, ok
from tests.integration.harness import Federation, admin, listing, valid_ids

pytestmark = pytest.mark.integration


async def _home_with_log(federation: Federation) -> tuple[str, str]:
    a = await federation.start("chengdu")
    drafts = [listing(id_number=i) for i in valid_ids(3)]
    await admin(a).Submit(admin_pb2.SubmitRequest(drafts=drafts, actor="法官王五"))
    home, db = str(a.config.home), str(a.config.home / "ccnode.db")
    await federation.stop("chengdu")
    return home, db


def _flip(db: str, column: str, index: int) -> None:
    with sqlite3.connect(db) as conn:
        (value,) = conn.execute(
            f"SELECT {column} FROM entries WHERE origin = 'chengdu' AND idx = ?",
            (index,),
        ).fetchone()
        data = bytearray(value)
        data[len(data) // 2] ^= 0x01
        conn.execute(
            f"UPDATE entries SET {column} = ? WHERE origin = 'chengdu' AND idx = ?",
            (bytes(data), index),
        )


@pytest.mark.parametrize("column", ["header", "payload"])
async def test_one_changed_byte_fails_audit_verify(federation: Federation, column: str) -> None:
    home, db = await _home_with_log(federation)
    assert json.loads(ok("audit", "verify", "--home", home, "--json").stdout)["ok"] is True
    _flip(db, column, 1)
    doc = json.loads(fails(1, "audit", "verify", "--home", home, "--json").stdout)
    assert doc["ok"] is False
    assert {(p["origin"], p["index"]) for p in doc["problems"]} >= {("chengdu", 1)}
