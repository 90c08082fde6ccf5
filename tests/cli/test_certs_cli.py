"""``ccnode certs`` through click's CliRunner: success paths, refusals, --json output."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from cryptography import x509

from cli.certs import certs
from node.identity.ca import fingerprint_sha256, is_revoked, load_ca
from node.identity.keyfiles import load_certificate


@click.group()
def ccnode() -> None:
    """Stand-in for cli/main.py, which registers ``certs`` the same way."""


ccnode.add_command(certs)


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(ccnode, ["certs", *map(str, args)])


def ok(*args: str | Path) -> Result:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result


def fails(exit_code: int, *args: str | Path) -> str:
    result = run(*args)
    assert result.exit_code == exit_code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    return result.stderr


@pytest.fixture
def ca(tmp_path: Path) -> Path:
    ok("init-ca", "--dir", tmp_path / "ca")
    return tmp_path / "ca"


@pytest.fixture
def node_dir(ca: Path, tmp_path: Path) -> Path:
    ok("issue", "--ca", ca, "--node-id", "chengdu", "--out", tmp_path / "chengdu")
    return tmp_path / "chengdu"


def test_init_ca_json(tmp_path: Path) -> None:
    result = ok("init-ca", "--dir", tmp_path / "ca", "--trust-domain", "test.court", "--json")
    doc = json.loads(result.stdout)
    assert doc["trust_domain"] == "test.court"
    assert Path(doc["files"]["key"]).exists()
    assert stat.S_IMODE(Path(doc["files"]["key"]).stat().st_mode) == 0o600
    assert load_ca(tmp_path / "ca").trust_domain == "test.court"


def test_init_ca_human_output_and_refusal_to_overwrite(tmp_path: Path) -> None:
    assert "chengyu.court" in ok("init-ca", "--dir", tmp_path / "ca").stdout
    err = fails(1, "init-ca", "--dir", tmp_path / "ca")
    assert "refusing to overwrite an existing CA" in err


def test_init_ca_rejects_a_bad_trust_domain(tmp_path: Path) -> None:
    assert "trust_domain:" in fails(1, "init-ca", "--dir", tmp_path / "ca", "--trust-domain", "X")


def test_issue_node_json(ca: Path, tmp_path: Path) -> None:
    out = tmp_path / "cq"
    result = ok(
        "issue", "--ca", ca, "--node-id", "chongqing", "--out", out,
        "--ip", "127.0.0.1", "--ip", "10.1.2.3", "--dns", "cq.example", "--days", "30", "--json",
    )  # fmt: skip
    doc = json.loads(result.stdout)
    assert doc["identity"] == {
        "trust_domain": "chengyu.court",
        "role": "node",
        "name": "chongqing",
        "uri": "spiffe://chengyu.court/node/chongqing",
    }
    assert set(doc["files"]) == {"ca", "tls_cert", "tls_key", "log_cert", "log_key"}
    assert sorted(p.name for p in out.iterdir()) == [
        "ca.pem", "log.key", "log.pem", "tls.key", "tls.pem",
    ]  # fmt: skip
    tls = load_certificate(out / "tls.pem")
    assert (
        len(tls.extensions.get_extension_for_class(x509.SubjectAlternativeName).value) == 5
    )  # URI, <id>.node.<td>, --dns, two --ip
    assert (tls.not_valid_after_utc - tls.not_valid_before_utc).days == 30


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_issue_auditor_and_admin(ca: Path, tmp_path: Path, role: str) -> None:
    result = ok("issue", "--ca", ca, f"--{role}", "ops-1", "--out", tmp_path / role)
    assert f"spiffe://chengyu.court/{role}/ops-1" in result.stdout
    assert sorted(p.name for p in (tmp_path / role).iterdir()) == ["ca.pem", "tls.key", "tls.pem"]


@pytest.mark.parametrize(
    "roles",
    [[], ["--node-id", "a", "--auditor", "b"], ["--auditor", "a", "--admin", "b"]],
    ids=["none", "node+auditor", "auditor+admin"],
)
def test_issue_needs_exactly_one_role(ca: Path, tmp_path: Path, roles: list[str]) -> None:
    err = fails(2, "issue", "--ca", ca, "--out", tmp_path / "x", *roles)
    assert "exactly one of --node-id, --auditor, --admin" in err
    assert not (tmp_path / "x").exists()


def test_ip_and_dns_are_for_nodes_only(ca: Path, tmp_path: Path) -> None:
    err = fails(2, "issue", "--ca", ca, "--auditor", "a", "--out", tmp_path / "x", "--ip", "::1")
    assert "--ip and --dns apply to --node-id only" in err


def test_issue_refuses_a_bad_node_id_naming_the_field(ca: Path, tmp_path: Path) -> None:
    err = fails(1, "issue", "--ca", ca, "--node-id", "Zhang_San", "--out", tmp_path / "x")
    assert "node_id: must match" in err
    assert "Zhang_San" not in err


def test_issue_refuses_a_bad_ip(ca: Path, tmp_path: Path) -> None:
    err = fails(1, "issue", "--ca", ca, "--node-id", "a", "--out", tmp_path / "x", "--ip", "nope")
    assert "ips[0]" in err


def test_issue_refuses_to_overwrite_without_force(ca: Path, node_dir: Path) -> None:
    before = (node_dir / "tls.key").read_bytes()
    err = fails(1, "issue", "--ca", ca, "--node-id", "chengdu", "--out", node_dir)
    assert "refusing to overwrite" in err and "--force" in err
    assert (node_dir / "tls.key").read_bytes() == before
    ok("issue", "--ca", ca, "--node-id", "chengdu", "--out", node_dir, "--force")
    assert (node_dir / "tls.key").read_bytes() != before


def test_issue_from_a_directory_that_is_not_a_ca(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    err = fails(1, "issue", "--ca", tmp_path / "empty", "--node-id", "a", "--out", tmp_path / "x")
    assert "is not a CA directory" in err


def test_show_human_and_json(node_dir: Path) -> None:
    text = ok("show", node_dir / "tls.pem").stdout
    assert "spiffe://chengyu.court/node/chengdu" in text
    assert "serverAuth, clientAuth" in text
    assert "revoked" not in text  # only reported with --ca

    doc = json.loads(ok("show", node_dir / "log.pem", "--json").stdout)
    assert doc["identity"]["role"] == "node"
    assert doc["key_type"] == "ed25519"
    assert doc["extended_key_usage"] == ["documentSigning"]
    assert doc["revoked"] is None and doc["issued_by_ca"] is None
    cert = load_certificate(node_dir / "log.pem")
    assert doc["fingerprint_sha256"] == fingerprint_sha256(cert)
    assert int(doc["serial"], 16) == cert.serial_number
    assert doc["not_after"] == cert.not_valid_after_utc.isoformat()


def test_revoke_then_show_reports_revoked(ca: Path, node_dir: Path) -> None:
    before = json.loads(ok("show", node_dir / "tls.pem", "--ca", ca, "--json").stdout)
    assert before["revoked"] is False and before["issued_by_ca"] is True

    out = ok("revoke", "--ca", ca, "--reason", "key_compromise", node_dir / "tls.pem").stdout
    assert out.startswith("revoked")
    assert "already revoked" in ok("revoke", "--ca", ca, node_dir / "tls.pem").stdout

    after = json.loads(ok("show", node_dir / "tls.pem", "--ca", ca, "--json").stdout)
    assert after["revoked"] is True
    assert "revoked       True" in ok("show", node_dir / "tls.pem", "--ca", ca).stdout
    log_doc = json.loads(ok("show", node_dir / "log.pem", "--ca", ca, "--json").stdout)
    assert log_doc["revoked"] is False


def test_revoke_several_files_at_once(ca: Path, node_dir: Path) -> None:
    ok("revoke", "--ca", ca, node_dir / "tls.pem", node_dir / "log.pem")
    for name in ("tls.pem", "log.pem"):
        assert is_revoked(ca, load_certificate(node_dir / name))


def test_revoke_refuses_a_certificate_of_another_ca(ca: Path, tmp_path: Path) -> None:
    ok("init-ca", "--dir", tmp_path / "rogue")
    ok("issue", "--ca", tmp_path / "rogue", "--node-id", "x", "--out", tmp_path / "x")
    assert "was not issued by the CA" in fails(1, "revoke", "--ca", ca, tmp_path / "x" / "tls.pem")


def test_revoke_refuses_an_unknown_reason(ca: Path, node_dir: Path) -> None:
    fails(2, "revoke", "--ca", ca, "--reason", "certificate_hold", node_dir / "tls.pem")


def test_show_against_another_trust_domain(tmp_path: Path, node_dir: Path) -> None:
    ok("init-ca", "--dir", tmp_path / "other", "--trust-domain", "other.court")
    doc = json.loads(ok("show", node_dir / "tls.pem", "--ca", tmp_path / "other", "--json").stdout)
    assert doc["identity"] is None
    assert doc["identity_error"].startswith("wrong_trust_domain")
    assert doc["issued_by_ca"] is False


def test_show_refuses_a_file_that_is_not_a_certificate(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("hello")
    assert "is not a PEM or DER X.509 certificate" in fails(1, "show", junk)
    fails(2, "show", tmp_path / "missing.pem")  # click's own "does not exist"


def test_refresh_crl(ca: Path) -> None:
    before = (ca / "crl.pem").read_bytes()
    assert "re-signed" in ok("refresh-crl", "--ca", ca, "--days", "7").stdout
    assert (ca / "crl.pem").read_bytes() != before


def test_court_prefixes_are_written_into_the_log_certificate_and_shown(
    ca: Path, tmp_path: Path, node_dir: Path
) -> None:
    out = tmp_path / "cq"
    ok("issue", "--ca", ca, "--node-id", "chongqing", "--out", out, "--court-prefix", "渝01")
    ok(
        "issue",
        "--ca",
        ca,
        "--node-id",
        "wanzhou",
        "--out",
        tmp_path / "wz",
        "--court-prefix",
        "渝",
    )
    assert json.loads(ok("show", out / "log.pem", "--json").stdout)["court_prefixes"] == ["渝01"]
    assert "court prefixes  渝01" in ok("show", out / "log.pem").stdout
    # Without --court-prefix the node serves no court; a TLS certificate names none at all.
    assert json.loads(ok("show", node_dir / "log.pem", "--json").stdout)["court_prefixes"] == []
    assert json.loads(ok("show", out / "tls.pem", "--json").stdout)["court_prefixes"] is None


def test_court_prefixes_are_checked_and_for_nodes_only(ca: Path, tmp_path: Path) -> None:
    err = fails(
        1,
        "issue",
        "--ca",
        ca,
        "--node-id",
        "c",
        "--out",
        tmp_path / "x",
        "--court-prefix",
        "Sichuan",
    )
    assert "court_prefixes[0]: must be a court code prefix" in err
    assert "Sichuan" not in err
    err = fails(
        2, "issue", "--ca", ca, "--auditor", "a", "--out", tmp_path / "y", "--court-prefix", "川01"
    )
    assert "--court-prefix applies to --node-id only" in err
