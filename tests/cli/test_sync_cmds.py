"""``ccnode sync status`` against the fake Admin service."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from ccnode.v1 import admin_pb2
from tests.cli.support import FakeAdmin, ok

ROOT = bytes(range(32))
NOTE = (
    f"chengyu.court/chengdu\n7\n{base64.b64encode(ROOT).decode()}\n\n— chengyu.court/chengdu AAAA\n"
)
VKEY = "chengyu.court/chengdu+01234567+AQ=="


def _response() -> admin_pb2.SyncStatusResponse:
    return admin_pb2.SyncStatusResponse(
        node_id="chengdu",
        vkey=VKEY,
        origins=[
            admin_pb2.OriginStatus(origin="chongqing", size=3, root=bytes(32), checkpoint=""),
            admin_pb2.OriginStatus(
                origin="chengdu", size=7, root=ROOT, checkpoint=NOTE, cosigned_by=["chongqing"]
            ),
        ],
        peers=[
            admin_pb2.PeerStatus(
                peer=admin_pb2.Peer(node_id="chongqing", address="127.0.0.1:7002"),
                connected=True,
                lag={"chongqing": 4},
            )
        ],
        evidence_count=0,
        refusal_count=2,
    )


def test_status_json_shape(home: Path, fake: FakeAdmin) -> None:
    fake.responses["SyncStatus"] = _response()
    doc = json.loads(ok("sync", "status", "--home", home, "--json").stdout)
    assert {"node_id", "vkey", "origins", "peers"} <= set(doc)
    assert doc["node_id"] == "chengdu"
    assert doc["vkey"] == VKEY
    assert list(doc["origins"]) == ["chengdu", "chongqing"]
    chengdu = doc["origins"]["chengdu"]
    assert {"size", "root", "checkpoint"} <= set(chengdu)
    assert chengdu["size"] == 7
    assert base64.b64decode(chengdu["root"]) == ROOT  # as in the checkpoint's root line
    assert chengdu["checkpoint"] == NOTE
    assert chengdu["cosigned_by"] == ["chongqing"]
    (peer,) = doc["peers"]
    assert peer["node_id"] == "chongqing"
    assert peer["lag"] == {"chongqing": 4}


def test_status_human(home: Path, fake: FakeAdmin) -> None:
    fake.responses["SyncStatus"] = _response()
    out = ok("sync", "status", "--home", home).stdout
    assert VKEY in out
    assert "chengyu.court/chengdu" in out  # the checkpoint note is shown
    assert "lag 滞后 chongqing" in out
    origin_rows = [
        [cell.strip() for cell in line.strip("│").split("│")]
        for line in out.splitlines()
        if line.startswith("│ chongqing") and "127.0.0.1" not in line
    ]
    # chongqing's origin row: size 3, and 4 entries behind peer chongqing.
    assert [(row[1], row[-1]) for row in origin_rows] == [("3", "4")]
    assert "refused connections 拒绝连接: 2" in out
