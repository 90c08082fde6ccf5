"""What the command groups share: the client of the node's local services (client.py) and its
one error mapping (errors.py), the shared options (options.py), and the offline store opener
of the commands that read a node's store directly (offline.py)."""
