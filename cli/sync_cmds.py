"""``ccnode sync``: replication status (the group is named ``sync`` on the command line)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ccnode.v1 import admin_pb2
from cli.common.client import node_client
from cli.common.options import home_option, json_option
from cli.output import b64, console, emit_json, print_table, short, table, yes_no
from cli.peers import lag_text, peer_doc


def origin_doc(origin: admin_pb2.OriginStatus) -> dict[str, Any]:
    return {
        "size": origin.size,
        "root": b64(origin.root),
        "checkpoint": origin.checkpoint,
        "frozen": origin.frozen,
        "frozen_reason": origin.frozen_reason,
        "cosigned_by": list(origin.cosigned_by),
    }


def status_doc(response: admin_pb2.SyncStatusResponse) -> dict[str, Any]:
    return {
        "node_id": response.node_id,
        "vkey": response.vkey,
        "origins": {o.origin: origin_doc(o) for o in sorted(response.origins, key=_origin)},
        "peers": [peer_doc(p) for p in response.peers],
        "evidence_count": response.evidence_count,
        "refusal_count": response.refusal_count,
    }


def _origin(origin: admin_pb2.OriginStatus) -> str:
    return origin.origin


@click.group("sync")
def sync_group() -> None:
    """Replication between this node and its peers."""


@sync_group.command("status")
@home_option
@json_option
def status(home: Path, as_json: bool) -> None:
    """Per origin: size, root, latest checkpoint, lag per peer; and this node's log vkey."""
    with node_client(home) as client:
        response = client.call(
            client.admin.SyncStatus, admin_pb2.SyncStatusRequest(), admin_pb2.SyncStatusResponse
        )
    doc = status_doc(response)
    if as_json:
        emit_json(doc)
        return
    peers = doc["peers"]
    t = table(
        "origin 来源", "size 条数", "root 根", "cosigned by 见证", "frozen 冻结",
        *(f"lag 滞后 {p['node_id']}" for p in peers),
        title=f"node {doc['node_id']}",
    )  # fmt: skip
    for origin, o in doc["origins"].items():
        frozen = f"yes 是: {o['frozen_reason']}" if o["frozen"] else "no 否"
        lags = [str(p["lag"].get(origin, 0)) for p in peers]
        t.add_row(
            origin, str(o["size"]), short(o["root"]), ", ".join(o["cosigned_by"]), frozen, *lags
        )
    print_table(t)
    out = console()
    if peers:
        p = table(
            "peer 节点", "address 地址", "connected 已连接", "lag 滞后", "last error 最近错误"
        )
        for peer in peers:
            p.add_row(
                peer["node_id"], peer["address"], yes_no(peer["connected"]),
                lag_text(peer["lag"]), peer["last_error"],
            )  # fmt: skip
        print_table(p)
    for origin, o in doc["origins"].items():
        if o["checkpoint"]:
            out.print(f"[bold]checkpoint 检查点 {origin}[/]", markup=True)
            out.print(o["checkpoint"].rstrip("\n"), markup=False)
    if doc["evidence_count"]:
        out.print(f"[red]equivocation evidence 分叉证据: {doc['evidence_count']}[/]", markup=True)
    if doc["refusal_count"]:
        out.print(f"refused connections 拒绝连接: {doc['refusal_count']}")
    out.print(f"vkey 验证公钥: {doc['vkey']}", markup=False)
