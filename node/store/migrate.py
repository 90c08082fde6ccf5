"""Schema revisions of a SQL store: the one it is at, the ones this ccnode knows, applying the
rest (``ccnode db status``, ``ccnode db upgrade``, and every store opening).

A store at a revision this ccnode does not know was upgraded by a newer ccnode: it is refused
(``SchemaTooNew``) before Alembic is asked anything, in one line that says what to do. Each
applied revision is logged at INFO, one line each.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from node.store.base import StoreError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

log = logging.getLogger(__name__)
# Alembic logs two INFO lines of its own per store opening and one per revision; the line
# logged here per applied revision says it all. An operator's own level for it is kept.
_ALEMBIC_LOG = logging.getLogger("alembic.runtime.migration")
if _ALEMBIC_LOG.level == logging.NOTSET:
    _ALEMBIC_LOG.setLevel(logging.WARNING)

# Called with (revision, title) after each revision is applied.
OnApplied = Callable[[str, str], None]


class SchemaTooNew(StoreError):
    """The store was upgraded by a newer ccnode than this one."""

    def __init__(self, current: str, latest: str) -> None:
        self.current = current
        self.latest = latest
        super().__init__(
            f"this store is at schema revision {current}, newer than this ccnode knows "
            f"(latest {latest}); upgrade ccnode"
        )


@dataclass(frozen=True, slots=True)
class Revision:
    revision: str
    title: str  # the first line of the revision's docstring


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    current: str | None  # None: no schema yet (an empty database)
    known: tuple[Revision, ...]  # oldest first

    @property
    def latest(self) -> str:
        return self.known[-1].revision

    @property
    def newer(self) -> bool:
        """The store is at a revision this ccnode does not know."""
        return self.current is not None and self.current not in self._ids

    @property
    def pending(self) -> tuple[Revision, ...]:
        """The revisions an upgrade would apply, in order."""
        if self.newer:
            return ()
        if self.current is None:
            return self.known
        return self.known[self._ids.index(self.current) + 1 :]

    @property
    def _ids(self) -> list[str]:
        return [r.revision for r in self.known]

    def check_not_newer(self) -> None:
        if self.newer and self.current is not None:
            raise SchemaTooNew(self.current, self.latest)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def known_revisions() -> tuple[Revision, ...]:
    script = ScriptDirectory.from_config(alembic_config())
    newest_first = list(script.walk_revisions())
    return tuple(
        Revision(r.revision, (r.doc or "").strip().splitlines()[0] if r.doc else "")
        for r in reversed(newest_first)
    )


def schema_status(conn: Connection) -> SchemaStatus:
    """Where the store on ``conn`` stands; reads only (no table is created)."""
    current = MigrationContext.configure(conn).get_current_revision()
    return SchemaStatus(current, known_revisions())


def upgrade(conn: Connection, on_applied: OnApplied | None = None) -> SchemaStatus:
    """Apply the pending revisions on ``conn`` (a write transaction), each logged at INFO and
    passed to ``on_applied``; returns the status from before. Refuses a newer store."""
    status = schema_status(conn)
    status.check_not_newer()
    if not status.pending:
        return status
    titles = {r.revision: r.title for r in status.known}

    def applied(*_args: Any, step: Any, **_kwargs: Any) -> None:
        revision = str(step.up_revision_id)
        title = titles.get(revision, "")
        log.info("store schema: applied revision %s (%s)", revision, title)
        if on_applied is not None:
            on_applied(revision, title)

    config = alembic_config()
    config.attributes["connection"] = conn
    config.attributes["on_version_apply"] = [applied]  # env.py hands them to Alembic
    command.upgrade(config, "head")
    return status
