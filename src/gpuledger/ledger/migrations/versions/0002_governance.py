"""Governance: users, role grants, API tokens and their revocations, API idempotency keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gpuledger.ledger.schema import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.String(255)


def upgrade() -> None:
    """Create the governance tables (all append-only)."""
    op.create_table(
        "gov_users",
        sa.Column("name", ID, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", ID, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_gov_users"),
    )
    op.create_table(
        "gov_grants",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_name", ID, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("scope_kind", sa.String(8), nullable=False),
        sa.Column("scope", ID, nullable=False),
        sa.Column("granted", sa.Integer(), nullable=False),
        sa.Column("actor", ID, nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_gov_grants"),
    )
    op.create_index("ix_gov_grants_user_name", "gov_grants", ["user_name"])
    op.create_table(
        "gov_tokens",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("user_name", ID, nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.Column("label", ID, nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", ID, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gov_tokens"),
    )
    op.create_index("ix_gov_tokens_user_name", "gov_tokens", ["user_name"])
    op.create_table(
        "gov_token_revocations",
        sa.Column("token_id", sa.String(32), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_by", ID, nullable=False),
        sa.PrimaryKeyConstraint("token_id", name="pk_gov_token_revocations"),
    )
    op.create_table(
        "api_idempotency",
        sa.Column("user_name", ID, nullable=False),
        sa.Column("key", ID, nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_name", "key", name="pk_api_idempotency"),
    )
    op.create_index("ix_api_idempotency_created_at", "api_idempotency", ["created_at"])


def downgrade() -> None:
    """Drop the governance tables (users, grants and tokens are lost)."""
    op.drop_index("ix_api_idempotency_created_at", table_name="api_idempotency")
    op.drop_table("api_idempotency")
    op.drop_table("gov_token_revocations")
    op.drop_index("ix_gov_tokens_user_name", table_name="gov_tokens")
    op.drop_table("gov_tokens")
    op.drop_index("ix_gov_grants_user_name", table_name="gov_grants")
    op.drop_table("gov_grants")
    op.drop_table("gov_users")
