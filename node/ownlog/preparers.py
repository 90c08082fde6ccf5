"""The preparers registry: which business validates and normalises each entry kind.

A preparer takes a draft, the folded rows it may read and the append context, and returns the
draft as it will be signed (normalised, with its subject and audience) plus warnings, or raises
``sync.domain.errors.ValidationError`` naming the field and the rule. The local log
(node.ownlog.writer) calls ``prepare`` for every submitted draft; a business adds its kinds to
``PREPARERS`` below; the runtime hands the log ``dispatch(registry.preparers)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ccnode.v1 import log_pb2
from node.businesses.access import prepare_access
from node.businesses.blacklist.prepare import prepare_blacklist
from node.businesses.lookups.prepare import prepare_lookup
from node.businesses.tasks.prepare import prepare_task
from node.ownlog.writer import Draft, DraftRejected, Prepare, PrepareContext, RowReader
from sync.domain.errors import ValidationError
from sync.folds import blacklist as bl_fold
from sync.folds import lookups as lookups_fold
from sync.folds import tasks as tasks_fold


def dispatch(preparers: Mapping[int, Prepare]) -> Prepare:
    """The local log's ``prepare``: each draft goes to the preparer registered for its kind."""

    def prepare(draft: Draft, rows: RowReader, ctx: PrepareContext) -> tuple[Draft, list[str]]:
        preparer = preparers.get(draft.kind)
        if preparer is None:
            raise DraftRejected(
                0,
                "kind",
                "unsupported",
                "this kind of entry cannot be submitted here",
                zh="本节点不接受提交此类条目",
            )
        try:
            return preparer(draft, rows, ctx)
        except ValidationError as exc:
            raise DraftRejected.invalid(0, exc) from None

    return prepare


# Preparers by entry kind; each business registers its kinds here. Read-only: a node with other
# preparers gets them from its registry (node.runtime.registry.Registry.preparers).
PREPARERS: Mapping[int, Prepare] = MappingProxyType(
    {
        **{kind: prepare_blacklist for kind in bl_fold.KINDS},
        log_pb2.ACCESS_RECORDED: prepare_access,
        **{kind: prepare_lookup for kind in lookups_fold.KINDS},
        **{kind: prepare_task for kind in tasks_fold.KINDS},
    }
)

prepare = dispatch(PREPARERS)
