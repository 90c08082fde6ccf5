"""Whole-case closure (结案) between two real nodes over mutual TLS: once a case delegated whole
is accepted, the delegating node refuses any further delegation of it, whole or matter,
naming the rule; a return reopens the case, and the new delegation names the earlier task so
that both nodes fold it against the same view."""

from __future__ import annotations

import asyncio

from click.testing import CliRunner

from ccnode.v1 import log_pb2, payloads_pb2
from cli.main import main
from sync.folds import tasks as tf
from tests.integration.harness import Federation
from tests.integration.test_tasks import (
    delegation,
    item,
    pair,
    refused,
    same_row,
    step,
    submit,
)


async def test_a_case_delegated_whole_and_accepted_is_closed_until_returned(
    federation: Federation,
) -> None:
    a, b = await pair(federation)
    first = (await submit(a, delegation(scope=payloads_pb2.WHOLE_CASE))).subjects[0]
    await same_row([a, b], first, 1)
    # Not yet accepted: a matter of the same case may still be delegated.
    earlier = (await submit(a, delegation())).subjects[0]
    accept = payloads_pb2.TaskAccepted(judge="李法官", registered_case_number="(2025)渝0103执7号")
    await submit(b, step(log_pb2.TASK_ACCEPTED, first, accept))
    row = await same_row([a, b], first, 2)
    assert tf.state_of(row).closes_case
    assert (await item(a, first)).closes_case and (await item(b, first)).closes_case
    argv = ["tasks", "show", first, "--home", str(a.config.home)]
    shown = await asyncio.to_thread(CliRunner().invoke, main, argv)
    assert shown.exit_code == 0 and "case closed 结案" in shown.stdout

    for scope in (payloads_pb2.MATTER, payloads_pb2.WHOLE_CASE):
        details = await refused(a, delegation(scope=scope))
        assert "case_number:" in details and "[rule: case_closed]" in details
        assert first in details
    await same_row([a, b], earlier, 1)  # what was delegated before stays

    back = payloads_pb2.TaskReturned(reason="材料不全")
    await submit(b, step(log_pb2.TASK_RETURNED, first, back))
    await same_row([a, b], first, 3)
    again = (await submit(a, delegation())).subjects[0]
    row = await same_row([a, b], again, 1)
    got = tf.state_of(row)
    assert row["status"] == "delegated" and got.case_closed_by == ""
    # The new delegation names the earlier task and the return it had seen.
    (event,) = got.events
    assert list(event.parents) == [f"chengdu/{tf.parse_subject(first)[1]}", "chongqing/1"]  # type: ignore[index]
