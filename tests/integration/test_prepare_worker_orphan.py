"""The catch-up helper ends with its node, also when the node is killed (kill -9).

The helper reads its requests from a pipe only the node holds: when the node dies the pipe
closes and the helper exits on its own, so a crashed node leaves no process behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
# A stand-in for the node: starts a helper, says its pid, then waits to be killed.
PARENT = """
import asyncio
from node.replication.worker import PrepareWorker
from node.replication.apply import PrepareRules

async def main():
    worker = PrepareWorker(PrepareRules("chongqing", "chengyu.court", 500, 256 * 1024))
    await worker.start()
    print(worker._proc.pid, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


def _running(pid: int) -> bool:
    """Alive and not a zombie (an exited child nobody has reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_the_helper_exits_when_its_node_is_killed() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    helper = 0
    try:
        assert parent.stdout is not None
        helper = int(parent.stdout.readline())
        assert _running(helper)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _running(helper) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not _running(helper), "the helper outlived its killed node"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(timeout=10)
        if parent.stdout is not None:
            parent.stdout.close()
        if helper and _running(helper):
            os.kill(helper, signal.SIGKILL)
