"""Reads asked at once, read in one trip to a store thread.

A trip to a store thread (node.store.runner) costs more CPU than a small indexed query: the
hand-over wakes a thread and the event loop, and they contend for the GIL. Many coroutines
asking the same kind of small read in one turn of the event loop (the lookup responder's
concurrent replies, concurrent Lookups.Request calls) are served by ONE trip that makes
every query, each caller getting exactly the answer a read of its own would have given.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from node.store.runner import Db

A = TypeVar("A")
R = TypeVar("R")


class ReadBatcher(Generic[A, R]):
    """``await read(ask)``: the answer ``read_all([..., ask, ...])`` gives for ``ask``, made
    in a store thread together with the other asks of the same turn of the event loop."""

    def __init__(self, db: Db[Any], read_all: Callable[[Sequence[A]], list[R]]) -> None:
        self._db = db
        self._read_all = read_all
        self._asks: list[tuple[A, asyncio.Future[R]]] = []
        self._trips: set[asyncio.Task[None]] = set()  # held until done

    async def read(self, ask: A) -> R:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[R] = loop.create_future()
        self._asks.append((ask, answer))
        if len(self._asks) == 1:
            # After the callbacks already due: the other asks of this turn join the trip.
            loop.call_soon(self._trip)
        return await answer

    def _trip(self) -> None:
        asks, self._asks = self._asks, []
        trip = asyncio.get_running_loop().create_task(self._serve(asks))
        self._trips.add(trip)
        trip.add_done_callback(self._trips.discard)

    async def _serve(self, asks: Sequence[tuple[A, asyncio.Future[R]]]) -> None:
        try:
            answers = await self._db.read(self._read_all, [ask for ask, _ in asks])
        except asyncio.CancelledError:
            for _, answer in asks:
                answer.cancel()
            raise
        except Exception as exc:  # every caller of the trip learns it
            for _, answer in asks:
                if not answer.done():
                    answer.set_exception(exc)
            return
        for (_, answer), found in zip(asks, answers, strict=True):
            if not answer.done():  # else its caller was cancelled
                answer.set_result(found)
