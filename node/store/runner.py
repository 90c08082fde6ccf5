"""Runs blocking storage work off the event loop.

Writes go to one dedicated thread (the store serialises writers anyway, and one writer keeps
commit order equal to submission order); reads go to a small pool.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from node.store.base import Store

P = ParamSpec("P")
T = TypeVar("T")


class Db:
    def __init__(self, store: Store, *, readers: int = 4) -> None:
        self.store = store
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="ccnode-db-write")
        self._readers = ThreadPoolExecutor(readers, thread_name_prefix="ccnode-db-read")

    async def write(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, functools.partial(fn, *args, **kwargs))

    async def read(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        self.store.close()
