"""`ccnode serve`: run one node until SIGINT or SIGTERM, then shut down gracefully."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from pathlib import Path

from node.config import NodeConfig
from node.public.page import PublicPageError
from node.runtime.home_lock import HomeBusy
from node.runtime.node import Node
from node.runtime.registry import DEFAULT, Registry
from node.runtime.servers import ListenError


class StartRefused(Exception):
    """The node cannot start here (home served by another process, address in use, the public
    page's certificate unreadable): said in one line by `ccnode serve`, not as a traceback."""


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


def log_level(text: str) -> int:
    """CCNODE_LOG: debug, info, warning or error, in any case (default info)."""
    name = (text.strip() or "info").upper()
    level = logging.getLevelName(name)
    if name not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"} or not isinstance(level, int):
        raise ValueError(f"CCNODE_LOG: {text!r} is not one of debug, info, warning, error")
    return level


class JsonLogFormatter(logging.Formatter):
    """``log_format = "json"``: one JSON object per line (time, level, logger, message, and
    the traceback if any)."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


def run_node(home: Path, registry: Registry = DEFAULT) -> None:
    """Serve until SIGINT or SIGTERM, then shut down gracefully."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=log_level(os.environ.get("CCNODE_LOG", "")), handlers=[handler])
    # Loaded once logging is set up: converting a node.json home is logged.
    if NodeConfig.load(home).log_format == "json":
        handler.setFormatter(JsonLogFormatter())
    try:
        asyncio.run(_serve(home, registry))
    except (HomeBusy, ListenError, PublicPageError) as exc:
        raise StartRefused(str(exc)) from exc
