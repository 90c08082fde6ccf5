"""Real nodes over mutual TLS on 127.0.0.1: replication, relaying, blacklist end to end."""

from __future__ import annotations

import grpc
import pytest

from ccnode.v1 import admin_pb2
from tests.integration.harness import Federation, admin, eventually, listing

pytestmark = pytest.mark.integration


async def test_listing_on_a_reaches_c_through_b(federation: Federation) -> None:
    for n in ("chengdu", "chongqing", "mianyang"):
        await federation.start(n)
    # Only chengdu–chongqing and chongqing–mianyang peer: mianyang learns chengdu via relay.
    await federation.link("chengdu", "chongqing")
    await federation.link("chongqing", "mianyang")
    a, c = federation.nodes["chengdu"], federation.nodes["mianyang"]
    reply = await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="法官王五"))
    assert reply.subjects == ["chengdu/bl/0"]

    async def found_on_c() -> bool:
        r = await admin(c).BlacklistSearch(
            admin_pb2.BlacklistSearchRequest(id_number="510104199003071237")
        )
        return len(r.items) == 1

    elapsed_s = await eventually(found_on_c, timeout_s=2.0)
    assert elapsed_s < 2.0
    hit = (
        await admin(c).BlacklistSearch(
            admin_pb2.BlacklistSearchRequest(id_number="510104199003071237")
        )
    ).items[0]
    assert hit.origin == "chengdu"
    assert hit.status == "listed"
    assert hit.record.debtor.id_number == "5101041990****1237"  # masked by default

    # Every node ends with the same vector and roots.
    async def converged() -> bool:
        views = []
        for node in federation.nodes.values():
            st = await admin(node).SyncStatus(admin_pb2.SyncStatusRequest())
            views.append(
                {
                    o.origin: (o.size, o.root)
                    for o in st.origins
                    if o.origin != node.config.node_id or True
                }
            )
        return all(v == views[0] for v in views)

    await eventually(converged, timeout_s=5.0)


async def test_invalid_listing_is_refused_and_nothing_is_appended(federation: Federation) -> None:
    a = await federation.start("chengdu")
    bad = listing(id_number="510104199003071238")  # wrong check character
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[listing(), bad], actor="法官王五"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "draft 1" in err.value.details() and "id_number" in err.value.details()
    assert "510104199003071238" not in err.value.details()
    st = await admin(a).Status(admin_pb2.StatusRequest())
    assert st.log_size == 0


async def test_peers_witness_each_others_checkpoints(federation: Federation) -> None:
    for n in ("chengdu", "chongqing"):
        await federation.start(n)
    await federation.link("chengdu", "chongqing")
    a = federation.nodes["chengdu"]
    await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="法官王五"))

    async def cosigned() -> bool:
        st = await admin(a).SyncStatus(admin_pb2.SyncStatusRequest())
        own = next(o for o in st.origins if o.origin == "chengdu")
        return (
            list(own.cosigned_by) == ["chongqing"]
            and "— chengyu.court/chongqing " in own.checkpoint
        )

    await eventually(cosigned, timeout_s=10.0)
