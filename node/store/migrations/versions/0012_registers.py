"""Registers of officers and of case parties: who may act at this node's courts, and the
debtors of the enforcement cases they hold.

Revision ID: 0012_registers
Revises: 0011_agencies
Create Date: 2026-12-02

Both are local data entered by the node's administrators, never replicated: the ``actor`` of
an officer's lookup, task or blacklist step must be a registered officer id, and a lookup is
sent only for a registered debtor of the case it cites (网络查询冻结规定 arts. 7–8).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_registers"
down_revision: str | None = "0011_agencies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Code-point ordering on PostgreSQL, like SQLite's BINARY collation (see node/store/schema.py).
TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "officers",
        sa.Column("officer_id", TEXT, nullable=False),
        sa.Column("court", TEXT, nullable=False),
        sa.Column("name", TEXT, nullable=False),
        sa.Column("role", TEXT, nullable=False),
        sa.PrimaryKeyConstraint("officer_id", name="pk_officers"),
    )
    op.create_table(
        "case_parties",
        sa.Column("case_number", TEXT, nullable=False),
        sa.Column("party_id", TEXT, nullable=False),
        sa.Column("party_type", TEXT, nullable=False),
        sa.Column("name", TEXT, nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("case_number", "party_id", name="pk_case_parties"),
    )


def downgrade() -> None:
    op.drop_table("case_parties")
    op.drop_table("officers")
