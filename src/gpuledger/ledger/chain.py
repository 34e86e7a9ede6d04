"""The hash chain: queued events chained onto the head, written with ``executemany`` or ``COPY``.

``hash = sha256(prev_hash || canonical event)`` (``codec.event_hash``); each
event's transfers and document version are written in the same transaction as
projections that carry the event's seq and times. The caller holds the
chain-head lock (``BEGIN IMMEDIATE`` on SQLite, ``FOR UPDATE`` on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, String, Table, bindparam, select, update

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


#: Built once: every read at the head runs it, and building a statement costs SQLAlchemy
#: more than running this one does.
_HEAD = select(schema.chain_head.c.seq, schema.chain_head.c.hash).where(schema.chain_head.c.id == 1)


def read_head(conn: Connection) -> Head:
    """The chain head: (latest seq, its hash); (0, genesis hash) for empty books."""
    row = conn.execute(_HEAD).one()
    return int(row.seq), str(row.hash)


@dataclass(slots=True)
class Rendered:
    """An event queued for writing with its body rendered already (canonical JSON).

    ``rows`` are its transfers as ``transfers`` rows without the event's seq and
    times (:data:`TransferRow` order); ``document`` as for :class:`NewEvent`.
    The batch lane (``ledger.bulk``) queues these directly; :func:`write_events`
    renders a :class:`NewEvent` into one.
    """

    id: str
    kind: str
    text: str
    actor: str
    effective_at: datetime
    recorded_at: datetime
    rows: list[TransferRow]
    document: tuple[str, str, str, dict[str, Any]] | None = None


#: A transfer row without its event's seq and times: (id, kind, phase, pending_id,
#: diversion, debit_owner, debit_bucket, credit_owner, credit_bucket, sku, lot, qty).
TransferRow = tuple[str, str, str, str | None, str | None, str, str, str, str, str, str, int]


def render(e: NewEvent) -> Rendered:
    """A queued event with its body in canonical JSON and its transfers as rows."""
    rows: list[TransferRow] = [
        (
            t.id, t.kind.value, t.phase.value, t.pending_id, t.diversion, t.debit.owner,
            t.debit.bucket.value, t.credit.owner, t.credit.bucket.value, t.sku, t.lot, t.qty,
        )
        for t in e.transfers
    ]  # fmt: skip
    return Rendered(
        e.id, e.kind.value, canonical(e.body), e.actor, e.effective_at, e.recorded_at, rows,
        e.document,
    )  # fmt: skip


def write_events(
    conn: Connection, new: Sequence[NewEvent], rendered: Sequence[Rendered] = ()
) -> int:
    """Chain ``new`` then ``rendered`` onto the head and write them with their projections.

    Returns the rows written. Phases: 1. read the head; 2. number and hash
    each event once; 3. insert events, transfers and documents (``COPY`` on
    PostgreSQL); 4. move the head.
    """
    events = [render(e) for e in new] + list(rendered)
    if not events:
        return 0
    seq, prev = read_head(conn)
    first = seq
    # Rows as tuples in column order, times bound once per distinct value: per-row
    # dicts and per-value bind processing cost more than the inserts themselves.
    when = _binder(conn, schema.events.c.effective_at)
    ev_rows: list[tuple[Any, ...]] = []
    tr_rows: list[tuple[Any, ...]] = []
    doc_rows: list[tuple[Any, ...]] = []
    for e in events:
        seq += 1
        digest = event_hash(
            prev,
            seq=seq,
            id=e.id,
            kind=e.kind,
            body=e.text,
            actor=e.actor,
            effective_at=e.effective_at,
            recorded_at=e.recorded_at,
        )
        eff, rec = when(e.effective_at), when(e.recorded_at)
        ev_rows.append((seq, e.id, e.kind, e.text, e.actor, eff, rec, prev, digest))
        prev = digest
        for r in e.rows:  # a transfer carries its event's seq and times (verify checks)
            tr_rows.append((r[0], seq, *r[1:], eff, rec))
        if e.document is not None:
            doc_kind, doc_id, digest_doc, data = e.document
            doc_rows.append((seq, doc_kind, doc_id, digest_doc, canonical(data)))
    insert_rows(conn, schema.events, _EVENT_COLUMNS, ev_rows)
    insert_rows(conn, schema.transfers, _TRANSFER_COLUMNS, tr_rows)
    insert_rows(conn, schema.documents, _DOCUMENT_COLUMNS, doc_rows)
    assert seq == first + len(events), "one seq per event, none skipped"
    conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": prev})
    return len(ev_rows) + len(tr_rows) + len(doc_rows)


#: The head's update, built once (every write runs it).
_MOVE_HEAD = (
    update(schema.chain_head)
    .where(schema.chain_head.c.id == 1)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)


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
    """Insert rows already bound (values as the driver takes them).

    ``executemany``, or on PostgreSQL a binary ``COPY`` once there are
    :data:`COPY_FROM` rows or more (COPY streams the rows in one statement; below
    that its set-up costs more than it saves). Binary, each value in its
    column's type: no timestamp or number is written out as text and parsed
    back (10,000 events and their transfers: a seventh of a text COPY's client
    CPU, a third of its time, on tables without indexes).
    """
    assert all(len(r) == len(columns) for r in rows[:1]), "rows match their columns"
    if not rows:
        return
    preparer = conn.dialect.identifier_preparer
    names = ", ".join(preparer.quote(c) for c in columns)
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_FROM:
        driver = conn.connection.driver_connection
        assert driver is not None, "a live connection inside the write transaction"
        sql = f"COPY {preparer.format_table(table)} ({names}) FROM STDIN (FORMAT BINARY)"
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            copy.set_types([copy_type(table.c[c]) for c in columns])
            for row in rows:
                copy.write_row(row)
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    marks = ", ".join([mark] * len(columns))
    conn.exec_driver_sql(
        f"INSERT INTO {preparer.format_table(table)} ({names}) VALUES ({marks})", rows
    )


COPY_FROM = 64  # rows from which PostgreSQL gets them by COPY

#: The PostgreSQL type a binary COPY sends for each column type of ``schema``
#: (a binary value must be of its column's type: ``text`` is also ``varchar``'s).
_COPY_TYPES: tuple[tuple[type[Any], str], ...] = (
    (BigInteger, "int8"),
    (String, "text"),  # Text too: a subclass
    (schema.UtcDateTime, "timestamptz"),
)


def copy_type(column: Column[Any]) -> str:
    """The PostgreSQL type name a binary COPY sends values of ``column`` as.

    Raises TypeError for a column type with no entry in :data:`_COPY_TYPES`.
    """
    for sa_type, name in _COPY_TYPES:
        if isinstance(column.type, sa_type):
            return name
    raise TypeError(
        f"column {column.table.name}.{column.name}: no binary COPY type for {column.type!r}"
    )


def _memoised(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``proc`` remembering its result per distinct value (timestamps repeat across rows)."""
    cache: dict[Any, Any] = {}

    def cached(value: Any) -> Any:
        if value not in cache:
            cache[value] = proc(value)
        return cache[value]

    return cached
