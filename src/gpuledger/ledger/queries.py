"""The read model: transfers, documents, balances and the books as a Scenario.

Functions of an open connection, shared by the ``Ledger`` facade, the planning
snapshot and governance. Reads take ``as_of`` (effective day, inclusive) and
``known_on`` (recorded day, inclusive), None meaning everything.
"""

from __future__ import annotations

import functools
import json
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, bindparam, case, func, select

from gpuledger.domain import (
    Account,
    DiversionStatus,
    DocumentKind,
    Movement,
    Parameters,
    Phase,
    Scenario,
    TransferKind,
    day_end,
    day_start,
    ids,
    limits,
)
from gpuledger.domain.enums import LotStatus
from gpuledger.ledger import schema
from gpuledger.ledger.balances import account_of, transfer_from_row
from gpuledger.ledger.codec import DOCUMENT_TYPES, MOVEMENT_KIND, from_json
from gpuledger.ledger.results import EventKind, Transfer

Docs = dict[str, dict[str, dict[str, Any]]]  # kind -> id -> latest data, in first-seen order
CHUNK = 500  # ids per ``IN (...)`` list


def chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    """Slices of at most ``size`` items, for ``IN (...)`` lists."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def starts_with(dialect: str, column: ColumnElement[str], prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix``, as each backend finds it fastest and exactly.

    SQLite compares text bytewise, so a range ``prefix <= column < next`` is
    exact and uses the column's index (its ``LIKE`` does not). PostgreSQL
    compares by the database's collation, which may ignore punctuation: there
    ``LIKE 'prefix%'`` (escaped) is the exact form.
    """
    if dialect == "sqlite":
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return (column >= prefix) & (column < upper)
    return column.startswith(prefix, autoescape=True)


def starts_with_param(dialect: str, column: ColumnElement[str], name: str) -> ColumnElement[bool]:
    """:func:`starts_with` with the prefix bound later (:func:`prefix_params` gives the
    values), so that a statement testing prefixes is built once."""
    if dialect == "sqlite":
        lo = bindparam(f"{name}_lo", type_=column.type)
        return (column >= lo) & (column < bindparam(f"{name}_hi", type_=column.type))
    return column.like(bindparam(f"{name}_like", type_=column.type), escape="/")


def prefix_params(dialect: str, name: str, prefix: str) -> dict[str, str]:
    """The values of :func:`starts_with_param`'s parameters ``name`` for ``prefix``: the
    same range, or the same escaped ``LIKE`` pattern, as :func:`starts_with`."""
    if dialect == "sqlite":
        return {f"{name}_lo": prefix, f"{name}_hi": prefix[:-1] + chr(ord(prefix[-1]) + 1)}
    escaped = prefix.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return {f"{name}_like": escaped + "%"}


def read_transfers(
    conn: Connection,
    as_of: date | None = None,
    known_on: date | None = None,
    *,
    lot: str | None = None,
    diversion: str | None = None,
    after_seq: int | None = None,
    upto_seq: int | None = None,
) -> list[Transfer]:
    """Transfer rows in log order, as of / as known on the given days.

    ``after_seq`` / ``upto_seq``: only the rows of events in ``(after_seq, upto_seq]``.
    """
    given = {
        "as_of": None if as_of is None else day_end(as_of),
        "known_on": None if known_on is None else day_end(known_on),
        "after_seq": after_seq,
        "upto_seq": upto_seq,
        "lot": lot,
        "diversion": diversion,
    }
    query = _transfers_query(*(v is not None for v in given.values()))
    values = {k: v for k, v in given.items() if v is not None}
    return [transfer_from_row(r) for r in conn.execute(query, values)]


@functools.cache
def _transfers_query(
    as_of: bool, known_on: bool, after_seq: bool, upto_seq: bool, lot: bool, diversion: bool
) -> Select[Any]:
    """``read_transfers``' statement for the filters given, built once per shape:
    a read after each write runs one, and building it cost more than running it."""
    tr = schema.transfers.c
    query = select(schema.transfers).order_by(tr.event_seq, tr.id)
    bounds = [
        (as_of, tr.effective_at < bindparam("as_of", type_=tr.effective_at.type)),
        (known_on, tr.recorded_at < bindparam("known_on", type_=tr.recorded_at.type)),
        (after_seq, tr.event_seq > bindparam("after_seq", type_=tr.event_seq.type)),
        (upto_seq, tr.event_seq <= bindparam("upto_seq", type_=tr.event_seq.type)),
        (lot, tr.lot == bindparam("lot", type_=tr.lot.type)),
        (diversion, tr.diversion == bindparam("diversion", type_=tr.diversion.type)),
    ]
    return query.where(*(clause for wanted, clause in bounds if wanted))


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
    data = conn.execute(_LATEST_VERSION, {"kind": kind, "doc_id": doc_id}).scalar()
    return None if data is None else dict(json.loads(data))


#: ``read_document``'s statement, built once (the write path reads documents by id).
_LATEST_VERSION = (
    select(schema.documents.c.data)
    .where(
        schema.documents.c.doc_kind == bindparam("kind", type_=schema.documents.c.doc_kind.type),
        schema.documents.c.doc_id == bindparam("doc_id", type_=schema.documents.c.doc_id.type),
    )
    .order_by(schema.documents.c.event_seq.desc())
    .limit(1)
)


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

    The same semantics as :func:`balances.fold`: posted sums the single and post
    rows; pending sums the pending rows not resolved by a post or void row that
    is itself inside the window. The database groups by (debit, credit, SKU),
    so Python sees one row per pair of accounts, not one per transfer.
    """
    tr = schema.transfers.c
    posted = func.sum(case((tr.phase.in_(_POSTED), tr.qty), else_=0))
    pending = func.sum(case((_open_pending(as_of, known_on), tr.qty), else_=0))
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


def _open_pending(as_of: date | None, known_on: date | None) -> ColumnElement[bool]:
    """A pending row not resolved by a post or void row inside the window (the rows
    themselves are windowed by the caller)."""
    tr = schema.transfers.c
    resolved = _window(
        select(tr.pending_id).where(tr.phase.in_(_RESOLVING), tr.pending_id.is_not(None)),
        as_of,
        known_on,
    )
    return (tr.phase == Phase.PENDING.value) & tr.id.not_in(resolved)


def open_pendings(
    conn: Connection, as_of: date | None = None, known_on: date | None = None
) -> list[Transfer]:
    """The pending rows inside the window that no post or void row inside it resolves,
    in log order: what :func:`sum_balances` counts as pending."""
    tr = schema.transfers.c
    query = select(schema.transfers).where(_open_pending(as_of, known_on))
    query = _window(query, as_of, known_on).order_by(tr.event_seq, tr.id)
    return [transfer_from_row(r) for r in conn.execute(query)]


def status_from_ids(transfer_ids: set[str], diversion_id: str) -> DiversionStatus | None:
    """A diversion's status from the ids of its transfers (None: never proposed)."""
    if ids.post_event(diversion_id) in transfer_ids:
        return DiversionStatus.POSTED
    if ids.void_event(diversion_id) in transfer_ids:
        return DiversionStatus.VOIDED
    if ids.divert_event(diversion_id) in transfer_ids:
        return DiversionStatus.PENDING
    return None


_SCENARIO_KINDS = [k.value for k in DOCUMENT_TYPES] + [MOVEMENT_KIND, DocumentKind.SCENARIO.value]
_KINDS_READ = frozenset(_SCENARIO_KINDS)
_RECORD_TYPES: dict[str, type[Any]] = {k.value: cls for k, cls in DOCUMENT_TYPES.items()}
_RECORD_TYPES[MOVEMENT_KIND] = Movement
_KIND_OF_TYPE: dict[type[Any], str] = {cls: kind for kind, cls in _RECORD_TYPES.items()}


@functools.cache
def _advance_queries(bounded: bool) -> tuple[Select[Any], Select[Any], Select[Any]]:
    """``ScenarioBase.advance``'s three statements, built once: after every write a
    read brings the base forward with them, and building them cost more than running
    them. Each selects the events in ``(:after, :upto]`` (``bounded``) or after ``:after``.
    """
    dc, ev, tr = schema.documents.c, schema.events.c, schema.transfers.c

    def window(query: Select[Any], column: ColumnElement[int]) -> Select[Any]:
        query = query.where(column > bindparam("after", type_=column.type))
        return query.where(column <= bindparam("upto", type_=column.type)) if bounded else query

    # Kinds are sifted in Python, not in SQL: a kind filter there made SQLite scan every
    # document of those kinds by the (doc_kind, doc_id) index, O(documents) per read
    # after a write, where the window alone is a range of the primary key.
    docs = select(dc.doc_kind, dc.doc_id, dc.data, dc.event_seq)
    diverts = select(tr.diversion, tr.id, tr.event_seq).where(
        tr.diversion.is_not(None), tr.kind == TransferKind.DIVERT.value
    )
    moves = select(ev.body, ev.seq, ev.id).where(ev.kind == EventKind.OPERATION.value)
    return (
        window(docs, dc.event_seq).order_by(dc.event_seq),
        window(diverts, tr.event_seq).order_by(tr.event_seq, tr.id),
        window(moves, ev.seq).order_by(ev.seq),
    )


class Posted:
    """The movements posted by the verbs, in log order: an append-only log shared by bases.

    A base sees the first ``n`` of them (``ScenarioBase.posted``). Bringing the newest
    base forward appends here in place, so a write costs what it added, not a copy of
    every movement before it; bringing an older base forward (the log has grown past
    it) takes a copy of its part first, so no base ever sees a movement after its seq.
    """

    def __init__(self, movements: Sequence[Movement] = ()) -> None:
        self._order: list[Movement] = list(movements)
        self._index = {m.id: i for i, m in enumerate(self._order)}
        self._lock = threading.Lock()

    def seen(self, movement_id: str, n: int) -> bool:
        """Whether ``movement_id`` is among the first ``n`` movements."""
        i = self._index.get(movement_id)
        return i is not None and i < n

    def first(self, n: int) -> list[Movement]:
        """The first ``n`` movements, in log order."""
        return self._order[:n]

    def extended(self, n: int, new: Sequence[Movement]) -> Posted:
        """The log of the first ``n`` movements then ``new``: this one when it holds
        exactly ``n`` (appended in place), else a copy."""
        with self._lock:
            if len(self._order) == n:
                for m in new:
                    self._index[m.id] = len(self._order)
                    self._order.append(m)
                return self
        return Posted([*self._order[:n], *new])


@dataclass(frozen=True)
class ScenarioBase:
    """What the books-as-a-Scenario is made of, read up to event ``seq``.

    Kept between reads and brought forward by :meth:`advance` from the events
    after ``seq`` alone, so a read after a write costs what the write added.
    Never changed in place: :meth:`advance` returns a new base sharing what did
    not change (records are immutable).
    """

    seq: int
    docs: Docs  # kind -> id -> latest data, in first-seen order
    records: dict[str, dict[str, Any]]  # kind -> id -> the data as its domain record
    latest_divert: dict[str, str]  # diversion -> id of its latest divert row
    # the input of each movement's first operation event, in log order: the first
    # ``n_posted`` of ``posted`` (shared with the bases brought forward from this one)
    posted: Posted
    n_posted: int
    # id(record) -> (record, limits.record_problem of it), for the records above: shared
    # by the bases brought forward from this one (an entry names its record, so an id
    # reused by another object is never taken for it).
    problems: dict[int, tuple[Any, str | None]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # diversion id -> (its record here, its status, the record with that status): the
    # same object while neither changes, so ``problem`` remembers it too.
    dressed: dict[str, tuple[Any, DiversionStatus, Any]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # kind -> the Scenario's tuple of its records, made once per base and carried into
    # the next one while the kind does not change (a base's own: made on first use).
    parts: dict[str, tuple[Any, ...]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def read(cls, conn: Connection, upto_seq: int | None = None) -> ScenarioBase:
        """The base of the books up to ``upto_seq`` (None: everything)."""
        empty = cls(0, {k: {} for k in _SCENARIO_KINDS}, {}, {}, Posted(), 0)
        return empty.advance(conn, upto_seq)

    def advance(self, conn: Connection, upto_seq: int | None) -> ScenarioBase:
        """This base brought forward with the events in ``(seq, upto_seq]``.

        Phases: 1. document versions; 2. divert rows (a diversion's status);
        3. movements posted by the verbs (their operation's input).
        """
        doc_q, div_q, mov_q = _advance_queries(upto_seq is not None)
        bounds = {"after": self.seq} if upto_seq is None else {"after": self.seq, "upto": upto_seq}
        seq = self.seq
        # 1. Document versions after the base, in log order; a kind's maps are copied
        # when it first changes, the others are shared with this base.
        docs, records = dict(self.docs), dict(self.records)
        changed: set[str] = set()
        for r in conn.execute(doc_q, bounds):  # kinds sifted here (``_advance_queries``)
            if r.doc_kind not in _KINDS_READ:
                continue
            cls = _RECORD_TYPES.get(r.doc_kind)
            if r.doc_kind not in changed:
                changed.add(r.doc_kind)
                docs[r.doc_kind] = dict(docs[r.doc_kind])
                if cls is not None:
                    records[r.doc_kind] = dict(records.get(r.doc_kind, {}))
            docs[r.doc_kind][r.doc_id] = data = json.loads(r.data)
            seq = max(seq, int(r.event_seq))
            if cls is not None:
                replaced = records[r.doc_kind].get(r.doc_id)
                if replaced is not None:
                    self.problems.pop(id(replaced), None)
                records[r.doc_kind][r.doc_id] = from_json(cls, data)
        # 2. The latest divert row of each diversion (pending, post or void): its status.
        latest = self.latest_divert
        for r in conn.execute(div_q, bounds):
            latest = dict(latest) if latest is self.latest_divert else latest
            latest[r.diversion] = r.id
            seq = max(seq, int(r.event_seq))
        # 3. Movements posted by the verbs (imported ones are documents).
        new_moves: dict[str, Movement] = {}
        prefix = ids.movements_prefix()
        if not self.seq:  # every movement: by the id index
            mov_q = mov_q.where(starts_with(conn.dialect.name, schema.events.c.id, prefix))
        # after a base, the window is a range of the primary key: ids are sifted here (an
        # id range in SQL made SQLite read every movement's id by that index, each time)
        for r in conn.execute(mov_q, bounds):
            if not r.id.startswith(prefix):
                continue
            data = json.loads(r.body)["input"]
            if data["id"] not in new_moves and not self.posted.seen(data["id"], self.n_posted):
                new_moves[data["id"]] = from_json(Movement, data)
            seq = max(seq, int(r.seq))
        seq = max(seq, upto_seq or 0)
        assert seq >= self.seq, "a base only moves forward"
        # 4. The Scenario's parts that did not change, kept; movements posted since appended.
        parts = {k: v for k, v in self.parts.items() if k not in changed}
        if latest is not self.latest_divert:
            parts.pop(DocumentKind.DIVERSION.value, None)
        posted = self.posted
        if new_moves:
            posted = posted.extended(self.n_posted, tuple(new_moves.values()))
        if new_moves and MOVEMENT_KIND in parts:
            imported = records.get(MOVEMENT_KIND, {})
            parts[MOVEMENT_KIND] += tuple(m for m in new_moves.values() if m.id not in imported)
        n_posted = self.n_posted + len(new_moves)
        return ScenarioBase(
            seq, docs, records, latest, posted, n_posted, self.problems, self.dressed, parts
        )  # fmt: skip

    def problem(self, record: object) -> str | None:
        """``limits.record_problem(record)``, remembered for the records of this base.

        Records are immutable, so a record's answer never changes; a record that
        is not one of this base's (a diversion with its status set) is checked
        each time.
        """
        found = self.problems.get(id(record))
        if found is not None and found[0] is record:
            return found[1]
        problem = limits.record_problem(record)
        kind, record_id = _KIND_OF_TYPE.get(type(record)), getattr(record, "id", "")
        dressed = self.dressed.get(record_id)
        if (kind is not None and self.records.get(kind, {}).get(record_id) is record) or (
            kind == DocumentKind.DIVERSION.value and dressed is not None and dressed[2] is record
        ):
            self.problems[id(record)] = (record, problem)
        return problem

    def _part(self, kind: str) -> tuple[Any, ...]:
        """The Scenario's records of ``kind`` in first-seen order (made once per base).

        Diversions carry the status the books hold; movements are the imported
        documents, then those posted by the verbs.
        """
        found = self.parts.get(kind)
        if found is not None:
            return found
        records = self.records.get(kind, {})
        if kind == MOVEMENT_KIND:
            every = dict(records)
            for movement in self.posted.first(self.n_posted):
                every.setdefault(movement.id, movement)
            found = tuple(every.values())
        else:
            found = tuple(records[i] for i in self.docs[kind])
        if kind == DocumentKind.DIVERSION.value:
            found = tuple(self._with_status(d) for d in found)
        self.parts[kind] = found
        return found

    def _with_status(self, d: Any) -> Any:
        """Diversion ``d`` with the status of its latest divert row (as it is when none)."""
        latest = self.latest_divert.get(d.id)
        status = status_from_ids({latest}, d.id) if latest is not None else None
        return self._dress(d, status) if status else d

    def _dress(self, d: Any, status: DiversionStatus) -> Any:
        """The diversion record ``d`` with ``status``: the same object as last time if neither
        changed."""
        kept = self.dressed.get(d.id)
        if kept is not None and kept[0] is d and kept[1] is status:
            return kept[2]
        if kept is not None:
            self.problems.pop(id(kept[2]), None)
        dressed = replace(d, status=status)
        self.dressed[d.id] = (d, status, dressed)
        return dressed

    def scenario(self, as_of: date | None = None) -> Scenario:
        """The latest documents as a Scenario (see ``Ledger.to_scenario``)."""
        heads = list(self.docs[DocumentKind.SCENARIO.value].values())
        head: dict[str, Any] = heads[-1]["data"] if heads else {}

        def of(kind: DocumentKind) -> tuple[Any, ...]:
            return self._part(kind.value)

        return Scenario(
            name=head.get("name", "ledger"),
            as_of=as_of or (date.fromisoformat(head["as_of"]) if head else date.min),
            skus=of(DocumentKind.SKU),
            vendors=of(DocumentKind.VENDOR),
            groups=of(DocumentKind.GROUP),
            orgs=of(DocumentKind.ORG),
            clusters=of(DocumentKind.CLUSTER),
            sites=of(DocumentKind.SITE),
            orders=of(DocumentKind.ORDER),
            lots=of(DocumentKind.LOT),
            targets=of(DocumentKind.TARGET),
            claims=of(DocumentKind.CLAIM),
            diversions=of(DocumentKind.DIVERSION),
            movements=self._part(MOVEMENT_KIND),
            parameters=from_json(Parameters, head["parameters"]) if head else Parameters(),
            description=head.get("description"),
        )


def scenario_from_books(conn: Connection, as_of: date | None = None) -> Scenario:
    """The latest documents as a Scenario (see ``Ledger.to_scenario``)."""
    return ScenarioBase.read(conn).scenario(as_of)


def lot_progress(conn: Connection, known_on: date | None = None) -> dict[str, LotStatus]:
    """Each lot with a shipment posted -> in transit or received (expected lots are absent).

    A lot counts as shipped or received by its posted ``ship`` / ``receive``
    rows, whatever their effective day (the books as they stand), as known on
    ``known_on``; a shipment or receipt since reversed no longer counts.
    """
    tr = schema.transfers.c
    kinds = (TransferKind.SHIP.value, TransferKind.RECEIVE.value)
    moved = _window(
        select(tr.lot, tr.id, tr.kind).where(
            tr.kind.in_(kinds), tr.phase.in_(_POSTED), tr.lot.is_not(None)
        ),
        None,
        known_on,
    )
    undone = _window(select(tr.id).where(tr.kind == TransferKind.REVERSAL.value), None, known_on)
    reversed_ids = {r.id for r in conn.execute(undone)}
    found: dict[str, set[str]] = defaultdict(set)
    for r in conn.execute(moved):
        if ids.reversal_event(r.id) not in reversed_ids:
            found[r.lot].add(r.kind)
    return {
        lot: LotStatus.RECEIVED
        if TransferKind.RECEIVE.value in kinds_of_lot
        else LotStatus.IN_TRANSIT
        for lot, kinds_of_lot in found.items()
        if kinds_of_lot
    }


def read_transfer(conn: Connection, transfer_id: str) -> Transfer | None:
    """One transfer row by id (None when the books hold none)."""
    row = conn.execute(select(schema.transfers).where(schema.transfers.c.id == transfer_id)).first()
    return None if row is None else transfer_from_row(row)


def read_events_recorded(
    conn: Connection, since: date, until: date | None, limit: int
) -> list[Any]:
    """Event rows recorded from ``since`` to ``until`` (inclusive days), in log order.

    At most ``limit`` + 1 rows, so a caller can tell that the window holds more.
    """
    ev = schema.events.c
    query = select(schema.events).where(ev.recorded_at >= day_start(since))
    if until is not None:
        query = query.where(ev.recorded_at < day_end(until))
    return list(conn.execute(query.order_by(ev.seq).limit(limit + 1)))


def read_versions(
    conn: Connection, kind: str, doc_ids: Sequence[str], before_seq: int
) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """Every version (event seq, data) of the documents ``doc_ids`` of ``kind`` up to a seq."""
    dc = schema.documents.c
    out: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for part in chunks(list(doc_ids)):
        query = (
            select(dc.doc_id, dc.event_seq, dc.data)
            .where(dc.doc_kind == kind, dc.doc_id.in_(part), dc.event_seq <= before_seq)
            .order_by(dc.event_seq)
        )
        for r in conn.execute(query):
            out[r.doc_id].append((int(r.event_seq), json.loads(r.data)))
    return out
