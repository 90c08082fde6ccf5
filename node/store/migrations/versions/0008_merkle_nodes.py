"""Hashes of complete Merkle subtrees beside the entries, so proofs read O(log n) rows.

Revision ID: 0008_merkle_nodes
Revises: 0007
Create Date: 2026-12-02

A proof used to read every leaf hash of the log. The store now keeps the hash of every
complete subtree of level >= 4 (sync.tiles.STORED_LEVEL_MIN), written with the entries;
this revision creates the table and fills it for the logs already stored, one origin at a
time, reading its leaf hashes in order once (the only time they are read in full).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from alembic import op

# Imported, unlike the table: RFC 6962 fixes how the hashes are computed, so these cannot
# drift from what the revision was written against.
from sync.merkle import Frontier
from sync.tiles import completed_nodes

revision: str = "0008_merkle_nodes"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL_BATCH_ROWS = 10_000
# Code-point ordering on PostgreSQL, like SQLite's BINARY collation (see node/store/schema.py).
TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    nodes = op.create_table(
        "merkle_nodes",
        sa.Column("origin", TEXT, nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["origin"], ["origins.origin"], name="fk_merkle_nodes_origin_origins"
        ),
        sa.PrimaryKeyConstraint("origin", "level", "idx", name="pk_merkle_nodes"),
    )
    assert nodes is not None
    _backfill(nodes)


def _backfill(nodes: sa.Table) -> None:
    conn = op.get_bind()
    origins = [row[0] for row in conn.execute(sa.text("SELECT origin FROM origins"))]
    for origin in origins:
        frontier = Frontier()
        for leaves in _leaf_hash_batches(conn, origin):
            rows = [
                {"origin": origin, "level": level, "idx": index, "hash": node}
                for level, index, node in completed_nodes(frontier, leaves)
            ]
            if rows:
                conn.execute(nodes.insert(), rows)


def _leaf_hash_batches(conn: sa.Connection, origin: str) -> Iterator[list[bytes]]:
    """The origin's leaf hashes in index order, a batch at a time (keyset paging)."""
    start = 0
    while True:
        batch = conn.execute(
            sa.text(
                "SELECT idx, leaf_hash FROM entries WHERE origin = :origin AND idx >= :start "
                "ORDER BY idx LIMIT :limit"
            ),
            {"origin": origin, "start": start, "limit": _BACKFILL_BATCH_ROWS},
        ).all()
        if not batch:
            return
        yield [bytes(row[1]) for row in batch]
        start = int(batch[-1][0]) + 1


def downgrade() -> None:
    op.drop_table("merkle_nodes")
