"""Which peer a node takes each origin from, so that in a mesh each entry crosses into each
node about once (DESIGN.md section 4), while relaying stays the fallback.

The rule (docs/ARCHITECTURE.md 4.3):

* Every connected peer tells the node its **routes**: per origin, its distance in hops (0: it
  is the origin, 1: it takes the origin from the origin itself, ...). ``HOPS_MAX`` means no
  route. A peer that takes an origin from this node advertises ``HOPS_MAX`` for it to this
  node (poison reverse), so two nodes never take an origin from each other.
* The node takes each origin from the connected peer with the fewest hops: the origin itself
  while its link is up, else one relay on a shortest route. Among equals it keeps the peer it
  takes the origin from already, else the lowest node id, so every node decides alike.
* An origin no connected peer has a route to is taken from the peer that says it holds the
  most of it (if more than this node holds): a relay that holds entries of an origin that is
  gone still hands them on.
* Liveness does not rest on routes: ``Stalls`` notices an origin some peer holds more of
  while this node made no progress on it for a grace period, and then takes it *also* from
  every peer ahead, until the node holds as much as they say (duplicates, skipped as stale,
  are the price of a withholding or stuck relay, never a missing entry).

A peer that advertises no routes at all (an older version) streams every origin whatever it
is asked; it counts as a route of ``LEGACY_HOPS`` to every origin, a last resort.

Pure: no I/O and no clock; the caller passes the time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Hops meaning "no route" (as RIP's 16: a loop left after a failure counts up to it and ends).
HOPS_MAX = 16
# The distance assumed through a peer that advertises no routes (an older version).
LEGACY_HOPS = HOPS_MAX - 1


@dataclass(frozen=True, slots=True)
class PeerView:
    """What this node knows of one peer's link."""

    connected: bool
    # The routes the peer advertised on its stream; None: the peer advertises none (an older
    # version, which streams every origin).
    hops: Mapping[str, int] | None = None
    # The sizes the peer says it holds (its latest CaughtUp vector).
    sizes: Mapping[str, int] = field(default_factory=dict)


def peer_hops(peer: str, view: PeerView, origin: str) -> int:
    """The peer's distance to ``origin`` as it told this node (HOPS_MAX: no route)."""
    if not view.connected:
        return HOPS_MAX
    if origin == peer:
        return 0
    if view.hops is None:
        return LEGACY_HOPS
    return min(HOPS_MAX, view.hops.get(origin, HOPS_MAX))


@dataclass(frozen=True, slots=True)
class Plan:
    """Per origin, the peer it is taken from and this node's own distance to it."""

    node_id: str
    sources: Mapping[str, str]  # origin -> peer (origins without a source are absent)
    hops: Mapping[str, int]  # origin -> hops from this node (HOPS_MAX: no route)
    extra: Mapping[str, frozenset[str]] = field(default_factory=dict)  # from Stalls

    def takes(self, peer: str) -> frozenset[str]:
        """The origins this node asks ``peer`` to stream."""
        routed = {o for o, p in self.sources.items() if p == peer}
        return frozenset(routed | {o for o, peers in self.extra.items() if peer in peers})

    def advertised(self, subscriber: str) -> dict[str, int]:
        """The routes this node tells ``subscriber``: its own log at 0 hops, and no route
        for an origin it takes from that subscriber (poison reverse) or the subscriber's own."""
        out = {self.node_id: 0}
        for origin, hops in self.hops.items():
            if origin == subscriber:
                continue
            out[origin] = HOPS_MAX if self.sources.get(origin) == subscriber else hops
        return out


def plan(
    node_id: str,
    peers: Mapping[str, PeerView],
    held: Mapping[str, int],
    current: Mapping[str, str] | None = None,
    extra: Mapping[str, frozenset[str]] | None = None,
) -> Plan:
    """The source of every origin this node or a peer knows of (see the module docstring).

    ``held``: the sizes this node holds; ``current``: the sources of the previous plan (kept
    among equals, so a plan changes only when a route does)."""
    current = current or {}
    origins = set(held) | set(peers)
    for view in peers.values():
        origins |= set(view.hops or ()) | set(view.sizes)
    origins.discard(node_id)
    sources: dict[str, str] = {}
    hops: dict[str, int] = {}
    for origin in sorted(origins):
        routes = [(peer_hops(p, v, origin), p) for p, v in peers.items() if p != node_id]
        best = min((h for h, _ in routes), default=HOPS_MAX)
        if best < HOPS_MAX:
            nearest = sorted(p for h, p in routes if h == best)
            keep = current.get(origin)
            sources[origin] = keep if keep in nearest else nearest[0]
            hops[origin] = min(HOPS_MAX, best + 1)
            continue
        hops[origin] = HOPS_MAX
        # No route: the connected peer that holds the most of it, if more than this node.
        mine = held.get(origin, 0)
        ahead = [
            (-v.sizes.get(origin, 0), p)
            for p, v in sorted(peers.items())
            if v.connected and p != node_id and v.sizes.get(origin, 0) > mine
        ]
        if ahead:
            most = min(size for size, _ in ahead)
            richest = [p for size, p in ahead if size == most]
            keep = current.get(origin)
            sources[origin] = keep if keep in richest else richest[0]
    extra_taken = {o: frozenset(p for p in ps if p in peers) for o, ps in (extra or {}).items()}
    return Plan(node_id, sources, hops, {o: ps for o, ps in extra_taken.items() if ps})


@dataclass(slots=True)
class _Lag:
    since_s: float  # when the node was first seen behind without progress since
    held: int  # the size held then


class Stalls:
    """Origins that some connected peer holds more of while this node makes no progress on
    them for ``grace_s``: those are then taken also from every peer ahead, until caught up.

    A live mesh is behind a peer for a moment all the time (a relay commits an entry a
    moment before the origin's own copy arrives); only a lag without progress counts."""

    def __init__(self, node_id: str, grace_s: float) -> None:
        self.node_id = node_id  # its own log is never taken from peers
        self.grace_s = grace_s
        self._lag: dict[str, _Lag] = {}
        self._extra: dict[str, frozenset[str]] = {}

    def update(
        self, now_s: float, held: Mapping[str, int], peers: Mapping[str, PeerView]
    ) -> dict[str, frozenset[str]]:
        """The origins to take also from other peers, and from which (after this reading)."""
        ahead: dict[str, set[str]] = {}
        for peer, view in peers.items():
            if not view.connected:
                continue
            for origin, size in view.sizes.items():
                if origin != self.node_id and size > held.get(origin, 0):
                    ahead.setdefault(origin, set()).add(peer)
        for origin in list(self._lag):
            if origin not in ahead:
                del self._lag[origin]
        for origin in list(self._extra):
            if origin not in ahead:
                del self._extra[origin]  # caught up with every connected peer
        for origin, peers_ahead in ahead.items():
            mine = held.get(origin, 0)
            lag = self._lag.get(origin)
            if origin in self._extra:
                self._extra[origin] = frozenset(peers_ahead)  # until caught up
            elif lag is None or mine > lag.held:
                self._lag[origin] = _Lag(now_s, mine)  # (again) behind, or progressing
            elif now_s - lag.since_s >= self.grace_s:
                self._extra[origin] = frozenset(peers_ahead)
        return dict(self._extra)

    @property
    def extra(self) -> dict[str, frozenset[str]]:
        return dict(self._extra)
