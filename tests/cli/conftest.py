"""Fixtures of the CLI tests: a node home, and fake node services on its Unix socket.

The fake services are served by pytest-grpc: a test module says what to serve with
``grpc_servicer`` and ``grpc_add_to_server`` (here: the fake Admin service), and
``grpc_addr`` points the server at the home's admin socket, where the CLI looks for the node.
pytest-grpc's ``grpc_server`` is module-scoped; a home, and so a socket, is per test, so the
server is redefined here per test with the same composition, and is stopped and joined (with
its thread pool) before the test's home is removed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest

from ccnode.v1 import admin_pb2_grpc
from node.config import NodeConfig
from tests.cli.support import FakeAdmin


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A node home with a configuration (no certificates: the fake needs none). Short
    path: a Unix socket path must fit in 108 bytes."""
    home = tmp_path / "h"
    home.mkdir()
    NodeConfig(
        home=home,
        node_id="chengdu",
        trust_domain="chengyu.court",
        listen="127.0.0.1:7001",
        court_prefixes=["川01"],
    ).save()
    return home


@pytest.fixture
def grpc_addr(home: Path) -> str:
    return f"unix://{home / 'admin.sock'}"


@pytest.fixture
def grpc_servicer() -> Any:
    return FakeAdmin()


@pytest.fixture
def grpc_add_to_server() -> Callable[[Any, grpc.Server], None]:
    return admin_pb2_grpc.add_AdminServicer_to_server


@pytest.fixture
def grpc_server(
    request: pytest.FixtureRequest,
    grpc_addr: str,
    grpc_add_to_server: Callable[[Any, grpc.Server], None],
    grpc_servicer: Any,
    grpc_interceptors: Any,
) -> Iterator[grpc.Server]:
    # Threads as pytest-grpc sizes them: --grpc-max-workers, or a module's grpc_max_workers.
    workers = max(
        request.config.getoption("grpc-max-workers"),
        getattr(request.module, "grpc_max_workers", 1),
    )
    with ThreadPoolExecutor(max_workers=workers) as pool:
        server = grpc.server(pool, interceptors=grpc_interceptors)
        grpc_add_to_server(grpc_servicer, server)
        server.add_insecure_port(grpc_addr)
        server.start()
        try:
            yield server
        finally:
            server.stop(grace=None).wait()


@pytest.fixture
def fake(grpc_server: grpc.Server, grpc_servicer: FakeAdmin) -> FakeAdmin:
    """The fake Admin service, serving on the home's socket for this test."""
    return grpc_servicer
