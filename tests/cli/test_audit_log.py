"""``ccnode audit log`` on a local home: filters, Chinese labels, masking, and payload reads
that are recorded through the node before anything is shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
import pytest

from ccnode.v1 import log_pb2
from node.config import NodeConfig
from tests.cli.audithome import AUDITOR_URI, ID_NUMBER, audit_home, make_ca
from tests.cli.support import FakeAdmin, fails, ok


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_ca(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def config(tmp_path: Path, ca: Path) -> NodeConfig:
    return audit_home(tmp_path, ca)


@pytest.fixture
def grpc_addr(config: NodeConfig) -> str:
    return f"unix://{config.admin_socket}"


@pytest.fixture
def running(grpc_server: grpc.Server, grpc_servicer: FakeAdmin) -> FakeAdmin:
    """The node's admin socket answered by a fake that records what the CLI submits."""
    return grpc_servicer


def _log(config: NodeConfig, *args: str) -> dict[str, Any]:
    doc = json.loads(ok("audit", "log", "--home", config.home, "--json", *args).stdout)
    assert isinstance(doc, dict)
    return doc


def _ids(doc: dict[str, Any]) -> list[str]:
    return [e["entry_id"] for e in doc["entries"]]


def test_every_entry_headers_only_oldest_first(config: NodeConfig) -> None:
    doc = _log(config)
    assert doc["count"] == 12 and doc["masked"] is True
    times = [e["time"] for e in doc["entries"]]
    assert times == sorted(times)
    assert doc["entries"][0]["entry_id"] == "chongqing/3"  # delegated 2024-03-01 09:00
    first = next(e for e in doc["entries"] if e["entry_id"] == "chengdu/0")
    assert first == {
        "entry_id": "chengdu/0",
        "origin": "chengdu",
        "index": 0,
        "kind": "BLACKLIST_LISTED",
        "kind_label": "纳入失信名单",
        "subject": "chengdu/bl/0",
        "actor": "法官王五",
        "time": "2024-03-01 10:00:00",
        "audience": [],
        "payload": None,
        "payload_status": "not read",
    }


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--origin", "chongqing", "--kind", "LOOKUP_REQUESTED"), 3),
        (("--kind", "查阅记录"), 1),
        (("--kind", "lookup_answered", "--kind", "LOOKUP_DENIED"), 2),
        (("--actor", "法官赵六"), 5),
        (("--subject", "chongqing/task/"), 3),
        (("--since", "2024-03-05", "--until", "2024-03-06"), 3),
        (("--since", "2024-03-05T10:30:00+08:00", "--until", "2024-03-05"), 1),
    ],
)
def test_filters(config: NodeConfig, args: tuple[str, ...], expected: int) -> None:
    assert _log(config, *args)["count"] == expected


def test_limit_keeps_the_newest(config: NodeConfig) -> None:
    assert _ids(_log(config, "--limit", "2")) == ["chengdu/5", "chengdu/6"]


def test_the_table_has_chinese_field_names(config: NodeConfig) -> None:
    out = ok("audit", "log", "--home", config.home, "--origin", "chongqing").stdout
    for label in ("来源 origin", "时间 time (CST)", "类型 kind", "操作人 actor", "财产查询请求"):
        assert label in out
    assert "已脱敏" in out and "not read" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--kind", "NOPE"), "unknown kind"),
        (("--since", "March"), "YYYY-MM-DD"),
        (("--payloads",), "need --purpose"),
    ],
)
def test_bad_input_is_a_usage_error(
    config: NodeConfig, args: tuple[str, ...], message: str
) -> None:
    assert message in fails(2, "audit", "log", "--home", config.home, *args).stderr


def test_payloads_need_the_node_to_record_the_read(config: NodeConfig) -> None:
    result = fails(4, "audit", "log", "--home", config.home, "--payloads", "--purpose", "x",
                   "--reader", "王五")  # fmt: skip
    assert "not running" in result.stderr
    assert ID_NUMBER not in result.stdout


def test_payloads_are_recorded_then_shown_masked(config: NodeConfig, running: FakeAdmin) -> None:
    doc = _log(config, "--origin", "chengdu", "--kind", "BLACKLIST_LISTED", "--payloads",
               "--purpose", "年度监督", "--reader", "审计员王五")  # fmt: skip
    (submit,) = running.received("Submit")
    assert submit.actor == "审计员王五"
    (draft,) = submit.drafts
    assert draft.kind == log_pb2.ACCESS_RECORDED
    assert list(draft.payload.access_recorded.entries) == ["chengdu/0", "chengdu/1", "chengdu/2"]
    assert draft.payload.access_recorded.purpose == "年度监督"
    debtor = doc["entries"][0]["payload"]["record"]["debtor"]
    assert debtor == {"type": "PERSON", "name": "张*", "id_number": "5101041990****1237"}
    assert ID_NUMBER not in json.dumps(doc, ensure_ascii=False)


def test_reveal_shows_personal_data_to_the_local_operator(
    config: NodeConfig, running: FakeAdmin
) -> None:
    doc = _log(config, "--kind", "BLACKLIST_LISTED", "--limit", "1", "--reveal",
               "--purpose", "核对", "--reader", "王五")  # fmt: skip
    assert doc["masked"] is False
    assert doc["entries"][0]["payload"]["record"]["debtor"]["id_number"] == ID_NUMBER
    assert len(running.received("Submit")) == 1


def test_an_admin_refusal_stops_the_read(config: NodeConfig, running: FakeAdmin) -> None:
    running.refuse("Submit", "purpose", "required", "required", position=0)
    result = fails(3, "audit", "log", "--home", config.home, "--payloads", "--purpose", "x",
                   "--reader", "王五")  # fmt: skip
    assert ID_NUMBER not in result.stdout


def test_auditor_reads_show_up_as_access_records(config: NodeConfig) -> None:
    doc = _log(config, "--kind", "ACCESS_RECORDED")
    assert [(e["actor"], e["audience"]) for e in doc["entries"]] == [(AUDITOR_URI, ["chengdu"])]
