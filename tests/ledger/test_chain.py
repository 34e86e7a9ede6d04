"""The chain writer's bulk insert: PostgreSQL's binary COPY stores what ``executemany`` stores.

From :data:`chain.COPY_FROM` rows on, ``chain.insert_rows`` sends them to
PostgreSQL by a binary ``COPY`` (each value in its column's type); below that, and
on SQLite, by ``executemany``. Both must leave the same rows, odd strings, nulls,
large numbers and microseconds included.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Boolean, Column, Connection, MetaData, Table, select

from gpuledger.ledger import Ledger, chain, schema

AT = datetime(2024, 1, 1, 0, 0, 0, 123_456, tzinfo=UTC)
ODD = ['q"uote\\back', "tab\tnew\nline\rcr", "é ✓ \u2028\x01", "\U0001f600", ""]
ROWS = 70  # above chain.COPY_FROM


def event_rows() -> list[tuple[Any, ...]]:
    """Events with odd ids and bodies, seqs past 2**32, times with microseconds."""
    return [
        (2**40 + n, f"e{n}:{ODD[n % len(ODD)]}", "operation", '{"x":"\\\\n\\"' + ODD[n % 5] + '"}',
         "actor", AT + timedelta(microseconds=n), AT + timedelta(days=n), "p" * 64, f"{n:064d}")
        for n in range(ROWS)
    ]  # fmt: skip


def transfer_rows() -> list[tuple[Any, ...]]:
    """Transfers of those events, with and without a pending id and a diversion."""
    return [
        (f"t{n}{ODD[n % 5]}", 2**40 + n, "deploy", "single", None if n % 2 else f"p{n}",
         None if n % 3 else ODD[n % 5], "org:a", "stock", "cluster:c", "deployed", "SKU",
         f"L{ODD[n % 5]}", 2**40 + n, AT, AT.astimezone(timezone(timedelta(hours=3))))
        for n in range(ROWS)
    ]  # fmt: skip


def document_rows() -> list[tuple[Any, ...]]:
    """Document versions of those events."""
    return [
        (2**40 + n, "lot", f"L{n}{ODD[n % 5]}", f"{n:064x}", '{"id":"' + ODD[n % 5] + '"}')
        for n in range(ROWS)
    ]


TABLES: list[tuple[Table, tuple[str, ...], Any]] = [
    (schema.events, chain._EVENT_COLUMNS, event_rows),
    (schema.transfers, chain._TRANSFER_COLUMNS, transfer_rows),
    (schema.documents, chain._DOCUMENT_COLUMNS, document_rows),
]


@pytest.fixture
def books(postgres_schema_url: str) -> Iterator[Ledger]:
    """Empty books on PostgreSQL."""
    ledger = Ledger.open(postgres_schema_url)
    yield ledger
    ledger.close()


def stored(conn: Connection) -> list[list[Any]]:
    """Every row of the three tables, in key order, as SQLAlchemy reads them."""
    return [
        [tuple(r) for r in conn.execute(select(table).order_by(*table.primary_key.columns))]
        for table, _, _ in TABLES
    ]


def written(books: Ledger) -> list[list[Any]]:
    """The rows of :data:`TABLES` inserted by ``chain.insert_rows``, read back (rolled back)."""
    with books.engine.connect() as conn, conn.begin() as tx:
        for table, columns, rows in TABLES:
            chain.insert_rows(conn, table, columns, rows())
        found = stored(conn)
        tx.rollback()
    return found


@pytest.mark.postgres
def test_binary_copy_stores_what_executemany_stores(
    books: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied = written(books)
    monkeypatch.setattr(chain, "COPY_FROM", ROWS + 1)  # the same rows by executemany
    inserted = written(books)
    assert [len(rows) for rows in copied] == [ROWS] * 3
    assert copied == inserted
    assert copied[1][0][-1] == AT.astimezone(timezone(timedelta(hours=3)))  # the same instant


def test_every_column_has_a_copy_type() -> None:
    for table, columns, _ in TABLES:
        assert [chain.copy_type(table.c[c]) for c in columns]
    with pytest.raises(TypeError, match="no binary COPY type"):
        chain.copy_type(Table("other", MetaData(), Column("flag", Boolean)).c.flag)
