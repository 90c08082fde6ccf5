"""Tests for sync.domain.lookups (the target's checks, subjects, subject keys) and
sync.domain.assets (categories, the import format, masking)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest

from ccnode.v1 import payloads_pb2
from sync.domain.assets import (
    asset_from_json,
    asset_to_json,
    mask_asset,
    owner_is_person,
    parse_categories,
)
from sync.domain.errors import ValidationError
from sync.domain.lookups import (
    CheckedRequest,
    Denial,
    check_request,
    lookup_subject,
    masked_debtor,
    parse_lookup_subject,
    request_entry_id,
    subject_key,
)
from tests.unit.corefixtures import SAMPLE_CREDIT_CODE, SAMPLE_ID_NUMBER

BAD_ID = SAMPLE_ID_NUMBER[:17] + "1"
EARLY_CODE = SAMPLE_CREDIT_CODE[:17] + "4"  # fails the GB 32100 check


def _request(**overrides: Any) -> payloads_pb2.LookupRequested:
    fields: dict[str, Any] = {
        "target_node": "chongqing",
        "case_number": "（2025）川0104执恢12号",
        "court": "川0104",
        "debtor": payloads_pb2.Debtor(type=payloads_pb2.PERSON, id_number=SAMPLE_ID_NUMBER),
        "categories": [payloads_pb2.DEPOSIT, payloads_pb2.REAL_ESTATE, payloads_pb2.DEPOSIT],
        "purpose": "查询被执行人财产",
        "debtor_registered": True,
    }
    fields.update(overrides)
    return payloads_pb2.LookupRequested(**fields)


def _check(request: payloads_pb2.LookupRequested, prefixes: list[str] | None = None) -> Any:
    return check_request(
        request, target="chongqing", requester_prefixes=["川01"] if prefixes is None else prefixes
    )


# ---------------------------------------------------------------- the target's checks


def test_a_valid_request_passes_with_distinct_categories_and_the_normalised_id() -> None:
    outcome = _check(_request(debtor=payloads_pb2.Debtor(type=1, id_number="11010519491231002x")))
    assert outcome == CheckedRequest(
        SAMPLE_ID_NUMBER, (payloads_pb2.DEPOSIT, payloads_pb2.REAL_ESTATE)
    )


@pytest.mark.parametrize(
    ("overrides", "prefixes", "reason", "detail"),
    [
        ({}, "unknown", payloads_pb2.UNKNOWN_REQUESTER, "not a peer"),
        ({"target_node": "xian"}, None, payloads_pb2.MALFORMED, "names another node"),
        ({"case_number": "2025 川0104 执 12"}, None, payloads_pb2.MALFORMED, "case_number"),
        (
            {"case_number": "（2025）川0104执异12号"},
            None,
            payloads_pb2.CASE_NOT_ENFORCEMENT,
            "执异案件不得查询，仅限执行实施类案件（执、执恢、执保）（《案号规定》） / "
            "case_number: a 执异 case may not be cited: only 执 / 执恢 / 执保 cases",
        ),
        ({"court": "川0105"}, None, payloads_pb2.MALFORMED, "court: differs"),
        (
            {"case_number": "（2025）渝0103执12号", "court": ""},
            None,
            payloads_pb2.COURT_OUTSIDE_PREFIXES,
            "court 渝0103 is not among the requester's courts (川01)",
        ),
        ({}, [], payloads_pb2.COURT_OUTSIDE_PREFIXES, "no court prefixes are configured"),
        (
            {"debtor": payloads_pb2.Debtor(type=payloads_pb2.PERSON, id_number=BAD_ID)},
            None,
            payloads_pb2.INVALID_IDENTIFIER,
            "debtor.id_number: check character",
        ),
        (
            {"debtor": payloads_pb2.Debtor(type=payloads_pb2.ORG, credit_code=EARLY_CODE)},
            None,
            payloads_pb2.INVALID_IDENTIFIER,
            "debtor.credit_code",
        ),
        ({"debtor": payloads_pb2.Debtor()}, None, payloads_pb2.INVALID_IDENTIFIER, "debtor.type"),
        ({"categories": []}, None, payloads_pb2.UNKNOWN_CATEGORY, "at least one"),
        ({"categories": [1, 77]}, None, payloads_pb2.UNKNOWN_CATEGORY, "not known"),
        ({"purpose": "  "}, None, payloads_pb2.MALFORMED, "purpose"),
        (
            {"debtor_registered": False},
            None,
            payloads_pb2.NOT_A_DEBTOR,
            "被执行人：请求方未声明被查询人为所引案件登记的被执行人（《网络查控规定》第七条、第八条",
        ),
        (
            {"debtor_registered": False},
            None,
            payloads_pb2.NOT_A_DEBTOR,
            "debtor: the requester does not state the debtor is a registered party",
        ),
    ],
)
def test_each_check_denies_with_its_reason(
    overrides: dict[str, Any], prefixes: Any, reason: int, detail: str
) -> None:
    request = _request(**overrides)
    if prefixes == "unknown":
        outcome = check_request(request, target="chongqing", requester_prefixes=None)
    else:
        outcome = _check(request, prefixes)
    assert isinstance(outcome, Denial)
    assert outcome.reason == reason
    assert detail in outcome.detail
    # Chinese first, as every refusal: "<field label>：<zh> / <field>: <explanation>".
    assert re.match(r"[^ ]*[\u4e00-\u9fff][^/]*：[^/]*[\u4e00-\u9fff].* / ", outcome.detail)
    assert SAMPLE_ID_NUMBER not in outcome.detail and BAD_ID not in outcome.detail


def test_an_early_credit_code_passes_only_when_the_officer_confirmed_it() -> None:
    bad = payloads_pb2.Debtor(type=payloads_pb2.ORG, credit_code=EARLY_CODE)
    assert isinstance(_check(_request(debtor=bad)), Denial)
    outcome = _check(_request(debtor=bad, credit_code_confirmed=True))
    assert isinstance(outcome, CheckedRequest) and outcome.warnings
    good = payloads_pb2.Debtor(type=payloads_pb2.ORG, credit_code=SAMPLE_CREDIT_CODE)
    assert _check(_request(debtor=good)).owner_id == SAMPLE_CREDIT_CODE


def test_subjects_and_keys() -> None:
    assert lookup_subject("chengdu", 12) == "chengdu/lookup/12"
    assert parse_lookup_subject("chengdu/lookup/12") == ("chengdu", 12)
    for bad in ("chengdu/lookup/012", "chengdu/bl/12", "Chengdu/lookup/1", "chengdu/lookup/"):
        assert parse_lookup_subject(bad) is None
    assert request_entry_id("chengdu/lookup/12") == "chengdu/12"
    with pytest.raises(ValueError, match="not a lookup subject"):
        request_entry_id("chengdu/bl/12")
    # The same key as the blacklist reads record (sha256 of the trimmed upper-case value).
    expected = hashlib.sha256(SAMPLE_ID_NUMBER.encode()).hexdigest()
    assert subject_key(" 11010519491231002x ") == expected


def test_masked_debtor_hides_a_person_but_not_a_company() -> None:
    person = masked_debtor(
        payloads_pb2.Debtor(type=payloads_pb2.PERSON, name="张三丰", id_number=SAMPLE_ID_NUMBER)
    )
    assert (person.name, person.id_number) == ("张**", "1101051949****002X")
    assert masked_debtor(person) == person  # masking twice changes nothing
    org = payloads_pb2.Debtor(
        type=payloads_pb2.ORG, name="某某公司", credit_code=SAMPLE_CREDIT_CODE
    )
    assert masked_debtor(org) == org


# ---------------------------------------------------------------- assets


def test_parse_categories() -> None:
    assert parse_categories("deposit, Real_Estate,deposit,") == (
        payloads_pb2.DEPOSIT,
        payloads_pb2.REAL_ESTATE,
    )
    with pytest.raises(ValidationError, match="each must be one of"):
        parse_categories("deposit,cash")
    with pytest.raises(ValidationError, match="at least one"):
        parse_categories(" , ")


ASSET = {
    "asset_id": "cq-1",
    "owner_id": SAMPLE_ID_NUMBER.lower(),
    "owner_name": "张三",
    "category": "real_estate",
    "registry": "重庆市不动产登记中心",
    "reference": "渝（2021）渝中区不动产权第0001234号",
    "location": "重庆市渝中区解放碑步行街88号",
    "value_fen": 150_000_000,
    "seizures": [{"court": "渝0103", "case_number": "(2024)渝0103执5号", "start_on": "2024-05-01"}],
}


def test_an_asset_line_is_normalised_and_round_trips() -> None:
    record = asset_from_json(ASSET, 3)
    assert record.owner_id == SAMPLE_ID_NUMBER
    assert record.category == payloads_pb2.REAL_ESTATE
    assert record.seizures[0].case_number == "（2024）渝0103执5号"
    assert asset_from_json(asset_to_json(record)) == record


@pytest.mark.parametrize(
    ("change", "zh", "message"),
    [
        ({"owner_id": BAD_ID}, "财产所有人证件号码：", "owner_id: check character"),
        ({"owner_id": EARLY_CODE}, "财产所有人证件号码：", "owner_id: check character"),
        (
            {"category": "cash"},
            "须为以下类别之一：存款（deposit）",
            "category: each must be one of",
        ),
        ({"asset_id": None}, "财产编号：必须填写", "asset_id: is required"),
        ({"value_fen": -1}, "财产价值：须为不小于0的整数", "value_fen: must be a whole number"),
        ({"value_fen": True}, "财产价值：须为不小于0的整数", "value_fen: must be a whole number"),
        ({"colour": "red"}, "colour：不是财产导入格式的字段", "colour: is not a field"),
        ({SAMPLE_ID_NUMBER: 1}, "<unnamed>：不是财产导入格式的字段", "<unnamed>: is not a field"),
        ({"location": "a\nb"}, "财产所在地：须为一行文字", "location: must be one line"),
        (
            {"seizures": [{"court": "渝0103"}]},
            "已有查封记录：须写明查封法院（court）和查封案号（case_number）",
            "seizures[0]: court and case_number",
        ),
        ({"seizures": "x"}, "须为查封记录（JSON 对象）的列表", "seizures: must be a list"),
    ],
)
def test_a_bad_asset_line_names_line_and_field_never_the_value(
    change: dict[str, Any], zh: str, message: str
) -> None:
    with pytest.raises(ValidationError) as err:
        asset_from_json({**ASSET, **change}, 7)
    assert str(err.value).startswith("第7行（line 7）：")
    assert zh in str(err.value) and message in str(err.value)
    assert SAMPLE_ID_NUMBER not in str(err.value) and BAD_ID not in str(err.value)


def test_an_early_credit_code_is_imported_only_when_allowed() -> None:
    obj = {**ASSET, "owner_id": EARLY_CODE}
    with pytest.raises(ValidationError):
        asset_from_json(obj)
    assert asset_from_json(obj, allow_bad_credit_code=True).owner_id == EARLY_CODE


def test_mask_asset_hides_what_identifies_a_person() -> None:
    record = asset_from_json(ASSET)
    masked = mask_asset(record)
    assert masked.owner_id == "1101051949****002X"
    assert masked.owner_name == "张*"
    assert masked.reference.endswith("234号") and masked.reference.count("*") > 10
    assert masked.location == "重庆市渝中区***"
    assert (masked.registry, masked.value_fen, masked.category) == (
        record.registry,
        record.value_fen,
        record.category,
    )
    assert mask_asset(masked) == masked
    company = asset_from_json({**ASSET, "owner_id": SAMPLE_CREDIT_CODE, "owner_name": "某某公司"})
    assert not owner_is_person(SAMPLE_CREDIT_CODE)
    assert (mask_asset(company).owner_id, mask_asset(company).owner_name) == (
        SAMPLE_CREDIT_CODE,
        "某某公司",
    )


def test_the_case_court_must_be_among_the_requesters_certificate_courts() -> None:
    # The peer table trusts the requester with 川01, but its certificate names only 川07.
    outcome = check_request(
        _request(), target="chongqing", requester_prefixes=["川01"], requester_courts=["川07"]
    )
    assert isinstance(outcome, Denial)
    assert outcome.reason == payloads_pb2.COURT_OUTSIDE_PREFIXES
    assert "certificate" in outcome.detail
    passed = check_request(
        _request(), target="chongqing", requester_prefixes=["川01"], requester_courts=["川01"]
    )
    assert isinstance(passed, CheckedRequest)
