"""The day a read evaluates the court rules on: the request's ``as_of``, or the node's today.

Time limits, seizure terms and listing terms are pure functions of a date (sync/domain/); a
read that names a day gets what the rules say on that day, from the same functions and the
same rows, so an officer can ask what will be overdue next Monday and a test can show a
7-day limit without moving a clock. The day is court-local (China Standard Time), like every
date the rules count.
"""

from __future__ import annotations

import datetime as dt
import re

import grpc

from node.clock import Clock, today
from node.services.errors import refuse

# Exactly YYYY-MM-DD: date.fromisoformat alone also takes "20250108" and week dates.
_ISO_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_as_of(text: str, clock: Clock) -> dt.date | None:
    """The day ``text`` names (the node's today when empty); None when it is no date."""
    if not text:
        return today(clock)
    if not _ISO_DATE_RE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:  # e.g. 2025-02-30
        return None


async def as_of_day(context: grpc.aio.ServicerContext, text: str, clock: Clock) -> dt.date:
    """The day of a request's ``as_of``; a malformed one ends the call (field ``as_of``, rule
    ``date``)."""
    day = parse_as_of(text, clock)
    if day is None:
        await refuse(
            context,
            "as_of",
            "date",
            "must be a date YYYY-MM-DD (China Standard Time), or empty",
            zh="须为日期 YYYY-MM-DD（北京时间），或不填",
        )
    return day
