"""Helpers of the CLI tests: a fake Admin service and CliRunner wrappers.

The fake is served by a real (sync) gRPC server bound to HOME/admin.sock (conftest.py): the
CLI under test goes through its real client, channel, deadlines and error mapping. The fake
records every request and answers with canned responses or canned errors; its refusals are
the rich errors the real node sends (node/services/errors.py builds both).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from click.testing import CliRunner, Result
from google.protobuf.message import Message

from ccnode.v1 import admin_pb2, admin_pb2_grpc
from cli.main import main
from node.ownlog.writer import DraftRejected
from node.services.errors import draft_status, refusal_status

_ADMIN = admin_pb2.DESCRIPTOR.services_by_name["Admin"]
RESPONSE_TYPES: dict[str, type[Message]] = {
    m.name: getattr(admin_pb2, m.output_type.name) for m in _ADMIN.methods
}


@dataclass(frozen=True)
class Failure(grpc.Status):  # type: ignore[misc]
    """A plain error status (no details), as a node answers a missing listing."""

    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, bytes], ...] = ()


class FakeAdmin(admin_pb2_grpc.AdminServicer):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: list[tuple[str, Message]] = []
        self.responses: dict[str, Message] = {}
        self.errors: dict[str, grpc.Status] = {}
        self.time_remaining_s: list[float | None] = []  # per request: None = no deadline

    def fail(self, name: str, code: grpc.StatusCode, details: str) -> None:
        """Answer RPC ``name`` with a plain error."""
        self.errors[name] = Failure(code, details)

    def refuse(
        self,
        name: str,
        field: str,
        rule: str,
        explanation: str,
        *,
        zh: str = "不符合规则",
        position: int | None = None,
    ) -> None:
        """Answer RPC ``name`` with the node's refusal: of its draft at ``position`` (Submit),
        or of a field of the request."""
        if position is None:
            self.errors[name] = refusal_status(field, rule, explanation, zh=zh)
        else:
            rejected = DraftRejected(position, field, rule, explanation, zh=zh)
            self.errors[name] = draft_status(position, rejected)

    def handle(self, name: str, request: Message, context: grpc.ServicerContext) -> Message:
        with self._lock:
            self.requests.append((name, request))
            self.time_remaining_s.append(context.time_remaining())
        if name in self.errors:
            context.abort_with_status(self.errors[name])
        return self.responses.get(name) or RESPONSE_TYPES[name]()

    # One method per RPC, each recording the request and answering from the tables above.

    def Status(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.handle("Status", request, context)

    def Submit(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.handle("Submit", request, context)

    def AddPeer(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.handle("AddPeer", request, context)

    def RemovePeer(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.handle("RemovePeer", request, context)

    def ListPeers(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.handle("ListPeers", request, context)

    def AddAgency(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.handle("AddAgency", request, context)

    def RemoveAgency(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.handle("RemoveAgency", request, context)

    def ListAgencies(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.handle("ListAgencies", request, context)

    def AddOfficer(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.handle("AddOfficer", request, context)

    def RemoveOfficer(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.handle("RemoveOfficer", request, context)

    def ListOfficers(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.handle("ListOfficers", request, context)

    def AddCaseParty(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.handle("AddCaseParty", request, context)

    def RemoveCaseParty(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.handle("RemoveCaseParty", request, context)

    def ListCaseParties(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.handle("ListCaseParties", request, context)

    def BlacklistSearch(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.handle("BlacklistSearch", request, context)

    def BlacklistGet(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.handle("BlacklistGet", request, context)

    def SyncStatus(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.handle("SyncStatus", request, context)

    def Verify(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.handle("Verify", request, context)

    def Refusals(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.handle("Refusals", request, context)

    def Evidence(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.handle("Evidence", request, context)

    def RetentionStatus(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.handle("RetentionStatus", request, context)

    def received(self, name: str) -> list[Any]:
        with self._lock:
            return [request for method, request in self.requests if method == name]


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env=env).invoke(main, [str(a) for a in args])


def ok(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    result = run(*args, env=env)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def fails(exit_code: int, *args: str | Path, env: dict[str, str] | None = None) -> Result:
    result = run(*args, env=env)
    assert result.exit_code == exit_code, (result.stdout, result.stderr, result.exception)
    # A clean exit with a message, never a traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result
