"""Health checking and server reflection on the node's mutual-TLS port."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from tests.integration.harness import Federation

pytestmark = pytest.mark.integration


def _channel(federation: Federation, port: int) -> grpc.aio.Channel:
    certs = federation.issue("chongqing")
    creds = grpc.ssl_channel_credentials(
        root_certificates=(certs / "ca.pem").read_bytes(),
        private_key=(certs / "tls.key").read_bytes(),
        certificate_chain=(certs / "tls.pem").read_bytes(),
    )
    return grpc.aio.secure_channel(
        f"127.0.0.1:{port}",
        creds,
        options=[("grpc.ssl_target_name_override", "chengdu.node.chengyu.court")],
    )


async def test_health_serving_then_not_serving_on_shutdown(federation: Federation) -> None:
    a = await federation.start("chengdu")
    async with _channel(federation, a.port) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        await a.servers.enter_graceful_shutdown()
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING


async def test_reflection_lists_the_public_services(federation: Federation) -> None:
    a = await federation.start("chengdu")
    async with _channel(federation, a.port) as ch:
        stub = reflection_pb2_grpc.ServerReflectionStub(ch)

        async def requests():  # type: ignore[no-untyped-def]
            yield reflection_pb2.ServerReflectionRequest(list_services="")

        names = []
        async for reply in stub.ServerReflectionInfo(requests(), timeout=5):
            names = [s.name for s in reply.list_services_response.service]
    assert "ccnode.v1.Federation" in names
    assert "ccnode.v1.Audit" in names
    assert "grpc.health.v1.Health" in names
    assert "ccnode.v1.Admin" not in names  # administration only on the local socket
