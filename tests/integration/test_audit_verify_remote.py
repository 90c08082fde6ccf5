"""``ccnode audit verify --node HOST:PORT --cert DIR``: an auditor verifies a remote node's logs
on its own machine, over the Audit service: every origin the node holds, checkpoints checked
against CA-certified log keys, and a changed stored byte found."""

from __future__ import annotations

import sqlite3

import pytest

from tests.integration.auditkit import (
    address,
    cli_fails,
    cli_ok,
    issue_auditor,
    json_of,
    own_entries,
    submit_listings,
)
from tests.integration.harness import Federation, eventually

pytestmark = pytest.mark.integration


async def test_an_auditor_verifies_every_log_a_remote_node_holds(federation: Federation) -> None:
    a = await federation.start("chengdu")
    b = await federation.start("chongqing")
    await federation.link("chengdu", "chongqing")
    await submit_listings(a, 40)
    size = len(await own_entries(a))

    async def replicated() -> bool:
        return b.parts.db.store.vector().get("chengdu", 0) == size

    await eventually(replicated)
    certs = issue_auditor(federation)
    remote = ["--node", address(b), "--cert", certs]
    doc = json_of(await cli_ok("audit", "verify", *remote, "--json"))
    assert doc["ok"] is True, doc
    assert doc["source"] == f"node chongqing ({address(b)})"
    assert doc["verified_sizes"]["chengdu"] == size
    assert doc["unsigned"] == []  # every origin's log key chains to the auditor's CA
    text = (await cli_ok("audit", "verify", *remote, "--origin", "chengdu")).stdout
    assert "OK 校验通过" in text and "this auditor, reading node chongqing" in text

    # A header byte changed in the store of the running node: the recomputed leaf no longer
    # matches, and no checkpoint from there on verifies.
    with sqlite3.connect(b.config.home / "ccnode.db") as conn:
        (header,) = conn.execute(
            "SELECT header FROM entries WHERE origin = 'chengdu' AND idx = 7"
        ).fetchone()
        changed = bytearray(header)
        changed[len(changed) // 2] ^= 0x01
        conn.execute(
            "UPDATE entries SET header = ? WHERE origin = 'chengdu' AND idx = 7", (bytes(changed),)
        )
    doc = json_of(await cli_fails(1, "audit", "verify", *remote, "--json"))
    assert doc["ok"] is False
    assert ("chengdu", 7) in {(p["origin"], p["index"]) for p in doc["problems"]}
    assert doc["verified_sizes"]["chengdu"] < 8


async def test_remote_verify_needs_cert_and_refuses_offline(federation: Federation) -> None:
    a = await federation.start("chengdu")
    result = await cli_fails(2, "audit", "verify", "--node", address(a))
    assert "--node needs --cert" in result.stderr
    certs = issue_auditor(federation)
    result = await cli_fails(
        2, "audit", "verify", "--node", address(a), "--cert", certs, "--offline"
    )
    assert "--offline reads a local store" in result.stderr
