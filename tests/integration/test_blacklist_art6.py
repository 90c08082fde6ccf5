"""法释〔2017〕7号 art. 6 fields on two real nodes: what the listing node derives (the debtor's
age, the court's name from the court-code register, the extension reason, the organisation
code, the delisting's deadline) travels in the signed entries and is shown on the other node;
courts outside the register are refused at the listing node."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import grpc
import pytest
from click.testing import CliRunner

from ccnode.v1 import admin_pb2, log_pb2, payloads_pb2
from cli.main import main
from node.clock import FakeClock
from node.runtime.node import Node
from tests.integration.harness import Federation, admin, eventually, listing

pytestmark = pytest.mark.integration

ORG_CODE = "M000100Y4"  # the organisation code inside DOMAIN.md's credit code 91350100M000100Y43


async def _item(node: Node, subject: str) -> admin_pb2.BlacklistItem | None:
    try:
        reply = await admin(node).BlacklistGet(admin_pb2.BlacklistGetRequest(subject=subject))
    except grpc.aio.AioRpcError:
        return None
    return reply.item


async def _arrived(node: Node, subject: str, status: str = "listed") -> admin_pb2.BlacklistItem:
    async def there() -> bool:
        item = await _item(node, subject)
        return item is not None and item.status == status

    await eventually(there)
    item = await _item(node, subject)
    assert item is not None
    return item


async def _show_json(node: Node, subject: str) -> Any:
    argv = ["blacklist", "show", "--home", str(node.config.home), subject, "--json"]
    result = await asyncio.to_thread(CliRunner().invoke, main, argv)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["item"]


async def test_age_court_name_and_extension_reason_are_shown_on_the_other_node(
    federation: Federation,
) -> None:
    clock = FakeClock()  # 2025-01-01
    a = await federation.start("chengdu", clock=clock)
    b = await federation.start("chongqing", clock=FakeClock())
    await federation.link("chengdu", "chongqing")
    draft = listing(ground=payloads_pb2.G2, term_years=3)
    draft.payload.blacklist_listed.record.term_extension = payloads_pb2.VIOLENCE_OR_THREATS
    subject = (
        await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[draft], actor="法官王五"))
    ).subjects[0]
    item = await _arrived(b, subject)
    record = item.record
    assert record.debtor_age == 34  # born 1990-03-07, listed 2025-01-01
    assert record.court_name == "四川省成都市锦江区人民法院"
    assert record.term_extension == payloads_pb2.VIOLENCE_OR_THREATS
    assert record.debtor.id_number == "5101041990****1237"  # masked on the other node too
    shown = await _show_json(b, subject)
    assert (shown["age"], shown["court_name"], shown["id"]) == (
        34, "四川省成都市锦江区人民法院", "5101041990****1237",
    )  # fmt: skip
    assert shown["term_extension"] == "VIOLENCE_OR_THREATS"


async def test_an_extension_without_its_reason_and_an_unknown_court_are_refused(
    federation: Federation,
) -> None:
    a = await federation.start("chengdu", clock=FakeClock())
    for draft, field, rule in (
        (listing(ground=payloads_pb2.G2, term_years=4), "term_extension", "extension_reason"),
        (listing(case="（2024）川0100执1号", court="川0100"), "case_number", "unknown_court"),
        (listing(case="（2026）川0104执1号"), "case_number", "year"),  # after 2025 (the clock)
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[draft], actor="王五"))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert f"{field}:" in err.value.details() and f"[rule: {rule}]" in err.value.details()
    search = await admin(a).BlacklistSearch(admin_pb2.BlacklistSearchRequest())
    assert search.total == 0


async def test_an_organisation_listed_by_its_organisation_code_is_published_in_full(
    federation: Federation,
) -> None:
    a = await federation.start("chengdu", clock=FakeClock())
    b = await federation.start("chongqing", clock=FakeClock())
    await federation.link("chengdu", "chongqing")
    draft = listing()
    debtor = draft.payload.blacklist_listed.record.debtor
    debtor.Clear()
    debtor.type = payloads_pb2.ORG
    debtor.name = "成都某某商贸部"
    debtor.org_code = "m000100y-4"
    debtor.legal_representative = "李四"
    subject = (
        await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[draft], actor="王五"))
    ).subjects[0]
    item = await _arrived(b, subject)
    assert item.record.debtor.org_code == ORG_CODE
    assert item.record.debtor_age == 0
    search = await admin(b).BlacklistSearch(admin_pb2.BlacklistSearchRequest(id_number=ORG_CODE))
    assert [i.subject for i in search.items] == [subject]
    shown = await _show_json(b, subject)
    assert (shown["id"], shown["id_kind"]) == (ORG_CODE, "org_code")


async def test_a_late_delisting_records_its_deadline_on_both_nodes(federation: Federation) -> None:
    clock = FakeClock()  # 2025-01-01, a holiday
    a = await federation.start("chengdu", clock=clock)
    b = await federation.start("chongqing", clock=FakeClock())
    await federation.link("chengdu", "chongqing")
    subject = (
        await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="王五"))
    ).subjects[0]
    clock.advance(days=10)  # 2025-01-11
    delist = admin_pb2.Draft(
        kind=log_pb2.BLACKLIST_DELISTED,
        subject=subject,
        payload=payloads_pb2.Payload(
            blacklist_delisted=payloads_pb2.BlacklistDelisted(
                ground=payloads_pb2.D1, reason="全部履行完毕", ground_arose_on="2025-01-02"
            )
        ),
    )
    reply = await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[delist], actor="王五"))
    # Thursday 2 January + 3 working days = Tuesday 7 January.
    assert any("later than the 3-working-day limit (2025-01-07)" in w for w in reply.warnings)
    for node in (a, b):
        item = await _arrived(node, subject, "delisted")
        assert (item.delist_ground_arose_on, item.delist_act_due_on, item.delisted_late) == (
            "2025-01-02", "2025-01-07", True,
        )  # fmt: skip
