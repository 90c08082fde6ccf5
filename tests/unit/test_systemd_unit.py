"""contrib/ccnode@.service: systemd accepts it (``systemd-analyze verify``) and it keeps the
hardening docs/operations.md promises."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "contrib" / "ccnode@.service"
INSTALLED_CCNODE = "/opt/ccnode/bin/ccnode"

HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ReadWritePaths": "/var/lib/ccnode/%i",
    "PrivateTmp": "yes",
    "ProtectHome": "yes",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "CapabilityBoundingSet": "",
    "SystemCallFilter": "@system-service",
    "User": "ccnode",
}


def _settings() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


@pytest.mark.parametrize(("key", "value"), HARDENING.items())
def test_unit_is_hardened(key: str, value: str) -> None:
    assert value in _settings().get(key, []), f"{key}={value} missing from {UNIT.name}"


def test_unit_serves_the_instance_home() -> None:
    settings = _settings()
    assert settings["ExecStart"] == [f"{INSTALLED_CCNODE} serve --home /var/lib/ccnode/%i"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify checks that the command exists: point it at this environment's ccnode.
    ccnode = Path(sys.executable).parent / "ccnode"
    assert ccnode.exists(), f"{ccnode}: the ccnode entry point is not installed"
    unit = tmp_path / "ccnode@chengdu.service"
    unit.write_text(UNIT.read_text(encoding="utf-8").replace(INSTALLED_CCNODE, str(ccnode)))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # Warnings do not change the exit code; none are expected of this unit.
    assert result.stderr.strip() == "", result.stderr
