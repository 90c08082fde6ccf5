"""The seizure ledger between two real nodes over mutual TLS: a task is not completed while a
measure it hands over — one already in the ledger, or one the completion itself carries — has
under a month left; a case one indivisible asset leaves over its cap shows which of its other
measures to release, in order, in ``ccnode seizures list`` on both nodes."""

from __future__ import annotations

import asyncio

from click.testing import CliRunner

from ccnode.v1 import log_pb2, payloads_pb2, tasks_pb2
from cli.main import main
from node.clock import FakeClock
from node.runtime.node import Node
from tests.integration.harness import Federation
from tests.integration.test_tasks import (
    CASE,
    ccnode_json,
    delegation,
    measure,
    pair,
    refused,
    same_row,
    step,
    submit,
    tasks,
)


async def test_a_measure_with_under_a_month_left_is_renewed_before_handover(
    federation: Federation,
) -> None:
    clock = FakeClock()  # 2025-01-01
    a, b = await pair(federation, clock)
    subject = (await submit(a, delegation())).subjects[0]
    await same_row([a, b], subject, 1)
    await submit(b, step(log_pb2.TASK_ACCEPTED, subject, payloads_pb2.TaskAccepted(judge="李")))
    report = payloads_pb2.TaskProgress(report="已冻结", measures=[measure()])
    await submit(b, step(log_pb2.TASK_PROGRESS, subject, report))
    await same_row([a, b], subject, 3)
    clock.advance(days=335)  # 2025-12-02: 29 days left (last day 2025-12-31)
    done = payloads_pb2.TaskCompleted(result="执行完毕")
    details = await refused(b, step(log_pb2.TASK_COMPLETED, subject, done))
    assert "[rule: renew_first]" in details and f"{subject}/s1" in details
    # A measure the completion carries is handed over too.
    short = measure("acct-2", 100_000, term_days=20)
    renew = payloads_pb2.SeizureRenewed(seizure_id=f"{subject}/s1")
    await submit(b, step(log_pb2.SEIZURE_RENEWED, subject, renew))
    await same_row([a, b], subject, 4)
    carried = payloads_pb2.TaskCompleted(result="执行完毕", measures=[short])
    details = await refused(b, step(log_pb2.TASK_COMPLETED, subject, carried))
    assert "measures[0].term_days:" in details and "[rule: renew_first]" in details
    # Renewed, and with a full term for the new one, the task is handed over.
    full = payloads_pb2.TaskCompleted(result="执行完毕", measures=[measure("acct-2", 100_000)])
    await submit(b, step(log_pb2.TASK_COMPLETED, subject, full))
    assert (await same_row([a, b], subject, 5))["status"] == "completed"


async def test_a_start_before_the_delegation_is_refused(federation: Federation) -> None:
    clock = FakeClock()  # 2025-01-01
    a, b = await pair(federation, clock)
    subject = (await submit(a, delegation())).subjects[0]
    await same_row([a, b], subject, 1)
    await submit(b, step(log_pb2.TASK_ACCEPTED, subject, payloads_pb2.TaskAccepted(judge="李")))
    early = measure()
    early.start_on = "2024-12-31"
    report = payloads_pb2.TaskProgress(report="已冻结", measures=[early])
    details = await refused(b, step(log_pb2.TASK_PROGRESS, subject, report))
    assert "measures[0].start_on:" in details and "[rule: before_delegation]" in details
    early.start_on = "2025-01-03"  # the day after tomorrow
    report = payloads_pb2.TaskProgress(report="已冻结", measures=[early])
    details = await refused(b, step(log_pb2.TASK_PROGRESS, subject, report))
    assert "[rule: future]" in details


async def _seizures_text(node: Node) -> str:
    argv = ["seizures", "list", "--case-number", CASE, "--home", str(node.config.home)]
    result = await asyncio.to_thread(CliRunner().invoke, main, argv)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


async def test_an_indivisible_excess_lists_what_to_release_in_order(
    federation: Federation,
) -> None:
    a, b = await pair(federation)
    subject = (await submit(a, delegation(amount_fen=1_000_000))).subjects[0]
    await same_row([a, b], subject, 1)
    await submit(b, step(log_pb2.TASK_ACCEPTED, subject, payloads_pb2.TaskAccepted(judge="李")))
    first = payloads_pb2.TaskProgress(
        report="冻结", measures=[measure("acct-1", 500_000), measure("acct-2", 400_000)]
    )
    await submit(b, step(log_pb2.TASK_PROGRESS, subject, first))
    flat = measure(
        "flat-9", 300_000, category=payloads_pb2.REAL_ESTATE, term_days=1000,
        indivisible_reason="唯一房产，不可分割",
    )  # fmt: skip
    reply = await submit(b, step(log_pb2.TASK_PROGRESS, subject, payloads_pb2.TaskProgress(
        report="查封", measures=[flat])))  # fmt: skip
    assert any("indivisible" in w for w in reply.warnings)
    await same_row([a, b], subject, 4)
    # 1,200,000 fen in effect, 200,000 over: of the two deposits frozen the same day, the
    # smaller (s2, 400,000) is released first and covers the excess; the flat stays.
    for node in (a, b):
        doc = await ccnode_json(node, "seizures", "list", "--case-number", CASE)
        got = {
            i["seizure_id"]: (i.get("release_order", 0), set(i.get("flags", [])))
            for i in doc["items"]
        }
        assert got[f"{subject}/s2"] == (1, {"over_amount", "indivisible_excess", "release_needed"})
        assert got[f"{subject}/s1"] == (0, set())
        assert got[f"{subject}/s3"] == (0, set())
        assert "release_needed #1" in await _seizures_text(node)
    ledger = await tasks(a).Seizures(tasks_pb2.SeizuresRequest(case_number=CASE))
    assert [s.release_order for s in ledger.items] == [0, 1, 0]
