"""Bundles and proofs from a local home (node down), verified with the CA certificate alone;
and the errors an auditor meets: wrong options, unreachable nodes, wrong CA files."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from cli.audit.crosscheck import Target, _home_targets, parse_target
from node.config import NodeConfig
from node.identity.ca import init_ca, issue_auditor
from node.store import open_store
from node.store.base import PeerRecord
from tests.cli.audithome import audit_home, make_ca
from tests.cli.support import fails, ok


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_ca(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def config(tmp_path: Path, ca: Path) -> NodeConfig:
    return audit_home(tmp_path, ca)


def _json(*args: str | Path, exit_code: int = 0) -> dict[str, Any]:
    result = ok(*args) if exit_code == 0 else fails(exit_code, *args)
    doc = json.loads(result.stdout)
    assert isinstance(doc, dict)
    return doc


def test_both_logs_export_and_verify(config: NodeConfig, ca: Path, tmp_path: Path) -> None:
    for origin, size in (("chengdu", 7), ("chongqing", 5)):
        out = tmp_path / f"{origin}.bundle"
        doc = _json("audit", "export", "--home", config.home, "--origin", origin, "--out", out,
                    "--json")  # fmt: skip
        assert (doc["ok"], doc["verified_size"], doc["checkpoints"]) == (True, size, size)
        checked = _json("audit", "verify-bundle", out, "--ca", ca / "ca.pem", "--json")
        assert checked["ok"] and checked["entries"] == size
        assert checked["cosignatures"] == ({"chongqing": 1} if origin == "chengdu" else {})
    # Exporting left nothing behind but the bundles.
    assert sorted(p.name for p in tmp_path.glob("*.bundle*")) == [
        "chengdu.bundle",
        "chongqing.bundle",
    ]


def test_a_flipped_byte_in_a_bundle_names_the_line(
    config: NodeConfig, ca: Path, tmp_path: Path
) -> None:
    out = tmp_path / "b.bundle"
    ok("audit", "export", "--home", config.home, "--origin", "chongqing", "--out", out)
    data = bytearray(out.read_bytes())
    position = data.index(b'"index":3,')
    line = data[:position].count(b"\n") + 1
    start = data.rindex(b"\n", 0, position) + 1  # keys are sorted: "header" precedes "index"
    data[data.index(b'"header":"', start) + 30] ^= 0x01
    out.write_bytes(bytes(data))
    doc = _json("audit", "verify-bundle", out, "--ca", ca / "ca.pem", "--json", exit_code=1)
    first = doc["problems"][0]
    assert (first["line"], first["index"]) == (line, 3)
    assert first["reason"].startswith("entry 3:")
    human = fails(1, "audit", "verify-bundle", out, "--ca", ca / "ca.pem").stdout
    assert "FAILED 校验失败" in human and "行 line" in human


def test_an_entry_proof_from_a_home(config: NodeConfig, ca: Path, tmp_path: Path) -> None:
    proof = tmp_path / "e.tlog-proof"
    doc = _json("audit", "prove", "chongqing/4", "--home", config.home, "--out", proof, "--json")
    assert (doc["ok"], doc["entry"], doc["size"]) == (True, "chongqing/4", 5)
    assert Path(doc["certificates_file"]).exists()
    checked = _json("audit", "verify-proof", proof, "--ca", ca / "ca.pem", "--json")
    assert checked["ok"] is True
    assert "OK 校验通过" in ok("audit", "verify-proof", proof, "--ca", ca / "ca.pem").stdout
    certs = proof.with_name(proof.name + ".certs.pem")
    certs.write_text(certs.read_text() + "junk\n")
    assert "besides PEM blocks" in fails(1, "audit", "verify-proof", proof, "--ca",
                                         ca / "ca.pem").stderr  # fmt: skip


@pytest.mark.parametrize("entry", ["chongqing", "chongqing/01", "Chongqing/1"])
def test_a_bad_entry_id_is_a_usage_error(config: NodeConfig, entry: str, tmp_path: Path) -> None:
    result = fails(2, "audit", "prove", entry, "--home", config.home, "--out", tmp_path / "p")
    assert "entry id" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give exactly one of --home or --node"),
        (("--node", "127.0.0.1:1"), "--node needs --cert"),
    ],
)
def test_source_options_are_checked(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = fails(2, "audit", "export", "--origin", "x", "--out", tmp_path / "o", *args)
    assert message in result.stderr


def test_an_unreachable_node_is_one_clear_line(ca: Path, tmp_path: Path) -> None:
    auditor = tmp_path / "auditor"
    issue_auditor(ca, "npc", auditor)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = fails(4, "audit", "log", "--node", f"127.0.0.1:{port}", "--cert", auditor)
    assert "TLS handshake failed" in result.stderr
    result = fails(4, "audit", "crosscheck", "--node", f"chengdu@127.0.0.1:{port}",
                   "--node", f"127.0.0.1:{port}", "--cert", auditor)  # fmt: skip
    # Each node that could not be reached is named, with why.
    assert "no node could be reached" in result.stderr
    assert f"node chengdu (127.0.0.1:{port}): unreachable" in result.stderr
    assert f"127.0.0.1:{port}: TLS handshake failed" in result.stderr


def test_verify_bundle_needs_a_ca_file(config: NodeConfig, ca: Path, tmp_path: Path) -> None:
    out = tmp_path / "b.bundle"
    ok("audit", "export", "--home", config.home, "--origin", "chengdu", "--out", out)
    not_a_ca = ca.parent / "chengdu" / "log.pem"
    assert "not a CA" in fails(1, "audit", "verify-bundle", out, "--ca", not_a_ca).stderr
    other = tmp_path / "other"
    init_ca(other, "chengyu.court")
    doc = _json("audit", "verify-bundle", out, "--ca", other / "ca.pem", "--json", exit_code=1)
    assert doc["verified_size"] == 0
    assert any("not issued by the CA" in p["reason"] for p in doc["problems"])


def test_verify_evidence_refuses_a_non_evidence_file(ca: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "e.json"
    bogus.write_text("{}")
    doc = _json("audit", "verify-evidence", bogus, "--ca", ca / "ca.pem", "--json", exit_code=1)
    assert doc["ok"] is False and "exactly" in doc["reason"]
    human = fails(1, "audit", "verify-evidence", bogus, "--ca", ca / "ca.pem").stdout
    assert "NOT PROVEN 证据不成立" in human


def test_the_existing_verify_command_is_unchanged(config: NodeConfig) -> None:
    doc = _json("audit", "verify", "--home", config.home, "--json")
    assert doc["ok"] is True
    assert doc["verified_sizes"] == {"chengdu": 7, "chongqing": 5}


def test_crosscheck_from_a_home_asks_the_node_and_its_peers(config: NodeConfig) -> None:
    store = open_store(config.db_url)
    try:
        store.put_peer(PeerRecord("chongqing", "10.0.0.2:7001"))
    finally:
        store.close()
    targets, certs = _home_targets(config.home)
    assert targets == [
        Target("127.0.0.1:7001", "chengdu"),
        Target("10.0.0.2:7001", "chongqing"),
    ]
    assert certs == config.certs_dir
    assert parse_target("chongqing@10.0.0.2:7001") == Target("10.0.0.2:7001", "chongqing")
    assert parse_target("10.0.0.2:7001") == Target("10.0.0.2:7001", None)
