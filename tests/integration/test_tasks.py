"""Delegated tasks between two real nodes over mutual TLS: whole-case and matter delegations
run to completion and fold identically on both nodes; cancel races complete across a
partition; wrong sides and over-amount seizures are refused; every time limit flags on the day
it passes on a fake clock; the ledger warns 30 days before a seizure expires and queues later
seizures of one asset; ``--as-of`` asks both nodes what the limits and the ledger say on a
given day, from the command line, without moving a clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import grpc
import pytest
from click.testing import CliRunner

from ccnode.v1 import admin_pb2, log_pb2, payloads_pb2, tasks_pb2, tasks_pb2_grpc
from cli.main import main
from node.clock import FakeClock
from node.runtime.node import Node
from sync.folds import tasks as tf
from sync.payload import body_name
from tests.integration.harness import Federation, admin, eventually, without_officer_check

pytestmark = pytest.mark.integration

CASE = "（2024）川0104执1234号"
ID = "510104199003071237"
DOC = payloads_pb2.DocumentRef(name="委托执行函", sha256=b"\x11" * 32)


def tasks(node: Node) -> tasks_pb2_grpc.TasksStub:
    return tasks_pb2_grpc.TasksStub(grpc.aio.insecure_channel(f"unix://{node.config.admin_socket}"))


def delegation(
    *,
    scope: int = payloads_pb2.MATTER,
    matter: int = payloads_pb2.FREEZE,
    case: str = CASE,
    amount_fen: int = 1_000_000,
    costs_fen: int = 0,
    receiving: str = "chongqing",
    receiving_court: str = "渝0103",
) -> admin_pb2.Draft:
    body = payloads_pb2.TaskDelegated(
        scope=scope,  # type: ignore[arg-type]
        matter=matter if scope == payloads_pb2.MATTER else 0,  # type: ignore[arg-type]
        case_number=case,
        judge="王法官",
        receiving_node=receiving,
        receiving_court=receiving_court,
        debtor=payloads_pb2.Debtor(type=payloads_pb2.PERSON, name="张三", id_number=ID),
        assets=[payloads_pb2.AssetRecord(asset_id="acct-1", category=payloads_pb2.DEPOSIT)],
        amount_fen=amount_fen,
        costs_fen=costs_fen,
        documents=[DOC],
    )
    return admin_pb2.Draft(
        kind=log_pb2.TASK_DELEGATED, payload=payloads_pb2.Payload(task_delegated=body)
    )


def step(kind: int, subject: str, body: object) -> admin_pb2.Draft:
    payload = payloads_pb2.Payload()
    getattr(payload, body_name(kind)).CopyFrom(body)
    return admin_pb2.Draft(kind=kind, subject=subject, payload=payload)  # type: ignore[arg-type]


def measure(
    asset_id: str = "acct-1",
    value_fen: int = 500_000,
    *,
    category: int = payloads_pb2.DEPOSIT,
    term_days: int = 365,
    indivisible_reason: str = "",
) -> payloads_pb2.SeizureMeasure:
    return payloads_pb2.SeizureMeasure(
        asset=payloads_pb2.AssetRecord(asset_id=asset_id, category=category),  # type: ignore[arg-type]
        value_fen=value_fen,
        term_days=term_days,
        indivisible=bool(indivisible_reason),
        indivisible_reason=indivisible_reason,
    )


async def submit(node: Node, *drafts: admin_pb2.Draft) -> admin_pb2.SubmitResponse:
    return await admin(node).Submit(admin_pb2.SubmitRequest(drafts=drafts, actor="法官"))


async def refused(node: Node, *drafts: admin_pb2.Draft) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await submit(node, *drafts)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert ID not in (err.value.details() or "")
    return err.value.details() or ""


async def row(node: Node, subject: str) -> dict | None:
    return (await node.parts.db.read(node.parts.db.store.get_rows, tf.TABLE, [subject])).get(
        subject
    )


async def same_row(nodes: Sequence[Node], subject: str, events: int) -> dict:
    """Wait until every node holds the task with ``events`` events and the same row."""

    async def check() -> bool:
        rows = [await row(n, subject) for n in nodes]
        if any(r is None or len(tf.state_of(r).events) != events for r in rows):
            return False
        return all(r == rows[0] for r in rows)

    await eventually(check)
    first = await row(nodes[0], subject)
    assert first is not None
    return first


async def item(node: Node, subject: str) -> tasks_pb2.TaskItem:
    return (await tasks(node).Get(tasks_pb2.TaskGetRequest(subject=subject))).item


async def pair(federation: Federation, clock: FakeClock | None = None) -> tuple[Node, Node]:
    a = await federation.start("chengdu", clock=clock)
    b = await federation.start("chongqing", clock=clock)
    await federation.link("chengdu", "chongqing")
    return a, b


# ---------------------------------------------------------------- lifecycles


async def test_whole_case_delegation_runs_to_completion_on_both_nodes(
    federation: Federation,
) -> None:
    a, b = await pair(federation)
    c = await federation.start("mianyang")  # not a party: holds headers only
    await federation.peer("mianyang", "chengdu")
    subject = (await submit(a, delegation(scope=payloads_pb2.WHOLE_CASE))).subjects[0]
    assert subject == "chengdu/task/0"
    await same_row([a, b], subject, 1)
    accept = payloads_pb2.TaskAccepted(judge="李法官", registered_case_number="(2025)渝0103执7号")
    await submit(b, step(log_pb2.TASK_ACCEPTED, subject, accept))
    await same_row([a, b], subject, 2)
    report = payloads_pb2.TaskProgress(report="已查询银行", measures=[measure()])
    await submit(b, step(log_pb2.TASK_PROGRESS, subject, report))
    await submit(a, step(log_pb2.TASK_SUPPLEMENTED, subject, payloads_pb2.TaskSupplemented(
        documents=[payloads_pb2.DocumentRef(name="补充材料", sha256=b"\x22" * 32)])))  # fmt: skip
    await same_row([a, b], subject, 4)
    done = payloads_pb2.TaskCompleted(result="执行完毕", found=[measure().asset])
    await submit(b, step(log_pb2.TASK_COMPLETED, subject, done))
    final = await same_row([a, b], subject, 5)
    got = tf.state_of(final)
    assert got.status == "completed"
    assert got.registered_case_number == "（2025）渝0103执7号"
    assert [e.outcome for e in got.events] == ["applied"] * 5
    assert [d.name for d in got.documents] == ["委托执行函", "补充材料"]
    assert [s.seizure_id for s in got.seizures] == [f"{subject}/s1"]
    # Parents: each event names the last events of the task its author held.
    assert list(got.events[1].parents) == ["chengdu/0"]
    # The same view through the API on both nodes, identifiers masked.
    on_a, on_b = await item(a, subject), await item(b, subject)
    assert on_a == on_b
    assert on_a.delegation.debtor.id_number == "5101041990****1237"
    assert all(not e.payload for e in on_a.events)
    # The third node agrees on the status from headers alone.
    await eventually(lambda: _status(c, subject, "completed"))
    third = tf.state_of(await row(c, subject))  # type: ignore[arg-type]
    assert third.details_unknown and not third.HasField("delegation")
    assert third.delegated_on == got.delegated_on and third.finished_on == got.finished_on


async def _status(node: Node, subject: str, status: str) -> bool:
    r = await row(node, subject)
    return r is not None and r["status"] == status


async def test_matter_delegation_freezes_and_completes_with_its_ledger(
    federation: Federation,
) -> None:
    a, b = await pair(federation)
    subject = (await submit(a, delegation())).subjects[0]
    await same_row([a, b], subject, 1)
    await submit(b, step(log_pb2.TASK_ACCEPTED, subject, payloads_pb2.TaskAccepted(judge="李")))
    done = payloads_pb2.TaskCompleted(
        result="已冻结", measures=[measure("acct-1", 300_000), measure("acct-2", 200_000)]
    )
    reply = await submit(b, step(log_pb2.TASK_COMPLETED, subject, done))
    assert reply.warnings == []
    await same_row([a, b], subject, 3)
    for node in (a, b):
        ledger = await tasks(node).Seizures(tasks_pb2.SeizuresRequest(case_number=CASE))
        assert [(s.seizure_id, s.state, s.measure.value_fen) for s in ledger.items] == [
            (f"{subject}/s1", "in_effect", 300_000),
            (f"{subject}/s2", "in_effect", 200_000),
        ]
        (total,) = ledger.cases
        assert (total.cap_fen, total.in_effect_fen, total.over_fen) == (1_000_000, 500_000, 0)
    rows_a = await a.parts.db.read(a.parts.db.store.get_rows, tf.SEIZURE_TABLE, [f"{subject}/s1"])
    rows_b = await b.parts.db.read(b.parts.db.store.get_rows, tf.SEIZURE_TABLE, [f"{subject}/s1"])
    assert rows_a == rows_b and rows_a


# ---------------------------------------------------------------- concurrency


async def test_cancel_raced_against_complete_in_a_partition(federation: Federation) -> None:
    a, b = await pair(federation)
    subject = (await submit(a, delegation())).subjects[0]
    await same_row([a, b], subject, 1)
    await submit(b, step(log_pb2.TASK_ACCEPTED, subject, payloads_pb2.TaskAccepted(judge="李")))
    await same_row([a, b], subject, 2)
    # Partition: neither node hears the other.
    assert await a.parts.links.remove_peer("chongqing") and await b.parts.links.remove_peer(
        "chengdu"
    )
    await submit(
        a, step(log_pb2.TASK_CANCELLED, subject, payloads_pb2.TaskCancelled(reason="已和解"))
    )
    done = payloads_pb2.TaskCompleted(result="已冻结", measures=[measure()])
    await submit(b, step(log_pb2.TASK_COMPLETED, subject, done))
    assert (await row(a, subject))["status"] == "cancelled"  # type: ignore[index]
    assert (await row(b, subject))["status"] == "completed"  # type: ignore[index]
    # Heal: both converge on the written rule — facts beat intents.
    await federation.link("chengdu", "chongqing")
    final = tf.state_of(await same_row([a, b], subject, 4))
    assert final.status == "completed"
    assert final.cancel_too_late
    cancel = next(e for e in final.events if e.kind == log_pb2.TASK_CANCELLED)
    assert (cancel.outcome, cancel.rule) == ("too_late", "too_late")
    assert final.seizures[0].follow_up == "release_needed:cancel_too_late"
    assert any(f.startswith("release_needed") for f in final.follow_ups)
    for node in (a, b):
        ledger = await tasks(node).Seizures(tasks_pb2.SeizuresRequest(task=subject))
        assert "release_needed" in ledger.items[0].flags
    # The follow-up is acted on: the delegating court releases; the flag goes.
    freed = payloads_pb2.SeizureReleased(seizure_id=f"{subject}/s1", reason="已和解")
    await submit(a, step(log_pb2.SEIZURE_RELEASED, subject, freed))
    final = tf.state_of(await same_row([a, b], subject, 5))
    assert final.seizures[0].status == "released"


# ---------------------------------------------------------------- refusals


async def test_a_task_for_a_court_the_receiving_node_does_not_serve_cannot_be_accepted(
    federation: Federation,
) -> None:
    """chongqing serves 渝01: a task naming a 川 receiving court is refused at acceptance, on
    the one node besides the sender that holds the delegation's payload."""
    a, b = await pair(federation)
    subject = (await submit(a, delegation(receiving_court="川0703"))).subjects[0]
    await same_row([a, b], subject, 1)
    accept = payloads_pb2.TaskAccepted(judge="李法官")
    details = await refused(b, step(log_pb2.TASK_ACCEPTED, subject, accept))
    assert "receiving_court" in details and "court_not_served" in details
    assert tf.state_of(await same_row([a, b], subject, 1)).status == "delegated"


async def test_a_task_from_a_node_not_entitled_to_the_delegating_court_cannot_be_accepted(
    federation: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node whose log certificate names no court (its software changed so that its own
    preparer lets the delegation through) delegates a 川0104 case: the receiving node holds
    the delegation's payload and refuses to accept it."""
    without_officer_check(monkeypatch)  # nor does it check its (empty) officer register
    import dataclasses

    from node.businesses.tasks.prepare import prepare_task
    from node.ownlog.preparers import PREPARERS
    from node.runtime.registry import DEFAULT

    def lax(draft: Any, rows: Any, ctx: Any) -> Any:
        return prepare_task(draft, rows, dataclasses.replace(ctx, court_prefixes=("川01",)))

    registry = dataclasses.replace(DEFAULT, preparers={**PREPARERS, log_pb2.TASK_DELEGATED: lax})
    evil = await federation.start("evil", registry=registry)
    b = await federation.start("chongqing")
    await federation.link("evil", "chongqing")
    subject = (await submit(evil, delegation())).subjects[0]
    await same_row([evil, b], subject, 1)
    accept = payloads_pb2.TaskAccepted(judge="李法官")
    details = await refused(b, step(log_pb2.TASK_ACCEPTED, subject, accept))
    assert "delegating_court" in details and "court_not_served" in details


async def test_a_step_by_the_wrong_side_is_refused(federation: Federation) -> None:
    a, b = await pair(federation)
    c = await federation.start("mianyang")
    await federation.peer("mianyang", "chengdu")
    subject = (await submit(a, delegation())).subjects[0]
    await same_row([a, b], subject, 1)
    accept = step(log_pb2.TASK_ACCEPTED, subject, payloads_pb2.TaskAccepted(judge="王"))
    assert "wrong_side" in await refused(a, accept)
    cancel = step(log_pb2.TASK_CANCELLED, subject, payloads_pb2.TaskCancelled(reason="x"))
    assert "wrong_side" in await refused(b, cancel)
    await eventually(lambda: _status(c, subject, "delegated"))
    assert "wrong_side" in await refused(c, accept)
    # A step in the wrong state names the fold's rule.
    report = step(log_pb2.TASK_PROGRESS, subject, payloads_pb2.TaskProgress(report="x"))
    assert "rule: state" in await refused(b, report)
    # Written reasons are required for a return.
    ret = step(log_pb2.TASK_RETURNED, subject, payloads_pb2.TaskReturned(reason=" "))
    assert "reason" in await refused(b, ret)
    blank = step(log_pb2.TASK_CANCELLED, subject, payloads_pb2.TaskCancelled(reason=" "))
    assert "reason: a cancellation needs its reason" in await refused(a, blank)
    bad_doc = payloads_pb2.TaskSupplemented(
        documents=[payloads_pb2.DocumentRef(name="补充", sha256=b"short")]
    )
    assert "documents[0].sha256" in await refused(
        a, step(log_pb2.TASK_SUPPLEMENTED, subject, bad_doc)
    )
    assert len(tf.state_of(await row(a, subject)).events) == 1  # type: ignore[arg-type]


async def test_over_amount_seizure_is_refused_except_one_indivisible_asset(
    federation: Federation,
) -> None:
    a, b = await pair(federation)
    subject = (await submit(a, delegation(amount_fen=400_000, costs_fen=20_000))).subjects[0]
    await same_row([a, b], subject, 1)
    await submit(b, step(log_pb2.TASK_ACCEPTED, subject, payloads_pb2.TaskAccepted(judge="李")))
    too_much = payloads_pb2.TaskProgress(report="冻结", measures=[measure(value_fen=420_001)])
    assert "over_amount" in await refused(b, step(log_pb2.TASK_PROGRESS, subject, too_much))
    exact = payloads_pb2.TaskProgress(report="冻结", measures=[measure(value_fen=300_000)])
    await submit(b, step(log_pb2.TASK_PROGRESS, subject, exact))
    flat = measure(
        "flat-9", 2_000_000, category=payloads_pb2.REAL_ESTATE, term_days=1000,
        indivisible_reason="唯一房产，不可分割",
    )  # fmt: skip
    plain = measure("car-1", 2_000_000, category=payloads_pb2.VEHICLE, term_days=700)
    over = payloads_pb2.TaskCompleted(result="查封", measures=[plain])
    assert "over_amount" in await refused(b, step(log_pb2.TASK_COMPLETED, subject, over))
    whole = payloads_pb2.TaskCompleted(result="查封", measures=[flat])
    reply = await submit(b, step(log_pb2.TASK_COMPLETED, subject, whole))
    assert any("indivisible" in w for w in reply.warnings)
    await same_row([a, b], subject, 4)
    # The case is covered: the delegating court may not ask another region to freeze more.
    await eventually(lambda: _has_seizures(a, 2))
    assert "over_amount" in await refused(a, delegation(amount_fen=400_000, costs_fen=20_000))
    ledger = await tasks(a).Seizures(tasks_pb2.SeizuresRequest(case_number=CASE))
    # The flat stays; the excess it leaves is released from the case's other measures.
    flags = {s.measure.asset.asset_id: (s.release_order, set(s.flags)) for s in ledger.items}
    assert flags["flat-9"] == (0, set())
    assert flags["acct-1"] == (1, {"over_amount", "indivisible_excess", "release_needed"})


async def _has_seizures(node: Node, n: int) -> bool:
    ledger = await tasks(node).Seizures(tasks_pb2.SeizuresRequest())
    return len(ledger.items) >= n


# ---------------------------------------------------------------- time limits


async def _flags(node: Node, subject: str) -> set[str]:
    overdue = await tasks(node).Overdue(tasks_pb2.TaskOverdueRequest())
    return {f.code for i in overdue.items if i.subject == subject for f in i.flags}


async def _flags_on_both(nodes: Sequence[Node], subject: str) -> set[str]:
    seen = [await _flags(n, subject) for n in nodes]
    assert all(s == seen[0] for s in seen), seen
    return seen[0]


async def test_each_time_limit_flags_on_time_on_both_nodes(federation: Federation) -> None:
    clock = FakeClock()  # 2025-01-01 08:00 CST, both nodes
    a, b = await pair(federation, clock)
    subject = (await submit(a, delegation())).subjects[0]
    await same_row([a, b], subject, 1)
    clock.advance(days=7)  # 2025-01-08: the 7th day, still in time
    assert await _flags_on_both([a, b], subject) == set()
    clock.advance(days=1)
    assert await _flags_on_both([a, b], subject) == {"register_overdue"}
    await submit(b, step(log_pb2.TASK_ACCEPTED, subject, payloads_pb2.TaskAccepted(judge="李")))
    await same_row([a, b], subject, 2)
    assert await _flags_on_both([a, b], subject) == set()
    clock.advance(days=8)  # 2025-01-17: 16 days after the delegation, not started
    assert await _flags_on_both([a, b], subject) == {"start_overdue"}
    report = payloads_pb2.TaskProgress(report="开始执行")
    await submit(b, step(log_pb2.TASK_PROGRESS, subject, report))
    await same_row([a, b], subject, 3)
    clock.advance(days=30)  # 30 days after the last report: in time
    assert await _flags_on_both([a, b], subject) == set()
    clock.advance(days=1)
    assert await _flags_on_both([a, b], subject) == {"report_overdue"}
    await submit(b, step(log_pb2.TASK_PROGRESS, subject, report))
    events = 4
    # A report every 25 days until 2025-07-01, six months after the delegation.
    days = 0
    while await _today(a) < "2025-07-01":
        clock.advance(days=1)
        days += 1
        if days % 25 == 0:
            await submit(b, step(log_pb2.TASK_PROGRESS, subject, report))
            events += 1
    await same_row([a, b], subject, events)
    assert await _flags_on_both([a, b], subject) == set()
    clock.advance(days=1)
    assert await _flags_on_both([a, b], subject) == {"escalation"}
    board = await tasks(a).Board(tasks_pb2.TaskBoardRequest())
    assert board.overdue == 1 and board.by_flag["escalation"] == 1
    (group,) = board.rows
    assert (group.region, group.role, group.by_status["in_progress"]) == (
        "chongqing",
        "delegated",
        1,
    )


async def ccnode_json(node: Node, *args: str) -> Any:
    """``ccnode ARGS --home HOME --json`` against a real node, in a worker thread (the nodes
    keep serving on this event loop)."""
    argv = [*args, "--home", str(node.config.home), "--json"]
    result = await asyncio.to_thread(CliRunner().invoke, main, argv)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return json.loads(result.stdout)


async def _overdue_as_of(nodes: Sequence[Node], subject: str, day: str) -> set[str]:
    """The flags of ``subject`` in ``tasks overdue --as-of DAY``, the same on every node."""
    seen = []
    for node in nodes:
        doc = await ccnode_json(node, "tasks", "overdue", "--as-of", day)
        assert (doc["as_of"], doc["today"]) == (day, "2025-01-01")
        seen.append({f["code"] for i in doc["items"] if i["subject"] == subject
                     for f in i["flags"]})  # fmt: skip
    assert all(s == seen[0] for s in seen), seen
    return seen[0]


async def test_as_of_shows_the_time_limits_of_a_day_on_both_nodes(
    federation: Federation,
) -> None:
    clock = FakeClock()  # 2025-01-01 on both nodes; it does not move in this test
    a, b = await pair(federation, clock)
    subject = (await submit(a, delegation())).subjects[0]
    await same_row([a, b], subject, 1)
    # Registration within 7 days (DOMAIN.md): still in time as of the 7th day after the
    # delegation, overdue as of the 8th, whichever node is asked.
    assert await _overdue_as_of([a, b], subject, "2025-01-08") == set()
    assert await _overdue_as_of([a, b], subject, "2025-01-09") == {"register_overdue"}
    assert await _overdue_as_of([a, b], subject, "2025-01-17") == {
        "register_overdue",
        "start_overdue",
    }
    # Today itself is what it was: nothing is overdue yet.
    assert (await ccnode_json(a, "tasks", "overdue"))["items"] == []
    for node in (a, b):
        board = await ccnode_json(node, "tasks", "board", "--as-of", "2025-01-09")
        assert (board["as_of"], board["overdue"], board["by_flag"]) == (
            "2025-01-09",
            1,
            {"register_overdue": 1},
        )
        assert (await ccnode_json(node, "tasks", "board"))["overdue"] == 0


async def test_as_of_shows_the_seizures_expiring_on_a_day_on_both_nodes(
    federation: Federation,
) -> None:
    clock = FakeClock()  # 2025-01-01
    a, b = await pair(federation, clock)
    subject = (await submit(a, delegation())).subjects[0]
    await same_row([a, b], subject, 1)
    await submit(b, step(log_pb2.TASK_ACCEPTED, subject, payloads_pb2.TaskAccepted(judge="李")))
    done = payloads_pb2.TaskCompleted(result="已冻结", measures=[measure()])  # last day 12-31
    await submit(b, step(log_pb2.TASK_COMPLETED, subject, done))
    await same_row([a, b], subject, 3)
    for node in (a, b):
        # 31 days left as of 2025-11-30: not yet within the 30-day warning.
        early = await ccnode_json(node, "seizures", "expiring", "--as-of", "2025-11-30")
        assert (early["as_of"], early["items"]) == ("2025-11-30", [])
        # The term ends in 20 days as of 2025-12-11: expiring.
        doc = await ccnode_json(node, "seizures", "expiring", "--as-of", "2025-12-11")
        assert doc["as_of"] == "2025-12-11"
        assert [(s["seizure_id"], s["days_left"], s["flags"]) for s in doc["items"]] == [
            (f"{subject}/s1", 20, ["expiring"])
        ]
        assert (await ccnode_json(node, "seizures", "expiring"))["items"] == []


async def _today(node: Node) -> str:
    return (await tasks(node).Overdue(tasks_pb2.TaskOverdueRequest())).today


async def test_materials_missing_30_days_count_as_withdrawn(federation: Federation) -> None:
    clock = FakeClock()
    a, b = await pair(federation, clock)
    subject = (await submit(a, delegation())).subjects[0]
    await same_row([a, b], subject, 1)
    ret = payloads_pb2.TaskReturned(reason="缺少生效法律文书")
    await submit(b, step(log_pb2.TASK_RETURNED, subject, ret))
    await same_row([a, b], subject, 2)
    clock.advance(days=30)
    assert await _flags_on_both([a, b], subject) == set()
    clock.advance(days=1)
    assert "withdrawn" in await _flags_on_both([a, b], subject)
    late = payloads_pb2.TaskSupplemented(documents=[DOC])
    assert "materials_late" in await refused(a, step(log_pb2.TASK_SUPPLEMENTED, subject, late))


# ---------------------------------------------------------------- the ledger


async def test_renewal_warning_appears_at_30_days(federation: Federation) -> None:
    clock = FakeClock()  # 2025-01-01
    a, b = await pair(federation, clock)
    subject = (await submit(a, delegation())).subjects[0]
    await same_row([a, b], subject, 1)
    await submit(b, step(log_pb2.TASK_ACCEPTED, subject, payloads_pb2.TaskAccepted(judge="李")))
    done = payloads_pb2.TaskCompleted(result="已冻结", measures=[measure()])
    await submit(b, step(log_pb2.TASK_COMPLETED, subject, done))
    await same_row([a, b], subject, 3)

    async def expiring(node: Node) -> list[tuple[str, int]]:
        reply = await tasks(node).SeizuresExpiring(tasks_pb2.SeizuresExpiringRequest())
        return [(s.seizure_id, s.days_left) for s in reply.items]

    clock.advance(days=333)  # 2025-11-30: 31 days left (last day 2025-12-31)
    assert await expiring(a) == await expiring(b) == []
    clock.advance(days=1)
    assert await expiring(a) == await expiring(b) == [(f"{subject}/s1", 30)]
    # Renewed before expiry by the delegating court, for the same maximum again.
    renew = payloads_pb2.SeizureRenewed(seizure_id=f"{subject}/s1")
    await submit(a, step(log_pb2.SEIZURE_RENEWED, subject, renew))
    final = tf.state_of(await same_row([a, b], subject, 4))
    assert final.seizures[0].end_on == "2026-12-31"
    assert await expiring(a) == await expiring(b) == []
    clock.advance(days=31 + 366)  # 2027-01-01: lapsed, a renewal now is refused
    lapsed = await tasks(a).Seizures(tasks_pb2.SeizuresRequest(task=subject))
    assert lapsed.items[0].state == "lapsed"
    assert "lapsed" in await refused(a, step(log_pb2.SEIZURE_RENEWED, subject, renew))


async def test_a_later_seizure_of_the_same_asset_queues_until_the_first_is_released(
    federation: Federation,
) -> None:
    a, b = await pair(federation)
    first = (await submit(a, delegation(case="（2024）川0104执1号"))).subjects[0]
    second = (await submit(a, delegation(case="（2024）川0105执2号"))).subjects[0]
    await same_row([a, b], second, 1)
    for subject in (first, second):
        await submit(b, step(log_pb2.TASK_ACCEPTED, subject, payloads_pb2.TaskAccepted(judge="李")))
        done = payloads_pb2.TaskCompleted(result="冻结", measures=[measure("acct-7", 100_000)])
        await submit(b, step(log_pb2.TASK_COMPLETED, subject, done))
    await same_row([a, b], second, 3)
    ledger = await tasks(a).Seizures(tasks_pb2.SeizuresRequest())
    states = {s.seizure_id: (s.state, s.measure.queue_position) for s in ledger.items}
    assert states == {f"{first}/s1": ("in_effect", 0), f"{second}/s1": ("queued", 1)}
    (queued,) = (await item(a, second)).seizures
    assert (queued.state, queued.queue_ahead) == ("queued", 1)
    freed = payloads_pb2.SeizureReleased(seizure_id=f"{first}/s1", reason="履行完毕")
    await submit(b, step(log_pb2.SEIZURE_RELEASED, first, freed))
    await same_row([a, b], first, 4)
    ledger = await tasks(a).Seizures(tasks_pb2.SeizuresRequest())
    states = {s.seizure_id: s.state for s in ledger.items}
    assert states == {f"{first}/s1": "released", f"{second}/s1": "in_effect"}
    (now,) = (await item(b, second)).seizures
    assert (now.state, now.effective_on) == ("in_effect", ledger.today)
