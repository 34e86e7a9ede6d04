"""The ledger: events (hash chain), transfers and documents projections, chain head.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gpuledger.ledger.schema import GENESIS_HASH, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.String(255)


def upgrade() -> None:
    """Create the tables and the chain-head row."""
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("actor", ID, nullable=False),
        sa.Column("effective_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_events"),
        sa.UniqueConstraint("id", name="uq_events_id"),
    )
    op.create_table(
        "transfers",
        sa.Column("id", ID, nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("phase", sa.String(8), nullable=False),
        sa.Column("pending_id", ID, nullable=True),
        sa.Column("diversion", ID, nullable=True),
        sa.Column("debit_owner", ID, nullable=False),
        sa.Column("debit_bucket", sa.String(16), nullable=False),
        sa.Column("credit_owner", ID, nullable=False),
        sa.Column("credit_bucket", sa.String(16), nullable=False),
        sa.Column("sku", ID, nullable=False),
        sa.Column("lot", ID, nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.Column("effective_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_seq"], ["events.seq"], name="fk_transfers_event_seq_events"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_transfers"),
    )
    op.create_index("ix_transfers_event_seq", "transfers", ["event_seq"])
    op.create_index("ix_transfers_diversion", "transfers", ["diversion"])
    op.create_index("ix_transfers_credit_owner", "transfers", ["credit_owner"])
    op.create_index("ix_transfers_lot", "transfers", ["lot"])
    op.create_table(
        "documents",
        sa.Column("event_seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("doc_kind", sa.String(16), nullable=False),
        sa.Column("doc_id", ID, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_seq"], ["events.seq"], name="fk_documents_event_seq_events"
        ),
        sa.PrimaryKeyConstraint("event_seq", name="pk_documents"),
    )
    op.create_index("ix_documents_doc_kind_doc_id", "documents", ["doc_kind", "doc_id"])
    chain_head = op.create_table(
        "chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chain_head"),
    )
    op.bulk_insert(chain_head, [{"id": 1, "seq": 0, "hash": GENESIS_HASH}])


def downgrade() -> None:
    """Drop everything (the books are lost: only for tests and fresh starts)."""
    op.drop_table("chain_head")
    op.drop_index("ix_documents_doc_kind_doc_id", table_name="documents")
    op.drop_table("documents")
    for name in ("lot", "credit_owner", "diversion", "event_seq"):
        op.drop_index(f"ix_transfers_{name}", table_name="transfers")
    op.drop_table("transfers")
    op.drop_table("events")
