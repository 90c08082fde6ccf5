"""sync.routing: which peer each origin is taken from, and the stall guard."""

from __future__ import annotations

import itertools

from sync.routing import HOPS_MAX, LEGACY_HOPS, PeerView, Plan, Stalls, plan


def up(hops: dict[str, int] | None = None, sizes: dict[str, int] | None = None) -> PeerView:
    return PeerView(True, {} if hops is None else hops, sizes or {})


DOWN = PeerView(False)


def test_full_mesh_takes_every_origin_from_the_origin_itself() -> None:
    # a's peers b, c, d each advertise 1 hop to the others (they take them directly).
    peers = {p: up({o: 1 for o in "abcd" if o not in (p,)} | {p: 0}) for p in "bcd"}
    result = plan("a", peers, {})
    assert result.sources == {"b": "b", "c": "c", "d": "d"}
    assert result.takes("b") == {"b"}
    assert result.hops == {"b": 1, "c": 1, "d": 1}


def test_origin_link_down_takes_it_from_one_relay_and_back() -> None:
    peers = {"b": up({"c": 1}), "c": DOWN, "d": up({"c": 1})}
    relayed = plan("a", peers, {})
    assert relayed.sources["c"] == "b"  # the lowest id among equals
    assert relayed.hops["c"] == 2
    # Another equal route appears: the current source is kept.
    peers["e"] = up({"c": 1})
    assert plan("a", peers, {}, current={"c": "d"}).sources["c"] == "d"
    # The origin's link is up again: taken from it.
    peers["c"] = up()
    assert plan("a", peers, {}, current=relayed.sources).sources["c"] == "c"


def test_poison_reverse_keeps_two_nodes_from_taking_an_origin_from_each_other() -> None:
    # A chain x - a - b: a takes x directly, b takes x from a; a tells b it takes x from x
    # (1 hop), and b tells a "no route" for x, since b takes it from a.
    a = plan("a", {"x": up(), "b": up({"x": HOPS_MAX})}, {})
    assert a.sources["x"] == "x"
    b = plan("b", {"a": up(a.advertised("b"))}, {})
    assert b.sources["x"] == "a"
    assert b.advertised("a")["x"] == HOPS_MAX
    assert b.advertised("a")["b"] == 0
    assert "a" not in b.advertised("a")  # nobody is told about its own log


def test_a_chain_routes_every_origin_toward_it_and_never_in_a_loop() -> None:
    # Eight nodes in a chain n0 - n1 - ... - n7: iterate the advertisements to a fixed point.
    names = [f"n{i}" for i in range(8)]
    neighbours = {n: [m for m in names if abs(names.index(m) - names.index(n)) == 1] for n in names}
    plans: dict[str, Plan] = {n: plan(n, {}, {}) for n in names}
    for _ in range(20):
        plans = {
            n: plan(
                n,
                {m: up(plans[m].advertised(n)) for m in neighbours[n]},
                {},
                current=plans[n].sources,
            )
            for n in names
        }
    for n in names:
        i = names.index(n)
        for o in names:
            if o == n:
                continue
            j = names.index(o)
            assert plans[n].hops[o] == abs(i - j)
            toward = names[i + 1] if j > i else names[i - 1]
            assert plans[n].sources[o] == toward


def test_no_route_takes_the_origin_from_the_peer_that_holds_most() -> None:
    peers = {
        "b": up({}, {"gone": 5}),
        "c": up({}, {"gone": 9}),
        "d": up({}, {"gone": 9}),
    }
    assert plan("a", peers, {"gone": 3}).sources["gone"] == "c"
    assert plan("a", peers, {"gone": 3}).hops["gone"] == HOPS_MAX
    assert "gone" not in plan("a", peers, {"gone": 9}).sources  # nobody holds more


def test_an_older_peer_is_a_last_resort_route() -> None:
    peers = {"b": PeerView(True, None, {}), "c": up({"x": 3})}
    assert plan("a", peers, {}).sources["x"] == "c"
    peers["c"] = up()
    result = plan("a", peers, {"x": 1})
    assert result.sources["x"] == "b"
    assert result.hops["x"] == HOPS_MAX  # LEGACY_HOPS + 1: not offered on
    assert LEGACY_HOPS < HOPS_MAX


def test_stalls_need_a_lag_without_progress_for_the_grace_period() -> None:
    stalls = Stalls("a", grace_s=2.0)
    peers = {"b": up(sizes={"x": 10}), "c": up(sizes={"x": 10})}
    assert stalls.update(0.0, {"x": 4}, peers) == {}
    assert stalls.update(1.5, {"x": 6}, peers) == {}  # progress: the clock starts again
    assert stalls.update(3.0, {"x": 6}, peers) == {}
    assert stalls.update(3.6, {"x": 6}, peers) == {"x": frozenset({"b", "c"})}
    # Taken also from the peers ahead until caught up, even while progressing.
    assert stalls.update(4.0, {"x": 8}, peers) == {"x": frozenset({"b", "c"})}
    assert stalls.update(4.5, {"x": 10}, peers) == {}
    # Its own log is never taken from peers; a disconnected peer is not ahead.
    peers = {"b": up(sizes={"a": 50}), "c": PeerView(False, {}, {"y": 50})}
    assert stalls.update(10.0, {}, peers) == {}
    assert stalls.update(20.0, {}, peers) == {}


def test_extra_sources_add_to_the_routed_selection() -> None:
    peers = {"b": up(), "c": up({"b": 1})}
    result = plan("a", peers, {}, extra={"b": frozenset({"c", "gone"})})
    assert result.takes("c") == {"b", "c"}
    assert result.takes("b") == {"b"}
    assert result.extra == {"b": frozenset({"c"})}


def test_every_plan_of_a_random_mesh_has_at_most_one_source_per_origin() -> None:
    names = ["a", "b", "c", "d", "e"]
    for links in itertools.islice(itertools.product((True, False), repeat=4), 16):
        peers = {p: (up() if ok else DOWN) for p, ok in zip(names[1:], links, strict=True)}
        result = plan("a", peers, {})
        taken = [o for p in names[1:] for o in result.takes(p)]
        assert len(taken) == len(set(taken))
        assert set(taken) == {p for p, ok in zip(names[1:], links, strict=True) if ok}
