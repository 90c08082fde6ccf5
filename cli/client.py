"""The CLI's side of the local Admin API: a gRPC channel over the node's Unix socket.

Every call carries a deadline, and every failure becomes one clear line: a node that is not
running says how to start it; INVALID_ARGUMENT shows the node's message as is (it names the
field and the rule, never the value) and exits 2; anything else exits 1.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import click
import grpc
from google.protobuf.message import Message

from ccnode.v1 import admin_pb2, admin_pb2_grpc
from node.config import ConfigError, NodeConfig

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R", bound=Message)

CALL_TIMEOUT_S = 10.0
# sockaddr_un.sun_path is 108 bytes on Linux (104 on macOS), including the final NUL.
UNIX_PATH_BYTES_MAX = 103

home_option: Callable[[F], F] = click.option(
    "--home",
    envvar="CCNODE_HOME",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The node's home directory (env CCNODE_HOME).",
)


class InvalidInput(click.ClickException):
    """The node (or the CLI) refused the input: exit code 2, like a usage error."""

    exit_code = 2


class NodeNotRunning(click.ClickException):
    def __init__(self, home: Path) -> None:
        super().__init__(
            f"node at {home} is not running; start it with `ccnode serve --home {home}`"
        )


def load_config(home: Path) -> NodeConfig:
    try:
        return NodeConfig.load(home)
    except ConfigError as e:
        raise click.ClickException(str(e)) from e
    except (OSError, ValueError, TypeError) as e:  # unreadable or hand-broken node.json
        raise click.ClickException(f"{home}: cannot read the node configuration ({e})") from e


def rpc_error(err: grpc.RpcError, home: Path, timeout_s: float) -> click.ClickException:
    """The ClickException for a failed Admin call."""
    code = err.code() if isinstance(err, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = (err.details() if isinstance(err, grpc.Call) else "") or ""
    if code == grpc.StatusCode.UNAVAILABLE:
        return NodeNotRunning(home)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidInput(details or "the node refused the input")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return click.ClickException(f"node at {home} did not answer within {timeout_s:g} s")
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return click.ClickException(
            f"node at {home} does not implement this call (is it an older version?)"
        )
    name = code.name if code is not None else "UNKNOWN"
    return click.ClickException(f"{name}: {details}" if details else name)


class AdminClient:
    """The Admin stub with a deadline and error mapping on every call (RPC names kept)."""

    def __init__(self, home: Path, socket_path: Path, *, timeout_s: float = CALL_TIMEOUT_S):
        self.home = home
        self.socket_path = socket_path
        self.timeout_s = timeout_s
        self._channel = grpc.insecure_channel(f"unix://{socket_path}")
        self._stub = admin_pb2_grpc.AdminStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(
        self,
        method: Callable[..., Any],
        request: Message,
        response_type: type[R],
        timeout_s: float | None = None,
    ) -> R:
        deadline_s = timeout_s if timeout_s is not None else self.timeout_s
        try:
            response = method(request, timeout=deadline_s)
        except grpc.RpcError as e:
            raise rpc_error(e, self.home, deadline_s) from None
        assert isinstance(response, response_type), type(response)
        return response

    # One method per RPC of ccnode.v1.Admin, named as in the service.

    def Status(self, timeout_s: float | None = None) -> admin_pb2.StatusResponse:
        return self._call(
            self._stub.Status, admin_pb2.StatusRequest(), admin_pb2.StatusResponse, timeout_s
        )

    def Submit(
        self, request: admin_pb2.SubmitRequest, timeout_s: float | None = None
    ) -> admin_pb2.SubmitResponse:
        return self._call(self._stub.Submit, request, admin_pb2.SubmitResponse, timeout_s)

    def AddPeer(self, request: admin_pb2.AddPeerRequest) -> admin_pb2.AddPeerResponse:
        return self._call(self._stub.AddPeer, request, admin_pb2.AddPeerResponse)

    def RemovePeer(self, request: admin_pb2.RemovePeerRequest) -> admin_pb2.RemovePeerResponse:
        return self._call(self._stub.RemovePeer, request, admin_pb2.RemovePeerResponse)

    def ListPeers(self) -> admin_pb2.ListPeersResponse:
        return self._call(
            self._stub.ListPeers, admin_pb2.ListPeersRequest(), admin_pb2.ListPeersResponse
        )

    def BlacklistSearch(
        self, request: admin_pb2.BlacklistSearchRequest
    ) -> admin_pb2.BlacklistSearchResponse:
        return self._call(self._stub.BlacklistSearch, request, admin_pb2.BlacklistSearchResponse)

    def BlacklistGet(
        self, request: admin_pb2.BlacklistGetRequest
    ) -> admin_pb2.BlacklistGetResponse:
        return self._call(self._stub.BlacklistGet, request, admin_pb2.BlacklistGetResponse)

    def SyncStatus(self) -> admin_pb2.SyncStatusResponse:
        return self._call(
            self._stub.SyncStatus, admin_pb2.SyncStatusRequest(), admin_pb2.SyncStatusResponse
        )

    def Verify(
        self, request: admin_pb2.VerifyRequest, timeout_s: float | None = None
    ) -> admin_pb2.VerifyResponse:
        return self._call(self._stub.Verify, request, admin_pb2.VerifyResponse, timeout_s)


def admin_socket(home: Path) -> Path:
    """The admin socket of the node at ``home`` (the configuration must load)."""
    return load_config(home).admin_socket


def admin_client(home: Path, *, timeout_s: float = CALL_TIMEOUT_S) -> AdminClient:
    """A client of the node at ``home``; NodeNotRunning when its socket is absent."""
    socket_path = admin_socket(home).absolute()
    if len(os.fsencode(socket_path)) > UNIX_PATH_BYTES_MAX:
        raise click.ClickException(
            f"admin socket path {socket_path} is longer than {UNIX_PATH_BYTES_MAX} bytes; "
            "use a shorter --home"
        )
    if not socket_path.is_socket():
        raise NodeNotRunning(home)
    return AdminClient(home, socket_path, timeout_s=timeout_s)
