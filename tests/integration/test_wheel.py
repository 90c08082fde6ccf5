"""The distribution as a user gets it: build the wheel, install it into a fresh venv, run
``ccnode demo`` from there.

Everything runs offline. The wheel is built without build isolation (the test environment's
setuptools) from a copy of the sources that ship, so the checkout gets no build/ or egg-info
and nothing outside that copy can leak into the wheel. The fresh venv has no pip and does not
see the system's packages; the wheel goes in with ``--no-deps``, and the third-party
dependencies are borrowed from the test environment by a .pth file of plain directory lines.
Python runs the .pth files of its own site-packages only, not of directories such lines add,
so the checkout's editable install (a .pth hook in the test environment) stays inactive: the
test asserts that sync, node, cli and ccnode are imported from the venv. What this cannot
catch is a runtime dependency declared only among the dev extras; the venv sees those too.

Commands run with the temporary directory as working directory and without PYTHONPATH, so
neither can put the checkout on the path.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# What the wheel is built from (pyproject.toml's package discovery and readme).
SHIPPED = ("pyproject.toml", "README.md", "sync", "node", "cli", "proto")
TOP_LEVEL = {"sync", "node", "cli", "ccnode"}
BUILD_TIMEOUT_S = 180.0
INSTALL_TIMEOUT_S = 120.0
COMMAND_TIMEOUT_S = 60.0
DEMO_TIMEOUT_S = 150.0
DEMO_REPLICATION_TIMEOUT_S = 30.0
INTERRUPT_GRACE_S = 30.0

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _env() -> dict[str, str]:
    """The test's environment minus whatever could point Python at the checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PYTHONNOUSERSITE="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    return env


def _run(args: list[str | Path], cwd: Path, timeout_s: float) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    assert result.returncode == 0, f"{args}: {result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _build_wheel(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    for name in SHIPPED:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, src / name)
    wheelhouse = tmp_path / "wheelhouse"
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index"]
    _run([*pip_wheel, "--no-build-isolation", "-w", wheelhouse, src], tmp_path, BUILD_TIMEOUT_S)
    (wheel,) = wheelhouse.glob("ccnode-*.whl")
    return wheel


def _make_venv(tmp_path: Path, wheel: Path) -> Path:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path, COMMAND_TIMEOUT_S)
    python = venv / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", python, "install", "--no-deps"]
    _run([*install, "--no-index", wheel], tmp_path, INSTALL_TIMEOUT_S)
    site_packages = Path(
        _run(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            tmp_path,
            COMMAND_TIMEOUT_S,
        ).stdout.strip()
    )
    borrowed = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (site_packages / "ccnode_test_dependencies.pth").write_text(
        "".join(f"{d}\n" for d in borrowed), encoding="utf-8"
    )
    return venv


def _kill_leftover_node(home: Path) -> None:
    """Kill the node serving ``home`` if one still runs (its pid is in HOME/serve.lock).

    The pid is only trusted if that process's command line names the home: a lock file left
    by a node that stopped may hold a pid the system has given to another process since.
    """
    try:
        pid = int((home / "serve.lock").read_text(encoding="utf-8").strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if str(home).encode() in cmdline.split(b"\0"):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def demo_dir(tmp_path: Path) -> Iterator[Path]:
    """The demo's work directory; a node still running there at the end is killed.

    The demo starts each node in a session of its own, so a demo killed on a timeout leaves
    them running.
    """
    work = tmp_path / "demo"
    yield work
    for home in work.iterdir() if work.is_dir() else ():
        _kill_leftover_node(home)


def _demo(ccnode: Path, work: Path, cwd: Path) -> str:
    args = [ccnode, "demo", "--dir", work, "--timeout", str(DEMO_REPLICATION_TIMEOUT_S)]
    proc = subprocess.Popen(
        [str(a) for a in args],
        cwd=cwd,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=DEMO_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        # Ctrl-C: the demo stops its nodes on the way out (SIGKILL would orphan them).
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=INTERRUPT_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        pytest.fail(f"ccnode demo did not finish in {DEMO_TIMEOUT_S:g} s:\n{out}\n{err}")
    assert proc.returncode == 0, f"ccnode demo failed:\n{out}\n{err}"
    return out


def test_the_wheel_installs_and_runs_the_demo(tmp_path: Path, demo_dir: Path) -> None:
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        top = {name.split("/", 1)[0] for name in zf.namelist()}
        names = set(zf.namelist())
    assert top == {*TOP_LEVEL, "ccnode-0.1.0.dist-info"}
    assert "node/store/migrations/env.py" in names  # the node migrates its store at start
    assert "ccnode/v1/admin.proto" in names

    venv = _make_venv(tmp_path, wheel)
    where = _run(
        [
            venv / "bin" / "python",
            "-c",
            "import sync, node, cli, ccnode, node.services, ccnode.v1.admin_pb2 as a\n"
            "for m in (sync, node, cli, ccnode, node.services, a): print(m.__file__)",
        ],
        tmp_path,
        COMMAND_TIMEOUT_S,
    ).stdout.split()
    assert len(where) == 6
    assert all(Path(f).is_relative_to(venv) for f in where), where

    ccnode = venv / "bin" / "ccnode"
    help_text = _run([ccnode, "--help"], tmp_path, COMMAND_TIMEOUT_S).stdout
    assert "demo" in help_text
    assert "serve" in help_text

    out = _demo(ccnode, demo_dir, tmp_path)
    assert "chengdu lists （2024）川0104执1234号 → chengdu/bl/0" in out
    assert "chongqing finds chengdu/bl/0 in its own copy: listed" in out
    assert "stopped both nodes" in out
    assert not (demo_dir / "chengdu" / "admin.sock").exists()
