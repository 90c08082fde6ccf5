"""`python -m node HOME`: serve the node whose home is HOME (same as `ccnode serve`).

A refusal to start (invalid node.toml, a store newer than this ccnode, the home served by
another process) is one line on stderr and exit 1, as `ccnode serve` says it."""

import sys
from pathlib import Path

from node.logs import grpc_environment

grpc_environment()  # before grpc is imported: its C core reads its verbosity once, then

from node.config import ConfigError  # noqa: E402
from node.runtime.serve import StartRefused, run_node  # noqa: E402
from node.store.base import StoreError  # noqa: E402

if len(sys.argv) != 2:
    sys.exit("usage: python -m node HOME")
try:
    run_node(Path(sys.argv[1]))
except (ConfigError, StartRefused, StoreError, ValueError) as exc:
    sys.exit(f"error: {exc}")
