"""Governance tables, on the ledger's MetaData so one Alembic history covers them.

All append-only: a user is added once; grants and revocations of roles are rows
(the latest row per user, role and scope wins); a token is created once and
revoked by a row of its own. ``api_idempotency`` stores each write's response
under its ``Idempotency-Key`` for replay. ``gov_sessions`` holds the dashboard's
sign-ins: the SHA-256 of each session id (never the id itself), its user, the
token it was started with and its expiry; a row is deleted at sign-out. Every
row of these tables is digested (``ledger.record_digests``).
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from gpuledger.ledger.schema import ID, UtcDateTime, metadata
from gpuledger.ledger.schema import users as users  # declared by the ledger: see there

grants = Table(
    "gov_grants",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("user_name", ID, nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("scope_kind", String(8), nullable=False),  # "org", "group" or "books" (books-admin)
    Column("scope", ID, nullable=False),
    Column("granted", Integer, nullable=False),  # 1 grant, 0 revocation
    Column("actor", ID, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)

tokens = Table(
    "gov_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_name", ID, nullable=False, index=True),
    Column("hash", Text, nullable=False),
    Column("label", ID, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", ID, nullable=False),
)

token_revocations = Table(
    "gov_token_revocations",
    metadata,
    Column("token_id", String(32), primary_key=True),
    Column("revoked_at", UtcDateTime, nullable=False),
    Column("revoked_by", ID, nullable=False),
)

idempotency = Table(
    "api_idempotency",
    metadata,
    Column("user_name", ID, primary_key=True),
    Column("key", ID, primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "created_at"),
)

sessions = Table(
    "gov_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # sha256 of the cookie's session id
    Column("user_name", ID, nullable=False, index=True),
    Column("token_id", String(32), nullable=False),  # the API token signed in with
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
)
