"""How the refusals of delegated tasks, seizures and asset imports read: Chinese first, in the
courts' terms (scope and matter as the CLI takes them, amounts in 元, categories as 存款), with
the rule's source; English after (sync/domain/wording.py)."""

from __future__ import annotations

from datetime import date

import pytest

from ccnode.v1 import payloads_pb2
from sync.domain.assets import asset_from_json
from sync.domain.errors import ValidationError
from sync.domain.seizures import check_amount_cap, check_measure, check_renewal
from sync.domain.tasks import judged_zh, matter_text, validate_acceptance, validate_delegation

DAY0 = date(2025, 1, 1)
PREFIXES = ("川01",)
_ENUM_NAME = ("WHOLE_CASE", "MATTER_KIND", "DEPOSIT", "REAL_ESTATE", "TASK_", "FREEZE")


def _delegation(**kw: object) -> payloads_pb2.TaskDelegated:
    body = payloads_pb2.TaskDelegated(
        scope=payloads_pb2.MATTER,
        matter=payloads_pb2.FREEZE,
        case_number="（2024）川0104执100号",
        judge="王法官",
        receiving_node="chongqing",
        receiving_court="渝0103",
        debtor=payloads_pb2.Debtor(
            type=payloads_pb2.PERSON, name="张三", id_number="11010519491231002X"
        ),
        amount_fen=1_234_567,
        documents=[payloads_pb2.DocumentRef(name="委托执行函", sha256=b"\1" * 32)],
    )
    for key, value in kw.items():
        setattr(body, key, value)
    return body


def _refusal(**kw: object) -> ValidationError:
    with pytest.raises(ValidationError) as err:
        validate_delegation(
            _delegation(**kw), node_id="chengdu", court_prefixes=PREFIXES, today=DAY0
        )
    text = str(err.value)
    assert not any(name in text for name in _ENUM_NAME), text
    assert "11010519491231002X" not in text and "张三" not in text
    return err.value


def test_scope_and_matter_read_as_the_cli_takes_them() -> None:
    err = _refusal(scope=payloads_pb2.TASK_SCOPE_UNSPECIFIED)
    assert err.zh == "须为 whole（委托执行全案）或 matter（事项委托）"
    assert str(err).startswith("委托范围（--scope）：须为 whole")
    assert str(err).endswith("scope: must be whole or matter")
    err = _refusal(scope=payloads_pb2.WHOLE_CASE)
    assert err.rule == "absent"
    assert "委托执行全案（whole）不写委托事项" in err.zh and "《委托执行规定》" in err.zh
    assert "(--scope whole)" in err.explanation
    err = _refusal(matter=payloads_pb2.MATTER_KIND_UNSPECIFIED)
    assert str(err).startswith(
        "委托事项（--matter）：事项委托（matter）须写明委托事项（《委托执行规定》）"
    )
    assert matter_text(payloads_pb2.FREEZE) == "冻结（freeze）"
    assert matter_text(payloads_pb2.CONTROL_PERSON) == "控制被执行人（control-person）"


def test_amounts_read_in_yuan() -> None:
    err = _refusal(amount_fen=0)
    assert str(err).startswith("执行标的金额（--amount）：执行标的金额须大于0元（填写的是0.00 元）")
    err = _refusal(costs_fen=-150)
    assert err.zh == "执行费用不得为负数（填写的是-1.50 元）"
    assert "fen" not in err.zh and "fen" not in err.explanation


def test_the_delegating_court_is_the_courts_of_the_case_and_a_deadline_not_past() -> None:
    err = _refusal(delegating_court="川0105")
    assert err.rule == "court_mismatch"
    assert (
        "委托法院须为本案执行法院：川0105 不是案件 （2024）川0104执100号 的法院（川0104）" in err.zh
    )
    err = _refusal(deadline_on="2024-12-31")
    assert err.zh == "办理期限 2024-12-31 已过（今日 2025-01-01）"
    err = _refusal(receiving_node="chengdu")
    assert "不能委托本节点" in err.zh


def test_a_whole_case_is_registered_with_its_judge_and_new_case_number() -> None:
    with pytest.raises(ValidationError) as err:
        validate_acceptance(
            payloads_pb2.TaskAccepted(judge="李法官"), whole_case=True, court_prefixes=("渝01",),
            today=DAY0,
        )  # fmt: skip
    assert str(err.value).startswith(
        "受托法院立案案号（--registered-case）：委托执行全案的，受托法院须立案并填写立案案号"
    )
    with pytest.raises(ValidationError) as err:
        validate_acceptance(
            payloads_pb2.TaskAccepted(), whole_case=False, court_prefixes=("渝01",), today=DAY0
        )
    assert str(err.value).startswith("承办法官（--judge）：受托法院立案时须指定承办法官")


def _measure(**kw: object) -> None:
    args: dict[str, object] = dict(
        category="DEPOSIT", value_fen=100, start_on=DAY0, term_days=365, indivisible=False,
        indivisible_reason="", today=DAY0, field_prefix="measures[0]",
    )  # fmt: skip
    args.update(kw)
    check_measure(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("category", "days", "zh"),
    [
        (
            "DEPOSIT",
            366,
            "存款（deposit）的查封、扣押、冻结期限不得超过一年（365日），填写的是366日",
        ),
        (
            "VEHICLE",
            731,
            "车辆（vehicle）的查封、扣押、冻结期限不得超过二年（730日），填写的是731日",
        ),
        (
            "REAL_ESTATE",
            1096,
            "不动产（real_estate）的查封、扣押、冻结期限不得超过三年（1095日），填写的是1096日",
        ),
    ],
)
def test_the_term_by_category_reads_in_the_courts_terms(category: str, days: int, zh: str) -> None:
    with pytest.raises(ValidationError) as err:
        _measure(category=category, term_days=days)
    assert err.value.rule == "max_term"
    assert err.value.zh == zh + "（《民诉法解释》第四百八十五条）"
    assert str(err.value).startswith("第1个措施期限（日）（--measure）：")
    assert category not in str(err.value)


def test_renewals_before_expiry_for_the_same_maximum() -> None:
    end = date(2025, 12, 31)
    with pytest.raises(ValidationError) as err:
        check_renewal(category="DEPOSIT", end_on=end, renewed_on=date(2026, 1, 1), term_days=1)
    assert err.value.rule == "lapsed"
    assert "措施已于2025-12-31期限届满，续行须在届满前办理" in err.value.zh
    with pytest.raises(ValidationError) as err:
        check_renewal(category="DEPOSIT", end_on=end, renewed_on=end, term_days=366)
    assert "续行期限不得超过原定最长期限：存款（deposit）" in err.value.zh
    assert "DEPOSIT" not in str(err.value)


def test_over_amount_and_the_indivisible_exception_read_in_yuan() -> None:
    with pytest.raises(ValidationError) as err:
        check_amount_cap(cap_fen=1_000_000, in_effect_fen=600_000, new=[(400_001, False, "")])
    assert err.value.zh == (
        "本案查封、扣押、冻结的财产价值将达10,000.01 元，超过执行标的额及执行费用10,000.00 元，"
        "不得超标的查封（《查封规定》第十九条）"
    )
    assert "fen" not in str(err.value)
    (warning,) = check_amount_cap(
        cap_fen=1_000_000, in_effect_fen=600_000, new=[(5_000_000, True, "唯一住房")]
    )
    assert warning.startswith("查封、扣押、冻结措施（--measure）：一件不可分物超出执行标的额")
    assert "《查封规定》第十九条" in warning
    with pytest.raises(ValidationError) as err:
        _measure(indivisible=True, indivisible_reason=" ")
    assert "不可分物超出执行标的额的，须写明" in err.value.zh
    with pytest.raises(ValidationError) as err:
        _measure(value_fen=0)
    assert err.value.zh == "财产价值须大于0元（填写的是0.00 元）"


def test_the_folds_refusals_have_their_chinese_sentence() -> None:
    assert judged_zh("materials_late") == "补充材料超过30日，视为撤回委托（《委托执行规定》）"
    assert (
        judged_zh("finished", "completed")
        == "委托执行事项已办结（已完成（completed）），不能再办理此步骤"
    )
    assert (
        judged_zh("state", "returned") == "委托执行事项当前状态为已退回（returned），不能办理此步骤"
    )
    assert "委托结案" in judged_zh("case_closed")
    assert judged_zh("no_such_rule") == "委托执行事项的此步骤不能办理（规则 no_such_rule）"


def test_an_asset_line_names_its_category_choices_in_chinese() -> None:
    line = {
        "asset_id": "cq-1", "owner_id": "11010519491231002X", "owner_name": "张三",
        "category": "cash", "registry": "中国银行重庆分行", "reference": "6217000012345678901",
    }  # fmt: skip
    with pytest.raises(ValidationError) as err:
        asset_from_json(line, 4)
    text = str(err.value)
    assert text.startswith(
        "第4行（line 4）：财产类别：须为以下类别之一：存款（deposit）、理财（wealth）"
    )
    assert "6217000012345678901" not in text and "张三" not in text
