"""Payload retention: a record of every payload purged, and node-local notes.

Revision ID: 0010_payload_purges
Revises: 0009_blacklist_representatives
Create Date: 2026-12-02

``payload_purges`` records, per purged entry, when and by which retention rule its payload was
purged (sync/retention.py), so a read after the purge says so instead of "not held".
``node_meta`` keeps small node-local notes, e.g. the holiday calendar version the stored
delisting deadlines were counted with. Both start empty: no payload was purged by a rule
before this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_payload_purges"
down_revision: str | None = "0009_blacklist_representatives"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Code-point ordering on PostgreSQL, like SQLite's BINARY collation (see node/store/schema.py).
TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "payload_purges",
        sa.Column("origin", TEXT, nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("purged_at_unix_ms", sa.BigInteger(), nullable=False),
        sa.Column("rule", TEXT, nullable=False),
        sa.PrimaryKeyConstraint("origin", "idx", name="pk_payload_purges"),
    )
    op.create_table(
        "node_meta",
        sa.Column("key", TEXT, nullable=False),
        sa.Column("value", TEXT, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_node_meta"),
    )


def downgrade() -> None:
    op.drop_table("node_meta")
    op.drop_table("payload_purges")
