"""Options that mean the same in every command group, declared once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

home_option: Callable[[F], F] = click.option(
    "--home",
    envvar="CCNODE_HOME",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The node's home directory (env CCNODE_HOME).",
)

json_option: Callable[[F], F] = click.option(
    "--json", "as_json", is_flag=True, help="Print exactly one JSON document (no tables)."
)

confirm_option: Callable[[F], F] = click.option(
    "--confirm-bad-credit-code",
    is_flag=True,
    help="The officer confirmed an early credit code that fails the checksum.",
)


def actor_option(
    *,
    required: bool = True,
    help_text: str = (
        "The officer responsible 承办人: a registered officer id (ccnode officers list; "
        "env CCNODE_ACTOR)."
    ),
) -> Callable[[F], F]:
    """``--actor`` (env CCNODE_ACTOR): who is responsible for a write, or who reads personal
    data; optional where only some uses of a command need it ("" when absent)."""
    # No default at all when required: click takes an explicit default=None as a value given.
    defaults: dict[str, Any] = {} if required else {"default": ""}
    return click.option(
        "--actor", envvar="CCNODE_ACTOR", required=required, help=help_text, **defaults
    )


def as_of_option(what: str) -> Callable[[F], F]:
    """``--as-of YYYY-MM-DD``: the day the node evaluates the rules on, for a command that
    shows ``what``; absent, the node's today. Dates are court-local (China Standard Time)."""
    return click.option(
        "--as-of",
        "as_of",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        metavar="YYYY-MM-DD",
        help=f"Show {what} as of this day, by the same rules (e.g. next Monday); "
        "default: today on the node, China Standard Time.",
    )


def as_of_text(value: dt.datetime | None) -> str:
    """The ``as_of`` of a request: the day given, or "" (the node's today)."""
    return value.date().isoformat() if value is not None else ""
