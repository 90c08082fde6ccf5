"""The ``ccnode`` command line (cli/main.py)."""

from node.logs import grpc_environment

# Before any module of the CLI imports grpc: its C core reads its verbosity once, then.
grpc_environment()
