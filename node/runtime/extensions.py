"""Background parts of a node that businesses add (schedulers, responders).

Each entry of EXTENSIONS makes, for a started node, an object with ``async start()`` and
``async stop()``. They start after the servers and the local log, and stop before them. They
may subscribe to ``node.local_log.on_commit`` (this node appended) and ``node.on_applied``
(a peer's batch was applied), both called on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from node.runtime.node import Node


class Extension(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


def _blacklist_expiry(node: Node) -> Extension:
    from node.businesses.blacklist.expiry import BlacklistExpiry

    return BlacklistExpiry(node)


def _lookup_responder(node: Node) -> Extension:
    from node.businesses.lookups.responder import responder

    return responder(node)


EXTENSIONS: list[Callable[[Node], Extension]] = [_blacklist_expiry, _lookup_responder]
