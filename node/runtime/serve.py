"""`ccnode serve`: run one node until SIGINT or SIGTERM, then shut down gracefully."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
from pathlib import Path

from node.config import NodeConfig
from node.logs import check_format, log_level, setup
from node.public.page import PublicPageError
from node.runtime.home_lock import HomeBusy
from node.runtime.node import Node
from node.runtime.registry import DEFAULT, Registry
from node.runtime.servers import ListenError

__all__ = ["StartRefused", "log_level", "run_node"]

log = logging.getLogger(__name__)


class StartRefused(Exception):
    """The node cannot start here (home served by another process, address in use, the public
    page's certificate unreadable): said in one line by `ccnode serve`, not as a traceback."""


async def _serve(config: NodeConfig, registry: Registry) -> None:
    node = Node(config, registry=registry)
    await node.start()
    _tune_gc()
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    received: list[str] = []

    def stop(sig: signal.Signals) -> None:
        received.append(sig.name)
        done.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, sig)
    print(f"ccnode {config.node_id} listening on {config.listen} (port {node.port})", flush=True)
    await done.wait()
    log.info("node %s shutting down: received %s", config.node_id, received[0])
    started = loop.time()
    await node.stop()
    log.info("node %s stopped (shutdown took %.1f s)", config.node_id, loop.time() - started)


# Allocations (net of frees) between two young-generation collections; CPython's default is
# 700. A lookup allocates thousands of short-lived objects (messages, futures, rows), freed
# by reference counting, not by the cycle collector: at 700 it ran several times per lookup.
GC_YOUNG_THRESHOLD = 50_000


def _tune_gc() -> None:
    """After start-up: what start-up built (modules, the schema, descriptors, the identity)
    lives as long as the process, so move it out of the cycle collector's generations; and
    collect the young generation less often. Cycles are still collected, only in fewer,
    larger passes over the objects made since."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def run_node(home: Path, registry: Registry = DEFAULT, *, log_format: str = "") -> None:
    """Serve until SIGINT or SIGTERM, then shut down gracefully. ``log_format`` (text or
    json) overrides node.toml's; CCNODE_LOG is the level. A bad level, format or
    configuration raises ValueError or ConfigError before anything starts."""
    level = log_level(os.environ.get("CCNODE_LOG", ""))
    # Logging is set up before the configuration is read, so that converting a node.json
    # home is logged; then again in the configured format.
    setup(level, check_format(log_format or "text"))
    config = NodeConfig.load(home)
    setup(level, check_format(log_format or config.log_format))
    try:
        asyncio.run(_serve(config, registry))
    except (HomeBusy, ListenError, PublicPageError) as exc:
        raise StartRefused(str(exc)) from exc
