"""The store of a node home, opened directly: for the audit commands that read it whether or
not the node runs, and for the peer commands while the node is stopped."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from cli.common.client import load_config
from cli.common.errors import Unreachable
from node.config import NodeConfig
from node.store import open_store
from node.store.base import Store, StoreError


@contextmanager
def offline_store(home: Path) -> Iterator[tuple[NodeConfig, Store]]:
    """The configuration and the open store of the node at ``home``, closed afterwards. A
    home whose node never ran has no store: say so rather than create an empty one."""
    config = load_config(home)
    if config.embedded_db and not (home / "ccnode.db").exists():
        raise click.ClickException(f"{home} holds no store yet (the node has never run)")
    try:
        store = open_store(config.db_url)
    except (StoreError, OSError) as e:
        raise click.ClickException(f"cannot open the store of {home}: {e}") from e
    try:
        yield config, store
    finally:
        store.close()


# The lock a serving node holds for as long as it runs (node/runtime/home_lock.py, which cli
# does not import: it belongs to the running node). The same name, by agreement.
SERVE_LOCK_FILE = "serve.lock"


@contextmanager
def serve_lock(home: Path) -> Iterator[bool]:
    """Hold the home's serve lock meanwhile if the node is not running: yields True if held
    (the node cannot start until the block ends), False if the node runs."""
    try:
        fd = os.open(home / SERVE_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:
        raise click.ClickException(f"cannot open the lock of {home}: {e}") from e
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False  # the node runs
            return
        yield True
    finally:
        os.close(fd)  # closing drops the flock


@contextmanager
def stopped_node_store(home: Path) -> Iterator[tuple[NodeConfig, Store] | None]:
    """The configuration and store of the node at ``home`` if the node is not running, else
    None. The node's home lock is held meanwhile, so the node cannot start while this writes
    its store (it would refuse to start, as for a second node on one home). A home whose node
    never ran gets its store created here: what is written now is what the node reads at its
    first start, the store staying the only place peers are kept."""
    config = load_config(home)
    with serve_lock(home) as held:
        if not held:
            yield None  # the node runs
            return
        try:
            store = open_store(config.db_url)
        except (StoreError, OSError) as e:
            raise click.ClickException(f"cannot open the store of {home}: {e}") from e
        try:
            yield config, store
        finally:
            store.close()


def node_runs(home: Path) -> bool:
    """The node answers on its admin socket (a stale socket fails the call, as before)."""
    return load_config(home).admin_socket.absolute().is_socket()


@contextmanager
def stopped_store(home: Path) -> Iterator[Store]:
    """The store of the stopped node at ``home``, for the settings kept in it (peers,
    agencies) written before a first start or while the node is down; the node reads them
    when it starts. Unreachable when the node holds its home lock but does not answer yet."""
    with stopped_node_store(home) as opened:
        if opened is None:  # started since the socket was looked at, or still starting
            raise Unreachable(
                f"node at {home} holds its home lock but does not answer yet (starting?); try again"
            )
        yield opened[1]
