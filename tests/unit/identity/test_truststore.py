"""node/identity/truststore.py: chains, dates, CRL reloads and identities of peer certificates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from node.identity.ca import IssuedPaths, init_ca, issue_admin, issue_auditor, issue_node, revoke
from node.identity.errors import IdentityError, PkiError
from node.identity.keyfiles import load_log_cert_public_key
from node.identity.truststore import TrustStore
from tests.unit.identity.support import NOW, TD, Clock, der, mint, refused, store


def test_trust_store_accepts_every_role(
    ca_dir: Path, node: IssuedPaths, tmp_path: Path, clock: Clock
) -> None:
    auditor = issue_auditor(ca_dir, "audit-1", tmp_path / "a", now=NOW)
    admin = issue_admin(ca_dir, "ops-1", tmp_path / "b", now=NOW)
    ts = store(ca_dir, clock)
    assert ts.check(der(node.tls_cert), NOW).role == "node"
    assert ts.check(der(auditor.tls_cert), NOW) == auditor.identity
    assert ts.check(der(admin.tls_cert), NOW) == admin.identity


def test_a_certificate_of_another_ca_is_unknown_ca(
    ca_dir: Path, tmp_path: Path, clock: Clock
) -> None:
    init_ca(tmp_path / "rogue", now=NOW)  # same trust domain, same subject DN
    rogue = issue_node(tmp_path / "rogue", "chengdu", tmp_path / "r", now=NOW)
    assert refused(store(ca_dir, clock), der(rogue.tls_cert)) == "unknown_ca"


def test_expired_and_not_yet_valid(tmp_path: Path, clock: Clock) -> None:
    past = NOW - dt.timedelta(days=400)
    init_ca(tmp_path / "ca", now=past)
    old = issue_node(tmp_path / "ca", "chengdu", tmp_path / "n", now=past, days=365)
    ts = store(tmp_path / "ca", clock)
    assert refused(ts, der(old.tls_cert), NOW) == "expired"
    assert refused(ts, der(old.tls_cert), past - dt.timedelta(days=1)) == "not_yet_valid"
    assert ts.check(der(old.tls_cert), past + dt.timedelta(days=1)).name == "chengdu"


def test_an_expired_ca_expires_its_leaves(tmp_path: Path, clock: Clock) -> None:
    init_ca(tmp_path / "ca", now=NOW, days=10)
    issued = issue_node(tmp_path / "ca", "chengdu", tmp_path / "n", now=NOW)
    assert (
        refused(store(tmp_path / "ca", clock), der(issued.tls_cert), NOW + dt.timedelta(days=11))
        == "expired"
    )


def test_a_cached_verification_still_expires(ca_dir: Path, node: IssuedPaths, clock: Clock) -> None:
    ts = store(ca_dir, clock)
    cert_der = der(node.tls_cert)
    ts.check(cert_der, NOW)
    assert refused(ts, cert_der, NOW + dt.timedelta(days=366)) == "expired"


def test_revoked_after_revoke_and_reload(ca_dir: Path, node: IssuedPaths, clock: Clock) -> None:
    ts = store(ca_dir, clock)
    cert_der = der(node.tls_cert)
    assert ts.check(cert_der, NOW).name == "chengdu"  # also primes the cache
    revoke(ca_dir, node.tls_cert, "key_compromise", now=NOW)
    assert ts.check(cert_der, NOW).name == "chengdu"  # CRL not re-read yet
    clock.t_s = 1.0
    assert ts.reload_if_changed()
    assert refused(ts, cert_der) == "revoked"
    # A fresh store refuses it too, without relying on the cache.
    assert refused(store(ca_dir, clock), cert_der) == "revoked"


def test_reload_stats_at_most_once_per_interval(
    ca_dir: Path, node: IssuedPaths, clock: Clock
) -> None:
    ts = store(ca_dir, clock)
    revoke(ca_dir, node.tls_cert, now=NOW)
    clock.t_s = 0.5
    assert not ts.reload_if_changed()  # throttled: the CRL change is not seen yet
    assert ts.check(der(node.tls_cert), NOW)
    clock.t_s = 1.0
    assert ts.reload_if_changed()
    clock.t_s = 2.0
    assert not ts.reload_if_changed()  # stat unchanged: nothing re-read
    assert refused(ts, der(node.tls_cert)) == "revoked"


def test_a_broken_crl_file_keeps_the_previous_revocations(
    ca_dir: Path, node: IssuedPaths, tmp_path: Path, clock: Clock
) -> None:
    revoke(ca_dir, node.tls_cert, now=NOW)
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
    ca_dir: Path, node: IssuedPaths, clock: Clock
) -> None:
    empty = (ca_dir / "crl.pem").read_bytes()
    revoke(ca_dir, node.tls_cert, now=NOW)
    ts = store(ca_dir, clock)
    (ca_dir / "crl.pem").write_bytes(empty)  # CRL number 1 < 2
    clock.t_s = 1.0
    assert not ts.reload_if_changed()
    assert refused(ts, der(node.tls_cert)) == "revoked"


def test_a_crl_not_signed_by_a_bundle_ca_is_refused_at_load(ca_dir: Path, tmp_path: Path) -> None:
    init_ca(tmp_path / "rogue", now=NOW)
    with pytest.raises(PkiError, match="not signed by any CA in the bundle"):
        TrustStore(ca_dir / "ca.pem", [tmp_path / "rogue" / "crl.pem"], trust_domain=TD)


def test_a_bundle_must_hold_only_ca_certificates(node: IssuedPaths) -> None:
    with pytest.raises(PkiError, match="not a CA certificate"):
        TrustStore(node.tls_cert, [], trust_domain=TD)


def test_region_ca_bundle_and_wrong_trust_domain(
    ca_dir: Path, node: IssuedPaths, tmp_path: Path, clock: Clock
) -> None:
    init_ca(tmp_path / "cq", common_name="Chongqing region CA", now=NOW)
    init_ca(tmp_path / "other", trust_domain="other.court", now=NOW)
    cq = issue_node(tmp_path / "cq", "chongqing", tmp_path / "cqn", now=NOW)
    foreign = issue_node(tmp_path / "other", "chongqing", tmp_path / "on", now=NOW)
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(
        b"".join((d / "ca.pem").read_bytes() for d in (ca_dir, tmp_path / "cq", tmp_path / "other"))
    )
    crls = [d / "crl.pem" for d in (ca_dir, tmp_path / "cq", tmp_path / "other")]
    ts = TrustStore(bundle, crls, trust_domain=TD, monotonic=clock)
    assert ts.check(der(node.tls_cert), NOW).name == "chengdu"
    assert ts.check(der(cq.tls_cert), NOW).name == "chongqing"
    assert refused(ts, der(foreign.tls_cert)) == "wrong_trust_domain"
    # Revocation is per issuing CA: revoking in one CA's CRL leaves the other's leaves alone.
    revoke(tmp_path / "cq", cq.tls_cert, now=NOW)
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
    ca_dir: Path, node: IssuedPaths, clock: Clock
) -> None:
    ts = store(ca_dir, clock)
    assert node.log_cert is not None
    assert refused(ts, der(node.log_cert)) == "bad_identity"
    uri = [x509.UniformResourceIdentifier("spiffe://chengyu.court/node/chengdu")]
    server_only = mint(ca_dir, uri, ekus=(ExtendedKeyUsageOID.SERVER_AUTH,))
    with pytest.raises(IdentityError) as e:
        ts.check(server_only, NOW)
    assert e.value.reason == "bad_identity"
    assert "crafted" not in str(e.value)  # the subject DN never reaches the message


def test_garbage_der_is_bad_identity(ca_dir: Path, clock: Clock) -> None:
    assert refused(store(ca_dir, clock), b"garbage") == "bad_identity"


def test_check_log_cert(ca_dir: Path, node: IssuedPaths, clock: Clock) -> None:
    assert node.log_cert is not None
    ts = store(ca_dir, clock)
    identity, raw = ts.check_log_cert(der(node.log_cert), NOW)
    assert identity.name == "chengdu" and raw == load_log_cert_public_key(node.log_cert)
    with pytest.raises(IdentityError) as e:
        ts.check_log_cert(der(node.tls_cert), NOW)
    assert e.value.reason == "bad_identity"
    revoke(ca_dir, node.log_cert, now=NOW)
    clock.t_s = 1.0
    ts.reload_if_changed()
    with pytest.raises(IdentityError) as e:
        ts.check_log_cert(der(node.log_cert), NOW)
    assert e.value.reason == "revoked"
    assert ts.check(der(node.tls_cert), NOW).name == "chengdu"  # serials are per certificate


def test_stale_crls_are_reported(ca_dir: Path, clock: Clock) -> None:
    ts = store(ca_dir, clock)
    assert ts.stale_crls(NOW) == []
    assert ts.stale_crls(NOW + dt.timedelta(days=31)) == [ca_dir / "crl.pem"]
