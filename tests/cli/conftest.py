"""Fixtures of the CLI tests: a node home, and the fake Admin service on its Unix socket."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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
def fake(home: Path) -> Iterator[FakeAdmin]:
    servicer = FakeAdmin()
    executor = ThreadPoolExecutor(max_workers=4)
    server = grpc.server(executor)
    admin_pb2_grpc.add_AdminServicer_to_server(servicer, server)
    server.add_insecure_port(f"unix://{home / 'admin.sock'}")
    server.start()
    try:
        yield servicer
    finally:
        server.stop(grace=None).wait()
        executor.shutdown(wait=True)
