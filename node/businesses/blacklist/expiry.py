"""Automatic delisting of fixed-term blacklist entries (法释〔2017〕7号 art. 2).

A fixed-term listing is delisted, ground EXPIRED, once its term has ended — well within the 3
working days the rule allows. Only the listing node does this (single writer). Time comes from
the node's injected clock, so tests move a fake clock instead of waiting two years.
"""

from __future__ import annotations

import asyncio
import logging

from ccnode.v1 import log_pb2, payloads_pb2
from node.aio import cancel_and_wait
from node.clock import Clock, today
from node.ownlog.writer import Draft, DraftRejected
from node.ports import Appender
from node.store.base import RowQuery, RowStore
from node.store.runner import Db
from sync.folds import blacklist as bl_fold

log = logging.getLogger(__name__)

ACTOR = "ccnode-scheduler"
PAGE_ROWS = 1000


class BlacklistExpiry:
    def __init__(
        self,
        *,
        db: Db[RowStore],
        appender: Appender,
        node_id: str,
        clock: Clock,
        interval_s: float = 3600.0,
    ) -> None:
        self._db = db
        self._appender = appender
        self._node_id = node_id
        self._clock = clock
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="ccnode-blacklist-expiry")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep the schedule whatever one run met
                log.exception("blacklist expiry run failed")
            await asyncio.sleep(self.interval_s)

    def _expired(self, day: str) -> list[str]:
        """Subjects of this node's listings whose term ended before ``day`` (blocking).

        Only listed rows with a term end ("" > nothing) before ``day`` are read, paged by key
        (an index on status and term end serves it), so a run costs what is due, not the size
        of the blacklist.
        """
        store = self._db.store
        due: list[str] = []
        after_key: str | None = None
        while True:
            rows, _ = store.query_rows(
                RowQuery(
                    table=bl_fold.TABLE,
                    equals={"origin": self._node_id, "status": "listed"},
                    above={"term_end_on": ""},
                    below={"term_end_on": day},
                    after_key=after_key,
                    limit=PAGE_ROWS,
                )
            )
            due.extend(r["key"] for r in rows)
            if len(rows) < PAGE_ROWS:
                return due
            after_key = rows[-1]["key"]

    async def run_once(self) -> list[str]:
        """Delist every expired listing now; return the subjects delisted."""
        day = today(self._clock)
        subjects = await self._db.read(self._expired, day.isoformat())
        done = []
        for subject in subjects:
            payload = payloads_pb2.Payload(
                blacklist_delisted=payloads_pb2.BlacklistDelisted(
                    ground=payloads_pb2.EXPIRED,
                    reason="期限届满 term expired",
                    delisted_on=day.isoformat(),
                )
            )
            draft = Draft(kind=log_pb2.BLACKLIST_DELISTED, payload=payload, subject=subject)
            try:
                await self._appender.submit([draft], ACTOR)
            except DraftRejected as exc:  # e.g. delisted by an officer meanwhile
                log.info("expiry of %s skipped: %s", subject, exc.rule)
                continue
            done.append(subject)
        if done:
            log.info("delisted %d expired listings", len(done))
        return done
