"""What one replication stream's catch-up says: a line when it starts, progress lines, a line
when it is done, with rates; and the catch-up backlog gauge.

A stream catches up when the peer's Hello shows it holds entries this node lacks. It is
done once the peer said it caught up (the stream's live tail begins) and every batch the
stream received before that is committed (or skipped); or when the session ends first.
Only node ids, counts and rates are logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from node.metrics import METRICS

log = logging.getLogger(__name__)

PROGRESS_ENTRIES = 10_000  # a progress line after this many entries...
PROGRESS_S = 5.0  # ...or this long since the last line, whichever comes first
PROGRESS_MIN_S = 1.0  # but never more than one line a second


class CatchupProgress:
    def __init__(self, peer: str, backlog: int, monotonic: Callable[[], float]) -> None:
        self.peer = peer
        self.backlog = backlog  # entries behind the peer when the session started
        self.committed = 0  # new entries committed by this stream since
        self._monotonic = monotonic
        self._started_s = monotonic()
        self._line_s = self._started_s
        self._line_entries = 0
        self._caught_up = False
        self.done = backlog == 0
        METRICS.catchup_backlog.labels(peer=peer).set(backlog)
        if not self.done:
            log.info("peer %s: catch-up started: %d entries behind", peer, backlog)

    def _rate(self, entries: int, seconds: float) -> float:
        return entries / seconds if seconds > 0 else 0.0

    def on_commit(self, entries: int) -> None:
        """The stream committed ``entries`` new entries (progress lines, the backlog)."""
        self.committed += entries
        if self.done:
            return
        METRICS.catchup_backlog.labels(peer=self.peer).set(max(0, self.backlog - self.committed))
        now = self._monotonic()
        since_s = now - self._line_s
        since = self.committed - self._line_entries
        if since > 0 and (
            since_s >= PROGRESS_S or (since >= PROGRESS_ENTRIES and since_s >= PROGRESS_MIN_S)
        ):
            log.info(
                "peer %s: catch-up %d of %d entries (%.0f entries/s)",
                self.peer,
                self.committed,
                self.backlog,
                self._rate(since, since_s),
            )
            self._line_s, self._line_entries = now, self.committed

    def on_caught_up(self, uncommitted: int) -> None:
        """The peer said the stream's live tail begins; ``uncommitted`` batches received
        before that wait for their commit."""
        self._caught_up = True
        self.settled(uncommitted)

    def settled(self, uncommitted: int) -> None:
        """The stream committed (or skipped) batches; ``uncommitted`` are left."""
        if self._caught_up and uncommitted == 0 and not self.done:
            self._finish("done")

    def end(self, why: str) -> None:
        """The session ended (the link logs why)."""
        if not self.done:
            self._finish(f"ended before it was done ({why})")
        METRICS.catchup_backlog.labels(peer=self.peer).set(0)

    def _finish(self, outcome: str) -> None:
        self.done = True
        seconds = self._monotonic() - self._started_s
        log.info(
            "peer %s: catch-up %s: %d entries in %.1f s (%.0f entries/s)",
            self.peer,
            outcome,
            self.committed,
            seconds,
            self._rate(self.committed, seconds),
        )
        METRICS.catchup_backlog.labels(peer=self.peer).set(0)
