"""node/identity/spiffe.py: SPIFFE identities from certificates and URIs."""

from __future__ import annotations

import pytest

from node.identity.ca import IssuedPaths
from node.identity.errors import IdentityError
from node.identity.keyfiles import load_certificate
from node.identity.spiffe import (
    Identity,
    Role,
    identity_from_cert,
    identity_from_der,
    parse_spiffe_id,
)
from tests.unit.identity.support import TD, der


def test_identity_from_cert_and_der(node: IssuedPaths) -> None:
    expected = Identity(TD, "node", "chengdu", "spiffe://chengyu.court/node/chengdu")
    assert identity_from_cert(load_certificate(node.tls_cert), TD) == expected
    assert identity_from_der(der(node.tls_cert), TD) == expected


def test_identity_in_another_trust_domain_is_refused(node: IssuedPaths) -> None:
    with pytest.raises(IdentityError) as e:
        identity_from_der(der(node.tls_cert), "other.court")
    assert e.value.reason == "wrong_trust_domain"


def test_identity_from_garbage_der_is_bad_identity() -> None:
    with pytest.raises(IdentityError) as e:
        identity_from_der(b"\x30\x03not a certificate", TD)
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
    with pytest.raises(IdentityError) as e:
        parse_spiffe_id(uri)
    assert e.value.reason == "bad_identity"


@pytest.mark.parametrize("role", ["node", "auditor", "admin"])
def test_spiffe_ids_of_every_role_parse(role: Role) -> None:
    uri = f"spiffe://chengyu.court/{role}/x-1"
    assert parse_spiffe_id(uri) == Identity(TD, role, "x-1", uri)
