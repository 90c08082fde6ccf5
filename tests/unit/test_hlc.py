"""Tests for sync.hlc: the hybrid logical clock never goes backwards, whatever the wall clock."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.hlc import LOGICAL_MASK, logical, observe, pack, physical_ms, tick

NOW_MS = 1_709_510_400_000


def test_pack_and_unpack() -> None:
    hlc = pack(NOW_MS, 5)
    assert physical_ms(hlc) == NOW_MS
    assert logical(hlc) == 5
    assert pack(NOW_MS, 0) < pack(NOW_MS, 1) < pack(NOW_MS + 1, 0)


def test_tick_follows_a_wall_clock_that_moves_forward() -> None:
    assert tick(pack(NOW_MS, 7), NOW_MS + 1) == pack(NOW_MS + 1, 0)


def test_tick_at_the_same_millisecond_advances_the_counter() -> None:
    assert tick(pack(NOW_MS, 7), NOW_MS) == pack(NOW_MS, 8)


def test_tick_stays_monotonic_when_the_wall_clock_goes_backwards() -> None:
    last = pack(NOW_MS, 3)
    first = tick(last, NOW_MS - 60_000)
    second = tick(first, NOW_MS - 120_000)
    assert last < first < second
    assert physical_ms(second) == NOW_MS  # keeps the highest time seen, counts logically
    assert logical(second) == 5


def test_logical_overflow_borrows_a_millisecond() -> None:
    last = pack(NOW_MS, LOGICAL_MASK)
    after = tick(last, NOW_MS)
    assert after == pack(NOW_MS + 1, 0)
    assert after > last


def test_first_tick_from_zero() -> None:
    assert tick(0, NOW_MS) == pack(NOW_MS, 0)


def test_observe_a_remote_timestamp_ahead_of_local() -> None:
    local = pack(NOW_MS, 0)
    remote = pack(NOW_MS + 5_000, 9)  # a peer whose clock runs 5 s ahead
    after = observe(local, remote, NOW_MS + 1)
    assert after == pack(NOW_MS + 5_000, 10)
    assert after > remote


def test_observe_a_remote_timestamp_behind_local() -> None:
    local = pack(NOW_MS, 4)
    assert observe(local, pack(NOW_MS - 10, 99), NOW_MS) == pack(NOW_MS, 5)


def test_observe_when_the_wall_clock_is_ahead_of_both() -> None:
    assert observe(pack(NOW_MS, 4), pack(NOW_MS + 3, 1), NOW_MS + 10) == pack(NOW_MS + 10, 0)


_events = st.lists(
    st.tuples(
        st.booleans(),  # True: observe a remote event, False: a local tick
        st.integers(min_value=0, max_value=2**40),  # wall clock reading, any direction
        st.integers(min_value=0, max_value=2**56),  # remote timestamp
    ),
    max_size=60,
)


@settings(derandomize=True, database=None, max_examples=200, deadline=None)
@given(start=st.integers(min_value=0, max_value=2**56), events=_events)
def test_hlc_never_decreases_and_never_falls_below_an_observed_remote(
    start: int, events: list[tuple[bool, int, int]]
) -> None:
    last = start
    for is_observe, now_ms, remote in events:
        after = observe(last, remote, now_ms) if is_observe else tick(last, now_ms)
        assert after > last
        if is_observe:
            assert after > remote
        # close to physical time: never behind the wall clock reading it was given, and
        # ahead of every time seen by at most the millisecond a counter overflow borrows
        assert physical_ms(after) >= now_ms
        seen_ms = max(now_ms, physical_ms(last), physical_ms(remote) if is_observe else 0)
        assert physical_ms(after) <= seen_ms + 1
        last = after
