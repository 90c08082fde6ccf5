"""Adding a peer to a running node checks who serves its address; a link that reconnects
shows no stale error."""

from __future__ import annotations

import socket

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from ccnode.v1 import admin_pb2
from node.runtime.node import Node
from node.store.base import PeerRecord
from tests.integration.harness import Federation, admin, eventually


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _add(node: Node, node_id: str, address: str, *, allow_unreachable: bool = False) -> None:
    await admin(node).AddPeer(
        admin_pb2.AddPeerRequest(
            peer=admin_pb2.Peer(node_id=node_id, address=address),
            allow_unreachable=allow_unreachable,
        ),
        timeout=10,
    )


def _field_and_rule(err: grpc.aio.AioRpcError) -> tuple[str, str]:
    """The refusal's field and rule, from the status details the node attaches."""
    (details,) = [v for k, v in err.trailing_metadata() or () if k == "grpc-status-details-bin"]
    assert isinstance(details, bytes)
    status = status_pb2.Status.FromString(details)
    bad_request, info = error_details_pb2.BadRequest(), error_details_pb2.ErrorInfo()
    for detail in status.details:
        if detail.Is(bad_request.DESCRIPTOR):
            detail.Unpack(bad_request)
        elif detail.Is(info.DESCRIPTOR):
            detail.Unpack(info)
    return bad_request.field_violations[0].field, info.reason


async def _peers(node: Node) -> list[PeerRecord]:
    return await node.parts.db.read(node.parts.db.store.peers)


async def test_an_address_serving_another_node_is_refused_naming_it(
    federation: Federation,
) -> None:
    a = await federation.start("chengdu")
    chongqing = await federation.start("chongqing")
    address = f"127.0.0.1:{chongqing.port}"
    for allow_unreachable in (False, True):  # not a peer that is down: a wrong address
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _add(a, "deyang", address, allow_unreachable=allow_unreachable)
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        # Chinese first (the field as `peers add` names it), then the English sentence.
        assert err.value.details() == (
            f"对端地址（HOST:PORT）：{address} 上运行的是节点 chongqing，不是 deyang"
            f" / address: {address} serves node chongqing, not deyang"
        )
        assert _field_and_rule(err.value) == ("address", "identity")
    assert await _peers(a) == []
    assert a.parts.links.status("deyang") is None

    await _add(a, "chongqing", address)  # the node that is there
    assert await _peers(a) == [PeerRecord("chongqing", address)]


async def test_an_address_nobody_serves_is_refused_unless_allowed(
    federation: Federation,
) -> None:
    a = await federation.start("chengdu")
    address = f"127.0.0.1:{_free_port()}"
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await _add(a, "deyang", address)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    zh, _, english = err.value.details().partition(" / ")
    assert zh.startswith(f"对端地址（HOST:PORT）：无法连接 {address} 上的节点 deyang（")
    assert "--force" in zh
    assert english.startswith(f"address: cannot reach deyang at {address} (")
    assert "refused" in english.lower()
    assert await _peers(a) == []

    await _add(a, "deyang", address, allow_unreachable=True)  # a peer that is down
    assert await _peers(a) == [PeerRecord("deyang", address)]


async def test_a_link_that_reconnects_shows_no_stale_error(federation: Federation) -> None:
    port = _free_port()
    config = federation.home("chongqing")
    config.model_copy(update={"listen": f"127.0.0.1:{port}"}).save()
    a = await federation.start("chengdu")
    await _add(a, "chongqing", f"127.0.0.1:{port}", allow_unreachable=True)

    async def failed() -> bool:
        status = a.parts.links.status("chongqing")
        return status is not None and bool(status.last_error) and not status.connected

    await eventually(failed, timeout_s=10)

    await federation.start("chongqing")

    async def connected() -> bool:
        status = a.parts.links.status("chongqing")
        return status is not None and status.connected

    await eventually(connected, timeout_s=30)
    status = a.parts.links.status("chongqing")
    assert status is not None and status.connected
    assert status.last_error == ""
