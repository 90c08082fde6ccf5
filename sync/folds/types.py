"""What every fold shares: the row it returns, its refusal, and the state tables' names.

A row is a flat mapping of column to value whose ``record`` column holds the fold's state
message (ccnode.v1.state, serialised deterministically); the other columns are what the store
indexes and filters on. The tables' columns are node/store/base.py STATE_TABLES.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Row = dict[str, Any]
StateKey = tuple[str, str]  # (table, key)

# The folded-state tables, each written by one fold (sync/folds/__init__.py MODULES).
BLACKLIST_TABLE = "blacklist"  # ListingState, one row per listing
# Derived from a listing's row: one row per representative of a listed organisation (and role),
# so a person's ID finds the organisations whose consumption restriction binds them.
REPRESENTATIVES_TABLE = "blacklist_representatives"
LOOKUPS_TABLE = "lookups"  # LookupState, one row per lookup
ACCESS_TABLE = "access"  # AccessState, one row per recorded read
ACCESS_SUBJECTS_TABLE = "access_subjects"  # derived: one row per subject of a many-subject read
TASKS_TABLE = "tasks"  # TaskState, one row per task
SEIZURES_TABLE = "seizures"  # SeizureState, derived from the task's row


@dataclass(frozen=True, slots=True)
class Ignored:
    """A fold's decision to leave the state as it was, and why: every node ignores the same
    entries, so replication never stalls on one unusable fact."""

    reason: str
