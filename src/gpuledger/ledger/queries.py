"""The read model: transfers, documents, balances and the books as a Scenario.

Functions of an open connection, shared by the ``Ledger`` facade, the planning
snapshot and governance. Reads take ``as_of`` (effective day, inclusive) and
``known_on`` (recorded day, inclusive), None meaning everything.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, bindparam, case, func, select

from gpuledger.domain import (
    Account,
    DiversionStatus,
    Phase,
    TransferKind,
    day_end,
    day_start,
    ids,
)
from gpuledger.domain.enums import LotStatus
from gpuledger.ledger import schema
from gpuledger.ledger.balances import account_of, transfer_from_row
from gpuledger.ledger.results import Transfer

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
    values = prefix_params(dialect, "p", prefix)
    if dialect == "sqlite":
        return (column >= values["p_lo"]) & (column < values["p_hi"])
    return column.like(values["p_like"], escape="/")


def starts_with_param(dialect: str, column: ColumnElement[str], name: str) -> ColumnElement[bool]:
    """:func:`starts_with` with the prefix bound later (:func:`prefix_params` gives the
    values), so that a statement testing prefixes is built once."""
    if dialect == "sqlite":
        lo = bindparam(f"{name}_lo", type_=column.type)
        return (column >= lo) & (column < bindparam(f"{name}_hi", type_=column.type))
    return column.like(bindparam(f"{name}_like", type_=column.type), escape="/")


def prefix_params(dialect: str, name: str, prefix: str) -> dict[str, str]:
    """The values of :func:`starts_with_param`'s parameters ``name`` for ``prefix`` (and
    of :func:`starts_with`'s): the range on SQLite, the escaped ``LIKE`` pattern
    elsewhere (``_``, ``%`` and ``/`` in a prefix are literal)."""
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
