"""Drop the blacklist origin index: one origin's listings are a range of the primary key.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26

A listing's key is its subject "<origin>/bl/<index>": the admin search finds one origin's
listings by key prefix, and the expiry scan reads (status, term_end_on). The index only cost
every listing an insert (about 1 µs of a catch-up's ~20 µs per entry).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # IF EXISTS: 0001 builds the state tables from node/store/schema.py, which no longer
    # declares the index, so a database created at this version never had it.
    op.execute("DROP INDEX IF EXISTS ix_state_blacklist_origin")


def downgrade() -> None:
    op.create_index("ix_state_blacklist_origin", "state_blacklist", ["origin"])
