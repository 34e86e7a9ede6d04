"""Record digests (governance rows and API responses under the chain) and web sessions.

Revision ID: 0003_anchor
Revises: 0002
Create Date: 2026-11-30

Existing governance rows and stored responses are digested as they stand: the
books trust what they held before this migration, as they trusted it then.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gpuledger.ledger import record_digests
from gpuledger.ledger.schema import UtcDateTime

revision = "0003_anchor"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.String(255)


def upgrade() -> None:
    """Create ``record_digests`` and ``gov_sessions``; digest every existing covered row."""
    op.create_table(
        "record_digests",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.Column("record_key", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_record_digests"),
    )
    op.create_table(
        "gov_sessions",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("user_name", ID, nullable=False),
        sa.Column("token_id", sa.String(32), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name="pk_gov_sessions"),
    )
    op.create_index("ix_gov_sessions_user_name", "gov_sessions", ["user_name"])
    op.create_index("ix_gov_sessions_expires_at", "gov_sessions", ["expires_at"])
    record_digests.rebuild(op.get_bind())


def downgrade() -> None:
    """Drop the sessions (everyone signs in again) and the record digests."""
    op.drop_index("ix_gov_sessions_expires_at", table_name="gov_sessions")
    op.drop_index("ix_gov_sessions_user_name", table_name="gov_sessions")
    op.drop_table("gov_sessions")
    op.drop_table("record_digests")
