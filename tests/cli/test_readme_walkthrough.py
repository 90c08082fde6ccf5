"""The README walkthrough works as written: every command of its code block runs, in order,
with the two `serve` lines as background processes (the "two terminals"). Only the ports are
replaced by free ones (and the metrics port `ccnode init` derives from them by any free one) so
the test never collides with anything listening on the machine."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.node_cmds import default_metrics_listen
from node.config import NodeConfig

REPO = Path(__file__).resolve().parents[2]
CCNODE = Path(sys.executable).parent / "ccnode"

pytestmark = pytest.mark.integration


def _walkthrough() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Walkthrough", 1)[1]
    block = section.split("```", 2)[1]
    commands, current = [], ""
    for line in block.splitlines():
        line = (
            line.split("  # ", 1)[0].rstrip() if "#" in line and "（" not in line else line.rstrip()
        )
        if not line.strip():
            continue
        current += line.rstrip("\\") + " "
        if not line.endswith("\\"):
            commands.append(current.strip())
            current = ""
    return commands


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    commands = _walkthrough()
    assert any(c.startswith("ccnode serve") for c in commands)
    ports = {"7401": str(_free_port()), "7402": str(_free_port())}
    servers: list[subprocess.Popen[bytes]] = []
    outputs: list[str] = []
    try:
        for command in commands:
            for fixed, free in ports.items():
                command = command.replace(f":{fixed}", f":{free}")
            argv = shlex.split(command)
            argv = [str(CCNODE), *argv[1:]]
            if argv[1] == "serve":
                home = tmp_path / argv[argv.index("--home") + 1]
                proc = subprocess.Popen(
                    argv, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
                servers.append(proc)
                deadline = time.monotonic() + 30
                while not (home / "admin.sock").exists():
                    assert proc.poll() is None, f"{command} exited"
                    assert time.monotonic() < deadline, f"{command} did not start"
                    time.sleep(0.05)
                continue
            if argv[1] == "blacklist" and argv[2] == "check":
                # Replication is asynchronous: the walkthrough's reader checks after a moment.
                deadline = time.monotonic() + 10
                while True:
                    done = subprocess.run(
                        [*argv, "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=60
                    )
                    if (
                        '"hits": [{' in done.stdout.replace("\n", "").replace("  ", "")
                        or time.monotonic() > deadline
                    ):
                        break
                    time.sleep(0.1)
            else:
                done = subprocess.run(
                    argv, cwd=tmp_path, capture_output=True, text=True, timeout=60
                )
            assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
            outputs.append(done.stdout)
            if argv[1] == "init":  # metrics on the listen port + 1000: any free port here
                config = NodeConfig.load(tmp_path / argv[argv.index("--home") + 1])
                listen = argv[argv.index("--listen") + 1]
                assert config.metrics_listen == default_metrics_listen(listen)
                config.metrics_listen = "127.0.0.1:0"
                config.save()
    finally:
        for proc in servers:
            proc.send_signal(signal.SIGTERM)
        for proc in servers:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    check = next(
        o
        for c, o in zip(
            [c for c in commands if not c.startswith("ccnode serve")], outputs, strict=True
        )
        if " check " in c
    )
    assert "5101041990****1237" in check
    assert "510104199003071237" not in "".join(outputs)
    assert re.search(r"chengdu", check)
    assert os.path.exists(tmp_path / "homes" / "chongqing" / "ccnode.db")
