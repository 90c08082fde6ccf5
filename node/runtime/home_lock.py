"""One node per home: an exclusive lock on HOME/serve.lock for as long as the node runs.

Two processes serving one home would both write its store and fight over its admin socket
(the second replaced the first's socket and deleted it on exit, leaving the first unreachable).
The lock is an ``flock`` on a file that holds the owner's pid: the kernel releases it when the
process ends, however it ends, so a crashed node never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

LOCK_FILE = "serve.lock"


class HomeBusy(Exception):
    """Another process serves this home."""


class HomeLock:
    def __init__(self, home: Path) -> None:
        self.path = home / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "another process"
            os.close(fd)
            raise HomeBusy(
                f"{self.path.parent} is already served by pid {owner}; stop it first "
                f"(one node per home)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing drops the flock
        self._fd = None
