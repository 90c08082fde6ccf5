"""Which origins each link takes from its peer (sync.routing), kept current as links come and
go, peers' routes change and origins stall; and the checkpoints peers gossip for the origins
a link does not take, checked against the held log once it is held (equivocation).

The links tell the router what they see (connected, the peer's routes and sizes, gossip,
commits); the router plans with sync.routing and pushes each link's new selection to it
(``PeerLink.retake``), and wakes this node's own streams when the routes it advertises change
(the Routing port, read by the Federation service).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from node.aio import cancel_and_wait
from node.clock import Clock
from node.ports import ChangeFeed, EquivocationWatch
from node.replication.exchange import gossip_checkpoint
from node.store.base import LogReader, OriginState
from node.store.runner import Db
from sync import routing
from sync.note import NoteError, parse_note
from sync.routing import PeerView, Plan, Stalls

log = logging.getLogger(__name__)

# How often the router looks for stalls and checks pending gossip, at most.
TICK_S_MAX = 0.25
# Gossiped notes kept parsed (a few per origin and peer between two checks).
PARSED_NOTES_MAX = 1024
FROZEN_HELD = 2**63  # the size a frozen origin counts as held, for the stall check
# Held checkpoint bodies kept per origin (the latest sizes seen at ticks).
HELD_BODIES_MAX = 8


class Router:
    def __init__(
        self,
        *,
        node_id: str,
        db: Db[LogReader],
        equivocation: EquivocationWatch,
        notify: Callable[[], None],
        clock: Clock,
        stall_grace_s: float,
        changes: ChangeFeed | None = None,
    ) -> None:
        self._node_id = node_id
        self._db = db
        self._equivocation = equivocation
        self._notify = notify  # the ChangeFeed: streams send this node's new routes
        # The ChangeFeed's version moves on every commit: a tick reads the origin states
        # only when it moved (None: at every tick).
        self._changes = changes
        self._states: tuple[int, list[OriginState]] | None = None
        self._clock = clock
        self._stalls = Stalls(node_id, stall_grace_s)
        self._tick_s = min(TICK_S_MAX, max(0.05, stall_grace_s / 4))
        self._views: dict[str, PeerView] = {}
        self._pushers: dict[str, Callable[[frozenset[str]], None]] = {}
        self._held: dict[str, int] = {}
        self._plan: Plan = routing.plan(node_id, {}, {})
        self._pending: dict[tuple[str, str], tuple[int, str]] = {}
        # Per origin, the gossiped note checked last: every peer gossips the same note (the
        # origin's signature only), so each is checked against the held log once, not once
        # per peer (a signature check and two reads each).
        self._checked: dict[str, str] = {}
        # Gossiped notes parsed lately: the peers gossip the same notes.
        self._parsed: dict[str, tuple[str, int, str] | None] = {}
        # Per origin, the bodies of the latest checkpoints this node held at a tick, by size:
        # a gossiped note with one of them as its body agrees with the held log.
        self._bodies: dict[str, dict[int, str]] = {}
        self._task: asyncio.Task[None] | None = None

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        self._held = await self._db.read(self._db.store.vector)
        self._replan()
        self._task = asyncio.create_task(self._ticks(), name="ccnode-router")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    # ---------------------------------------------------------------- what links see

    def attach(self, peer: str, push: Callable[[frozenset[str]], None]) -> None:
        """A link to ``peer`` runs; ``push`` hands it a new selection while it streams."""
        self._pushers[peer] = push
        self._views.setdefault(peer, PeerView(connected=False))

    def detach(self, peer: str) -> None:
        self._pushers.pop(peer, None)
        self._views.pop(peer, None)
        self._replan()

    def connected(self, peer: str, *, selective: bool, sizes: Mapping[str, int]) -> None:
        """The link said Hello and opens its stream; ``selective``: the peer takes a
        selection and advertises routes (until its routes arrive, it routes its own log only)."""
        self._views[peer] = PeerView(True, {} if selective else None, dict(sizes))
        self._replan()

    def disconnected(self, peer: str) -> None:
        if peer in self._views:
            self._views[peer] = PeerView(connected=False)
            self._replan()

    def peer_routes(self, peer: str, hops: Mapping[str, int]) -> None:
        view = self._views.get(peer)
        if view is not None and view.connected:
            self._views[peer] = PeerView(True, dict(hops), view.sizes)
            self._replan()

    def peer_sizes(self, peer: str, sizes: Mapping[str, int]) -> None:
        """The peer's vector, from its CaughtUp (what the stall check compares with)."""
        view = self._views.get(peer)
        if view is not None and view.connected:
            self._views[peer] = PeerView(True, view.hops, dict(sizes))
            sources = self._plan.sources
            if any(
                o not in sources and o != self._node_id and n > self._held.get(o, 0)
                for o, n in sizes.items()
            ):
                self._replan()  # an origin nobody routes: taken from a peer that holds more

    def applied(self, origin: str, size: int) -> None:
        """A batch of ``origin`` committed, up to ``size``."""
        if size > self._held.get(origin, 0):
            self._held[origin] = size

    def gossip(self, peer: str, note: str) -> None:
        """A checkpoint the peer holds of an origin this node takes elsewhere: checked
        against the held log once the node holds that size (by the next tick)."""
        parsed = self._parsed.get(note)
        if parsed is None:
            parsed = gossip_checkpoint(note)
            if len(self._parsed) >= PARSED_NOTES_MAX:
                self._parsed.clear()
            self._parsed[note] = parsed
        if parsed is None or parsed[0] == self._node_id:
            return
        origin, size, _ = parsed
        self._pending[(peer, origin)] = (size, note)  # the latest per peer and origin
        view = self._views.get(peer)
        if view is not None and view.connected and size > view.sizes.get(origin, 0):
            # What the stall check compares with, between CaughtUps (signed, besides).
            self.peer_sizes(peer, {**view.sizes, origin: size})

    # ---------------------------------------------------------------- what links ask

    def sources(self) -> dict[str, str]:
        return dict(self._plan.sources)

    def takes(self, peer: str) -> frozenset[str]:
        return self._plan.takes(peer)

    def held(self, origins: frozenset[str]) -> dict[str, int]:
        """The sizes held of ``origins``, as a Take tells the peer where to resume."""
        return {o: self._held.get(o, 0) for o in origins}

    def advertised(self, subscriber: str) -> dict[str, int]:
        """The Routing port: this node's routes as told to ``subscriber``."""
        return self._plan.advertised(subscriber)

    # ---------------------------------------------------------------- planning

    def _replan(self) -> None:
        before = self._plan
        after = routing.plan(
            self._node_id,
            self._views,
            self._held,
            current=before.sources,
            extra=self._stalls.extra,
        )
        self._plan = after
        for peer, push in list(self._pushers.items()):
            if before.takes(peer) != after.takes(peer):
                push(after.takes(peer))
        if before.hops != after.hops or before.sources != after.sources:
            self._notify()

    async def _origin_states(self) -> list[OriginState]:
        """The origin states, read again only after a commit (or freeze) since the last read."""
        if self._changes is None:
            return await self._db.read(self._db.store.origin_states)
        version = self._changes.version
        if self._states is None or self._states[0] != version:
            self._states = (version, await self._db.read(self._db.store.origin_states))
        return self._states[1]

    async def _ticks(self) -> None:
        while True:
            await asyncio.sleep(self._tick_s)
            try:
                await self._tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # the next tick tries again; links keep their selections
                log.exception("routing tick failed")

    async def _tick(self) -> None:
        states = await self._origin_states()
        for st in states:
            self.applied(st.origin, st.size)
        # A frozen origin never progresses here, and peers that have not frozen it yet are
        # ahead of it: never a stall.
        held = {**self._held, **{st.origin: FROZEN_HELD for st in states if st.frozen}}
        before = self._stalls.extra
        extra = self._stalls.update(self._clock.monotonic_s(), held, self._views)
        if extra != before:
            if set(extra) - set(before):
                log.info(
                    "origins %s lag a peer without progress: taken also from the peers ahead",
                    ", ".join(sorted(set(extra) - set(before))),
                )
            self._replan()
        due = [
            (key, note)
            for key, (size, note) in self._pending.items()
            if size <= self._held.get(key[1], 0)
        ]
        for st in states:
            if st.checkpoint_note:
                self._held_checkpoint(st.origin, st.size, st.checkpoint_note)
        for key, note in due:
            del self._pending[key]
            if self._checked.get(key[1]) == note:
                continue  # the held log below its size never changes: checked already
            if not self._agrees(key[1], note):
                await self._equivocation.check_held(key[1], note)
            self._checked[key[1]] = note

    def _held_checkpoint(self, origin: str, size: int, note: str) -> None:
        """Keep the body of a checkpoint this node holds (verified when it was committed)."""
        bodies = self._bodies.setdefault(origin, {})
        if size in bodies:
            return
        try:
            bodies[size] = parse_note(note).text
        except NoteError:
            return
        while len(bodies) > HELD_BODIES_MAX:
            del bodies[min(bodies)]

    def _agrees(self, origin: str, note: str) -> bool:
        """Whether a gossiped note says what a checkpoint this node holds says (same origin,
        size and root: the same body), so it cannot disagree with the held log: checking it
        against the store (EquivocationWatch.check_held) would find the same."""
        body = self._bodies.get(origin, {})
        parsed = self._parsed.get(note) or gossip_checkpoint(note)
        if parsed is None or parsed[1] not in body:
            return False
        try:
            return parse_note(note).text == body[parsed[1]]
        except NoteError:
            return False
