"""Checking log-signing certificates with the CA certificate alone (node.identity.audit_trust)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from node.identity.audit_trust import CaBundleError, certificate_check, load_cas
from node.identity.ca import init_ca, issue_node
from node.identity.keyfiles import load_certificate, load_log_cert_public_key

TD = "chengyu.court"


@pytest.fixture(scope="module")
def pkis(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pki")
    init_ca(root / "ca", TD)
    init_ca(root / "other", TD)
    issue_node(root / "ca", "chengdu", root / "chengdu")
    issue_node(root / "other", "chengdu", root / "stranger")
    return root


def _pem(path: Path) -> str:
    return load_certificate(path).public_bytes(Encoding.PEM).decode()


def test_a_log_certificate_of_the_ca_certifies_its_key(pkis: Path) -> None:
    check = certificate_check(load_cas(pkis / "ca" / "ca.pem"), TD)
    raw = check("chengdu", _pem(pkis / "chengdu" / "log.pem"))
    assert raw == load_log_cert_public_key(pkis / "chengdu" / "log.pem")


@pytest.mark.parametrize(
    ("node", "file", "reason"),
    [
        ("chengdu", "stranger/log.pem", "not issued by the CA"),
        ("chengdu", "chengdu/tls.pem", "not a log-signing certificate"),
        ("chongqing", "chengdu/log.pem", "the certificate names node chengdu"),
    ],
)
def test_other_certificates_are_refused(pkis: Path, node: str, file: str, reason: str) -> None:
    check = certificate_check(load_cas(pkis / "ca" / "ca.pem"), TD)
    with pytest.raises(ValueError, match=reason):
        check(node, _pem(pkis / file))


def test_a_non_canonical_or_broken_pem_is_refused(pkis: Path) -> None:
    check = certificate_check(load_cas(pkis / "ca" / "ca.pem"), TD)
    pem = _pem(pkis / "chengdu" / "log.pem")
    with pytest.raises(ValueError, match="canonical"):
        check("chengdu", pem + "\n")
    with pytest.raises(ValueError, match="not a PEM certificate"):
        check("chengdu", pem.replace("BEGIN", "BEGAN"))


def test_the_ca_file_must_hold_ca_certificates(pkis: Path) -> None:
    with pytest.raises(CaBundleError, match="not a CA"):
        load_cas(pkis / "chengdu" / "log.pem")
    with pytest.raises(CaBundleError, match="cannot read"):
        load_cas(pkis / "missing.pem")
