"""`python -m node HOME`: serve the node whose home is HOME (same as `ccnode serve`)."""

import sys
from pathlib import Path

from node.runtime.serve import run_node

if len(sys.argv) != 2:
    sys.exit("usage: python -m node HOME")
run_node(Path(sys.argv[1]))
