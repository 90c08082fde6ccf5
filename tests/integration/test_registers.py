"""The registers of officers and of case parties with two real nodes over mutual TLS.

* A lookup may only concern a debtor of the cited case (网络查询冻结规定 arts. 7–8): the
  requesting node refuses one for a person it has not registered as a debtor of the case,
  before anything is sent; a registered one goes out stating so, and is answered; a request
  without that statement (a node that does not keep the register) is denied ``NOT_A_DEBTOR``.
* Every query is attributable to a registered officer: an ``actor`` that is not an officer
  registered at a court the node serves is refused (field ``actor``) and the refusal recorded.
"""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from ccnode.v1 import admin_pb2, log_pb2, lookups_pb2, payloads_pb2
from node.runtime.node import Node
from node.store.base import PeerRecord
from tests.integration.harness import (
    Federation,
    admin,
    eventually,
    listing,
    register_party,
    valid_ids,
)
from tests.integration.test_lookups import REGISTRY, _import, lookups, request
from tests.integration.test_tasks import delegation, pair, submit

A, B = "chengdu", "chongqing"
CASE = "（2025）川0104执1234号"
DEBTOR, STRANGER = valid_ids(2, birth="19800521")


async def _lookup_pair(federation: Federation) -> tuple[Node, Node]:
    a = await federation.start(A)
    b = await federation.start(B)
    await federation.peer(A, B)
    await b.parts.links.add_peer(PeerRecord(A, f"127.0.0.1:{a.port}", ("川01",)))
    await _import(b, REGISTRY)
    return a, b


def _rule(err: grpc.aio.AioRpcError) -> tuple[str, str]:
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.metadata["field"], info.reason
    raise AssertionError("no ErrorInfo")


async def test_a_lookup_of_a_person_not_a_debtor_of_the_case_is_refused(
    federation: Federation,
) -> None:
    a, _ = await _lookup_pair(federation)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await lookups(a).Request(request(id_number=DEBTOR))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _rule(err.value) == ("debtor", "not_a_debtor")
    assert DEBTOR not in (err.value.details() or "")
    listed = await lookups(a).List(lookups_pb2.ListLookupsRequest())
    assert listed.total == 0  # nothing was appended, nothing sent

    await register_party(a, CASE, id_number=DEBTOR)
    result = await lookups(a).Request(request(id_number=DEBTOR))
    assert result.item.status == "answered"
    # A debtor of another case is not a debtor of this one.
    await register_party(a, "（2025）川0104执1235号", id_number=STRANGER)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await lookups(a).Request(request(id_number=STRANGER))
    assert _rule(err.value) == ("debtor", "not_a_debtor")
    # Removed from the register: refused again.
    party = admin_pb2.CaseParty(
        case_number=CASE, debtor=payloads_pb2.Debtor(type=payloads_pb2.PERSON, id_number=DEBTOR)
    )
    removed = await admin(a).RemoveCaseParty(admin_pb2.RemoveCasePartyRequest(party=party))
    assert removed.removed
    with pytest.raises(grpc.aio.AioRpcError):
        await lookups(a).Request(request(id_number=DEBTOR))


async def test_the_target_denies_a_request_that_does_not_state_the_debtor(
    federation: Federation,
) -> None:
    a, _ = await _lookup_pair(federation)
    # A request drafted through Admin.Submit claiming the statement: the node sets it from its
    # own register, so an unregistered debtor goes out without it and B denies it.
    body = payloads_pb2.LookupRequested(
        target_node=B,
        case_number=CASE,
        debtor=payloads_pb2.Debtor(type=payloads_pb2.PERSON, id_number=DEBTOR),
        categories=[payloads_pb2.DEPOSIT],
        purpose="查询被执行人财产",
        debtor_registered=True,
    )
    draft = admin_pb2.Draft(
        kind=log_pb2.LOOKUP_REQUESTED, payload=payloads_pb2.Payload(lookup_requested=body)
    )
    subject = (await submit(a, draft)).subjects[0]
    get = lookups_pb2.GetLookupRequest(subject=subject, actor="法官王五", purpose=CASE)

    async def replied() -> bool:
        return (await lookups(a).Get(get)).item.status != "pending"

    await eventually(replied)
    got = await lookups(a).Get(get)
    assert got.item.status == "denied"
    assert got.item.reply.denial_reason == payloads_pb2.NOT_A_DEBTOR
    assert "registered party of the cited case" in got.item.reply.denial_detail
    assert got.item.reply.denial_detail.startswith(
        "被执行人：请求方未声明被查询人为所引案件登记的被执行人（《网络查控规定》第七条、第八条"
    )


async def test_only_a_registered_officer_of_a_served_court_may_act(
    federation: Federation,
) -> None:
    a, b = await pair(federation)
    stub = admin(a)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor=" "))
    assert _rule(err.value) == ("actor", "required")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="张某"))
    assert _rule(err.value) == ("actor", "officer_unregistered")
    assert "张某" not in (err.value.details() or "")
    refusals = await stub.Refusals(admin_pb2.RefusalsRequest())
    assert any(r.reason == "officer_unregistered" for r in refusals.refusals)
    # An officer of a court the node does not serve cannot be registered.
    outside = admin_pb2.Officer(officer_id="cq-1", court="渝0103", name="某", role="judge")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.AddOfficer(admin_pb2.AddOfficerRequest(officer=outside))
    assert _rule(err.value) == ("court", "court_prefix")
    # Registered, the officer may act; removed, no longer.
    officer = admin_pb2.Officer(officer_id="zhang", court="川0104", name="张某", role="judge")
    added = await stub.AddOfficer(admin_pb2.AddOfficerRequest(officer=officer))
    assert added.officer == officer
    await stub.Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="zhang"))
    await stub.Submit(admin_pb2.SubmitRequest(drafts=[delegation()], actor="zhang"))
    ids = [
        o.officer_id for o in (await stub.ListOfficers(admin_pb2.ListOfficersRequest())).officers
    ]
    assert "zhang" in ids
    await stub.RemoveOfficer(admin_pb2.RemoveOfficerRequest(officer_id="zhang"))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Submit(admin_pb2.SubmitRequest(drafts=[delegation()], actor="zhang"))
    assert _rule(err.value) == ("actor", "officer_unregistered")
    # Chongqing's register is its own: chengdu's officers are not officers there.
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin(b).Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="zhang"))
    assert _rule(err.value) == ("actor", "officer_unregistered")
