"""The day a read evaluates the rules on (node/services/dates.py): the node's today when the
request names none, exactly YYYY-MM-DD otherwise."""

from __future__ import annotations

import datetime as dt

import pytest

from node.clock import FakeClock
from node.services.dates import parse_as_of


def test_no_day_is_the_node_s_court_local_today() -> None:
    clock = FakeClock(now_ms=1_735_689_600_000 - 9 * 3_600_000)  # 2024-12-31T15:00Z
    assert parse_as_of("", clock) == dt.date(2024, 12, 31)
    clock.advance(ms=3_600_000)  # 2025-01-01T00:00 CST, still 2024 in UTC
    assert parse_as_of("", clock) == dt.date(2025, 1, 1)


def test_a_day_is_taken_as_given() -> None:
    assert parse_as_of("2025-01-09", FakeClock()) == dt.date(2025, 1, 9)
    assert parse_as_of("2024-02-29", FakeClock()) == dt.date(2024, 2, 29)


@pytest.mark.parametrize(
    "text", ["20250109", "2025-W02-4", "2025-1-9", "2025-02-30", "2025-01-09T00:00", " 2025-01-09"]
)
def test_anything_else_is_no_day(text: str) -> None:
    assert parse_as_of(text, FakeClock()) is None
