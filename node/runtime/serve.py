"""`ccnode serve`: run one node until SIGINT or SIGTERM, then shut down gracefully."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

from node.config import NodeConfig
from node.runtime.node import Node
from node.runtime.registry import DEFAULT, Registry


async def _serve(home: Path, registry: Registry) -> None:
    config = NodeConfig.load(home)
    node = Node(config, registry=registry)
    await node.start()
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    print(f"ccnode {config.node_id} listening on {config.listen} (port {node.port})", flush=True)
    await done.wait()
    await node.stop()


def run_node(home: Path, registry: Registry = DEFAULT) -> None:
    """Serve until SIGINT or SIGTERM, then shut down gracefully."""
    logging.basicConfig(
        level=os.environ.get("CCNODE_LOG", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    asyncio.run(_serve(home, registry))
