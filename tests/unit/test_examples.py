"""The example files the docs point to are valid input: every line of
examples/listings.jsonl parses and passes the listing rules, with no warning."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from sync.domain.blacklist import parse_listing_json, validate_listing

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_listings_example_passes_every_rule() -> None:
    lines = (EXAMPLES / "listings.jsonl").read_text(encoding="utf-8").splitlines()
    kinds = set()
    for line_no, line in enumerate(lines, start=1):
        rec = parse_listing_json(json.loads(line), line_no)
        listing = validate_listing(rec, court_prefixes=["川01"], listed_on=date(2026, 3, 2))
        assert listing.warnings == (), (line_no, listing.warnings)
        kinds.add(rec.debtor_type.value)
    assert kinds == {"person", "org"}
    assert len(lines) == 3
