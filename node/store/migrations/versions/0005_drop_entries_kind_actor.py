"""Drop the entries (kind, actor) index: no query uses it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

Entries are read by (origin, idx) (the primary key) and by subject; the audit log filters
kinds while it reads in index order. The index only cost every stored entry an insert.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_entries_kind_actor", table_name="entries")


def downgrade() -> None:
    op.create_index("ix_entries_kind_actor", "entries", ["kind", "actor"])
