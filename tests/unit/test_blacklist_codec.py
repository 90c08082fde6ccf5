"""The one conversion of 失信名单 records between the domain type, the wire record and the
import format (sync/domain/blacklist_codec.py), as the node and the CLI both use it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date

import pytest

from ccnode.v1 import payloads_pb2
from sync.domain.blacklist import ListingGround, parse_listing_json
from sync.domain.blacklist_codec import listing_from_pb, listing_json_from_pb, listing_to_pb
from sync.domain.errors import ValidationError
from tests.unit.test_domain_blacklist import LISTED_ON, listed, org, person


def test_a_validated_listing_goes_to_the_wire_and_back_unchanged() -> None:
    for v in (listed(person()), listed(org())):
        pb = listing_to_pb(v.record, term_end=v.term_end)
        assert pb.listed_on == LISTED_ON.isoformat()
        assert pb.term_end_on == (v.term_end.isoformat() if v.term_end else "")
        back = listing_from_pb(pb, listed_on=LISTED_ON)
        assert back == v.record


def test_the_term_is_explicit_on_the_wire() -> None:
    # Absent: the ground's default (2 years for G2–G6); G1 has none, which the wire says as 0.
    assert listing_to_pb(person(term_years=None)).term_years == 2
    assert listing_to_pb(person(ground=ListingGround.G1, term_years=None)).term_years == 0
    assert listing_to_pb(person(term_years=4)).term_years == 4
    # And 0 read back is "the ground's default", for the validator to settle.
    g1 = listing_to_pb(person(ground=ListingGround.G1, term_years=None))
    assert listing_from_pb(g1, listed_on=None).term_years is None


def test_the_import_format_round_trip_keeps_every_field() -> None:
    pb = listing_to_pb(dataclasses.replace(person(), listed_on=date(2024, 3, 1)))
    doc = listing_json_from_pb(pb)
    assert doc["debtor_type"] == "person" and doc["ground"] == "G3"
    assert "credit_code" not in doc  # absent fields are omitted, not ""
    assert listing_to_pb(parse_listing_json(doc)) == pb


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r.debtor.ClearField("type"), "debtor_type"),
        (lambda r: r.ClearField("ground"), "ground"),
        (lambda r: setattr(r.debtor, "sex", "X"), "sex"),
        (lambda r: r.ClearField("filed_on"), "filed_on"),
        (lambda r: setattr(r, "filed_on", "2024-13-01"), "filed_on"),
    ],
)
def test_what_the_domain_type_cannot_hold_is_refused_by_field(
    change: Callable[[payloads_pb2.BlacklistRecord], object], field: str
) -> None:
    pb = listing_to_pb(person())
    change(pb)
    with pytest.raises(ValidationError) as info:
        listing_from_pb(pb, listed_on=None)
    assert info.value.field == field
