"""``ccnode init`` from a certificate directory issued by node.identity.ca, and
``serve``'s refusals."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from cli.node_cmds import default_metrics_listen
from node.config import NodeConfig
from node.identity.ca import init_ca, issue_auditor, issue_node
from tests.cli.support import fails, ok

TD = "test.court"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ca_dir = tmp_path_factory.mktemp("pki") / "ca"
    init_ca(ca_dir, TD)
    return ca_dir


@pytest.fixture(scope="module")
def certs(ca: Path) -> Path:
    return issue_node(ca, "chengdu", ca.parent / "chengdu").dir


def _init(home: Path, certs: Path, node_id: str = "chengdu", *extra: str) -> list[str | Path]:
    return ["init", "--home", home, "--node-id", node_id, "--listen", "127.0.0.1:7001",
            "--certs", certs, *extra]  # fmt: skip


def test_init_creates_a_home(tmp_path: Path, certs: Path) -> None:
    home = tmp_path / "home"
    result = ok(*_init(home, certs, "chengdu", "--court-prefix", "川01", "--json"))
    doc = json.loads(result.stdout)
    assert doc["trust_domain"] == TD  # taken from tls.pem
    assert doc["node_id"] == "chengdu"
    assert doc["court_prefixes"] == ["川01"]
    assert doc["db_url"] == f"sqlite:///{home / 'ccnode.db'}"
    assert doc["vkey"].startswith(f"{TD}/chengdu+")
    config = NodeConfig.load(home)
    assert (config.trust_domain, config.listen, config.court_prefixes) == (
        TD, "127.0.0.1:7001", ["川01"],
    )  # fmt: skip
    for name in ("ca.pem", "tls.pem", "tls.key", "log.pem", "log.key"):
        assert (config.certs_dir / name).exists()
    assert stat.S_IMODE((config.certs_dir / "log.key").stat().st_mode) == 0o600


def test_init_human_output(tmp_path: Path, certs: Path) -> None:
    out = ok(*_init(tmp_path / "home", certs)).stdout
    assert "initialised node chengdu" in out
    assert f"ccnode serve --home {tmp_path / 'home'}" in out


def test_init_refuses_certificates_of_another_node(tmp_path: Path, certs: Path) -> None:
    result = fails(1, *_init(tmp_path / "home", certs, "chongqing"))
    assert "names node 'chengdu', not --node-id 'chongqing'" in result.stderr
    assert not (tmp_path / "home").exists()


def test_init_refuses_a_non_node_certificate(tmp_path: Path, ca: Path) -> None:
    auditor = issue_auditor(ca, "audit-li", tmp_path / "auditor").dir
    result = fails(1, *_init(tmp_path / "home", auditor, "audit-li"))
    assert "role 'auditor', not a node" in result.stderr


def test_init_refuses_mismatched_log_key(tmp_path: Path, ca: Path, certs: Path) -> None:
    other = issue_node(ca, "chengdu", tmp_path / "other").dir
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for name in ("ca.pem", "tls.pem", "tls.key", "log.pem"):
        (mixed / name).write_bytes((certs / name).read_bytes())
    (mixed / "log.key").write_bytes((other / "log.key").read_bytes())
    assert "does not match" in fails(1, *_init(tmp_path / "home", mixed)).stderr


def test_init_refuses_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "tls.pem" in fails(1, *_init(tmp_path / "home", empty)).stderr


def test_init_refuses_bad_config_and_existing_home(tmp_path: Path, certs: Path) -> None:
    home = tmp_path / "home"
    bad = fails(1, "init", "--home", home, "--node-id", "chengdu", "--listen", "nowhere",
                "--certs", certs)  # fmt: skip
    assert "listen: must be HOST:PORT" in bad.stderr
    prefix = fails(1, *_init(home, certs, "chengdu", "--court-prefix", "Sichuan"))
    assert "court_prefixes" in prefix.stderr
    ok(*_init(home, certs))
    assert "already a node home" in fails(1, *_init(home, certs)).stderr


def test_serve_refuses_a_directory_that_is_not_a_home(tmp_path: Path) -> None:
    assert "is not a node home" in fails(1, "serve", "--home", tmp_path).stderr


def test_init_puts_metrics_on_loopback_at_the_listen_port_plus_1000(
    tmp_path: Path, certs: Path
) -> None:
    doc = json.loads(ok(*_init(tmp_path / "a", certs, "chengdu", "--json")).stdout)
    assert doc["metrics_listen"] == "127.0.0.1:8001"
    assert NodeConfig.load(tmp_path / "a").metrics_listen == "127.0.0.1:8001"
    off = tmp_path / "off"
    ok(*_init(off, certs, "chengdu", "--metrics-listen", ""))
    assert NodeConfig.load(off).metrics_listen == ""
    other = tmp_path / "other"
    ok(*_init(other, certs, "chengdu", "--metrics-listen", "10.1.2.3:9403"))
    assert NodeConfig.load(other).metrics_listen == "10.1.2.3:9403"


@pytest.mark.parametrize(
    ("listen", "metrics"),
    [("127.0.0.1:7401", "127.0.0.1:8401"), ("0.0.0.0:0", "127.0.0.1:0"),
     ("[::]:65000", "127.0.0.1:0")],
)  # fmt: skip
def test_the_default_metrics_address(listen: str, metrics: str) -> None:
    assert default_metrics_listen(listen) == metrics


def test_init_refuses_a_bad_metrics_address(tmp_path: Path, certs: Path) -> None:
    bad = fails(2, *_init(tmp_path / "home", certs, "chengdu", "--metrics-listen", "9403"))
    assert "--metrics-listen" in bad.stderr and "HOST:PORT" in bad.stderr
    assert not (tmp_path / "home").exists()
