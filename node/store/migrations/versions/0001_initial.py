"""Initial schema: logs, checkpoints, cosignatures, evidence, keys, peers, refusals, blacklist.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

A migration is a frozen snapshot: it spells every table out instead of importing
node.store.schema, so later edits to the live metadata cannot change what this revision did.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Code-point ordering on PostgreSQL, like SQLite's BINARY collation (see node/store/schema.py).
TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
SERIAL_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _text(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, TEXT, nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "origins",
        sa.Column("origin", TEXT, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("frontier", sa.LargeBinary(), nullable=False),
        _text("checkpoint_note"),
        sa.Column("frozen", sa.Boolean(), nullable=False),
        _text("frozen_reason"),
        sa.PrimaryKeyConstraint("origin", name="pk_origins"),
    )
    op.create_table(
        "entries",
        _text("origin"),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Integer(), nullable=False),
        _text("subject"),
        _text("actor"),
        sa.Column("hlc", sa.BigInteger(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(), nullable=False),
        sa.Column("header", sa.LargeBinary(), nullable=False),
        sa.Column("salt", sa.LargeBinary(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["origin"], ["origins.origin"], name="fk_entries_origin_origins"),
        sa.PrimaryKeyConstraint("origin", "idx", name="pk_entries"),
    )
    op.create_index("ix_entries_subject", "entries", ["subject"])
    op.create_index("ix_entries_kind_actor", "entries", ["kind", "actor"])
    op.create_table(
        "checkpoints",
        _text("origin"),
        sa.Column("size", sa.BigInteger(), nullable=False),
        _text("note"),
        sa.ForeignKeyConstraint(
            ["origin"], ["origins.origin"], name="fk_checkpoints_origin_origins"
        ),
        sa.PrimaryKeyConstraint("origin", "size", name="pk_checkpoints"),
    )
    op.create_table(
        "cosignatures",
        _text("origin"),
        sa.Column("size", sa.BigInteger(), nullable=False),
        _text("witness"),
        _text("line"),
        sa.PrimaryKeyConstraint("origin", "size", "witness", name="pk_cosignatures"),
    )
    op.create_table(
        "evidence",
        sa.Column("id", SERIAL_ID, autoincrement=True, nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        _text("origin"),
        _text("smaller_note"),
        _text("larger_note"),
        sa.Column("prefix_root", sa.LargeBinary(), nullable=False),
        sa.Column("consistency_proof", sa.LargeBinary(), nullable=False),
        _text("detected_by"),
        sa.Column("detected_at_unix_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_evidence"),
        sa.UniqueConstraint("digest", name="uq_evidence_digest"),
    )
    op.create_table(
        "origin_keys",
        _text("origin"),
        sa.Column("certificate_der", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("origin", name="pk_origin_keys"),
    )
    op.create_table(
        "peers",
        _text("node_id"),
        _text("address"),
        sa.PrimaryKeyConstraint("node_id", name="pk_peers"),
    )
    op.create_table(
        "refusals",
        sa.Column("id", SERIAL_ID, autoincrement=True, nullable=False),
        sa.Column("at_unix_ms", sa.BigInteger(), nullable=False),
        _text("peer"),
        _text("identity"),
        _text("method"),
        _text("reason"),
        sa.PrimaryKeyConstraint("id", name="pk_refusals"),
    )
    op.create_table(
        "state_blacklist",
        _text("key"),
        *(
            _text(column, nullable=True)
            for column in (
                "origin",
                "entry_id",
                "status",
                "debtor_type",
                "id_key",
                "name",
                "case_number",
                "court",
                "ground",
                "listed_on",
                "term_end_on",
                "delist_due_on",
                "delisted_on",
            )
        ),
        sa.Column("last_index", sa.BigInteger(), nullable=True),
        sa.Column("record", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_state_blacklist"),
    )
    for column in ("id_key", "name", "origin", "status"):
        op.create_index(f"ix_state_blacklist_{column}", "state_blacklist", [column])


def downgrade() -> None:
    for table in (
        "state_blacklist",
        "refusals",
        "peers",
        "origin_keys",
        "evidence",
        "cosignatures",
        "checkpoints",
        "entries",
        "origins",
    ):
        op.drop_table(table)
