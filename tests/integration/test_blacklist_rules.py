"""Blacklist rules on a real node: automatic delisting after the term, single writer,
corrections and delistings through the admin API, minors refused."""

from __future__ import annotations

import grpc
import pytest

from ccnode.v1 import admin_pb2, log_pb2, payloads_pb2
from node.clock import FakeClock
from node.scheduler import BlacklistExpiry
from tests.integration.harness import Federation, admin, listing

pytestmark = pytest.mark.integration


async def test_fixed_term_listing_is_delisted_when_the_term_ends(federation: Federation) -> None:
    clock = FakeClock()  # 2025-01-01
    a = await federation.start("chengdu", clock=clock)
    reply = await admin(a).Submit(
        admin_pb2.SubmitRequest(
            drafts=[listing(ground=payloads_pb2.G3, term_years=2)], actor="法官王五"
        )
    )
    subject = reply.subjects[0]
    item = (await admin(a).BlacklistGet(admin_pb2.BlacklistGetRequest(subject=subject))).item
    assert item.record.term_end_on == "2027-01-01"
    assert item.delist_due_on == "2027-01-06"  # 3 working days after a Friday term end
    expiry = BlacklistExpiry(a)
    assert await expiry.run_once() == []
    clock.advance(days=730)  # 2026-12-31: the term has not ended yet
    assert await expiry.run_once() == []
    clock.advance(days=2)  # 2027-01-02
    assert await expiry.run_once() == [subject]
    item = (await admin(a).BlacklistGet(admin_pb2.BlacklistGetRequest(subject=subject))).item
    assert item.status == "delisted"
    assert item.delist_ground == payloads_pb2.EXPIRED
    assert await expiry.run_once() == []  # idempotent


async def test_correct_and_delist_then_no_further_change(federation: Federation) -> None:
    a = await federation.start("chengdu")
    subject = (
        await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="王五"))
    ).subjects[0]
    item = (
        await admin(a).BlacklistGet(
            admin_pb2.BlacklistGetRequest(
                subject=subject, reveal=True, actor="王五", purpose="更正"
            )
        )
    ).item
    record = item.record
    record.performance = "部分履行"
    corrected = admin_pb2.Draft(
        kind=log_pb2.BLACKLIST_CORRECTED,
        subject=subject,
        payload=payloads_pb2.Payload(
            blacklist_corrected=payloads_pb2.BlacklistCorrected(
                record=record, reason="履行情况有误"
            )
        ),
    )
    await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[corrected], actor="王五"))
    delisted = admin_pb2.Draft(
        kind=log_pb2.BLACKLIST_DELISTED,
        subject=subject,
        payload=payloads_pb2.Payload(
            blacklist_delisted=payloads_pb2.BlacklistDelisted(
                ground=payloads_pb2.D1, reason="全部履行完毕"
            )
        ),
    )
    await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[delisted], actor="王五"))
    got = await admin(a).BlacklistGet(admin_pb2.BlacklistGetRequest(subject=subject))
    assert got.item.status == "delisted"
    assert got.item.record.performance == "部分履行"
    assert [h.kind for h in got.history] == [
        log_pb2.BLACKLIST_LISTED,
        log_pb2.BLACKLIST_CORRECTED,
        log_pb2.BLACKLIST_DELISTED,
    ]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[delisted], actor="王五"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "already delisted" in err.value.details()
    # The reveal above was recorded in this node's own log, readable only here.
    access = [
        h
        for h in (await a.db.read(a.db.store.entries, "chengdu", 0, 10))
        if h.kind == log_pb2.ACCESS_RECORDED
    ]
    assert len(access) == 1 and access[0].actor == "王五"


async def test_only_the_listing_node_may_change_a_listing(federation: Federation) -> None:
    a = await federation.start("chengdu")
    b = await federation.start("chongqing")
    await federation.link("chengdu", "chongqing")
    await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="王五"))
    delist = admin_pb2.Draft(
        kind=log_pb2.BLACKLIST_DELISTED,
        subject="chengdu/bl/0",
        payload=payloads_pb2.Payload(
            blacklist_delisted=payloads_pb2.BlacklistDelisted(ground=payloads_pb2.D1, reason="x")
        ),
    )
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin(b).Submit(admin_pb2.SubmitRequest(drafts=[delist], actor="李四"))
    assert "single_writer" in err.value.details()


async def test_a_minor_is_never_listed(federation: Federation) -> None:
    a = await federation.start("chengdu", clock=FakeClock())  # 2025-01-01
    minor = listing(id_number="510104201001010019")  # born 2010-01-01: 15 on the listing date
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[minor], actor="王五"))
    assert "minor" in err.value.details()
    assert "510104201001010019" not in err.value.details()
