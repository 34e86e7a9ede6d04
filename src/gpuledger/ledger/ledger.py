"""The :class:`Ledger` facade: opening the books, the verbs, and the reads."""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Connection,
    Engine,
    Select,
    case,
    create_engine,
    event,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from gpuledger.domain import (
    Account,
    Balance,
    Bucket,
    Decision,
    Diversion,
    DiversionStatus,
    DocumentKind,
    Lot,
    Movement,
    Order,
    Parameters,
    Phase,
    Scenario,
    TransferKind,
    UnknownRecord,
    day_end,
    day_start,
)
from gpuledger.ledger import schema
from gpuledger.ledger.audit import verify_books
from gpuledger.ledger.books import CHUNK, BatchOp, Work, account_of, fold, transfer_from_row
from gpuledger.ledger.codec import DOCUMENT_TYPES, MOVEMENT_KIND, from_json
from gpuledger.ledger.memo import DEFAULT_SIZE, Head, HeadMemo, MemoStats
from gpuledger.ledger.results import (
    AuditReport,
    DecisionView,
    DiversionView,
    EventKind,
    EventView,
    ImportReport,
    LotTrace,
    Transfer,
)

if TYPE_CHECKING:
    from gpuledger.planning.snapshot import PlanningSnapshot

_WRITE = "gpuledger_write"
_ANALYZE_AFTER = 5_000  # rows written by one transaction
MIGRATIONS = Path(__file__).parent / "migrations"

Docs = dict[str, dict[str, dict[str, Any]]]  # kind -> id -> latest data, in first-seen order


def system_clock() -> datetime:
    """The wall clock in UTC: the default ``clock`` of :meth:`Ledger.open`."""
    return datetime.now(UTC)


def _engine(url: str) -> Engine:
    """An engine with SQLite set up for WAL and explicit BEGIN (IMMEDIATE for writers)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    memory = parsed.database in (None, "", ":memory:")
    if memory:
        engine = create_engine(
            parsed, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        engine = create_engine(parsed, connect_args={"timeout": 60})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
        cursor = dbapi_connection.cursor()
        if not memory:
            # WAL + synchronous=NORMAL: a commit is not fsynced (the WAL is, at each
            # checkpoint). A power loss or OS crash may lose the last transactions
            # committed before it, never corrupt the file or keep half a transaction;
            # a crash of the process alone loses nothing. See docs/ledger.md.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB of page cache per connection
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # Writers take the database write lock up front so their reads and checks
        # see the state they will commit on top of (serialised hash chain).
        immediate = conn.get_execution_options().get(_WRITE)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def alembic_config() -> Config:
    """An Alembic config pointing at the migrations shipped in the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


class Ledger:
    """The unit ledger: double-entry, append-only, bitemporal, hash-chained.

    Open it with :meth:`open`. Every write is one transaction that writes
    nothing on error; reads take ``as_of`` (effective date, inclusive) and
    ``known_on`` (recorded date, inclusive), None meaning everything.

    :meth:`snapshot`, :meth:`to_scenario`, :meth:`diversions` and
    :meth:`diversion` are memoised on the chain head (see ``ledger.memo``): each
    call reads the head (one primary-key lookup) and reuses the result computed
    for the same head and arguments, so a write by any process is seen at once.
    """

    def __init__(
        self, engine: Engine, clock: Callable[[], datetime], *, memo_size: int = DEFAULT_SIZE
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._memo = HeadMemo(memo_size)
        # The last diversion list computed and its head: the base of incremental updates.
        self._diversion_base: tuple[Head, tuple[DiversionView, ...]] | None = None
        self._diversion_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        url: str,
        *,
        clock: Callable[[], datetime] | None = None,
        memo_size: int = DEFAULT_SIZE,
    ) -> Ledger:
        """Open (and create or migrate to the latest schema) the books at a SQLAlchemy URL.

        ``sqlite:///path.db`` (WAL mode), ``sqlite://`` (in memory) or
        ``postgresql+psycopg://...``. ``clock`` gives the recorded time of verbs;
        ``memo_size`` bounds the memoised reads (entries per kind of read).
        """
        engine = _engine(url)
        with engine.connect().execution_options(**{_WRITE: True}) as conn, conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(727274)"))
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        return cls(engine, clock or system_clock, memo_size=memo_size)

    def close(self) -> None:
        """Release the connections and forget the memoised reads."""
        self._memo.clear()
        with self._diversion_lock:
            self._diversion_base = None
        self._engine.dispose()

    def memo_stats(self, kind: str) -> MemoStats:
        """Hits and misses of one memoised read since the ledger was opened.

        ``kind`` is ``snapshot``, ``scenario``, ``diversions`` or ``diversion``.
        """
        return self._memo.stats(kind)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for tools and tests)."""
        return self._engine

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the ledger clock must return timezone-aware datetimes")
        return now.astimezone(UTC)

    @contextmanager
    def _writing(self) -> Iterator[Work]:
        with self._engine.connect().execution_options(**{_WRITE: True}) as conn, conn.begin():
            if conn.dialect.name == "postgresql":
                head = schema.chain_head.c
                conn.execute(select(head.seq).where(head.id == 1).with_for_update())
            work = Work(conn, self._now())
            yield work
            written = work.flush()
        if written >= _ANALYZE_AFTER and self._engine.dialect.name == "postgresql":
            # Fresh statistics after a bulk write: without them PostgreSQL plans the
            # lot lookups of the next batch as sequential scans.
            with self._engine.connect() as conn, conn.begin():
                conn.execute(text("ANALYZE events, transfers, documents"))

    # ------------------------------------------------------------------ writes

    def import_scenario(self, scenario: Scenario, *, actor: str = "import") -> ImportReport:
        """Import a scenario atomically: documents, then dated events up to its ``as_of``.

        Re-importing the same scenario writes nothing; a later ``as_of`` posts
        only what came due. Raises a LedgerError/UnknownRecord and writes nothing
        if any record would break the books.
        """
        with self._writing() as work:
            work.import_scenario(scenario, actor=actor)
            report = work.report()
        return report

    def post_batch(self, ops: Sequence[BatchOp], *, actor: str) -> ImportReport:
        """Apply many verbs in one transaction, validated in memory, written with executemany.

        ``ops`` holds Orders, Lots (ship), Receipts, Movements and Diversions
        (propose), applied in order. All or nothing.
        """
        with self._writing() as work:
            work.batch(ops, actor=actor)
            report = work.report()
        return report

    def order(self, order: Order, *, actor: str) -> None:
        """Record an order (a document: a new version if it changed)."""
        with self._writing() as work:
            work.order(order, actor=actor)

    def ship(self, lot: Lot, *, actor: str) -> None:
        """Record a lot and post its shipment (and any payback it carries)."""
        with self._writing() as work:
            work.put_document(DocumentKind.LOT.value, lot, actor, work.now)
            work.ship(lot, actor=actor)

    def receive(self, lot_id: str, on: date, *, actor: str) -> None:
        """Receive a lot on ``on``: each org holding part of it in transit moves it to stock."""
        with self._writing() as work:
            work.receive(lot_id, on, actor=actor)

    def deploy(self, movement: Movement, *, actor: str) -> None:
        """Deploy units: org/stock -> cluster/deployed."""
        self._movement(movement, TransferKind.DEPLOY, actor)

    def fail(self, movement: Movement, *, actor: str) -> None:
        """Record failed units: cluster/deployed -> org/failed."""
        self._movement(movement, TransferKind.FAIL, actor)

    def return_units(self, movement: Movement, *, actor: str) -> None:
        """Return failed units to the vendor: org/failed -> vendor/world."""
        self._movement(movement, TransferKind.RETURN, actor)

    def _movement(self, movement: Movement, op: TransferKind, actor: str) -> None:
        if movement.op is not op:
            movement = replace(movement, op=op)
        with self._writing() as work:
            work.movement(movement, actor=actor)

    def propose_diversion(self, d: Diversion, *, actor: str) -> None:
        """Propose a diversion: a pending transfer that reserves the units."""
        with self._writing() as work:
            work.propose(d, actor=actor, doc_at=work.now)

    def decide(
        self, diversion_id: str, decision: Decision, *, actor: str, on: date | None = None
    ) -> DiversionStatus:
        """Approve (post) or reject/void (release) a pending diversion; returns its status.

        Repeating a decision already taken is a no-op; a contrary decision on a
        decided diversion raises InvalidTransition.
        """
        with self._writing() as work:
            status = work.decide(diversion_id, decision, actor=actor, on=on)
        return status

    def reverse(self, transfer_id: str, *, actor: str, reason: str) -> None:
        """Append a reversing transfer (the original stays; both are in the log)."""
        with self._writing() as work:
            work.reverse(transfer_id, actor=actor, reason=reason)

    # ------------------------------------------------------------------ reads

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _reading_at_head(self) -> Iterator[tuple[Connection, Head]]:
        """A read transaction and the chain head it sees, both from one database snapshot.

        SQLite (WAL) reads from one snapshot from the first statement on; on
        PostgreSQL the transaction runs at REPEATABLE READ so that every
        statement sees the head that was read first.
        """
        conn = self._engine.connect()
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn, conn.begin():
            yield conn, read_head(conn)

    def transfers(
        self,
        as_of: date | None = None,
        known_on: date | None = None,
        *,
        lot: str | None = None,
        diversion: str | None = None,
    ) -> list[Transfer]:
        """Transfer rows in log order, filtered by dates, lot or diversion."""
        with self._reading() as conn:
            return read_transfers(conn, as_of, known_on, lot=lot, diversion=diversion)

    def balances(self, as_of: date | None = None, known_on: date | None = None) -> list[Balance]:
        """Every account's units per SKU as of a date, as known on a date.

        One aggregate query in the database (no transfer rows reach Python).
        Accounts with nothing posted and nothing pending are left out.
        """
        with self._reading() as conn:
            totals = sum_balances(conn, as_of, known_on)
        return [
            Balance(account.owner, account.bucket, sku, posted, pending)
            for (account, sku), (posted, pending) in sorted(
                totals.items(), key=lambda kv: (kv[0][0].owner, kv[0][0].bucket, kv[0][1])
            )
            if posted or pending
        ]

    def trace(
        self, lot_id: str, as_of: date | None = None, known_on: date | None = None
    ) -> LotTrace:
        """Where every unit of a lot went: its transfers and who holds it (world excluded)."""
        with self._reading() as conn:
            rows = read_transfers(conn, as_of, known_on, lot=lot_id)
            if rows:
                sku = rows[0].sku
            else:
                lot_doc = read_document(conn, DocumentKind.LOT.value, lot_id)
                if lot_doc is None:
                    raise UnknownRecord(f"lot {lot_id!r} is not in the ledger")
                order_doc = read_document(conn, DocumentKind.ORDER.value, lot_doc["order"])
                if order_doc is None:
                    raise UnknownRecord(f"order {lot_doc['order']!r} of lot {lot_id!r} is missing")
                sku = order_doc["sku"]
        holdings: dict[Account, int] = defaultdict(int)
        pending: dict[Account, int] = defaultdict(int)
        for (account, _, _), b in fold(rows).items():
            if account.bucket is not Bucket.WORLD:
                holdings[account] += b.posted
                pending[account] += b.pend_credit - b.pend_debit
        shipped = sum(
            t.qty for t in rows if t.kind is TransferKind.SHIP and t.phase is Phase.SINGLE
        )
        return LotTrace(
            lot=lot_id,
            sku=sku,
            shipped=shipped,
            transfers=tuple(rows),
            holdings={a: q for a, q in sorted(holdings.items()) if q},
            pending={a: q for a, q in sorted(pending.items()) if q},
        )

    def diversion(self, diversion_id: str) -> DiversionView:
        """One diversion: latest record, status in the books, decisions with actors, transfers.

        Memoised on the chain head. Raises UnknownRecord if the books never held it.
        """

        def compute(conn: Connection) -> DiversionView:
            data = read_document(conn, DocumentKind.DIVERSION.value, diversion_id)
            if data is None:
                raise UnknownRecord(f"diversion {diversion_id!r} is not in the ledger")
            return diversion_views(conn, [from_json(Diversion, data)])[0]

        with self._reading_at_head() as (conn, head):
            return self._memo.get(head, "diversion", diversion_id, lambda: compute(conn))

    def diversions(self, status: DiversionStatus | None = None) -> list[DiversionView]:
        """Every diversion in the books (optionally only those with ``status``).

        Memoised on the chain head, and incremental across heads: the list
        computed at the last head seen is kept, and at a newer head of the same
        chain only the diversions touched by the events after it are recomputed
        and merged in place (new ones appended), which gives exactly the list a
        full rebuild gives (three queries whatever the number of diversions).
        Each call returns a new list of the same frozen views.
        """
        with self._reading_at_head() as (conn, head):
            views = self._memo.get(
                head, "diversions", None, lambda: self._diversion_list(conn, head)
            )
        return [v for v in views if status is None or v.status is status]

    def _diversion_list(self, conn: Connection, head: Head) -> tuple[DiversionView, ...]:
        """The diversion list at ``head``: updated from the last one kept, or rebuilt.

        A base from a newer head, or one whose last event is not in these books
        (the database was replaced), is not used; the result is kept as the new
        base unless another thread has kept a newer one meanwhile.
        """
        with self._diversion_lock:
            base = self._diversion_base
        views: tuple[DiversionView, ...] | None = None
        if base is not None and base[0] == head:
            views = base[1]
        elif base is not None and base[0][0] < head[0] and _on_chain(conn, base[0]):
            views = update_diversion_views(conn, base[1], since=base[0][0])
        if views is None:
            views = all_diversion_views(conn)
        with self._diversion_lock:
            kept = self._diversion_base
            if kept is None or kept[0][0] <= head[0]:
                self._diversion_base = (head, views)
        return views

    def to_scenario(self, as_of: date | None = None) -> Scenario:
        """The books as a Scenario: the latest version of every document.

        ``as_of`` defaults to the latest imported scenario's; a diversion's status
        is the one the books hold when it was proposed in them. Memoised on the
        chain head (the Scenario is frozen).
        """
        with self._reading_at_head() as (conn, head):
            return self._scenario(conn, head, as_of)

    def _scenario(self, conn: Connection, head: Head, as_of: date | None) -> Scenario:
        return self._memo.get(head, "scenario", as_of, lambda: scenario_from_books(conn, as_of))

    def events(
        self, *, limit: int = 100, offset: int = 0, kind: EventKind | None = None
    ) -> list[EventView]:
        """The event log in ``seq`` order, a page at a time."""
        ev = schema.events.c
        query = select(schema.events).order_by(ev.seq).limit(limit).offset(offset)
        if kind is not None:
            query = query.where(ev.kind == kind.value)
        with self._reading() as conn:
            return [
                EventView(
                    seq=int(r.seq),
                    id=r.id,
                    kind=EventKind(r.kind),
                    body=json.loads(r.body),
                    actor=r.actor,
                    effective_at=r.effective_at,
                    recorded_at=r.recorded_at,
                    hash=r.hash,
                )
                for r in conn.execute(query)
            ]

    def event_count(self) -> int:
        """How many events the log holds."""
        with self._reading() as conn:
            return int(conn.execute(select(func.count()).select_from(schema.events)).scalar_one())

    def verify(self) -> AuditReport:
        """Recompute the hash chain and check the projections; name the first bad event."""
        with self._reading() as conn:
            return verify_books(conn)

    def snapshot(
        self, as_of: date, known_on: date | None = None, horizon_days: int | None = None
    ) -> PlanningSnapshot:
        """The planning snapshot of the books as of ``as_of`` (see ``ledger.snapshot``).

        ``known_on`` None means everything the books know; ``horizon_days`` None
        means the scenario parameter (730 by default). Memoised on the chain
        head: its arrays are read-only (``writeable`` False), so a caller that
        needs to change one works on a copy.
        """
        from gpuledger.ledger.snapshot import build_snapshot

        def compute(conn: Connection, head: Head) -> PlanningSnapshot:
            scenario = self._scenario(conn, head, as_of)
            return build_snapshot(conn, as_of, known_on, horizon_days, scenario=scenario)

        with self._reading_at_head() as (conn, head):
            key = (as_of, known_on, horizon_days)
            return self._memo.get(head, "snapshot", key, lambda: compute(conn, head))


# --------------------------------------------------------------------------- shared reads


def read_head(conn: Connection) -> Head:
    """The chain head: (latest seq, its hash); (0, genesis hash) for empty books."""
    head = schema.chain_head.c
    row = conn.execute(select(head.seq, head.hash).where(head.id == 1)).one()
    return int(row.seq), str(row.hash)


def read_transfers(
    conn: Connection,
    as_of: date | None = None,
    known_on: date | None = None,
    *,
    lot: str | None = None,
    diversion: str | None = None,
) -> list[Transfer]:
    """Transfer rows in log order, as of / as known on the given days."""
    tr = schema.transfers.c
    query = select(schema.transfers).order_by(tr.event_seq, tr.id)
    if as_of is not None:
        query = query.where(tr.effective_at < day_end(as_of))
    if known_on is not None:
        query = query.where(tr.recorded_at < day_end(known_on))
    if lot is not None:
        query = query.where(tr.lot == lot)
    if diversion is not None:
        query = query.where(tr.diversion == diversion)
    return [transfer_from_row(r) for r in conn.execute(query)]


def read_documents(conn: Connection, kinds: Sequence[str], known_on: date | None = None) -> Docs:
    """Latest document data per kind and id (in order of first appearance)."""
    dc, ev = schema.documents.c, schema.events.c
    query = (
        select(dc.doc_kind, dc.doc_id, dc.data)
        .where(dc.doc_kind.in_(list(kinds)))
        .order_by(dc.event_seq)
    )
    if known_on is not None:
        query = query.join(schema.events, ev.seq == dc.event_seq).where(
            ev.recorded_at < day_end(known_on)
        )
    out: Docs = {k: {} for k in kinds}
    for r in conn.execute(query):
        out[r.doc_kind][r.doc_id] = json.loads(r.data)
    return out


def read_document(conn: Connection, kind: str, doc_id: str) -> dict[str, Any] | None:
    """The latest version of one document (None if the books never held it)."""
    dc = schema.documents.c
    query = (
        select(dc.data)
        .where(dc.doc_kind == kind, dc.doc_id == doc_id)
        .order_by(dc.event_seq.desc())
        .limit(1)
    )
    data = conn.execute(query).scalar()
    return None if data is None else dict(json.loads(data))


_POSTED = (Phase.SINGLE.value, Phase.POST.value)
_RESOLVING = (Phase.POST.value, Phase.VOID.value)


def _window(query: Select[Any], as_of: date | None, known_on: date | None) -> Select[Any]:
    tr = schema.transfers.c
    if as_of is not None:
        query = query.where(tr.effective_at < day_end(as_of))
    if known_on is not None:
        query = query.where(tr.recorded_at < day_end(known_on))
    return query


def sum_balances(
    conn: Connection, as_of: date | None = None, known_on: date | None = None
) -> dict[tuple[Account, str], tuple[int, int]]:
    """(posted, pending) per (account, SKU), as of / as known on, in one aggregate query.

    The same semantics as :func:`books.fold`: posted sums the single and post
    rows; pending sums the pending rows not resolved by a post or void row that
    is itself inside the window. The database groups by (debit, credit, SKU),
    so Python sees one row per pair of accounts, not one per transfer.
    """
    tr = schema.transfers.c
    resolved = _window(
        select(tr.pending_id).where(tr.phase.in_(_RESOLVING), tr.pending_id.is_not(None)),
        as_of,
        known_on,
    )
    posted = func.sum(case((tr.phase.in_(_POSTED), tr.qty), else_=0))
    pending = func.sum(
        case(((tr.phase == Phase.PENDING.value) & tr.id.not_in(resolved), tr.qty), else_=0)
    )
    keys = (tr.debit_owner, tr.debit_bucket, tr.credit_owner, tr.credit_bucket, tr.sku)
    query = _window(select(*keys, posted, pending).group_by(*keys), as_of, known_on)
    totals: dict[tuple[Account, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in conn.execute(query):
        p, q = int(r[5] or 0), int(r[6] or 0)
        debit = totals[(account_of(r.debit_owner, r.debit_bucket), r.sku)]
        credit = totals[(account_of(r.credit_owner, r.credit_bucket), r.sku)]
        debit[0] -= p
        debit[1] -= q
        credit[0] += p
        credit[1] += q
    return {key: (p, q) for key, (p, q) in totals.items()}


def _status_of(rows: Sequence[Transfer], diversion_id: str) -> DiversionStatus | None:
    return _status_from_ids({t.id for t in rows}, diversion_id)


def _status_from_ids(ids: set[str], diversion_id: str) -> DiversionStatus | None:
    if f"post:{diversion_id}" in ids:
        return DiversionStatus.POSTED
    if f"void:{diversion_id}" in ids:
        return DiversionStatus.VOIDED
    if f"divert:{diversion_id}" in ids:
        return DiversionStatus.PENDING
    return None


_FEW = 16  # diversions read by their own event ids rather than a scan of all decisions


def diversion_views(conn: Connection, diversions: Sequence[Diversion]) -> list[DiversionView]:
    """The books' view of each diversion, in the given order, in two queries.

    One query reads the transfers of the diversions, one the proposal and
    decision events (their bodies name the diversion, so ids with colons are safe).
    """
    if not diversions:
        return []
    wanted = {d.id for d in diversions}
    tr, ev = schema.transfers.c, schema.events.c
    rows_of: dict[str, list[Transfer]] = defaultdict(list)
    query = select(schema.transfers).order_by(tr.event_seq, tr.id)
    query = query.where(
        tr.diversion.in_(wanted) if len(wanted) <= CHUNK else tr.diversion.is_not(None)
    )
    for r in conn.execute(query):
        if r.diversion in wanted:
            rows_of[r.diversion].append(transfer_from_row(r))
    decided: dict[str, list[DecisionView]] = defaultdict(list)
    if len(wanted) <= _FEW:
        where = or_(
            *(
                (ev.id == f"divert:{x}") | ev.id.startswith(f"decide:{x}:", autoescape=True)
                for x in sorted(wanted)
            )
        )
    else:
        where = ev.id.startswith("divert:") | ev.id.startswith("decide:")
    events = select(ev.id, ev.body, ev.actor, ev.effective_at, ev.recorded_at, ev.seq).where(
        where, ev.kind == EventKind.OPERATION.value
    )
    for r in conn.execute(events.order_by(ev.seq)):
        if r.id.startswith("divert:"):
            diversion_id, decision = r.id[len("divert:") :], Decision.PROPOSE
        else:
            inputs = json.loads(r.body)["input"]
            diversion_id, decision = str(inputs["diversion"]), Decision(inputs["decision"])
        if diversion_id in wanted:
            decided[diversion_id].append(
                DecisionView(decision, r.actor, r.effective_at, r.recorded_at, int(r.seq))
            )
    views = []
    for d in diversions:
        rows = rows_of.get(d.id, [])
        status = _status_of(rows, d.id)
        views.append(
            DiversionView(
                diversion=replace(d, status=status) if status is not None else d,
                status=status,
                decisions=tuple(decided.get(d.id, ())),
                transfers=tuple(rows),
            )
        )
    return views


def _on_chain(conn: Connection, head: Head) -> bool:
    """Whether the event at ``head``'s seq has ``head``'s hash in these books (seq 0: always)."""
    if head[0] == 0:
        return True
    ev = schema.events.c
    found = conn.execute(select(ev.hash).where(ev.seq == head[0])).scalar()
    return found == head[1]


def all_diversion_views(conn: Connection) -> tuple[DiversionView, ...]:
    """The books' view of every diversion, in order of first appearance of its record."""
    docs = read_documents(conn, [DocumentKind.DIVERSION.value])[DocumentKind.DIVERSION.value]
    return tuple(diversion_views(conn, [from_json(Diversion, data) for data in docs.values()]))


def touched_diversions(conn: Connection, since: int) -> set[str]:
    """Ids of the diversions whose view may differ after the events with seq above ``since``.

    A diversion's view is made of its record (documents of kind diversion), its
    transfers (the ``diversion`` column) and its proposal and decision events
    (``divert:D`` ids, ``decide:`` events naming it in their input).
    """
    tr, dc, ev = schema.transfers.c, schema.documents.c, schema.events.c
    found: set[str] = set()
    rows = select(tr.diversion).where(tr.event_seq > since, tr.diversion.is_not(None))
    found.update(str(r) for r in conn.execute(rows.distinct()).scalars())
    docs = select(dc.doc_id).where(
        dc.event_seq > since, dc.doc_kind == DocumentKind.DIVERSION.value
    )
    found.update(str(r) for r in conn.execute(docs).scalars())
    events = select(ev.id, ev.body).where(
        ev.seq > since,
        ev.kind == EventKind.OPERATION.value,
        ev.id.startswith("divert:") | ev.id.startswith("decide:"),
    )
    for r in conn.execute(events):
        if r.id.startswith("divert:"):
            found.add(r.id[len("divert:") :])
        else:
            found.add(str(json.loads(r.body)["input"]["diversion"]))
    return found


def update_diversion_views(
    conn: Connection, views: Sequence[DiversionView], *, since: int
) -> tuple[DiversionView, ...]:
    """``views`` (the full list at seq ``since``) brought up to the books' head.

    Only the diversions touched after ``since`` are read again; they keep their
    place, and diversions first recorded after ``since`` are appended in order of
    first appearance, as :func:`all_diversion_views` orders them.
    """
    touched = touched_diversions(conn, since)
    if not touched:
        return tuple(views)
    if len(touched) > CHUNK:
        return all_diversion_views(conn)
    dc = schema.documents.c
    query = (
        select(dc.doc_id, dc.data)
        .where(dc.doc_kind == DocumentKind.DIVERSION.value, dc.doc_id.in_(touched))
        .order_by(dc.event_seq)
    )
    docs: dict[str, dict[str, Any]] = {}
    for r in conn.execute(query):
        docs[r.doc_id] = json.loads(r.data)
    fresh = {
        v.diversion.id: v
        for v in diversion_views(conn, [from_json(Diversion, data) for data in docs.values()])
    }
    out = [fresh.pop(v.diversion.id, v) for v in views]
    out.extend(fresh.values())  # in order of first appearance: all after ``since``
    return tuple(out)


def _movements(conn: Connection, documents: dict[str, dict[str, Any]]) -> tuple[Movement, ...]:
    """Movements: imported documents, then those posted by the verbs (their event input)."""
    found = dict(documents)
    ev = schema.events.c
    query = select(ev.body).where(ev.kind == EventKind.OPERATION.value, ev.id.like("movement:%"))
    for (body,) in conn.execute(query.order_by(ev.seq)):
        data = json.loads(body)["input"]
        found.setdefault(data["id"], data)
    return tuple(from_json(Movement, data) for data in found.values())


def scenario_from_books(conn: Connection, as_of: date | None = None) -> Scenario:
    """The latest documents as a Scenario (see :meth:`Ledger.to_scenario`)."""
    kinds = [k.value for k in DOCUMENT_TYPES] + [MOVEMENT_KIND, DocumentKind.SCENARIO.value]
    docs = read_documents(conn, kinds)
    heads = list(docs[DocumentKind.SCENARIO.value].values())
    head: dict[str, Any] = heads[-1]["data"] if heads else {}
    records: dict[str, tuple[Any, ...]] = {
        k.value: tuple(from_json(cls, d) for d in docs[k.value].values())
        for k, cls in DOCUMENT_TYPES.items()
    }
    tr = schema.transfers.c
    last_row = select(tr.diversion, tr.id).where(
        tr.diversion.is_not(None), tr.kind == TransferKind.DIVERT.value
    )
    # The latest divert row of each diversion (pending, post or void) gives its status.
    latest = {r.diversion: r.id for r in conn.execute(last_row.order_by(tr.event_seq, tr.id))}
    diversions = []
    for d in records[DocumentKind.DIVERSION.value]:
        found = _status_from_ids({latest[d.id]}, d.id) if d.id in latest else None
        diversions.append(replace(d, status=found) if found else d)
    return Scenario(
        name=head.get("name", "ledger"),
        as_of=as_of or (date.fromisoformat(head["as_of"]) if head else date.min),
        skus=records[DocumentKind.SKU.value],
        vendors=records[DocumentKind.VENDOR.value],
        groups=records[DocumentKind.GROUP.value],
        orgs=records[DocumentKind.ORG.value],
        clusters=records[DocumentKind.CLUSTER.value],
        orders=records[DocumentKind.ORDER.value],
        lots=records[DocumentKind.LOT.value],
        targets=records[DocumentKind.TARGET.value],
        claims=records[DocumentKind.CLAIM.value],
        diversions=tuple(diversions),
        movements=_movements(conn, docs[MOVEMENT_KIND]),
        parameters=from_json(Parameters, head["parameters"]) if head else Parameters(),
        description=head.get("description"),
    )


__all__ = [
    "Ledger",
    "all_diversion_views",
    "day_start",
    "diversion_views",
    "read_document",
    "read_documents",
    "read_head",
    "read_transfers",
    "sum_balances",
    "system_clock",
    "touched_diversions",
    "update_diversion_views",
]
