"""Delegated enforcement tasks (委托执行) and the seizure ledger (查封、扣押、冻结).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

A migration is a frozen snapshot: it spells every table out instead of importing
node.store.schema, so later edits to the live metadata cannot change what this revision did.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Code-point ordering on PostgreSQL, like SQLite's BINARY collation (see node/store/schema.py).
TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")

_TASK_COLUMNS = (
    "origin",
    "receiving",
    "status",
    "scope",
    "matter",
    "case_number",
    "delegating_court",
    "receiving_court",
    "delegated_on",
)
_SEIZURE_COLUMNS = (
    "task",
    "case_number",
    "asset_id",
    "category",
    "value_fen",
    "start_on",
    "end_on",
    "status",
    "queue_position",
)


def _state_table(name: str, columns: Sequence[str]) -> None:
    op.create_table(
        name,
        sa.Column("key", TEXT, nullable=False),
        *(sa.Column(column, TEXT, nullable=True) for column in columns),
        sa.Column("record", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=f"pk_{name}"),
    )


def upgrade() -> None:
    _state_table("state_tasks", _TASK_COLUMNS)
    op.create_index("ix_state_tasks_origin", "state_tasks", ["origin"])
    op.create_index("ix_state_tasks_status", "state_tasks", ["status"])
    _state_table("state_seizures", _SEIZURE_COLUMNS)
    op.create_index("ix_state_seizures_status", "state_seizures", ["status"])


def downgrade() -> None:
    op.drop_table("state_seizures")
    op.drop_table("state_tasks")
