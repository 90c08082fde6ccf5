"""The registers' rules (sync/domain/registers.py): an officer is registered at a court the
node serves, with an id ``--actor`` can name and a role; a case party is a debtor of a 执 /
执恢 / 执保 case of the node's courts, by a valid resident ID or credit code (DOMAIN.md's
examples); errors name the field and the rule, never the value."""

from __future__ import annotations

import pytest

from ccnode.v1 import payloads_pb2
from sync.domain.errors import ValidationError
from sync.domain.registers import (
    OFFICER_ROLES,
    Officer,
    officer_serves,
    validate_officer,
    validate_party,
)

PREFIXES = ["川01"]
CASE = "(2024)川0104执1234号"  # ASCII parentheses, normalised


def test_an_officer_of_a_served_court_is_registered() -> None:
    officer = validate_officer(" 法官王五 ", "川0104", " 王五 ", "judge", court_prefixes=PREFIXES)
    assert officer == Officer("法官王五", "川0104", "王五", "judge")
    assert officer_serves(officer, PREFIXES)
    assert not officer_serves(officer, ["渝01"])  # the node no longer serves the court
    assert not officer_serves(None, PREFIXES)
    assert set(OFFICER_ROLES) == {"judge", "assistant", "clerk", "enforcement_officer"}


@pytest.mark.parametrize(
    ("officer_id", "court", "name", "role", "field", "rule"),
    [
        ("", "川0104", "王五", "judge", "officer_id", "required"),
        ("x" * 65, "川0104", "王五", "judge", "officer_id", "required"),
        ("王 五", "川0104", "王五", "judge", "officer_id", "format"),
        ("-wang", "川0104", "王五", "judge", "officer_id", "format"),
        ("wang", "川010", "王五", "judge", "court", "format"),
        ("wang", "渝0103", "王五", "judge", "court", "court_prefix"),
        ("wang", "川0104", " ", "judge", "officer.name", "required"),
        ("wang", "川0104", "王五", "boss", "role", "enum"),
    ],
)
def test_officer_refusals_name_field_and_rule(
    officer_id: str, court: str, name: str, role: str, field: str, rule: str
) -> None:
    with pytest.raises(ValidationError) as err:
        validate_officer(officer_id, court, name, role, court_prefixes=PREFIXES)
    assert (err.value.field, err.value.rule) == (field, rule)


def _person(id_number: str) -> payloads_pb2.Debtor:
    return payloads_pb2.Debtor(type=payloads_pb2.PERSON, id_number=id_number, name="张三")


def test_a_party_is_a_debtor_of_an_enforcement_case_of_the_node() -> None:
    # DOMAIN.md: 11010519491231002X (S = 167 → X), given with a lower-case x.
    party, warnings = validate_party(CASE, _person("11010519491231002x"), court_prefixes=PREFIXES)
    assert (party.case_number, party.party_id, party.party_type) == (
        "（2024）川0104执1234号",
        "11010519491231002X",
        "person",
    )
    assert warnings == ()
    # DOMAIN.md: 91350100M000100Y43 (S = 1640 → 3).
    org = payloads_pb2.Debtor(type=payloads_pb2.ORG, credit_code="91350100M000100Y43")
    party, _ = validate_party(CASE, org, court_prefixes=PREFIXES)
    assert (party.party_id, party.party_type) == ("91350100M000100Y43", "org")
    early = payloads_pb2.Debtor(type=payloads_pb2.ORG, credit_code="91350100M000100Y44")
    with pytest.raises(ValidationError):
        validate_party(CASE, early, court_prefixes=PREFIXES)
    _, warnings = validate_party(CASE, early, court_prefixes=PREFIXES, confirm_bad_credit_code=True)
    assert warnings


@pytest.mark.parametrize(
    ("case", "debtor", "field", "rule"),
    [
        ("（2024）川0104民初1号", _person("11010519491231002X"), "case_number", "case_type"),
        ("（2024）渝0103执1号", _person("11010519491231002X"), "case_number", "court_prefix"),
        (CASE, _person("110105194912310021"), "debtor.id_number", "checksum"),
        (CASE, payloads_pb2.Debtor(), "debtor.type", "required"),
    ],
)
def test_party_refusals_name_field_and_rule(
    case: str, debtor: payloads_pb2.Debtor, field: str, rule: str
) -> None:
    with pytest.raises(ValidationError) as err:
        validate_party(case, debtor, court_prefixes=PREFIXES)
    assert (err.value.field, err.value.rule) == (field, rule)
    assert "110105194912310021" not in str(err.value)


def test_register_refusals_read_in_the_courts_terms() -> None:
    """Chinese first, the field as the CLI help names it, the rule's source, enums as typed."""
    with pytest.raises(ValidationError) as err:
        validate_officer("wang", "渝0103", "王五", "judge", court_prefixes=PREFIXES)
    assert err.value.zh_text.startswith("执行法院（--court）：法院渝0103不属本节点所辖法院")
    assert "《网络查控规定》第七条、第八条" in err.value.zh
    with pytest.raises(ValidationError) as err:
        validate_officer("wang", "川0104", " ", "judge", court_prefixes=PREFIXES)
    assert err.value.zh_text == "承办人姓名（--name）：必须填写，且不得超过100个字符"
    with pytest.raises(ValidationError) as err:
        validate_officer("wang", "川0104", "王五", "boss", court_prefixes=PREFIXES)
    assert "enforcement_officer（执行员）" in err.value.zh
    with pytest.raises(ValidationError) as err:
        validate_party(
            "（2024）川0104执异7号", _person("11010519491231002X"), court_prefixes=PREFIXES
        )
    assert "仅限执行实施类案件（执、执恢、执保）" in err.value.zh
    with pytest.raises(ValidationError) as err:
        validate_party(CASE, payloads_pb2.Debtor(), court_prefixes=PREFIXES)
    assert err.value.zh == "须为 person（自然人）或 org（法人或其他组织）"
    assert "PERSON" not in str(err.value) and "ORG" not in str(err.value)
