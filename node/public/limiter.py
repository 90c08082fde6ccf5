"""A token bucket per client IP address, bounded in memory, on the node's injected clock."""

from __future__ import annotations

from collections import OrderedDict

from node.clock import Clock

# Addresses kept at most: beyond it the least recently seen is forgotten (it starts again
# with a full bucket), so a flood of addresses cannot grow the node's memory.
ADDRESSES_MAX = 100_000


class IpRateLimiter:
    """``per_minute`` queries of burst per address, refilled continuously."""

    def __init__(self, clock: Clock, per_minute: int, *, addresses_max: int = ADDRESSES_MAX):
        assert per_minute > 0 and addresses_max > 0
        self._clock = clock
        self._capacity = float(per_minute)
        self._refill_per_s = per_minute / 60.0
        self._addresses_max = addresses_max
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # (tokens, at_s)

    def take(self, address: str) -> bool:
        """Whether ``address`` may query now (and count the query)."""
        now_s = self._clock.monotonic_s()
        tokens, at_s = self._buckets.pop(address, (self._capacity, now_s))
        tokens = min(self._capacity, tokens + max(0.0, now_s - at_s) * self._refill_per_s)
        allowed = tokens >= 1.0
        self._buckets[address] = (tokens - 1.0 if allowed else tokens, now_s)
        while len(self._buckets) > self._addresses_max:
            self._buckets.popitem(last=False)
        return allowed

    def retry_after_s(self, address: str) -> int:
        """Whole seconds until ``address`` has a query again (at least 1)."""
        tokens, _ = self._buckets.get(address, (self._capacity, 0.0))
        missing = max(0.0, 1.0 - tokens)
        return max(1, int(missing / self._refill_per_s + 0.999))
