"""A node's refusals carry their field, rule and place as gRPC rich error details, for any
client: read here with a raw stub and grpc_status. The Chinese sentence comes first: in the
status message, as the details' LocalizedMessage (zh-CN) and FieldViolation.localized_message,
and as the CLI prints it, the same sentence through each (docs/operations.md, "Refusals")."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncIterator

import grpc
import pytest
from click.testing import CliRunner, Result
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from ccnode.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    log_pb2,
    lookups_pb2,
    lookups_pb2_grpc,
    payloads_pb2,
    tasks_pb2,
    tasks_pb2_grpc,
)
from cli.main import main
from node.runtime.node import Node
from sync.domain.wording import field_label
from tests.integration.harness import Federation, eventually, listing, valid_ids

pytestmark = pytest.mark.integration

BAD_ID = "510104199003071238"  # wrong check character


def _channel(node: Node) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(f"unix://{node.config.admin_socket}")


Details = tuple[status_pb2.Status, error_details_pb2.BadRequest, error_details_pb2.ErrorInfo]


def _details(err: grpc.aio.AioRpcError) -> Details:
    """The rich status of a failed call and its details, in the node's order; the Chinese
    sentence of its LocalizedMessage is the field violation's, and the message starts with it."""
    status = rpc_status.from_call(err)
    assert status is not None, "no rich status in the trailing metadata"
    bad_request, info = error_details_pb2.BadRequest(), error_details_pb2.ErrorInfo()
    localized = error_details_pb2.LocalizedMessage()
    kinds = [d.type_url.rsplit("/", 1)[-1] for d in status.details]
    assert kinds == ["google.rpc.BadRequest", "google.rpc.LocalizedMessage", "google.rpc.ErrorInfo"]
    assert status.details[0].Unpack(bad_request) and status.details[2].Unpack(info)
    assert status.details[1].Unpack(localized) and localized.locale == "zh-CN"
    (violation,) = bad_request.field_violations
    assert violation.localized_message == localized
    assert localized.message.startswith(field_label(violation.field) + "：")
    english = f"{violation.field}: {violation.description}"
    assert f"{localized.message} / {english}" in status.message
    return status, bad_request, info


async def test_a_refused_draft_names_its_field_rule_and_position(federation: Federation) -> None:
    a = await federation.start("chengdu")
    async with _channel(a) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await admin_pb2_grpc.AdminStub(channel).Submit(
                admin_pb2.SubmitRequest(
                    drafts=[listing(), listing(id_number=BAD_ID)], actor="法官王五"
                )
            )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status, bad_request, info = _details(err.value)
    (violation,) = bad_request.field_violations
    assert (violation.field, info.domain, dict(info.metadata)) == (
        "id_number",
        "ccnode",
        {"field": "id_number", "position": "1"},
    )
    assert info.reason == "checksum"
    # Plain clients still read a sentence, Chinese first, with the rule; the value is nowhere.
    assert status.message == err.value.details()
    assert err.value.details() == (
        f"draft 1: {violation.localized_message.message} / id_number: {violation.description}"
        f" [rule: {info.reason}]"
    )
    assert BAD_ID not in status.SerializeToString().decode("utf-8", "replace")


async def test_a_refused_argument_has_no_position(federation: Federation) -> None:
    a = await federation.start("chengdu")
    async with _channel(a) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await tasks_pb2_grpc.TasksStub(channel).List(tasks_pb2.TaskListRequest(role="x"))
    status, bad_request, info = _details(err.value)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("role", "must be delegated or received")
    ]
    assert (info.reason, dict(info.metadata)) == ("enum", {"field": "role"})
    assert status.message.endswith(" / role: must be delegated or received")


async def test_a_refused_import_names_the_line(federation: Federation) -> None:
    b = await federation.start("chongqing")
    record = payloads_pb2.AssetRecord(
        asset_id="cq-1",
        owner_id=BAD_ID,
        owner_name="李四",
        category=payloads_pb2.DEPOSIT,
        registry="中国银行重庆分行",
        reference="6217000012345678901",
        value_fen=100,
    )

    async def messages() -> AsyncIterator[lookups_pb2.ImportAssetsRequest]:
        yield lookups_pb2.ImportAssetsRequest(records=[record], first_line=42)

    async with _channel(b) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await lookups_pb2_grpc.LookupsStub(channel).ImportAssets(messages())
    status, bad_request, info = _details(err.value)
    assert bad_request.field_violations[0].field == "owner_id"
    assert dict(info.metadata) == {"field": "owner_id", "line": "42"}
    assert status.message.startswith("第42行（line 42）：")
    assert BAD_ID not in status.SerializeToString().decode("utf-8", "replace")


async def test_a_malformed_as_of_is_refused_naming_the_field_and_the_rule(
    federation: Federation,
) -> None:
    a = await federation.start("chengdu")
    async with _channel(a) as channel:
        calls = [
            (tasks_pb2_grpc.TasksStub(channel).Overdue, tasks_pb2.TaskOverdueRequest),
            (tasks_pb2_grpc.TasksStub(channel).Board, tasks_pb2.TaskBoardRequest),
            (
                tasks_pb2_grpc.TasksStub(channel).SeizuresExpiring,
                tasks_pb2.SeizuresExpiringRequest,
            ),
        ]
        for call, request in calls:
            # Not a day; a basic-format date; a day no calendar has.
            for bad in ("next monday", "20250108", "2025-02-30"):
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await call(request(as_of=bad))
                status, bad_request, info = _details(err.value)
                assert (bad_request.field_violations[0].field, info.reason) == ("as_of", "date")
                assert status.message == (
                    "查询时点（--as-of）：须为日期 YYYY-MM-DD（北京时间），或不填"
                    " / as_of: must be a date YYYY-MM-DD (China Standard Time), or empty"
                )
        admin = admin_pb2_grpc.AdminStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await admin.BlacklistSearch(
                admin_pb2.BlacklistSearchRequest(expiring_within_days=30, as_of="2025-1-8")
            )
        assert _details(err.value)[2].reason == "date"
        # A day given to a search that evaluates no term is refused, not ignored.
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await admin.BlacklistSearch(admin_pb2.BlacklistSearchRequest(as_of="2025-01-08"))
        info = _details(err.value)[2]
        assert (info.metadata["field"], info.reason) == ("as_of", "expiring")
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await admin.BlacklistSearch(
                admin_pb2.BlacklistSearchRequest(expiring_within_days=30, status="delisted")
            )
        info = _details(err.value)[2]
        assert (info.metadata["field"], info.reason) == ("status", "expiring")


# ---------------------------------------------------------------- the CLI and the details alike

_CJK = re.compile(r"[\u4e00-\u9fff]")
CASE = "（2025）川0104执1234号"
DEBTOR_ID = valid_ids(1)[0]


async def _cli(*args: object) -> Result:
    """Run ``ccnode`` in a worker thread: the nodes keep serving on this event loop."""
    return await asyncio.to_thread(CliRunner().invoke, main, [str(a) for a in args])


async def _ok(*args: object) -> Result:
    result = await _cli(*args)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def _printed(result: Result) -> str:
    """The refusal the CLI printed: exit code 3 (refused by a rule), one line."""
    assert result.exit_code == 3, (result.stdout, result.stderr, result.exception)
    (line,) = [text for text in result.stderr.splitlines() if text.strip()]
    assert line.startswith("Error: ")
    return line.removeprefix("Error: ")


def _same_sentence(printed: str, err: grpc.aio.AioRpcError, field: str, rule: str) -> str:
    """The CLI printed the details' Chinese sentence first, then the English, then the rule;
    the Chinese sentence (returned) names the field as the CLI help does."""
    _, bad_request, info = _details(err)
    (violation,) = bad_request.field_violations
    assert (violation.field, info.reason) == (field, rule)
    zh = violation.localized_message.message
    assert printed == f"{zh} / {field}: {violation.description} [rule: {rule}]"
    assert zh.startswith(field_label(field) + "：") and _CJK.search(zh.partition("：")[2])
    assert printed.index(zh) < printed.index(f" / {field}: ")
    return zh


def _lookup(target: str, purpose: str = "查询被执行人财产") -> lookups_pb2.LookupRequest:
    return lookups_pb2.LookupRequest(
        target=target,
        case_number=CASE,
        debtor=payloads_pb2.Debtor(type=payloads_pb2.PERSON, id_number=DEBTOR_ID),
        categories=[payloads_pb2.DEPOSIT],
        purpose=purpose,
        actor="法官王五",
    )


async def test_a_services_refusal_reads_the_same_in_the_cli_and_the_details(
    federation: Federation,
) -> None:
    """The lookup service's own refusals (a missing purpose, a node that is no peer, a debtor
    the register does not hold), through `ccnode lookup request` and through a raw stub."""
    a = await federation.start("chengdu")
    b = await federation.start("chongqing")
    await _ok("peers", "add", "--home", a.config.home, "chongqing", f"127.0.0.1:{b.port}")
    await _ok(
        "peers", "add", "--home", b.config.home, "chengdu", f"127.0.0.1:{a.port}",
        "--court-prefix", "川01",
    )  # fmt: skip

    def request(target: str, purpose: str) -> list[object]:
        return [
            "lookup", "request", "--home", a.config.home, "--to", target, "--case", CASE,
            "--id", DEBTOR_ID, "--categories", "deposit", "--purpose", purpose,
            "--actor", "法官王五",
        ]  # fmt: skip

    asked = "查询被执行人财产"
    cases = (
        ("chongqing", " ", "purpose", "required", "查询事由（--purpose）：必须写明查询事由"),
        ("mianyang", asked, "target", "not_peer", "被查询地区节点（--to）：不是本节点的对端节点"),
        ("chongqing", asked, "debtor", "not_a_debtor", "被执行人：未登记为所引案件的被执行人"),
    )  # fmt: skip
    async with _channel(a) as channel:
        stub = lookups_pb2_grpc.LookupsStub(channel)
        for target, purpose, field, rule, start in cases:
            printed = _printed(await _cli(*request(target, purpose)))
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.Request(_lookup(target, purpose))
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            zh = _same_sentence(printed, err.value, field, rule)
            assert zh.startswith(start), zh
            assert DEBTOR_ID not in printed and DEBTOR_ID not in (err.value.details() or "")
    assert "《网络查控规定》第七条、第八条" in zh  # the rule's source


def _document_digest() -> str:
    return "委托执行函=" + hashlib.sha256(b"%PDF letter").hexdigest()


async def test_the_validators_refusals_read_the_same_in_the_cli_and_the_details(
    federation: Federation,
) -> None:
    """The refusals the issue names, worded by the domain validators (sync/domain/blacklist.py,
    tasks.py, seizures.py): a term over 2 years without its reason, a credit repair typed as
    `creditor`, a deposit's freeze term (存款) and an amount (元), each the same sentence through
    the CLI and the details, with the values as the officer typed them."""
    a = await federation.start("chengdu")
    b = await federation.start("chongqing")
    await federation.link("chengdu", "chongqing")
    home_a, home_b = a.config.home, b.config.home
    add = [
        "blacklist", "add", "--home", home_a, "--case-number", "（2024）川0104执1234号",
        "--court", "川0104", "--debtor-type", "person", "--name", "张三",
        "--id-number", "510104199003071237", "--obligation", "支付货款人民币100000元",
        "--performance", "未履行", "--ground", "G1", "--basis-issuer", "成都市锦江区人民法院",
        "--basis-number", "（2023）川0104民初5678号", "--filed-on", "2024-01-15",
        "--actor", "法官王五",
    ]  # fmt: skip
    async with _channel(a) as channel:
        admin_a = admin_pb2_grpc.AdminStub(channel)
        # A term over 2 years without its extension reason (《失信规定》art. 2 ¶2).
        # (G2 onwards: a fixed term of 2 years, extendable; G1 has none.)
        printed = _printed(await _cli(*add, "--ground", "G2", "--term-years", "3"))
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await admin_a.Submit(
                admin_pb2.SubmitRequest(
                    drafts=[listing(ground=payloads_pb2.G2, term_years=3)], actor="法官王五"
                )
            )
        zh = _same_sentence(printed, err.value, "term_extension", "extension_reason")
        assert "延长事由" in zh and "《失信规定》" in zh
        # A credit repair as the officer types it: `creditor`, never CREDITOR_REQUEST.
        added = json.loads((await _ok(*add, "--json")).stdout)
        subject = added["subjects"][0]
        delist = [
            "blacklist", "delist", "--home", home_a, subject, "--ground", "D1",
            "--reason", "已全部履行", "--credit-repair", "creditor", "--actor", "法官王五",
        ]  # fmt: skip
        printed = _printed(await _cli(*delist))
        body = payloads_pb2.BlacklistDelisted(
            ground=payloads_pb2.D1, reason="已全部履行", credit_repair=payloads_pb2.CREDITOR_REQUEST
        )
        draft = admin_pb2.Draft(
            kind=log_pb2.BLACKLIST_DELISTED,
            subject=subject,
            payload=payloads_pb2.Payload(blacklist_delisted=body),
        )
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await admin_a.Submit(admin_pb2.SubmitRequest(drafts=[draft], actor="法官王五"))
        zh = _same_sentence(printed, err.value, "credit_repair", "credit_repair")
        assert "creditor" in zh and "CREDITOR_REQUEST" not in printed

    # A matter delegated to chongqing, accepted there; its measures are refused there.
    delegated = await _ok(
        "tasks", "delegate", "--home", home_a, "--to", "chongqing", "--receiving-court", "渝0103",
        "--scope", "matter", "--matter", "freeze", "--case-number", "（2024）川0104执1234号",
        "--judge", "法官王五", "--debtor-type", "person", "--debtor-name", "张三",
        "--id-number", "510104199003071237", "--amount-fen", "1000000",
        "--asset", "deposit:6222-0001:2000000", "--document-digest", _document_digest(),
        "--actor", "法官王五", "--json",
    )  # fmt: skip
    task = json.loads(delegated.stdout)["subjects"][0]

    async def arrived() -> bool:
        rows = await b.parts.db.read(b.parts.db.store.get_rows, "tasks", [task])
        return task in rows

    await eventually(arrived)
    await _ok(
        "tasks", "accept", "--home", home_b, task, "--judge", "法官刘七", "--actor", "法官刘七"
    )
    report = [
        "tasks",
        "report",
        "--home",
        home_b,
        task,
        "--report",
        "已冻结",
        "--actor",
        "法官刘七",
    ]
    async with _channel(b) as channel:
        admin_b = admin_pb2_grpc.AdminStub(channel)

        def measure(value_fen: int, term_days: int) -> admin_pb2.Draft:
            body = payloads_pb2.TaskProgress(
                report="已冻结",
                measures=[
                    payloads_pb2.SeizureMeasure(
                        asset=payloads_pb2.AssetRecord(
                            asset_id="6222-0001", category=payloads_pb2.DEPOSIT
                        ),
                        value_fen=value_fen,
                        term_days=term_days,
                    )
                ],
            )
            return admin_pb2.Draft(
                kind=log_pb2.TASK_PROGRESS,
                subject=task,
                payload=payloads_pb2.Payload(task_progress=body),
            )

        # A deposit frozen beyond its maximum term: the category as 存款, never DEPOSIT.
        spec = "asset=6222-0001,category=deposit,value_fen=1000000,term_days=4000"
        printed = _printed(await _cli(*report, "--measure", spec))
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await admin_b.Submit(
                admin_pb2.SubmitRequest(drafts=[measure(1000000, 4000)], actor="法官刘七")
            )
        _, bad_request, info = _details(err.value)
        zh = _same_sentence(printed, err.value, bad_request.field_violations[0].field, info.reason)
        assert info.reason == "max_term" and "存款" in zh and "DEPOSIT" not in printed
        # Frozen far over the amount (10,000.00 元): amounts in 元, never in fen.
        spec = "asset=6222-0001,category=deposit,value_fen=900000000,term_days=365"
        printed = _printed(await _cli(*report, "--measure", spec))
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await admin_b.Submit(
                admin_pb2.SubmitRequest(drafts=[measure(900000000, 365)], actor="法官刘七")
            )
        _, bad_request, info = _details(err.value)
        zh = _same_sentence(printed, err.value, bad_request.field_violations[0].field, info.reason)
        assert info.reason == "over_amount" and "元" in zh
        assert not re.search(r"\bfen\b|\d 分", zh), zh
