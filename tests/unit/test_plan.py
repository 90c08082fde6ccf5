"""Tests for sync.plan: vectors and deterministic fetch planning."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.plan import Fetch, behind, lag, merge, plan_fetches
from sync.verify import BATCH_ENTRIES_MAX

# ---------------------------------------------------------------- vectors


def test_lag_counts_only_what_theirs_holds_beyond_mine() -> None:
    mine = {"chengdu": 10, "chongqing": 5}
    theirs = {"chengdu": 7, "chongqing": 9, "kunming": 3}
    assert lag(mine, theirs) == {"chongqing": 4, "kunming": 3}
    assert list(lag(mine, theirs)) == ["chongqing", "kunming"]  # sorted by origin


def test_lag_of_equal_vectors_is_empty() -> None:
    assert lag({"chengdu": 3}, {"chengdu": 3}) == {}
    assert lag({}, {}) == {}
    assert lag({}, {"chengdu": 0}) == {}  # an origin held at size 0 is no lag


def test_behind() -> None:
    assert behind({"chengdu": 1}, {"chengdu": 2})
    assert behind({}, {"kunming": 1})
    assert not behind({"chengdu": 2}, {"chengdu": 1})
    assert not behind({"chengdu": 2, "kunming": 4}, {"chengdu": 2})


def test_merge_is_the_pointwise_maximum() -> None:
    a = {"chengdu": 4, "chongqing": 1}
    b = {"chongqing": 6, "kunming": 2}
    assert merge(a, b) == {"chengdu": 4, "chongqing": 6, "kunming": 2}
    assert merge(a, b) == merge(b, a)
    assert merge(a, {}) == a


_vectors = st.dictionaries(
    st.sampled_from(["chengdu", "chongqing", "kunming", "guiyang"]),
    st.integers(min_value=0, max_value=50),
    max_size=4,
)


@settings(derandomize=True, database=None, max_examples=100, deadline=None)
@given(a=_vectors, b=_vectors)
def test_merge_dominates_and_leaves_nothing_to_fetch(a: dict[str, int], b: dict[str, int]) -> None:
    merged = merge(a, b)
    assert not behind(merged, a)
    assert not behind(merged, b)
    assert behind(a, b) == bool(plan_fetches(a, {"peer": b}))


# ---------------------------------------------------------------- plan_fetches


def test_prefers_the_peer_holding_the_most_entries() -> None:
    peers = {"chongqing": {"chengdu": 5}, "kunming": {"chengdu": 9}, "guiyang": {"chengdu": 7}}
    assert plan_fetches({"chengdu": 2}, peers) == [Fetch("kunming", "chengdu", 2, 9)]


def test_a_tie_goes_to_the_origin_itself() -> None:
    peers = {"aba": {"zigong": 9}, "zigong": {"zigong": 9}, "kunming": {"zigong": 9}}
    assert plan_fetches({}, peers) == [Fetch("zigong", "zigong", 0, 9)]


def test_more_entries_beat_first_hand() -> None:
    peers = {"zigong": {"zigong": 8}, "kunming": {"zigong": 9}}
    assert plan_fetches({}, peers) == [Fetch("kunming", "zigong", 0, 9)]


def test_a_tie_between_relays_goes_to_the_lowest_peer_id() -> None:
    peers = {"kunming": {"zigong": 9}, "chongqing": {"zigong": 9}, "guiyang": {"zigong": 9}}
    assert plan_fetches({}, peers) == [Fetch("chongqing", "zigong", 0, 9)]


def test_the_choice_does_not_depend_on_mapping_order() -> None:
    peers = [("kunming", {"zigong": 9}), ("chongqing", {"zigong": 9}), ("zigong", {"zigong": 9})]
    plans = {tuple(plan_fetches({}, dict(order))) for order in (peers, peers[::-1])}
    assert plans == {(Fetch("zigong", "zigong", 0, 9),)}


def test_frozen_origins_are_skipped() -> None:
    peers = {"chongqing": {"chengdu": 5, "chongqing": 3}}
    plan = plan_fetches({}, peers, frozen={"chengdu"})
    assert plan == [Fetch("chongqing", "chongqing", 0, 3)]


def test_nothing_to_fetch_when_up_to_date() -> None:
    assert plan_fetches({"chengdu": 5}, {"chongqing": {"chengdu": 5}, "kunming": {}}) == []
    assert plan_fetches({"chengdu": 5}, {}) == []


def test_ranges_are_chunked_and_contiguous_from_my_size() -> None:
    plan = plan_fetches({"chengdu": 3}, {"chengdu": {"chengdu": 1203}})
    assert [(f.start, f.end) for f in plan] == [(3, 503), (503, 1003), (1003, 1203)]
    assert all(f.end - f.start <= BATCH_ENTRIES_MAX for f in plan)


def test_custom_batch_size_and_origin_order() -> None:
    peers = {"chongqing": {"kunming": 3, "chongqing": 4}, "kunming": {"kunming": 2}}
    plan = plan_fetches({"chongqing": 1}, peers, batch_entries_max=2)
    assert plan == [
        Fetch("chongqing", "chongqing", 1, 3),
        Fetch("chongqing", "chongqing", 3, 4),
        Fetch("chongqing", "kunming", 0, 2),
        Fetch("chongqing", "kunming", 2, 3),
    ]


@settings(derandomize=True, database=None, max_examples=100, deadline=None)
@given(
    mine=_vectors,
    peers=st.dictionaries(
        st.sampled_from(["chengdu", "chongqing", "kunming", "zigong"]), _vectors, max_size=4
    ),
    batch=st.integers(min_value=1, max_value=7),
)
def test_plan_covers_exactly_the_best_advertised_size(
    mine: dict[str, int], peers: dict[str, dict[str, int]], batch: int
) -> None:
    plan = plan_fetches(mine, peers, batch_entries_max=batch)
    best: dict[str, int] = {}
    for vector in peers.values():
        best = merge(best, vector)
    by_origin: dict[str, list[Fetch]] = {}
    for fetch in plan:
        by_origin.setdefault(fetch.origin, []).append(fetch)
        assert 0 < fetch.end - fetch.start <= batch
        assert peers[fetch.peer][fetch.origin] == best[fetch.origin]  # from a best holder
    assert set(by_origin) == set(lag(mine, best))
    for origin, fetches in by_origin.items():
        assert fetches[0].start == mine.get(origin, 0)
        assert all(a.end == b.start for a, b in itertools.pairwise(fetches))
        assert fetches[-1].end == best[origin]
        assert len({f.peer for f in fetches}) == 1
