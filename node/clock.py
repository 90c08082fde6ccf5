"""Injected time. The node reads time only through a Clock so tests never sleep to test a
7-day limit and the pure core (sync/) receives time as plain arguments."""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol

# Court-local dates (terms, deadlines) are China Standard Time.
CST = dt.timezone(dt.timedelta(hours=8), "CST")


class Clock(Protocol):
    def now_ms(self) -> int: ...
    def monotonic_s(self) -> float: ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic_s(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now_ms: int = 1_735_689_600_000) -> None:  # 2025-01-01T00:00Z
        self._now_ms = now_ms
        self._mono_s = 1000.0

    def now_ms(self) -> int:
        return self._now_ms

    def monotonic_s(self) -> float:
        return self._mono_s

    def advance(self, *, ms: int = 0, days: float = 0) -> None:
        step_ms = ms + int(days * 86_400_000)
        self._now_ms += step_ms
        self._mono_s += step_ms / 1000


def today(clock: Clock) -> dt.date:
    return dt.datetime.fromtimestamp(clock.now_ms() / 1000, CST).date()


def utc_datetime(clock: Clock) -> dt.datetime:
    return dt.datetime.fromtimestamp(clock.now_ms() / 1000, dt.UTC)
