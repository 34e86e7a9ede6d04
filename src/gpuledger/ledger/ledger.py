"""The :class:`Ledger` facade: opening the books, the verbs, and the reads.

Each write opens one unit of work (``ledger.work``) under the chain-head lock,
runs a verb (``ledger.verbs``, ``ledger.importer``) and commits, or writes
nothing. Reads go to ``ledger.queries`` and ``ledger.diversion_views``; the pure
ones are memoised on the chain head (``ledger.memo``).

Over 500 lines: this is the ledger's one public face; every method is a thin,
documented delegation to a verb or a query, and splitting it would give callers
two doors to the same books.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import Connection, Engine, func, select, text

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
    Phase,
    Scenario,
    TransferKind,
    UnknownRecord,
)
from gpuledger.domain.enums import LotStatus
from gpuledger.ledger import bulk, idempotency, importer, schema, verbs
from gpuledger.ledger.approvals import WORKING_COPY, ApprovalPolicy
from gpuledger.ledger.audit import verify_books
from gpuledger.ledger.balances import BalanceBase, cluster_account, fold
from gpuledger.ledger.chain import read_head
from gpuledger.ledger.codec import from_json
from gpuledger.ledger.diversion_views import (
    all_diversion_views,
    diversion_views,
    on_chain,
    update_diversion_views,
)
from gpuledger.ledger.engine import (
    WRITE,
    alembic_config,
    make_engine,
    migrate,
    one_statement,
    require_books,
)
from gpuledger.ledger.importer import OPEN_BOOKS, BatchOp, ImportAuthority
from gpuledger.ledger.memo import DEFAULT_SIZE, Head, HeadMemo, MemoStats
from gpuledger.ledger.queries import (
    lot_progress,
    open_pendings,
    read_document,
    read_documents,
    read_events_recorded,
    read_transfer,
    read_transfers,
    read_versions,
    sum_balances,
)
from gpuledger.ledger.results import (
    AuditReport,
    DiversionView,
    EventKind,
    EventView,
    ImportReport,
    LotTrace,
    Transfer,
)
from gpuledger.ledger.scenario_base import ScenarioBase
from gpuledger.ledger.work import Work

if TYPE_CHECKING:
    from gpuledger.ledger.snapshot import SnapshotBase
    from gpuledger.planning.snapshot import PlanningSnapshot

SnapshotKey = tuple[date, date | None, int | None]  # as of, known on, horizon days
BalanceKey = tuple[date | None, date | None]  # as of, known on
T = TypeVar("T")  # a memoised read's result
K = TypeVar("K")  # the key of a kept base
B = TypeVar("B")  # a kept base
_ANALYZE_AFTER = 5_000  # rows written since the last ANALYZE, at least
_ANALYZE_GROWTH = 1.0  # ... and as many as counted at the last ANALYZE (the tables doubled)
#: The columns queries filter on: sampling the JSON bodies too would double ANALYZE's cost.
_ANALYZE = (
    "ANALYZE events (seq, id, kind, effective_at, recorded_at), transfers, "
    "documents (event_seq, doc_kind, doc_id)"
)


def system_clock() -> datetime:
    """The wall clock in UTC: the default ``clock`` of :meth:`Ledger.open`."""
    return datetime.now(UTC)


class Ledger:
    """The unit ledger: double-entry, append-only, bitemporal, hash-chained.

    Open it with :meth:`open`. Every write is one transaction that writes
    nothing on error; reads take ``as_of`` (effective date, inclusive) and
    ``known_on`` (recorded date, inclusive), None meaning everything.

    Decisions on diversions follow an approval policy (``ledger.approvals``):
    the one given to :meth:`open` or to the call, else the single-person
    working copy, which refuses to decide on books that have users.

    :meth:`snapshot`, :meth:`to_scenario`, :meth:`diversions` and
    :meth:`diversion` are memoised on the chain head (see ``ledger.memo``): each
    call reads the head (one primary-key lookup) and reuses the result computed
    for the same head and arguments, so a write by any process is seen at once.
    """

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        *,
        memo_size: int = DEFAULT_SIZE,
        approvals: ApprovalPolicy | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._approvals = approvals or WORKING_COPY
        self._memo = HeadMemo(memo_size)
        # The last diversion list computed and its head: the base of incremental updates.
        self._diversion_base: tuple[Head, tuple[DiversionView, ...]] | None = None
        self._diversion_lock = threading.Lock()
        # The bases of the scenario and of the snapshots, brought forward from the events
        # after their head (see ``_scenario_base`` and ``_snapshot_base``).
        self._scenario_kept: tuple[Head, ScenarioBase] | None = None
        self._snapshots_kept: dict[SnapshotKey, tuple[Head, SnapshotBase]] = {}
        self._balances_kept: dict[BalanceKey, tuple[Head, BalanceBase]] = {}
        # Kept heads found on the chain of the latest head read (see ``_on_chain``).
        self._chained: tuple[Head | None, set[Head]] = (None, set())
        self._base_lock = threading.Lock()
        self._analyzed_rows = 0  # rows this process had written at its last ANALYZE
        self._since_analyze = 0  # rows it has written since

    @classmethod
    def open(
        cls,
        url: str,
        *,
        clock: Callable[[], datetime] | None = None,
        memo_size: int = DEFAULT_SIZE,
        create: bool = True,
        approvals: ApprovalPolicy | None = None,
    ) -> Ledger:
        """Open (and create or migrate to the latest schema) the books at a SQLAlchemy URL.

        ``sqlite:///path.db`` (WAL mode), ``sqlite://`` (in memory) or
        ``postgresql+psycopg://...``. ``clock`` gives the recorded time of verbs;
        ``memo_size`` bounds the memoised reads (entries per kind of read).
        ``create`` False refuses books that do not exist (BooksNotFound naming
        the path or URL; nothing is created). ``approvals`` is the books'
        approval policy (None: the single-person working copy).
        """
        engine = make_engine(url)
        try:
            if not create:
                require_books(engine, url)
            migrate(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, clock or system_clock, memo_size=memo_size, approvals=approvals)

    def close(self) -> None:
        """Release the connections and forget the memoised reads."""
        self._memo.clear()
        with self._diversion_lock:
            self._diversion_base = None
        with self._base_lock:
            self._scenario_kept = None
            self._snapshots_kept.clear()
            self._balances_kept.clear()
            self._chained = (None, set())
        self._engine.dispose()

    def memo_stats(self, kind: str) -> MemoStats:
        """Hits and misses of one memoised read since the ledger was opened.

        ``kind`` is ``snapshot``, ``scenario``, ``diversions``, ``diversion``,
        ``balances`` or ``trace``.
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
    def _writing(self, approvals: ApprovalPolicy | None = None) -> Iterator[Work]:
        with self._engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
            if conn.dialect.name == "postgresql":
                head = schema.chain_head.c
                conn.execute(select(head.seq).where(head.id == 1).with_for_update())
            # The request's Idempotency-Key commits with this write or not at all.
            reservation = idempotency.claim_in(conn)
            work = Work(conn, self._now(), approvals or self._approvals)
            yield work
            written = work.flush()
        if reservation is not None:
            reservation.committed = True
        if self._engine.dialect.name == "postgresql" and self._grown(written):
            # Fresh statistics after real growth: without them PostgreSQL plans the
            # lot lookups of the next batch as sequential scans. Not after every
            # batch: ANALYZE costs a fifth of a batch's time, and until the tables
            # double the planner's estimates scale with their size (it reads their
            # current pages), so the plans stay the same.
            with self._engine.connect() as conn, conn.begin():
                conn.execute(text(_ANALYZE))

    def _grown(self, written: int) -> bool:
        """Count rows written; True (and reset) once they reach :data:`_ANALYZE_GROWTH`
        of the rows at the last ANALYZE, and at least :data:`_ANALYZE_AFTER`."""
        with self._base_lock:
            self._since_analyze += written
            due = max(_ANALYZE_AFTER, _ANALYZE_GROWTH * self._analyzed_rows)
            if self._since_analyze < due:
                return False
            self._analyzed_rows += self._since_analyze
            self._since_analyze = 0
            return True

    # ------------------------------------------------------------------ writes

    def import_scenario(
        self,
        scenario: Scenario,
        *,
        actor: str = "import",
        authority: ImportAuthority = OPEN_BOOKS,
    ) -> ImportReport:
        """Import a scenario atomically: documents, then dated events up to its ``as_of``.

        Re-importing the same scenario writes nothing; a later ``as_of`` posts
        only what came due. Raises a LedgerError/UnknownRecord and writes nothing
        if any record would break the books. ``authority`` admits the import
        under the write lock (default: books without users admit anything,
        books with users refuse: governance passes its own).
        """
        with self._writing() as work:
            importer.import_scenario(work, scenario, actor=actor, authority=authority)
            report = work.report()
        return report

    def post_batch(self, ops: Sequence[BatchOp], *, actor: str) -> ImportReport:
        """Apply many verbs in one transaction, validated in memory, written with executemany.

        ``ops`` holds Orders, Lots (ship), Receipts, Movements and Diversions
        (propose), applied in order. All or nothing. Movements that name their
        lots take the batch lane (``ledger.bulk``), with the same events.
        """
        with bulk.gc_paused(), self._writing() as work:
            importer.batch(work, ops, actor=actor)
            report = work.report()
        return report

    def order(self, order: Order, *, actor: str) -> None:
        """Record an order (a document: a new version if it changed)."""
        with self._writing() as work:
            verbs.order(work, order, actor=actor)

    def ship(self, lot: Lot, *, actor: str) -> None:
        """Record a lot and post its shipment (and any payback it carries).

        The lot's order must be an order of its consignee (else UnknownRecord,
        as for an order that does not exist).
        """
        with self._writing() as work:
            verbs.check_consignee(work, lot)
            work.put_document(DocumentKind.LOT.value, lot, actor, work.now)
            verbs.ship(work, lot, actor=actor)

    def receive(self, lot_id: str, on: date, *, actor: str) -> None:
        """Receive a lot on ``on``: each org holding part of it in transit moves it to stock."""
        with self._writing() as work:
            verbs.receive(work, lot_id, on, actor=actor)

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
            verbs.movement(work, movement, actor=actor)

    def propose_diversion(
        self, d: Diversion, *, actor: str, approvals: ApprovalPolicy | None = None
    ) -> None:
        """Propose a diversion: a pending transfer that reserves the units.

        Its content is fixed under its id from then on: the same content again
        is a no-op, other content IdempotencyConflict. ``approvals`` overrides
        the books' policy for this call.
        """
        with self._writing(approvals) as work:
            verbs.propose(work, d, actor=actor, policy=work.approvals, doc_at=work.now)

    def decide(
        self,
        diversion_id: str,
        decision: Decision,
        *,
        actor: str,
        on: date | None = None,
        approvals: ApprovalPolicy | None = None,
    ) -> DiversionStatus:
        """Approve, reject or void a pending diversion; returns its status.

        Under the write lock the approval policy (``approvals``, else the
        books') sees every approval recorded so far: the diversion posts when
        the policy says they are complete. The post takes effect on the
        diversion's own date and is recorded now; ``on``, if given, must be that
        date. Repeating a decision already taken is a no-op; a contrary decision
        on a decided diversion raises InvalidTransition.
        """
        with self._writing(approvals) as work:
            status = verbs.decide(
                work, diversion_id, decision, actor=actor, policy=work.approvals, on=on
            )
        return status

    def reverse(self, transfer_id: str, *, actor: str, reason: str) -> None:
        """Append a reversing transfer (the original stays; both are in the log)."""
        with self._writing() as work:
            verbs.reverse(work, transfer_id, actor=actor, reason=reason)

    # ------------------------------------------------------------------ reads

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    def _memoised(self, kind: str, key: Hashable, compute: Callable[[Connection, Head], T]) -> T:
        """A memoised read: the stored result for the chain head as it is now, else
        ``compute(conn, head)`` in a read transaction at its head (then stored).

        A hit costs the head alone, read by one statement outside any transaction; a
        miss reads the head again inside the transaction, so a result and its head
        always come from one state of the books.
        """
        found, value = self._memo.peek(self._head_now(), kind, key)
        if found:
            return cast(T, value)
        with self._reading_at_head() as (conn, head):
            return self._memo.get(head, kind, key, lambda: compute(conn, head))

    def _head_now(self) -> Head:
        """The chain head, read by one statement in a transaction of its own (no
        ``BEGIN``/``COMMIT`` round trips): what a memoised read that hits needs."""
        with one_statement(self._engine) as conn:
            return read_head(conn)

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

    def transfer(self, transfer_id: str) -> Transfer:
        """One transfer row by id; UnknownRecord when the books hold none."""
        with self._reading() as conn:
            found = read_transfer(conn, transfer_id)
        if found is None:
            raise UnknownRecord(f"transfer {transfer_id!r} is not in the ledger")
        return found

    def lot_statuses(self, known_on: date | None = None) -> dict[str, LotStatus]:
        """Lots shipped -> in transit or received (``queries.lot_progress``); others expected."""
        with self._reading() as conn:
            return lot_progress(conn, known_on)

    def balances(self, as_of: date | None = None, known_on: date | None = None) -> list[Balance]:
        """Every account's units per SKU as of a date, as known on a date.

        Memoised on the chain head, and brought forward after a write from the rows
        it added (``_balance_base``; the first read of a window is one aggregate query
        in the database). Accounts with nothing posted and nothing pending are left
        out. Each call returns a new list of the same frozen rows.
        """

        def compute(conn: Connection, head: Head) -> tuple[Balance, ...]:
            totals = self._balance_base(conn, head, (as_of, known_on)).totals
            sites = self._cluster_sites(conn, head)
            return tuple(
                Balance(
                    account.owner, account.bucket, sku, posted, pending, sites.get(account.owner)
                )
                for (account, sku), (posted, pending) in sorted(
                    totals.items(), key=lambda kv: (kv[0][0].owner, kv[0][0].bucket, kv[0][1])
                )
                if posted or pending
            )

        return list(self._memoised("balances", (as_of, known_on), compute))

    def trace(
        self, lot_id: str, as_of: date | None = None, known_on: date | None = None
    ) -> LotTrace:
        """Where every unit of a lot went: its transfers and who holds it (world excluded).

        Memoised on the chain head: callers share the result and must not change its maps.
        """
        return self._memoised(
            "trace",
            (lot_id, as_of, known_on),
            lambda conn, head: self._trace(conn, head, lot_id, as_of, known_on),
        )

    def _trace(
        self, conn: Connection, head: Head, lot_id: str, as_of: date | None, known_on: date | None
    ) -> LotTrace:
        rows = read_transfers(conn, as_of, known_on, lot=lot_id)
        sku = rows[0].sku if rows else _lot_sku(conn, lot_id)
        sites = self._cluster_sites(conn, head)
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
            sites={
                owner: sites[owner]
                for owner in sorted({a.owner for t in rows for a in (t.debit, t.credit)})
                if owner in sites
            },
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

        return self._memoised("diversion", diversion_id, lambda conn, _head: compute(conn))

    def diversions(self, status: DiversionStatus | None = None) -> list[DiversionView]:
        """Every diversion in the books (optionally only those with ``status``).

        Memoised on the chain head, and incremental across heads: the list
        computed at the last head seen is kept, and at a newer head of the same
        chain only the diversions touched by the events after it are recomputed
        and merged in place (new ones appended), which gives exactly the list a
        full rebuild gives. Each call returns a new list of the same frozen views.
        """
        views = self._memoised("diversions", None, self._diversion_list)
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
        elif base is not None and base[0][0] < head[0] and on_chain(conn, base[0]):
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
        is the one the books hold. Memoised on the chain head (the Scenario is frozen).
        """
        return self._memoised("scenario", as_of, lambda conn, head: self._made(conn, head, as_of))

    def _scenario(self, conn: Connection, head: Head, as_of: date | None) -> Scenario:
        """``to_scenario`` inside a read at ``head`` (the same memo entry)."""
        return self._memo.get(head, "scenario", as_of, lambda: self._made(conn, head, as_of))

    def _made(self, conn: Connection, head: Head, as_of: date | None) -> Scenario:
        return self._scenario_base(conn, head).scenario(as_of)

    def _scenario_base(self, conn: Connection, head: Head) -> ScenarioBase:
        """The scenario's base at ``head``: the kept one brought forward, or read afresh.

        A base from a newer head, or one whose last event is not in these books
        (the database was replaced), is not used; the result is kept unless a
        newer one was kept meanwhile.
        """
        with self._base_lock:
            kept = self._scenario_kept
        if kept is not None and kept[0] == head:
            return kept[1]
        if kept is not None and kept[0][0] < head[0] and self._on_chain(conn, kept[0], head):
            base = kept[1].advance(conn, head[0])
        else:
            base = ScenarioBase.read(conn, head[0])
        with self._base_lock:
            now = self._scenario_kept
            if now is None or now[0][0] <= head[0]:
                self._scenario_kept = (head, base)
        return base

    def _snapshot_base(
        self, conn: Connection, head: Head, key: SnapshotKey, scenario: Scenario
    ) -> SnapshotBase:
        """The snapshot of ``key`` (as of, known on, horizon) at ``head``, with its base.

        The base kept for the key is brought forward with the window's rows of
        the events after its head alone (``SnapshotBase.advance``); a base from
        a newer head, or one whose head is not in these books (the database was
        replaced), is not used, and the snapshot is built afresh. The result is
        kept unless a newer one was kept meanwhile.
        """
        # The planner (NumPy) loads here, not when the books are opened: reading
        # balances or a trace must not pay for it.
        from gpuledger.ledger.snapshot import RowState, SnapshotBase

        as_of, known_on, horizon_days = key
        problem = self._scenario_base(conn, head).problem

        def advance(base: SnapshotBase, since: int) -> SnapshotBase:
            new = read_transfers(conn, as_of, known_on, after_seq=since, upto_seq=head[0])
            return base.advance(new, head[0], scenario, problem)

        def build() -> SnapshotBase:
            rows = read_transfers(conn, as_of, known_on, upto_seq=head[0])
            state = RowState.of(rows, head[0])
            return SnapshotBase.build(scenario, state, as_of, known_on, horizon_days, problem)

        return self._kept_base(self._snapshots_kept, key, conn, head, advance, build)

    def _balance_base(self, conn: Connection, head: Head, key: BalanceKey) -> BalanceBase:
        """The balances of ``key`` (as of, known on) at ``head``: the kept ones brought
        forward with the window's rows of the events after their head, or summed afresh
        (one aggregate, and the window's open pending rows)."""
        as_of, known_on = key

        def advance(base: BalanceBase, since: int) -> BalanceBase:
            if head[0] - since > _FOLD_AT_MOST:
                return build()  # a bulk write: the aggregate is cheaper than the fold
            try:
                new = read_transfers(conn, as_of, known_on, after_seq=since, upto_seq=head[0])
            except (KeyError, ValueError):  # a kind, phase or bucket this version does not know
                return build()  # the aggregate reads phases and quantities alone
            return base.advance(new, head[0])

        def build() -> BalanceBase:
            opened = open_pendings(conn, as_of, known_on)
            totals = sum_balances(conn, as_of, known_on)
            return BalanceBase(head[0], totals, {t.id: t for t in opened})

        return self._kept_base(self._balances_kept, key, conn, head, advance, build)

    def _kept_base(
        self,
        kept_bases: dict[K, tuple[Head, B]],
        key: K,
        conn: Connection,
        head: Head,
        advance: Callable[[B, int], B],
        build: Callable[[], B],
    ) -> B:
        """The base of ``key`` at ``head``: the kept one, brought forward from the events
        after its head (``advance(base, its seq)``), or built afresh (``build()``).

        A base from a newer head, or one whose head is not in these books (the
        database was replaced), is not used. The result is kept unless a newer one
        was kept meanwhile; at most ``_BASES_KEPT`` keys are kept, the least recently
        kept dropped first (a hot key is kept again on each read after a write).
        """
        with self._base_lock:
            kept = kept_bases.get(key)
        if kept is not None and kept[0] == head:
            return kept[1]
        if kept is not None and kept[0][0] < head[0] and self._on_chain(conn, kept[0], head):
            base = advance(kept[1], kept[0][0])
        else:
            base = build()
        with self._base_lock:
            now = kept_bases.get(key)
            if now is None or now[0][0] <= head[0]:
                kept_bases.pop(key, None)  # the least recently kept go first
                kept_bases[key] = (head, base)
                while len(kept_bases) > _BASES_KEPT:
                    del kept_bases[next(iter(kept_bases))]
        return base

    def _on_chain(self, conn: Connection, kept: Head, head: Head) -> bool:
        """Whether books at ``head`` (read on ``conn``) hold the event of ``kept``, remembered.

        The head's hash chains every event before it, so the answer is the same
        for any books at ``head``: the scenario's and the snapshots' bases, kept
        at one head, are looked up once after a write, not once each.
        """
        with self._base_lock:
            at, found = self._chained
            if at == head and kept in found:
                return True
        if not on_chain(conn, kept):
            return False
        with self._base_lock:
            at, found = self._chained
            if at != head:
                found = set()
                self._chained = (head, found)
            found.add(kept)
        return True

    def _cluster_sites(self, conn: Connection, head: Head) -> dict[str, str]:
        """The site of each cluster at one, by the cluster's account owner (``cluster:<id>``).

        From the books-as-a-Scenario memoised on ``head`` (one read per write, not per call).
        """
        clusters = self._scenario(conn, head, None).clusters
        return {cluster_account(c.id).owner: c.site for c in clusters if c.site is not None}

    def events(
        self, *, limit: int = 100, offset: int = 0, kind: EventKind | None = None
    ) -> list[EventView]:
        """The event log in ``seq`` order, a page at a time."""
        ev = schema.events.c
        query = select(schema.events).order_by(ev.seq).limit(limit).offset(offset)
        if kind is not None:
            query = query.where(ev.kind == kind.value)
        with self._reading() as conn:
            return [_event_view(r) for r in conn.execute(query)]

    def events_recorded(
        self, since: date, until: date | None = None, *, limit: int = 100_000
    ) -> tuple[list[EventView], dict[tuple[str, str], list[tuple[int, dict[str, Any]]]]]:
        """Events recorded from ``since`` to ``until`` (inclusive days), and document versions.

        Returns at most ``limit`` + 1 events (one more says the window holds
        more) and, for every document those events version, each of its
        versions up to the last event returned (so a change's old value is the
        version before it), keyed by (kind, id).
        """
        with self._reading() as conn:
            rows = read_events_recorded(conn, since, until, limit)
            events = [_event_view(r) for r in rows]
            touched: dict[str, list[str]] = defaultdict(list)
            for e in events:
                if e.kind is EventKind.DOCUMENT:
                    touched[e.body["doc"]].append(e.body["id"])
            last = events[-1].seq if events else 0
            versions = {
                (kind, doc_id): found
                for kind, doc_ids in touched.items()
                for doc_id, found in read_versions(conn, kind, sorted(set(doc_ids)), last).items()
            }
        return events, versions

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

        def compute(conn: Connection, head: Head, key: SnapshotKey) -> PlanningSnapshot:
            scenario = self._scenario(conn, head, as_of)
            return self._snapshot_base(conn, head, key, scenario).snapshot

        key = (as_of, known_on, horizon_days)
        return self._memoised("snapshot", key, lambda conn, head: compute(conn, head, key))


def _lot_sku(conn: Connection, lot_id: str) -> str:
    """The SKU of a lot with no transfer yet, from its order (UnknownRecord if unknown)."""
    lot_doc = read_document(conn, DocumentKind.LOT.value, lot_id)
    if lot_doc is None:
        raise UnknownRecord(f"lot {lot_id!r} is not in the ledger")
    order_doc = read_document(conn, DocumentKind.ORDER.value, lot_doc["order"])
    if order_doc is None:
        raise UnknownRecord(f"order {lot_doc['order']!r} of lot {lot_id!r} is missing")
    return str(order_doc["sku"])


_BASES_KEPT = 8  # snapshots (keys), and balances, whose bases are kept between writes
# Balances are summed afresh rather than folded after more events than this: folding
# costs ~50 us a row in Python, the aggregate a scan of the table in the database.
_FOLD_AT_MOST = 500

#: Names other packages imported from this module before the split (kept working).
__all__ = ["Ledger", "alembic_config", "read_documents", "system_clock"]


def _event_view(row: Any) -> EventView:
    """One row of the events table as the read model's :class:`EventView`."""
    return EventView(
        seq=int(row.seq),
        id=row.id,
        kind=EventKind(row.kind),
        body=json.loads(row.body),
        actor=row.actor,
        effective_at=row.effective_at,
        recorded_at=row.recorded_at,
        hash=row.hash,
    )
