"""node/identity/keyfiles.py: loading a node's own key and credential files."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.identity.ca import IssuedPaths, issue_node
from node.identity.errors import PkiError
from node.identity.keyfiles import load_log_signing_key, tls_credentials_files
from tests.unit.identity.support import NOW


def test_log_signing_key_must_match_its_certificate(
    ca_dir: Path, node: IssuedPaths, tmp_path: Path
) -> None:
    other = issue_node(ca_dir, "chongqing", tmp_path / "chongqing", now=NOW)
    assert node.log_key is not None and other.log_cert is not None
    with pytest.raises(PkiError, match="does not match"):
        load_log_signing_key(node.log_key, cert_path=other.log_cert)
    with pytest.raises(PkiError, match="must be Ed25519"):
        load_log_signing_key(node.tls_key)


def test_tls_credentials_files(node: IssuedPaths) -> None:
    key_pem, cert_pem, ca_pem = tls_credentials_files(node.dir)
    assert key_pem == node.tls_key.read_bytes()
    assert cert_pem == node.tls_cert.read_bytes()
    assert ca_pem == node.ca.read_bytes()
    with pytest.raises(PkiError, match="cannot read"):
        tls_credentials_files(node.dir / "missing")
