"""Runs blocking storage work off the event loop.

Writes go to one dedicated thread (the store serialises writers anyway, and one writer keeps
commit order equal to submission order); reads go to a small pool.

``Db`` is generic in the store protocol it exposes: the runtime holds a ``Db[Store]`` and hands
each part the same runner typed by the narrow protocols it uses (``Db[RowStore]``, ...), so a
part can call only the store methods it was given.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
S_co = TypeVar("S_co", covariant=True)


class Db(Generic[S_co]):
    def __init__(self, store: S_co, *, readers: int = 4) -> None:
        self._store = store
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="ccnode-db-write")
        self._readers = ThreadPoolExecutor(readers, thread_name_prefix="ccnode-db-read")

    @property
    def store(self) -> S_co:
        return self._store

    async def write(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, functools.partial(fn, *args, **kwargs))

    async def read(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        """Stop the threads (after the work they hold), then close the store."""
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        close: Callable[[], None] | None = getattr(self._store, "close", None)
        if close is not None:
            close()
