"""Rules of docs/rules.md that the other domain tests cover only by example: here for every
member (each fixed-term ground, each delisting ground, each citable case type, each matter
kind, each asset category), and the personal-data rule for account and location data in
error messages. Pure functions of sync/domain only."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ccnode.v1 import payloads_pb2
from sync.domain.assets import CATEGORY_BY_NAME, asset_from_json
from sync.domain.blacklist import (
    DEFAULT_TERM_YEARS,
    DebtorType,
    DelistGround,
    ListingGround,
    ListingRecord,
    validate_delisting,
    validate_listing,
)
from sync.domain.case_number import require_enforcement_case
from sync.domain.errors import ValidationError
from sync.domain.seizures import TERM_YEARS
from sync.domain.tasks import validate_delegation, validate_measures
from tests.unit.corefixtures import SAMPLE_ID_NUMBER

CHENGDU = ("川01",)
LISTED_ON = date(2024, 3, 1)
# Friday 7 June 2024; Monday 10 June is 端午节, so three working days run to Thursday 13 June.
GROUND_AROSE_ON = date(2024, 6, 7)
DUE_BY = date(2024, 6, 13)


def _person(ground: ListingGround) -> ListingRecord:
    return ListingRecord(
        case_number="（2024）川0104执1234号",
        court="川0104",
        debtor_type=DebtorType.PERSON,
        name="张三丰",
        id_number=SAMPLE_ID_NUMBER,
        obligation="支付货款人民币120000元",
        performance="全部未履行",
        ground=ground,
        basis_issuer="成都市锦江区人民法院",
        basis_number="（2023）川0104民初5678号",
        filed_on=date(2024, 1, 10),
    )


# ---------------------------------------------------------------- blacklist (法释〔2017〕7号)


@pytest.mark.parametrize("ground", [g for g in ListingGround if g is not ListingGround.G1])
def test_every_fixed_term_ground_runs_two_years_by_default(ground: ListingGround) -> None:
    result = validate_listing(_person(ground), court_prefixes=CHENGDU, listed_on=LISTED_ON)
    assert result.record.term_years == DEFAULT_TERM_YEARS == 2
    assert result.term_end == date(2026, 3, 1)
    assert result.delist_due_by is not None and result.delist_due_by > result.term_end


def test_g1_lasts_until_a_delisting_ground_applies() -> None:
    result = validate_listing(
        _person(ListingGround.G1), court_prefixes=CHENGDU, listed_on=LISTED_ON
    )
    assert (result.record.term_years, result.term_end, result.delist_due_by) == (0, None, None)


@pytest.mark.parametrize("ground", [g for g in DelistGround if g is not DelistGround.EXPIRED])
def test_every_delisting_ground_is_due_within_three_working_days(ground: DelistGround) -> None:
    repair = "CREDITOR_REQUEST" if ground is DelistGround.D3 else "NONE"
    on_time = validate_delisting(
        ground,
        reason="理由",
        on=DUE_BY,
        credit_repair=repair,
        ground_arose_on=GROUND_AROSE_ON,
    )
    assert on_time.due_by == DUE_BY and on_time.warnings == ()
    late = validate_delisting(
        ground,
        reason="理由",
        on=date(2024, 6, 14),
        credit_repair=repair,
        ground_arose_on=GROUND_AROSE_ON,
    )
    assert late.due_by == DUE_BY
    assert [w.split(":")[0] for w in late.warnings] == ["on"]  # late: a warning, not a refusal


# ---------------------------------------------------------------- case types (法〔2015〕137号)


@pytest.mark.parametrize("case_type", ["执异", "执复", "执监", "执协", "执他"])
def test_only_enforcement_basis_cases_may_be_cited(case_type: str) -> None:
    with pytest.raises(ValidationError) as err:
        require_enforcement_case(f"（2024）川0104{case_type}7号", CHENGDU)
    assert (err.value.field, err.value.rule) == ("case_number", "case_type")


# ---------------------------------------------------------------- delegated matters


def _delegation(matter: int) -> payloads_pb2.TaskDelegated:
    return payloads_pb2.TaskDelegated(
        scope=payloads_pb2.MATTER,
        matter=matter,  # type: ignore[arg-type]
        case_number="（2024）川0104执100号",
        judge="王法官",
        receiving_node="chongqing",
        receiving_court="渝0103",
        debtor=payloads_pb2.Debtor(
            type=payloads_pb2.PERSON, name="张三", id_number=SAMPLE_ID_NUMBER
        ),
        amount_fen=1_000_000,
        documents=[payloads_pb2.DocumentRef(name="委托执行函", sha256=b"\1" * 32)],
    )


@pytest.mark.parametrize(
    "matter",
    [
        payloads_pb2.INVESTIGATE,  # query, investigate assets
        payloads_pb2.FREEZE,
        payloads_pb2.RENEW,
        payloads_pb2.UNFREEZE,
        payloads_pb2.DEDUCT,
        payloads_pb2.SEIZE,
        payloads_pb2.SERVE,
        payloads_pb2.CONTROL_PERSON,
    ],
)
def test_every_matter_kind_may_be_delegated(matter: int) -> None:
    body = _delegation(matter)
    assert (
        validate_delegation(body, node_id="chengdu", court_prefixes=CHENGDU, today=date(2025, 1, 1))
        == []
    )
    assert body.matter == matter


# ---------------------------------------------------------------- asset categories


def test_the_nine_asset_categories_each_have_a_maximum_seizure_term() -> None:
    assert set(CATEGORY_BY_NAME) == {
        "deposit", "wealth", "securities", "real_estate", "vehicle", "equity", "ship",
        "online_funds", "other_property",
    }  # fmt: skip
    assert {payloads_pb2.AssetCategory.Name(v) for v in CATEGORY_BY_NAME.values()} == set(
        TERM_YEARS
    )


# ---------------------------------------------------------------- PIPL art. 28

ACCOUNT = "6217000012345678901"
ADDRESS = "重庆市渝中区解放碑步行街88号"


def test_a_refused_measure_never_names_the_account() -> None:
    measure = payloads_pb2.SeizureMeasure(
        asset=payloads_pb2.AssetRecord(asset_id=ACCOUNT, category=payloads_pb2.DEPOSIT),
        value_fen=100,
        term_days=366,
    )
    for measures in ([measure], [measure, measure]):  # over the term; the same asset twice
        with pytest.raises(ValidationError) as err:
            validate_measures(measures, today=date(2025, 1, 1))
        assert ACCOUNT not in str(err.value) and ACCOUNT not in repr(err.value)


@pytest.mark.parametrize(
    ("change", "secret"),
    [
        ({"location": ADDRESS + "\n2单元"}, ADDRESS),
        ({"location": ADDRESS * 40}, ADDRESS),
        ({"reference": ACCOUNT + "\t01"}, ACCOUNT),
        ({"reference": ACCOUNT * 30}, ACCOUNT),
    ],
)
def test_a_refused_asset_line_never_names_its_account_or_address(
    change: dict[str, Any], secret: str
) -> None:
    line = {
        "asset_id": "cq-1",
        "owner_id": SAMPLE_ID_NUMBER,
        "owner_name": "张三",
        "category": "deposit",
        "registry": "中国银行重庆分行",
        "reference": ACCOUNT,
        "location": ADDRESS,
        **change,
    }
    with pytest.raises(ValidationError) as err:
        asset_from_json(line, 3)
    assert str(err.value).startswith("第3行（line 3）：")
    assert secret not in str(err.value) and secret not in repr(err.value)
