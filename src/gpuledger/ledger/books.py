"""The write path: one unit of work that validates operations in memory and emits events.

A :class:`Work` lives inside one locked transaction. It loads what an operation
needs (the transfers of the lots it touches, the latest documents, prior events
with the same id), checks the invariants (no org or cluster account below zero
counting pending debits, idempotency, diversion transitions), and queues events;
:meth:`Work.flush` chains and writes them with ``executemany``. Any error leaves
the queue unwritten and the caller rolls the transaction back.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, select, update

from gpuledger.domain import (
    Account,
    Bucket,
    Cluster,
    Decision,
    Diversion,
    DiversionStatus,
    DocumentKind,
    IdempotencyConflict,
    InsufficientUnits,
    InvalidTransition,
    LedgerError,
    Lot,
    Movement,
    Order,
    OwnerKind,
    Payback,
    Phase,
    Scenario,
    TransferKind,
    UnknownRecord,
    cluster_account,
    day_start,
    org_account,
    vendor_account,
)
from gpuledger.ledger import schema
from gpuledger.ledger.codec import (
    DOCUMENT_TYPES,
    MOVEMENT_KIND,
    canonical,
    content_hash,
    event_hash,
    from_json,
    to_json,
)
from gpuledger.ledger.results import EventKind, ImportReport, Operation, Receipt, Transfer

CHUNK = 500
SCENARIO_KIND = DocumentKind.SCENARIO.value

BatchOp = Order | Lot | Receipt | Movement | Diversion


def _may_post(diversion: Diversion, approvals: Sequence[str], actor: str) -> bool:
    """Whether an approval completes a diversion so it posts: the governance hook.

    The rules live in ``gpuledger.governance.rules``; interfaces put the grants in
    force with ``gpuledger.governance.context.governed``. Outside it (no governance:
    tests of the books, history imports) the first approval posts.
    """
    from gpuledger.governance.context import may_post  # lazy: governance imports the ledger

    return may_post(diversion, approvals, actor)


_ALREADY = {
    (DiversionStatus.POSTED, Decision.APPROVE),
    (DiversionStatus.VOIDED, Decision.REJECT),
    (DiversionStatus.VOIDED, Decision.VOID),
}


def decision_event_id(diversion_id: str, decision: Decision, actor: str) -> str:
    """The event id of one person's decision on a diversion."""
    return f"decide:{diversion_id}:{decision.value}:{actor}"


def chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    """Slices of at most ``size`` items, for ``IN (...)`` lists."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --------------------------------------------------------------------------- balances


@dataclass
class Bal:
    """Units of one (account, sku, lot): posted, pending debits and pending credits."""

    posted: int = 0
    pend_debit: int = 0
    pend_credit: int = 0

    @property
    def available(self) -> int:
        """What may still be debited: posted minus reserved."""
        return self.posted - self.pend_debit


BalKey = tuple[Account, str, str]  # account, sku, lot


def fold(
    rows: Iterable[Transfer],
    effective_before: datetime | None = None,
    recorded_before: datetime | None = None,
) -> dict[BalKey, Bal]:
    """Balances from transfer rows in log order, optionally as of / as known on.

    posted = sum(single + post); pending = pending rows minus the post/void rows
    that resolve them. A post or void whose pending row is filtered out releases
    nothing.
    """
    out: dict[BalKey, Bal] = defaultdict(Bal)
    open_pending: dict[str, Transfer] = {}
    for t in rows:
        if effective_before is not None and t.effective_at >= effective_before:
            continue
        if recorded_before is not None and t.recorded_at >= recorded_before:
            continue
        _apply(out, open_pending, t)
    return out


def _apply(bal: dict[BalKey, Bal], open_pending: dict[str, Transfer], t: Transfer) -> None:
    debit, credit = (t.debit, t.sku, t.lot), (t.credit, t.sku, t.lot)
    if t.phase is Phase.SINGLE or t.phase is Phase.POST:
        bal[debit].posted -= t.qty
        bal[credit].posted += t.qty
    if t.phase is Phase.PENDING:
        bal[debit].pend_debit += t.qty
        bal[credit].pend_credit += t.qty
        open_pending[t.id] = t
    elif t.phase is Phase.POST or t.phase is Phase.VOID:
        p = open_pending.pop(t.pending_id or "", None)
        if p is not None:
            bal[(p.debit, p.sku, p.lot)].pend_debit -= p.qty
            bal[(p.credit, p.sku, p.lot)].pend_credit -= p.qty


_KINDS = {k.value: k for k in TransferKind}
_PHASES = {p.value: p for p in Phase}
_ACCOUNTS: dict[tuple[str, str], Account] = {}


def account_of(owner: str, bucket: str) -> Account:
    """Accounts are few and immutable: build each once."""
    found = _ACCOUNTS.get((owner, bucket))
    if found is None:
        found = _ACCOUNTS[(owner, bucket)] = Account(owner, Bucket(bucket))
    return found


def transfer_from_row(
    row: Any, effective_at: datetime | None = None, recorded_at: datetime | None = None
) -> Transfer:
    """A ``transfers`` table row as a :class:`Transfer` (times may be given converted)."""
    return Transfer(
        id=row.id,
        kind=_KINDS[row.kind],
        phase=_PHASES[row.phase],
        debit=account_of(row.debit_owner, row.debit_bucket),
        credit=account_of(row.credit_owner, row.credit_bucket),
        sku=row.sku,
        lot=row.lot,
        qty=int(row.qty),
        effective_at=effective_at or row.effective_at,
        recorded_at=recorded_at or row.recorded_at,
        pending_id=row.pending_id,
        diversion=row.diversion,
    )


RawRow = tuple[Any, ...]  # a ``transfers`` row as the driver returns it, in _RAW_COLUMNS order
_RAW_COLUMNS = (
    "event_seq", "id", "kind", "phase", "debit_owner", "debit_bucket", "credit_owner",
    "credit_bucket", "sku", "lot", "qty", "effective_at", "recorded_at", "pending_id",
    "diversion",
)  # fmt: skip
_POSTED_PHASES = (Phase.SINGLE.value, Phase.POST.value)


class LotBook:
    """Every transfer of one lot (stored and queued), with all-time balances per account.

    A lot has one SKU, so its balances are keyed by account alone; ``add`` and
    ``available`` are O(1). Stored rows are kept raw until something reads
    ``rows`` or ``by_id``: a batch that only moves units never builds them.
    """

    def __init__(self) -> None:
        self.bal: dict[Account, Bal] = {}
        self.open_pending: dict[str, Transfer] = {}
        self.ids: set[str] = set()
        self._raw: list[tuple[RawRow, Callable[[Any], datetime]]] = []
        self._rows: list[Transfer] = []
        self._by_id: dict[str, Transfer] = {}

    def _bal(self, account: Account) -> Bal:
        found = self.bal.get(account)
        if found is None:
            found = self.bal[account] = Bal()
        return found

    def load(self, r: RawRow, when: Callable[[Any], datetime]) -> None:
        """Account for a stored row (in log order) without building its Transfer yet."""
        phase, qty = r[3], int(r[10])
        self.ids.add(r[1])
        if phase in _POSTED_PHASES:
            self._bal(account_of(r[4], r[5])).posted -= qty
            self._bal(account_of(r[6], r[7])).posted += qty
        if phase == Phase.PENDING.value or phase == Phase.VOID.value:
            self._apply_phase(_transfer(r, when))  # rare rows: build them now
        elif phase == Phase.POST.value and r[13] in self.open_pending:
            self._apply_phase(_transfer(r, when))
        self._raw.append((r, when))

    def _materialize(self) -> None:
        if self._raw:
            built = [_transfer(r, when) for r, when in self._raw]
            self._raw = []
            self._rows = built + self._rows
            self._by_id = {t.id: t for t in self._rows}

    @property
    def rows(self) -> list[Transfer]:
        """The lot's transfers in log order."""
        self._materialize()
        return self._rows

    @property
    def by_id(self) -> dict[str, Transfer]:
        """The lot's transfers by id."""
        self._materialize()
        return self._by_id

    def add(self, t: Transfer) -> None:
        """Append a transfer and update the balances (the rules of :func:`fold`)."""
        self._rows.append(t)
        self._by_id[t.id] = t
        self.ids.add(t.id)
        if t.phase is Phase.SINGLE or t.phase is Phase.POST:
            self._bal(t.debit).posted -= t.qty
            self._bal(t.credit).posted += t.qty
        self._apply_phase(t)

    def _apply_phase(self, t: Transfer) -> None:
        """The pending side of a transfer: reserve, or release what it resolves."""
        if t.phase is Phase.PENDING:
            self._bal(t.debit).pend_debit += t.qty
            self._bal(t.credit).pend_credit += t.qty
            self.open_pending[t.id] = t
        elif t.phase is Phase.POST or t.phase is Phase.VOID:
            p = self.open_pending.pop(t.pending_id or "", None)
            if p is not None:
                self._bal(p.debit).pend_debit -= p.qty
                self._bal(p.credit).pend_credit -= p.qty

    def available(self, account: Account) -> int:
        """Units of this lot the account may still debit (all dates, all known)."""
        b = self.bal.get(account)
        return 0 if b is None else b.available

    def reserved(self, account: Account) -> int:
        """Units of this lot the account has reserved for pending debits."""
        b = self.bal.get(account)
        return 0 if b is None else b.pend_debit

    def held(self, account: Account, at: datetime) -> int:
        """Posted units of this lot in ``account``, counting transfers effective by ``at``."""
        total = 0
        for t in self.rows:
            if t.effective_at <= at and (t.phase is Phase.SINGLE or t.phase is Phase.POST):
                if t.credit == account:
                    total += t.qty
                if t.debit == account:
                    total -= t.qty
        return total

    def bucket_of(self, org: str, at: datetime) -> Bucket:
        """Where ``org`` holds this lot's units at ``at``: in transit until arrival, then stock."""
        return (
            Bucket.IN_TRANSIT
            if self.held(org_account(org, Bucket.IN_TRANSIT), at) > 0
            else Bucket.STOCK
        )


def _transfer(r: RawRow, when: Callable[[Any], datetime]) -> Transfer:
    """A raw driver row (``_RAW_COLUMNS`` order) as a :class:`Transfer`."""
    return Transfer(
        id=r[1],
        kind=_KINDS[r[2]],
        phase=_PHASES[r[3]],
        debit=account_of(r[4], r[5]),
        credit=account_of(r[6], r[7]),
        sku=r[8],
        lot=r[9],
        qty=int(r[10]),
        effective_at=when(r[11]),
        recorded_at=when(r[12]),
        pending_id=r[13],
        diversion=r[14],
    )


# --------------------------------------------------------------------------- events


@dataclass
class NewEvent:
    """An event queued for writing."""

    id: str
    kind: EventKind
    body: dict[str, Any]
    actor: str
    effective_at: datetime
    recorded_at: datetime
    transfers: list[Transfer] = field(default_factory=list)
    document: tuple[str, str, str, dict[str, Any]] | None = None  # kind, id, hash, data


def _content(inputs: Any) -> Any:
    """What idempotency compares: the input without its ``source`` (documentation only)."""
    if isinstance(inputs, dict):
        return {k: v for k, v in inputs.items() if k != "source"}
    return inputs


def _normal(value: Any) -> Any:
    """A value as plain JSON types, equal to what the log stores once read back."""
    return to_json(value)


class Work:
    """One transaction's worth of operations, validated in memory.

    Args:
        conn: a connection inside a transaction that holds the chain-head lock.
        now: the recorded time of verbs that do not say otherwise.
    """

    def __init__(self, conn: Connection, now: datetime) -> None:
        self.conn = conn
        self.now = now
        self.new: list[NewEvent] = []
        self.existing = 0
        self._events: dict[str, tuple[str, dict[str, Any]] | None] = {}
        self._lots: dict[str, LotBook] = {}
        self._docs: dict[tuple[str, str], tuple[str, dict[str, Any]] | None] = {}
        self._records: dict[tuple[str, str], Any] = {}
        self._kinds_loaded: set[str] = set()
        self._paybacks: dict[str, list[str]] | None = None  # lot -> diversion ids
        self._lot_orders: dict[str, tuple[Lot, Order]] = {}

    # ------------------------------------------------------------------ loading

    def preload_events(self, ids: Iterable[str]) -> None:
        """Fetch prior events with these ids (idempotency checks) in few queries."""
        missing = sorted({i for i in ids if i not in self._events})
        ev = schema.events.c
        for chunk in chunks(missing):
            found = {
                r.id: (r.kind, json.loads(r.body))
                for r in self.conn.execute(select(ev.id, ev.kind, ev.body).where(ev.id.in_(chunk)))
            }
            for i in chunk:
                self._events[i] = found.get(i)

    def _event(self, event_id: str) -> tuple[str, dict[str, Any]] | None:
        if event_id not in self._events:
            self.preload_events([event_id])
        return self._events[event_id]

    def preload_lots(self, lot_ids: Iterable[str]) -> None:
        """Fetch the transfers of these lots in few queries (raw driver rows)."""
        missing = sorted({i for i in lot_ids if i not in self._lots})
        if not missing:
            return
        # Timestamps repeat across rows: convert each distinct raw value once.
        seen: dict[Any, datetime] = {}

        def when(raw: Any) -> datetime:
            found = seen.get(raw)
            if found is None:
                found = seen[raw] = schema.utc_from_storage(raw)
            return found

        dialect = self.conn.dialect
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        quote = dialect.identifier_preparer.quote
        select_sql = (
            f"SELECT {', '.join(quote(n) for n in _RAW_COLUMNS)} "
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
        """The transfers of a lot (loaded once)."""
        if lot_id not in self._lots:
            self.preload_lots([lot_id])
        return self._lots[lot_id]

    def preload_docs(self, kind: str, ids: Iterable[str] | None = None) -> None:
        """Fetch the latest versions of documents (all of a kind when ``ids`` is None)."""
        dc = schema.documents.c
        query = select(dc.doc_id, dc.content_hash, dc.data).order_by(dc.event_seq)
        if ids is None:
            if kind in self._kinds_loaded:
                return
            found = {
                r.doc_id: (r.content_hash, json.loads(r.data))
                for r in self.conn.execute(query.where(dc.doc_kind == kind))
            }
            for doc_id, value in found.items():
                self._docs.setdefault((kind, doc_id), value)
            self._kinds_loaded.add(kind)
            return
        missing = sorted({i for i in ids if (kind, i) not in self._docs})
        if kind in self._kinds_loaded:
            for i in missing:
                self._docs[(kind, i)] = None
            return
        for chunk in chunks(missing):
            found = {
                r.doc_id: (r.content_hash, json.loads(r.data))
                for r in self.conn.execute(query.where(dc.doc_kind == kind, dc.doc_id.in_(chunk)))
            }
            for i in chunk:
                self._docs[(kind, i)] = found.get(i)

    def _doc(self, kind: str, doc_id: str) -> tuple[str, dict[str, Any]] | None:
        if (kind, doc_id) not in self._docs:
            self.preload_docs(kind, [doc_id])
        return self._docs[(kind, doc_id)]

    def record(self, kind: str, doc_id: str) -> Any:
        """The latest version of a document as its domain record; UnknownRecord if none."""
        key = (kind, doc_id)
        if key not in self._records:
            doc = self._doc(kind, doc_id)
            if doc is None:
                raise UnknownRecord(
                    f"{kind} {doc_id!r} is not in the ledger; import or add it first"
                )
            cls = Movement if kind == MOVEMENT_KIND else DOCUMENT_TYPES[DocumentKind(kind)]
            self._records[key] = from_json(cls, doc[1])
        return self._records[key]

    # ------------------------------------------------------------------ writing

    def _append(self, event: NewEvent) -> None:
        self.new.append(event)
        self._events[event.id] = (event.kind.value, event.body)

    def put_document(self, kind: str, record: Any, actor: str, at: datetime) -> bool:
        """Queue a new version of a document unless the latest version is the same.

        Returns True when a version was queued.
        """
        data = _normal(record)
        digest = content_hash(data)
        prior = self._doc(kind, record.id)
        if prior is not None and prior[0] == digest:
            self.existing += 1
            return False
        event_id = f"doc:{kind}:{record.id}:{digest[:16]}"
        if prior is not None:  # a return to an older version gets a fresh id
            n = 1
            while self._event(event_id) is not None:
                event_id = f"doc:{kind}:{record.id}:{digest[:16]}:{n}"
                n += 1
        body = {"doc": kind, "id": record.id, "data": data}
        self._append(
            NewEvent(
                event_id,
                EventKind.DOCUMENT,
                body,
                actor,
                at,
                at,
                [],
                (kind, record.id, digest, data),
            )
        )
        self._docs[(kind, record.id)] = (digest, data)
        self._records.pop((kind, record.id), None)
        if kind in (DocumentKind.LOT.value, DocumentKind.ORDER.value):
            self._lot_orders.clear()
        if kind == DocumentKind.DIVERSION.value:
            self._paybacks = None
        return True

    def _seen(
        self, event_id: str, op: Operation, inputs: dict[str, Any], book: LotBook | None = None
    ) -> bool:
        """True if this operation is already in the log with the same input (a no-op).

        ``inputs`` holds plain JSON values (dates as ISO strings), as the log stores them.

        ``book``: the lot whose transfer carries the event's own id (ship,
        receive, propose, payback); when that transfer is absent the event is
        too, and no query is needed.
        """
        if book is not None and event_id not in book.ids and event_id not in self._events:
            return False
        prior = self._event(event_id)
        if prior is None:
            return False
        kind, body = prior
        if (
            kind != EventKind.OPERATION.value
            or body.get("op") != op.value
            or _content(body.get("input")) != _content(inputs)
        ):
            raise IdempotencyConflict(
                f"operation {event_id!r} was recorded before with different content "
                f"({body.get('input')} != {inputs}); use a new id or reverse the first one"
            )
        self.existing += 1
        return True

    def _emit(
        self,
        event_id: str,
        op: Operation,
        inputs: dict[str, Any],
        transfers: Sequence[Transfer],
        *,
        actor: str,
        effective_at: datetime,
        recorded_at: datetime,
    ) -> None:
        """Check each transfer against the balances, apply it, and queue the event."""
        for t in transfers:
            if t.qty <= 0:
                raise LedgerError(f"transfer {t.id!r}: quantity must be positive, got {t.qty}")
            book = self.lot_book(t.lot)
            if t.phase in (Phase.SINGLE, Phase.PENDING) and not t.debit.may_go_negative:
                have = book.available(t.debit)
                if have < t.qty:
                    raise InsufficientUnits(
                        f"{t.debit} has {have} unit(s) of {t.sku} from lot {t.lot} available "
                        f"(pending debits counted); {t.id!r} asked for {t.qty}"
                    )
            book.add(t)
        body = {
            "op": op.value,
            "input": inputs,
            "transfers": [t.body() for t in transfers],
        }
        self._append(
            NewEvent(
                event_id,
                EventKind.OPERATION,
                body,
                actor,
                effective_at,
                recorded_at,
                list(transfers),
            )
        )

    def flush(self) -> int:
        """Chain and write the queued events, transfers and documents; clear the queue.

        Returns the number of rows written.
        """
        if not self.new:
            return 0
        head = self.conn.execute(
            select(schema.chain_head.c.seq, schema.chain_head.c.hash).where(
                schema.chain_head.c.id == 1
            )
        ).one()
        seq, prev = int(head.seq), str(head.hash)
        ev_rows: list[dict[str, Any]] = []
        tr_rows: list[dict[str, Any]] = []
        doc_rows: list[dict[str, Any]] = []
        for e in self.new:
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
            for t in e.transfers:
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
        self._insert_many(schema.events, ev_rows)
        self._insert_many(schema.transfers, tr_rows)
        self._insert_many(schema.documents, doc_rows)
        self.conn.execute(
            update(schema.chain_head).where(schema.chain_head.c.id == 1).values(seq=seq, hash=prev)
        )
        self.new = []
        return len(ev_rows) + len(tr_rows) + len(doc_rows)

    def _insert_many(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """``executemany`` straight to the driver, binding values as the column types do.

        SQLAlchemy's per-row parameter processing costs more than SQLite's insert
        itself; the bind processors are applied here once per distinct value.
        """
        if not rows:
            return
        dialect = self.conn.dialect
        columns = list(rows[0])
        processors: list[Callable[[Any], Any] | None] = []
        for name in columns:
            # dialect_impl: the processor SQLAlchemy itself uses (SQLite stores text)
            proc = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if proc is not None:
                cache: dict[Any, Any] = {}

                def cached(
                    value: Any, proc: Callable[[Any], Any] = proc, cache: dict[Any, Any] = cache
                ) -> Any:
                    if value not in cache:
                        cache[value] = proc(value)
                    return cache[value]

                processors.append(cached)
            else:
                processors.append(None)
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        preparer = dialect.identifier_preparer
        sql = (
            f"INSERT INTO {preparer.format_table(table)} "
            f"({', '.join(preparer.quote(c) for c in columns)}) "
            f"VALUES ({', '.join([mark] * len(columns))})"
        )
        params = [
            tuple(
                p(row[c]) if p is not None else row[c]
                for c, p in zip(columns, processors, strict=True)
            )
            for row in rows
        ]
        self.conn.exec_driver_sql(sql, params)

    def report(self) -> ImportReport:
        """Counts of what is queued (call before :meth:`flush`)."""
        return ImportReport(
            new_events=len(self.new),
            existing_events=self.existing,
            new_transfers=sum(len(e.transfers) for e in self.new),
            new_documents=sum(1 for e in self.new if e.document is not None),
        )

    # ------------------------------------------------------------------ lookups

    def _lot_sku_vendor(self, lot_id: str) -> tuple[Lot, Order]:
        found = self._lot_orders.get(lot_id)
        if found is None:
            lot: Lot = self.record(DocumentKind.LOT, lot_id)
            order: Order = self.record(DocumentKind.ORDER, lot.order)
            found = self._lot_orders[lot_id] = (lot, order)
        return found

    def _require_org(self, org: str) -> None:
        self.record(DocumentKind.ORG, org)

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

    def _owned_lots(self, owner: str) -> list[str]:
        """Lots ever credited to an owner (stored or queued), by ship time then id."""
        tr = schema.transfers.c
        lots = {
            r.lot
            for r in self.conn.execute(select(tr.lot).where(tr.credit_owner == owner).distinct())
        }
        lots |= {t.lot for e in self.new for t in e.transfers if t.credit.owner == owner}
        self.preload_lots(lots)

        def shipped(lot_id: str) -> tuple[datetime, str]:
            ship = self.lot_book(lot_id).by_id.get(f"ship:{lot_id}")
            return (ship.effective_at if ship else day_start(date.max), lot_id)

        return sorted(lots, key=shipped)

    def _clusters_of(self, org: str) -> list[str]:
        self.preload_docs(DocumentKind.CLUSTER.value)
        return sorted(
            doc_id
            for (kind, doc_id), doc in self._docs.items()
            if kind == DocumentKind.CLUSTER.value and doc is not None and doc[1]["org"] == org
        )

    def status(self, diversion_id: str) -> DiversionStatus | None:
        """A diversion's status in the books; None if never proposed."""
        d: Diversion = self.record(DocumentKind.DIVERSION, diversion_id)
        book = self.lot_book(d.lot)
        if f"post:{diversion_id}" in book.ids:
            return DiversionStatus.POSTED
        if f"void:{diversion_id}" in book.ids:
            return DiversionStatus.VOIDED
        if f"divert:{diversion_id}" in book.ids:
            return DiversionStatus.PENDING
        return None

    def _payback_index(self) -> dict[str, list[str]]:
        if self._paybacks is None:
            self.preload_docs(DocumentKind.DIVERSION.value)
            index: dict[str, list[str]] = defaultdict(list)
            for (kind, doc_id), doc in sorted(self._docs.items()):
                if kind == DocumentKind.DIVERSION.value and doc is not None:
                    for p in doc[1].get("payback") or ():
                        index[p["lot"]].append(doc_id)
            self._paybacks = index
        return self._paybacks

    # ------------------------------------------------------------------ verbs

    def order(self, order: Order, *, actor: str) -> None:
        """Record an order (a versioned document) once its org, vendor and SKU exist.

        Raises UnknownRecord naming the field (org, vendor or sku) that refers
        to nothing, LedgerError when the quantity is not positive.
        """
        subject = f"order {order.id!r}"
        self.require(DocumentKind.ORG, order.org, subject, "org")
        self.require(DocumentKind.VENDOR, order.vendor, subject, "vendor")
        self.require(DocumentKind.SKU, order.sku, subject, "sku")
        if order.qty <= 0:
            raise LedgerError(f"order {order.id!r}: quantity must be positive, got {order.qty}")
        self.put_document(DocumentKind.ORDER.value, order, actor, self.now)

    def ship(self, lot: Lot, *, actor: str, recorded_at: datetime | None = None) -> None:
        """Post a lot's shipment (vendor/world -> consignee/in_transit), then due paybacks.

        Raises UnknownRecord naming the field (order or consignee) that refers to nothing.
        """
        subject = f"lot {lot.id!r}"
        order: Order = self.require(DocumentKind.ORDER, lot.order, subject, "order")
        self.require(DocumentKind.ORG, lot.consignee, subject, "consignee")
        if lot.qty <= 0:
            raise LedgerError(f"lot {lot.id!r}: quantity must be positive, got {lot.qty}")
        if lot.arrives_on < lot.ships_on:
            raise LedgerError(f"lot {lot.id!r}: arrives_on {lot.arrives_on} is before ships_on")
        event_id = f"ship:{lot.id}"
        inputs = {
            "lot": lot.id,
            "order": lot.order,
            "qty": lot.qty,
            "ships_on": lot.ships_on.isoformat(),
            "consignee": lot.consignee,
        }
        at = day_start(lot.ships_on)
        rec = recorded_at or self.now
        if not self._seen(event_id, Operation.SHIP, inputs, self.lot_book(lot.id)):
            t = Transfer(
                event_id,
                TransferKind.SHIP,
                Phase.SINGLE,
                vendor_account(order.vendor),
                org_account(lot.consignee, Bucket.IN_TRANSIT),
                order.sku,
                lot.id,
                lot.qty,
                at,
                rec,
            )
            self._emit(
                event_id, Operation.SHIP, inputs, [t], actor=actor, effective_at=at, recorded_at=rec
            )
        for diversion_id in self._payback_index().get(lot.id, ()):
            if self.status(diversion_id) is DiversionStatus.POSTED:
                d: Diversion = self.record(DocumentKind.DIVERSION, diversion_id)
                for p in d.payback:
                    if p.lot == lot.id:
                        self.payback(d, p, actor=actor, recorded_at=recorded_at)

    def receive(
        self, lot_id: str, on: date, *, actor: str, recorded_at: datetime | None = None
    ) -> int:
        """Receive a lot: each org holding part of it in transit moves it to stock.

        Returns the units received. Units reserved by a pending diversion cannot
        arrive: decide the diversion first (InvalidTransition).
        """
        book = self.lot_book(lot_id)
        ship = book.by_id.get(f"ship:{lot_id}")
        if ship is None:
            self.record(DocumentKind.LOT, lot_id)
            raise LedgerError(f"lot {lot_id!r} has not shipped; it cannot be received")
        at = day_start(on)
        if at < ship.effective_at:
            raise LedgerError(f"lot {lot_id!r} cannot arrive on {on}, before it shipped")
        holders = sorted(
            {
                t.credit
                for t in book.rows
                if t.credit.bucket is Bucket.IN_TRANSIT and t.credit.owner_kind is OwnerKind.ORG
            }
        )
        received = 0
        for account in holders:
            event_id = f"receive:{lot_id}:{account.owner}"
            inputs = {"lot": lot_id, "org": account.owner_id, "on": on.isoformat()}
            if self._seen(event_id, Operation.RECEIVE, inputs, book):
                continue
            reserved = book.reserved(account)
            if reserved:
                pending = sorted(
                    p.diversion or p.id for p in book.open_pending.values() if p.debit == account
                )
                raise InvalidTransition(
                    f"lot {lot_id!r} cannot be received by {account.owner}: {reserved} unit(s) "
                    f"in transit are reserved by pending diversion(s) {', '.join(pending)}; "
                    "approve or void them first"
                )
            qty = book.available(account)
            if qty <= 0:
                continue
            deps = [t.recorded_at for t in book.rows if t.credit == account]
            rec = max([recorded_at or self.now, *deps])
            t = Transfer(
                event_id,
                TransferKind.RECEIVE,
                Phase.SINGLE,
                account,
                org_account(account.owner_id, Bucket.STOCK),
                ship.sku,
                lot_id,
                qty,
                at,
                rec,
            )
            self._emit(
                event_id,
                Operation.RECEIVE,
                inputs,
                [t],
                actor=actor,
                effective_at=at,
                recorded_at=rec,
            )
            received += qty
        return received

    def movement(self, m: Movement, *, actor: str, recorded_at: datetime | None = None) -> None:
        """Deploy, fail or return units (FIFO over lots when the movement names none)."""
        self._require_org(m.org)
        if m.qty <= 0:
            raise LedgerError(f"movement {m.id!r}: quantity must be positive, got {m.qty}")
        sources: list[Account]
        if m.op is TransferKind.DEPLOY:
            if m.cluster is None:
                raise LedgerError(f"movement {m.id!r}: deploy needs a cluster")
            cluster: Cluster = self.record(DocumentKind.CLUSTER, m.cluster)
            if cluster.org != m.org:
                raise LedgerError(
                    f"movement {m.id!r}: cluster {m.cluster!r} belongs to "
                    f"{cluster.org!r}, not {m.org!r}"
                )
            sources = [org_account(m.org, Bucket.STOCK)]
        elif m.op is TransferKind.FAIL:
            clusters = [m.cluster] if m.cluster else self._clusters_of(m.org)
            for c in clusters:
                if self.record(DocumentKind.CLUSTER, c).org != m.org:
                    raise LedgerError(
                        f"movement {m.id!r}: cluster {c!r} does not belong to {m.org!r}"
                    )
            sources = [cluster_account(c) for c in clusters]
        elif m.op is TransferKind.RETURN:
            sources = [org_account(m.org, Bucket.FAILED)]
        else:
            raise LedgerError(f"movement {m.id!r}: op {m.op.value!r} is not deploy, fail or return")
        # The operation's input is the whole movement: that is its record in the
        # books (import also keeps movements as documents, for future ones).
        event_id = f"movement:{m.id}"
        inputs = _normal(m)
        if self._seen(event_id, Operation.MOVEMENT, inputs):
            return
        at = day_start(m.on)
        rec = recorded_at or self.now
        pieces = self._allocate(m, sources)
        transfers: list[Transfer] = []
        for n, (source, lot_id, qty) in enumerate(pieces):
            _, order = self._lot_sku_vendor(lot_id)
            if m.op is TransferKind.DEPLOY:
                credit = cluster_account(m.cluster or "")
            elif m.op is TransferKind.FAIL:
                credit = org_account(m.org, Bucket.FAILED)
            else:
                credit = vendor_account(order.vendor)
            transfers.append(
                Transfer(
                    f"{event_id}:{n}",
                    m.op,
                    Phase.SINGLE,
                    source,
                    credit,
                    order.sku,
                    lot_id,
                    qty,
                    at,
                    rec,
                )
            )
        self._emit(
            event_id,
            Operation.MOVEMENT,
            inputs,
            transfers,
            actor=actor,
            effective_at=at,
            recorded_at=rec,
        )

    def _allocate(self, m: Movement, sources: list[Account]) -> list[tuple[Account, str, int]]:
        """Take ``m.qty`` units from the sources, of ``m.lot`` or first-shipped lots first."""
        left = m.qty
        pieces: list[tuple[Account, str, int]] = []
        skus: set[str] = set()
        for source in sources:
            lots = [m.lot] if m.lot else self._owned_lots(source.owner)
            for lot_id in lots:
                if left == 0:
                    break
                take = min(left, self.lot_book(lot_id).available(source))
                if take > 0:
                    pieces.append((source, lot_id, take))
                    skus.add(self._lot_sku_vendor(lot_id)[1].sku)
                    left -= take
        if left:
            have = m.qty - left
            where = ", ".join(str(s) for s in sources) or f"org:{m.org} (no clusters)"
            lot = f"lot {m.lot}" if m.lot else "any lot"
            raise InsufficientUnits(
                f"movement {m.id!r}: {where} has {have} unit(s) of {lot} available; "
                f"asked for {m.qty}"
            )
        if len(skus) > 1:
            raise LedgerError(
                f"movement {m.id!r} names no lot and would take several SKUs "
                f"({', '.join(sorted(skus))}); "
                "name the lot"
            )
        return pieces

    def propose(
        self, d: Diversion, *, actor: str, doc_at: datetime, recorded_at: datetime | None = None
    ) -> None:
        """Reserve a diversion's units: a pending transfer org A -> org B, same bucket."""
        if d.qty <= 0:
            raise LedgerError(f"diversion {d.id!r}: quantity must be positive, got {d.qty}")
        if d.from_org == d.to_org:
            raise LedgerError(f"diversion {d.id!r}: from and to are both {d.from_org!r}")
        self._require_org(d.from_org)
        self._require_org(d.to_org)
        _, order = self._lot_sku_vendor(d.lot)
        for p in d.payback:
            self._lot_sku_vendor(p.lot)
            if p.qty <= 0:
                raise LedgerError(f"diversion {d.id!r}: payback of lot {p.lot!r} must be positive")
        self.put_document(DocumentKind.DIVERSION.value, d, actor, doc_at)
        event_id = f"divert:{d.id}"
        inputs = {
            "lot": d.lot,
            "qty": d.qty,
            "from": d.from_org,
            "to": d.to_org,
            "on": d.on.isoformat(),
        }
        if self._seen(event_id, Operation.PROPOSE, inputs, self.lot_book(d.lot)):
            return
        at = day_start(d.on)
        rec = recorded_at or self.now
        book = self.lot_book(d.lot)
        bucket = book.bucket_of(d.from_org, at)
        t = Transfer(
            event_id,
            TransferKind.DIVERT,
            Phase.PENDING,
            org_account(d.from_org, bucket),
            org_account(d.to_org, bucket),
            order.sku,
            d.lot,
            d.qty,
            at,
            rec,
            diversion=d.id,
        )
        self._emit(
            event_id,
            Operation.PROPOSE,
            inputs,
            [t],
            actor=actor,
            effective_at=at,
            recorded_at=rec,
        )

    def decide(
        self,
        diversion_id: str,
        decision: Decision,
        *,
        actor: str,
        on: date | None,
        recorded_at: datetime | None = None,
    ) -> DiversionStatus:
        """Approve (post) or reject/void (release) a pending diversion."""
        d: Diversion = self.record(DocumentKind.DIVERSION, diversion_id)
        status = self.status(diversion_id)
        if decision is Decision.PROPOSE:
            raise InvalidTransition(
                f"diversion {diversion_id!r}: propose it with propose_diversion"
            )
        if status is None:
            raise InvalidTransition(f"diversion {diversion_id!r} was never proposed in the books")
        # One event per person and decision: a second approver is a new approval,
        # the same person approving again is an idempotent replay.
        event_id = decision_event_id(diversion_id, decision, actor)
        inputs = {"diversion": diversion_id, "decision": decision.value, "actor": actor}
        if self._seen(event_id, Operation.DECIDE, inputs):
            return status
        if (status, decision) in _ALREADY:
            return status  # someone else's decision already had this outcome: nothing to do
        if status is not DiversionStatus.PENDING:
            raise InvalidTransition(
                f"diversion {diversion_id!r} is {status.value}; it cannot be {decision.value}d"
            )
        book = self.lot_book(d.lot)
        pending = book.by_id[f"divert:{diversion_id}"]
        rec = recorded_at or self.now
        at = max(day_start(on) if on else rec, pending.effective_at)
        if decision is Decision.APPROVE:
            approvals = [actor]
            if not _may_post(d, approvals, actor):
                self._emit(
                    event_id,
                    Operation.DECIDE,
                    inputs,
                    [],
                    actor=actor,
                    effective_at=at,
                    recorded_at=rec,
                )
                return DiversionStatus.PENDING
            phase, tid, result = Phase.POST, f"post:{diversion_id}", DiversionStatus.POSTED
        else:
            phase, tid, result = Phase.VOID, f"void:{diversion_id}", DiversionStatus.VOIDED
        t = Transfer(
            tid,
            TransferKind.DIVERT,
            phase,
            pending.debit,
            pending.credit,
            pending.sku,
            pending.lot,
            pending.qty,
            at,
            rec,
            pending_id=pending.id,
            diversion=diversion_id,
        )
        self._emit(
            event_id, Operation.DECIDE, inputs, [t], actor=actor, effective_at=at, recorded_at=rec
        )
        if result is DiversionStatus.POSTED:
            for p in d.payback:
                self.payback(d, p, actor=actor, recorded_at=recorded_at)
        return result

    def payback(
        self, d: Diversion, p: Payback, *, actor: str, recorded_at: datetime | None = None
    ) -> None:
        """Move a posted diversion's payback from receiver to giver, once the lot shipped."""
        book = self.lot_book(p.lot)
        ship = book.by_id.get(f"ship:{p.lot}")
        if ship is None:
            return  # posted when the lot ships
        event_id = f"payback:{d.id}:{p.lot}"
        inputs = {"diversion": d.id, "lot": p.lot, "qty": p.qty, "from": d.to_org, "to": d.from_org}
        if self._seen(event_id, Operation.PAYBACK, inputs, book):
            return
        post = self.lot_book(d.lot).by_id[f"post:{d.id}"]
        at = max(ship.effective_at, post.effective_at)
        deps = [ship.recorded_at, post.recorded_at]
        rec = max([recorded_at or self.now, *deps])
        bucket = book.bucket_of(d.to_org, at)
        t = Transfer(
            event_id,
            TransferKind.PAYBACK,
            Phase.SINGLE,
            org_account(d.to_org, bucket),
            org_account(d.from_org, bucket),
            ship.sku,
            p.lot,
            p.qty,
            at,
            rec,
            diversion=d.id,
        )
        self._emit(
            event_id, Operation.PAYBACK, inputs, [t], actor=actor, effective_at=at, recorded_at=rec
        )

    def reverse(self, transfer_id: str, *, actor: str, reason: str) -> None:
        """Append a reversal of a posted transfer (effective when the original was)."""
        tr = schema.transfers.c
        lot_id = self.conn.execute(select(tr.lot).where(tr.id == transfer_id)).scalar()
        if lot_id is None:
            queued = [t for e in self.new for t in e.transfers if t.id == transfer_id]
            if not queued:
                raise UnknownRecord(f"transfer {transfer_id!r} is not in the ledger")
            lot_id = queued[0].lot
        original = self.lot_book(lot_id).by_id[transfer_id]
        if original.phase not in (Phase.SINGLE, Phase.POST):
            raise InvalidTransition(
                f"transfer {transfer_id!r} is a {original.phase.value} row; "
                "void a pending diversion instead of reversing it"
            )
        if original.kind is TransferKind.REVERSAL:
            raise InvalidTransition(f"transfer {transfer_id!r} is itself a reversal")
        event_id = f"reverse:{transfer_id}"
        inputs = {"transfer": transfer_id, "reason": reason}
        if self._seen(event_id, Operation.REVERSE, inputs):
            return
        t = Transfer(
            event_id,
            TransferKind.REVERSAL,
            Phase.SINGLE,
            original.credit,
            original.debit,
            original.sku,
            original.lot,
            original.qty,
            original.effective_at,
            self.now,
        )
        self._emit(
            event_id,
            Operation.REVERSE,
            inputs,
            [t],
            actor=actor,
            effective_at=original.effective_at,
            recorded_at=self.now,
        )

    # ------------------------------------------------------------------ import and batches

    def import_scenario(self, s: Scenario, *, actor: str) -> None:
        """Queue a scenario: documents first, then every dated event up to ``s.as_of``.

        Phases: 1. load what the books hold; 2. new document versions; 3. the
        timeline (ship, divert, receive, deploy, fail, return) in date order.
        """
        # 1. Load every latest document and the transfers of the scenario's lots.
        for kind in [*DOCUMENT_TYPES, MOVEMENT_KIND, SCENARIO_KIND]:
            self.preload_docs(str(kind))
        self.preload_lots([lot.id for lot in s.lots])
        doc_at = day_start(s.as_of)
        # 2. Documents (skipped when unchanged).
        head = {
            "id": s.name,
            "name": s.name,
            "as_of": s.as_of,
            "description": s.description,
            "parameters": s.parameters,
        }
        self.put_document(SCENARIO_KIND, _Doc(s.name, head), actor, doc_at)
        groups: list[tuple[DocumentKind, Sequence[Any]]] = [
            (DocumentKind.SKU, s.skus),
            (DocumentKind.VENDOR, s.vendors),
            (DocumentKind.GROUP, s.groups),
            (DocumentKind.ORG, s.orgs),
            (DocumentKind.CLUSTER, s.clusters),
            (DocumentKind.ORDER, s.orders),
            (DocumentKind.LOT, s.lots),
            (DocumentKind.TARGET, s.targets),
            (DocumentKind.CLAIM, s.claims),
            (DocumentKind.DIVERSION, s.diversions),
        ]
        for kind, records in groups:
            for record in records:
                self.put_document(kind.value, record, actor, doc_at)
        for m in s.movements:
            self.put_document(MOVEMENT_KIND, m, actor, doc_at)
        # 3. The timeline up to as_of, in date order then verb order.
        prefixes = ("ship:", "receive:", "divert:", "payback:")
        self.preload_events(
            [tid for book in self._lots.values() for tid in book.ids if tid.startswith(prefixes)]
            + [f"movement:{m.id}" for m in s.movements]
            + [decision_event_id(d.id, x, actor) for d in s.diversions for x in Decision]
        )
        steps: list[tuple[date, int, int, Callable[[], object]]] = []
        for i, lot in enumerate(s.lots):
            if lot.ships_on <= s.as_of:
                steps.append((lot.ships_on, 0, i, _bind(self._import_ship, lot, actor)))
            if lot.arrives_on <= s.as_of:
                steps.append((lot.arrives_on, 2, i, _bind(self._import_receive, lot, actor)))
        for i, d in enumerate(s.diversions):
            if d.on <= s.as_of:
                steps.append((d.on, 1, i, _bind(self._import_diversion, d, actor, doc_at)))
        rank = {TransferKind.DEPLOY: 3, TransferKind.FAIL: 4, TransferKind.RETURN: 5}
        for i, m in enumerate(s.movements):
            if m.on <= s.as_of:
                steps.append(
                    (m.on, rank.get(m.op, 6), i, _bind(self._import_movement, m, actor, doc_at))
                )
        for _, _, _, step in sorted(steps, key=lambda x: x[:3]):
            step()

    def _import_ship(self, lot: Lot, actor: str) -> None:
        self.ship(lot, actor=actor, recorded_at=day_start(lot.ships_on))

    def _import_receive(self, lot: Lot, actor: str) -> None:
        self.receive(lot.id, lot.arrives_on, actor=actor, recorded_at=day_start(lot.arrives_on))

    def _import_diversion(self, d: Diversion, actor: str, doc_at: datetime) -> None:
        rec = day_start(d.known_on or d.on)
        self.propose(d, actor=d.proposed_by or actor, doc_at=doc_at, recorded_at=rec)
        if d.status is DiversionStatus.POSTED:
            self.decide(d.id, Decision.APPROVE, actor=actor, on=d.on, recorded_at=rec)
        elif d.status is DiversionStatus.VOIDED:
            self.decide(d.id, Decision.VOID, actor=actor, on=d.on, recorded_at=rec)

    def _import_movement(self, m: Movement, actor: str, doc_at: datetime) -> None:
        self.movement(m, actor=actor, recorded_at=day_start(m.known_on or m.on))

    def batch(self, ops: Sequence[BatchOp], *, actor: str) -> None:
        """Queue many verbs: orders, lots (ship), receipts, movements, diversions (propose)."""
        lots = {op.id for op in ops if isinstance(op, Lot)}
        lots |= {op.lot for op in ops if isinstance(op, Receipt)}
        lots |= {op.lot for op in ops if isinstance(op, Movement) and op.lot}
        lots |= {op.lot for op in ops if isinstance(op, Diversion)}
        self.preload_docs(DocumentKind.LOT.value, lots)
        self.preload_docs(
            DocumentKind.ORDER.value,
            {op.order for op in ops if isinstance(op, Lot)}
            | {d[1]["order"] for i in lots if (d := self._docs.get((DocumentKind.LOT.value, i)))},
        )
        self.preload_docs(DocumentKind.ORDER.value, {op.id for op in ops if isinstance(op, Order)})
        self.preload_lots(lots)
        self.preload_events(
            [f"ship:{op.id}" for op in ops if isinstance(op, Lot)]
            + [f"movement:{op.id}" for op in ops if isinstance(op, Movement)]
            + [f"divert:{op.id}" for op in ops if isinstance(op, Diversion)]
        )
        for op in ops:
            if isinstance(op, Order):
                self.order(op, actor=actor)
            elif isinstance(op, Lot):
                self.put_document(DocumentKind.LOT.value, op, actor, self.now)
                self.ship(op, actor=actor)
            elif isinstance(op, Receipt):
                self.receive(op.lot, op.on, actor=actor)
            elif isinstance(op, Movement):
                self.movement(op, actor=actor)
            else:
                self.propose(op, actor=actor, doc_at=self.now)


@dataclass(frozen=True)
class _Doc:
    """A document that is not a domain record (the scenario head)."""

    id: str
    data: dict[str, Any]


def _bind(fn: Callable[..., object], *args: Any) -> Callable[[], object]:
    return lambda: fn(*args)
