"""``ccnode peers``: the nodes this node replicates with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ccnode.v1 import admin_pb2
from cli.common.client import load_config, node_client
from cli.common.errors import Refused
from cli.common.offline import node_runs, stopped_store
from cli.common.options import home_option, json_option
from cli.output import console, emit_json, print_table, table, unix_ms_iso, yes_no
from node.config import COURT_PREFIX_RE
from node.store.base import PeerRecord
from sync.domain.courts_cn import prefix_problem
from sync.domain.wording import joined
from sync.ids import NODE_ID, NODE_ID_RE


def _check_address(ctx: click.Context, param: click.Parameter, value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter("must be HOST:PORT with a port in 1..65535")
    return value


def _check_peer_id(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not NODE_ID_RE.fullmatch(value):
        raise click.BadParameter(f"must match {NODE_ID}")
    return value


def _check_prefixes(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> tuple[str, ...]:
    for prefix in value:
        if not COURT_PREFIX_RE.fullmatch(prefix):
            raise click.BadParameter("must be a court code prefix like 川01 or 渝")
        if (problem := prefix_problem(prefix)) is not None:
            raise click.BadParameter(problem)
    return value


def peer_doc(status: admin_pb2.PeerStatus) -> dict[str, Any]:
    return {
        "node_id": status.peer.node_id,
        "address": status.peer.address,
        "court_prefixes": list(status.peer.court_prefixes),
        "connected": status.connected,
        "last_error": status.last_error,
        "last_contact_unix_ms": status.last_contact_unix_ms,
        "peer_sizes": dict(sorted(status.peer_sizes.items())),
        "lag": dict(sorted(status.lag.items())),
    }


def lag_text(lag: dict[str, int]) -> str:
    behind = {origin: n for origin, n in lag.items() if n}
    if not behind:
        return "0"
    return ", ".join(f"{origin} {n}" for origin, n in behind.items())


STOPPED_NOTE = "node is not running: peer saved; it is used when the node starts"


def _offline_doc(peer: PeerRecord) -> dict[str, Any]:
    return peer_doc(
        admin_pb2.PeerStatus(
            peer=admin_pb2.Peer(
                node_id=peer.node_id, address=peer.address, court_prefixes=peer.court_prefixes
            )
        )
    )


@click.group("peers")
def peers() -> None:
    """Peers this node replicates with (over mutual TLS)."""


@peers.command("add")
@home_option
@click.argument("peer_id", callback=_check_peer_id)
@click.argument("address", metavar="HOST:PORT", callback=_check_address)
@click.option(
    "--court-prefix",
    "court_prefixes",
    multiple=True,
    callback=_check_prefixes,
    help="A court code prefix the peer serves, e.g. 川01 (repeatable): asset lookups from "
    "the peer may cite cases of these courts only. Re-adding a peer replaces them.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Add the peer even if its address does not answer now (it may be down). An address "
    "that serves another node is refused all the same.",
)
@json_option
def add(
    home: Path,
    peer_id: str,
    address: str,
    court_prefixes: tuple[str, ...],
    force: bool,
    as_json: bool,
) -> None:
    """Add (or re-address) peer PEER_ID at HOST:PORT. A running node first checks that
    PEER_ID answers there. With the node stopped (or never started) the peer is saved in its
    store, unchecked, and used when the node starts."""
    running = node_runs(home)
    if running:
        peer = admin_pb2.Peer(node_id=peer_id, address=address, court_prefixes=court_prefixes)
        with node_client(home) as client:
            client.call(
                client.admin.AddPeer,
                admin_pb2.AddPeerRequest(peer=peer, allow_unreachable=force),
                admin_pb2.AddPeerResponse,
            )
    else:
        if peer_id == load_config(home).node_id:
            # Worded as the running node words it (node/services/admin.py AddPeer).
            said = joined(
                "peer_id", f"不得是本节点自身（{peer_id}）", "a node cannot peer with itself"
            )
            raise Refused(f"{said} [rule: self]")
        with stopped_store(home) as store:
            store.put_peer(PeerRecord(peer_id, address, court_prefixes))
    if as_json:
        doc = {"node_id": peer_id, "address": address, "court_prefixes": list(court_prefixes)}
        emit_json({"added": doc, "node_running": running})
        return
    courts = f" serving {', '.join(court_prefixes)}" if court_prefixes else ""
    console().print(f"added peer {peer_id} at {address}{courts}")
    if not running:
        console().print(STOPPED_NOTE)


@peers.command("list")
@home_option
@json_option
def list_(home: Path, as_json: bool) -> None:
    """Peers, whether they are connected, and how far behind them this node is. With the
    node stopped: the peers it will use when it starts (none connected)."""
    running = node_runs(home)
    if running:
        with node_client(home) as client:
            response = client.call(
                client.admin.ListPeers, admin_pb2.ListPeersRequest(), admin_pb2.ListPeersResponse
            )
        docs = [peer_doc(p) for p in response.peers]
    else:
        with stopped_store(home) as store:
            docs = [_offline_doc(p) for p in store.peers()]
    if as_json:
        emit_json({"peers": docs})
        return
    if not running:
        console().print("node is not running: the peers it uses when it starts")
    if not docs:
        console().print("no peers; add one with `ccnode peers add`")
        return
    t = table(
        "peer 节点", "address 地址", "courts 法院", "connected 已连接", "last contact 最近联系",
        "lag 滞后", "last error 最近错误",
    )  # fmt: skip
    for doc in docs:
        t.add_row(
            doc["node_id"],
            doc["address"],
            ", ".join(doc["court_prefixes"]),
            yes_no(doc["connected"]),
            unix_ms_iso(doc["last_contact_unix_ms"]),
            lag_text(doc["lag"]),
            doc["last_error"],
        )
    print_table(t)


@peers.command("remove")
@home_option
@click.argument("peer_id")
@json_option
def remove(home: Path, peer_id: str, as_json: bool) -> None:
    """Stop replicating with PEER_ID and forget it (with the node stopped: forget it)."""
    if node_runs(home):
        with node_client(home) as client:
            response = client.call(
                client.admin.RemovePeer,
                admin_pb2.RemovePeerRequest(node_id=peer_id),
                admin_pb2.RemovePeerResponse,
            )
        removed = response.removed
    else:
        with stopped_store(home) as store:
            removed = store.remove_peer(peer_id)
    if as_json:
        emit_json({"removed": removed, "node_id": peer_id})
    if not removed:
        raise click.ClickException(f"no peer {peer_id}")
    if not as_json:
        console().print(f"removed peer {peer_id}")
