"""Fixtures of the identity tests: a throwaway CA per test and a node issued by it."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.identity.ca import IssuedPaths, init_ca, issue_node
from tests.unit.identity.support import NOW, Clock


@pytest.fixture
def ca_dir(tmp_path: Path) -> Path:
    init_ca(tmp_path / "ca", now=NOW)
    return tmp_path / "ca"


@pytest.fixture
def node(ca_dir: Path, tmp_path: Path) -> IssuedPaths:
    return issue_node(
        ca_dir,
        "chengdu",
        tmp_path / "chengdu",
        ips=("127.0.0.1", "::1"),
        dns=("localhost",),
        now=NOW,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()
