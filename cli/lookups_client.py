"""The CLI's side of the Lookups service (node/services/lookups.py) on the node's admin socket:
the same socket checks, deadlines and error mapping as the Admin client (cli/client.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from ccnode.v1 import lookups_pb2, lookups_pb2_grpc
from cli.client import CALL_TIMEOUT_S, admin_client, rpc_error

R = TypeVar("R", bound=Message)


class LookupsClient:
    def __init__(self, home: Path, socket_path: Path, *, timeout_s: float = CALL_TIMEOUT_S):
        self.home = home
        self.timeout_s = timeout_s
        self._channel = grpc.insecure_channel(f"unix://{socket_path}")
        self._stub = lookups_pb2_grpc.LookupsStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> LookupsClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(
        self, method: Any, request: Any, response_type: type[R], timeout_s: float | None
    ) -> R:
        deadline_s = timeout_s if timeout_s is not None else self.timeout_s
        try:
            response = method(request, timeout=deadline_s)
        except grpc.RpcError as e:
            raise rpc_error(e, self.home, deadline_s) from None
        assert isinstance(response, response_type), type(response)
        return response

    def Request(
        self, request: lookups_pb2.LookupRequest, timeout_s: float | None = None
    ) -> lookups_pb2.LookupResult:
        return self._call(self._stub.Request, request, lookups_pb2.LookupResult, timeout_s)

    def List(self, request: lookups_pb2.ListLookupsRequest) -> lookups_pb2.ListLookupsResponse:
        return self._call(self._stub.List, request, lookups_pb2.ListLookupsResponse, None)

    def Get(self, request: lookups_pb2.GetLookupRequest) -> lookups_pb2.LookupResult:
        return self._call(self._stub.Get, request, lookups_pb2.LookupResult, None)

    def Access(self, request: lookups_pb2.AccessRequest) -> lookups_pb2.AccessResponse:
        return self._call(self._stub.Access, request, lookups_pb2.AccessResponse, None)

    def ImportAssets(
        self, messages: Iterator[lookups_pb2.ImportAssetsRequest], timeout_s: float
    ) -> lookups_pb2.ImportAssetsResponse:
        return self._call(
            self._stub.ImportAssets, messages, lookups_pb2.ImportAssetsResponse, timeout_s
        )

    def CountAssets(self) -> lookups_pb2.CountAssetsResponse:
        return self._call(
            self._stub.CountAssets,
            lookups_pb2.CountAssetsRequest(),
            lookups_pb2.CountAssetsResponse,
            None,
        )


def lookups_client(home: Path, *, timeout_s: float = CALL_TIMEOUT_S) -> LookupsClient:
    """A client of the node at ``home``; the Admin client's checks decide whether the node's
    socket is usable (configured home, path length, node running)."""
    with admin_client(home) as probe:
        socket_path = probe.socket_path
    return LookupsClient(home, socket_path, timeout_s=timeout_s)
