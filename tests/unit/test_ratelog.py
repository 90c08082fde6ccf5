"""One log line per kind per interval, saying how many were left out."""

from __future__ import annotations

import logging

import pytest

from node.clock import FakeClock
from node.ratelog import RateLimitedLog


def test_one_line_per_kind_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    limited = RateLimitedLog(logging.getLogger("t"), clock, interval_s=60)
    with caplog.at_level(logging.WARNING, logger="t"):
        assert [limited.warning("a", "event a") for _ in range(1_000)][:2] == [True, False]
        assert limited.warning("b", "event b")
        clock.advance(ms=59_000)
        assert not limited.warning("a", "event a")
        clock.advance(ms=1_000)
        assert limited.warning("a", "event %s", "a")
    assert [r.getMessage() for r in caplog.records] == [
        "event a",
        "event b",
        "event a (1000 more of this kind since the last line)",
    ]
