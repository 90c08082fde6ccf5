"""The CLI's Admin client: node not running, and gRPC errors mapped to clear exits."""

from __future__ import annotations

import socket
from pathlib import Path

import click
import grpc
import pytest

from cli.common.client import CALL_TIMEOUT_S
from cli.common.errors import (
    NodeNotRunning,
    OutcomeUnknown,
    Refused,
    Unreachable,
    rpc_error,
)
from node.ownlog.writer import DraftRejected
from node.services.errors import draft_status, refusal_status
from tests.cli.support import RESPONSE_TYPES, FakeAdmin, fails, ok


def test_help_lists_every_command_group() -> None:
    out = ok("--help").stdout
    for name in ("init", "serve", "peers", "blacklist", "sync", "audit", "demo", "certs"):
        assert f"  {name} " in out


def test_no_socket_means_node_not_running(home: Path) -> None:
    result = fails(4, "sync", "status", "--home", home)
    assert f"node at {home} is not running" in result.stderr
    assert f"ccnode serve --home {home}" in result.stderr


def test_refused_connection_means_node_not_running(home: Path) -> None:
    # A socket file left behind by a node that died: it exists but nobody accepts.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stale:
        stale.bind(str(home / "admin.sock"))
        result = fails(4, "peers", "list", "--home", home)
    assert "is not running" in result.stderr


def test_home_from_environment(home: Path, fake: FakeAdmin) -> None:
    ok("peers", "list", env={"CCNODE_HOME": str(home)})
    assert len(fake.received("ListPeers")) == 1


def test_not_a_node_home(tmp_path: Path) -> None:
    result = fails(1, "sync", "status", "--home", tmp_path)
    assert "is not a node home" in result.stderr


def test_a_refusal_exits_3_with_the_servers_message(home: Path, fake: FakeAdmin) -> None:
    fake.refuse("AddPeer", "peer_id", "self", "a node cannot peer with itself")
    result = fails(3, "peers", "add", "--home", home, "chengdu", "127.0.0.1:7001")
    assert "peer_id: a node cannot peer with itself" in result.stderr


def test_other_errors_exit_1_with_code_and_message(home: Path, fake: FakeAdmin) -> None:
    fake.fail("BlacklistGet", grpc.StatusCode.NOT_FOUND, "no listing chengdu/bl/9")
    result = fails(1, "blacklist", "show", "--home", home, "chengdu/bl/9")
    assert "NOT_FOUND: no listing chengdu/bl/9" in result.stderr


def test_every_call_has_a_deadline(home: Path, fake: FakeAdmin) -> None:
    ok("peers", "list", "--home", home)
    ok("sync", "status", "--home", home)
    ok("blacklist", "list", "--home", home)
    assert len(fake.time_remaining_s) == 3
    for remaining_s in fake.time_remaining_s:
        # grpc rounds the propagated deadline up a little; no deadline would be ~infinite.
        assert remaining_s is not None and 0 < remaining_s <= CALL_TIMEOUT_S + 1


class _Err(grpc.RpcError, grpc.Call):  # type: ignore[misc]
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


# What grpc says when it cannot connect, and when a connection drops mid-call.
_NO_CONNECTION = "failed to connect to all addresses; last error: UNAVAILABLE: Connection refused"
_DROPPED = "Socket closed"


@pytest.mark.parametrize(
    ("code", "details", "kind", "exit_code", "text"),
    [
        (grpc.StatusCode.UNAVAILABLE, _NO_CONNECTION, NodeNotRunning, 4, "is not running"),
        (grpc.StatusCode.UNAVAILABLE, _DROPPED, OutcomeUnknown, 5, "the outcome is unknown"),
        (grpc.StatusCode.CANCELLED, "", OutcomeUnknown, 5, "cancelled before the node answered"),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "", OutcomeUnknown, 5, "within 3 s; the outcome"),
        (grpc.StatusCode.INVALID_ARGUMENT, "name: bad", Refused, 3, "name: bad"),
        (grpc.StatusCode.UNIMPLEMENTED, "", click.ClickException, 1, "does not implement"),
        (grpc.StatusCode.PERMISSION_DENIED, "name: bad", click.ClickException, 1,
         "PERMISSION_DENIED: name"),
    ],
)  # fmt: skip
def test_rpc_error_mapping(
    code: grpc.StatusCode,
    details: str,
    kind: type[click.ClickException],
    exit_code: int,
    text: str,
) -> None:
    err = rpc_error(_Err(code, details), Path("/n"), 3.0)
    assert type(err) is kind
    assert err.exit_code == exit_code
    assert text in err.message


def test_an_unknown_outcome_says_how_to_check() -> None:
    err = rpc_error(_Err(grpc.StatusCode.UNAVAILABLE, _DROPPED), Path("/n"), 3.0,
                    unknown_hint="the import is safe to re-run")  # fmt: skip
    assert err.message == (
        "node at /n: the connection was lost during the call; the outcome is unknown: "
        "the import is safe to re-run"
    )
    assert "not running" not in err.message


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED])
def test_a_remote_node_that_does_not_answer_is_unreachable(code: grpc.StatusCode) -> None:
    # A remote node serves reads (audits): nothing is left unknown, it is a connection problem.
    err = rpc_error(_Err(code, _DROPPED), "node chongqing (127.0.0.1:7002)", 3.0)
    assert type(err) is Unreachable
    assert err.exit_code == 4


def test_the_help_lists_the_exit_codes() -> None:
    out = ok("--help").stdout
    for line in ("2  usage error", "3  refused by the node's rules", "4  the node is not running",
                 "5  the connection dropped after the request was sent"):  # fmt: skip
        assert line in out


def test_the_fake_answers_every_admin_rpc() -> None:
    for name in RESPONSE_TYPES:
        assert name in FakeAdmin.__dict__, name


class _RichErr(_Err):
    """A failed call carrying the node's rich status in its trailing metadata."""

    def __init__(self, status: grpc.Status) -> None:
        super().__init__(status.code, status.details)
        self._metadata: tuple[tuple[str, bytes], ...] = status.trailing_metadata

    def trailing_metadata(self) -> tuple[tuple[str, bytes], ...]:
        return self._metadata


def test_a_refusal_is_read_from_its_details_not_its_message() -> None:
    rejected = DraftRejected(
        2, "court", "court_prefix", "is outside the prefixes", zh="不属本节点所辖法院"
    )
    status = draft_status(2, rejected)
    err = rpc_error(_RichErr(status), Path("/n"), 3.0, draft_label=lambda n: f"line {n + 10}")
    assert isinstance(err, Refused)
    assert err.message == (
        "line 12: 执行法院（--court）：不属本节点所辖法院 / court: is outside the prefixes"
        " [rule: court_prefix]"
    )
    # A remote node's refusal: the same mapping, naming the node.
    status = refusal_status("purpose", "required", "required", zh="须写明查询事由")
    err = rpc_error(_RichErr(status), "node chongqing (127.0.0.1:7002)", 3.0)
    assert err.exit_code == 3
    assert err.message == (
        "node chongqing (127.0.0.1:7002): 查询事由（--purpose）：须写明查询事由 / purpose: required"
        " [rule: required]"
    )
