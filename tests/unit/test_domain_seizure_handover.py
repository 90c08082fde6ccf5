"""Seizure ledger rules (sync/domain/seizures.py, the task fold): a measure starts neither
before its task's delegation nor more than a day after its report; a measure with under a
month left is renewed before a task hands it over; a case one indivisible asset leaves over
its cap releases its other measures in a fixed order (latest-imposed first, then smallest)."""

from __future__ import annotations

from datetime import date

import pytest

from ccnode.v1 import log_pb2, payloads_pb2
from sync.domain import seizures as sz
from sync.domain.errors import ValidationError
from sync.domain.tasks import validate_measures
from sync.folds import tasks as T
from tests.unit.taskfixtures import D, R, default_payload, header, measure, payload

K = log_pb2
DAY0 = date(2025, 1, 1)


def test_a_measure_starts_within_its_task() -> None:
    delegated = date(2025, 1, 10)
    assert (
        sz.start_problem(delegated, reported_on=DAY0.replace(day=12), delegated_on=delegated) == ""
    )
    assert sz.start_problem(
        date(2025, 1, 9), reported_on=date(2025, 1, 12), delegated_on=delegated
    ) == ("before_delegation")
    # Tomorrow is allowed (a registry may date it the next morning); the day after is not.
    assert (
        sz.start_problem(date(2025, 1, 13), reported_on=date(2025, 1, 12), delegated_on=None) == ""
    )
    assert sz.start_problem(
        date(2025, 1, 14), reported_on=date(2025, 1, 12), delegated_on=None
    ) == ("future")


def _deposit(start_on: str) -> payloads_pb2.SeizureMeasure:
    return payloads_pb2.SeizureMeasure(
        asset=payloads_pb2.AssetRecord(asset_id="acct-1", category=payloads_pb2.DEPOSIT),
        value_fen=100,
        start_on=start_on,
        term_days=365,
    )


def test_the_node_refuses_a_start_before_the_delegation_or_past_tomorrow() -> None:
    with pytest.raises(ValidationError) as err:
        validate_measures([_deposit("2024-12-31")], today=DAY0, delegated_on=DAY0)
    assert (err.value.field, err.value.rule) == ("measures[0].start_on", "before_delegation")
    validate_measures([_deposit("2025-01-02")], today=DAY0, delegated_on=DAY0)
    with pytest.raises(ValidationError) as err:
        validate_measures([_deposit("2025-01-03")], today=DAY0, delegated_on=DAY0)
    assert (err.value.field, err.value.rule) == ("measures[0].start_on", "future")
    assert "acct-1" not in str(err.value)


def test_every_node_voids_a_measure_dated_outside_its_task() -> None:
    # Delegated on day 0 (2025-01-01), completed on day 2 (2025-01-03).
    early = measure(1, start_on="2024-12-31")
    late = measure(2, start_on="2025-01-05")
    tomorrow = measure(3, start_on="2025-01-04")
    body = payload(
        K.TASK_COMPLETED,
        payloads_pb2.TaskCompleted(result="done", measures=[early, late, tomorrow]),
    )
    items = [
        (header(D, 0, K.TASK_DELEGATED), default_payload(K.TASK_DELEGATED)),
        (
            header(R, 0, K.TASK_ACCEPTED, parents=[f"{D}/0"], day=1),
            default_payload(K.TASK_ACCEPTED),
        ),
        (header(R, 1, K.TASK_COMPLETED, parents=[f"{R}/0"], day=2), body),
    ]
    row = None
    for h, p in items:
        out = T.fold(row, h, p)
        assert isinstance(out, dict)
        row = out
    assert row is not None
    got = {
        s.seizure_id.rpartition("/")[2]: (s.status, s.void_rule) for s in T.state_of(row).seizures
    }
    assert got == {
        "s1": ("void", "start_on:before_delegation"),
        "s2": ("void", "start_on:future"),
        "s3": ("in_effect", ""),
    }


def test_under_a_month_left_must_be_renewed_before_handover() -> None:
    # DOMAIN.md: warn at 30 days left; under a month left, renew before the task hands it over.
    start = date(2025, 1, 1)  # a deposit frozen for 365 days: last day 2025-12-31
    assert sz.handover_problem(start, 365, date(2025, 12, 1)) is None  # 30 days left
    assert sz.handover_problem(start, 365, date(2025, 12, 2)) == 29
    assert sz.handover_problem(date(2025, 12, 1), 20, date(2025, 12, 1)) == 19


def _seizure(
    key: str, value_fen: int, start: date, *, indivisible: bool = False, cap_fen: int = 1000
) -> sz.LedgerSeizure:
    return sz.LedgerSeizure(
        key=key, task="chengdu/task/0", case_number="（2024）川0104执1号", asset_id=key,
        category="DEPOSIT" if not indivisible else "REAL_ESTATE", value_fen=value_fen,
        start_on=start, end_on=date(2026, 12, 31), status="in_effect", queue_position=0,
        released_on=None, indivisible=indivisible, cap_fen=cap_fen, task_hlc=1,
    )  # fmt: skip


def test_an_indivisible_excess_releases_the_latest_imposed_then_the_smallest() -> None:
    # Cap 1,000 fen. A 500 (Jan 1), B 400 (Feb 1), house 300 (Mar 1, indivisible): 1,200 in
    # effect, 200 over. The house stays; B, the latest divisible one, goes first and covers it.
    views = sz.ledger_view(
        [
            _seizure("a", 500, date(2025, 1, 1)),
            _seizure("b", 400, date(2025, 2, 1)),
            _seizure("house", 300, date(2025, 3, 1), indivisible=True),
        ],
        date(2025, 3, 2),
    )
    by = {v.seizure.key: v for v in views}
    assert by["b"].release_order == 1
    assert {"over_amount", "indivisible_excess", "release_needed"} <= set(by["b"].flags)
    assert by["a"].release_order == 0 and "release_needed" not in by["a"].flags
    assert by["house"].release_order == 0 and "release_needed" not in by["house"].flags
    # Same day: the smallest first; marking stops once the excess is covered.
    views = sz.ledger_view(
        [
            _seizure("a", 600, date(2025, 1, 1)),
            _seizure("house", 800, date(2025, 1, 2), indivisible=True),
            _seizure("c", 300, date(2025, 1, 3)),
            _seizure("d", 100, date(2025, 1, 3)),
        ],
        date(2025, 1, 4),
    )
    order = {v.seizure.key: v.release_order for v in views}
    # 1,800 in effect, 800 over: d (100), then c (300), then a (600) covers the rest.
    assert order == {"a": 3, "c": 2, "d": 1, "house": 0}
    assert sz.release_order(views) == {"d": 1, "c": 2, "a": 3}


def test_a_case_within_its_cap_releases_nothing() -> None:
    views = sz.ledger_view(
        [
            _seizure("a", 100, date(2025, 1, 1)),
            _seizure("h", 900, date(2025, 1, 2), indivisible=True),
        ],
        date(2025, 1, 3),
    )
    assert all(v.release_order == 0 and "release_needed" not in v.flags for v in views)
