"""node/identity/pki.py: a throwaway CA per test, certificate profiles, identities, trust."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from node.identity import pki

E = TypeVar("E", bound=x509.ExtensionType)
NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
TD = "chengyu.court"


def der(path: Path) -> bytes:
    return pki.load_certificate(path).public_bytes(serialization.Encoding.DER)


def ext(cert: x509.Certificate, cls: type[E]) -> x509.Extension[E]:
    return cert.extensions.get_extension_for_class(cls)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class Clock:
    """Injected monotonic clock: tests move time, never sleep."""

    def __init__(self) -> None:
        self.t_s = 0.0

    def __call__(self) -> float:
        return self.t_s


@pytest.fixture
def ca_dir(tmp_path: Path) -> Path:
    pki.init_ca(tmp_path / "ca", now=NOW)
    return tmp_path / "ca"


@pytest.fixture
def node(ca_dir: Path, tmp_path: Path) -> pki.IssuedPaths:
    return pki.issue_node(
        ca_dir,
        "chengdu",
        tmp_path / "chengdu",
        ips=("127.0.0.1", "::1"),
        dns=("localhost",),
        now=NOW,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


def store(ca_dir: Path, clock: Clock, bundle: Path | None = None) -> pki.TrustStore:
    return pki.TrustStore(
        bundle or ca_dir / "ca.pem", [ca_dir / "crl.pem"], trust_domain=TD, monotonic=clock
    )


def mint(
    ca_dir: Path,
    sans: Sequence[x509.GeneralName] | None,
    *,
    ekus: tuple[x509.ObjectIdentifier, ...] = (ExtendedKeyUsageOID.CLIENT_AUTH,),
) -> bytes:
    """A leaf signed by the test CA with arbitrary SANs (what issue_* never produces)."""
    ca = pki.load_ca(ca_dir)
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "crafted")]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(ekus)), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if sans is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def refused(ts: pki.TrustStore, cert_der: bytes, now: dt.datetime = NOW) -> str:
    with pytest.raises(pki.IdentityError) as e:
        ts.check(cert_der, now)
    return e.value.reason


# ---------------------------------------------------------------- the CA


def test_init_ca_writes_a_ca_a_private_key_an_empty_crl_and_state(ca_dir: Path) -> None:
    paths = pki.CaPaths.of(ca_dir)
    assert mode(paths.key) == 0o600
    ca = pki.load_certificate(paths.cert)
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

    loaded = pki.load_ca(ca_dir)
    assert loaded.trust_domain == TD


def test_init_ca_refuses_to_overwrite_an_existing_ca(ca_dir: Path) -> None:
    before = (ca_dir / "ca.key").read_bytes()
    with pytest.raises(pki.PkiError, match="refusing to overwrite an existing CA"):
        pki.init_ca(ca_dir, now=NOW)
    assert (ca_dir / "ca.key").read_bytes() == before


@pytest.mark.parametrize("td", ["", "Chengyu.court", "chengyu court", "a/b", "td:443"])
def test_init_ca_rejects_a_malformed_trust_domain(tmp_path: Path, td: str) -> None:
    with pytest.raises(pki.PkiError, match=r"^trust_domain: "):
        pki.init_ca(tmp_path / "ca", trust_domain=td, now=NOW)
    assert not (tmp_path / "ca" / "ca.key").exists()


# ---------------------------------------------------------------- issuing


def test_node_tls_certificate_profile(ca_dir: Path, node: pki.IssuedPaths) -> None:
    cert = pki.load_certificate(node.tls_cert)
    cert.verify_directly_issued_by(pki.load_certificate(ca_dir / "ca.pem"))
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


def test_node_log_signing_certificate_profile(node: pki.IssuedPaths) -> None:
    assert node.log_cert is not None and node.log_key is not None
    cert = pki.load_certificate(node.log_cert)
    assert isinstance(cert.public_key(), ed25519.Ed25519PublicKey)
    san = ext(cert, x509.SubjectAlternativeName).value
    assert list(san) == [x509.UniformResourceIdentifier("spiffe://chengyu.court/node/chengdu")]
    ku = ext(cert, x509.KeyUsage).value
    assert ku.digital_signature and not ku.key_agreement and not ku.key_cert_sign
    assert list(ext(cert, x509.ExtendedKeyUsage).value) == [pki.EKU_DOCUMENT_SIGNING]
    assert pki.log_cert_identity(cert, TD) == pki.Identity(
        TD, "node", "chengdu", "spiffe://chengyu.court/node/chengdu"
    )

    key = pki.load_log_signing_key(node.log_key, cert_path=node.log_cert)
    raw = pki.load_log_cert_public_key(node.log_cert)
    assert len(raw) == 32
    ed25519.Ed25519PublicKey.from_public_bytes(raw).verify(key.sign(b"checkpoint"), b"checkpoint")


def test_log_signing_key_must_match_its_certificate(
    ca_dir: Path, node: pki.IssuedPaths, tmp_path: Path
) -> None:
    other = pki.issue_node(ca_dir, "chongqing", tmp_path / "chongqing", now=NOW)
    assert node.log_key is not None and other.log_cert is not None
    with pytest.raises(pki.PkiError, match="does not match"):
        pki.load_log_signing_key(node.log_key, cert_path=other.log_cert)
    with pytest.raises(pki.PkiError, match="must be Ed25519"):
        pki.load_log_signing_key(node.tls_key)


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditor_and_admin_get_a_tls_client_certificate_only(
    ca_dir: Path, tmp_path: Path, role: pki.Role
) -> None:
    issue = pki.issue_auditor if role == "auditor" else pki.issue_admin
    issued = issue(ca_dir, "ops-1", tmp_path / role, now=NOW)
    assert issued.log_cert is None and issued.log_key is None
    assert sorted(p.name for p in (tmp_path / role).iterdir()) == ["ca.pem", "tls.key", "tls.pem"]
    cert = pki.load_certificate(issued.tls_cert)
    assert pki.cert_uris(cert) == [f"spiffe://chengyu.court/{role}/ops-1"]
    assert list(ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert issued.identity == pki.Identity(
        TD, role, "ops-1", f"spiffe://chengyu.court/{role}/ops-1"
    )


def test_private_keys_are_written_0600_and_ca_pem_is_a_copy(
    ca_dir: Path, node: pki.IssuedPaths, tmp_path: Path
) -> None:
    auditor = pki.issue_auditor(ca_dir, "audit-1", tmp_path / "audit", now=NOW)
    for key in (node.tls_key, node.log_key, auditor.tls_key):
        assert key is not None and mode(key) == 0o600
    assert node.ca.read_bytes() == (ca_dir / "ca.pem").read_bytes()
    # No temporary files left behind by the atomic writes.
    assert not [p for p in node.dir.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("bad", ["", "-lead", "Chengdu", "a_b", "a/b", "a" * 64, "成都"])
@pytest.mark.parametrize(
    ("field", "issue"),
    [
        ("node_id", pki.issue_node),
        ("auditor", pki.issue_auditor),
        ("admin", pki.issue_admin),
    ],
)
def test_malformed_names_are_refused_naming_the_field_not_the_value(
    ca_dir: Path, tmp_path: Path, bad: str, field: str, issue: Callable[..., pki.IssuedPaths]
) -> None:
    with pytest.raises(pki.PkiError) as e:
        issue(ca_dir, bad, tmp_path / "out", now=NOW)
    assert str(e.value).startswith(f"{field}: must match")
    if bad:
        assert bad not in str(e.value)
    assert not (tmp_path / "out").exists()


def test_the_longest_name_is_accepted(ca_dir: Path, tmp_path: Path) -> None:
    name = "a" + "-" * 61 + "z"
    assert pki.issue_node(ca_dir, name, tmp_path / "n", now=NOW).identity.name == name


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
    with pytest.raises(pki.PkiError, match="^" + re.escape(field)):
        pki.issue_node(ca_dir, "chengdu", tmp_path / "n", now=NOW, **kwargs)


def test_issue_refuses_to_overwrite_unless_asked(
    ca_dir: Path, node: pki.IssuedPaths, tmp_path: Path
) -> None:
    before = node.tls_key.read_bytes()
    with pytest.raises(pki.PkiError, match="refusing to overwrite"):
        pki.issue_node(ca_dir, "chengdu", node.dir, now=NOW)
    assert node.tls_key.read_bytes() == before
    pki.issue_node(ca_dir, "chengdu", node.dir, now=NOW, overwrite=True)
    assert node.tls_key.read_bytes() != before
    assert mode(node.tls_key) == 0o600


def test_a_leaf_never_outlives_its_ca(tmp_path: Path) -> None:
    pki.init_ca(tmp_path / "ca", now=NOW, days=100)
    issued = pki.issue_node(tmp_path / "ca", "chengdu", tmp_path / "n", now=NOW, days=365)
    ca = pki.load_certificate(tmp_path / "ca" / "ca.pem")
    assert pki.load_certificate(issued.tls_cert).not_valid_after_utc == ca.not_valid_after_utc


def test_issuing_outside_the_ca_validity_is_refused(ca_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(pki.PkiError, match="not valid at the issuing time"):
        pki.issue_node(ca_dir, "chengdu", tmp_path / "n", now=NOW - dt.timedelta(days=1))


def test_naive_datetimes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^now: "):
        pki.init_ca(tmp_path / "ca", now=dt.datetime(2030, 1, 1))


# ---------------------------------------------------------------- identities


def test_identity_from_cert_and_der(node: pki.IssuedPaths) -> None:
    expected = pki.Identity(TD, "node", "chengdu", "spiffe://chengyu.court/node/chengdu")
    assert pki.identity_from_cert(pki.load_certificate(node.tls_cert), TD) == expected
    assert pki.identity_from_der(der(node.tls_cert), TD) == expected


def test_identity_in_another_trust_domain_is_refused(node: pki.IssuedPaths) -> None:
    with pytest.raises(pki.IdentityError) as e:
        pki.identity_from_der(der(node.tls_cert), "other.court")
    assert e.value.reason == "wrong_trust_domain"


def test_identity_from_garbage_der_is_bad_identity() -> None:
    with pytest.raises(pki.IdentityError) as e:
        pki.identity_from_der(b"\x30\x03not a certificate", TD)
    assert e.value.reason == "bad_identity"


@pytest.mark.parametrize(
    "uri",
    [
        "https://chengyu.court/node/chengdu",
        "spiffe://chengyu.court",
        "spiffe://chengyu.court/",
        "spiffe://chengyu.court/node/",
        "spiffe://chengyu.court/node/Chengdu",
        "spiffe://chengyu.court/peer/chengdu",
        "spiffe://chengyu.court/node/chengdu/extra",
        "spiffe://chengyu.court/node/chengdu?x=1",
        "spiffe://chengyu.court/node/chengdu#x",
        "spiffe://Chengyu.court/node/chengdu",
        "spiffe://user@chengyu.court/node/chengdu",
        "spiffe://chengyu.court:443/node/chengdu",
        "spiffe:///node/chengdu",
    ],
)
def test_malformed_spiffe_ids_are_bad_identity(uri: str) -> None:
    with pytest.raises(pki.IdentityError) as e:
        pki.parse_spiffe_id(uri)
    assert e.value.reason == "bad_identity"


@pytest.mark.parametrize("role", ["node", "auditor", "admin"])
def test_spiffe_ids_of_every_role_parse(role: pki.Role) -> None:
    uri = f"spiffe://chengyu.court/{role}/x-1"
    assert pki.parse_spiffe_id(uri) == pki.Identity(TD, role, "x-1", uri)


# ---------------------------------------------------------------- the trust store


def test_trust_store_accepts_every_role(
    ca_dir: Path, node: pki.IssuedPaths, tmp_path: Path, clock: Clock
) -> None:
    auditor = pki.issue_auditor(ca_dir, "audit-1", tmp_path / "a", now=NOW)
    admin = pki.issue_admin(ca_dir, "ops-1", tmp_path / "b", now=NOW)
    ts = store(ca_dir, clock)
    assert ts.check(der(node.tls_cert), NOW).role == "node"
    assert ts.check(der(auditor.tls_cert), NOW) == auditor.identity
    assert ts.check(der(admin.tls_cert), NOW) == admin.identity


def test_a_certificate_of_another_ca_is_unknown_ca(
    ca_dir: Path, tmp_path: Path, clock: Clock
) -> None:
    pki.init_ca(tmp_path / "rogue", now=NOW)  # same trust domain, same subject DN
    rogue = pki.issue_node(tmp_path / "rogue", "chengdu", tmp_path / "r", now=NOW)
    assert refused(store(ca_dir, clock), der(rogue.tls_cert)) == "unknown_ca"


def test_expired_and_not_yet_valid(tmp_path: Path, clock: Clock) -> None:
    past = NOW - dt.timedelta(days=400)
    pki.init_ca(tmp_path / "ca", now=past)
    old = pki.issue_node(tmp_path / "ca", "chengdu", tmp_path / "n", now=past, days=365)
    ts = store(tmp_path / "ca", clock)
    assert refused(ts, der(old.tls_cert), NOW) == "expired"
    assert refused(ts, der(old.tls_cert), past - dt.timedelta(days=1)) == "not_yet_valid"
    assert ts.check(der(old.tls_cert), past + dt.timedelta(days=1)).name == "chengdu"


def test_an_expired_ca_expires_its_leaves(tmp_path: Path, clock: Clock) -> None:
    pki.init_ca(tmp_path / "ca", now=NOW, days=10)
    issued = pki.issue_node(tmp_path / "ca", "chengdu", tmp_path / "n", now=NOW)
    assert (
        refused(store(tmp_path / "ca", clock), der(issued.tls_cert), NOW + dt.timedelta(days=11))
        == "expired"
    )


def test_a_cached_verification_still_expires(
    ca_dir: Path, node: pki.IssuedPaths, clock: Clock
) -> None:
    ts = store(ca_dir, clock)
    cert_der = der(node.tls_cert)
    ts.check(cert_der, NOW)
    assert refused(ts, cert_der, NOW + dt.timedelta(days=366)) == "expired"


def test_revoked_after_revoke_and_reload(ca_dir: Path, node: pki.IssuedPaths, clock: Clock) -> None:
    ts = store(ca_dir, clock)
    cert_der = der(node.tls_cert)
    assert ts.check(cert_der, NOW).name == "chengdu"  # also primes the cache
    pki.revoke(ca_dir, node.tls_cert, "key_compromise", now=NOW)
    assert ts.check(cert_der, NOW).name == "chengdu"  # CRL not re-read yet
    clock.t_s = 1.0
    assert ts.reload_if_changed()
    assert refused(ts, cert_der) == "revoked"
    # A fresh store refuses it too, without relying on the cache.
    assert refused(store(ca_dir, clock), cert_der) == "revoked"


def test_reload_stats_at_most_once_per_interval(
    ca_dir: Path, node: pki.IssuedPaths, clock: Clock
) -> None:
    ts = store(ca_dir, clock)
    pki.revoke(ca_dir, node.tls_cert, now=NOW)
    clock.t_s = 0.5
    assert not ts.reload_if_changed()  # throttled: the CRL change is not seen yet
    assert ts.check(der(node.tls_cert), NOW)
    clock.t_s = 1.0
    assert ts.reload_if_changed()
    clock.t_s = 2.0
    assert not ts.reload_if_changed()  # stat unchanged: nothing re-read
    assert refused(ts, der(node.tls_cert)) == "revoked"


def test_a_broken_crl_file_keeps_the_previous_revocations(
    ca_dir: Path, node: pki.IssuedPaths, tmp_path: Path, clock: Clock
) -> None:
    pki.revoke(ca_dir, node.tls_cert, now=NOW)
    ts = store(ca_dir, clock)
    good = (ca_dir / "crl.pem").read_bytes()
    (ca_dir / "crl.pem").write_bytes(b"-----BEGIN X509 CRL-----\ntruncated")
    clock.t_s = 1.0
    assert not ts.reload_if_changed()
    assert refused(ts, der(node.tls_cert)) == "revoked"
    (ca_dir / "crl.pem").unlink()
    clock.t_s = 2.0
    assert not ts.reload_if_changed()
    assert refused(ts, der(node.tls_cert)) == "revoked"
    (ca_dir / "crl.pem").write_bytes(good)
    clock.t_s = 3.0
    assert ts.reload_if_changed()


def test_an_older_crl_copied_back_does_not_unrevoke(
    ca_dir: Path, node: pki.IssuedPaths, clock: Clock
) -> None:
    empty = (ca_dir / "crl.pem").read_bytes()
    pki.revoke(ca_dir, node.tls_cert, now=NOW)
    ts = store(ca_dir, clock)
    (ca_dir / "crl.pem").write_bytes(empty)  # CRL number 1 < 2
    clock.t_s = 1.0
    assert not ts.reload_if_changed()
    assert refused(ts, der(node.tls_cert)) == "revoked"


def test_a_crl_not_signed_by_a_bundle_ca_is_refused_at_load(ca_dir: Path, tmp_path: Path) -> None:
    pki.init_ca(tmp_path / "rogue", now=NOW)
    with pytest.raises(pki.PkiError, match="not signed by any CA in the bundle"):
        pki.TrustStore(ca_dir / "ca.pem", [tmp_path / "rogue" / "crl.pem"], trust_domain=TD)


def test_a_bundle_must_hold_only_ca_certificates(node: pki.IssuedPaths) -> None:
    with pytest.raises(pki.PkiError, match="not a CA certificate"):
        pki.TrustStore(node.tls_cert, [], trust_domain=TD)


def test_region_ca_bundle_and_wrong_trust_domain(
    ca_dir: Path, node: pki.IssuedPaths, tmp_path: Path, clock: Clock
) -> None:
    pki.init_ca(tmp_path / "cq", common_name="Chongqing region CA", now=NOW)
    pki.init_ca(tmp_path / "other", trust_domain="other.court", now=NOW)
    cq = pki.issue_node(tmp_path / "cq", "chongqing", tmp_path / "cqn", now=NOW)
    foreign = pki.issue_node(tmp_path / "other", "chongqing", tmp_path / "on", now=NOW)
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(
        b"".join((d / "ca.pem").read_bytes() for d in (ca_dir, tmp_path / "cq", tmp_path / "other"))
    )
    crls = [d / "crl.pem" for d in (ca_dir, tmp_path / "cq", tmp_path / "other")]
    ts = pki.TrustStore(bundle, crls, trust_domain=TD, monotonic=clock)
    assert ts.check(der(node.tls_cert), NOW).name == "chengdu"
    assert ts.check(der(cq.tls_cert), NOW).name == "chongqing"
    assert refused(ts, der(foreign.tls_cert)) == "wrong_trust_domain"
    # Revocation is per issuing CA: revoking in one CA's CRL leaves the other's leaves alone.
    pki.revoke(tmp_path / "cq", cq.tls_cert, now=NOW)
    clock.t_s = 1.0
    assert ts.reload_if_changed()
    assert refused(ts, der(cq.tls_cert)) == "revoked"
    assert ts.check(der(node.tls_cert), NOW).name == "chengdu"


@pytest.mark.parametrize(
    "sans",
    [
        None,
        [x509.DNSName("localhost")],
        [
            x509.UniformResourceIdentifier("spiffe://chengyu.court/node/a"),
            x509.UniformResourceIdentifier("spiffe://chengyu.court/node/b"),
        ],
        [
            x509.UniformResourceIdentifier("spiffe://chengyu.court/node/a"),
            x509.UniformResourceIdentifier("https://chengyu.court/"),
        ],
        [x509.UniformResourceIdentifier("spiffe://chengyu.court/judge/a")],
    ],
    ids=["no-san", "no-uri", "two-spiffe-uris", "spiffe-and-https", "unknown-role"],
)
def test_certificates_without_exactly_one_good_uri_are_bad_identity(
    ca_dir: Path, clock: Clock, sans: Sequence[x509.GeneralName] | None
) -> None:
    assert refused(store(ca_dir, clock), mint(ca_dir, sans)) == "bad_identity"


def test_a_crafted_leaf_with_one_good_uri_is_accepted(ca_dir: Path, clock: Clock) -> None:
    # The control for the test above: mint() itself produces acceptable certificates.
    uri = [x509.UniformResourceIdentifier("spiffe://chengyu.court/admin/ops-1")]
    assert store(ca_dir, clock).check(mint(ca_dir, uri), NOW).role == "admin"


def test_non_client_certificates_are_refused_as_tls_peers(
    ca_dir: Path, node: pki.IssuedPaths, clock: Clock
) -> None:
    ts = store(ca_dir, clock)
    assert node.log_cert is not None
    assert refused(ts, der(node.log_cert)) == "bad_identity"
    uri = [x509.UniformResourceIdentifier("spiffe://chengyu.court/node/chengdu")]
    server_only = mint(ca_dir, uri, ekus=(ExtendedKeyUsageOID.SERVER_AUTH,))
    with pytest.raises(pki.IdentityError) as e:
        ts.check(server_only, NOW)
    assert e.value.reason == "bad_identity"
    assert "crafted" not in str(e.value)  # the subject DN never reaches the message


def test_garbage_der_is_bad_identity(ca_dir: Path, clock: Clock) -> None:
    assert refused(store(ca_dir, clock), b"garbage") == "bad_identity"


def test_check_log_cert(ca_dir: Path, node: pki.IssuedPaths, clock: Clock) -> None:
    assert node.log_cert is not None
    ts = store(ca_dir, clock)
    identity, raw = ts.check_log_cert(der(node.log_cert), NOW)
    assert identity.name == "chengdu" and raw == pki.load_log_cert_public_key(node.log_cert)
    with pytest.raises(pki.IdentityError) as e:
        ts.check_log_cert(der(node.tls_cert), NOW)
    assert e.value.reason == "bad_identity"
    pki.revoke(ca_dir, node.log_cert, now=NOW)
    clock.t_s = 1.0
    ts.reload_if_changed()
    with pytest.raises(pki.IdentityError) as e:
        ts.check_log_cert(der(node.log_cert), NOW)
    assert e.value.reason == "revoked"
    assert ts.check(der(node.tls_cert), NOW).name == "chengdu"  # serials are per certificate


def test_stale_crls_are_reported(ca_dir: Path, clock: Clock) -> None:
    ts = store(ca_dir, clock)
    assert ts.stale_crls(NOW) == []
    assert ts.stale_crls(NOW + dt.timedelta(days=31)) == [ca_dir / "crl.pem"]


# ---------------------------------------------------------------- revocation


def test_revoke_keeps_previous_revocations_and_bumps_the_crl_number(
    ca_dir: Path, node: pki.IssuedPaths
) -> None:
    assert node.log_cert is not None
    later = NOW + dt.timedelta(days=2)
    pki.revoke(ca_dir, node.tls_cert, "key_compromise", now=NOW)
    pki.revoke(ca_dir, node.log_cert, now=later)
    pki.revoke(ca_dir, node.log_cert, now=later)  # already revoked: no change
    crl = x509.load_pem_x509_crl((ca_dir / "crl.pem").read_bytes())
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 3
    assert crl.next_update_utc == later + dt.timedelta(days=30)
    tls = crl.get_revoked_certificate_by_serial_number(
        pki.load_certificate(node.tls_cert).serial_number
    )
    assert tls is not None
    assert (
        tls.extensions.get_extension_for_class(x509.CRLReason).value.reason
        == x509.ReasonFlags.key_compromise
    )
    log = crl.get_revoked_certificate_by_serial_number(
        pki.load_certificate(node.log_cert).serial_number
    )
    assert log is not None and log.revocation_date_utc == later
    assert len(crl) == 2
    assert pki.is_revoked(ca_dir, pki.load_certificate(node.tls_cert))


def test_refresh_crl_keeps_entries_and_moves_next_update(
    ca_dir: Path, node: pki.IssuedPaths
) -> None:
    pki.revoke(ca_dir, node.tls_cert, now=NOW)
    later = NOW + dt.timedelta(days=20)
    pki.refresh_crl(ca_dir, now=later)
    crl = x509.load_pem_x509_crl((ca_dir / "crl.pem").read_bytes())
    assert len(crl) == 1
    assert crl.next_update_utc == later + dt.timedelta(days=30)
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 3


def test_revoke_refuses_a_certificate_of_another_ca(ca_dir: Path, tmp_path: Path) -> None:
    pki.init_ca(tmp_path / "rogue", now=NOW)
    rogue = pki.issue_node(tmp_path / "rogue", "chengdu", tmp_path / "r", now=NOW)
    with pytest.raises(pki.PkiError, match="was not issued by the CA"):
        pki.revoke(ca_dir, rogue.tls_cert, now=NOW)


def test_revoke_refuses_an_unknown_reason(ca_dir: Path, node: pki.IssuedPaths) -> None:
    with pytest.raises(pki.PkiError, match=r"^reason: "):
        pki.revoke(ca_dir, node.tls_cert, "remove_from_crl", now=NOW)


# ---------------------------------------------------------------- loading credentials


def test_tls_credentials_files(node: pki.IssuedPaths) -> None:
    key_pem, cert_pem, ca_pem = pki.tls_credentials_files(node.dir)
    assert key_pem == node.tls_key.read_bytes()
    assert cert_pem == node.tls_cert.read_bytes()
    assert ca_pem == node.ca.read_bytes()
    with pytest.raises(pki.PkiError, match="cannot read"):
        pki.tls_credentials_files(node.dir / "missing")
