"""The unit of work: one locked transaction's operations, validated in memory.

A :class:`Work` lives inside one transaction that holds the chain-head lock. It
loads what the verbs need (the transfers of the lots they touch, the latest
documents, prior events with the same ids) in few queries, checks each
transfer (no org or cluster account below zero counting pending debits, in any
view of the books), and queues events; :meth:`Work.flush` asserts the
invariants and chains and writes them. Any error leaves the queue unwritten and
the caller rolls the transaction back. The verbs themselves are in
``ledger.verbs``.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, select

from gpuledger.domain import (
    Decision,
    Diversion,
    DiversionStatus,
    DocumentKind,
    LedgerError,
    Lot,
    Movement,
    Order,
    Phase,
    UnknownRecord,
    day_start,
    ids,
)
from gpuledger.ledger import schema
from gpuledger.ledger.approvals import ApprovalPolicy
from gpuledger.ledger.chain import NewEvent, Rendered, write_events
from gpuledger.ledger.codec import DOCUMENT_TYPES, MOVEMENT_KIND, content_hash, from_json
from gpuledger.ledger.idempotency import normal, replayed
from gpuledger.ledger.invariants import check_unit_of_work
from gpuledger.ledger.lot_book import RAW_COLUMNS, LotBook
from gpuledger.ledger.queries import CHUNK, chunks, prefix_params, starts_with_param
from gpuledger.ledger.results import EventKind, ImportReport, Operation, Transfer

Doc = tuple[str, dict[str, Any]]  # (content hash, data) of a document's latest version
_DEBITS = (Phase.SINGLE, Phase.PENDING)  # phases that take units from their debit account


class Work:
    """One transaction's worth of operations, validated in memory.

    Args:
        conn: a connection inside a transaction that holds the chain-head lock.
        now: the recorded time of verbs that do not say otherwise.
        approvals: the approval policy of the books (see ``ledger.approvals``).
    """

    def __init__(self, conn: Connection, now: datetime, approvals: ApprovalPolicy) -> None:
        self.conn = conn
        self.now = now
        self.approvals = approvals
        self.new: list[NewEvent] = []
        self.rendered: list[Rendered] = []  # the batch lane's, written after ``new``
        self.existing = 0
        self._events: dict[str, tuple[str, dict[str, Any]] | None] = {}
        self._lots: dict[str, LotBook] = {}
        self._docs: dict[tuple[str, str], Doc | None] = {}
        self._records: dict[tuple[str, str], Any] = {}
        self._kinds_loaded: set[str] = set()
        self._paybacks: dict[str, list[str]] | None = None  # lot -> diversion ids
        self._order_lots: dict[str, tuple[dict[str, int], list[int]]] = {}  # lots, [total]
        self._lot_orders: dict[str, tuple[Lot, Order]] = {}
        self._touched: set[str] = set()  # lots

    # ------------------------------------------------------------------ loading

    def preload_events(self, event_ids: Iterable[str]) -> None:
        """Fetch prior events with these ids (idempotency checks) in few queries."""
        missing = sorted({i for i in event_ids if i not in self._events})
        if not missing:
            return
        table = self.conn.dialect.identifier_preparer.format_table(schema.events)
        sql = f"SELECT id, kind, body FROM {table} WHERE id {{in_}}"
        found = {i: (kind, json.loads(body)) for i, kind, body in fetch_in(self.conn, sql, missing)}
        for i in missing:
            self._events[i] = found.get(i)

    def event(self, event_id: str) -> tuple[str, dict[str, Any]] | None:
        """The stored or queued event with this id as (kind, body), None if there is none."""
        if event_id not in self._events:
            self.preload_events([event_id])
        return self._events[event_id]

    def preload_lots(self, lot_ids: Iterable[str]) -> None:
        """Fetch the transfers of these lots in few queries (raw driver rows)."""
        missing = sorted({i for i in lot_ids if i not in self._lots})
        if not missing:
            return
        when = schema.utc_memo()  # timestamps repeat across rows

        dialect = self.conn.dialect
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        quote = dialect.identifier_preparer.quote
        select_sql = (
            f"SELECT {', '.join(quote(n) for n in RAW_COLUMNS)} "
            f"FROM {dialect.identifier_preparer.format_table(schema.transfers)} WHERE lot IN "
        )
        cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            for chunk in chunks(missing):
                books = {i: LotBook() for i in chunk}
                cursor.execute(select_sql + f"({', '.join([mark] * len(chunk))})", tuple(chunk))
                # Sorted here, not in SQL: an ORDER BY event_seq tempts PostgreSQL into
                # walking the event_seq index over the whole table instead of the lot index.
                for r in sorted(cursor.fetchall(), key=lambda r: (r[0], r[1])):
                    books[r[9]].load(r, when)
                self._lots.update(books)
        finally:
            cursor.close()

    def lot_book(self, lot_id: str) -> LotBook:
        """The transfers and balances of one lot (loaded on first use)."""
        book = self._lots.get(lot_id)
        if book is None:
            self.preload_lots([lot_id])
            book = self._lots[lot_id]
        return book

    def preload_docs(self, kind: str, doc_ids: Iterable[str] | None = None) -> None:
        """Fetch the latest versions of documents (all of a kind when ``doc_ids`` is None).

        Versions queued in this unit of work stay: they are newer than the stored ones.
        """
        if kind in self._kinds_loaded:
            return  # every document of the kind is known; the others do not exist
        if doc_ids is None:
            found = {
                r.doc_id: (r.content_hash, json.loads(r.data))
                for r in self.conn.execute(_DOCS_OF_KIND, {"kind": kind})
            }
            for doc_id, value in found.items():
                self._docs.setdefault((kind, doc_id), value)
            self._kinds_loaded.add(kind)
            return
        missing = sorted({i for i in doc_ids if (kind, i) not in self._docs})
        if not missing:
            return
        table = self.conn.dialect.identifier_preparer.format_table(schema.documents)
        sql = (
            f"SELECT doc_id, content_hash, data FROM {table} "
            "WHERE doc_kind = {p} AND doc_id {in_} ORDER BY event_seq"
        )
        # Rows in log order: the last version of each id wins.
        rows = fetch_in(self.conn, sql, missing, (str(kind),))
        found = {doc_id: (digest, json.loads(data)) for doc_id, digest, data in rows}
        for i in missing:
            self._docs[(kind, i)] = found.get(i)

    def doc(self, kind: str, doc_id: str) -> Doc | None:
        """The latest version of a document (stored or queued), None if there is none."""
        key = (kind, doc_id)
        if key not in self._docs and kind not in self._kinds_loaded:
            self.preload_docs(kind, [doc_id])
        return self._docs.get(key)

    def docs_of(self, kind: str) -> dict[str, dict[str, Any]]:
        """Every document of a kind, latest data by id (loads the kind once)."""
        self.preload_docs(kind)
        return {i: doc[1] for (k, i), doc in self._docs.items() if k == kind and doc is not None}

    # ------------------------------------------------------------------ records

    def record(self, kind: str, doc_id: str) -> Any:
        """The latest version of a document as its domain record; UnknownRecord if none."""
        key = (kind, doc_id)
        if key not in self._records:
            doc = self.doc(kind, doc_id)
            if doc is None:
                raise UnknownRecord(
                    f"{kind} {doc_id!r} is not in the ledger; import or add it first"
                )
            cls = Movement if kind == MOVEMENT_KIND else DOCUMENT_TYPES[DocumentKind(kind)]
            self._records[key] = from_json(cls, doc[1])
        return self._records[key]

    def require(self, kind: DocumentKind, doc_id: str, subject: str, field_name: str) -> Any:
        """The record ``doc_id`` that ``subject``'s ``field_name`` refers to.

        Raises UnknownRecord naming the subject, the field and the missing id.
        """
        try:
            return self.record(kind, doc_id)
        except UnknownRecord:
            raise UnknownRecord(
                f"{subject}: {field_name} {doc_id!r} is not in the ledger "
                f"(no {kind.value} with that id); import or add it first"
            ) from None

    def lot_and_order(self, lot_id: str) -> tuple[Lot, Order]:
        """A lot's latest record and its order's (UnknownRecord if either is missing)."""
        found = self._lot_orders.get(lot_id)
        if found is None:
            lot: Lot = self.record(DocumentKind.LOT, lot_id)
            order: Order = self.record(DocumentKind.ORDER, lot.order)
            found = self._lot_orders[lot_id] = (lot, order)
        return found

    def lotted(self, order_id: str, *, without: str) -> int:
        """Units of the order's lots in the books (stored or queued), lot ``without`` left out."""
        lots, total = self._order(order_id)
        return total[0] - lots.get(without, 0)

    def lots_of(self, order_id: str) -> dict[str, int]:
        """Lot id -> qty of the order's lots in the books (stored or queued); a copy."""
        return dict(self._order(order_id)[0])

    def _order(self, order_id: str) -> tuple[dict[str, int], list[int]]:
        found = self._order_lots.get(order_id)
        if found is None:
            lots = self._lots_of_order(order_id)
            found = self._order_lots[order_id] = (lots, [sum(lots.values())])
        return found

    def _lots_of_order(self, order_id: str) -> dict[str, int]:
        """Lot id -> qty of the lots whose latest version names the order."""
        kind = DocumentKind.LOT.value
        if kind not in self._kinds_loaded:
            # Documents are canonical JSON: a version naming the order holds this text.
            dc = schema.documents.c
            text = '"order":' + json.dumps(order_id, ensure_ascii=False)
            query = select(dc.doc_id).where(
                dc.doc_kind == kind, dc.data.contains(text, autoescape=True)
            )
            self.preload_docs(kind, list(self.conn.execute(query.distinct()).scalars()))
        return {
            i: int(doc[1]["qty"])
            for (k, i), doc in self._docs.items()
            if k == kind and doc is not None and doc[1]["order"] == order_id
        }

    def _relot(self, lot_id: str, order_id: str, qty: int) -> None:
        """Keep the per-order lot totals right when a lot's document changes."""
        for lots, total in self._order_lots.values():
            total[0] -= lots.pop(lot_id, 0)
        found = self._order_lots.get(order_id)
        if found is not None:
            found[0][lot_id] = qty
            found[1][0] += qty

    def status(self, diversion_id: str) -> DiversionStatus | None:
        """A diversion's status in the books; None if never proposed."""
        d: Diversion = self.record(DocumentKind.DIVERSION, diversion_id)
        found = self.lot_book(d.lot).ids
        if ids.post_event(diversion_id) in found:
            return DiversionStatus.POSTED
        if ids.void_event(diversion_id) in found:
            return DiversionStatus.VOIDED
        if ids.divert_event(diversion_id) in found:
            return DiversionStatus.PENDING
        return None

    def approvers(self, diversion_id: str) -> tuple[str, ...]:
        """Who approved a diversion, in order: every decision event of it, stored or queued."""
        dialect = self.conn.dialect.name
        prefix = ids.decision_prefix(diversion_id)
        values = prefix_params(dialect, "decided", prefix)
        found_bodies = self.conn.execute(_decisions_of(dialect), values).scalars()
        bodies = [json.loads(body) for body in found_bodies]
        bodies += [e.body for e in self.new if e.id.startswith(prefix)]
        found: list[str] = []
        for body in bodies:
            given = body.get("input") or {}
            if given.get("diversion") == diversion_id and given.get("decision") == (
                Decision.APPROVE.value
            ):
                found.append(str(given["actor"]))
        return tuple(dict.fromkeys(found))

    def payback_index(self) -> dict[str, list[str]]:
        """Lot id -> the diversions whose payback names it."""
        if self._paybacks is None:
            index: dict[str, list[str]] = defaultdict(list)
            for doc_id, data in sorted(self.docs_of(DocumentKind.DIVERSION.value).items()):
                for p in data.get("payback") or ():
                    index[p["lot"]].append(doc_id)
            self._paybacks = index
        return self._paybacks

    def owned_lots(self, owner: str) -> list[str]:
        """Lots ever credited to an owner (stored or queued), by ship time then id."""
        tr = schema.transfers.c
        query = select(tr.lot).where(tr.credit_owner == owner).distinct()
        lots = {r.lot for r in self.conn.execute(query)}
        lots |= {t.lot for e in self.new for t in e.transfers if t.credit.owner == owner}
        self.preload_lots(lots)

        def shipped(lot_id: str) -> tuple[datetime, str]:
            ship = self.lot_book(lot_id).find(ids.ship_event(lot_id))
            return (ship.effective_at if ship else day_start(date.max), lot_id)

        return sorted(lots, key=shipped)

    # ------------------------------------------------------------------ writing

    def _append(self, event: NewEvent) -> None:
        self.new.append(event)
        self._events[event.id] = (event.kind.value, event.body)

    def put_document(self, kind: str, record: Any, actor: str, at: datetime) -> bool:
        """Queue a new version of a document unless the latest version is the same.

        Returns True when a version was queued. A version whose content returns
        to an earlier one gets a fresh event id.
        """
        data = normal(record)
        digest = content_hash(data)
        prior = self.doc(kind, record.id)
        if prior is not None and prior[0] == digest:
            self.existing += 1
            return False
        event_id = ids.document_event(kind, record.id, digest)
        n = 0
        while prior is not None and self.event(event_id) is not None:
            n += 1
            event_id = ids.document_event(kind, record.id, digest, n)
        body = {"doc": kind, "id": record.id, "data": data}
        document = (kind, record.id, digest, data)
        self._append(NewEvent(event_id, EventKind.DOCUMENT, body, actor, at, at, [], document))
        self._docs[(kind, record.id)] = (digest, data)
        self._records.pop((kind, record.id), None)
        if kind in (DocumentKind.LOT.value, DocumentKind.ORDER.value):
            self._lot_orders.clear()
        if kind == DocumentKind.LOT.value:
            self._relot(record.id, data["order"], int(data["qty"]))
        if kind == DocumentKind.DIVERSION.value:
            self._paybacks = None
        return True

    def seen(
        self, event_id: str, op: Operation, inputs: dict[str, Any], book: LotBook | None = None
    ) -> bool:
        """True if this operation is already in the log with the same input (a no-op).

        ``book``: the lot whose transfer carries the event's own id (ship,
        receive, propose, payback); when that transfer is absent the event is
        too, and no query is needed. Raises IdempotencyConflict on other content.
        """
        if book is not None and event_id not in book.ids and event_id not in self._events:
            return False
        prior = self.event(event_id)
        if prior is not None and replayed(prior, event_id, op, inputs):
            self.existing += 1
            return True
        return False

    def emit(
        self,
        event_id: str,
        op: Operation,
        inputs: Any,
        transfers: Sequence[Transfer],
        *,
        actor: str,
        effective_at: datetime,
        recorded_at: datetime,
    ) -> datetime:
        """Check each transfer against the books, apply it, and queue the event.

        Phases: 1. quantities and all-time balances; 2. the recorded time, raised
        to what the debits depend on (``LotBook.check_debit``); 3. apply and
        queue. Returns the recorded time of the event.
        """
        # 1. Positive quantities; debits within what the account has over all time.
        rec = recorded_at
        books: list[LotBook] = []
        for t in transfers:
            if t.qty <= 0:
                raise LedgerError(f"transfer {t.id!r}: quantity must be positive, got {t.qty}")
            assert t.effective_at == effective_at, f"{t.id}: a transfer carries its event's times"
            book = self.lot_book(t.lot)
            books.append(book)
            if t.phase in _DEBITS and not t.debit.may_go_negative:
                # 2. ... and in every view as of its date or later, as known then or later.
                rec = book.check_debit(t, rec)
        if rec != recorded_at:
            transfers = [replace(t, recorded_at=rec) for t in transfers]
        # 3. Apply and queue.
        for t, book in zip(transfers, books, strict=True):
            book.add(t)
            self._touched.add(t.lot)
        body = {"op": op.value, "input": inputs, "transfers": [t.body() for t in transfers]}
        self._append(
            NewEvent(event_id, EventKind.OPERATION, body, actor, effective_at, rec, list(transfers))
        )
        return rec

    def flush(self) -> int:
        """Assert the invariants, then chain and write the queue; returns the rows written."""
        check_unit_of_work(self._lots, self._touched)
        written = write_events(self.conn, self.new, self.rendered)
        self.new, self.rendered = [], []
        self._touched.clear()
        return written

    def report(self) -> ImportReport:
        """Counts of what is queued (call before :meth:`flush`)."""
        return ImportReport(
            new_events=len(self.new) + len(self.rendered),
            existing_events=self.existing,
            new_transfers=sum(len(e.transfers) for e in self.new)
            + sum(len(e.rows) for e in self.rendered),
            new_documents=sum(1 for e in self.new if e.document is not None)
            + sum(1 for e in self.rendered if e.document is not None),
        )


def fetch_in(
    conn: Connection,
    sql: str,
    values: Sequence[str],
    before: tuple[Any, ...] = (),
    *,
    semijoin: bool = False,
) -> list[tuple[Any, ...]]:
    """Raw driver rows of ``sql`` for the ``values`` of one column, a chunk at a time.

    In ``sql``, ``{p}`` is a parameter mark and ``{in_}`` follows the column:
    ``IN (?, ...)`` on SQLite (chunks of ``queries.CHUNK``), ``= ANY(array)``
    with one array on PostgreSQL (chunks of :data:`ARRAY_CHUNK`), sent binary:
    as text, psycopg checks each value for quoting with a regular expression
    (10,000 event ids: 14 ms of client CPU, 4 ms binary). ``before`` are the
    parameters that come before it. The driver's cursor, not SQLAlchemy's:
    compiling an expanding ``IN`` of hundreds of values costs more than the query.

    ``semijoin``: on PostgreSQL, ``IN (SELECT unnest(array))`` instead, for a
    column with many rows per value (a lot's transfers): there the planner
    estimates ``= ANY`` value by value against the column's statistics, which
    for thousands of values costs more than running the query (30-80 ms for
    5,000 lots); a join to the array is planned in a fraction of a millisecond.
    """
    driver = conn.connection.driver_connection
    assert driver is not None, "a live connection"
    postgres = conn.dialect.name == "postgresql"
    mark = "%s" if postgres else "?"
    in_array = "IN (SELECT unnest(%b::text[]))" if semijoin else "= ANY(%b)"
    cursor = driver.cursor()
    rows: list[tuple[Any, ...]] = []
    try:
        for chunk in chunks(values, ARRAY_CHUNK if postgres else CHUNK):
            if postgres:
                cursor.execute(sql.format(p=mark, in_=in_array), (*before, list(chunk)))
            else:
                marks = f"IN ({', '.join([mark] * len(chunk))})"
                cursor.execute(sql.format(p=mark, in_=marks), (*before, *chunk))
            rows.extend(cursor.fetchall())
    finally:
        cursor.close()
    return rows


ARRAY_CHUNK = 10_000  # values per PostgreSQL array parameter


#: ``Work.preload_docs``' statement for a whole kind, built once.
_DOCS_OF_KIND = (
    select(schema.documents.c.doc_id, schema.documents.c.content_hash, schema.documents.c.data)
    .where(schema.documents.c.doc_kind == bindparam("kind", type_=schema.documents.c.doc_kind.type))
    .order_by(schema.documents.c.event_seq)
)


@functools.cache
def _decisions_of(dialect: str) -> Select[Any]:
    """The bodies of the decision events under a bound prefix (``Work.approvers``), in log
    order: built once per dialect (every decision reads them)."""
    ev = schema.events.c
    return (
        select(ev.body)
        .where(starts_with_param(dialect, ev.id, "decided"), ev.kind == EventKind.OPERATION.value)
        .order_by(ev.seq)
    )
