"""The CLI's client of the node's local services (Admin, Lookups, Tasks) on its Unix socket.

A command opens ONE channel (``with node_client(home) as client:``) and reaches every service
through it. Every call carries a deadline and every failure goes through the one error mapping
(cli/common/errors.py). Drafts go through ``submit``: one all-or-nothing request, with the
node's warnings named the way the command names its drafts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import click
import grpc
from google.protobuf.message import Message

from ccnode.v1 import admin_pb2, admin_pb2_grpc, lookups_pb2_grpc, tasks_pb2_grpc
from cli.common.errors import DraftLabel, NodeNotRunning, rpc_error
from node.config import ConfigError, NodeConfig

R = TypeVar("R", bound=Message)

CALL_TIMEOUT_S = 10.0
SUBMIT_TIMEOUT_S = 30.0
SUBMIT_TIMEOUT_PER_DRAFT_S = 0.05  # a big import is validated and signed in one transaction
# sockaddr_un.sun_path is 108 bytes on Linux (104 on macOS), including the final NUL.
UNIX_PATH_BYTES_MAX = 103
# Warnings are text on the wire (SubmitResponse.warnings), each naming its draft this way.
_WARNING_RE = re.compile(r"draft (\d+): (.*)", re.DOTALL)


def load_config(home: Path) -> NodeConfig:
    try:
        config = NodeConfig.load(home)
    except ConfigError as e:
        raise click.ClickException(str(e)) from e
    except OSError as e:  # e.g. node.toml cannot be written while converting a node.json
        raise click.ClickException(f"{home}: cannot read the node configuration ({e})") from e
    if config.conversion_notice:
        click.echo(f"notice: {config.conversion_notice}", err=True)
    return config


class NodeClient:
    """The Admin, Lookups and Tasks stubs on one channel to the node's admin socket."""

    def __init__(self, home: Path, socket_path: Path, *, timeout_s: float = CALL_TIMEOUT_S):
        self.home = home
        self.timeout_s = timeout_s
        self._channel = grpc.insecure_channel(f"unix://{socket_path}")
        self.admin = admin_pb2_grpc.AdminStub(self._channel)
        self.lookups = lookups_pb2_grpc.LookupsStub(self._channel)
        self.tasks = tasks_pb2_grpc.TasksStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> NodeClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def call(
        self,
        method: Callable[..., Any],
        request: Message | Iterator[Message],
        response_type: type[R],
        *,
        timeout_s: float | None = None,
        draft_label: DraftLabel | None = None,
        unknown_hint: str | None = None,
    ) -> R:
        """``method`` (a stub's RPC, e.g. ``client.admin.ListPeers``) with a deadline. A
        client-streaming RPC takes an iterator of messages as its request. ``unknown_hint``
        tells the officer how to check a call whose answer was lost (exit 5)."""
        deadline_s = timeout_s if timeout_s is not None else self.timeout_s
        try:
            response = method(request, timeout=deadline_s)
        except grpc.RpcError as e:
            raise rpc_error(
                e, self.home, deadline_s, draft_label=draft_label, unknown_hint=unknown_hint
            ) from None
        assert isinstance(response, response_type), type(response)
        return response

    def submit(
        self,
        drafts: Sequence[admin_pb2.Draft],
        actor: str,
        *,
        draft_label: DraftLabel | None = None,
        unknown_hint: str | None = None,
        skip_listed: bool = False,
        check_only: bool = False,
    ) -> admin_pb2.SubmitResponse:
        """Submit drafts in one request (all or nothing). A refused draft is named by
        ``draft_label`` (e.g. a file's line number), or not at all: one draft needs no name.
        ``skip_listed``: listings of a debtor already listed for the case are left out
        (``SubmitResponse.skipped``) instead of refusing the submission. ``check_only``: the
        node checks the drafts as it would append them and appends nothing."""
        request = admin_pb2.SubmitRequest(
            drafts=drafts, actor=actor, skip_listed=skip_listed, check_only=check_only
        )
        return self.call(
            self.admin.Submit,
            request,
            admin_pb2.SubmitResponse,
            timeout_s=SUBMIT_TIMEOUT_S + SUBMIT_TIMEOUT_PER_DRAFT_S * len(request.drafts),
            draft_label=draft_label,
            unknown_hint=unknown_hint,
        )


def warnings_of(
    response: admin_pb2.SubmitResponse, draft_label: DraftLabel | None = None
) -> list[str]:
    """The node's warnings ("draft 3: ..."), their drafts named by ``draft_label`` or not at
    all, like refusals."""
    out = []
    for warning in response.warnings:
        match = _WARNING_RE.fullmatch(warning)
        if match is None:
            out.append(warning)
        elif draft_label is None:
            out.append(match.group(2))
        else:
            out.append(f"{draft_label(int(match.group(1)))}: {match.group(2)}")
    return out


def node_client(home: Path, *, timeout_s: float = CALL_TIMEOUT_S) -> NodeClient:
    """A client of the node at ``home``; NodeNotRunning when its socket is absent."""
    socket_path = load_config(home).admin_socket.absolute()
    if len(os.fsencode(socket_path)) > UNIX_PATH_BYTES_MAX:
        raise click.ClickException(
            f"admin socket path {socket_path} is longer than {UNIX_PATH_BYTES_MAX} bytes; "
            "use a shorter --home"
        )
    if not socket_path.is_socket():
        raise NodeNotRunning(home)
    return NodeClient(home, socket_path, timeout_s=timeout_s)
