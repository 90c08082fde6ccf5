"""Shared output of the ``ccnode`` commands: one JSON document, or rich tables for people.

Data goes to stdout, progress and narration to stderr, so ``ccnode ... --json | jq`` always
sees exactly one JSON document.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import click
from rich.console import Console
from rich.table import Table

# Tables printed into a pipe or a file are not wrapped to 80 columns: a log reader would
# rather scroll than see case numbers cut in half.
_PIPE_WIDTH = 200


def emit_json(doc: Mapping[str, Any]) -> None:
    """The one JSON document of a ``--json`` command (UTF-8, Chinese kept readable)."""
    click.echo(json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True))


def _console(stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else _PIPE_WIDTH
    # file=stream: CliRunner swaps sys.stdout/sys.stderr per invocation, so bind late.
    return Console(file=stream, width=width, highlight=False, soft_wrap=False)


def console() -> Console:
    return _console(stderr=False)


def err_console() -> Console:
    return _console(stderr=True)


def table(*columns: str, title: str | None = None) -> Table:
    t = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        t.add_column(column, overflow="fold")
    return t


def print_table(t: Table) -> None:
    console().print(t)


def b64(data: bytes) -> str:
    """Roots and hashes as in checkpoints (standard base64), so they compare by eye."""
    return base64.b64encode(data).decode("ascii")


def short(text: str, chars: int = 16) -> str:
    return text if len(text) <= chars else text[:chars] + "…"


def unix_ms_iso(unix_ms: int) -> str:
    """Wall-clock time of a unix-ms stamp in UTC, or "" for 0 (never)."""
    if unix_ms <= 0:
        return ""
    moment = dt.datetime.fromtimestamp(unix_ms / 1000, tz=dt.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def yes_no(flag: bool) -> str:
    return "yes 是" if flag else "no 否"


def joined(values: Iterable[str], sep: str = ", ") -> str:
    return sep.join(values)
