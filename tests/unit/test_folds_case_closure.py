"""Whole-case closure (结案) in the task fold: a delegation of a case whose earlier whole-case
task the delegating node had seen accepted is refused (rule ``case_closed``), judged on the
events the new delegation had seen, so every node holding both tasks agrees whatever arrived
since; a return, a rejection or a cancellation reopens the case."""

from __future__ import annotations

from collections.abc import Sequence

from ccnode.v1 import log_pb2, payloads_pb2
from sync.domain.tasks import CASE_CLOSING_STATUSES
from sync.entry import Header
from sync.folds import fold_batch, state_keys
from sync.folds import tasks as T
from sync.folds.types import Row, StateKey
from tests.unit.taskfixtures import CASE, SUBJECT, D, R, delegation, header, payload

K = log_pb2
LATER = f"{D}/task/5"


def whole(case: str = CASE) -> bytes:
    body = delegation()
    body.scope, body.matter, body.case_number = payloads_pb2.WHOLE_CASE, 0, case  # type: ignore[assignment]
    return payload(K.TASK_DELEGATED, body)


def matter(case: str = CASE) -> bytes:
    body = delegation()
    body.case_number = case
    return payload(K.TASK_DELEGATED, body)


def first_task(*after_accept: tuple[Header, bytes]) -> list[tuple[Header, bytes]]:
    """D delegates the case whole (D/0); R accepts it (R/0); then ``after_accept``."""
    accept = payload(
        K.TASK_ACCEPTED,
        payloads_pb2.TaskAccepted(judge="李法官", registered_case_number="（2025）渝0103执7号"),
    )
    return [
        (header(D, 0, K.TASK_DELEGATED), whole()),
        (header(R, 0, K.TASK_ACCEPTED, parents=[f"{D}/0"], day=1), accept),
        *after_accept,
    ]


def returned() -> tuple[Header, bytes]:
    body = payloads_pb2.TaskReturned(reason="材料不全", materials_due_on="2025-02-01")
    return header(R, 1, K.TASK_RETURNED, parents=[f"{R}/0"], day=2), payload(K.TASK_RETURNED, body)


def rows_of(items: Sequence[tuple[Header, bytes | None]]) -> dict[StateKey, Row]:
    current: dict[StateKey, Row] = {}
    for h, p in items:
        current.update(fold_batch([(h, p)], current).changes)
    return current


def second(parents: Sequence[str], body: bytes | None = None) -> tuple[Header, bytes | None]:
    h = header(D, 5, K.TASK_DELEGATED, parents=parents, day=3, subject=LATER)
    return h, matter() if body is None else body


def fold_second(
    current: dict[StateKey, Row], parents: Sequence[str], body: bytes | None = None
) -> dict[str, object]:
    h, p = second(parents, body)
    assert (T.TABLE, SUBJECT) in state_keys([h])  # the node fetches the named task's row
    changes = fold_batch([(h, p)], current).changes
    return changes[(T.TABLE, LATER)]


def test_a_delegation_after_the_whole_case_was_accepted_is_refused() -> None:
    current = rows_of(first_task())
    assert T.state_of(current[(T.TABLE, SUBJECT)]).closes_case
    row = fold_second(current, [f"{D}/0", f"{R}/0"])
    got = T.state_of(row)
    assert row["status"] == "refused"
    assert got.case_closed_by == SUBJECT and not got.closes_case
    assert (got.events[0].outcome, got.events[0].rule) == ("refused", "case_closed")
    # Every later event of the refused task is refused alike, never "too late".
    current[(T.TABLE, LATER)] = row
    accept = header(R, 7, K.TASK_ACCEPTED, parents=[f"{D}/5"], day=4, subject=LATER)
    body = payload(K.TASK_ACCEPTED, payloads_pb2.TaskAccepted(judge="李法官"))
    after = T.state_of(fold_batch([(accept, body)], current).changes[(T.TABLE, LATER)])
    assert [(e.outcome, e.rule) for e in after.events] == [("refused", "case_closed")] * 2
    assert after.status == "refused" and after.case_closed_by == SUBJECT


def test_a_return_reopens_the_case() -> None:
    current = rows_of(first_task(returned()))
    assert not T.state_of(current[(T.TABLE, SUBJECT)]).closes_case
    row = fold_second(current, [f"{D}/0", f"{R}/1"])
    assert row["status"] == "delegated"
    assert T.state_of(row).case_closed_by == ""


def test_the_verdict_counts_only_what_the_new_delegation_had_seen() -> None:
    # Made before the acceptance reached the delegating node: it stands, on a node that holds
    # the acceptance too.
    current = rows_of(first_task())
    assert fold_second(current, [f"{D}/0"])["status"] == "delegated"
    # Made after the acceptance, before the return: refused, on a node that holds the return.
    current = rows_of(first_task(returned()))
    assert fold_second(current, [f"{D}/0", f"{R}/0"])["status"] == "refused"


def test_other_cases_and_payloads_not_held_are_not_judged() -> None:
    current = rows_of(first_task())
    other = matter("（2024）川0104执101号")
    assert fold_second(current, [f"{D}/0", f"{R}/0"], other)["status"] == "delegated"
    # A node outside the audience (headers only) cannot tell the case.
    h, _ = second([f"{D}/0", f"{R}/0"])
    row = fold_batch([(h, None)], current).changes[(T.TABLE, LATER)]
    assert row["status"] == "delegated"


def test_a_matter_delegation_does_not_close_its_case() -> None:
    accept = payload(K.TASK_ACCEPTED, payloads_pb2.TaskAccepted(judge="李法官"))
    current = rows_of(
        [
            (header(D, 0, K.TASK_DELEGATED), matter()),
            (header(R, 0, K.TASK_ACCEPTED, parents=[f"{D}/0"], day=1), accept),
        ]
    )
    assert not T.state_of(current[(T.TABLE, SUBJECT)]).closes_case
    assert fold_second(current, [f"{D}/0", f"{R}/0"])["status"] == "delegated"


def test_related_keys_name_the_origins_own_earlier_delegations_only() -> None:
    h = header(D, 5, K.TASK_DELEGATED, parents=[f"{D}/0", f"{R}/0", f"{D}/9"], subject=LATER)
    assert T.related_keys(h) == [(T.TABLE, SUBJECT)]
    assert T.related_keys(header(R, 1, K.TASK_ACCEPTED, parents=[f"{D}/0"])) == []
    assert CASE_CLOSING_STATUSES == {"accepted", "in_progress", "completed", "failed"}
