"""Asset lookups: the region's asset registry, lookup and access state, peers' court prefixes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

A migration is a frozen snapshot: it spells every table out instead of importing
node.store.schema, so later edits to the live metadata cannot change what this revision did.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Code-point ordering on PostgreSQL, like SQLite's BINARY collation (see node/store/schema.py).
TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def _text(name: str, *, nullable: bool = True) -> sa.Column[str]:
    return sa.Column(name, TEXT, nullable=nullable)


def upgrade() -> None:
    # Which courts this node trusts each peer to serve (asset lookups cite their cases).
    op.add_column("peers", sa.Column("court_prefixes", TEXT, nullable=False, server_default=""))
    op.create_table(
        "assets",
        _text("asset_id", nullable=False),
        _text("owner_id", nullable=False),
        sa.Column("category", sa.Integer(), nullable=False),
        sa.Column("record", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("asset_id", name="pk_assets"),
    )
    op.create_index("ix_assets_owner_id_category", "assets", ["owner_id", "category"])
    op.create_table(
        "state_lookups",
        _text("key", nullable=False),
        *(
            _text(column)
            for column in (
                "origin",
                "target",
                "status",
                "case_number",
                "subject_key",
                "answered_on",
            )
        ),
        sa.Column("record", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_state_lookups"),
    )
    for column in ("origin", "status", "subject_key"):
        op.create_index(f"ix_state_lookups_{column}", "state_lookups", [column])
    op.create_table(
        "state_access",
        _text("key", nullable=False),
        _text("origin"),
        _text("actor"),
        _text("subject_key"),
        sa.Column("record", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_state_access"),
    )
    for column in ("origin", "subject_key"):
        op.create_index(f"ix_state_access_{column}", "state_access", [column])


def downgrade() -> None:
    for table in ("state_access", "state_lookups", "assets"):
        op.drop_table(table)
    with op.batch_alter_table("peers") as batch:
        batch.drop_column("court_prefixes")
