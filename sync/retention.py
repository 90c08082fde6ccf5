"""Payload retention (PIPL arts. 6 and 34, minimum necessary): which payloads of closed matters
a node may purge, and from which day.

A payload is purged only once its matter is closed, and only ``days`` after the day it closed
(court-local, CST); the period is never below the operation-log minimum (Cybersecurity Law
art. 21: six months, ``OPERATION_LOG_DAYS_MIN``). What "closed" means is fixed per rule below and
read from the folded row alone (its status and dates), so it is the same on every node that
holds the row:

* ``lookup_requests`` / ``lookup_answers``: a lookup answered or denied; from the day of the
  reply (``answered_on``). Requests and replies are separate rules (separate periods).
* ``tasks``: a task in a terminal status (completed, failed, rejected, cancelled) none of whose
  seizures is queued or pending; from the latest of its finishing day, the days its seizures
  were released and the term ends of those still in effect (a measure binds until then).
* ``blacklist``: a listing that was delisted (any ground: performed, revoked, term expired,
  ...); from the delisting day. A current listing is never closed.
* ``access``: a recorded read of personal data; from the day it was recorded.

Purging clears the payload of the entries of a closed subject and nothing else: headers,
salts, leaf hashes, checkpoints and the folded rows stay as they were. Every fold takes an
entry's payload only when it folds that entry (sync/folds/__init__.py: ``fold(row, header,
payload)``) and keeps what later entries need inside the row, so no fold ever reads a stored
payload again and the folded state is the same whether a node purged or not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from ccnode.v1 import log_pb2, state_pb2
from sync.domain.tasks import TERMINAL_STATUSES
from sync.folds.types import ACCESS_TABLE, BLACKLIST_TABLE, LOOKUPS_TABLE, TASKS_TABLE, Row
from sync.hlc import physical_ms

# Cybersecurity Law art. 21: network operation logs are kept at least six months. A payload
# of a closed matter is part of the record of that operation, so no period may be shorter.
OPERATION_LOG_DAYS_MIN = 183

_CST_OFFSET_MS = 8 * 3600 * 1000
_DAY_MS = 86_400_000
_EPOCH = dt.date(1970, 1, 1)

# Seizure states that keep a task's matter open for as long as the row says nothing else: a
# queued measure takes effect only when the one ahead is released, a pending one is not yet in
# the ledger. A measure in effect binds the asset until it is released or its term ends
# (unrenewed, it lapses on ``end_on``).
OPEN_SEIZURE_STATUSES = frozenset({"queued", "pending"})


@dataclass(frozen=True, slots=True)
class Rule:
    """One retention rule: the folded table it reads, the entry kinds whose payloads it purges,
    and what it says in a read after a purge."""

    name: str  # config key stem: Retention.<name>_days
    table: str
    kinds: frozenset[int]
    closed_by: str  # what closes the matter, for docs and `ccnode retention status`


RULES: tuple[Rule, ...] = (
    Rule(
        "lookup_requests",
        LOOKUPS_TABLE,
        frozenset({log_pb2.LOOKUP_REQUESTED}),
        "the reply (answered or denied)",
    ),
    Rule(
        "lookup_answers",
        LOOKUPS_TABLE,
        frozenset({log_pb2.LOOKUP_ANSWERED, log_pb2.LOOKUP_DENIED}),
        "the reply (answered or denied)",
    ),
    Rule(
        "tasks",
        TASKS_TABLE,
        frozenset(
            {
                log_pb2.TASK_DELEGATED,
                log_pb2.TASK_ACCEPTED,
                log_pb2.TASK_REJECTED,
                log_pb2.TASK_RETURNED,
                log_pb2.TASK_SUPPLEMENTED,
                log_pb2.TASK_PROGRESS,
                log_pb2.TASK_COMPLETED,
                log_pb2.TASK_FAILED,
                log_pb2.TASK_CANCELLED,
                log_pb2.SEIZURE_RENEWED,
                log_pb2.SEIZURE_RELEASED,
            }
        ),
        "a terminal status, every seizure released or past its term",
    ),
    Rule(
        "blacklist",
        BLACKLIST_TABLE,
        frozenset(
            {log_pb2.BLACKLIST_LISTED, log_pb2.BLACKLIST_CORRECTED, log_pb2.BLACKLIST_DELISTED}
        ),
        "delisting (any ground, revocation and term expiry included)",
    ),
    Rule("access", ACCESS_TABLE, frozenset({log_pb2.ACCESS_RECORDED}), "the read itself"),
)
RULES_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}
# The rules that read one table (the lookups table feeds two rules).
RULES_BY_TABLE: dict[str, tuple[Rule, ...]] = {
    table: tuple(r for r in RULES if r.table == table) for table in {r.table for r in RULES}
}


class RetentionError(ValueError):
    """A retention period breaks a rule; the message names the setting and the rule."""


def check_period(key: str, days: int) -> None:
    """Refuse a period below the operation-log minimum (or not a whole number of days)."""
    if isinstance(days, bool) or not isinstance(days, int):
        raise RetentionError(f"{key}: must be a whole number of days")
    if days < OPERATION_LOG_DAYS_MIN:
        raise RetentionError(
            f"{key}: {days} days is below the operation-log minimum of "
            f"{OPERATION_LOG_DAYS_MIN} days (six months, Cybersecurity Law art. 21)"
        )


def unix_ms_date(at_unix_ms: int) -> dt.date:
    """The court-local (CST) date of a Unix time in milliseconds."""
    return _EPOCH + dt.timedelta(days=(at_unix_ms + _CST_OFFSET_MS) // _DAY_MS)


def hlc_date(hlc: int) -> dt.date:
    """The court-local (CST) date of an HLC timestamp."""
    return unix_ms_date(physical_ms(hlc))


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def closed_on(table: str, row: Row) -> dt.date | None:
    """The court-local day the row's matter closed; None while it is open (or the row's dates
    are unusable: then nothing is purged)."""
    if table == LOOKUPS_TABLE:
        if row.get("status") not in ("answered", "denied"):
            return None
        return _day(row.get("answered_on") or "")
    if table == BLACKLIST_TABLE:
        if row.get("status") != "delisted":
            return None
        return _day(row.get("delisted_on") or "")
    if table == TASKS_TABLE:
        return task_closed_on(state_pb2.TaskState.FromString(row["record"]))
    if table == ACCESS_TABLE:
        return hlc_date(state_pb2.AccessState.FromString(row["record"]).hlc)
    raise ValueError(f"no retention rule reads table {table!r}")


def task_closed_on(task: state_pb2.TaskState) -> dt.date | None:
    """A task's matter closes when the task is terminal and none of its seizures binds an asset
    any more: on the latest of its finishing day, its seizures' release days and the ends of
    the terms of those still in effect (a renewal moves the end, and so the closing day). A
    queued or pending seizure keeps the matter open."""
    if task.status not in TERMINAL_STATUSES:
        return None
    finished = _day(task.finished_on)
    if finished is None:
        return None
    days = [finished]
    for seizure in task.seizures:
        if seizure.status in OPEN_SEIZURE_STATUSES:
            return None
        if seizure.status == "released":
            day = _day(seizure.released_on)
        elif seizure.status == "in_effect":
            day = _day(seizure.end_on)
        else:  # "void": never in the ledger
            continue
        if day is None:
            return None  # a binding measure without a usable date: keep everything
        days.append(day)
    return max(days)


def due_on(closed: dt.date, days: int) -> dt.date:
    """The first day a closed matter's payloads may be purged."""
    return closed + dt.timedelta(days=days)


def is_due(closed: dt.date | None, days: int, as_of: dt.date) -> bool:
    return closed is not None and due_on(closed, days) <= as_of


def latest_closing_day(as_of: dt.date, days: int) -> dt.date:
    """Matters closed on or before this day are due on ``as_of``."""
    return as_of - dt.timedelta(days=days)


def rules_for_kind(kind: int) -> tuple[Rule, ...]:
    return tuple(r for r in RULES if kind in r.kinds)


def rule_of(table: str, kind: int) -> Rule | None:
    """The rule that purges an entry of ``kind`` of a subject of ``table``."""
    for rule in RULES_BY_TABLE.get(table, ()):
        if kind in rule.kinds:
            return rule
    return None


def purge_note(purged_on: str, rule: str) -> str:
    """What a read says of a purged payload (no personal data: a date and a rule name)."""
    return f"purged on {purged_on} by retention rule {rule}"


def names(rules: Iterable[Rule]) -> list[str]:
    return [r.name for r in rules]
