"""A node-wide "the store changed" signal for live tails (Subscribe streams, witnesses): the
ChangeFeed port. ``close`` at shutdown wakes every waiter with ``closed`` set, so live streams
end cleanly."""

from __future__ import annotations

import asyncio
import contextlib


class Watch:
    def __init__(self) -> None:
        self.version = 0
        self.closed = False
        self._event = asyncio.Event()

    def close(self) -> None:
        self.closed = True
        self.notify()

    def notify(self) -> None:
        """Call on the event loop after a commit."""
        self.version += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seen_version: int, timeout_s: float) -> int:
        """Wait until the version moves past ``seen_version`` or the timeout; return it."""
        if self.version != seen_version:
            return self.version
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout_s)
        return self.version
