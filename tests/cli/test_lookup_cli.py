"""``ccnode lookup``, ``ccnode assets`` and ``ccnode audit access`` against a fake Lookups
service on the node's admin socket: the requests built, the output, masking, exit codes."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from ccnode.v1 import admin_pb2_grpc, lookups_pb2, lookups_pb2_grpc, payloads_pb2
from cli.common.errors import InvalidInput
from cli.lookup import lookup_assets
from sync.domain.assets import asset_from_json
from sync.domain.identifiers import resident_id_check_char
from tests.cli.support import FakeAdmin, fails, ok

_BODY = "50010319800521003"
ID = _BODY + resident_id_check_char(_BODY)
MASKED = ID[:10] + "****" + ID[14:]
CASE = "（2025）川0104执1234号"
ACTOR = {"CCNODE_ACTOR": "法官王五"}


class FakeLookups(lookups_pb2_grpc.LookupsServicer):
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[tuple[str, Any]] = []
        self.responses: dict[str, Any] = {}
        self.imported: list[lookups_pb2.ImportAssetsRequest] = []

    def _handle(self, name: str, request: Any, response_type: type) -> Any:
        with self.lock:
            self.requests.append((name, request))
        return self.responses.get(name) or response_type()

    def Request(self, request: Any, context: Any) -> Any:
        return self._handle("Request", request, lookups_pb2.LookupResult)

    def List(self, request: Any, context: Any) -> Any:
        return self._handle("List", request, lookups_pb2.ListLookupsResponse)

    def Get(self, request: Any, context: Any) -> Any:
        return self._handle("Get", request, lookups_pb2.LookupResult)

    def Access(self, request: Any, context: Any) -> Any:
        return self._handle("Access", request, lookups_pb2.AccessResponse)

    def CountAssets(self, request: Any, context: Any) -> Any:
        return self._handle("CountAssets", request, lookups_pb2.CountAssetsResponse)

    def ImportAssets(self, request_iterator: Iterator[Any], context: Any) -> Any:
        messages = list(request_iterator)
        with self.lock:
            self.imported.extend(messages)
        count = sum(len(m.records) for m in messages)
        return lookups_pb2.ImportAssetsResponse(imported=count, total=count + 10)

    def received(self, name: str) -> list[Any]:
        with self.lock:
            return [r for n, r in self.requests if n == name]


@pytest.fixture
def grpc_servicer() -> tuple[FakeAdmin, FakeLookups]:
    return FakeAdmin(), FakeLookups()


@pytest.fixture
def grpc_add_to_server() -> Callable[[tuple[FakeAdmin, FakeLookups], grpc.Server], None]:
    """The Admin and Lookups fakes on one socket, as a running node has them."""

    def add(servicers: tuple[FakeAdmin, FakeLookups], server: grpc.Server) -> None:
        admin_pb2_grpc.add_AdminServicer_to_server(servicers[0], server)
        lookups_pb2_grpc.add_LookupsServicer_to_server(servicers[1], server)

    return add


@pytest.fixture
def fake(grpc_server: grpc.Server, grpc_servicer: tuple[FakeAdmin, FakeLookups]) -> FakeLookups:
    return grpc_servicer[1]


def _asset(
    asset_id: str = "cq-1", category: int = payloads_pb2.DEPOSIT
) -> payloads_pb2.AssetRecord:
    return payloads_pb2.AssetRecord(
        asset_id=asset_id,
        owner_id=ID,
        owner_name="李四",
        category=category,  # type: ignore[arg-type]
        registry="中国银行重庆分行",
        reference="6217000012345678901",
        location="重庆市渝中区解放碑步行街88号",
        value_fen=12_345_678,
    )


def _item(status: str = "answered", **reply: Any) -> lookups_pb2.LookupItem:
    return lookups_pb2.LookupItem(
        subject="chengdu/lookup/3",
        requester="chengdu",
        target="chongqing",
        status=status,
        request_entry="chengdu/3",
        requested_by="法官王五",
        requested_hlc=1_735_689_600_000 << 16,
        case_number=CASE,
        purpose="查询",
        categories=[payloads_pb2.DEPOSIT],
        reply=lookups_pb2.LookupReply(entry_id="chongqing/9", origin="chongqing", **reply),
    )


def _request_args(home: Path, *extra: str) -> list[str | Path]:
    return [
        "lookup", "request", "--home", home, "--to", "chongqing", "--case", CASE, "--id", ID,
        "--categories", "deposit,real_estate", "--purpose", "查询被执行人财产", *extra,
    ]  # fmt: skip


# ---------------------------------------------------------------- lookup


def test_request_with_wait_sends_one_call_and_masks_what_the_node_returned(
    home: Path, fake: FakeLookups
) -> None:
    fake.responses["Request"] = lookups_pb2.LookupResult(
        item=_item(asset_count=1, assets_found=1),
        # A node bug returning unmasked data with revealed=False must not reach the screen.
        debtor=payloads_pb2.Debtor(type=payloads_pb2.PERSON, name="李四", id_number=ID),
        assets=[_asset()],
        access_entry="chengdu/4",
    )
    doc = json.loads(
        ok(*_request_args(home, "--wait", "--timeout", "5", "--json"), env=ACTOR).stdout
    )
    (sent,) = fake.received("Request")
    assert (sent.target, sent.case_number, sent.actor, sent.wait_s) == (
        "chongqing",
        CASE,
        "法官王五",
        5.0,
    )
    assert sent.debtor == payloads_pb2.Debtor(type=payloads_pb2.PERSON, id_number=ID)
    assert list(sent.categories) == [payloads_pb2.DEPOSIT, payloads_pb2.REAL_ESTATE]
    assert not sent.reveal
    assert doc["lookup"]["status"] == "answered" and doc["access_entry"] == "chengdu/4"
    assert doc["debtor"] == {"type": "person", "name": "李*", "id": MASKED}
    (a,) = doc["assets"]
    assert (a["owner_id"], a["owner_name"], a["reference"]) == (MASKED, "李*", "*" * 15 + "8901")
    assert a["location"] == "重庆市渝中区***" and a["category"] == "deposit"
    assert ID not in json.dumps(doc)


def test_request_without_wait_and_an_organisation(home: Path, fake: FakeLookups) -> None:
    fake.responses["Request"] = lookups_pb2.LookupResult(item=_item("pending"))
    args = _request_args(home, "--actor", "王五")
    args[args.index("--id") + 1] = "91350100M000100Y43"
    out = ok(*args).stdout
    (sent,) = fake.received("Request")
    assert sent.wait_s == 0 and sent.debtor.type == payloads_pb2.ORG
    assert sent.debtor.credit_code == "91350100M000100Y43"
    assert "chengdu/lookup/3 → chongqing: pending" in out


def test_the_debtor_options_are_the_ones_refusals_name(home: Path, fake: FakeLookups) -> None:
    """A refusal names debtor.id_number ``--id-number``, debtor.credit_code ``--credit-code``,
    case_number ``--case-number``: each is an option of the command, beside --id and --case."""
    fake.responses["Request"] = lookups_pb2.LookupResult(item=_item("pending"))
    base = [a for a in _request_args(home, "--actor", "王五") if a not in ("--id", ID)]
    ok(*base, "--id-number", ID, "--debtor-name", "李四")
    base[base.index("--case")] = "--case-number"
    ok(*base, "--credit-code", "11010519491231002X")  # an org, whatever its form
    first, second = fake.received("Request")
    assert first.debtor == payloads_pb2.Debtor(type=payloads_pb2.PERSON, id_number=ID, name="李四")
    assert second.case_number == CASE
    assert second.debtor == payloads_pb2.Debtor(
        type=payloads_pb2.ORG, credit_code="11010519491231002X"
    )
    both = fails(2, *base, "--id", ID, "--id-number", ID)
    assert "--id、--id-number、--credit-code 须且只须填写一项" in both.stderr
    assert ID not in both.stderr
    fails(2, *base)  # none of them
    assert len(fake.received("Request")) == 2


def test_a_denial_exits_1_with_its_reason(home: Path, fake: FakeLookups) -> None:
    fake.responses["Request"] = lookups_pb2.LookupResult(
        item=_item(
            "denied",
            denied=True,
            denial_reason=payloads_pb2.COURT_OUTSIDE_PREFIXES,
            denial_detail="案号（--case-number）：法院川0704不属请求方所辖法院（川01） / "
            "case_number: court 川0704 is not among the requester's courts (川01)",
        )
    )
    result = fails(1, *_request_args(home, "--wait"), env=ACTOR)
    assert (
        "denied 已拒绝: COURT_OUTSIDE_PREFIXES: 案号（--case-number）：法院川0704" in result.stderr
    )
    assert "case_number: court 川0704 is not among" in result.stderr


def test_a_timed_out_wait_says_how_to_read_the_reply_later(home: Path, fake: FakeLookups) -> None:
    fake.responses["Request"] = lookups_pb2.LookupResult(item=_item("pending"), timed_out=True)
    result = ok(*_request_args(home, "--wait"), env=ACTOR)
    assert "ccnode lookup show" in result.stderr


def test_bad_categories_and_a_missing_actor_are_refused_locally(
    home: Path, fake: FakeLookups
) -> None:
    args = _request_args(home)
    args[args.index("--categories") + 1] = "deposit,cash"
    result = fails(2, *args, env=ACTOR)
    assert "--categories: each must be one of" in result.stderr
    assert "财产类别（--categories）：" in result.stderr  # Chinese first
    fails(2, *_request_args(home))  # no --actor, no CCNODE_ACTOR
    assert fake.requests == []


def test_list_shows_outcomes_without_personal_data(home: Path, fake: FakeLookups) -> None:
    fake.responses["List"] = lookups_pb2.ListLookupsResponse(
        items=[_item(asset_count=2, assets_found=2)], total=1
    )
    out = ok("lookup", "list", "--home", home, "--status", "answered", "--to", "chongqing").stdout
    (sent,) = fake.received("List")
    assert (sent.status, sent.target, sent.limit) == ("answered", "chongqing", 100)
    assert "chengdu/lookup/3" in out and "chengdu → chongqing" in out and CASE in out
    doc = json.loads(ok("lookup", "list", "--home", home, "--json").stdout)
    assert doc["total"] == 1 and doc["lookups"][0]["assets_found"] == 2
    assert doc["lookups"][0]["requested_at"] == "2025-01-01T00:00:00Z"


def test_show_needs_who_and_why_and_can_reveal(home: Path, fake: FakeLookups) -> None:
    fails(2, "lookup", "show", "--home", home, "chengdu/lookup/3", env=ACTOR)  # no --purpose
    fake.responses["Get"] = lookups_pb2.LookupResult(
        item=_item(asset_count=1, assets_found=1), assets=[_asset()], revealed=True
    )
    out = ok(
        "lookup", "show", "--home", home, "chengdu/lookup/3", "--purpose", "制作裁定",
        "--reveal", env=ACTOR,
    ).stdout  # fmt: skip
    (sent,) = fake.received("Get")
    assert (sent.subject, sent.actor, sent.purpose, sent.reveal) == (
        "chengdu/lookup/3",
        "法官王五",
        "制作裁定",
        True,
    )
    assert ID in out and "123,456.78" in out


def test_lookup_assets_is_the_seam_for_delegating_a_task(home: Path, fake: FakeLookups) -> None:
    debtor = payloads_pb2.Debtor(type=payloads_pb2.PERSON, name="李四", id_number=ID)
    fake.responses["Get"] = lookups_pb2.LookupResult(
        item=_item(asset_count=2),
        debtor=debtor,
        assets=[_asset("cq-1"), _asset("cq-2")],
        revealed=True,
    )
    item, got_debtor, records = lookup_assets(
        home, "chengdu/lookup/3", ["cq-2"], actor="王五", purpose="委托冻结"
    )
    assert item.subject == "chengdu/lookup/3" and got_debtor == debtor
    assert [r.asset_id for r in records] == ["cq-2"] and records[0].owner_id == ID
    (sent,) = fake.received("Get")
    assert (sent.reveal, sent.actor, sent.purpose) == (True, "王五", "委托冻结")
    with pytest.raises(InvalidInput, match="cq-9 is not in the answer") as refused:
        lookup_assets(home, "chengdu/lookup/3", ["cq-9"], actor="王五", purpose="委托冻结")
    assert refused.value.message.startswith(
        "所涉财产（--assets）：财产cq-9不在联查chengdu/lookup/3的答复之内 / --assets: "
    )
    fake.responses["Get"] = lookups_pb2.LookupResult(item=_item("denied", denied=True))
    with pytest.raises(InvalidInput, match="is denied, not answered") as refused:
        lookup_assets(home, "chengdu/lookup/3", ["cq-1"], actor="王五", purpose="委托冻结")
    assert "所据联查（--from-lookup）：" in refused.value.message
    assert "须为已答复（answered）的联查" in refused.value.message


@pytest.fixture
def both(
    grpc_server: grpc.Server, grpc_servicer: tuple[FakeAdmin, FakeLookups]
) -> tuple[FakeAdmin, FakeLookups]:
    return grpc_servicer


def test_tasks_delegate_from_a_lookup_carries_its_assets_whole(
    home: Path, both: tuple[FakeAdmin, FakeLookups]
) -> None:
    admin, lookups = both
    lookups.responses["Get"] = lookups_pb2.LookupResult(
        item=_item(asset_count=2),
        debtor=payloads_pb2.Debtor(type=payloads_pb2.PERSON, name="李四", id_number=ID),
        assets=[_asset("cq-1"), _asset("cq-2", payloads_pb2.REAL_ESTATE)],
        revealed=True,
    )
    args = [
        "tasks", "delegate", "--home", home, "--to", "chongqing", "--receiving-court", "渝0103",
        "--scope", "matter", "--matter", "freeze", "--case-number", CASE, "--judge", "王五",
        "--debtor-type", "person", "--debtor-name", "李四", "--id-number", ID,
        "--amount-fen", "50000000", "--from-lookup", "chengdu/lookup/3", "--assets", "cq-2",
    ]  # fmt: skip
    ok(*args, env=ACTOR)
    (read,) = lookups.received("Get")
    assert (read.subject, read.reveal, read.purpose) == (
        "chengdu/lookup/3",
        True,
        f"委托执行 {CASE}",
    )
    (submitted,) = admin.received("Submit")
    delegated = submitted.drafts[0].payload.task_delegated
    assert delegated.from_lookup == "chengdu/lookup/3"
    assert [a.asset_id for a in delegated.assets] == ["cq-2"]
    assert delegated.assets[0].reference == "6217000012345678901"  # whole, for the seizure
    other = list(args)
    other[other.index("--id-number") + 1] = "11010519491231002X"
    result = fails(2, *other, env=ACTOR)
    assert "the lookup concerns another debtor" in result.stderr
    assert (
        "所据联查（--from-lookup）：该联查所涉被执行人与本次委托的被执行人不一致" in result.stderr
    )
    result = fails(
        2, *[a for a in args if a not in ("--from-lookup", "chengdu/lookup/3")], env=ACTOR
    )
    assert "give --from-lookup" in result.stderr
    assert len(admin.received("Submit")) == 1


# ---------------------------------------------------------------- assets


def _line(asset_id: str, **fields: Any) -> str:
    obj = {
        "asset_id": asset_id,
        "owner_id": ID,
        "owner_name": "李四",
        "category": "deposit",
        "registry": "中国银行重庆分行",
        "reference": "6217000012345678901",
        **fields,
    }
    return json.dumps(obj, ensure_ascii=False)


def test_import_checks_every_line_first_then_sends_batches(
    home: Path, fake: FakeLookups, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cli.assets

    monkeypatch.setattr(cli.assets, "BATCH_RECORDS", 2)
    f = tmp_path / "assets.jsonl"
    f.write_text("\n".join([_line("a1"), "", _line("a2"), _line("a3")]) + "\n", encoding="utf-8")
    doc = json.loads(ok("assets", "import", "--home", home, f, "--json").stdout)
    assert doc == {"imported": 3, "total": 13}
    assert [len(m.records) for m in fake.imported] == [2, 1]
    assert [m.first_line for m in fake.imported] == [1, 4]
    assert fake.imported[0].records[0] == asset_from_json(json.loads(_line("a1")))


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([_line("a1"), "{not json"], "第2行（line 2）：不是有效的 JSON"),
        ([_line("a1"), "{not json"], "line 2: not valid JSON"),
        (
            [_line("a1"), _line("a2", category="cash")],
            "第2行（line 2）：财产类别：须为以下类别之一",
        ),
        ([_line("a1"), _line("a2", category="cash")], "category: each must be one of"),
        ([_line("a1"), _line("a2", owner_id=ID[:17] + "0")], "第2行（line 2）：财产所有人证件号码"),
        ([_line("a1"), _line("a2", owner_id=ID[:17] + "0")], "owner_id: check character"),
        ([_line("a1"), _line("a1")], "第2行（line 2）：财产编号：与第1行的财产重复"),
        ([_line("a1"), _line("a1")], "asset_id: repeats the asset of line 1"),
        ([""], "没有可导入的财产"),
        ([""], "no assets to import"),
    ],
)
def test_a_bad_line_rejects_the_whole_file(
    home: Path, fake: FakeLookups, tmp_path: Path, lines: list[str], message: str
) -> None:
    f = tmp_path / "assets.jsonl"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = fails(2, "assets", "import", "--home", home, f)
    assert message in result.stderr
    assert ID not in result.stderr
    assert fake.imported == []


def test_generate_writes_importable_records_and_their_owners(tmp_path: Path) -> None:
    out, owners = tmp_path / "a.jsonl", tmp_path / "owners.txt"
    doc = json.loads(
        ok(
            "assets", "generate", "--count", "200", "--out", out, "--seed", "9",
            "--owners-out", owners, "--json",
        ).stdout
    )  # fmt: skip
    lines = out.read_text(encoding="utf-8").splitlines()
    assert doc["records"] == len(lines) == 200
    records = [asset_from_json(json.loads(line), n) for n, line in enumerate(lines, 1)]
    assert len({r.asset_id for r in records}) == 200
    owner_ids = owners.read_text(encoding="utf-8").split()
    assert len(owner_ids) == doc["owners"] == len({r.owner_id for r in records}) >= 30
    again = tmp_path / "b.jsonl"
    ok("assets", "generate", "--count", "200", "--out", again, "--seed", "9")
    assert again.read_bytes() == out.read_bytes()  # reproducible by seed


def test_count(home: Path, fake: FakeLookups) -> None:
    fake.responses["CountAssets"] = lookups_pb2.CountAssetsResponse(total=1_000_000)
    assert "1000000 assets" in ok("assets", "count", "--home", home).stdout


# ---------------------------------------------------------------- audit access


def test_audit_access_lists_lookups_and_reads_without_echoing_the_id(
    home: Path, fake: FakeLookups
) -> None:
    fake.responses["Access"] = lookups_pb2.AccessResponse(
        lookups=[_item(asset_count=1)],
        reads=[
            lookups_pb2.AccessItem(
                entry_id="chengdu/5",
                actor="书记员赵六",
                hlc=1_735_689_600_000 << 16,
                purpose="制作查封裁定",
                what="lookup result",
                entries=["chengdu/3", "chongqing/9"],
            )
        ],
    )
    out = ok("audit", "access", "--home", home, "--subject", ID).stdout
    (sent,) = fake.received("Access")
    assert sent.id_number == ID
    assert "chengdu/lookup/3" in out and "书记员赵六" in out and "制作查封裁定" in out
    assert ID not in out
    doc = json.loads(ok("audit", "access", "--home", home, "--subject", ID, "--json").stdout)
    assert doc["reads"][0]["entries"] == ["chengdu/3", "chongqing/9"]
    assert doc["lookups"][0]["requested_by"] == "法官王五"
