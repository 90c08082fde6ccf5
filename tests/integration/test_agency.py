"""The Agency service over real mutual TLS: an admitted agency checks and follows the list,
every call recorded with its purpose; every other caller, and every other service for an
agency certificate, refused and recorded; rates and quotas refused RESOURCE_EXHAUSTED."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from bench.common import build_log, resident_id
from ccnode.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    agency_pb2,
    agency_pb2_grpc,
    audit_pb2,
    audit_pb2_grpc,
    federation_pb2,
    federation_pb2_grpc,
    log_pb2,
    payloads_pb2,
)
from node.identity import ca
from node.runtime.node import Node
from sync.domain.lookups import subject_key
from tests.integration.auditkit import (
    access_records,
    channel,
    cli_fails,
    cli_ok,
    issue_auditor,
    json_of,
)
from tests.integration.harness import (
    CERTS_FROM,
    TRUST_DOMAIN,
    Federation,
    admin,
    eventually,
    listing,
    valid_ids,
)

pytestmark = pytest.mark.integration

AGENCY = "samr-sc"  # 四川省市场监督管理局
AGENCY_URI = f"spiffe://{TRUST_DOMAIN}/agency/{AGENCY}"
PURPOSE = "企业变更登记审批 2025-0117"
# Generous: a functional check that a live change arrives, never a speed assertion.
LIVE_TIMEOUT_S = 30.0


def issue_agency(federation: Federation, name: str = AGENCY) -> Path:
    out = federation.root / "certs" / f"agency-{name}"
    if not (out / "tls.pem").exists():
        ca.issue_agency(federation.ca, name, out, days=3650, now=CERTS_FROM)
    return out


async def _admit(node: Node, name: str = AGENCY, **limits: float) -> None:
    entry = admin_pb2.AgencyEntry(name=name, **limits)  # type: ignore[arg-type]
    await admin(node).AddAgency(admin_pb2.AddAgencyRequest(agency=entry, actor="管理员赵六"))


async def _refusals(node: Node) -> list[tuple[str, str, str]]:
    rows = await node.parts.db.read(node.parts.db.store.refusals, 100)
    return [(r.identity, r.method, r.reason) for r in rows]


async def _list(node: Node, drafts: list[admin_pb2.Draft]) -> list[str]:
    reply = await admin(node).Submit(admin_pb2.SubmitRequest(drafts=drafts, actor="法官王五"))
    return list(reply.subjects)


def _delisting(subject: str, **fields: object) -> admin_pb2.Draft:
    body = payloads_pb2.BlacklistDelisted(reason="全部履行完毕", **fields)  # type: ignore[arg-type]
    return admin_pb2.Draft(
        kind=log_pb2.BLACKLIST_DELISTED,
        subject=subject,
        payload=payloads_pb2.Payload(blacklist_delisted=body),
    )


def _code(exc: pytest.ExceptionInfo[grpc.aio.AioRpcError]) -> grpc.StatusCode:
    return exc.value.code()


def _field_and_rule(exc: pytest.ExceptionInfo[grpc.aio.AioRpcError]) -> tuple[str, str]:
    """The refusal's field and rule, from the status details the node attaches."""
    metadata = exc.value.trailing_metadata() or ()
    (details,) = [v for k, v in metadata if k == "grpc-status-details-bin"]
    assert isinstance(details, bytes)
    status = status_pb2.Status.FromString(details)
    bad_request, info = error_details_pb2.BadRequest(), error_details_pb2.ErrorInfo()
    for detail in status.details:
        if detail.Is(bad_request.DESCRIPTOR):
            detail.Unpack(bad_request)
        elif detail.Is(info.DESCRIPTOR):
            detail.Unpack(info)
    return bad_request.field_violations[0].field, info.reason


# ---------------------------------------------------------------- Check, CheckBatch


async def test_an_admitted_agency_checks_one_and_many_subjects(federation: Federation) -> None:
    a = await federation.start("chengdu")
    ids = valid_ids(4)
    await _list(a, [listing(id_number=ids[0]), listing(id_number=ids[1], name="李四")])
    await cli_ok(
        "agencies", "add", "--home", a.config.home, AGENCY, "--quota", "500", "--actor", "赵六"
    )
    async with channel(issue_agency(federation), a) as ch:
        stub = agency_pb2_grpc.AgencyStub(ch)
        one = await stub.Check(
            agency_pb2.CheckRequest(
                subject=agency_pb2.AgencySubject(id_number=ids[0]), purpose=PURPOSE
            ),
            timeout=10,
        )
        assert one.result.listed
        (shown,) = one.result.listings
        assert shown.id_number_masked == ids[0][:10] + "****" + ids[0][14:]
        assert ids[0] not in str(one)  # the full ID never leaves the node
        assert (shown.name, shown.case_number, shown.court) == (
            "张三",
            "（2024）川0104执1234号",
            "川0104",
        )
        assert shown.obligation and shown.performance and shown.basis_number
        # Name + ID: the name must be the listing's.
        wrong_name = await stub.Check(
            agency_pb2.CheckRequest(
                subject=agency_pb2.AgencySubject(id_number=ids[0], name="王二"), purpose=PURPOSE
            ),
            timeout=10,
        )
        assert not wrong_name.result.listed
        batch = await stub.CheckBatch(
            agency_pb2.CheckBatchRequest(
                subjects=[agency_pb2.AgencySubject(id_number=i) for i in ids], purpose=PURPOSE
            ),
            timeout=10,
        )
        assert [r.listed for r in batch.results] == [True, True, False, False]
        assert batch.results[1].listings[0].name == "李四"
    # Each call recorded (one entry per call), by the agency, with its purpose and digests.
    records = [(actor, body) for actor, body in await access_records(a) if actor == AGENCY_URI]
    assert len(records) == 3
    assert all(body.purpose == PURPOSE for _, body in records)
    assert list(records[2][1].subject_keys) == [subject_key(i) for i in ids]
    assert records[2][1].entries  # the listings read
    assert one.access_entry.startswith("chengdu/") and batch.access_entry > one.access_entry
    # `audit access` finds the agency's reads of a subject, purpose shown.
    doc = json_of(
        await cli_ok("audit", "access", "--home", a.config.home, "--subject", ids[3], "--json")
    )
    assert [(r["actor"], r["purpose"]) for r in doc["reads"]] == [(AGENCY_URI, PURPOSE)]
    doc = json_of(
        await cli_ok("audit", "access", "--home", a.config.home, "--subject", ids[0], "--json")
    )
    assert len(doc["reads"]) == 3
    listed = json_of(await cli_ok("agencies", "list", "--home", a.config.home, "--json"))
    (entry,) = listed["agencies"]
    assert (entry["name"], entry["daily_quota"], entry["used_today"]) == (AGENCY, 500, 6)
    # The audit report shows the agency's queries with their purpose.
    await federation.stop("chengdu")
    out = federation.root / "report.html"
    await cli_ok("audit", "report", "--home", a.config.home, "--out", out)
    page = out.read_text(encoding="utf-8")
    match = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S
    )
    assert match is not None
    data = json.loads(match.group(1).replace("<\\/", "</"))
    assert data["access"]["agencies"] == [{"agency": AGENCY_URI, "purpose": PURPOSE, "calls": 3}]
    assert ids[0] not in page


async def test_bad_requests_are_refused_naming_the_field_and_rule(federation: Federation) -> None:
    a = await federation.start("chengdu")
    await _admit(a)
    ids = valid_ids(2)
    async with channel(issue_agency(federation), a) as ch:
        stub = agency_pb2_grpc.AgencyStub(ch)
        too_many = [agency_pb2.AgencySubject(id_number=ids[0])] * 1001
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.CheckBatch(
                agency_pb2.CheckBatchRequest(subjects=too_many, purpose=PURPOSE), timeout=10
            )
        assert _code(exc) == grpc.StatusCode.INVALID_ARGUMENT
        assert "subjects" in (exc.value.details() or "")
        assert _field_and_rule(exc) == ("subjects", "count")
        assert (exc.value.details() or "").startswith("查询对象：每次须有1至1000个查询对象 / ")
        bad = [agency_pb2.AgencySubject(id_number=i) for i in (*ids, "51010419900307123", ids[0])]
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.CheckBatch(
                agency_pb2.CheckBatchRequest(subjects=bad, purpose=PURPOSE), timeout=10
            )
        assert _field_and_rule(exc) == ("subjects[2].id_number", "length")
        assert "51010419900307123" not in (exc.value.details() or "")
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.Check(
                agency_pb2.CheckRequest(subject=agency_pb2.AgencySubject(id_number=ids[0])),
                timeout=10,
            )
        assert _field_and_rule(exc) == ("purpose", "required")
    assert [a for a, _ in await access_records(a)] == []  # nothing answered, nothing recorded


async def test_rates_and_quotas_are_refused_resource_exhausted(federation: Federation) -> None:
    a = await federation.start("chengdu")
    await _admit(a, daily_quota=3)
    await _admit(a, "tax-sc", rate_per_s=0.001, burst=1)
    ids = valid_ids(3)
    subjects = [agency_pb2.AgencySubject(id_number=i) for i in ids[:2]]
    async with channel(issue_agency(federation), a) as ch:
        stub = agency_pb2_grpc.AgencyStub(ch)
        await stub.CheckBatch(
            agency_pb2.CheckBatchRequest(subjects=subjects, purpose=PURPOSE), timeout=10
        )
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.CheckBatch(
                agency_pb2.CheckBatchRequest(subjects=subjects, purpose=PURPOSE), timeout=10
            )
        assert _code(exc) == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert exc.value.details() == (
            "拒绝调用：已达当日查询对象数上限，请次日再试 / refused: daily_quota"
        )
        await stub.Check(  # one left today
            agency_pb2.CheckRequest(subject=subjects[0], purpose=PURPOSE), timeout=10
        )
    async with channel(issue_agency(federation, "tax-sc"), a) as ch:
        stub = agency_pb2_grpc.AgencyStub(ch)
        await stub.Check(agency_pb2.CheckRequest(subject=subjects[0], purpose=PURPOSE), timeout=10)
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.Check(
                agency_pb2.CheckRequest(subject=subjects[0], purpose=PURPOSE), timeout=10
            )
        assert _code(exc) == grpc.StatusCode.RESOURCE_EXHAUSTED
    refusals = await _refusals(a)
    assert (AGENCY_URI, "Agency.CheckBatch", "daily_quota") in refusals
    tax = f"spiffe://{TRUST_DOMAIN}/agency/tax-sc"
    assert (tax, "Agency.Check", "rate_limited") in refusals


# ---------------------------------------------------------------- who may call what


async def test_an_agency_certificate_is_refused_on_every_other_service(
    federation: Federation,
) -> None:
    a = await federation.start("chengdu")
    await _admit(a)
    async with channel(issue_agency(federation), a) as ch:
        fed = federation_pb2_grpc.FederationStub(ch)
        audit = audit_pb2_grpc.AuditStub(ch)
        calls = {
            "Hello": fed.Hello(federation_pb2.HelloRequest(node_id=AGENCY), timeout=10),
            "Checkpoints": fed.Checkpoints(federation_pb2.CheckpointsRequest(), timeout=10),
            "Audit.Status": audit.Status(audit_pb2.AuditStatusRequest(), timeout=10),
            "Audit.LatestCheckpoints": audit.LatestCheckpoints(
                audit_pb2.LatestCheckpointsRequest(), timeout=10
            ),
        }
        for method, call in calls.items():
            with pytest.raises(grpc.aio.AioRpcError) as exc:
                await call
            assert _code(exc) == grpc.StatusCode.PERMISSION_DENIED, method
        entries = audit.Entries(audit_pb2.EntriesRequest(origin="chengdu"), timeout=10)
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            async for _ in entries:
                pass
        assert _code(exc) == grpc.StatusCode.PERMISSION_DENIED
        # The admin API is on the 0600 socket only: the mutual-TLS port does not serve it.
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await admin_pb2_grpc.AdminStub(ch).Status(admin_pb2.StatusRequest(), timeout=10)
        assert _code(exc) == grpc.StatusCode.UNIMPLEMENTED
    refused = {(m, r) for i, m, r in await _refusals(a) if i == AGENCY_URI}
    assert {
        ("Hello", "role_not_allowed:agency"),
        ("Checkpoints", "role_not_allowed:agency"),
        ("Audit.Status", "role_not_allowed:agency"),
        ("Audit.Entries", "role_not_allowed:agency"),
    } <= refused


async def test_only_admitted_agencies_and_granted_nodes_or_auditors_may_call(
    federation: Federation,
) -> None:
    config = federation.home("chengdu")
    config.agencies.granted = ["auditor/procuratorate"]
    config.save()
    a = await federation.start("chengdu")
    b = await federation.start("chongqing")
    request = agency_pb2.CheckRequest(
        subject=agency_pb2.AgencySubject(id_number=valid_ids(1)[0]), purpose=PURPOSE
    )
    refused_certs = {
        "agency": issue_agency(federation),  # not admitted yet
        "node": federation.root / "certs" / "chongqing",
        "auditor": issue_auditor(federation),  # npc: not granted
    }
    for role, certs in refused_certs.items():
        async with channel(certs, a) as ch:
            with pytest.raises(grpc.aio.AioRpcError) as exc:
                await agency_pb2_grpc.AgencyStub(ch).Check(request, timeout=10)
            assert _code(exc) == grpc.StatusCode.PERMISSION_DENIED, role
            said = {
                "agency": "该联合惩戒单位未获准接入（ccnode agencies add）",
                "node": "角色“node”未获准使用联合惩戒查询服务（agencies.granted）",
                "auditor": "角色“auditor”未获准使用联合惩戒查询服务（agencies.granted）",
            }[role]
            assert (exc.value.details() or "").startswith(f"拒绝调用：{said} / refused: "), role
    refusals = await _refusals(a)
    assert (AGENCY_URI, "Agency.Check", "agency_not_admitted") in refusals
    node_uri = f"spiffe://{TRUST_DOMAIN}/node/{b.config.node_id}"
    assert (node_uri, "Agency.Check", "role_not_granted:node") in refusals
    auditor_uri = f"spiffe://{TRUST_DOMAIN}/auditor/npc"
    assert (auditor_uri, "Agency.Check", "role_not_granted:auditor") in refusals
    # Admitted now (the next call, no restart), and the granted auditor.
    await cli_ok("agencies", "add", "--home", a.config.home, AGENCY, "--actor", "赵六")
    for certs in (issue_agency(federation), issue_auditor(federation, "procuratorate")):
        async with channel(certs, a) as ch:
            reply = await agency_pb2_grpc.AgencyStub(ch).Check(request, timeout=10)
            assert not reply.result.listed
    # Removed: refused again.
    await cli_ok("agencies", "remove", "--home", a.config.home, AGENCY)
    async with channel(issue_agency(federation), a) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await agency_pb2_grpc.AgencyStub(ch).Check(request, timeout=10)
        assert _code(exc) == grpc.StatusCode.PERMISSION_DENIED
    await cli_fails(2, "agencies", "add", "--home", a.config.home, "Bad Name", "--actor", "赵六")


# ---------------------------------------------------------------- Follow

FOLLOW_LISTINGS = 100_000


async def test_removing_an_agency_ends_its_follow(federation: Federation) -> None:
    a = await federation.start("chengdu")
    await _list(a, [listing(id_number=valid_ids(1)[0])])
    await _admit(a)
    async with channel(issue_agency(federation), a) as ch:
        stub = agency_pb2_grpc.AgencyStub(ch)
        async with contextlib.aclosing(_follow(stub, 0)) as stream:
            changes, head = await _until_caught_up(stream)
            assert ([c.kind for c in changes], head) == ([agency_pb2.CHANGE_LISTED], 1)
            await cli_ok("agencies", "remove", "--home", a.config.home, AGENCY)
            await _list(a, [listing(id_number=valid_ids(2)[1])])  # wakes the stream
            with pytest.raises(grpc.aio.AioRpcError) as exc:
                async with asyncio.timeout(LIVE_TIMEOUT_S):
                    async for message in stream:
                        assert not message.changes, "a change sent after the removal"
            assert _code(exc) == grpc.StatusCode.PERMISSION_DENIED
    assert (AGENCY_URI, "Agency.Follow", "agency_not_admitted") in await _refusals(a)


async def _follow(
    stub: agency_pb2_grpc.AgencyStub, after: int
) -> AsyncIterator[agency_pb2.FollowMessage]:
    call = stub.Follow(agency_pb2.FollowRequest(after=after, purpose=PURPOSE))
    try:
        async for message in call:
            yield message
    finally:
        call.cancel()


async def _caught_up(
    stub: agency_pb2_grpc.AgencyStub, after: int
) -> tuple[list[agency_pb2.ListingChange], int]:
    """Follow from ``after`` until caught up, then disconnect."""
    async with contextlib.aclosing(_follow(stub, after)) as messages:
        return await _until_caught_up(messages)


async def _until_caught_up(
    messages: AsyncIterator[agency_pb2.FollowMessage],
) -> tuple[list[agency_pb2.ListingChange], int]:
    changes: list[agency_pb2.ListingChange] = []
    async for message in messages:
        changes.extend(message.changes)
        if message.HasField("caught_up"):
            return changes, message.caught_up.position
    raise AssertionError("the stream ended before it caught up")


async def test_follow_catches_up_then_tails_and_resumes_from_its_position(
    federation: Federation,
) -> None:
    home = federation.home("chengdu").home
    await asyncio.to_thread(build_log, home, "chengdu", FOLLOW_LISTINGS, progress=False)
    a = await federation.start("chengdu")
    b = await federation.start("chongqing")
    await federation.peer("chengdu", "chongqing")  # chengdu takes chongqing's log
    other_ids = valid_ids(3, birth="19850101")
    cq = [
        listing(case=f"（2024）渝0103执{i + 1}号", court="渝0103", id_number=i_d, name="王某")
        for i, i_d in enumerate(other_ids)
    ]
    cq_subjects = await _list(b, cq)

    async def replicated() -> bool:
        rows = await a.parts.db.read(a.parts.db.store.get_rows, "blacklist", cq_subjects)
        return len(rows) == len(cq_subjects)

    await eventually(replicated, timeout_s=60)
    await _admit(a)
    total = FOLLOW_LISTINGS + len(cq_subjects)
    async with channel(issue_agency(federation), a) as ch:
        stub = agency_pb2_grpc.AgencyStub(ch)
        stream = _follow(stub, 0)
        changes, head = await _until_caught_up(stream)
        # From 0: every listing the node holds, once, in position order.
        assert [c.position for c in changes] == list(range(1, total + 1)) and head == total
        assert {c.kind for c in changes} == {agency_pb2.CHANGE_LISTED}
        assert len({c.listing.subject for c in changes}) == total
        sample = next(c for c in changes if c.listing.subject == "chengdu/bl/7")
        assert sample.listing.id_number_masked.endswith(resident_id(7)[14:])
        assert resident_id(7) not in str(sample)
        # The live tail: a credit repair on another region's node arrives as a change.
        started = time.monotonic()
        await _list(b, [_delisting(cq_subjects[0], ground=payloads_pb2.D3,
                                   credit_repair=payloads_pb2.CREDITOR_REQUEST)])  # fmt: skip
        live: list[agency_pb2.ListingChange] = []
        async with asyncio.timeout(LIVE_TIMEOUT_S):
            async for message in stream:
                live.extend(message.changes)
                if live:
                    break
        print(f"live delisting reached the agency in {time.monotonic() - started:.2f} s")
        (repaired,) = live
        assert (repaired.position, repaired.kind) == (total + 1, agency_pb2.CHANGE_REPAIRED)
        assert repaired.listing.subject == cq_subjects[0]
        assert repaired.listing.status == "delisted" and not repaired.listing.obligation
        assert repaired.credit_repair == payloads_pb2.CREDITOR_REQUEST
        await stream.aclose()  # disconnect
        position = repaired.position
        # Changes made while the agency is away, then a resume from its position.
        await _list(b, [_delisting(cq_subjects[1], ground=payloads_pb2.REVOKED)])
        await _list(a, [listing(id_number=valid_ids(1, birth="19700101")[0])])

        async def fed_on() -> bool:
            return await a.parts.db.read(a.parts.db.store.blacklist_change_head) == total + 3

        await eventually(fed_on, timeout_s=LIVE_TIMEOUT_S)
        resumed, head = await _caught_up(stub, position)
        assert [c.position for c in resumed] == [total + 2, total + 3] and head == total + 3
        # (The two commits race: the order of their positions is the node's commit order.)
        assert sorted(c.kind for c in resumed) == [
            agency_pb2.CHANGE_LISTED,
            agency_pb2.CHANGE_REVOKED,
        ]
        # A position past this node's feed is refused, not silently served from elsewhere.
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await _caught_up(stub, total + 100)
        assert _code(exc) == grpc.StatusCode.OUT_OF_RANGE
    follows = [body for actor, body in await access_records(a) if actor == AGENCY_URI]
    assert follows and all(body.purpose == PURPOSE for body in follows)
    assert sum(len(body.entries) for body in follows) >= total + 3
    # `audit access` finds every Follow page that carried a person's listing, with its purpose.
    doc = json_of(
        await cli_ok(
            "audit", "access", "--home", a.config.home, "--subject", other_ids[0], "--json"
        )
    )
    assert [r["purpose"] for r in doc["reads"]] == [PURPOSE, PURPOSE]  # catch-up, live tail
    assert {r["actor"] for r in doc["reads"]} == {AGENCY_URI}
