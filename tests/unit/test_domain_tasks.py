"""Domain rules of delegated tasks (time limits, step contents) and of seizures (terms by
category, amount cap, renewals, expiry warnings, the queue of later seizures)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ccnode.v1 import payloads_pb2
from sync.domain.errors import ValidationError
from sync.domain.seizures import (
    LedgerSeizure,
    case_totals,
    check_amount_cap,
    check_measure,
    check_renewal,
    ledger_view,
    max_term_days,
    term_end,
)
from sync.domain.tasks import (
    TaskDates,
    add_months,
    time_flags,
    validate_acceptance,
    validate_delegation,
    validate_measures,
)

DAY0 = date(2025, 1, 1)
PREFIXES = ("川01",)


def _on(days: int) -> date:
    return DAY0 + timedelta(days=days)


def _codes(t: TaskDates, today: date) -> list[str]:
    return [f.code for f in time_flags(t, today)]


def _dates(status: str, **kw: date | None) -> TaskDates:
    base: dict[str, date | None] = dict(
        delegated_on=DAY0,
        clock_from=DAY0,
        accepted_on=None,
        started_on=None,
        last_report_on=None,
        returned_on=None,
    )
    base.update(kw)
    return TaskDates(status=status, **base)  # type: ignore[arg-type]


# ---------------------------------------------------------------- time limits


def test_register_within_7_days() -> None:
    t = _dates("delegated")
    assert "register_overdue" not in _codes(t, _on(7))
    assert "register_overdue" in _codes(t, _on(8))
    (flag,) = [f for f in time_flags(t, _on(8)) if f.code == "register_overdue"]
    assert flag.due_on == _on(7)


def test_start_within_15_days() -> None:
    t = _dates("accepted", accepted_on=_on(2), last_report_on=_on(2))
    assert _codes(t, _on(15)) == []
    assert _codes(t, _on(16)) == ["start_overdue"]
    started = _dates("in_progress", accepted_on=_on(2), started_on=_on(3), last_report_on=_on(3))
    assert "start_overdue" not in _codes(started, _on(16))


def test_a_report_every_30_days_until_done() -> None:
    t = _dates("in_progress", accepted_on=_on(1), started_on=_on(2), last_report_on=_on(10))
    assert _codes(t, _on(40)) == []
    assert _codes(t, _on(41)) == ["report_overdue"]
    done = _dates("completed", accepted_on=_on(1), started_on=_on(2), last_report_on=_on(10))
    assert _codes(done, _on(400)) == []


def test_escalation_after_6_months() -> None:
    t = _dates("in_progress", accepted_on=_on(1), started_on=_on(2), last_report_on=_on(170))
    assert "escalation" not in _codes(t, date(2025, 7, 1))
    assert "escalation" in _codes(t, date(2025, 7, 2))


def test_materials_missing_30_days_counts_as_withdrawn() -> None:
    t = _dates("returned", returned_on=_on(5))
    assert "withdrawn" not in _codes(t, _on(35))
    assert "withdrawn" in _codes(t, _on(36))


def test_add_months_keeps_the_corresponding_day() -> None:
    assert add_months(date(2025, 8, 31), 6) == date(2026, 2, 28)
    assert add_months(date(2024, 8, 31), 6) == date(2025, 2, 28)
    assert add_months(date(2025, 1, 15), 12) == date(2026, 1, 15)
    assert add_months(date(2023, 8, 31), 6) == date(2024, 2, 29)


# ---------------------------------------------------------------- step contents


def _delegation(**kw: object) -> payloads_pb2.TaskDelegated:
    body = payloads_pb2.TaskDelegated(
        scope=payloads_pb2.MATTER,
        matter=payloads_pb2.FREEZE,
        case_number="(2024)川0104执100号",
        judge="王法官",
        receiving_node="chongqing",
        receiving_court="渝0103",
        debtor=payloads_pb2.Debtor(
            type=payloads_pb2.PERSON, name="张三", id_number="11010519491231002x"
        ),
        amount_fen=1_000_000,
        documents=[payloads_pb2.DocumentRef(name="委托执行函", sha256=b"\1" * 32)],
    )
    for key, value in kw.items():
        if isinstance(value, payloads_pb2.Debtor):
            body.debtor.CopyFrom(value)
        else:
            setattr(body, key, value)
    return body


def _refused(rule: str, field: str, **kw: object) -> ValidationError:
    with pytest.raises(ValidationError) as err:
        validate_delegation(
            _delegation(**kw), node_id="chengdu", court_prefixes=PREFIXES, today=DAY0
        )
    assert (err.value.field, err.value.rule) == (field, rule)
    return err.value


def test_a_good_delegation_is_normalised() -> None:
    body = _delegation()
    assert validate_delegation(body, node_id="chengdu", court_prefixes=PREFIXES, today=DAY0) == []
    assert body.case_number == "（2024）川0104执100号"
    assert body.delegating_court == "川0104"
    assert body.debtor.id_number == "11010519491231002X"


def test_delegation_rules() -> None:
    _refused("required", "scope", scope=payloads_pb2.TASK_SCOPE_UNSPECIFIED)
    _refused("absent", "matter", scope=payloads_pb2.WHOLE_CASE)
    _refused("required", "matter", matter=payloads_pb2.MATTER_KIND_UNSPECIFIED)
    _refused("case_type", "case_number", case_number="（2024）川0104民初100号")
    _refused("court_prefix", "case_number", case_number="（2024）渝0103执100号")
    _refused("court_mismatch", "delegating_court", delegating_court="川0105")
    _refused("required", "judge", judge=" ")
    _refused("self", "receiving_node", receiving_node="chengdu")
    _refused("format", "receiving_node", receiving_node="Chong Qing")
    _refused("positive", "amount_fen", amount_fen=0)
    _refused("positive", "costs_fen", costs_fen=-1)
    _refused("past", "deadline_on", deadline_on="2024-12-31")
    err = _refused(
        "checksum",
        "debtor.id_number",
        debtor=payloads_pb2.Debtor(
            type=payloads_pb2.PERSON, name="张三", id_number="110105194912310021"
        ),
    )
    assert "110105194912310021" not in str(err)
    body = _delegation()
    del body.documents[:]
    with pytest.raises(ValidationError, match="documents"):
        validate_delegation(body, node_id="chengdu", court_prefixes=PREFIXES, today=DAY0)
    body = _delegation()
    body.documents[0].sha256 = b"short"
    with pytest.raises(ValidationError, match="SHA-256"):
        validate_delegation(body, node_id="chengdu", court_prefixes=PREFIXES, today=DAY0)


def test_acceptance_of_a_whole_case_registers_a_case_of_this_node() -> None:
    body = payloads_pb2.TaskAccepted(judge="李法官", registered_case_number="(2025)渝0103执1号")
    validate_acceptance(body, whole_case=True, court_prefixes=("渝01",), today=DAY0)
    assert body.registered_case_number == "（2025）渝0103执1号"
    assert body.accepted_on == "2025-01-01"
    with pytest.raises(ValidationError, match="registered_case_number"):
        validate_acceptance(
            payloads_pb2.TaskAccepted(judge="李法官"),
            whole_case=True,
            court_prefixes=("渝01",),
            today=DAY0,
        )
    with pytest.raises(ValidationError, match="judge"):
        validate_acceptance(
            payloads_pb2.TaskAccepted(), whole_case=False, court_prefixes=("渝01",), today=DAY0
        )
    validate_acceptance(
        payloads_pb2.TaskAccepted(judge="李法官"),
        whole_case=False,
        court_prefixes=("渝01",),
        today=DAY0,
    )


def _measure(**kw: object) -> payloads_pb2.SeizureMeasure:
    m = payloads_pb2.SeizureMeasure(
        asset=payloads_pb2.AssetRecord(asset_id="acct-1", category=payloads_pb2.DEPOSIT),
        value_fen=100,
        term_days=365,
    )
    for key, value in kw.items():
        setattr(m, key, value)
    return m


def test_measures_are_checked_and_dated() -> None:
    ms = [_measure()]
    validate_measures(ms, today=DAY0)
    assert ms[0].start_on == "2025-01-01"
    with pytest.raises(ValidationError) as err:
        validate_measures([_measure(term_days=366)], today=DAY0)
    assert (err.value.field, err.value.rule) == ("measures[0].term_days", "max_term")
    with pytest.raises(ValidationError, match="future"):
        validate_measures([_measure(start_on="2025-01-03")], today=DAY0)
    with pytest.raises(ValidationError, match="one measure per asset"):
        validate_measures([_measure(), _measure()], today=DAY0)
    with pytest.raises(ValidationError, match="reason"):
        validate_measures([_measure(indivisible=True)], today=DAY0)
    unknown = _measure()
    unknown.asset.category = 99
    with pytest.raises(ValidationError, match="category"):
        validate_measures([unknown], today=DAY0)


# ---------------------------------------------------------------- seizures


@pytest.mark.parametrize(
    ("category", "years"),
    [
        ("DEPOSIT", 1),
        ("WEALTH", 1),
        ("ONLINE_FUNDS", 1),
        ("VEHICLE", 2),
        ("SHIP", 2),
        ("REAL_ESTATE", 3),
        ("EQUITY", 3),
        ("SECURITIES", 3),
        ("OTHER_PROPERTY", 3),
    ],
)
def test_maximum_term_by_category(category: str, years: int) -> None:
    start = date(2025, 3, 1)
    days = max_term_days(category, start)
    assert term_end(start, days) == date(2025 + years, 3, 1) - timedelta(days=1)
    check_measure(
        category=category, value_fen=1, start_on=start, term_days=days, indivisible=False,
        indivisible_reason="", today=start,
    )  # fmt: skip
    with pytest.raises(ValidationError, match="term_days"):
        check_measure(
            category=category, value_fen=1, start_on=start, term_days=days + 1,
            indivisible=False, indivisible_reason="", today=start,
        )  # fmt: skip


def test_renewal_is_due_before_expiry_for_the_same_maximum() -> None:
    end = date(2025, 12, 31)
    assert check_renewal(category="DEPOSIT", end_on=end, renewed_on=end, term_days=365) == date(
        2026, 12, 31
    )
    with pytest.raises(ValidationError) as err:
        check_renewal(category="DEPOSIT", end_on=end, renewed_on=end + timedelta(1), term_days=1)
    assert err.value.rule == "lapsed"
    with pytest.raises(ValidationError) as err:
        check_renewal(category="DEPOSIT", end_on=end, renewed_on=end, term_days=366)
    assert err.value.rule == "max_term"


def test_amount_cap_with_one_indivisible_exception() -> None:
    assert check_amount_cap(cap_fen=100, in_effect_fen=60, new=[(40, False, "")]) == []
    with pytest.raises(ValidationError) as err:
        check_amount_cap(cap_fen=100, in_effect_fen=60, new=[(41, False, "")])
    assert err.value.rule == "over_amount"
    warnings = check_amount_cap(cap_fen=100, in_effect_fen=60, new=[(500, True, "one flat")])
    assert warnings and "indivisible" in warnings[0]
    with pytest.raises(ValidationError):  # nothing left to secure: no exception
        check_amount_cap(cap_fen=100, in_effect_fen=100, new=[(500, True, "one flat")])
    with pytest.raises(ValidationError):  # the reason is what makes the exception
        check_amount_cap(cap_fen=100, in_effect_fen=60, new=[(500, True, " ")])
    with pytest.raises(ValidationError):  # one asset only
        check_amount_cap(cap_fen=100, in_effect_fen=0, new=[(500, True, "a"), (500, True, "b")])


def _s(key: str, **kw: object) -> LedgerSeizure:
    base: dict[str, object] = dict(
        key=key,
        task="chengdu/task/0",
        case_number="（2024）川0104执100号",
        asset_id="acct-1",
        category="DEPOSIT",
        value_fen=100,
        start_on=DAY0,
        end_on=term_end(DAY0, 365),
        status="in_effect",
        queue_position=0,
        released_on=None,
        indivisible=False,
        cap_fen=1000,
        task_hlc=1,
    )
    base.update(kw)
    return LedgerSeizure(**base)  # type: ignore[arg-type]


def test_expiry_warning_at_30_days_then_lapse() -> None:
    s = _s("a")  # in effect 2025-01-01 .. 2025-12-31
    (view,) = ledger_view([s], date(2025, 11, 30))
    assert view.days_left == 31 and view.flags == ()
    (view,) = ledger_view([s], date(2025, 12, 1))
    assert view.days_left == 30 and view.flags == ("expiring",)
    (view,) = ledger_view([s], date(2026, 1, 1))
    assert view.state == "lapsed" and "lapsed" in view.flags


def test_later_seizure_queues_and_takes_effect_when_the_one_ahead_is_released() -> None:
    first = _s("a", asset_id="flat-1", category="REAL_ESTATE", end_on=date(2027, 12, 31))
    later = _s(
        "b",
        asset_id="flat-1",
        category="REAL_ESTATE",
        case_number="（2024）川0105执7号",
        start_on=_on(10),
        end_on=term_end(_on(10), 1000),
        status="queued",
        queue_position=1,
    )
    views = {v.seizure.key: v for v in ledger_view([first, later], _on(20))}
    assert views["b"].state == "queued" and views["b"].queue_ahead == 1
    released = _s(
        "a",
        asset_id="flat-1",
        category="REAL_ESTATE",
        end_on=date(2027, 12, 31),
        status="released",
        released_on=_on(30),
    )
    views = {v.seizure.key: v for v in ledger_view([released, later], _on(40))}
    assert views["b"].state == "in_effect"
    assert views["b"].effective_on == _on(30)  # the day the one ahead was released
    assert views["b"].effective_end_on == term_end(_on(30), 1000)
    # One ahead at a court outside the federation: still queued after ours is released.
    behind_two = _s("b", asset_id="flat-1", start_on=_on(10), status="queued", queue_position=2)
    views = {v.seizure.key: v for v in ledger_view([released, behind_two], _on(40))}
    assert views["b"].state == "queued" and views["b"].queue_ahead == 1


def test_over_amount_across_tasks_of_a_case_is_flagged_for_release() -> None:
    a = _s("a", value_fen=600, task="chengdu/task/0", cap_fen=1000, task_hlc=1)
    b = _s(
        "b", value_fen=600, asset_id="acct-2", start_on=_on(1), task="chengdu/task/4", task_hlc=2
    )
    c = _s("c", value_fen=9000, asset_id="flat", start_on=_on(2), indivisible=True)
    views = {v.seizure.key: v for v in ledger_view([a, b, c], _on(3))}
    # The indivisible flat alone is over the cap: the case's other measures are released,
    # the latest-imposed first (b, then a).
    assert set(views["b"].flags) == {"over_amount", "indivisible_excess", "release_needed"}
    assert set(views["a"].flags) == {"over_amount", "indivisible_excess", "release_needed"}
    assert (views["b"].release_order, views["a"].release_order) == (1, 2)
    assert "over_amount" not in views["c"].flags  # indivisible, with its reason recorded
    (total,) = case_totals(list(views.values()))
    assert (total.cap_fen, total.in_effect_fen, total.over_fen) == (1000, 10200, 9200)
    # Without the indivisible asset: counted in start order, the one beyond the cap.
    views = {v.seizure.key: v for v in ledger_view([a, b], _on(3))}
    assert views["a"].flags == ()
    assert set(views["b"].flags) == {"over_amount", "release_needed"}
    # The latest delegation of a case sets its cap.
    raised = _s("b", value_fen=600, asset_id="acct-2", start_on=_on(1), cap_fen=2000, task_hlc=3)
    views = {v.seizure.key: v for v in ledger_view([a, raised], _on(3))}
    assert views["b"].flags == ()


def test_a_cancelled_tasks_seizure_asks_for_release_until_released() -> None:
    (view,) = ledger_view([_s("a", release_needed=True)], _on(3))
    assert view.flags == ("release_needed",)
    (view,) = ledger_view(
        [_s("a", release_needed=True, status="released", released_on=_on(2))], _on(3)
    )
    assert view.flags == () and view.state == "released"


def test_delegation_court_register_case_year_and_debtor_org_code() -> None:
    # The court-code register and the node's clock apply to delegations too.
    _refused("unknown_court", "receiving_court", receiving_court="渝06")
    _refused("year", "case_number", case_number=f"（{DAY0.year + 1}）川0104执100号")
    _refused(
        "not_allowed",
        "debtor.org_code",
        debtor=payloads_pb2.Debtor(
            type=payloads_pb2.ORG, name="某公司", credit_code="91350100M000100Y43",
            org_code="M000100Y4",
        ),
    )  # fmt: skip
