"""The registers of officers and case parties against every backend (memory, SQLite,
PostgreSQL): insert or replace by key, ordered reads, removal, membership."""

from __future__ import annotations

from node.store import Store
from node.store.base import CasePartyRecord, OfficerRecord

CASE = "（2024）川0104执1234号"
OTHER = "（2024）川0104执1235号"


def test_officers(store: Store) -> None:
    store.put_officer(OfficerRecord("wang5", "川0104", "王五", "judge"))
    store.put_officer(OfficerRecord("li4", "川0105", "李四", "clerk"))
    store.put_officer(OfficerRecord("zhao6", "川0104", "赵六", "clerk"))
    store.put_officer(OfficerRecord("zhao6", "川0104", "赵六", "assistant"))  # replaced
    assert store.officers() == [
        OfficerRecord("wang5", "川0104", "王五", "judge"),
        OfficerRecord("zhao6", "川0104", "赵六", "assistant"),
        OfficerRecord("li4", "川0105", "李四", "clerk"),
    ]
    assert store.officer("wang5") == OfficerRecord("wang5", "川0104", "王五", "judge")
    assert store.officer("nobody") is None
    assert store.remove_officer("wang5") is True
    assert store.remove_officer("wang5") is False
    assert store.officer("wang5") is None


def test_case_parties(store: Store) -> None:
    store.put_case_party(CasePartyRecord(CASE, "510104199003071237", "person", "张三"))
    store.put_case_party(CasePartyRecord(CASE, "91350100M000100Y43", "org", "某公司"))
    store.put_case_party(CasePartyRecord(OTHER, "510104199003071237", "person", ""))
    store.put_case_party(CasePartyRecord(CASE, "510104199003071237", "person", "张三丰"))
    assert store.is_case_party(CASE, "510104199003071237")
    assert not store.is_case_party(CASE, "11010519491231002X")
    assert [p.party_id for p in store.case_parties(CASE)] == [
        "510104199003071237",
        "91350100M000100Y43",
    ]
    assert store.case_parties(CASE)[0].name == "张三丰"
    assert [(p.case_number, p.party_id) for p in store.case_parties()] == [
        (CASE, "510104199003071237"),
        (CASE, "91350100M000100Y43"),
        (OTHER, "510104199003071237"),
    ]
    assert store.remove_case_party(CASE, "510104199003071237") is True
    assert store.remove_case_party(CASE, "510104199003071237") is False
    assert not store.is_case_party(CASE, "510104199003071237")
    assert store.is_case_party(OTHER, "510104199003071237")
