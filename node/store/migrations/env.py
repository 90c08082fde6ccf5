"""Alembic environment of the ccnode store.

At runtime ``SqlStore`` configures Alembic in code and passes an open connection in
``config.attributes["connection"]``; nothing depends on the working directory or on an ini
file. For development (``alembic -c node/store/alembic.ini -x url=sqlite:///x.db revision
--autogenerate -m "..."``) the URL comes from ``-x url=``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, text

from node.store.schema import metadata

# A constant key for PostgreSQL's advisory lock: two nodes (or a node and the CLI) opening one
# database at the same moment migrate one after the other instead of racing on DDL.
_MIGRATION_LOCK_KEY = 0x63636E6F6465  # "ccnode"


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        # SQLite can only ALTER a table by copying it; batch mode lets later migrations do so.
        render_as_batch=connection.dialect.name == "sqlite",
        # node.store.migrate logs (and reports) each applied revision.
        on_version_apply=context.config.attributes.get("on_version_apply", ()),
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        context.run_migrations()


def main() -> None:
    if context.is_offline_mode():
        raise SystemExit("offline (--sql) migrations are not supported; give -x url=")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("give the database as -x url=<sqlalchemy url>")
    engine = create_engine(url)
    try:
        with engine.connect() as new_connection:
            _run(new_connection)
    finally:
        engine.dispose()


main()
