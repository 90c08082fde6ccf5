"""One node per home, and a port in use is one clear line: real `ccnode serve` processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ccnode.v1 import admin_pb2
from node.config import NodeConfig
from node.runtime.home_lock import HomeBusy
from node.runtime.node import Node
from node.runtime.servers import ListenError
from tests.integration.harness import Federation, admin
from tests.integration.procs import REPO, NodeProcess

pytestmark = pytest.mark.integration

CCNODE = Path(sys.executable).parent / "ccnode"


def _serve(home: Path) -> subprocess.CompletedProcess[str]:
    """`ccnode serve` expected to refuse at once (bounded: it must not start serving)."""
    return subprocess.run(
        [str(CCNODE), "serve", "--home", str(home)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CCNODE_LOG": "warning"},
        check=False,
    )


def test_a_second_serve_of_one_home_is_refused_and_the_first_keeps_serving(
    federation: Federation,
) -> None:
    config = federation.home("chengdu")
    first = NodeProcess(config.home)
    first.start()
    try:
        second = _serve(config.home)
        assert second.returncode == 1
        assert f"already served by pid {first.proc.pid}" in second.stderr  # type: ignore[union-attr]
        assert "Traceback" not in second.stderr
        # The first process still owns its admin socket: the CLI reaches it.
        status = subprocess.run(
            [str(CCNODE), "sync", "status", "--home", str(config.home), "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert status.returncode == 0, status.stderr
        assert config.admin_socket.exists()
    finally:
        first.stop()


def test_a_port_in_use_is_one_line_and_leaves_the_home_unlocked(
    federation: Federation,
) -> None:
    a = federation.home("chengdu")
    holder = NodeProcess(a.home)
    port = holder.start()
    try:
        b = federation.home("chongqing")
        b.listen = f"127.0.0.1:{port}"
        b.save()
        refused = _serve(b.home)
        assert refused.returncode == 1
        assert f"127.0.0.1:{port} is in use" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert not b.admin_socket.exists()
        b.listen = "127.0.0.1:0"  # the home is not left locked: it serves once the port is free
        b.save()
        other = NodeProcess(b.home)
        other.start()
        other.stop()
    finally:
        holder.stop()


async def test_in_process_the_lock_is_released_on_stop(federation: Federation) -> None:
    a = await federation.start("chengdu")
    config = NodeConfig.load(a.config.home)
    with pytest.raises(HomeBusy):
        await Node(config).start()
    assert (await admin(a).Status(admin_pb2.StatusRequest())).node_id == "chengdu"
    await federation.stop("chengdu")
    again = await federation.start("chengdu")  # released: the home serves again
    assert again.port


async def test_in_process_a_port_in_use_raises_listen_error(federation: Federation) -> None:
    a = await federation.start("chengdu")
    b = federation.home("chongqing")
    b.listen = f"127.0.0.1:{a.port}"
    b.save()
    with pytest.raises(ListenError):
        await federation.start("chongqing")
    b.listen = "127.0.0.1:0"
    b.save()
    assert (await federation.start("chongqing")).port
