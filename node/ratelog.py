"""One log line per kind of event per interval, however often it happens.

A hostile caller chooses how often a node refuses it or fails its request; if every refusal
or failure wrote a log line, it would choose the size of the node's logs too. ``RateLimitedLog``
writes the first event of a kind, then at most one line per ``interval_s``, saying how many
events of that kind it left out since the last line. Kinds come from a fixed vocabulary (a
refusal reason, an exception class name), never from what a caller sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from node.clock import Clock

LOG_INTERVAL_S = 60.0
# Kinds remembered at most: a bound on the memory, should a kind ever carry caller input.
KINDS_MAX = 1024


@dataclass
class _Seen:
    logged_at_s: float
    suppressed: int = 0


class RateLimitedLog:
    def __init__(
        self, logger: logging.Logger, clock: Clock, *, interval_s: float = LOG_INTERVAL_S
    ) -> None:
        self._log = logger
        self._clock = clock
        self._interval_s = interval_s
        self._seen: dict[str, _Seen] = {}

    def log(
        self, level: int, kind: str, message: str, *args: object, exc_info: bool = False
    ) -> bool:
        """Log ``message % args`` unless ``kind`` was logged within the interval; True if it
        was written."""
        now_s = self._clock.monotonic_s()
        seen = self._seen.get(kind)
        if seen is not None and now_s - seen.logged_at_s < self._interval_s:
            seen.suppressed += 1
            return False
        if seen is None and len(self._seen) >= KINDS_MAX:
            self._seen.clear()
        suppressed = seen.suppressed if seen is not None else 0
        self._seen[kind] = _Seen(now_s)
        if suppressed:
            message += " (%d more of this kind since the last line)"
            args = (*args, suppressed)
        self._log.log(level, message, *args, exc_info=exc_info)
        return True

    def warning(self, kind: str, message: str, *args: object) -> bool:
        return self.log(logging.WARNING, kind, message, *args)

    def error(self, kind: str, message: str, *args: object, exc_info: bool = False) -> bool:
        return self.log(logging.ERROR, kind, message, *args, exc_info=exc_info)
