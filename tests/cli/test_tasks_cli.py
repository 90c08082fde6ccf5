"""``ccnode tasks ...`` and ``ccnode seizures ...`` against fake Admin and Tasks services on the
node's socket: the drafts built, the reads shown (tables and JSON), the refusals mapped."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message

from ccnode.v1 import admin_pb2, admin_pb2_grpc, log_pb2, payloads_pb2, tasks_pb2, tasks_pb2_grpc
from cli.tasks import delegation_draft, parse_measure
from tests.cli.support import FakeAdmin, fails, ok

ACTOR = {"CCNODE_ACTOR": "officer-wang"}
SUBJECT = "chengdu/task/3"
_TASKS = tasks_pb2.DESCRIPTOR.services_by_name["Tasks"]
_RESPONSES: dict[str, type[Message]] = {
    m.name: getattr(tasks_pb2, m.output_type.name) for m in _TASKS.methods
}


class FakeTasks(tasks_pb2_grpc.TasksServicer):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: list[tuple[str, Message]] = []
        self.responses: dict[str, Message] = {}

    def _handle(self, name: str, request: Message) -> Message:
        with self._lock:
            self.requests.append((name, request))
        return self.responses.get(name) or _RESPONSES[name]()

    def List(self, request: Any, context: Any) -> Any:
        return self._handle("List", request)

    def Get(self, request: Any, context: Any) -> Any:
        return self._handle("Get", request)

    def Overdue(self, request: Any, context: Any) -> Any:
        return self._handle("Overdue", request)

    def Board(self, request: Any, context: Any) -> Any:
        return self._handle("Board", request)

    def Seizures(self, request: Any, context: Any) -> Any:
        return self._handle("Seizures", request)

    def SeizuresExpiring(self, request: Any, context: Any) -> Any:
        return self._handle("SeizuresExpiring", request)


@pytest.fixture
def grpc_servicer() -> tuple[FakeAdmin, FakeTasks]:
    admin, tasks = FakeAdmin(), FakeTasks()
    admin.responses["Submit"] = admin_pb2.SubmitResponse(
        entry_ids=["chongqing/4"], subjects=[SUBJECT], size=5
    )
    return admin, tasks


@pytest.fixture
def grpc_add_to_server() -> Callable[[tuple[FakeAdmin, FakeTasks], grpc.Server], None]:
    def add(servicers: tuple[FakeAdmin, FakeTasks], server: grpc.Server) -> None:
        admin_pb2_grpc.add_AdminServicer_to_server(servicers[0], server)
        tasks_pb2_grpc.add_TasksServicer_to_server(servicers[1], server)

    return add


@pytest.fixture
def fakes(
    grpc_server: grpc.Server, grpc_servicer: tuple[FakeAdmin, FakeTasks]
) -> tuple[FakeAdmin, FakeTasks]:
    """Fake Admin and Tasks services on the node's socket, as a running node has them."""
    return grpc_servicer


def _draft(admin: FakeAdmin) -> admin_pb2.Draft:
    (request,) = admin.received("Submit")
    assert request.actor == "officer-wang"
    (draft,) = request.drafts
    return draft


# ---------------------------------------------------------------- writes


def test_delegate_builds_the_draft_and_hashes_documents_locally(
    home: Path, fakes: tuple[FakeAdmin, FakeTasks], tmp_path: Path
) -> None:
    admin, _ = fakes
    letter = tmp_path / "委托执行函.pdf"
    letter.write_bytes(b"%PDF letter")
    admin.responses["Submit"] = admin_pb2.SubmitResponse(
        entry_ids=["chengdu/3"], subjects=[SUBJECT], size=4, warnings=["draft 0: assets: many"]
    )
    result = ok(
        "tasks", "delegate", "--home", home, "--to", "chongqing", "--receiving-court", "渝0103",
        "--scope", "matter", "--matter", "freeze", "--case-number", "（2024）川0104执1234号",
        "--judge", "王法官", "--debtor-type", "person", "--debtor-name", "张三",
        "--id-number", "510104199003071237", "--amount-fen", "1000000", "--costs-fen", "5000",
        "--asset", "deposit:6222-0001:2000000", "--asset", "real_estate:川(2020)1号",
        "--document", letter, "--document-digest", "补充=" + "ab" * 32,
        env=ACTOR,
    )  # fmt: skip
    assert f"delegated 已委托 {SUBJECT} (entry chengdu/3)" in result.stdout
    assert "assets: many" in result.stderr
    draft = _draft(admin)
    assert draft.kind == log_pb2.TASK_DELEGATED and not draft.subject
    body = draft.payload.task_delegated
    assert (body.scope, body.matter) == (payloads_pb2.MATTER, payloads_pb2.FREEZE)
    assert (body.receiving_node, body.amount_fen, body.costs_fen) == ("chongqing", 1000000, 5000)
    assert [(a.category, a.asset_id, a.value_fen) for a in body.assets] == [
        (payloads_pb2.DEPOSIT, "6222-0001", 2000000),
        (payloads_pb2.REAL_ESTATE, "川(2020)1号", 0),
    ]
    assert [(d.name, d.sha256) for d in body.documents] == [
        ("委托执行函.pdf", hashlib.sha256(b"%PDF letter").digest()),
        ("补充", bytes.fromhex("ab" * 32)),
    ]


def test_delegate_usage_errors(home: Path, fakes: tuple[FakeAdmin, FakeTasks]) -> None:
    base = [
        "tasks", "delegate", "--home", home, "--to", "chongqing", "--receiving-court", "渝0103",
        "--case-number", "（2024）川0104执1234号", "--judge", "王", "--debtor-type", "person",
        "--debtor-name", "张三", "--amount-fen", "1",
    ]  # fmt: skip
    assert "--matter" in fails(2, *base, "--scope", "matter", env=ACTOR).stderr
    assert "--matter" in fails(2, *base, "--scope", "whole", "--matter", "seize", env=ACTOR).stderr
    missing = fails(2, *base, "--scope", "matter", env=ACTOR).stderr
    assert (
        "委托事项（--matter）：事项委托（--scope matter）须写明委托事项（《委托执行规定》）"
        in missing
    )
    bad = fails(2, *base, "--scope", "whole", "--asset", "gold:1", env=ACTOR)
    assert "category must be one of" in bad.stderr
    assert "财产（--asset）：财产类别须为以下之一：存款（deposit）" in bad.stderr
    bad = fails(2, *base, "--scope", "whole", "--document-digest", "x=abc", env=ACTOR)
    assert "64 hex digits" in bad.stderr
    assert "委托材料摘要（--document-digest）：须为 名称=SHA-256摘要" in bad.stderr
    assert fakes[0].received("Submit") == []


def _delegate_args(home: Path) -> list[Any]:
    return [
        "tasks", "delegate", "--home", home, "--to", "chongqing", "--receiving-court", "渝0103",
        "--scope", "whole", "--case-number", "（2024）川0104执1234号", "--judge", "王",
        "--debtor-type", "person", "--debtor-name", "张三", "--document-digest", "函=" + "ab" * 32,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("amounts", "fen"),
    [
        (["--amount", "12345.67", "--costs", "500"], (1234567, 50000)),
        (["--amount", "12345.6"], (1234560, 0)),
        (["--amount", "0.01", "--costs", "0"], (1, 0)),
        (["--amount-fen", "1234567", "--costs", "1.5"], (1234567, 150)),
        (["--amount", "100", "--costs-fen", "30"], (10000, 30)),
    ],
)
def test_delegate_takes_amounts_in_yuan_or_fen(
    home: Path, fakes: tuple[FakeAdmin, FakeTasks], amounts: list[str], fen: tuple[int, int]
) -> None:
    fakes[0].responses["Submit"] = admin_pb2.SubmitResponse(
        entry_ids=["chengdu/3"], subjects=[SUBJECT], size=4
    )
    ok(*_delegate_args(home), *amounts, env=ACTOR)
    body = _draft(fakes[0]).payload.task_delegated
    assert (body.amount_fen, body.costs_fen) == fen


@pytest.mark.parametrize(
    ("amounts", "message"),
    [
        (["--amount", "12345.678"], "执行标的金额（--amount）：须为以元为单位的金额，最多两位小数"),
        (["--amount", "1e3"], "--amount: must be an amount in yuan with at most 2 decimals"),
        (["--amount", "-5"], "须为以元为单位的金额"),
        (["--amount", "1,000"], "须为以元为单位的金额"),
        (["--amount", "100元"], "须为以元为单位的金额"),
        (["--amount", "0"], "执行标的金额（--amount）：不得少于0.01 元"),
        (["--amount", "0.00"], "--amount: must be at least 0.01 yuan"),
        (
            ["--amount", "1", "--amount-fen", "100"],
            "--amount（元）与 --amount-fen（分）只能填写一个",
        ),
        (
            [],
            "执行标的金额（--amount）：必须填写（--amount 以元为单位，或 --amount-fen 以分为单位）",
        ),
        (["--amount", "1", "--costs", "-1"], "执行费用（--costs）：须为以元为单位的金额"),
        (["--amount", "1", "--costs", "1", "--costs-fen", "1"], "只能填写一个"),
        (["--amount", "92233720368547758.08"], "执行标的金额（--amount）：金额过大"),
    ],
)
def test_delegate_refuses_an_amount_that_is_not_exact_yuan(
    home: Path, fakes: tuple[FakeAdmin, FakeTasks], amounts: list[str], message: str
) -> None:
    result = fails(2, *_delegate_args(home), *amounts, env=ACTOR)
    assert message in result.stderr
    assert fakes[0].received("Submit") == []


def test_delegate_help_documents_both_amount_options(home: Path) -> None:
    text = ok("tasks", "delegate", "--help").stdout
    assert "--amount YUAN" in text and "--amount-fen" in text and "12345.67" in text


@pytest.mark.parametrize(
    ("args", "kind", "check"),
    [
        (["accept", "--judge", "李", "--registered-case", "（2025）渝0103执1号"],
         log_pb2.TASK_ACCEPTED, lambda p: p.task_accepted.judge == "李"),
        (["reject", "--reason", "不属本院管辖"], log_pb2.TASK_REJECTED,
         lambda p: p.task_rejected.reason == "不属本院管辖"),
        (["return", "--reason", "缺执行依据", "--materials-due", "2025-02-01"],
         log_pb2.TASK_RETURNED, lambda p: p.task_returned.materials_due_on == "2025-02-01"),
        (["supplement", "--note", "补充执行依据"], log_pb2.TASK_SUPPLEMENTED,
         lambda p: p.task_supplemented.note == "补充执行依据"),
        (["fail", "--reason", "无财产"], log_pb2.TASK_FAILED, lambda p: p.task_failed.reason),
        (["cancel", "--reason", "已和解"], log_pb2.TASK_CANCELLED,
         lambda p: p.task_cancelled.reason == "已和解"),
    ],
)  # fmt: skip
def test_each_step_sends_its_kind_on_the_task(
    home: Path, fakes: tuple[FakeAdmin, FakeTasks], args: list[str], kind: int, check: Any
) -> None:
    ok("tasks", args[0], "--home", home, SUBJECT, *args[1:], env=ACTOR)
    draft = _draft(fakes[0])
    assert (draft.kind, draft.subject) == (kind, SUBJECT)
    assert check(draft.payload)


def test_report_and_complete_carry_measures_and_found_assets(
    home: Path, fakes: tuple[FakeAdmin, FakeTasks]
) -> None:
    measure = "asset=6222-0001,category=deposit,value_fen=500000,term_days=365,start_on=2025-01-02"
    ok("tasks", "report", "--home", home, SUBJECT, "--report", "已冻结", "--measure", measure,
       env=ACTOR)  # fmt: skip
    flat = (
        "asset=F1,category=real_estate,value_fen=9000000,term_days=1000,indivisible=唯一住房,"
        "queue=1"
    )
    ok("tasks", "complete", "--home", home, SUBJECT, "--result", "完毕", "--measure", flat,
       "--found", "vehicle:川A12345:80000", env=ACTOR)  # fmt: skip
    report, complete = (r.drafts[0] for r in fakes[0].received("Submit"))
    (m,) = report.payload.task_progress.measures
    assert (m.asset.asset_id, m.value_fen, m.term_days, m.start_on) == (
        "6222-0001", 500000, 365, "2025-01-02",
    )  # fmt: skip
    (m,) = complete.payload.task_completed.measures
    assert m.indivisible and m.indivisible_reason == "唯一住房" and m.queue_position == 1
    (found,) = complete.payload.task_completed.found
    assert (found.category, found.asset_id) == (payloads_pb2.VEHICLE, "川A12345")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("asset=a,category=deposit,value_fen=1", "term_days is required"),
        ("asset=a,category=gold,value_fen=1,term_days=1", "category must be one of"),
        ("asset=a,category=deposit,value_fen=lots,term_days=1", "value_fen must be a whole"),
        ("asset=a,category", "key=value"),
        ("owner=a,category=deposit,value_fen=1,term_days=1", "key=value"),
    ],
)
def test_bad_measures_name_the_key(
    home: Path, fakes: tuple[FakeAdmin, FakeTasks], spec: str, message: str
) -> None:
    result = fails(2, "tasks", "report", "--home", home, SUBJECT, "--report", "x",
                   "--measure", spec, env=ACTOR)  # fmt: skip
    assert message in result.stderr
    assert fakes[0].received("Submit") == []


def test_a_refusal_shows_the_rule_without_the_draft_prefix(
    home: Path, fakes: tuple[FakeAdmin, FakeTasks]
) -> None:
    fakes[0].refuse(
        "Submit",
        "task",
        "wrong_side",
        "accept: only the receiving node chongqing may",
        zh="立案（accept）由受托方（chongqing）办理",
        position=0,
    )
    result = fails(3, "tasks", "accept", "--home", home, SUBJECT, "--judge", "王", env=ACTOR)
    assert (
        "Error: 委托执行事项：立案（accept）由受托方（chongqing）办理 / "
        "task: accept: only the receiving node chongqing may"
    ) in result.stderr
    assert "[rule: wrong_side]" in result.stderr and "draft 0" not in result.stderr
    fakes[0].refuse(
        "Submit", "reason", "required", "say why it failed", zh="须写明未能执行的原因", position=0
    )
    result = fails(3, "tasks", "fail", "--home", home, SUBJECT, "--reason", " ", env=ACTOR)
    assert (
        "Error: 理由（--reason）：须写明未能执行的原因 / reason: say why it failed" in result.stderr
    )


def test_writes_need_an_actor(home: Path, fakes: tuple[FakeAdmin, FakeTasks]) -> None:
    assert "--actor" in fails(2, "tasks", "cancel", "--home", home, SUBJECT, "--reason", "x").stderr


def test_json_of_a_write(home: Path, fakes: tuple[FakeAdmin, FakeTasks]) -> None:
    result = ok("tasks", "cancel", "--home", home, SUBJECT, "--reason", "x", "--json", env=ACTOR)
    assert json.loads(result.stdout) == {
        "entry_ids": ["chongqing/4"], "size": 5, "subjects": [SUBJECT], "warnings": [],
    }  # fmt: skip


def test_the_lookup_seam_builds_a_delegation_from_asset_records() -> None:
    assets = [payloads_pb2.AssetRecord(asset_id="6222", category=payloads_pb2.DEPOSIT)]
    draft = delegation_draft(
        scope=payloads_pb2.MATTER, matter=payloads_pb2.FREEZE, case_number="（2024）川0104执1号",
        judge="王", receiving_node="chongqing", receiving_court="渝0103",
        debtor=payloads_pb2.Debtor(type=payloads_pb2.PERSON, name="张三"), assets=assets,
        amount_fen=100, from_lookup="chengdu/lookup/7",
    )  # fmt: skip
    body = draft.payload.task_delegated
    assert draft.kind == log_pb2.TASK_DELEGATED
    assert body.from_lookup == "chengdu/lookup/7" and list(body.assets) == assets
    assert parse_measure("asset=a,category=ship,value_fen=1,term_days=2").asset.category == (
        payloads_pb2.SHIP
    )


# ---------------------------------------------------------------- reads


def _item(**kw: Any) -> tasks_pb2.TaskItem:
    item = tasks_pb2.TaskItem(
        subject=SUBJECT,
        delegating_node="chengdu",
        receiving_node="chongqing",
        status="accepted",
        delegation=payloads_pb2.TaskDelegated(
            scope=payloads_pb2.MATTER,
            matter=payloads_pb2.FREEZE,
            case_number="（2024）川0104执1234号",
            amount_fen=123456,
            debtor=payloads_pb2.Debtor(name="张三", id_number="5101041990****1237"),
        ),
        delegated_on="2025-01-01",
        flags=[tasks_pb2.TaskFlag(code="start_overdue", due_on="2025-01-16", rule="15 days")],
        **kw,
    )
    return item


def test_list_shows_tasks_and_their_flags(home: Path, fakes: tuple[FakeAdmin, FakeTasks]) -> None:
    _, tasks = fakes
    tasks.responses["List"] = tasks_pb2.TaskListResponse(
        items=[_item()], total=1, today="2025-01-20"
    )
    result = ok("tasks", "list", "--home", home, "--role", "received", "--status", "accepted")
    assert SUBJECT in result.stdout and "start_overdue (due 2025-01-16)" in result.stdout
    assert "MATTER/FREEZE" in result.stdout
    (request,) = [r for name, r in tasks.requests if name == "List"]
    assert (request.role, request.status, request.limit) == ("received", "accepted", 50)
    doc = json.loads(ok("tasks", "list", "--home", home, "--json").stdout)
    assert doc["total"] == 1
    assert doc["items"][0]["flags"][0]["code"] == "start_overdue"


def test_show_prints_state_events_and_seizures(
    home: Path, fakes: tuple[FakeAdmin, FakeTasks]
) -> None:
    _, tasks = fakes
    item = _item(
        events=[
            tasks_pb2.TaskEvent(entry_id="chengdu/3", kind=log_pb2.TASK_DELEGATED, position=1,
                                outcome="applied", actor="王", on="2025-01-01"),
            tasks_pb2.TaskEvent(entry_id="chengdu/9", kind=log_pb2.TASK_CANCELLED, position=3,
                                outcome="too_late", rule="too_late",
                                note="overtaken by TASK_COMPLETED chongqing/5 made concurrently"),
        ],
        seizures=[tasks_pb2.SeizureItem(
            seizure_id=f"{SUBJECT}/s1", state="in_effect", days_left=12, end_on="2025-02-01",
            measure=payloads_pb2.SeizureMeasure(
                asset=payloads_pb2.AssetRecord(asset_id="6222-0001", category=payloads_pb2.DEPOSIT),
                value_fen=500000,
            ),
            flags=["expiring"], follow_up="release_needed:cancel_too_late",
        )],
        follow_ups=["release_needed: 1 measures still bind"],
    )  # fmt: skip
    tasks.responses["Get"] = tasks_pb2.TaskGetResponse(item=item, today="2025-01-20")
    out = ok("tasks", "show", "--home", home, SUBJECT).stdout
    for text in ("¥1,234.56", "5101041990****1237", "too_late: overtaken by TASK_COMPLETED",
                 "6222-0001", "expiring, release_needed:cancel_too_late", "12"):  # fmt: skip
        assert text in out, text
    doc = json.loads(ok("tasks", "show", "--home", home, SUBJECT, "--json").stdout)
    assert doc["item"]["events"][1]["outcome"] == "too_late"
    assert "--purpose" in fails(2, "tasks", "show", "--home", home, SUBJECT, "--reveal").stderr
    ok("tasks", "show", "--home", home, SUBJECT, "--reveal", "--purpose", "核对", env=ACTOR)
    request = [r for name, r in tasks.requests if name == "Get"][-1]
    assert (request.reveal, request.actor, request.purpose) == (True, "officer-wang", "核对")


def test_overdue_and_board(home: Path, fakes: tuple[FakeAdmin, FakeTasks]) -> None:
    _, tasks = fakes
    assert "no overdue tasks" in ok("tasks", "overdue", "--home", home).stdout
    tasks.responses["Overdue"] = tasks_pb2.TaskOverdueResponse(items=[_item()], today="2025-01-20")
    assert "start_overdue" in ok("tasks", "overdue", "--home", home).stdout
    tasks.responses["Board"] = tasks_pb2.TaskBoardResponse(
        by_status={"accepted": 2, "completed": 1},
        by_flag={"start_overdue": 1},
        rows=[
            tasks_pb2.TaskBoardRow(region="chongqing", role="delegated",
                                   by_status={"accepted": 2}, overdue=1, total=2),
            tasks_pb2.TaskBoardRow(region="mianyang", role="received",
                                   by_status={"completed": 1}, total=1),
        ],
        overdue=1, total=3, today="2025-01-20",
    )  # fmt: skip
    out = ok("tasks", "board", "--home", home).stdout
    expected = (
        "tasks board 任务看板 2025-01-20", "chongqing", "→ delegated 委托", "← received 受托",
        "accepted 已立案", "completed 已完成", "start_overdue",
    )  # fmt: skip
    for text in expected:
        assert text in out, text
    doc = json.loads(ok("tasks", "board", "--home", home, "--json").stdout)
    assert doc["by_status"] == {"accepted": 2, "completed": 1}
    assert doc["rows"][0] == {
        "region": "chongqing", "role": "delegated", "by_status": {"accepted": 2}, "overdue": 1,
        "total": 2,
    }  # fmt: skip
    assert (doc["overdue"], doc["total"], doc["today"]) == (1, 3, "2025-01-20")


def test_as_of_is_sent_and_shown(home: Path, fakes: tuple[FakeAdmin, FakeTasks]) -> None:
    _, tasks = fakes
    tasks.responses["Overdue"] = tasks_pb2.TaskOverdueResponse(
        items=[_item()], today="2025-01-01", as_of="2025-01-09"
    )
    tasks.responses["Board"] = tasks_pb2.TaskBoardResponse(today="2025-01-01", as_of="2025-01-09")
    tasks.responses["SeizuresExpiring"] = tasks_pb2.SeizuresExpiringResponse(
        today="2025-01-01", as_of="2025-12-11"
    )
    out = ok("tasks", "overdue", "--home", home, "--as-of", "2025-01-09").stdout
    assert "overdue 超期 as of 2025-01-09" in out
    doc = json.loads(ok("tasks", "overdue", "--home", home, "--as-of", "2025-01-09",
                        "--json").stdout)  # fmt: skip
    assert (doc["as_of"], doc["today"]) == ("2025-01-09", "2025-01-01")
    doc = json.loads(ok("tasks", "board", "--home", home, "--as-of", "2025-01-09",
                        "--json").stdout)  # fmt: skip
    assert (doc["as_of"], doc["today"]) == ("2025-01-09", "2025-01-01")
    assert "任务看板 2025-01-09" in ok("tasks", "board", "--home", home).stdout
    out = ok("seizures", "expiring", "--home", home, "--as-of", "2025-12-11").stdout
    assert "nothing expires within 30 days 无即将到期 (2025-12-11)" in out
    doc = json.loads(ok("seizures", "expiring", "--home", home, "--json").stdout)
    assert (doc["items"], doc["as_of"], doc["today"]) == ([], "2025-12-11", "2025-01-01")
    sent = [(name, r.as_of) for name, r in tasks.requests]
    assert sent == [
        ("Overdue", "2025-01-09"), ("Overdue", "2025-01-09"), ("Board", "2025-01-09"),
        ("Board", ""), ("SeizuresExpiring", "2025-12-11"), ("SeizuresExpiring", ""),
    ]  # fmt: skip


def test_as_of_of_a_node_that_does_not_say_is_its_today(
    home: Path, fakes: tuple[FakeAdmin, FakeTasks]
) -> None:
    _, tasks = fakes
    tasks.responses["Overdue"] = tasks_pb2.TaskOverdueResponse(today="2025-01-20")
    doc = json.loads(ok("tasks", "overdue", "--home", home, "--json").stdout)
    assert doc == {"items": [], "today": "2025-01-20", "as_of": "2025-01-20"}


@pytest.mark.parametrize("bad", ["2025-02-30", "next-monday", "09.01.2025"])
def test_a_malformed_as_of_is_refused_before_the_node_is_asked(
    home: Path, fakes: tuple[FakeAdmin, FakeTasks], bad: str
) -> None:
    _, tasks = fakes
    for command in (("tasks", "overdue"), ("tasks", "board"), ("seizures", "expiring")):
        result = fails(2, *command, "--home", home, "--as-of", bad)
        assert "--as-of" in result.stderr
    assert tasks.requests == []


def test_seizure_commands(home: Path, fakes: tuple[FakeAdmin, FakeTasks]) -> None:
    admin, tasks = fakes
    s = tasks_pb2.SeizureItem(
        seizure_id=f"{SUBJECT}/s2", state="queued", queue_ahead=1,
        measure=payloads_pb2.SeizureMeasure(
            asset=payloads_pb2.AssetRecord(asset_id="F1", category=payloads_pb2.REAL_ESTATE),
            value_fen=100,
        ),
    )  # fmt: skip
    tasks.responses["Seizures"] = tasks_pb2.SeizuresResponse(
        items=[s], total=1, today="2025-01-20",
        cases=[tasks_pb2.SeizureCaseTotal(case_number="（2024）川0104执1234号", cap_fen=100,
                                          in_effect_fen=300, over_fen=200)],
    )  # fmt: skip
    out = ok("seizures", "list", "--home", home, "--case-number", "（2024）川0104执1234号").stdout
    assert "queued (#1)" in out and "¥2.00" in out
    tasks.responses["SeizuresExpiring"] = tasks_pb2.SeizuresExpiringResponse(
        items=[s], today="2025-01-20"
    )
    assert f"{SUBJECT}/s2" in ok("seizures", "expiring", "--home", home).stdout
    (request,) = [r for name, r in tasks.requests if name == "SeizuresExpiring"]
    assert request.within_days == 30
    ok("seizures", "renew", "--home", home, f"{SUBJECT}/s2", env=ACTOR)
    ok("seizures", "release", "--home", home, f"{SUBJECT}/s2", "--reason", "已履行", env=ACTOR)
    renew, release = (r.drafts[0] for r in admin.received("Submit"))
    assert (renew.kind, renew.subject, renew.payload.seizure_renewed.term_days) == (
        log_pb2.SEIZURE_RENEWED, SUBJECT, 0,
    )  # fmt: skip
    assert (release.kind, release.payload.seizure_released.reason) == (
        log_pb2.SEIZURE_RELEASED, "已履行",
    )  # fmt: skip
    bad = fails(
        2, "seizures", "release", "--home", home, "chengdu/bl/1", "--reason", "x", env=ACTOR
    )
    assert "<task>/s<n>" in bad.stderr


def test_node_not_running(home: Path) -> None:
    result = fails(4, "tasks", "list", "--home", home)
    assert "is not running" in result.stderr


def test_delegate_help_says_a_document_is_required() -> None:
    # click cannot mark "one of --document / --document-digest" required: the help says so.
    out = " ".join(ok("tasks", "delegate", "--help").stdout.split())
    assert out.count("Required: at least one --document or --document-digest") == 2
    supplement = " ".join(ok("tasks", "supplement", "--help").stdout.split())
    assert "Required" not in supplement
