"""Blacklist expiry scan: index state_blacklist on (status, term_end_on).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

The expiry scheduler reads the listed rows whose term has ended, paged by key; with only the
single-column status index, SQLite read and sorted every listed row for each page. The new
index replaces that one: a query on status alone uses its first column.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_state_blacklist_status_term_end_on", "state_blacklist", ["status", "term_end_on"]
    )
    op.drop_index("ix_state_blacklist_status", table_name="state_blacklist")


def downgrade() -> None:
    op.create_index("ix_state_blacklist_status", "state_blacklist", ["status"])
    op.drop_index("ix_state_blacklist_status_term_end_on", table_name="state_blacklist")
