"""The store of a node home, opened directly: for the audit commands that read it whether or
not the node runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from cli.common.client import load_config
from node.config import NodeConfig
from node.store import open_store
from node.store.base import Store, StoreError


@contextmanager
def offline_store(home: Path) -> Iterator[tuple[NodeConfig, Store]]:
    """The configuration and the open store of the node at ``home``, closed afterwards. A
    home whose node never ran has no store: say so rather than create an empty one."""
    config = load_config(home)
    if not config.db and not (home / "ccnode.db").exists():
        raise click.ClickException(f"{home} holds no store yet (the node has never run)")
    try:
        store = open_store(config.db_url)
    except (StoreError, OSError) as e:
        raise click.ClickException(f"cannot open the store of {home}: {e}") from e
    try:
        yield config, store
    finally:
        store.close()
