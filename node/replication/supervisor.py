"""Supervision of the catch-up helper process (node.replication.worker).

A stream that starts far behind asks ``current()`` for the helper. The helper is started in the
background on first need, and until it is up the stream prepares its batches in threads. If
it dies, catch-ups run in threads for ``WORKER_RETRY_S`` before the next start, so a helper
that keeps failing costs speed, never correctness (every result is checked again at commit).
"""

from __future__ import annotations

import asyncio
import logging

from node.clock import Clock
from node.replication.apply import PrepareRules
from node.replication.worker import PrepareWorker

log = logging.getLogger(__name__)

# After the prepare worker failed, catch-ups run in threads for this long before a retry.
WORKER_RETRY_S = 300.0


class CatchupWorkers:
    def __init__(self, *, rules: PrepareRules, enabled: bool, clock: Clock) -> None:
        """``enabled``: the node's store can take the helper's rows (SQL stores) and the
        limits do not turn it off."""
        self._rules = rules
        self._enabled = enabled
        self._clock = clock
        self._closed = False
        self._worker: PrepareWorker | None = None
        self._starting: asyncio.Task[None] | None = None
        self._failed_at_s: float | None = None

    def current(self) -> PrepareWorker | None:
        """The helper process if it is running; otherwise None, and it is started in the
        background unless disabled, closed, or one failed in the last WORKER_RETRY_S."""
        if not self._enabled or self._closed:
            return None
        worker = self._worker
        if worker is not None and worker.alive:
            return worker
        if self._starting is None:
            failed = self._failed_at_s
            if failed is None or self._clock.monotonic_s() - failed >= WORKER_RETRY_S:
                self._starting = asyncio.create_task(
                    self._start(), name="ccnode-start-prepare-worker"
                )
        return None

    async def _start(self) -> None:
        try:
            if self._worker is not None:  # it died: catch up in threads for a while
                log.warning("prepare worker exited; catching up in threads for a while")
                await self._worker.close()
                self._worker = None
                self._failed_at_s = self._clock.monotonic_s()
                return
            worker = PrepareWorker(self._rules)
            try:
                await worker.start()
            except OSError:
                log.exception("prepare worker did not start; catching up in threads")
                self._failed_at_s = self._clock.monotonic_s()
                return
            self._worker = worker
            log.info("prepare worker started: catch-ups are verified in a helper process")
        finally:
            self._starting = None

    async def close(self) -> None:
        """Wait for a start in progress, then stop the helper; no new one starts."""
        self._closed = True
        if self._starting is not None:
            await self._starting
        if self._worker is not None:
            await self._worker.close()
            self._worker = None
