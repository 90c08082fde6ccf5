"""Hybrid logical clock (Kulkarni et al.), packed in one uint64: (unix ms << 16) | counter.

Pure: the caller passes the physical time it read from its (injected) clock. The HLC never
goes backwards even if the wall clock does, and stays close to physical time.
"""

from __future__ import annotations

LOGICAL_BITS = 16
LOGICAL_MASK = (1 << LOGICAL_BITS) - 1


def pack(physical_ms: int, logical: int) -> int:
    assert 0 <= logical <= LOGICAL_MASK
    return (physical_ms << LOGICAL_BITS) | logical


def physical_ms(hlc: int) -> int:
    return hlc >> LOGICAL_BITS


def logical(hlc: int) -> int:
    return hlc & LOGICAL_MASK


def tick(last: int, now_ms: int) -> int:
    """The timestamp of a local event after ``last``, at physical time ``now_ms``."""
    if now_ms > physical_ms(last):
        return pack(now_ms, 0)
    # The wall clock is behind or equal: advance the counter; on overflow borrow a millisecond.
    return last + 1


def observe(last: int, remote: int, now_ms: int) -> int:
    """The timestamp after receiving an event stamped ``remote``."""
    return tick(max(last, remote), now_ms)
