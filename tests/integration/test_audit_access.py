"""Auditor access over mutual TLS: an auditor certificate reads but never writes; payloads only
within its rights, every read recorded first; a node certificate cannot use auditor-only reads."""

from __future__ import annotations

import grpc
import pytest

from ccnode.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    audit_pb2,
    federation_pb2,
    federation_pb2_grpc,
    log_pb2,
)
from sync.entry import decode_header
from tests.integration.auditkit import (
    AUDITOR_URI,
    access_records,
    audit_stub,
    channel,
    grant_payloads,
    issue_auditor,
    own_entries,
    submit_listings,
)
from tests.integration.harness import Federation, eventually

pytestmark = pytest.mark.integration


async def _refusals(node) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    rows = await node.parts.db.read(node.parts.db.store.refusals, 100)
    return [(r.identity, r.method, r.reason) for r in rows]


async def _entries(stub, origin: str, **kw) -> list[log_pb2.Entry]:  # type: ignore[no-untyped-def]
    out = []
    async for chunk in stub.Entries(audit_pb2.EntriesRequest(origin=origin, **kw), timeout=10):
        out.extend(chunk.entries)
    return out


async def test_an_auditor_reads_headers_and_checkpoints(federation: Federation) -> None:
    a = await federation.start("chengdu")
    await submit_listings(a, 3)
    async with channel(issue_auditor(federation), a) as ch:
        stub = audit_stub(ch)
        status = await stub.Status(audit_pb2.AuditStatusRequest(), timeout=10)
        assert (status.node_id, [o.origin for o in status.origins]) == ("chengdu", ["chengdu"])
        assert status.origins[0].size == 3
        cps = await stub.LatestCheckpoints(audit_pb2.LatestCheckpointsRequest(), timeout=10)
        assert cps.checkpoints[0].note == status.origins[0].checkpoint
        keys = await stub.OriginKeys(audit_pb2.OriginKeysRequest(), timeout=10)
        assert [k.origin for k in keys.keys] == ["chengdu"]
        history = [c async for c in stub.CheckpointHistory(
            audit_pb2.CheckpointHistoryRequest(origin="chengdu"), timeout=10)]  # fmt: skip
        assert [s for c in history for s in c.sizes] == [1, 2, 3]
        entries = await _entries(stub, "chengdu")
        assert len(entries) == 3
        assert not any(e.HasField("payload") for e in entries)  # headers unless asked
        proof = await stub.ConsistencyProof(
            audit_pb2.ConsistencyProofRequest(origin="chengdu", old_size=2), timeout=10
        )
        assert proof.old_checkpoint.note and proof.new_root == status.origins[0].root
    # Reading headers and checkpoints is not a read of personal data: nothing recorded.
    assert await access_records(a) == []


async def test_every_write_by_an_auditor_is_refused(federation: Federation) -> None:
    a = await federation.start("chengdu")
    await submit_listings(a, 1)
    auditor = issue_auditor(federation)
    async with channel(auditor, a) as ch:
        fed = federation_pb2_grpc.FederationStub(ch)
        calls = {
            "Hello": fed.Hello(federation_pb2.HelloRequest(node_id="npc"), timeout=10),
            "Fetch": fed.Fetch(federation_pb2.FetchRequest(origin="chengdu", end=1), timeout=10),
            "Witness": fed.Witness(federation_pb2.WitnessRequest(), timeout=10),
        }
        for name, call in calls.items():
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await call
            assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED, name
        with pytest.raises(grpc.aio.AioRpcError) as err:
            async for _ in fed.Subscribe(federation_pb2.SubscribeRequest(), timeout=10):
                pass
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        # The admin API (Submit and the rest) is not served on the network at all.
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await admin_pb2_grpc.AdminStub(ch).Submit(admin_pb2.SubmitRequest(), timeout=10)
        assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
    refused = await _refusals(a)
    assert sorted(m for _, m, _ in refused) == ["Fetch", "Hello", "Subscribe", "Witness"]
    assert {(i, r) for i, _, r in refused} == {(AUDITOR_URI, "role_not_allowed:auditor")}
    assert len(await own_entries(a)) == 1  # nothing appended by any of it


async def test_payload_reads_need_a_purpose_and_are_recorded_first(
    federation: Federation,
) -> None:
    a = await federation.start("chengdu")
    ids = await submit_listings(a, 2)
    async with channel(issue_auditor(federation), a) as ch:
        stub = audit_stub(ch)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _entries(stub, "chengdu", with_payloads=True)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert err.value.details().startswith(
            "查询事由（--purpose）：查阅条目内容须写明事由，每次查阅均予记录（《个人信息保护法》第六条）"
            " / purpose: required to read payloads"
        )
        entries = await _entries(stub, "chengdu", end=2, with_payloads=True, purpose="2024年度监督")
        assert all(e.HasField("payload") for e in entries)  # listings are public
    records = await access_records(a)
    assert [(actor, list(r.entries), r.purpose) for actor, r in records] == [
        (AUDITOR_URI, ids, "2024年度监督")
    ]
    # The access record is restricted to the node that recorded it.
    access = [e for e in await own_entries(a) if e.kind == log_pb2.ACCESS_RECORDED]
    assert decode_header(access[0].header).audience == ("chengdu",)


async def test_restricted_payloads_only_for_granted_auditors(federation: Federation) -> None:
    grant_payloads(federation, "chengdu", "procuratorate")
    a = await federation.start("chengdu")
    await submit_listings(a, 1)
    npc = issue_auditor(federation, "npc")
    procuratorate = issue_auditor(federation, "procuratorate")
    # npc's public read leaves an ACCESS_RECORDED entry (index 1) restricted to chengdu.
    async with channel(npc, a) as ch:
        await _entries(audit_stub(ch), "chengdu", with_payloads=True, purpose="检查")
        public = await _entries(audit_stub(ch), "chengdu", with_payloads=True, purpose="检查")
        assert [e.HasField("payload") for e in public] == [True, False]
        reply = await audit_stub(ch).Payloads(
            audit_pb2.PayloadsRequest(origin="chengdu", indexes=[1], purpose="检查"), timeout=10
        )
        assert (list(reply.indexes), list(reply.withheld)) == ([], [1])
    async with channel(procuratorate, a) as ch:
        reply = await audit_stub(ch).Payloads(
            audit_pb2.PayloadsRequest(origin="chengdu", indexes=[1, 99], purpose="专项检查"),
            timeout=10,
        )
        assert (list(reply.indexes), list(reply.withheld)) == ([1], [99])
        assert reply.entries[0].HasField("payload")
    actors = [(actor.rsplit("/", 1)[-1], r.purpose) for actor, r in await access_records(a)]
    assert ("procuratorate", "专项检查") in actors
    assert actors.count(("npc", "检查")) == 2  # one per Entries call that returned payloads


async def test_a_node_cannot_use_auditor_only_reads(federation: Federation) -> None:
    a = await federation.start("chengdu")
    b = await federation.start("chongqing")
    await submit_listings(a, 1)
    async with channel(issue_auditor(federation), a) as ch:  # leaves a restricted entry
        await _entries(audit_stub(ch), "chengdu", with_payloads=True, purpose="检查")

    async def two_entries() -> bool:
        return len(await own_entries(a)) == 2

    await eventually(two_entries)
    chongqing_certs = b.config.certs_dir
    async with channel(chongqing_certs, a) as ch:
        stub = audit_stub(ch)
        for call in (
            stub.Payloads(
                audit_pb2.PayloadsRequest(origin="chengdu", indexes=[1], purpose="x"), timeout=10
            ),
            stub.Refusals(audit_pb2.AuditRefusalsRequest(), timeout=10),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await call
            assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        # Through the reads nodes may use, a node sees only payloads addressed to it.
        entries = await _entries(stub, "chengdu", with_payloads=True)
        assert [e.HasField("payload") for e in entries] == [True, False]
        proof = await stub.InclusionProof(
            audit_pb2.InclusionProofRequest(origin="chengdu", index=1), timeout=10
        )
        assert not proof.entry.HasField("payload")
    refused = await _refusals(a)
    assert sorted((m, r) for _, m, r in refused) == [
        ("Audit.Payloads", "role_not_allowed:node"),
        ("Audit.Refusals", "role_not_allowed:node"),
    ]
    # Node reads are machine reads, not a person's: nothing new recorded for them.
    assert len(await own_entries(a)) == 2


async def test_remote_log_and_report_with_cli_issued_certificates(
    federation: Federation, tmp_path
) -> None:
    from tests.integration.auditkit import address, cli_fails, cli_ok, json_of

    grant_payloads(federation, "chengdu", "procuratorate")
    a = await federation.start("chengdu")
    await submit_listings(a, 2)
    certs = {}
    for name in ("npc", "procuratorate"):
        certs[name] = tmp_path / name
        await cli_ok("certs", "issue", "--ca", federation.ca, "--auditor", name,
                     "--out", certs[name])  # fmt: skip
    remote = ["--node", address(a), "--cert", certs["npc"]]
    doc = json_of(await cli_ok("audit", "log", *remote, "--json"))
    assert [e["entry_id"] for e in doc["entries"]] == ["chengdu/0", "chengdu/1"]
    assert all(e["payload"] is None for e in doc["entries"])
    refused = await cli_fails(1, "audit", "log", *remote, "--reveal", "--purpose", "核对")
    assert "does not grant you personal data" in refused.stderr
    # Masked public payloads for npc, recorded on chengdu.
    doc = json_of(await cli_ok("audit", "log", *remote, "--payloads", "--purpose", "核对",
                               "--json"))  # fmt: skip
    debtor = doc["entries"][0]["payload"]["record"]["debtor"]
    assert debtor["id_number"].count("*") == 4
    # The granted procuratorate sees them unmasked; that read is recorded too.
    granted = ["--node", address(a), "--cert", certs["procuratorate"], "--node-id", "chengdu"]
    doc = json_of(await cli_ok("audit", "log", *granted, "--kind", "BLACKLIST_LISTED",
                               "--reveal", "--purpose", "专项检查", "--json"))  # fmt: skip
    assert "*" not in doc["entries"][0]["payload"]["record"]["debtor"]["id_number"]
    actors = [actor.rsplit("/", 1)[-1] for actor, _ in await access_records(a)]
    assert actors == ["npc", "procuratorate"]
    # Insisting on another node id than the server's certificate fails the handshake.
    wrong = ["--node", address(a), "--cert", certs["npc"], "--node-id", "chongqing"]
    assert (
        "Hostname Verification Check failed" in (await cli_fails(4, "audit", "log", *wrong)).stderr
    )
    out = tmp_path / "report.html"
    await cli_ok("audit", "report", *remote, "--out", out)
    page = out.read_text(encoding="utf-8")
    assert (
        "审计报告 Audit report — chengdu" in page and "spiffe://chengyu.court/auditor/npc" in page
    )
