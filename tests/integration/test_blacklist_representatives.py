"""Consumption restriction binds representatives (限制消费令): the persons an organisation's
listing names are found by their ID on every node, through the organisation's listing, and
delisting the organisation (or a correction that drops a person) lifts it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import grpc
import pytest
from click.testing import CliRunner

from ccnode.v1 import admin_pb2, log_pb2, payloads_pb2
from cli.main import main
from node.businesses.blacklist.check import check_subject
from node.runtime.node import Node
from tests.integration.harness import Federation, admin, eventually, listing, valid_ids

pytestmark = pytest.mark.integration

ORG_CODE = "91350100M000100Y43"
ORG_NAME = "成都某某贸易有限公司"
LEGAL, MANAGER, CONTROLLER = valid_ids(3, birth="19750611")


def org_listing(*reps: tuple[int, str, str]) -> admin_pb2.Draft:
    record = payloads_pb2.BlacklistRecord(
        case_number="（2024）川0104执2001号",
        court="川0104",
        debtor=payloads_pb2.Debtor(type=payloads_pb2.ORG, name=ORG_NAME, credit_code=ORG_CODE),
        obligation="支付货款人民币500000元",
        performance="未履行",
        ground=payloads_pb2.G1,
        basis_issuer="成都市锦江区人民法院",
        basis_number="（2023）川0104民初901号",
        filed_on="2024-01-15",
        representatives=[
            payloads_pb2.Representative(role=role, name=name, id_number=id_number)
            for role, name, id_number in reps
        ],
    )
    return admin_pb2.Draft(
        kind=log_pb2.BLACKLIST_LISTED,
        payload=payloads_pb2.Payload(blacklist_listed=payloads_pb2.BlacklistListed(record=record)),
    )


async def _check(node: Node, id_number: str) -> Any:
    """``ccnode blacklist check --id ID --json`` against a real node (in a worker thread)."""
    argv = ["blacklist", "check", "--home", str(node.config.home), "--id", id_number, "--json"]
    result = await asyncio.to_thread(CliRunner().invoke, main, argv)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return json.loads(result.stdout)


async def test_a_representative_is_found_through_the_listing_on_every_node(
    federation: Federation,
) -> None:
    a = await federation.start("chengdu")
    b = await federation.start("chongqing")
    await federation.link("chengdu", "chongqing")
    reply = await admin(a).Submit(
        admin_pb2.SubmitRequest(
            drafts=[
                org_listing(
                    (payloads_pb2.LEGAL_REPRESENTATIVE, "李四", LEGAL),
                    (payloads_pb2.PRINCIPAL_MANAGER, "王五", MANAGER),
                )
            ],
            actor="法官王五",
        )
    )
    subject = reply.subjects[0]

    async def bound(node: Node, id_number: str, status: str) -> bool:
        doc = await _check(node, id_number)
        return [(h["subject"], h["status"]) for h in doc["as_representative"]] == [
            (subject, status)
        ]

    await eventually(lambda: bound(b, LEGAL, "listed"))
    for node in (a, b):
        doc = await _check(node, LEGAL)
        assert doc["hits"] == []  # not a debtor
        (hit,) = doc["as_representative"]
        assert hit["reason"] == (
            f"legal representative of {ORG_NAME} (listing {subject}) 法定代表人"
        )
        assert hit["role"] == "LEGAL_REPRESENTATIVE"
        assert LEGAL not in json.dumps(doc, ensure_ascii=False)  # masked
        manager = (await _check(node, MANAGER))["as_representative"]
        assert [h["role"] for h in manager] == ["PRINCIPAL_MANAGER"]
        assert (await _check(node, CONTROLLER))["as_representative"] == []
        # The organisation's own listing names its legal representative.
        own = await _check(node, ORG_CODE)
        assert own["hits"][0]["legal_representative"] == "李四"
        check = await node.parts.db.read(check_subject, node.parts.db.store, LEGAL)
        assert check.listed

    # A correction replaces the principal manager by the actual controller.
    current = (
        await admin(a).BlacklistGet(
            admin_pb2.BlacklistGetRequest(
                subject=subject, reveal=True, actor="法官王五", purpose="correction"
            )
        )
    ).item.record
    del current.representatives[1:]
    current.representatives.add(
        role=payloads_pb2.ACTUAL_CONTROLLER, name="赵六", id_number=CONTROLLER
    )
    await admin(a).Submit(
        admin_pb2.SubmitRequest(
            drafts=[
                admin_pb2.Draft(
                    kind=log_pb2.BLACKLIST_CORRECTED,
                    subject=subject,
                    payload=payloads_pb2.Payload(
                        blacklist_corrected=payloads_pb2.BlacklistCorrected(
                            record=current, reason="主要负责人登记有误"
                        )
                    ),
                )
            ],
            actor="法官王五",
        )
    )
    await eventually(lambda: bound(b, CONTROLLER, "listed"))
    for node in (a, b):
        assert (await _check(node, MANAGER))["as_representative"] == []
        assert await bound(node, CONTROLLER, "listed")

    # Delisting the organisation lifts the restriction of every representative.
    await admin(a).Submit(
        admin_pb2.SubmitRequest(
            drafts=[
                admin_pb2.Draft(
                    kind=log_pb2.BLACKLIST_DELISTED,
                    subject=subject,
                    payload=payloads_pb2.Payload(
                        blacklist_delisted=payloads_pb2.BlacklistDelisted(
                            ground=payloads_pb2.D1, reason="已全部履行"
                        )
                    ),
                )
            ],
            actor="法官王五",
        )
    )
    await eventually(lambda: bound(b, LEGAL, "delisted"))
    for node in (a, b):
        assert await bound(node, LEGAL, "delisted")
        assert await bound(node, CONTROLLER, "delisted")
        check = await node.parts.db.read(check_subject, node.parts.db.store, LEGAL)
        assert not check.listed
        listed_only = await node.parts.db.read(
            check_subject, node.parts.db.store, LEGAL, statuses={"listed"}
        )
        assert listed_only.hits == ()


async def test_the_node_refuses_a_bad_representative_naming_it(federation: Federation) -> None:
    a = await federation.start("chengdu")
    bad_id = LEGAL[:-1] + ("1" if LEGAL[-1] != "1" else "2")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin(a).Submit(
            admin_pb2.SubmitRequest(
                drafts=[
                    org_listing(
                        (payloads_pb2.PRINCIPAL_MANAGER, "王五", MANAGER),
                        (payloads_pb2.LEGAL_REPRESENTATIVE, "李四", bad_id),
                    )
                ],
                actor="法官王五",
            )
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details().startswith("draft 0: 第2个代表人身份证号（--representative）：")
    assert "/ representatives[1].id_number: " in err.value.details()
    assert err.value.details().endswith("[rule: checksum]")
    assert bad_id not in err.value.details()
    person = listing()
    person.payload.blacklist_listed.record.representatives.add(
        role=payloads_pb2.LEGAL_REPRESENTATIVE, name="李四", id_number=LEGAL
    )
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[person], actor="法官王五"))
    assert "/ representatives: only an organisation has representatives [rule: not_allowed]" in (
        err.value.details()
    )
    assert (await admin(a).BlacklistSearch(admin_pb2.BlacklistSearchRequest())).total == 0
