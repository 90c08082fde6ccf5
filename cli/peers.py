"""``ccnode peers``: the nodes this node replicates with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ccnode.v1 import admin_pb2
from cli.client import admin_client, home_option
from cli.output import console, emit_json, json_option, print_table, table, unix_ms_iso, yes_no
from node.config import COURT_PREFIX_RE
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
@json_option
def add(
    home: Path, peer_id: str, address: str, court_prefixes: tuple[str, ...], as_json: bool
) -> None:
    """Add (or re-address) peer PEER_ID at HOST:PORT."""
    peer = admin_pb2.Peer(node_id=peer_id, address=address, court_prefixes=court_prefixes)
    with admin_client(home) as client:
        client.AddPeer(admin_pb2.AddPeerRequest(peer=peer))
    if as_json:
        doc = {"node_id": peer_id, "address": address, "court_prefixes": list(court_prefixes)}
        emit_json({"added": doc})
        return
    courts = f" serving {', '.join(court_prefixes)}" if court_prefixes else ""
    console().print(f"added peer {peer_id} at {address}{courts}")


@peers.command("list")
@home_option
@json_option
def list_(home: Path, as_json: bool) -> None:
    """Peers, whether they are connected, and how far behind them this node is."""
    with admin_client(home) as client:
        response = client.ListPeers()
    docs = [peer_doc(p) for p in response.peers]
    if as_json:
        emit_json({"peers": docs})
        return
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
    """Stop replicating with PEER_ID and forget it."""
    with admin_client(home) as client:
        response = client.RemovePeer(admin_pb2.RemovePeerRequest(node_id=peer_id))
    if as_json:
        emit_json({"removed": response.removed, "node_id": peer_id})
    if not response.removed:
        raise click.ClickException(f"no peer {peer_id}")
    if not as_json:
        console().print(f"removed peer {peer_id}")
