"""``ccnode audit report``: the HTML page holds the right figures and renders in a real
headless browser (Chromium from the system packages) without a script error."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cli.audit.report_html import render
from tests.cli.audithome import AUDITOR_URI, ID_NUMBER, audit_home, make_ca
from tests.cli.support import ok

BROWSER_TIMEOUT_S = 60
CHARTS = ("sizes", "kinds", "timeline", "lag", "lookups", "tasks", "refusals", "access")


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_ca(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def report_file(tmp_path: Path, ca: Path) -> Path:
    config = audit_home(tmp_path, ca)
    out = tmp_path / "report.html"
    result = ok("audit", "report", "--home", config.home, "--out", out)
    assert f"wrote {out}" in result.stderr
    return out


def _data(page: str) -> Any:
    match = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S
    )
    assert match is not None
    return json.loads(match.group(1))


def test_the_report_holds_the_figures_of_the_logs(report_file: Path) -> None:
    page = report_file.read_text(encoding="utf-8")
    data = _data(page)
    assert [(o["origin"], o["size"]) for o in data["origins"]] == [("chengdu", 7), ("chongqing", 5)]
    assert data["origins"][0]["kinds"] == {
        "受托立案": 1, "纳入失信名单": 3, "查阅记录": 1, "财产查询答复": 1, "拒绝查询": 1,
    }  # fmt: skip
    assert data["lookups"]["rows"] == [
        {"requester": "chongqing", "requested": 3, "answered": 1, "denied": 1, "pending": 1}
    ]
    overdue = {(t["task"], t["rule"].split(" ")[0]) for t in data["tasks"]["overdue"]}
    assert overdue == {
        ("chongqing/task/3", "逾6个月未结"),  # accepted in time, never finished
        ("chongqing/task/4", "未在7日内立案"),  # never registered
        ("chongqing/task/4", "逾6个月未结"),
    }
    assert data["refusals"]["by_reason"] == {"revoked": 1, "role_not_allowed": 2}
    assert data["access"]["by_actor"] == {AUDITOR_URI: 1}
    assert [e["origin"] for e in data["evidence"]] == ["mianyang"]
    assert data["lag"]["note"].startswith("节点未运行")
    assert [len(t["points"]) for t in data["timeline"]] == [7, 5]
    assert data["timeline"][0]["witness"] == [[1_709_812_800_000, 7, "chongqing"]]
    # Self-contained and free of personal data: no loads at all, no ID number, no name.
    assert not re.search(r"""(src|href)\s*=""", page)
    assert ID_NUMBER not in page and "张三" not in page


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None and os.path.exists("/usr/bin/chromium"):
        path = "/usr/bin/chromium"
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required in CI: run scripts/ensure_chromium.sh")
        pytest.skip("chromium not installed (scripts/ensure_chromium.sh installs it)")
    return path


def _dump_dom(page: Path, profile: Path) -> str:
    """The DOM after the page's scripts ran, from headless Chromium; every process it started
    is killed afterwards (its own process group)."""
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        text=True,
    )
    try:
        out, _ = proc.communicate(timeout=BROWSER_TIMEOUT_S)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    assert proc.returncode == 0 or out, f"chromium exited with {proc.returncode}"
    return out


def test_the_report_renders_in_a_headless_browser(report_file: Path, tmp_path: Path) -> None:
    dom = _dump_dom(report_file, tmp_path / "profile")
    root = re.search(r"<html[^>]*>", dom)
    assert root is not None
    assert 'data-rendered="ok"' in root.group(0)
    assert "data-error" not in root.group(0)
    assert '<div id="report-error"></div>' in dom
    drawn = re.findall(r'<svg class="chart" data-chart="([a-z]+)"', dom)
    assert sorted(drawn) == sorted(CHARTS)
    assert dom.count('class="bar"') >= 10
    assert dom.count('class="witness"') == 1  # chongqing cosigned chengdu's latest checkpoint
    assert "逾6个月未结" in dom and "mianyang" in dom


def test_a_page_whose_script_fails_is_caught(tmp_path: Path) -> None:
    """The browser check can fail: a page whose data breaks the script is marked as such."""
    broken = tmp_path / "broken.html"
    broken.write_text(render({"title": "broken", "origins": None}), encoding="utf-8")
    dom = _dump_dom(broken, tmp_path / "profile")
    root = re.search(r"<html[^>]*>", dom)
    assert root is not None
    assert 'data-rendered="ok"' not in root.group(0)
    assert re.search(r'data-error="[^"]+"', root.group(0))
    assert "报告渲染出错 render error" in dom
