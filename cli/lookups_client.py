"""The CLI's side of the Lookups service (node/services/lookups.py) on the node's admin socket:
the same socket checks, deadlines and error mapping as the Admin client (cli/client.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ccnode.v1 import lookups_pb2, lookups_pb2_grpc
from cli.client import CALL_TIMEOUT_S, AdminClient, admin_client


class LookupsClient(AdminClient):
    """The Admin client's channel, deadlines and error mapping, for the Lookups service."""

    def __init__(self, home: Path, socket_path: Path, *, timeout_s: float = CALL_TIMEOUT_S):
        super().__init__(home, socket_path, timeout_s=timeout_s)
        self._lookups = lookups_pb2_grpc.LookupsStub(self._channel)

    def __enter__(self) -> LookupsClient:
        return self

    def Request(
        self, request: lookups_pb2.LookupRequest, timeout_s: float | None = None
    ) -> lookups_pb2.LookupResult:
        return self._call(self._lookups.Request, request, lookups_pb2.LookupResult, timeout_s)

    def List(self, request: lookups_pb2.ListLookupsRequest) -> lookups_pb2.ListLookupsResponse:
        return self._call(self._lookups.List, request, lookups_pb2.ListLookupsResponse, None)

    def Get(self, request: lookups_pb2.GetLookupRequest) -> lookups_pb2.LookupResult:
        return self._call(self._lookups.Get, request, lookups_pb2.LookupResult, None)

    def Access(self, request: lookups_pb2.AccessRequest) -> lookups_pb2.AccessResponse:
        return self._call(self._lookups.Access, request, lookups_pb2.AccessResponse, None)

    def ImportAssets(
        self, messages: Iterator[lookups_pb2.ImportAssetsRequest], timeout_s: float
    ) -> lookups_pb2.ImportAssetsResponse:
        # A client-streaming call: its "request" is the iterator of messages.
        return self._call(
            self._lookups.ImportAssets,
            messages,  # type: ignore[arg-type]
            lookups_pb2.ImportAssetsResponse,
            timeout_s,
        )

    def CountAssets(self) -> lookups_pb2.CountAssetsResponse:
        return self._call(
            self._lookups.CountAssets,
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
