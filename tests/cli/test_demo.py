"""``ccnode demo``: the real thing end to end (two node processes on loopback), its failure
path, and stopping a node that ignores SIGTERM."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import cli.demo
from tests.cli.support import fails, ok


@pytest.mark.integration
def test_demo_replicates_an_entry(tmp_path: Path) -> None:
    work = tmp_path / "d"
    result = ok("demo", "--dir", work)
    out = result.stdout
    assert "chengdu lists （2024）川0104执1234号 → chengdu/bl/0" in out
    assert "chongqing finds chengdu/bl/0 in its own copy: listed" in out
    assert "5101041990****" in out  # the ID only ever masked
    assert "stopped both nodes" in out
    assert (work / "chengdu" / "node.log").exists()  # --dir is kept
    assert not (work / "chengdu" / "admin.sock").exists()  # the nodes are gone


def test_demo_failure_stops_and_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_node(home: Path) -> list[str]:
        return [sys.executable, "-c", "import sys; print('cannot start'); sys.exit(3)"]

    made: list[Path] = []

    def mkdtemp(prefix: str) -> str:
        made.append(tmp_path / "w")
        made[0].mkdir()
        return str(made[0])

    monkeypatch.setattr(cli.demo, "_serve_command", broken_node)
    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    result = fails(1, "demo")
    assert "chengdu exited with code 3 while starting" in result.stderr
    assert "cannot start" in result.stderr  # the node's log tail, for diagnosis
    assert made and not made[0].exists()  # removed without --keep


def test_stop_kills_a_node_that_ignores_sigterm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli.demo, "STOP_GRACE_S", 0.2)
    script = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == b"ready\n"  # SIGTERM is ignored from here on
        node = cli.demo._Node("x", "川01", tmp_path, "127.0.0.1:1", tmp_path / "log")
        node.process = process
        cli.demo._stop(node)
        assert process.returncode == -9  # SIGKILL after the grace period
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
