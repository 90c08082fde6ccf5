"""``ccnode audit verify``: through the node's Verify RPC, and straight from the store when
the node is down (a SQLite store in a home made by ``ccnode init``)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ccnode.v1 import admin_pb2
from node.config import NodeConfig
from node.identity.ca import init_ca, issue_node
from node.identity.keyfiles import load_certificate, load_log_signing_key
from node.store import open_store
from sync.checkpoint import origin_line
from sync.note import Ed25519Signer
from tests.cli.logs import append_log
from tests.cli.support import FakeAdmin, fails, ok

TD = "test.court"


# ---------------------------------------------------------------- through the node


def test_online_ok(home: Path, fake: FakeAdmin) -> None:
    fake.responses["Verify"] = admin_pb2.VerifyResponse(
        ok=True, verified_sizes={"chengdu": 5, "chongqing": 2}
    )
    result = ok("audit", "verify", "--home", home, "--origin", "chengdu", "--json")
    assert list(fake.received("Verify")[0].origins) == ["chengdu"]
    assert json.loads(result.stdout) == {
        "ok": True,
        "source": "node",
        "verified_sizes": {"chengdu": 5, "chongqing": 2},
        "problems": [],
        "unsigned": [],
        "notes": [],
    }
    assert "OK 校验通过" in ok("audit", "verify", "--home", home).stdout


def test_online_problems_exit_1(home: Path, fake: FakeAdmin) -> None:
    fake.responses["Verify"] = admin_pb2.VerifyResponse(
        ok=False,
        verified_sizes={"chengdu": 3},
        problems=[admin_pb2.VerifyProblem(origin="chengdu", index=3, reason="payload: digest")],
    )
    doc = json.loads(fails(1, "audit", "verify", "--home", home, "--json").stdout)
    assert doc["ok"] is False
    assert doc["problems"] == [{"origin": "chengdu", "index": 3, "reason": "payload: digest"}]
    out = fails(1, "audit", "verify", "--home", home).stdout
    assert "payload: digest" in out and "FAILED" in out


# ---------------------------------------------------------------- straight from the store


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ca_dir = tmp_path_factory.mktemp("pki") / "ca"
    init_ca(ca_dir, TD)
    for node_id in ("chengdu", "chongqing"):
        issue_node(ca_dir, node_id, ca_dir.parent / node_id)
    return ca_dir


def _signer(certs: Path, node_id: str) -> Ed25519Signer:
    key = load_log_signing_key(certs / "log.key")
    return Ed25519Signer(origin_line(TD, node_id), key)


@pytest.fixture
def node_home(tmp_path: Path, ca: Path) -> NodeConfig:
    home = tmp_path / "home"
    ok("init", "--home", home, "--node-id", "chengdu", "--listen", "127.0.0.1:7001",
       "--certs", ca.parent / "chengdu")  # fmt: skip
    config = NodeConfig.load(home)
    store = open_store(config.db_url)
    try:
        append_log(store, _signer(config.certs_dir, "chengdu"))
    finally:
        store.close()
    return config


def _offline(config: NodeConfig, *extra: str, exit_code: int = 0) -> dict[str, object]:
    args: list[str | Path] = ["audit", "verify", "--home", config.home, "--json", *extra]
    result = ok(*args) if exit_code == 0 else fails(exit_code, *args)
    doc = json.loads(result.stdout)
    assert isinstance(doc, dict)
    return doc


def test_offline_when_the_node_is_down(node_home: NodeConfig) -> None:
    doc = _offline(node_home)
    assert doc["source"] == "store"
    assert doc["ok"] is True
    assert doc["verified_sizes"] == {"chengdu": 5}
    assert doc["unsigned"] == []  # the node's own log key comes from HOME/certs/log.pem
    human = ok("audit", "verify", "--home", node_home.home)
    assert "node not running: verifying the store directly" in human.stderr
    assert "checked 已验证" in human.stdout


def test_offline_uses_learned_origin_keys(node_home: NodeConfig, ca: Path) -> None:
    chongqing_certs = ca.parent / "chongqing"
    store = open_store(node_home.db_url)
    try:
        append_log(store, _signer(chongqing_certs, "chongqing"), (2, 4))
        assert _offline(node_home, "--offline")["unsigned"] == ["chongqing"]
        der = load_certificate(chongqing_certs / "log.pem").public_bytes(serialization.Encoding.DER)
        store.put_origin_key("chongqing", der)
    finally:
        store.close()
    doc = _offline(node_home)
    assert (doc["ok"], doc["unsigned"]) == (True, [])
    assert doc["verified_sizes"] == {"chengdu": 5, "chongqing": 4}


def test_offline_finds_a_forged_log(node_home: NodeConfig, ca: Path) -> None:
    # A chongqing log signed by some other key, while the store knows chongqing's real key.
    forger = Ed25519Signer(origin_line(TD, "chongqing"), Ed25519PrivateKey.generate())
    store = open_store(node_home.db_url)
    try:
        append_log(
            store,
            forger,
            (2,),
            tamper={1: lambda e: dataclasses.replace(e, salt=bytes(16))},
        )
        der = load_certificate(ca.parent / "chongqing" / "log.pem").public_bytes(
            serialization.Encoding.DER
        )
        store.put_origin_key("chongqing", der)
    finally:
        store.close()
    doc = _offline(node_home, exit_code=1)
    problems = doc["problems"]
    assert isinstance(problems, list)
    assert [(p["origin"], p["index"]) for p in problems] == [("chongqing", 1), ("chongqing", 1)]
    assert problems[0]["reason"] == "payload: digest differs from the header"
    assert problems[1]["reason"].startswith("checkpoint at size 2: signature:")
    out = fails(1, "audit", "verify", "--home", node_home.home).stdout
    assert "FAILED 校验失败" in out and "chongqing" in out


def test_offline_without_a_store(tmp_path: Path, ca: Path) -> None:
    home = tmp_path / "home"
    ok("init", "--home", home, "--node-id", "chengdu", "--listen", "127.0.0.1:7001",
       "--certs", ca.parent / "chengdu")  # fmt: skip
    assert "holds no store yet" in fails(1, "audit", "verify", "--home", home).stderr
