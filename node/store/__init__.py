"""Storage: the Store contract (base), its in-memory twin and the SQL store.

``open_store("memory:")`` gives a MemoryStore; a file path or ``sqlite:///...`` URL a SqlStore
on SQLite; a ``postgresql+psycopg://...`` URL a SqlStore on PostgreSQL.
"""

from __future__ import annotations

import os
from pathlib import Path

from node.store.base import Store
from node.store.memory import MemoryStore
from node.store.sql import SqlStore

MEMORY_URL = "memory:"

__all__ = ["MEMORY_URL", "MemoryStore", "SqlStore", "Store", "open_store"]


def open_store(url_or_path: str | os.PathLike[str]) -> Store:
    location = os.fspath(url_or_path)
    if location == MEMORY_URL:
        return MemoryStore()
    if "://" in location:
        return SqlStore(location)
    return SqlStore(Path(location))
