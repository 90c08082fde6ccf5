"""A hostile caller holding a valid node (or auditor) certificate can neither flood nor blind a
node, nor read its internals: refusals are bounded (clipped, one row per call, folded per day,
read in pages), every failure answers a proper status without exception names or tracebacks,
and a full database answers RESOURCE_EXHAUSTED with nothing committed lost."""

from __future__ import annotations

import logging
import random

import grpc
import pytest
from google.protobuf import descriptor_pool
from grpc_status import rpc_status

from ccnode.v1 import admin_pb2, audit_pb2, federation_pb2, federation_pb2_grpc
from node.runtime.registry import ADMIN, PUBLIC
from node.store.base import REFUSALS_PAGE_MAX, Refusal, StoreFull
from sync.domain.calendar import CALENDAR_VERSION
from sync.domain.wording import field_label
from tests.integration.auditkit import (
    access_records,
    audit_stub,
    channel,
    grant_payloads,
    issue_auditor,
    own_entries,
    submit_listings,
)
from tests.integration.harness import Federation, admin, listing, valid_ids

pytestmark = pytest.mark.integration

HOSTILE = "chongqing"  # a valid node certificate; not even a configured peer


def _hello(keys: list[federation_pb2.OriginKey]) -> federation_pb2.HelloRequest:
    return federation_pb2.HelloRequest(
        node_id=HOSTILE, protocol_version=1, calendar_version=CALENDAR_VERSION, keys=keys
    )


async def _rows(node) -> list[Refusal]:  # type: ignore[no-untyped-def]
    return await node.parts.db.read(node.parts.db.store.refusals, REFUSALS_PAGE_MAX)


def _clean(details: str | None) -> None:
    """A caller never sees an exception class or a traceback."""
    assert "Traceback" not in (details or "")
    assert "<class" not in (details or "")
    assert "Error" not in (details or "")


async def test_huge_origin_names_add_one_short_row(federation: Federation) -> None:
    a = await federation.start("chengdu")
    huge = federation_pb2.OriginKey(origin="x" * 1_000_000, certificate_der=b"junk")
    async with channel(federation.issue(HOSTILE), a) as ch:
        stub = federation_pb2_grpc.FederationStub(ch)
        for _ in range(5):
            await stub.Hello(_hello([huge]), timeout=10)
    rows = await _rows(a)
    assert [(r.reason, r.count) for r in rows] == [("bad_origin_key", 5)]
    assert max(len(r.identity) + len(r.peer) + len(r.method) + len(r.reason) for r in rows) < 600
    reply = await admin(a).Refusals(admin_pb2.RefusalsRequest(), timeout=10)
    assert [(r.reason, r.count) for r in reply.refusals] == [("bad_origin_key", 5)]


async def test_five_thousand_junk_keys_are_one_row_with_their_count(
    federation: Federation,
) -> None:
    a = await federation.start("chengdu")
    junk = [federation_pb2.OriginKey(origin=f"o{i}", certificate_der=b"junk") for i in range(5_000)]
    async with channel(federation.issue(HOSTILE), a) as ch:
        await federation_pb2_grpc.FederationStub(ch).Hello(_hello(junk), timeout=30)
    assert [(r.method, r.reason, r.count) for r in await _rows(a)] == [
        ("OriginKey", "bad_origin_key", 5_000)
    ]
    assert await a.parts.db.read(a.parts.db.store.refusal_count) == 5_000


def _methods(specs) -> list[tuple[str, bool, bool]]:  # type: ignore[no-untyped-def]
    pool = descriptor_pool.Default()
    return [
        (f"/{spec.full_name}/{m.name}", m.client_streaming, m.server_streaming)
        for spec in specs
        for m in pool.FindServiceByName(spec.full_name).methods
    ]


async def _raw_call(ch: grpc.aio.Channel, method: str, streams: tuple[bool, bool], data: bytes):  # type: ignore[no-untyped-def]
    """Send ``data`` as the request bytes; the status code and details of the answer."""
    client_streaming, server_streaming = streams
    try:
        if client_streaming:
            call = ch.stream_unary(method) if not server_streaming else ch.stream_stream(method)
            result = call(iter([data]), timeout=5)
        elif server_streaming:
            result = ch.unary_stream(method)(data, timeout=5)
        else:
            await ch.unary_unary(method)(data, timeout=5)
            return grpc.StatusCode.OK, ""
        if server_streaming:
            async for _ in result:
                pass
        else:
            await result
        return grpc.StatusCode.OK, ""
    except grpc.aio.AioRpcError as exc:
        return exc.code(), exc.details()


UNDECODABLE = b"\xff\xff\xff\xff"  # field 31, wire type 7: no protobuf message decodes it


async def test_undecodable_requests_are_invalid_argument_on_every_method(
    federation: Federation, caplog: pytest.LogCaptureFixture
) -> None:
    a = await federation.start("chengdu")
    async with channel(federation.issue(HOSTILE), a) as ch:
        for method, cs, ss in _methods(PUBLIC):
            assert await _raw_call(ch, method, (cs, ss), UNDECODABLE) == (
                grpc.StatusCode.INVALID_ARGUMENT,
                f"{field_label('request')}：无法解码：所发内容不是此方法的请求消息"
                " / request: the bytes are not this method's request message",
            ), method
    async with grpc.aio.insecure_channel(f"unix://{a.config.admin_socket}") as ch:
        for method, cs, ss in _methods(ADMIN):
            code, _ = await _raw_call(ch, method, (cs, ss), UNDECODABLE)
            assert code == grpc.StatusCode.INVALID_ARGUMENT, method
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [r for r in caplog.records if r.exc_info]


async def test_random_request_bytes_never_answer_unknown_or_internal(
    federation: Federation, caplog: pytest.LogCaptureFixture
) -> None:
    a = await federation.start("chengdu")
    await submit_listings(a, 2)
    rng = random.Random(20261202)
    unary = [(m, cs, ss) for m, cs, ss in _methods(PUBLIC) if not ss]
    async with channel(federation.issue(HOSTILE), a) as ch:
        for method, cs, ss in unary:
            for _ in range(25):
                data = rng.randbytes(rng.randint(1, 64))
                code, details = await _raw_call(ch, method, (cs, ss), data)
                assert code not in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL), method
                _clean(details)
    assert not [r for r in caplog.records if r.exc_info]


async def test_out_of_range_indexes_answer_out_of_range(federation: Federation) -> None:
    grant_payloads(federation, "chengdu", "npc")
    a = await federation.start("chengdu")
    await submit_listings(a, 2)
    async with channel(issue_auditor(federation), a) as ch:
        stub = audit_stub(ch)
        for size, index in ((2**64 - 1, 0), (0, 2**63), (2, 2**64 - 1)):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.InclusionProof(
                    audit_pb2.InclusionProofRequest(origin="chengdu", size=size, index=index),
                    timeout=10,
                )
            assert err.value.code() == grpc.StatusCode.OUT_OF_RANGE
            _clean(err.value.details())
        reply = await stub.Payloads(
            audit_pb2.PayloadsRequest(origin="chengdu", indexes=[2**63, 2**64 - 1], purpose="p"),
            timeout=10,
        )
        assert list(reply.withheld) == [2**63, 2**64 - 1] and not reply.entries
        chunks = [
            c
            async for c in stub.Entries(
                audit_pb2.EntriesRequest(origin="chengdu", start=2**64 - 1), timeout=10
            )
        ]
        assert chunks == []


async def test_a_megabyte_purpose_is_invalid_argument_naming_the_field(
    federation: Federation,
) -> None:
    grant_payloads(federation, "chengdu", "npc")
    a = await federation.start("chengdu")
    await submit_listings(a, 1)
    before = len(await own_entries(a))
    async with channel(issue_auditor(federation), a) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await audit_stub(ch).Payloads(
                audit_pb2.PayloadsRequest(origin="chengdu", indexes=[0], purpose="p" * 1_000_000),
                timeout=10,
            )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details() == (
        "查询事由（--purpose）：不得超过500个字符 / purpose: at most 500 characters"
    )
    assert len(await own_entries(a)) == before  # nothing recorded, nothing read


async def test_auditor_payload_reads_are_one_access_entry_per_call(
    federation: Federation,
) -> None:
    grant_payloads(federation, "chengdu", "npc")
    a = await federation.start("chengdu")
    await submit_listings(a, 40)
    async with channel(issue_auditor(federation), a) as ch:
        stub = audit_stub(ch)
        for _ in range(3):
            await stub.Payloads(
                audit_pb2.PayloadsRequest(origin="chengdu", indexes=range(40), purpose="审计"),
                timeout=10,
            )
    records = await access_records(a)
    assert [len(body.entries) for _, body in records] == [40, 40, 40]


async def test_refusals_are_read_in_pages_within_the_message_limit(
    federation: Federation,
) -> None:
    a = await federation.start("chengdu")
    store = a.parts.db.store
    for i in range(2_500):
        store.record_refusal(Refusal(i, "p" * 200, "i" * 500, "Hello", f"{i:04d}" + "r" * 500))
    first = await admin(a).Refusals(admin_pb2.RefusalsRequest(limit=100_000), timeout=10)
    assert (len(first.refusals), first.next_offset) == (REFUSALS_PAGE_MAX, REFUSALS_PAGE_MAX)
    seen = list(first.refusals)
    offset = first.next_offset
    while offset:
        page = await admin(a).Refusals(
            admin_pb2.RefusalsRequest(limit=REFUSALS_PAGE_MAX, offset=offset), timeout=10
        )
        seen += page.refusals
        offset = page.next_offset
    assert len(seen) == 2_500 and seen[0].reason.startswith("2499")
    huge = await admin(a).Refusals(admin_pb2.RefusalsRequest(offset=2**64 - 1), timeout=10)
    assert (list(huge.refusals), huge.next_offset) == ([], 0)
    async with channel(issue_auditor(federation), a) as ch:
        reply = await audit_stub(ch).Refusals(audit_pb2.AuditRefusalsRequest(), timeout=10)
    assert (len(reply.refusals), reply.total, reply.next_offset) == (100, 2_500, 100)


async def test_a_full_database_is_resource_exhausted_and_loses_nothing(
    federation: Federation, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    a = await federation.start("chengdu")
    await submit_listings(a, 2)
    held = await own_entries(a)
    store = a.parts.db.store

    def full(*args: object, **kwargs: object) -> None:
        raise StoreFull("the database or its disk is full: free space, then retry")

    monkeypatch.setattr(store, "commit_append", full)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin(a).Submit(
            admin_pb2.SubmitRequest(drafts=[listing(id_number=valid_ids(3)[2])], actor="法官王五"),
            timeout=10,
        )
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "database is full" in err.value.details()
    _clean(err.value.details())
    assert rpc_status.from_call(err.value) is None
    monkeypatch.undo()
    assert await own_entries(a) == held
    await submit_listings(a, 1, start=3)  # room again: the node carries on
    assert len(await own_entries(a)) == len(held) + 1


async def test_a_vector_past_every_log_is_served_nothing_not_an_error(
    federation: Federation,
) -> None:
    a = await federation.start("chengdu")
    await submit_listings(a, 2)
    huge = federation_pb2.Vector(sizes={"chengdu": 2**64 - 1, "mianyang": 2**63})
    async with channel(federation.issue(HOSTILE), a) as ch:
        stub = federation_pb2_grpc.FederationStub(ch)
        call = stub.Subscribe(federation_pb2.SubscribeRequest(vector=huge), timeout=2)
        kinds = []
        try:
            async for message in call:
                kinds.append(message.WhichOneof("body"))
        except grpc.aio.AioRpcError:
            pass
        assert kinds[:1] == ["caught_up"] and "batch" not in kinds
        assert await call.code() in (grpc.StatusCode.OK, grpc.StatusCode.DEADLINE_EXCEEDED)
        for start in (2**63, 2**64 - 1):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.Fetch(
                    federation_pb2.FetchRequest(origin="chengdu", start=start, end=2**64 - 1),
                    timeout=10,
                )
            assert err.value.code() == grpc.StatusCode.OUT_OF_RANGE


async def test_an_unexpected_failure_is_internal_logged_once_per_kind(
    federation: Federation, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    a = await federation.start("chengdu")

    def broken() -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(a.parts.db.store, "evidence", broken)
    for _ in range(5):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await admin(a).Evidence(admin_pb2.EvidenceRequest(), timeout=10)
        assert (err.value.code(), err.value.details()) == (
            grpc.StatusCode.INTERNAL,
            "internal error (logged on the node)",
        )
    logged = [r for r in caplog.records if r.name == "node.runtime.guard"]
    assert [r.getMessage() for r in logged] == [
        "/ccnode.v1.Admin/Evidence failed: ZeroDivisionError"
    ]
    assert logged[0].exc_info is not None
