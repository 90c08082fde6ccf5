"""The index of the persons a listed organisation's consumption restriction binds.

Revision ID: 0009_blacklist_representatives
Revises: 0008_merkle_nodes
Create Date: 2026-12-02

A listing of an organisation records its legal representative, principal managers, directly
responsible persons and actual controller (payloads.BlacklistRecord.representatives); the
blacklist fold derives one row per listing, role and person, found by the person's ID. No
backfill: listings stored before this revision record no representatives.

A migration is a frozen snapshot: it spells the table out instead of importing
node.store.schema, so later edits to the live metadata cannot change what this revision did.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_blacklist_representatives"
down_revision: str | None = "0008_merkle_nodes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Code-point ordering on PostgreSQL, like SQLite's BINARY collation (see node/store/schema.py).
TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
_TABLE = "state_blacklist_representatives"


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("key", TEXT, nullable=False),
        *(
            sa.Column(column, TEXT, nullable=True)
            for column in ("listing", "id_key", "role", "status")
        ),
        sa.PrimaryKeyConstraint("key", name=f"pk_{_TABLE}"),
    )
    op.create_index(f"ix_{_TABLE}_id_key", _TABLE, ["id_key"])


def downgrade() -> None:
    op.drop_table(_TABLE)
