"""An online copy of a SQLite store (``ccnode backup``).

SQLite's backup API (``sqlite3.Connection.backup``) copies the database page by page inside one
read transaction: the copy is the store as of one commit, WAL contents included, while the
node keeps running (under WAL the node's writer never waits for this reader). The copy is
written next to the target under a temporary name, checked (``PRAGMA quick_check``), synced,
then linked into place, so an existing file is never overwritten and a half-written copy is
never left under the target's name.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from node.store.base import StoreError

BUSY_TIMEOUT_MS = 10_000


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    entries: int  # entries of every origin's log in the copy
    origins: int
    bytes: int
    revision: str | None  # the copy's schema revision


def backup_sqlite(source: Path, out: Path) -> BackupResult:
    """Copy the SQLite store at ``source`` to ``out`` (which must not exist)."""
    if not source.is_file():
        raise StoreError(f"{source}: no such store")
    if out.exists() or out.is_symlink():
        raise StoreError(f"{out}: already exists; give a new file name")
    if not out.parent.is_dir():
        raise StoreError(f"{out.parent}: no such directory")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        # read-write only so SQLite may open the WAL index; nothing is written to the source
        src = sqlite3.connect(source, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)  # all pages in one step: one read transaction, one snapshot
                dst.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
                result = _describe(dst, out)
            finally:
                dst.close()
        finally:
            src.close()
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        try:
            os.link(tmp, out)  # fails if out appeared meanwhile: never overwrite
        except FileExistsError:
            raise StoreError(f"{out}: already exists; give a new file name") from None
    except sqlite3.Error as exc:
        raise StoreError(f"backup of {source} failed: {exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return BackupResult(out, result[0], result[1], out.stat().st_size, result[2])


def _describe(db: sqlite3.Connection, out: Path) -> tuple[int, int, str | None]:
    check = db.execute("PRAGMA quick_check").fetchone()[0]
    if check != "ok":
        raise StoreError(f"{out}: the copy does not check out ({check})")
    entries = db.execute("SELECT count(*) FROM entries").fetchone()[0]
    origins = db.execute("SELECT count(*) FROM origins").fetchone()[0]
    row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    return int(entries), int(origins), (str(row[0]) if row else None)
