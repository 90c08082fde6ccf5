"""Court prefixes in the log-signing certificate (node/identity/court_authority.py) and how
OriginKeys learns them with the origin's key."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from node.identity.ca import issue_node, load_ca
from node.identity.court_authority import (
    COURT_PREFIXES_OID,
    court_prefixes_of,
    decode_court_prefixes,
    encode_court_prefixes,
)
from node.identity.errors import IdentityError, PkiError
from node.identity.keyfiles import load_certificate
from node.identity.origin_keys import OriginKeys
from node.store import MemoryStore
from tests.unit.identity.support import NOW, TD, Clock, der, store


class _WallClock:
    def now_ms(self) -> int:
        return int(NOW.timestamp() * 1000)

    def monotonic_s(self) -> float:
        return 0.0


def test_prefixes_round_trip_as_der_sequence_of_utf8_strings() -> None:
    value = encode_court_prefixes(["川01", "渝"])
    assert value == b"\x30\x0c\x0c\x05" + "川01".encode() + b"\x0c\x03" + "渝".encode()
    assert decode_court_prefixes(value) == ("川01", "渝")
    assert decode_court_prefixes(encode_court_prefixes([])) == ()
    # A body over 127 bytes: long-form length (京: outside the court-code register, any code).
    many = [f"京{n:02d}" for n in range(40)]
    assert decode_court_prefixes(encode_court_prefixes(many)) == tuple(many)


def test_a_certificate_is_issued_only_for_registered_courts() -> None:
    with pytest.raises(PkiError, match=r"court_prefixes\[1\]: no court of the court-code register"):
        encode_court_prefixes(["川01", "川02"])


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"\x31\x00",  # a SET, not a SEQUENCE
        b"\x30\x02\x13\x00",  # a PrintableString
        b"\x30\x03\x0c\x01A",  # not a court prefix
        b"\x30\x05\x0c\x03" + "渝".encode() + b"\x00",  # trailing bytes
        b"\x30\x81\x05\x0c\x03" + "渝".encode(),  # non-minimal length
        b"\x30\x06\x0c\x04" + "渝".encode(),  # truncated
    ],
)
def test_a_malformed_value_is_refused(value: bytes) -> None:
    with pytest.raises(ValueError):
        decode_court_prefixes(value)


@pytest.mark.parametrize("prefixes", [["Sichuan"], ["川01041"], ["川01", ""], "川01"])
def test_issuing_refuses_what_is_not_a_court_prefix(
    ca_dir: Path, tmp_path: Path, prefixes: list[str]
) -> None:
    with pytest.raises(PkiError, match="court_prefixes"):
        issue_node(ca_dir, "chengdu", tmp_path / "n", court_prefixes=prefixes, now=NOW)


def test_the_log_certificate_carries_the_prefixes_and_the_tls_certificate_not(
    ca_dir: Path, tmp_path: Path
) -> None:
    issued = issue_node(
        ca_dir, "chengdu", tmp_path / "n", court_prefixes=["川01", "川01", "川07"], now=NOW
    )
    assert issued.log_cert is not None
    log_cert = load_certificate(issued.log_cert)
    assert court_prefixes_of(log_cert) == ("川01", "川07")  # duplicates dropped
    assert not log_cert.extensions.get_extension_for_oid(COURT_PREFIXES_OID).critical
    with pytest.raises(x509.ExtensionNotFound):
        load_certificate(issued.tls_cert).extensions.get_extension_for_oid(COURT_PREFIXES_OID)


def test_a_certificate_without_the_extension_serves_no_court(ca_dir: Path, tmp_path: Path) -> None:
    issued = issue_node(ca_dir, "chengdu", tmp_path / "n", now=NOW)
    assert issued.log_cert is not None
    assert court_prefixes_of(load_certificate(issued.log_cert)) == ()


def test_origin_keys_learn_the_prefixes_with_the_key(
    ca_dir: Path, tmp_path: Path, clock: Clock
) -> None:
    chengdu = issue_node(ca_dir, "chengdu", tmp_path / "a", court_prefixes=["川01"], now=NOW)
    evil = issue_node(ca_dir, "evil", tmp_path / "b", now=NOW)
    assert chengdu.log_cert is not None and evil.log_cert is not None
    keys = OriginKeys(
        trust=store(ca_dir, clock), trust_domain=TD, store=MemoryStore(), clock=_WallClock()
    )
    assert keys.learn("chengdu", der(chengdu.log_cert))
    assert keys.learn("evil", der(evil.log_cert))
    assert (keys.courts("chengdu"), keys.courts("evil"), keys.courts("nobody")) == (
        ("川01",),
        (),
        (),
    )


def test_a_malformed_extension_is_an_identity_error(ca_dir: Path, tmp_path: Path) -> None:
    issued = issue_node(ca_dir, "chengdu", tmp_path / "n", now=NOW)
    assert issued.log_cert is not None
    cert = load_certificate(issued.log_cert)
    bad = x509.UnrecognizedExtension(COURT_PREFIXES_OID, b"\x30\x03\x0c\x01A")
    forged = _with_extension(cert, bad, ca_dir)
    with pytest.raises(IdentityError, match="court prefixes"):
        court_prefixes_of(forged)


def _with_extension(
    cert: x509.Certificate, extension: x509.UnrecognizedExtension, ca_dir: Path
) -> x509.Certificate:
    ca = load_ca(ca_dir)
    builder = (
        x509.CertificateBuilder()
        .subject_name(cert.subject)
        .issuer_name(cert.issuer)
        .public_key(cert.public_key())  # type: ignore[arg-type]
        .serial_number(cert.serial_number)
        .not_valid_before(cert.not_valid_before_utc)
        .not_valid_after(cert.not_valid_after_utc)
        .add_extension(extension, critical=False)
    )
    return builder.sign(ca.key, hashes.SHA256())
