"""Bundles and proofs end to end: an auditor exports a log from a remote node and verifies it
offline with the CA certificate alone; a changed byte or a deleted entry in a node's store is
found and named; a single entry's tlog-proof verifies and a tampered one fails."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from node.runtime.node import Node
from tests.integration.auditkit import (
    access_records,
    address,
    cli_fails,
    cli_ok,
    issue_auditor,
    json_of,
    submit_listings,
)
from tests.integration.harness import Federation, eventually

pytestmark = pytest.mark.integration


async def _replicated(federation: Federation, count: int = 4) -> tuple[Node, Node]:
    """chengdu writes ``count`` listings (a checkpoint each); chongqing holds a copy."""
    a = await federation.start("chengdu")
    b = await federation.start("chongqing")
    await federation.link("chengdu", "chongqing")
    await submit_listings(a, count)

    async def copied() -> bool:
        state = await b.parts.db.read(b.parts.db.store.origin_state, "chengdu")
        cos = await a.parts.db.read(a.parts.db.store.cosignatures, "chengdu", count)
        return state is not None and state.size == count and bool(cos)

    await eventually(copied)
    return a, b


def _remote(node: Node, certs: Path) -> list[str | Path]:
    return ["--node", address(node), "--cert", certs]


def _db(node: Node) -> str:
    return str(node.config.home / "ccnode.db")


async def test_an_exported_bundle_verifies_offline(federation: Federation, tmp_path: Path) -> None:
    a, b = await _replicated(federation)
    auditor = issue_auditor(federation)
    out = tmp_path / "chengdu.bundle"
    # From the origin itself, whose checkpoints carry its witness's cosignature.
    doc = json_of(await cli_ok("audit", "export", "--origin", "chengdu", "--out", out,
                               *_remote(a, auditor), "--json"))  # fmt: skip
    assert (doc["ok"], doc["entries"], doc["verified_size"]) == (True, 4, 4)
    assert doc["payloads_checked"] == 0  # headers only unless --payloads
    ca = federation.ca / "ca.pem"  # nothing but the CA certificate
    checked = json_of(await cli_ok("audit", "verify-bundle", out, "--ca", ca, "--json"))
    assert checked["ok"] and checked["cosignatures"] == {"chongqing": 1}
    human = await cli_ok("audit", "verify-bundle", out, "--ca", ca)
    assert "OK 校验通过" in human.stdout
    # With payloads: public listings come along, and the read is recorded on chongqing.
    full = tmp_path / "full.bundle"
    doc = json_of(await cli_ok("audit", "export", "--origin", "chengdu", "--out", full,
                               "--payloads", "--purpose", "年度监督", *_remote(b, auditor),
                               "--json"))  # fmt: skip
    assert (doc["ok"], doc["payloads_checked"]) == (True, 4)
    assert [r.purpose for _, r in await access_records(b)] == ["年度监督"]


async def test_a_tampered_bundle_fails_with_position_and_reason(
    federation: Federation, tmp_path: Path
) -> None:
    _, b = await _replicated(federation)
    out = tmp_path / "chengdu.bundle"
    await cli_ok("audit", "export", "--origin", "chengdu", "--out", out,
                 *_remote(b, issue_auditor(federation)))  # fmt: skip
    lines = out.read_bytes().splitlines(keepends=True)
    entry_2 = next(i for i, line in enumerate(lines) if b'"index":2,' in line)
    # Where checkpoints fall between entries depends on the replica's batches: find entry 3.
    entry_3 = next(i for i, line in enumerate(lines) if b'"index":3,' in line)
    lines[entry_2], lines[entry_3] = lines[entry_3], lines[entry_2]  # swap 2 and 3
    out.write_bytes(b"".join(lines))
    doc = json_of(await cli_fails(1, "audit", "verify-bundle", out,
                                  "--ca", federation.ca / "ca.pem", "--json"))  # fmt: skip
    first = doc["problems"][0]
    assert (first["line"], first["index"]) == (entry_2 + 1, 2)
    assert "out of order" in first["reason"]
    human = await cli_fails(1, "audit", "verify-bundle", out, "--ca", federation.ca / "ca.pem")
    assert "FAILED 校验失败" in human.stdout and "out of order" in human.stdout


async def test_a_changed_byte_in_a_nodes_store_is_found(
    federation: Federation, tmp_path: Path
) -> None:
    _, b = await _replicated(federation)
    with sqlite3.connect(_db(b)) as conn:
        (header,) = conn.execute(
            "SELECT header FROM entries WHERE origin = 'chengdu' AND idx = 2"
        ).fetchone()
        damaged = bytearray(header)
        damaged[len(damaged) // 2] ^= 0x01
        conn.execute(
            "UPDATE entries SET header = ? WHERE origin = 'chengdu' AND idx = 2", (bytes(damaged),)
        )
    out = tmp_path / "chengdu.bundle"
    doc = json_of(await cli_fails(1, "audit", "export", "--origin", "chengdu", "--out", out,
                                  *_remote(b, issue_auditor(federation)), "--json"))  # fmt: skip
    assert out.exists()  # the evidence is kept
    assert doc["problems"][0]["index"] == 2
    assert "header bytes differ from the leaf hash" in doc["problems"][0]["reason"]
    # The replica's checkpoints are where its batches ended: at most up to entry 2.
    assert doc["verified_size"] <= 2
    again = json_of(await cli_fails(1, "audit", "verify-bundle", out,
                                    "--ca", federation.ca / "ca.pem", "--json"))  # fmt: skip
    assert again["problems"] == doc["problems"]


async def test_a_deleted_entry_in_a_nodes_store_is_found(
    federation: Federation, tmp_path: Path
) -> None:
    _, b = await _replicated(federation)
    with sqlite3.connect(_db(b)) as conn:
        conn.execute("DELETE FROM entries WHERE origin = 'chengdu' AND idx = 1")
    out = tmp_path / "chengdu.bundle"
    doc = json_of(await cli_fails(1, "audit", "export", "--origin", "chengdu", "--out", out,
                                  *_remote(b, issue_auditor(federation)), "--json"))  # fmt: skip
    first = doc["problems"][0]
    assert first["index"] == 1
    assert first["reason"].startswith("entry 1 expected here, the file has entry 2")
    assert doc["verified_size"] <= 1


async def test_an_entry_proof_verifies_offline(federation: Federation, tmp_path: Path) -> None:
    a, _ = await _replicated(federation)
    proof = tmp_path / "entry.tlog-proof"
    doc = json_of(await cli_ok("audit", "prove", "chengdu/2", "--out", proof,
                               *_remote(a, issue_auditor(federation)), "--json"))  # fmt: skip
    assert (doc["ok"], doc["entry"], doc["size"]) == (True, "chengdu/2", 4)
    text = proof.read_text()
    assert text.startswith("c2sp.org/tlog-proof@v1\nextra ") and "\nindex 2\n" in text
    ca = federation.ca / "ca.pem"
    checked = json_of(await cli_ok("audit", "verify-proof", proof, "--ca", ca, "--json"))
    assert checked["ok"] and checked["cosigned_by"] == ["chongqing"]
    proof.write_text(text.replace("\nindex 2\n", "\nindex 3\n"))
    bad = json_of(await cli_fails(1, "audit", "verify-proof", proof, "--ca", ca, "--json"))
    assert bad["reason"] == "the header's index differs from the proof's index"
    # Another CA's certificate cannot vouch for the log key.
    from node.identity.ca import init_ca

    other = tmp_path / "other-ca"
    init_ca(other, trust_domain="chengyu.court")
    proof.write_text(text)
    bad = json_of(await cli_fails(1, "audit", "verify-proof", proof,
                                  "--ca", other / "ca.pem", "--json"))  # fmt: skip
    assert bad["reason"] == "certificate: not issued by the CA"


async def test_local_home_export_needs_no_running_node(
    federation: Federation, tmp_path: Path
) -> None:
    a, _ = await _replicated(federation, count=2)
    home = a.config.home
    await federation.stop("chengdu")
    out = tmp_path / "own.bundle"
    doc = json_of(await cli_ok("audit", "export", "--origin", "chengdu", "--out", out,
                               "--home", home, "--json"))  # fmt: skip
    assert (doc["ok"], doc["verified_size"]) == (True, 2)
    # Payloads from a local store are a recorded read: refused while the node is down.
    reading = ["--payloads", "--purpose", "x", "--actor", "王五"]
    result = await cli_fails(4, "audit", "export", "--origin", "chengdu", "--out", out,
                             "--home", home, *reading)  # fmt: skip
    assert "not running" in result.stderr
