"""Deterministic folds of log entries into materialised state.

Every node folds the entries it holds with the same rules, so state depends only on the logs,
never on arrival order or wall clocks. Each business has a fold module exposing:

* ``TABLE``: the folded-state table it writes (one row per subject; the names, the row type
  and ``Ignored`` are in sync/folds/types.py, the state messages in proto/ccnode/v1/state.proto),
* ``KINDS``: the entry kinds it folds,
* ``fold(row, header, payload) -> Row | Ignored``: the row after one entry,
* optionally ``derive(row) -> {(table, key): row}``: rows of other tables that are a function
  of that row alone (the seizure ledger of a task), upserted in the same change set,
* optionally ``COURT_BOUND = True``: the fold takes ``courts=``, the court prefixes the
  batch's origin may state facts for (from its CA-issued log-signing certificate), and ignores
  a fact for another court as ``court_not_served``,
* optionally ``NEW_ROW_KINDS``: kinds whose entry only ever creates its subject's row, which
  no earlier entry can have created (or is ignored whatever the row): ``state_keys`` leaves
  their subjects out, so a receiver never looks up a row that cannot exist,
* optionally ``related_keys(header) -> [StateKey]``: other rows, named by the header alone,
  that the fold of that entry reads (passed as ``related=``; the rows of earlier tasks a new
  delegation names, for the whole-case closure). They are fetched with ``state_keys``.

A fold whose order matters across origins (delegated tasks have two writers) keeps what it
needs inside the row and recomputes the state from it, so any delivery order gives the same
row. ``fold_batch`` folds one verified batch of one origin (in index order) over the current
rows of the subjects it touches.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType

from sync.entry import Header
from sync.folds import access, blacklist, lookups, tasks
from sync.folds.types import Ignored, Row, StateKey

FoldFn = Callable[[Row | None, Header, bytes | None], Row | Ignored]

# Registered fold modules; add a business by adding its module here.
MODULES: tuple[ModuleType, ...] = (blacklist, lookups, access, tasks)

_BY_KIND: dict[int, tuple[str, FoldFn]] = {
    kind: (module.TABLE, module.fold) for module in MODULES for kind in module.KINDS
}
_COURT_FOLDS: dict[int, Callable[..., Row | Ignored]] = {
    kind: module.fold
    for module in MODULES
    if getattr(module, "COURT_BOUND", False)
    for kind in module.KINDS
}
_DERIVE: dict[str, Callable[[Row], dict[StateKey, Row]]] = {
    module.TABLE: module.derive for module in MODULES if hasattr(module, "derive")
}
_RELATED: dict[int, Callable[[Header], list[StateKey]]] = {
    kind: module.related_keys
    for module in MODULES
    if hasattr(module, "related_keys")
    for kind in module.KINDS
}
_NEW_ROW_KINDS: frozenset[int] = frozenset(
    kind for module in MODULES for kind in getattr(module, "NEW_ROW_KINDS", ())
)


@dataclass(slots=True)
class FoldResult:
    changes: dict[StateKey, Row] = field(default_factory=dict)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (entry id, reason)


def table_for(kind: int) -> str | None:
    hit = _BY_KIND.get(kind)
    return hit[0] if hit else None


def state_keys(headers: Sequence[Header]) -> set[StateKey]:
    """The existing rows a batch may touch: fetch these before folding."""
    keys = set()
    for header in headers:
        hit = _BY_KIND.get(header.kind)
        if hit is not None and header.kind not in _NEW_ROW_KINDS:
            keys.add((hit[0], header.subject))
        related = _RELATED.get(header.kind)
        if related is not None:
            keys.update(related(header))
    return keys


def fold_batch(
    items: Sequence[tuple[Header, bytes | None]],
    current: Mapping[StateKey, Row],
    *,
    courts: Sequence[str] | None = None,
) -> FoldResult:
    """Fold one origin's entries in order. ``courts``: the court prefixes that origin's
    log-signing certificate names, checked by the court-bound folds; every node passes the
    same for the same origin, so every node ignores the same entries. None skips the check
    (for tests and benchmarks of the other rules: a node always passes the certificate's)."""
    result = FoldResult()
    checked = tuple(courts) if courts is not None else None
    for header, payload in items:
        hit = _BY_KIND.get(header.kind)
        if hit is None:
            continue
        table, fold = hit
        key = (table, header.subject)
        row = result.changes.get(key, current.get(key))
        court_fold = _COURT_FOLDS.get(header.kind) if checked is not None else None
        related_keys = _RELATED.get(header.kind)
        try:
            if court_fold is not None:
                outcome = court_fold(row, header, payload, courts=checked)
            elif related_keys is not None:
                related = {
                    k: r
                    for k in related_keys(header)
                    if (r := result.changes.get(k, current.get(k))) is not None
                }
                outcome = fold(row, header, payload, related=related)  # type: ignore[call-arg]
            else:
                outcome = fold(row, header, payload)
        except (ValueError, OverflowError) as exc:
            # A fold must not raise on a validly signed entry (replication would stall on it
            # for ever); should date arithmetic on its content still overflow or a value not
            # parse, the entry is ignored, as it is on every node.
            outcome = Ignored(f"unusable content: {type(exc).__name__}")
        if isinstance(outcome, Ignored):
            result.ignored.append((header.entry_id, outcome.reason))
        else:
            result.changes[key] = outcome
            derive = _DERIVE.get(table)
            if derive is not None:
                result.changes.update(derive(outcome))
    return result
