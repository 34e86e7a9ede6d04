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
    ev_rows: list[dict[str, Any]] = []
    tr_rows: list[dict[str, Any]] = []
    doc_rows: list[dict[str, Any]] = []
    for e in new:
        seq += 1
        body = canonical(e.body)
        digest = event_hash(
            prev,
            seq=seq,
            id=e.id,
            kind=e.kind.value,
            body=body,
            actor=e.actor,
            effective_at=e.effective_at,
            recorded_at=e.recorded_at,
        )
        ev_rows.append(
            {
                "seq": seq,
                "id": e.id,
                "kind": e.kind.value,
                "body": body,
                "actor": e.actor,
                "effective_at": e.effective_at,
                "recorded_at": e.recorded_at,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
        for t in e.transfers:  # a transfer carries its event's seq and times (verify checks)
            tr_rows.append(
                {
                    "id": t.id,
                    "event_seq": seq,
                    "kind": t.kind.value,
                    "phase": t.phase.value,
                    "pending_id": t.pending_id,
                    "diversion": t.diversion,
                    "debit_owner": t.debit.owner,
                    "debit_bucket": t.debit.bucket.value,
                    "credit_owner": t.credit.owner,
                    "credit_bucket": t.credit.bucket.value,
                    "sku": t.sku,
                    "lot": t.lot,
                    "qty": t.qty,
                    "effective_at": e.effective_at,
                    "recorded_at": e.recorded_at,
                }
            )
        if e.document is not None:
            kind, doc_id, digest_doc, data = e.document
            doc_rows.append(
                {
                    "event_seq": seq,
                    "doc_kind": kind,
                    "doc_id": doc_id,
                    "content_hash": digest_doc,
                    "data": canonical(data),
                }
            )
    insert_many(conn, schema.events, ev_rows)
    insert_many(conn, schema.transfers, tr_rows)
    insert_many(conn, schema.documents, doc_rows)
    conn.execute(
        update(schema.chain_head).where(schema.chain_head.c.id == 1).values(seq=seq, hash=prev)
    )
    return len(ev_rows) + len(tr_rows) + len(doc_rows)


def insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """``executemany`` straight to the driver, binding values as the column types do.

    SQLAlchemy's per-row parameter processing costs more than SQLite's insert
    itself; the bind processors are applied here once per distinct value.
    """
    if not rows:
        return
    dialect = conn.dialect
    columns = list(rows[0])
    processors: list[Callable[[Any], Any] | None] = []
    for name in columns:
        # dialect_impl: the processor SQLAlchemy itself uses (SQLite stores text)
        proc = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        processors.append(None if proc is None else _memoised(proc))
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    preparer = dialect.identifier_preparer
    sql = (
        f"INSERT INTO {preparer.format_table(table)} "
        f"({', '.join(preparer.quote(c) for c in columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    params = [
        tuple(
            p(row[c]) if p is not None else row[c] for c, p in zip(columns, processors, strict=True)
        )
        for row in rows
    ]
    conn.exec_driver_sql(sql, params)


def _memoised(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``proc`` remembering its result per distinct value (timestamps repeat across rows)."""
    cache: dict[Any, Any] = {}

    def cached(value: Any) -> Any:
        if value not in cache:
            cache[value] = proc(value)
        return cache[value]

    return cached
