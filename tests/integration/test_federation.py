"""Real nodes over mutual TLS on 127.0.0.1: replication, relaying, blacklist end to end."""

from __future__ import annotations

import grpc
import pytest

from ccnode.v1 import admin_pb2
from tests.integration.harness import Federation, admin, eventually, listing, valid_ids

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


async def test_search_by_origin_reads_that_origins_listings_only(federation: Federation) -> None:
    # One origin's listings are one range of keys ("<origin>/bl/<index>"): the search by
    # origin reads them by key prefix (the blacklist table has no origin index).
    for n in ("chengdu", "chongqing"):
        await federation.start(n)
    await federation.link("chengdu", "chongqing")
    a, b = federation.nodes["chengdu"], federation.nodes["chongqing"]
    ids = valid_ids(5)
    await admin(a).Submit(
        admin_pb2.SubmitRequest(drafts=[listing(id_number=i) for i in ids[:3]], actor="法官王五")
    )
    await admin(b).Submit(
        admin_pb2.SubmitRequest(
            drafts=[
                listing(case="（2024）渝0101执77号", court="渝0101", id_number=i) for i in ids[3:]
            ],
            actor="法官赵六",
        )
    )

    async def both_on_b() -> bool:
        r = await admin(b).BlacklistSearch(admin_pb2.BlacklistSearchRequest())
        return r.total == 5

    await eventually(both_on_b, timeout_s=5.0)
    for origin, count in (("chengdu", 3), ("chongqing", 2), ("cheng", 0)):
        r = await admin(b).BlacklistSearch(admin_pb2.BlacklistSearchRequest(origin=origin))
        assert r.total == count
        assert {item.origin for item in r.items} <= {origin}
    page = await admin(b).BlacklistSearch(
        admin_pb2.BlacklistSearchRequest(origin="chengdu", limit=2, offset=2)
    )
    assert (page.total, [i.subject for i in page.items]) == (3, ["chengdu/bl/2"])
