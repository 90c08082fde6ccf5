"""The node's listeners: the mutual-TLS port (peers, auditors), the 0600 admin Unix socket
(the local CLI), and optional Prometheus metrics over plain HTTP.

Health (grpc.health.v1) and server reflection are served on the mTLS port beside the public
services. The admin socket is created with umask 0177, so only the node's user can administer.
Both listeners run every call through ``ErrorGuard`` (node/runtime/guard.py): undecodable
requests, a full database and unexpected failures answer proper statuses, never a traceback.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from typing import Any

import grpc
import prometheus_client
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from node.config import NodeConfig
from node.metrics import METRICS
from node.replication.wire import grpc_options
from node.runtime.guard import ErrorGuard
from node.runtime.registry import Parts, ServiceSpec


class ListenError(OSError):
    """The node cannot listen on its configured address."""


def _server_options(config: NodeConfig) -> list[tuple[str, int]]:
    # gRPC sets SO_REUSEPORT by default: a second process could then listen on the same port
    # and take half the connections. A port in use must be an error instead.
    return [*grpc_options(config.limits), ("grpc.so_reuseport", 0)]


class Servers:
    def __init__(self, config: NodeConfig) -> None:
        self._config = config
        self.health = health.aio.HealthServicer()
        self.port = 0
        self.metrics_port = 0
        self.metrics_address = ""  # while served: http://HOST:PORT/metrics
        self._public: grpc.aio.Server | None = None
        self._admin: grpc.aio.Server | None = None
        self._metrics: tuple[Any, Any] | None = None
        self._socket_inode: int | None = None

    async def start(
        self, parts: Parts, public: Sequence[ServiceSpec], admin: Sequence[ServiceSpec]
    ) -> None:
        await self._start_public(parts, public)
        await self._start_admin(parts, admin)
        if self._config.metrics_listen:
            self._start_metrics(self._config.metrics_listen)

    async def _start_public(self, parts: Parts, specs: Sequence[ServiceSpec]) -> None:
        c = self._config
        key = (c.certs_dir / "tls.key").read_bytes()
        cert = (c.certs_dir / "tls.pem").read_bytes()
        ca = (c.certs_dir / "ca.pem").read_bytes()
        creds = grpc.ssl_server_credentials(
            [(key, cert)], root_certificates=ca, require_client_auth=True
        )
        server = grpc.aio.server(options=_server_options(c), interceptors=[ErrorGuard(parts.clock)])
        for spec in specs:
            spec.add_to_server(spec.factory(parts), server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        names = (*(spec.full_name for spec in specs), health.SERVICE_NAME, reflection.SERVICE_NAME)
        reflection.enable_server_reflection(names, server)
        try:
            self.port = server.add_secure_port(c.listen, creds)
        except RuntimeError:  # grpc: "Failed to bind to address"
            self.port = 0
        if self.port == 0:
            raise ListenError(
                f"{c.listen} is in use, or not an address of this host (listen in node.toml)"
            )
        await server.start()
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        self._public = server

    async def _start_admin(self, parts: Parts, specs: Sequence[ServiceSpec]) -> None:
        admin = grpc.aio.server(
            options=_server_options(self._config), interceptors=[ErrorGuard(parts.clock)]
        )
        for spec in specs:
            spec.add_to_server(spec.factory(parts), admin)
        sock = self._config.admin_socket
        with contextlib.suppress(FileNotFoundError):
            sock.unlink()
        old = os.umask(0o177)  # the socket is created 0600: only the node's user may administer
        try:
            admin.add_insecure_port(f"unix://{sock}")
            await admin.start()
        finally:
            os.umask(old)
        os.chmod(sock, 0o600)
        self._admin = admin
        self._socket_inode = os.stat(sock).st_ino

    def _start_metrics(self, listen: str) -> None:
        """Serve Prometheus metrics over plain HTTP (labels never carry personal data)."""
        host, sep, port = listen.rpartition(":")
        host = host.strip("[]") or "127.0.0.1"
        if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ListenError(f"metrics_listen: {listen!r} must be HOST:PORT, or empty for off")
        try:
            server, thread = prometheus_client.start_http_server(
                int(port), addr=host, registry=METRICS.registry
            )
        except OSError as exc:  # in use, or not an address of this host
            raise ListenError(
                f"metrics_listen {listen}: {exc.strerror or exc} (node.toml; empty = off)"
            ) from exc
        self.metrics_port = server.server_port
        shown = f"[{host}]" if ":" in host else host
        self.metrics_address = f"http://{shown}:{self.metrics_port}/metrics"
        self._metrics = (server, thread)

    def _remove_own_socket(self) -> None:
        """Delete the admin socket only if it is still the one this process created."""
        sock = self._config.admin_socket
        with contextlib.suppress(FileNotFoundError):
            if os.stat(sock).st_ino == self._socket_inode:
                sock.unlink()
        self._socket_inode = None

    async def enter_graceful_shutdown(self) -> None:
        """Health says NOT_SERVING from now on, so balancers and peers move away first."""
        await self.health.enter_graceful_shutdown()

    async def stop(self) -> None:
        grace = self._config.limits.shutdown_grace_s
        if self._public is not None:
            await self._public.stop(grace)
            self._public = None
        if self._admin is not None:
            await self._admin.stop(grace)
            self._admin = None
            self._remove_own_socket()
        if self._metrics is not None:
            server, thread = self._metrics
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
            self._metrics = None
