"""``ccnode backup`` of a running node, restored on a fresh home (docs/operations.md, Restore):
the copy holds every entry committed before it (the WAL's newest included), verifies, and the
restored node gets the entries committed after the copy back from its peer."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ccnode.v1 import admin_pb2
from cli.main import main
from node.config import NodeConfig, init_home
from node.runtime.node import Node
from tests.integration.harness import (
    PREFIXES,
    TRUST_DOMAIN,
    Federation,
    admin,
    eventually,
    listing,
    valid_ids,
)

pytestmark = pytest.mark.integration

A, B = "chengdu", "chongqing"


def _cli(*args: str | Path) -> dict[str, object]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    doc: dict[str, object] = json.loads(result.stdout)
    return doc


async def _submit(node: Node, id_numbers: list[str], court: str = "川0104") -> None:
    for id_number in id_numbers:  # one commit each
        draft = listing(id_number=id_number, court=court, case=f"（2024）{court}执1234号")
        request = admin_pb2.SubmitRequest(drafts=[draft], actor="法官王五")
        await admin(node).Submit(request, timeout=30)


async def _vector(node: Node) -> dict[str, int]:
    return dict(await node.parts.db.read(node.parts.db.store.vector))


async def test_backup_of_a_running_node_restores_on_a_fresh_home(
    federation: Federation, tmp_path: Path
) -> None:
    ids = valid_ids(7)
    a = await federation.start(A)
    b = await federation.start(B)
    await federation.link(A, B)
    await _submit(a, ids[:4])
    await _submit(b, ids[4:5], court="渝0101")

    async def a_holds(size_a: int, size_b: int) -> bool:
        return await _vector(a) == {A: size_a, B: size_b}

    await eventually(lambda: a_holds(4, 1))
    home = a.config.home
    assert (home / "ccnode.db-wal").stat().st_size > 0  # the newest commits are in the WAL
    out = tmp_path / "chengdu-backup.db"
    doc = await asyncio.to_thread(_cli, "backup", "--home", home, "--out", out, "--json")
    assert (doc["entries"], doc["origins"]) == (5, 2)
    assert doc["bytes"] == out.stat().st_size

    await _submit(a, ids[5:7])  # after the copy: only B will hold them

    async def b_holds_a(size: int) -> bool:
        return (await _vector(b)).get(A) == size

    await eventually(lambda: b_holds_a(6))
    await federation.stop(A)

    # The restore: a fresh home with the node's certificates, the backup as its store.
    fresh = tmp_path / "fresh"
    init_home(
        fresh,
        node_id=A,
        listen="127.0.0.1:0",
        certs=home / "certs",
        trust_domain=TRUST_DOMAIN,
        court_prefixes=PREFIXES[A],
    )
    shutil.copyfile(out, fresh / "ccnode.db")
    restored = Node(NodeConfig.load(fresh))
    await restored.start()
    federation.nodes[A] = restored  # stopped with the federation
    await asyncio.wait_for(restored.recovered(), timeout=30)  # own-log recovery from B
    assert await _vector(restored) == {A: 6, B: 1}

    verified = await admin(restored).Verify(admin_pb2.VerifyRequest(), timeout=30)
    assert verified.ok and list(verified.problems) == []
    assert dict(verified.verified_sizes) == {A: 6, B: 1}
    cli_verify = await asyncio.to_thread(_cli, "audit", "verify", "--home", fresh, "--json")
    assert cli_verify["ok"] is True
