"""The node's process logs: level (CCNODE_LOG), format (text or JSON lines) and gRPC's C-core.

One line per event on stderr, in one of two formats (``log_format`` in node.toml, or
``ccnode serve --log-format``):

* ``text``: ``2026-01-02T03:04:05.678Z INFO node.runtime.node: message``;
* ``json``: one JSON object a line: ``{"time": "...Z", "level": "INFO", "logger": "...",
  "message": "..."}``, with ``"exception"`` (the traceback) when there is one.

gRPC's C core writes its own lines to stderr in its own format, and reads its verbosity once,
when ``grpc`` is first imported: ``grpc_environment`` must run before that
(node/__main__.py, cli/__init__.py). It maps the node's level: DEBUG lets C-core INFO lines
through, other levels only C-core errors. An explicit GRPC_VERBOSITY or GRPC_TRACE in the
environment is left alone (an operator tracing gRPC).

This module imports nothing of grpc, on purpose.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import MutableMapping
from typing import IO

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMATS = ("text", "json")
# The node's level -> GRPC_VERBOSITY (the C core knows DEBUG, INFO, ERROR and NONE).
_GRPC_VERBOSITY = {
    logging.DEBUG: "INFO",
    logging.INFO: "ERROR",
    logging.WARNING: "ERROR",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "NONE",
}


def log_level(text: str) -> int:
    """CCNODE_LOG: debug, info, warning, error or critical, in any case (default info)."""
    name = (text.strip() or "info").upper()
    if name not in LEVELS:
        raise ValueError(
            f"CCNODE_LOG: {text!r} is not one of debug, info, warning, error, critical"
        )
    level = logging.getLevelName(name)
    assert isinstance(level, int)
    return level


def check_format(text: str) -> str:
    """``log_format``: text or json, in any case."""
    name = text.strip().lower()
    if name not in FORMATS:
        raise ValueError(f"log_format: {text!r} is not one of text, json")
    return name


def grpc_environment(environ: MutableMapping[str, str] | None = None) -> None:
    """Set GRPC_VERBOSITY and GRPC_TRACE from CCNODE_LOG, unless the operator set them.

    Must run before the first ``import grpc`` of the process. A CCNODE_LOG that is not a
    level leaves them unset here: ``ccnode serve`` refuses it with a clear error later.
    """
    env = os.environ if environ is None else environ
    try:
        level = log_level(env.get("CCNODE_LOG", ""))
    except ValueError:
        return
    env.setdefault("GRPC_VERBOSITY", _GRPC_VERBOSITY[level])
    env.setdefault("GRPC_TRACE", "")


def _utc(seconds: float) -> str:
    whole = time.gmtime(seconds)
    return time.strftime("%Y-%m-%dT%H:%M:%S", whole) + f".{int(seconds % 1 * 1000):03d}Z"


class TextFormatter(logging.Formatter):
    """``<UTC time> <LEVEL> <logger>: <message>``, a traceback on the lines after it."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_utc(record.created)} {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        elif record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object a line; a traceback is a field, so a line is always one event."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "time": _utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            doc["stack"] = self.formatStack(record.stack_info)
        return json.dumps(doc, ensure_ascii=False)


def setup(level: int, log_format: str, stream: IO[str] | None = None) -> logging.Handler:
    """Send every logger's records (the node's, grpc's Python side, sqlalchemy's) at
    ``level`` and above to ``stream`` (stderr) in ``log_format``; replaces earlier handlers
    of the root logger. Returns the handler."""
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(JsonFormatter() if check_format(log_format) == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
