"""A node's refusals carry their field, rule and place as gRPC rich error details, for any
client: read here with a raw stub and grpc_status, no CLI involved."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from ccnode.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    lookups_pb2,
    lookups_pb2_grpc,
    payloads_pb2,
    tasks_pb2,
    tasks_pb2_grpc,
)
from node.runtime.node import Node
from tests.integration.harness import Federation, listing

pytestmark = pytest.mark.integration

BAD_ID = "510104199003071238"  # wrong check character


def _channel(node: Node) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(f"unix://{node.config.admin_socket}")


Details = tuple[status_pb2.Status, error_details_pb2.BadRequest, error_details_pb2.ErrorInfo]


def _details(err: grpc.aio.AioRpcError) -> Details:
    """The rich status of a failed call and its two details, in the node's order."""
    status = rpc_status.from_call(err)
    assert status is not None, "no rich status in the trailing metadata"
    bad_request, info = error_details_pb2.BadRequest(), error_details_pb2.ErrorInfo()
    kinds = [d.type_url.rsplit("/", 1)[-1] for d in status.details]
    assert kinds == ["google.rpc.BadRequest", "google.rpc.ErrorInfo"]
    assert status.details[0].Unpack(bad_request) and status.details[1].Unpack(info)
    return status, bad_request, info


async def test_a_refused_draft_names_its_field_rule_and_position(federation: Federation) -> None:
    a = await federation.start("chengdu")
    async with _channel(a) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await admin_pb2_grpc.AdminStub(channel).Submit(
                admin_pb2.SubmitRequest(
                    drafts=[listing(), listing(id_number=BAD_ID)], actor="法官王五"
                )
            )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status, bad_request, info = _details(err.value)
    (violation,) = bad_request.field_violations
    assert (violation.field, info.domain, dict(info.metadata)) == (
        "id_number",
        "ccnode",
        {"field": "id_number", "position": "1"},
    )
    assert info.reason == "checksum"
    # Plain clients still read a sentence, with the rule; the value is nowhere.
    assert status.message == err.value.details()
    assert err.value.details() == (
        f"draft 1: id_number: {violation.description} [rule: {info.reason}]"
    )
    assert BAD_ID not in status.SerializeToString().decode("utf-8", "replace")


async def test_a_refused_argument_has_no_position(federation: Federation) -> None:
    a = await federation.start("chengdu")
    async with _channel(a) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await tasks_pb2_grpc.TasksStub(channel).List(tasks_pb2.TaskListRequest(role="x"))
    status, bad_request, info = _details(err.value)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("role", "must be delegated or received")
    ]
    assert (info.reason, dict(info.metadata)) == ("enum", {"field": "role"})
    assert status.message == "role: must be delegated or received"


async def test_a_refused_import_names_the_line(federation: Federation) -> None:
    b = await federation.start("chongqing")
    record = payloads_pb2.AssetRecord(
        asset_id="cq-1",
        owner_id=BAD_ID,
        owner_name="李四",
        category=payloads_pb2.DEPOSIT,
        registry="中国银行重庆分行",
        reference="6217000012345678901",
        value_fen=100,
    )

    async def messages() -> AsyncIterator[lookups_pb2.ImportAssetsRequest]:
        yield lookups_pb2.ImportAssetsRequest(records=[record], first_line=42)

    async with _channel(b) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await lookups_pb2_grpc.LookupsStub(channel).ImportAssets(messages())
    status, bad_request, info = _details(err.value)
    assert bad_request.field_violations[0].field == "owner_id"
    assert dict(info.metadata) == {"field": "owner_id", "line": "42"}
    assert status.message.startswith("line 42: owner_id: ")
    assert BAD_ID not in status.SerializeToString().decode("utf-8", "replace")


async def test_a_malformed_as_of_is_refused_naming_the_field_and_the_rule(
    federation: Federation,
) -> None:
    a = await federation.start("chengdu")
    async with _channel(a) as channel:
        calls = [
            (tasks_pb2_grpc.TasksStub(channel).Overdue, tasks_pb2.TaskOverdueRequest),
            (tasks_pb2_grpc.TasksStub(channel).Board, tasks_pb2.TaskBoardRequest),
            (
                tasks_pb2_grpc.TasksStub(channel).SeizuresExpiring,
                tasks_pb2.SeizuresExpiringRequest,
            ),
        ]
        for call, request in calls:
            # Not a day; a basic-format date; a day no calendar has.
            for bad in ("next monday", "20250108", "2025-02-30"):
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await call(request(as_of=bad))
                status, bad_request, info = _details(err.value)
                assert (bad_request.field_violations[0].field, info.reason) == ("as_of", "date")
                assert status.message.startswith("as_of: must be a date YYYY-MM-DD")
        admin = admin_pb2_grpc.AdminStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await admin.BlacklistSearch(
                admin_pb2.BlacklistSearchRequest(expiring_within_days=30, as_of="2025-1-8")
            )
        assert _details(err.value)[2].reason == "date"
        # A day given to a search that evaluates no term is refused, not ignored.
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await admin.BlacklistSearch(admin_pb2.BlacklistSearchRequest(as_of="2025-01-08"))
        info = _details(err.value)[2]
        assert (info.metadata["field"], info.reason) == ("as_of", "expiring")
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await admin.BlacklistSearch(
                admin_pb2.BlacklistSearchRequest(expiring_within_days=30, status="delisted")
            )
        info = _details(err.value)[2]
        assert (info.metadata["field"], info.reason) == ("status", "expiring")
