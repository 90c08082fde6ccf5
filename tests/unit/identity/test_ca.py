"""node/identity/ca.py: minting a CA, certificate profiles of what it issues, revocation."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID

from node.identity.ca import (
    CaPaths,
    IssuedPaths,
    init_ca,
    is_revoked,
    issue_admin,
    issue_auditor,
    issue_node,
    load_ca,
    refresh_crl,
    revoke,
)
from node.identity.errors import PkiError
from node.identity.keyfiles import load_certificate, load_log_cert_public_key, load_log_signing_key
from node.identity.spiffe import EKU_DOCUMENT_SIGNING, Identity, Role, cert_uris, log_cert_identity
from tests.unit.identity.support import NOW, TD, ext, mode

# ---------------------------------------------------------------- the CA


def test_init_ca_writes_a_ca_a_private_key_an_empty_crl_and_state(ca_dir: Path) -> None:
    paths = CaPaths.of(ca_dir)
    assert mode(paths.key) == 0o600
    ca = load_certificate(paths.cert)
    bc = ext(ca, x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    ku = ext(ca, x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign
    assert not ku.value.digital_signature
    assert ext(ca, x509.SubjectKeyIdentifier).value.digest
    ca_key = ca.public_key()
    assert isinstance(ca_key, ec.EllipticCurvePublicKey) and ca_key.curve.name == "secp256r1"
    assert ca.not_valid_after_utc - NOW == dt.timedelta(days=3650)
    ca.verify_directly_issued_by(ca)

    crl = x509.load_pem_x509_crl(paths.crl.read_bytes())
    assert len(crl) == 0
    assert crl.is_signature_valid(ca_key)
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 1
    assert crl.next_update_utc == NOW + dt.timedelta(days=30)

    loaded = load_ca(ca_dir)
    assert loaded.trust_domain == TD


def test_init_ca_refuses_to_overwrite_an_existing_ca(ca_dir: Path) -> None:
    before = (ca_dir / "ca.key").read_bytes()
    with pytest.raises(PkiError, match="refusing to overwrite an existing CA"):
        init_ca(ca_dir, now=NOW)
    assert (ca_dir / "ca.key").read_bytes() == before


@pytest.mark.parametrize("td", ["", "Chengyu.court", "chengyu court", "a/b", "td:443"])
def test_init_ca_rejects_a_malformed_trust_domain(tmp_path: Path, td: str) -> None:
    with pytest.raises(PkiError, match=r"^trust_domain: "):
        init_ca(tmp_path / "ca", trust_domain=td, now=NOW)
    assert not (tmp_path / "ca" / "ca.key").exists()


# ---------------------------------------------------------------- issuing


def test_node_tls_certificate_profile(ca_dir: Path, node: IssuedPaths) -> None:
    cert = load_certificate(node.tls_cert)
    cert.verify_directly_issued_by(load_certificate(ca_dir / "ca.pem"))
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    san = ext(cert, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [
        "spiffe://chengyu.court/node/chengdu"
    ]
    assert san.get_values_for_type(x509.DNSName) == ["chengdu.node.chengyu.court", "localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert list(ext(cert, x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.CLIENT_AUTH,
    ]
    ku = ext(cert, x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.key_agreement
    assert not ku.value.key_cert_sign
    assert ext(cert, x509.BasicConstraints).value.ca is False
    assert cert.not_valid_after_utc - NOW == dt.timedelta(days=365)


def test_node_log_signing_certificate_profile(node: IssuedPaths) -> None:
    assert node.log_cert is not None and node.log_key is not None
    cert = load_certificate(node.log_cert)
    assert isinstance(cert.public_key(), ed25519.Ed25519PublicKey)
    san = ext(cert, x509.SubjectAlternativeName).value
    assert list(san) == [x509.UniformResourceIdentifier("spiffe://chengyu.court/node/chengdu")]
    ku = ext(cert, x509.KeyUsage).value
    assert ku.digital_signature and not ku.key_agreement and not ku.key_cert_sign
    assert list(ext(cert, x509.ExtendedKeyUsage).value) == [EKU_DOCUMENT_SIGNING]
    assert log_cert_identity(cert, TD) == Identity(
        TD, "node", "chengdu", "spiffe://chengyu.court/node/chengdu"
    )

    key = load_log_signing_key(node.log_key, cert_path=node.log_cert)
    raw = load_log_cert_public_key(node.log_cert)
    assert len(raw) == 32
    ed25519.Ed25519PublicKey.from_public_bytes(raw).verify(key.sign(b"checkpoint"), b"checkpoint")


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditor_and_admin_get_a_tls_client_certificate_only(
    ca_dir: Path, tmp_path: Path, role: Role
) -> None:
    issue = issue_auditor if role == "auditor" else issue_admin
    issued = issue(ca_dir, "ops-1", tmp_path / role, now=NOW)
    assert issued.log_cert is None and issued.log_key is None
    assert sorted(p.name for p in (tmp_path / role).iterdir()) == ["ca.pem", "tls.key", "tls.pem"]
    cert = load_certificate(issued.tls_cert)
    assert cert_uris(cert) == [f"spiffe://chengyu.court/{role}/ops-1"]
    assert list(ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert issued.identity == Identity(TD, role, "ops-1", f"spiffe://chengyu.court/{role}/ops-1")


def test_private_keys_are_written_0600_and_ca_pem_is_a_copy(
    ca_dir: Path, node: IssuedPaths, tmp_path: Path
) -> None:
    auditor = issue_auditor(ca_dir, "audit-1", tmp_path / "audit", now=NOW)
    for key in (node.tls_key, node.log_key, auditor.tls_key):
        assert key is not None and mode(key) == 0o600
    assert node.ca.read_bytes() == (ca_dir / "ca.pem").read_bytes()
    # No temporary files left behind by the atomic writes.
    assert not [p for p in node.dir.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("bad", ["", "-lead", "Chengdu", "a_b", "a/b", "a" * 64, "成都"])
@pytest.mark.parametrize(
    ("field", "issue"),
    [
        ("node_id", issue_node),
        ("auditor", issue_auditor),
        ("admin", issue_admin),
    ],
)
def test_malformed_names_are_refused_naming_the_field_not_the_value(
    ca_dir: Path, tmp_path: Path, bad: str, field: str, issue: Callable[..., IssuedPaths]
) -> None:
    with pytest.raises(PkiError) as e:
        issue(ca_dir, bad, tmp_path / "out", now=NOW)
    assert str(e.value).startswith(f"{field}: must match")
    if bad:
        assert bad not in str(e.value)
    assert not (tmp_path / "out").exists()


def test_the_longest_name_is_accepted(ca_dir: Path, tmp_path: Path) -> None:
    name = "a" + "-" * 61 + "z"
    assert issue_node(ca_dir, name, tmp_path / "n", now=NOW).identity.name == name


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"ips": ("10.0.0.300",)}, "ips[0]"),
        ({"ips": ("127.0.0.1", "host")}, "ips[1]"),
        ({"dns": ("Bad_Name",)}, "dns[0]"),
        ({"dns": ("-x.example",)}, "dns[0]"),
        ({"ips": "127.0.0.1"}, "ips, dns"),
    ],
)
def test_malformed_sans_are_refused(
    ca_dir: Path, tmp_path: Path, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(PkiError, match="^" + re.escape(field)):
        issue_node(ca_dir, "chengdu", tmp_path / "n", now=NOW, **kwargs)


def test_issue_refuses_to_overwrite_unless_asked(
    ca_dir: Path, node: IssuedPaths, tmp_path: Path
) -> None:
    before = node.tls_key.read_bytes()
    with pytest.raises(PkiError, match="refusing to overwrite"):
        issue_node(ca_dir, "chengdu", node.dir, now=NOW)
    assert node.tls_key.read_bytes() == before
    issue_node(ca_dir, "chengdu", node.dir, now=NOW, overwrite=True)
    assert node.tls_key.read_bytes() != before
    assert mode(node.tls_key) == 0o600


def test_a_leaf_never_outlives_its_ca(tmp_path: Path) -> None:
    init_ca(tmp_path / "ca", now=NOW, days=100)
    issued = issue_node(tmp_path / "ca", "chengdu", tmp_path / "n", now=NOW, days=365)
    ca = load_certificate(tmp_path / "ca" / "ca.pem")
    assert load_certificate(issued.tls_cert).not_valid_after_utc == ca.not_valid_after_utc


def test_issuing_outside_the_ca_validity_is_refused(ca_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(PkiError, match="not valid at the issuing time"):
        issue_node(ca_dir, "chengdu", tmp_path / "n", now=NOW - dt.timedelta(days=1))


def test_naive_datetimes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^now: "):
        init_ca(tmp_path / "ca", now=dt.datetime(2030, 1, 1))


# ---------------------------------------------------------------- revocation


def test_revoke_keeps_previous_revocations_and_bumps_the_crl_number(
    ca_dir: Path, node: IssuedPaths
) -> None:
    assert node.log_cert is not None
    later = NOW + dt.timedelta(days=2)
    revoke(ca_dir, node.tls_cert, "key_compromise", now=NOW)
    revoke(ca_dir, node.log_cert, now=later)
    revoke(ca_dir, node.log_cert, now=later)  # already revoked: no change
    crl = x509.load_pem_x509_crl((ca_dir / "crl.pem").read_bytes())
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 3
    assert crl.next_update_utc == later + dt.timedelta(days=30)
    tls = crl.get_revoked_certificate_by_serial_number(
        load_certificate(node.tls_cert).serial_number
    )
    assert tls is not None
    assert (
        tls.extensions.get_extension_for_class(x509.CRLReason).value.reason
        == x509.ReasonFlags.key_compromise
    )
    log = crl.get_revoked_certificate_by_serial_number(
        load_certificate(node.log_cert).serial_number
    )
    assert log is not None and log.revocation_date_utc == later
    assert len(crl) == 2
    assert is_revoked(ca_dir, load_certificate(node.tls_cert))


def test_refresh_crl_keeps_entries_and_moves_next_update(ca_dir: Path, node: IssuedPaths) -> None:
    revoke(ca_dir, node.tls_cert, now=NOW)
    later = NOW + dt.timedelta(days=20)
    refresh_crl(ca_dir, now=later)
    crl = x509.load_pem_x509_crl((ca_dir / "crl.pem").read_bytes())
    assert len(crl) == 1
    assert crl.next_update_utc == later + dt.timedelta(days=30)
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 3


def test_revoke_refuses_a_certificate_of_another_ca(ca_dir: Path, tmp_path: Path) -> None:
    init_ca(tmp_path / "rogue", now=NOW)
    rogue = issue_node(tmp_path / "rogue", "chengdu", tmp_path / "r", now=NOW)
    with pytest.raises(PkiError, match="was not issued by the CA"):
        revoke(ca_dir, rogue.tls_cert, now=NOW)


def test_revoke_refuses_an_unknown_reason(ca_dir: Path, node: IssuedPaths) -> None:
    with pytest.raises(PkiError, match=r"^reason: "):
        revoke(ca_dir, node.tls_cert, "remove_from_crl", now=NOW)
