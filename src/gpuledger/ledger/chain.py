"""The hash chain: queued events chained onto the head and written with ``executemany``.

``hash = sha256(prev_hash || canonical event)`` (``codec.event_hash``); each
event's transfers and document version are written in the same transaction as
projections that carry the event's seq and times. The caller holds the
chain-head lock (``BEGIN IMMEDIATE`` on SQLite, ``FOR UPDATE`` on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, select, update

from gpuledger.ledger import schema
from gpuledger.ledger.codec import canonical, event_hash
from gpuledger.ledger.results import EventKind, Transfer

Head = tuple[int, str]  # (seq, hash) of the chain head


@dataclass
class NewEvent:
    """An event queued for writing.

    ``document`` is (kind, id, content hash, data) for a document version.
    """

    id: str
    kind: EventKind
    body: dict[str, Any]
    actor: str
    effective_at: datetime
    recorded_at: datetime
    transfers: list[Transfer] = field(default_factory=list)
    document: tuple[str, str, str, dict[str, Any]] | None = None


def read_head(conn: Connection) -> Head:
    """The chain head: (latest seq, its hash); (0, genesis hash) for empty books."""
    head = schema.chain_head.c
    row = conn.execute(select(head.seq, head.hash).where(head.id == 1)).one()
    return int(row.seq), str(row.hash)


def write_events(conn: Connection, new: list[NewEvent]) -> int:
    """Chain ``new`` onto the head and write it with its projections; the rows written.

    Phases: 1. read the head; 2. number, serialise and hash each event once;
    3. insert events, transfers and documents; 4. move the head.
    """
    if not new:
        return 0
    seq, prev = read_head(conn)
    # Rows as tuples in column order, times bound once per distinct value: per-row
    # dicts and per-value bind processing cost more than the inserts themselves.
    when = _binder(conn, schema.events.c.effective_at)
    ev_rows: list[tuple[Any, ...]] = []
    tr_rows: list[tuple[Any, ...]] = []
    doc_rows: list[tuple[Any, ...]] = []
    for e in new:
        seq += 1
        body = canonical(e.body)
        kind = e.kind.value
        digest = event_hash(
            prev,
            seq=seq,
            id=e.id,
            kind=kind,
            body=body,
            actor=e.actor,
            effective_at=e.effective_at,
            recorded_at=e.recorded_at,
        )
        eff, rec = when(e.effective_at), when(e.recorded_at)
        ev_rows.append((seq, e.id, kind, body, e.actor, eff, rec, prev, digest))
        prev = digest
        for t in e.transfers:  # a transfer carries its event's seq and times (verify checks)
            tr_rows.append(
                (
                    t.id, seq, t.kind.value, t.phase.value, t.pending_id, t.diversion,
                    t.debit.owner, t.debit.bucket.value, t.credit.owner, t.credit.bucket.value,
                    t.sku, t.lot, t.qty, eff, rec,
                )
            )  # fmt: skip
        if e.document is not None:
            doc_kind, doc_id, digest_doc, data = e.document
            doc_rows.append((seq, doc_kind, doc_id, digest_doc, canonical(data)))
    insert_rows(conn, schema.events, _EVENT_COLUMNS, ev_rows)
    insert_rows(conn, schema.transfers, _TRANSFER_COLUMNS, tr_rows)
    insert_rows(conn, schema.documents, _DOCUMENT_COLUMNS, doc_rows)
    conn.execute(
        update(schema.chain_head).where(schema.chain_head.c.id == 1).values(seq=seq, hash=prev)
    )
    return len(ev_rows) + len(tr_rows) + len(doc_rows)


_EVENT_COLUMNS = (
    "seq", "id", "kind", "body", "actor", "effective_at", "recorded_at", "prev_hash", "hash",
)  # fmt: skip
_TRANSFER_COLUMNS = (
    "id", "event_seq", "kind", "phase", "pending_id", "diversion", "debit_owner",
    "debit_bucket", "credit_owner", "credit_bucket", "sku", "lot", "qty", "effective_at",
    "recorded_at",
)  # fmt: skip
_DOCUMENT_COLUMNS = ("event_seq", "doc_kind", "doc_id", "content_hash", "data")


def _binder(conn: Connection, column: Any) -> Callable[[Any], Any]:
    """The column type's bind processor for this dialect, once per distinct value."""
    dialect = conn.dialect
    proc = column.type.dialect_impl(dialect).bind_processor(dialect)
    if proc is None:
        return lambda value: value
    return _memoised(proc)


def insert_rows(
    conn: Connection, table: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """``executemany`` of rows already bound (values as the driver takes them)."""
    assert all(len(r) == len(columns) for r in rows[:1]), "rows match their columns"
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    preparer = conn.dialect.identifier_preparer
    sql = (
        f"INSERT INTO {preparer.format_table(table)} "
        f"({', '.join(preparer.quote(c) for c in columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    conn.exec_driver_sql(sql, rows)


def _memoised(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``proc`` remembering its result per distinct value (timestamps repeat across rows)."""
    cache: dict[Any, Any] = {}

    def cached(value: Any) -> Any:
        if value not in cache:
            cache[value] = proc(value)
        return cache[value]

    return cached
