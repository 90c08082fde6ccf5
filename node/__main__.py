"""`python -m node HOME`: serve the node whose home is HOME (same as `ccnode serve`)."""

import sys
from pathlib import Path

from node.logs import grpc_environment

grpc_environment()  # before grpc is imported: its C core reads its verbosity once, then

from node.config import ConfigError  # noqa: E402
from node.runtime.serve import StartRefused, run_node  # noqa: E402

if len(sys.argv) != 2:
    sys.exit("usage: python -m node HOME")
try:
    run_node(Path(sys.argv[1]))
except (ConfigError, StartRefused, ValueError) as exc:
    sys.exit(f"error: {exc}")
