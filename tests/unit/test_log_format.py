"""``log_format = "json"``: one JSON object per log line."""

from __future__ import annotations

import json
import logging
import sys

from node.runtime.serve import JsonLogFormatter


def _record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            exc_info = sys.exc_info()
    return logging.LogRecord("node.x", logging.WARNING, __file__, 1, msg, args, exc_info)


def test_one_object_per_line() -> None:
    line = JsonLogFormatter().format(_record("peer %s: 成都 down", "chongqing"))
    assert "\n" not in line
    doc = json.loads(line)
    assert (doc["level"], doc["logger"], doc["message"]) == (
        "WARNING", "node.x", "peer chongqing: 成都 down",
    )  # fmt: skip
    assert set(doc) == {"time", "level", "logger", "message"}


def test_a_traceback_stays_inside_the_object() -> None:
    line = JsonLogFormatter().format(_record("failed", exc=True))
    assert "\n" not in line
    assert "RuntimeError: boom" in json.loads(line)["exception"]
