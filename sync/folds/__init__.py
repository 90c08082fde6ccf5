"""Deterministic folds of log entries into materialised state.

Every node folds the entries it holds with the same rules, so state depends only on the logs,
never on arrival order or wall clocks. ``fold_batch`` folds one verified batch of one origin
(in index order) over the current rows of the subjects it touches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sync.entry import Header
from sync.folds import blacklist
from sync.folds.blacklist import Ignored, Row

StateKey = tuple[str, str]  # (table, key)


@dataclass(slots=True)
class FoldResult:
    changes: dict[StateKey, Row] = field(default_factory=dict)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (entry id, reason)


def table_for(kind: int) -> str | None:
    if kind in blacklist.KINDS:
        return blacklist.TABLE
    return None


def state_keys(headers: Sequence[Header]) -> set[StateKey]:
    """The rows a batch may touch: fetch these before folding."""
    keys = set()
    for header in headers:
        table = table_for(header.kind)
        if table is not None:
            keys.add((table, header.subject))
    return keys


def fold_batch(
    items: Sequence[tuple[Header, bytes | None]], current: Mapping[StateKey, Row]
) -> FoldResult:
    result = FoldResult()
    for header, payload in items:
        table = table_for(header.kind)
        if table is None:
            continue
        key = (table, header.subject)
        row = result.changes.get(key, current.get(key))
        outcome = blacklist.fold(row, header, payload)
        if isinstance(outcome, Ignored):
            result.ignored.append((header.entry_id, outcome.reason))
        else:
            result.changes[key] = outcome
    return result
