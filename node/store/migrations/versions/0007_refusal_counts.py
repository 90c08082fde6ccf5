"""Refusals fold per caller, method, reason and day: a count column and two indexes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

A hostile caller could add one row per refused call (or per refused key of one call); rows now
carry how many refusals they stand for, the store adds to the day's row of the same identity,
method and reason (the first index finds it), and prunes rows older than six months (the
second). Existing rows stand for one refusal each.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("refusals") as batch:
        batch.add_column(sa.Column("count", sa.BigInteger(), nullable=False, server_default="1"))
    op.create_index(
        "ix_refusals_identity_method_reason_at_unix_ms",
        "refusals",
        ["identity", "method", "reason", "at_unix_ms"],
    )
    op.create_index("ix_refusals_at_unix_ms", "refusals", ["at_unix_ms"])


def downgrade() -> None:
    op.drop_index("ix_refusals_at_unix_ms", table_name="refusals")
    op.drop_index("ix_refusals_identity_method_reason_at_unix_ms", table_name="refusals")
    with op.batch_alter_table("refusals") as batch:
        batch.drop_column("count")
