"""``ccnode peers add | list | remove`` against the fake Admin service."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from ccnode.v1 import admin_pb2
from cli.common.offline import offline_store
from node.store.base import PeerRecord
from tests.cli.support import FakeAdmin, fails, ok


def _status(
    node_id: str, address: str, court_prefixes: list[str] | None = None, **kwargs: object
) -> admin_pb2.PeerStatus:
    return admin_pb2.PeerStatus(
        peer=admin_pb2.Peer(node_id=node_id, address=address, court_prefixes=court_prefixes),
        **kwargs,  # type: ignore[arg-type]
    )


def test_add_sends_the_peer(home: Path, fake: FakeAdmin) -> None:
    result = ok("peers", "add", "--home", home, "chongqing", "127.0.0.1:7002")
    (request,) = fake.received("AddPeer")
    assert request.peer.node_id == "chongqing"
    assert request.peer.address == "127.0.0.1:7002"
    assert "added peer chongqing at 127.0.0.1:7002" in result.stdout


def test_add_force_allows_a_peer_that_does_not_answer(home: Path, fake: FakeAdmin) -> None:
    ok("peers", "add", "--home", home, "chongqing", "127.0.0.1:7002")
    ok("peers", "add", "--home", home, "chongqing", "127.0.0.1:7002", "--force")
    checked, forced = fake.received("AddPeer")
    assert (checked.allow_unreachable, forced.allow_unreachable) == (False, True)


def test_add_sends_the_court_prefixes_the_peer_serves(home: Path, fake: FakeAdmin) -> None:
    args = ["peers", "add", "--home", home, "chongqing", "127.0.0.1:7002"]
    result = ok(*args, "--court-prefix", "渝01", "--court-prefix", "渝02")
    (request,) = fake.received("AddPeer")
    assert list(request.peer.court_prefixes) == ["渝01", "渝02"]
    assert "serving 渝01, 渝02" in result.stdout
    result = fails(2, *args, "--court-prefix", "01")
    assert "court code prefix" in result.stderr
    assert len(fake.received("AddPeer")) == 1


def test_add_refuses_a_bad_address_locally(home: Path, fake: FakeAdmin) -> None:
    result = fails(2, "peers", "add", "--home", home, "chongqing", "127.0.0.1")
    assert "HOST:PORT" in result.stderr
    result = fails(2, "peers", "add", "--home", home, "Chong Qing", "127.0.0.1:1")
    assert "PEER_ID" in result.stderr
    assert fake.requests == []


def test_list_json_shape(home: Path, fake: FakeAdmin) -> None:
    fake.responses["ListPeers"] = admin_pb2.ListPeersResponse(
        peers=[
            _status(
                "chongqing",
                "127.0.0.1:7002",
                court_prefixes=["渝01"],
                connected=True,
                last_contact_unix_ms=1_700_000_000_000,
                peer_sizes={"chongqing": 12, "chengdu": 3},
                lag={"chongqing": 2},
            )
        ]
    )
    doc = json.loads(ok("peers", "list", "--home", home, "--json").stdout)
    assert doc == {
        "peers": [
            {
                "node_id": "chongqing",
                "address": "127.0.0.1:7002",
                "court_prefixes": ["渝01"],
                "connected": True,
                "last_error": "",
                "last_contact_unix_ms": 1_700_000_000_000,
                "peer_sizes": {"chengdu": 3, "chongqing": 12},
                "lag": {"chongqing": 2},
            }
        ]
    }


def test_list_table(home: Path, fake: FakeAdmin) -> None:
    fake.responses["ListPeers"] = admin_pb2.ListPeersResponse(
        peers=[_status("chongqing", "127.0.0.1:7002", last_error="handshake refused: revoked")]
    )
    out = ok("peers", "list", "--home", home).stdout
    assert "chongqing" in out and "127.0.0.1:7002" in out
    assert "handshake refused: revoked" in out
    assert "peer 节点" in out


def test_list_without_peers(home: Path, fake: FakeAdmin) -> None:
    assert "no peers" in ok("peers", "list", "--home", home).stdout


def test_remove(home: Path, fake: FakeAdmin) -> None:
    fake.responses["RemovePeer"] = admin_pb2.RemovePeerResponse(removed=True)
    assert "removed peer chongqing" in ok("peers", "remove", "--home", home, "chongqing").stdout
    assert fake.received("RemovePeer")[0].node_id == "chongqing"


def test_remove_unknown_peer_fails(home: Path, fake: FakeAdmin) -> None:
    result = fails(1, "peers", "remove", "--home", home, "xian", "--json")
    assert json.loads(result.stdout) == {"removed": False, "node_id": "xian"}
    assert "no peer xian" in result.stderr


# ---------------------------------------------------------------- the node stopped


def test_add_list_remove_with_the_node_stopped_use_its_store(home: Path) -> None:
    # No socket: the node is not running (an admin configures it before its first start).
    result = ok(
        "peers", "add", "--home", home, "chongqing", "127.0.0.1:7002", "--court-prefix", "渝01"
    )
    assert "added peer chongqing at 127.0.0.1:7002 serving 渝01" in result.stdout
    assert "node is not running: peer saved; it is used when the node starts" in result.stdout
    with offline_store(home) as (_config, store):
        assert store.peers() == [PeerRecord("chongqing", "127.0.0.1:7002", ("渝01",))]

    doc = json.loads(ok("peers", "list", "--home", home, "--json").stdout)
    (peer,) = doc["peers"]
    assert (peer["node_id"], peer["address"], peer["court_prefixes"]) == (
        "chongqing",
        "127.0.0.1:7002",
        ["渝01"],
    )
    assert peer["connected"] is False
    assert "node is not running" in ok("peers", "list", "--home", home).stdout

    doc = json.loads(ok("peers", "remove", "--home", home, "chongqing", "--json").stdout)
    assert doc == {"removed": True, "node_id": "chongqing"}
    with offline_store(home) as (_config, store):
        assert store.peers() == []
    assert "no peer chongqing" in fails(1, "peers", "remove", "--home", home, "chongqing").stderr


def test_add_with_the_node_stopped_refuses_the_node_itself(home: Path) -> None:
    result = fails(3, "peers", "add", "--home", home, "chengdu", "127.0.0.1:7002")
    said = "对端节点编号（PEER_ID）：不得是本节点自身（chengdu）"
    assert f"{said} / peer_id: a node cannot peer with itself" in result.stderr
    assert result.stderr.rstrip().endswith("[rule: self]")
    assert not (home / "ccnode.db").exists()


def test_a_node_holding_its_home_lock_is_not_written_offline(home: Path) -> None:
    # The lock held without a socket: a node starting up. Its store is left alone.
    fd = os.open(home / "serve.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = fails(4, "peers", "add", "--home", home, "chongqing", "127.0.0.1:7002")
    finally:
        os.close(fd)
    assert "does not answer yet" in result.stderr
    assert not (home / "ccnode.db").exists()
