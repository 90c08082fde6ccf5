"""The blacklist change feed and the agencies admitted to the Agency service.

Revision ID: 0011_agencies
Revises: 0010_payload_purges
Create Date: 2026-12-02

``blacklist_changes`` numbers every change of a listing row in commit order (the position an
agency's Follow resumes from); the listings already stored get one position each here, in key
order, so a reader that starts from 0 finds every listing. ``agencies`` holds the agencies
admitted with `ccnode agencies add`. ``state_access_subjects`` indexes the subjects of a
read recorded about many subjects at once (an agency's CheckBatch).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_agencies"
down_revision: str | None = "0010_payload_purges"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Code-point ordering on PostgreSQL, like SQLite's BINARY collation (see node/store/schema.py).
TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
SERIAL_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "blacklist_changes",
        sa.Column("seq", SERIAL_ID, primary_key=True, autoincrement=True),
        sa.Column("key", TEXT, nullable=False),
        sa.Column("last_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_blacklist_changes"),
    )
    op.create_table(
        "agencies",
        sa.Column("name", TEXT, nullable=False),
        sa.Column("rate_per_s", sa.Float(), nullable=True),
        sa.Column("burst", sa.BigInteger(), nullable=True),
        sa.Column("daily_quota", sa.BigInteger(), nullable=True),
        sa.Column("added_at_unix_ms", sa.BigInteger(), nullable=False),
        sa.Column("added_by", TEXT, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_agencies"),
    )
    op.create_table(
        "state_access_subjects",
        sa.Column("key", TEXT, nullable=False),
        sa.Column("access", TEXT, nullable=True),
        sa.Column("subject_key", TEXT, nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_state_access_subjects"),
    )
    op.create_index(
        "ix_state_access_subjects_subject_key", "state_access_subjects", ["subject_key"]
    )
    op.execute(
        "INSERT INTO blacklist_changes (key, last_index) "
        "SELECT key, last_index FROM state_blacklist ORDER BY key"
    )


def downgrade() -> None:
    op.drop_index("ix_state_access_subjects_subject_key", table_name="state_access_subjects")
    op.drop_table("state_access_subjects")
    op.drop_table("agencies")
    op.drop_table("blacklist_changes")
