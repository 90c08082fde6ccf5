"""The node's own log lines as an admin reads them: real `ccnode serve` processes, in text
and JSON lines, at `CCNODE_LOG` levels in any case; start and shutdown said at INFO; gRPC's
C core quiet at INFO; a metrics port in use is one line."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.harness import Federation
from tests.integration.procs import REPO

pytestmark = pytest.mark.integration

TEXT_LINE = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: "
)
C_CORE_LINE = re.compile(r"[DIWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+:\d+\] ")


def _environment(**env: str) -> dict[str, str]:
    """This environment without any GRPC_* (the node chooses), plus ``env``."""
    return {k: v for k, v in os.environ.items() if not k.startswith("GRPC_")} | env


def _serve(home: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--home", str(home), *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(**env),
    )


def _run_and_stop(proc: subprocess.Popen[str]) -> list[str]:
    """Wait for the start line on stdout, SIGTERM, and return the stderr lines."""
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        line = proc.stdout.readline()
        while "(port " not in line:
            assert line, "the node exited before it started"
            assert time.monotonic() < deadline
            line = proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    return err.splitlines()


def _home(federation: Federation, **settings: str) -> Path:
    config = federation.home("chengdu")
    config.metrics_listen = "127.0.0.1:0"
    for key, value in settings.items():
        setattr(config, key, value)
    config.save()
    return config.home


def test_json_lines_at_debug_in_lower_case(federation: Federation) -> None:
    home = _home(federation)
    lines = _run_and_stop(_serve(home, {"CCNODE_LOG": "debug"}, "--log-format", "json"))
    events = []
    for line in lines:
        if C_CORE_LINE.match(line):  # gRPC's own INFO lines, let through at debug
            continue
        events.append(json.loads(line))  # every line of the node's is one JSON object
    assert {e["level"] for e in events} >= {"DEBUG", "INFO"}
    messages = [e["message"] for e in events if e["logger"].startswith("node.")]
    started = next(m for m in messages if m.startswith("node chengdu started: "))
    assert re.search(r"federation 127\.0\.0\.1:0 \(port \d+\)", started)
    assert f"admin socket {home / 'admin.sock'}" in started
    assert re.search(r"metrics http://127\.0\.0\.1:\d+/metrics", started)
    assert "node chengdu shutting down: received SIGTERM" in messages
    assert any(
        re.fullmatch(r"node chengdu stopped \(shutdown took [\d.]+ s\)", m) for m in messages
    )
    assert messages.index("node chengdu shutting down: received SIGTERM") > messages.index(started)


def test_text_lines_at_info_and_no_grpc_core_lines(federation: Federation) -> None:
    home = _home(federation, log_format="text")
    lines = _run_and_stop(_serve(home, {"CCNODE_LOG": "Info"}))
    assert lines, "the node said nothing"
    bad = [line for line in lines if not TEXT_LINE.match(line)]
    assert bad == []  # no traceback, no C-core line, no other format
    assert not any(" DEBUG " in line for line in lines)
    assert any(" INFO node.runtime.node: node chengdu started: " in line for line in lines)
    assert any(line.endswith("node chengdu shutting down: received SIGTERM") for line in lines)


def test_the_command_line_format_wins_over_node_toml(federation: Federation) -> None:
    home = _home(federation, log_format="json")
    lines = _run_and_stop(_serve(home, {"CCNODE_LOG": "INFO"}, "--log-format", "text"))
    assert lines and all(TEXT_LINE.match(line) for line in lines)


def _refused(home: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "serve", "--home", str(home)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env=_environment(**env),
        check=False,
    )


def test_a_metrics_port_in_use_is_one_line_and_leaves_the_home_free(
    federation: Federation,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        home = _home(federation, metrics_listen=f"127.0.0.1:{port}")
        done = _refused(home, {"CCNODE_LOG": "warning"})
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"Error: metrics_listen 127.0.0.1:{port}: Address already in use (node.toml; empty = off)"
    ]
    assert not (home / "admin.sock").exists()  # what had started stopped again


def test_a_bad_level_or_format_is_refused_naming_it(federation: Federation) -> None:
    home = _home(federation)
    done = _refused(home, {"CCNODE_LOG": "verbose"})
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "Error: CCNODE_LOG: 'verbose' is not one of debug, info, warning, error, critical"
    )
    home = _home(federation)
    toml = home / "node.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace('log_format = "text"', 'log_format = "xml"'),
        encoding="utf-8",
    )
    done = _refused(home, {"CCNODE_LOG": "info"})
    assert done.returncode == 1
    assert done.stderr.strip() == "Error: node.toml: log_format: must be one of 'text' or 'json'"
    node = subprocess.run(  # python -m node: the same one line, no traceback
        [sys.executable, "-m", "node", str(home)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert node.returncode == 1
    assert node.stderr.strip() == "error: node.toml: log_format: must be one of 'text' or 'json'"
