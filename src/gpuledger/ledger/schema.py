"""The ledger's tables (SQLAlchemy Core): the event log and its immutable projections.

``events`` is the hash-chained log; ``transfers`` and ``documents`` are projections
of it (one row per transfer, one row per document version) that are written in the
same transaction and never updated; ``verify`` checks them against the events.
``chain_head`` is the one mutable row: the lock writers take and the latest hash.
``record_digests`` chains a digest of every governance row and stored API
response (``ledger.record_digests``), so ``verify`` sees them inserted, edited or
deleted. ``users`` (governance's ``gov_users``) is declared here because the ledger reads one
fact from it: books with no user are a single person's working copy
(``ledger.approvals``); governance adds its other tables to the same metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator

GENESIS_HASH = "0" * 64

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        """Refuse naive values; store UTC (naive on SQLite, which has no zone)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"timestamp {value!r} has no timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Read back as aware UTC."""
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_memo() -> Callable[[Any], datetime]:
    """:func:`utc_from_storage` remembering each distinct raw value (timestamps repeat
    across the rows of one read: each is converted once)."""
    seen: dict[Any, datetime] = {}

    def when(raw: Any) -> datetime:
        found = seen.get(raw)
        if found is None:
            found = seen[raw] = utc_from_storage(raw)
        return found

    return when


def utc_from_storage(value: Any) -> datetime:
    """A stored timestamp read raw (SQLite text or a driver datetime) as aware UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


ID = String(255)

events = Table(
    "events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("id", ID, nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("actor", ID, nullable=False),
    Column("effective_at", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

transfers = Table(
    "transfers",
    metadata,
    Column("id", ID, primary_key=True),
    Column("event_seq", BigInteger, ForeignKey("events.seq"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("phase", String(8), nullable=False),
    Column("pending_id", ID, nullable=True),
    Column("diversion", ID, nullable=True, index=True),
    Column("debit_owner", ID, nullable=False),
    Column("debit_bucket", String(16), nullable=False),
    Column("credit_owner", ID, nullable=False, index=True),
    Column("credit_bucket", String(16), nullable=False),
    Column("sku", ID, nullable=False),
    Column("lot", ID, nullable=False, index=True),
    Column("qty", BigInteger, nullable=False),
    Column("effective_at", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)

documents = Table(
    "documents",
    metadata,
    Column("event_seq", BigInteger, ForeignKey("events.seq"), primary_key=True),
    Column("doc_kind", String(16), nullable=False),
    Column("doc_id", ID, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("data", Text, nullable=False),
    Index(None, "doc_kind", "doc_id"),
)

chain_head = Table(
    "chain_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

users = Table(
    "gov_users",
    metadata,
    Column("name", ID, primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", ID, nullable=False),
)

record_digests = Table(
    "record_digests",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("table_name", String(64), nullable=False),
    Column("record_key", Text, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
