"""Payload retention between real nodes over mutual TLS, on a fake clock: after the periods,
the payloads of closed matters are purged on each node, reads say when and by which rule, the
proofs and the store verification still pass, the folded state is what it was, open matters
are untouched, and a peer asking for a purged payload is told so."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from ccnode.v1 import (
    admin_pb2,
    audit_pb2,
    federation_pb2,
    federation_pb2_grpc,
    log_pb2,
    lookups_pb2,
    payloads_pb2,
    tasks_pb2,
)
from node.businesses.retention import RetentionPurge, RunResult
from node.clock import FakeClock, today
from node.runtime.node import Node
from node.store.base import STATE_TABLES, PeerRecord, RowQuery
from tests.integration.auditkit import (
    address,
    audit_stub,
    channel,
    cli_ok,
    grant_payloads,
    issue_auditor,
    json_of,
)
from tests.integration.harness import Federation, admin, eventually, listing, register_party
from tests.integration.test_lookups import CASE as LOOKUP_CASE
from tests.integration.test_lookups import DEBTOR as LOOKUP_DEBTOR
from tests.integration.test_lookups import REGISTRY, _import, lookups, request
from tests.integration.test_tasks import delegation, measure, step, submit, tasks

pytestmark = pytest.mark.integration

A, B, C = "chengdu", "chongqing", "mianyang"
DEBTOR = "510104199003071237"
FIVE_YEARS_DAYS = 1830  # past every default period (the longest: blacklist, 1,825 days)


def _job(node: Node) -> RetentionPurge:
    return next(p for p in node.background if isinstance(p, RetentionPurge))


async def _rows(node: Node) -> dict[str, list[dict[str, Any]]]:
    store = node.parts.db.store
    out = {}
    for table in STATE_TABLES:
        rows, _ = await node.parts.db.read(store.query_rows, RowQuery(table=table, limit=10_000))
        out[table] = rows
    return out


async def _held(node: Node) -> dict[str, bool]:
    """Per entry id, whether this node holds its payload."""
    store = node.parts.db.store
    out = {}
    for origin, size in (await node.parts.db.read(store.vector)).items():
        for e in await node.parts.db.read(store.entries, origin, 0, size):
            out[f"{origin}/{e.index}"] = e.payload is not None
    return out


async def _same_vectors(a: Node, b: Node) -> bool:
    va = await a.parts.db.read(a.parts.db.store.vector)
    vb = await b.parts.db.read(b.parts.db.store.vector)
    if va != vb:
        return False
    # Each node's link has heard the other report holding everything (the purge waits for it).
    sa, sb = a.parts.links.status(B), b.parts.links.status(A)
    return bool(sa and sb and sa.peer_sizes == va and sb.peer_sizes == vb)


def _delisting(subject: str) -> admin_pb2.Draft:
    return admin_pb2.Draft(
        kind=log_pb2.BLACKLIST_DELISTED,
        subject=subject,
        payload=payloads_pb2.Payload(
            blacklist_delisted=payloads_pb2.BlacklistDelisted(
                ground=payloads_pb2.D1, reason="全部履行完毕"
            )
        ),
    )


async def _matters(a: Node, b: Node) -> dict[str, str]:
    """On chengdu: a listing later delisted (its log's entries 0 and 1), a current listing, a
    lookup answered by chongqing, a task run to completion and a task still open."""
    out: dict[str, str] = {}
    ack = await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="王五"))
    out["delisted"] = ack.subjects[0]
    assert ack.entry_ids[0] == f"{A}/0"
    await admin(a).Submit(
        admin_pb2.SubmitRequest(drafts=[_delisting(out["delisted"])], actor="王五")
    )
    current = listing(id_number="11010519491231002X", name="李四")
    out["listed"] = (
        await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[current], actor="王五"))
    ).subjects[0]
    await register_party(a, LOOKUP_CASE, id_number=LOOKUP_DEBTOR)
    result = await lookups(a).Request(request())
    assert result.item.status == "answered" and len(result.assets) == 2
    out["lookup"] = result.item.subject
    done_task = (await submit(a, delegation(scope=payloads_pb2.WHOLE_CASE))).subjects[0]
    accept = payloads_pb2.TaskAccepted(judge="李法官", registered_case_number="(2025)渝0103执7号")
    await eventually(lambda: _task_status(b, done_task, "delegated"))
    await submit(b, step(log_pb2.TASK_ACCEPTED, done_task, accept))
    await eventually(lambda: _task_status(b, done_task, "accepted"))
    finished = payloads_pb2.TaskCompleted(result="执行完毕", found=[measure().asset])
    await submit(b, step(log_pb2.TASK_COMPLETED, done_task, finished))
    out["done_task"] = done_task
    # Another case: the first one is closed for delegation while its whole-case task stands.
    open_delegation = delegation(scope=payloads_pb2.WHOLE_CASE, case="（2025）川0104执1235号")
    out["open_task"] = (await submit(a, open_delegation)).subjects[0]
    await eventually(lambda: _task_status(a, done_task, "completed"))
    await eventually(lambda: _task_status(b, out["open_task"], "delegated"))
    return out


async def _task_status(node: Node, subject: str, status: str) -> bool:
    rows = await node.parts.db.read(node.parts.db.store.get_rows, "tasks", [subject])
    return subject in rows and rows[subject]["status"] == status


async def _run(node: Node) -> RunResult:
    return await _job(node).run_once()


async def test_closed_matters_are_purged_on_each_node_and_reads_say_so(
    federation: Federation,
) -> None:
    grant_payloads(federation, A, "npc")
    clock = FakeClock()
    a = await federation.start(A, clock=clock)
    b = await federation.start(B, clock=clock)
    await federation.peer(A, B)
    await b.parts.links.add_peer(PeerRecord(A, f"127.0.0.1:{a.port}", ("川01",)))
    await _import(b, REGISTRY)
    m = await _matters(a, b)
    await eventually(lambda: _same_vectors(a, b))
    rows_before = {A: await _rows(a), B: await _rows(b)}
    held_before = {A: await _held(a), B: await _held(b)}

    # Within the periods nothing is due; status says when it will be.
    assert (await _run(a)).purged == {} and (await _run(b)).purged == {}
    status = json_of(await cli_ok("retention", "status", "--home", a.config.home, "--json"))
    by_rule = {r["rule"]: r for r in status["rules"]}
    assert status["as_of"] == "2025-01-01" and status["enabled"] is True
    assert by_rule["blacklist"]["due"] == 0 and by_rule["blacklist"]["next_due_on"] == "2029-12-31"
    assert by_rule["lookup_answers"]["next_due_on"] == "2026-01-01"
    later = json_of(
        await cli_ok(
            "retention", "status", "--home", a.config.home, "--as-of", "2030-01-01", "--json"
        )
    )
    with pytest.raises(grpc.aio.AioRpcError) as bad_day:
        await admin(a).RetentionStatus(admin_pb2.RetentionStatusRequest(as_of="2030-02-30"))
    assert bad_day.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "as_of" in (bad_day.value.details() or "")
    due_later = {r["rule"]: r["due"] for r in later["rules"]}
    assert due_later["blacklist"] == 2  # the delisted listing's two entries, not the current
    assert due_later["lookup_requests"] == 1 and due_later["lookup_answers"] == 1
    assert due_later["tasks"] == 3  # delegated, accepted, completed: not the open task

    clock.advance(days=FIVE_YEARS_DAYS)
    purged_on = today(clock).isoformat()
    on_a, on_b = await _run(a), await _run(b)
    assert on_a.deferred == 0 and on_b.deferred == 0
    assert on_a.purged["blacklist"] == 2 and on_b.purged["blacklist"] == 2
    assert on_a.purged["tasks"] == 3 and on_b.purged["tasks"] == 3
    assert on_a.purged["lookup_requests"] == 1 and on_b.purged["lookup_requests"] == 1
    assert on_a.purged["lookup_answers"] == 1 and on_b.purged["lookup_answers"] == 1
    assert on_a.purged.get("access", 0) >= 1  # the lookup's result read, recorded on chengdu
    assert (await _run(a)).purged == {}  # nothing twice

    # Folded state: exactly what it was, on both nodes.
    assert await _rows(a) == rows_before[A]
    assert await _rows(b) == rows_before[B]
    # Open matters keep their payloads: the current listing and the open task.
    held = await _held(a)
    listed_entry = (await admin(a).BlacklistGet(admin_pb2.BlacklistGetRequest(
        subject=m["listed"]))).item.entry_id  # fmt: skip
    assert held[listed_entry] and held_before[A][listed_entry]
    open_entry = f"{A}/{m['open_task'].rsplit('/', 1)[1]}"
    assert held[open_entry] and (await _held(b))[open_entry]
    assert not held[f"{A}/0"] and not held[f"{A}/1"]

    # Reads say purged, with the day and the rule.
    note = f"purged on {purged_on} by retention rule"
    listing_read = await admin(a).BlacklistGet(admin_pb2.BlacklistGetRequest(subject=m["delisted"]))
    assert [(p.entry_id, p.rule) for p in listing_read.purged] == [
        (f"{A}/0", "blacklist"),
        (f"{A}/1", "blacklist"),
    ]
    assert listing_read.purged[0].note == f"{note} blacklist"
    assert listing_read.item.status == "delisted"  # the folded row stands
    task_read = await tasks(b).Get(tasks_pb2.TaskGetRequest(subject=m["done_task"]))
    assert len(task_read.purged) == 3 and {p.rule for p in task_read.purged} == {"tasks"}
    assert all(p.purged_on == purged_on for p in task_read.purged)
    assert task_read.item.status == "completed"
    open_read = await tasks(a).Get(tasks_pb2.TaskGetRequest(subject=m["open_task"]))
    assert list(open_read.purged) == []
    lookup_read = await lookups(a).Get(
        lookups_pb2.GetLookupRequest(subject=m["lookup"], actor="法官王五", purpose="复核")
    )
    assert {p.rule for p in lookup_read.purged} == {"lookup_requests", "lookup_answers"}
    assert list(lookup_read.assets) == []  # the answer's assets are gone with its payload
    assert not lookup_read.debtor.id_number and not lookup_read.access_entry  # nothing read
    text = (await cli_ok("tasks", "show", "--home", b.config.home, m["done_task"])).stdout
    assert f"{note} tasks" in text
    shown = json_of(await cli_ok("blacklist", "show", "--home", a.config.home, m["delisted"],
                                 "--json"))  # fmt: skip
    assert [p["note"] for p in shown["purged"]] == [f"{note} blacklist"] * 2

    # Audit.Payloads: a purged payload is withheld and the answer says why.
    async with channel(issue_auditor(federation), a) as ch:
        reply = await audit_stub(ch).Payloads(
            audit_pb2.PayloadsRequest(origin=A, indexes=[0, 1, 2], purpose="复核"), timeout=10
        )
    assert list(reply.indexes) == [2] and list(reply.withheld) == [0, 1]
    assert [(p.entry_id, p.note) for p in reply.purged] == [
        (f"{A}/0", f"{note} blacklist"),
        (f"{A}/1", f"{note} blacklist"),
    ]

    # `ccnode audit log --payloads` says why a payload is not shown, remotely and locally.
    remote = ["--node", address(a), "--cert", issue_auditor(federation)]
    for source in (remote, ["--home", a.config.home, "--reader", "审计员"]):
        doc = json_of(await cli_ok("audit", "log", *source, "--origin", A, "--payloads",
                                   "--purpose", "复核", "--json"))  # fmt: skip
        status_of = {e["entry_id"]: e["payload_status"] for e in doc["entries"]}
        assert status_of[f"{A}/0"] == f"{note} blacklist", source
        assert status_of[f"{A}/2"] == "read"

    # Headers, digests and proofs stay valid: Admin.Verify passes on both nodes.
    for node in (a, b):
        verified = await admin(node).Verify(admin_pb2.VerifyRequest())
        assert verified.ok, list(verified.problems)
    # A peer that still asks for a purged payload is told it is purged, not "no checkpoint".
    async with channel(federation.issue(C), a) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await federation_pb2_grpc.FederationStub(ch).Fetch(
                federation_pb2.FetchRequest(origin=A, start=0, end=2), timeout=10
            )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"payload of entry {A}/0 {note} blacklist" in (err.value.details() or "")

    # Open matters go on: the open task is accepted and folds the same on both nodes.
    accept = payloads_pb2.TaskAccepted(judge="李法官", registered_case_number="(2025)渝0103执8号")
    await submit(b, step(log_pb2.TASK_ACCEPTED, m["open_task"], accept))
    await eventually(lambda: _task_status(a, m["open_task"], "accepted"))
    await eventually(lambda: _same_vectors(a, b))
    assert (await _rows(a))["tasks"] == (await _rows(b))["tasks"]
    # Replication went on past the purge and brought no purged payload back.
    assert not (await _held(a))[f"{A}/0"] and not (await _held(b))[f"{A}/0"]
    status = json_of(await cli_ok("retention", "status", "--home", a.config.home, "--json"))
    purged = {r["rule"]: r["purged"] for r in status["rules"]}
    assert purged["blacklist"] == 2 and purged["tasks"] == 3
    assert all(r["due"] == 0 for r in status["rules"])

    # The offline verification of the stopped node's store passes too.
    await federation.stop(A)
    result = await cli_ok("audit", "verify", "--home", a.config.home, "--json")
    assert json_of(result)["ok"] is True


async def test_a_purge_waits_for_a_peer_that_has_not_reported_holding_the_entry(
    federation: Federation,
) -> None:
    clock = FakeClock()
    a = await federation.start(A, clock=clock)
    ack = await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="王五"))
    await admin(a).Submit(
        admin_pb2.SubmitRequest(drafts=[_delisting(ack.subjects[0])], actor="王五")
    )
    # A configured peer that is down: its link never reports what it holds.
    await a.parts.links.add_peer(PeerRecord(B, "127.0.0.1:9"))
    clock.advance(days=FIVE_YEARS_DAYS)
    result = await _run(a)
    assert result.purged == {} and result.deferred == 2
    assert (await _held(a))[f"{A}/0"]
    # The peer comes up (at another address) and catches up: now the purge goes ahead.
    b = await federation.start(B, clock=clock)
    await a.parts.links.remove_peer(B)
    await federation.link(A, B)
    await eventually(lambda: _same_vectors(a, b))
    assert (await _run(a)).purged == {"blacklist": 2}
    assert not (await _held(a))[f"{A}/0"]
    assert (await _held(b))[f"{A}/0"]  # chongqing purges its own copy on its own run
