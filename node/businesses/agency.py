"""Who may read the blacklist through the Agency service, and how much.

An agency of joint punishment (联合惩戒单位) calls with an ``agency/<name>`` certificate and
must be admitted on this node (`ccnode agencies add`, the ``agencies`` table); a node or an
auditor certificate is refused unless node.json's ``agencies.granted`` names it. Each caller
has a token bucket of calls (``rate_per_s``, ``burst``) and a daily quota of subjects checked
(UTC day, on the node's injected clock). The day's counts are kept in memory: a restart
starts the day's count again (every call stays in the log, `ccnode audit access`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from node.clock import Clock
from node.config import Agencies
from node.identity.spiffe import Identity
from node.store.base import AgencyRecord, AgencyStore
from node.store.runner import Db


@dataclass(frozen=True, slots=True)
class AgencyLimits:
    rate_per_s: float
    burst: int
    daily_quota: int


@dataclass(frozen=True, slots=True)
class Admission:
    """A caller's right to the service: its limits, or the refusal reason."""

    limits: AgencyLimits | None
    reason: str = ""


def effective_limits(record: AgencyRecord | None, defaults: Agencies) -> AgencyLimits:
    if record is None:
        return AgencyLimits(defaults.rate_per_s, defaults.burst, defaults.daily_quota)
    return AgencyLimits(
        record.rate_per_s or defaults.rate_per_s,
        record.burst or defaults.burst,
        record.daily_quota or defaults.daily_quota,
    )


class AgencyGate:
    """Admission, rate and quota of the Agency service's callers (one per node: the admin
    API reports the day's use from it)."""

    def __init__(self, *, db: Db[AgencyStore], config: Agencies, clock: Clock) -> None:
        self._db = db
        self._config = config
        self._clock = clock
        self._granted = frozenset(config.granted)
        self._buckets: dict[str, tuple[float, float]] = {}  # uri -> (tokens, at_s)
        self._day = self._today()
        self._used: dict[str, int] = {}  # uri -> subjects checked on self._day

    @property
    def config(self) -> Agencies:
        return self._config

    def _today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self._clock.now_ms() / 1000, dt.UTC).date()

    async def admit(self, identity: Identity) -> Admission:
        if identity.role == "agency":
            records = await self._db.read(self._db.store.agencies)
            record = next((r for r in records if r.name == identity.name), None)
            if record is None:
                return Admission(None, "agency_not_admitted")
            return Admission(effective_limits(record, self._config))
        if f"{identity.role}/{identity.name}" in self._granted:
            return Admission(effective_limits(None, self._config))
        return Admission(None, f"role_not_granted:{identity.role}")

    def take(self, uri: str, limits: AgencyLimits, subjects: int) -> str:
        """Charge one call of ``subjects`` subjects; "" if allowed, else the refusal reason
        ("rate_limited" or "daily_quota"), nothing charged."""
        today = self._today()
        if today != self._day:
            self._day, self._used = today, {}
        used = self._used.get(uri, 0)
        if used + subjects > limits.daily_quota:
            return "daily_quota"
        now_s = self._clock.monotonic_s()
        tokens, at_s = self._buckets.get(uri, (float(limits.burst), now_s))
        tokens = min(float(limits.burst), tokens + (now_s - at_s) * limits.rate_per_s)
        if tokens < 1.0:
            self._buckets[uri] = (tokens, now_s)
            return "rate_limited"
        self._buckets[uri] = (tokens - 1.0, now_s)
        self._used[uri] = used + subjects
        return ""

    def used_today(self, uri: str) -> int:
        return self._used.get(uri, 0) if self._today() == self._day else 0

    def forget(self, uri: str) -> None:
        """An agency removed: its bucket goes (its day's count stays: re-admitting it the
        same day does not reset its quota)."""
        self._buckets.pop(uri, None)
