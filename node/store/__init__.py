"""Storage: the Store contract (base), its in-memory twin and the SQL store.

``open_store("memory:")`` gives a MemoryStore; a file path or ``sqlite:///...`` URL a SqlStore
on SQLite; a ``postgresql+psycopg://...`` URL a SqlStore on PostgreSQL.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from node.store.base import Store
from node.store.memory import MemoryStore

if TYPE_CHECKING:
    from node.store.sql import SqlStore

MEMORY_URL = "memory:"

__all__ = ["MEMORY_URL", "MemoryStore", "SqlStore", "Store", "open_store"]


def open_store(url_or_path: str | os.PathLike[str]) -> Store:
    from node.store.sql import SqlStore  # SQLAlchemy only where a SQL store is opened

    location = os.fspath(url_or_path)
    if location == MEMORY_URL:
        return MemoryStore()
    if "://" in location:
        return SqlStore(location)
    return SqlStore(Path(location))


def __getattr__(name: str) -> Any:
    # node.store.SqlStore, imported on first use: the catch-up helper process imports
    # node.store.base and node.store.layout, and never needs SQLAlchemy.
    if name == "SqlStore":
        from node.store.sql import SqlStore

        return SqlStore
    raise AttributeError(f"module 'node.store' has no attribute {name!r}")
