"""The batch lane: movements that name their lot, checked on plain balances, rendered once.

A ``post_batch`` of deploys, fails and returns that each name their lot (a feed
of movements) does the work of a raw writer and little more:

1. one query for prior events with the batch's ids, the documents it names
   (orgs, clusters, lots, orders), and the balances of its lots from one
   aggregate query per chunk of lots (no transfer row reaches Python);
2. each movement in order: the verb's own checks
   (``verbs.movements.check_movement``, the rules of ``domain.rules``), its
   units against the plain balances (refused as the verb refuses), its event
   body rendered once as canonical JSON (no dataclass round trip);
3. the invariants of the unit of work on those balances
   (``invariants.check_unit_of_work``); the events go to the chain writer.

The events are those the general path writes, byte for byte (the first body of
each batch is checked against the general rendering, always).
Whatever the lane does not cover goes to the general path, for the whole batch
and before anything is queued: a movement without a lot, a deploy to a cluster
at a site (its power is checked against the lot's rows), an id seen before or
twice, a debit not at or after every row of its lot in both times (the views
as of earlier days need the rows), values of unexpected types.
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from gpuledger.domain import (
    Account,
    DocumentKind,
    Movement,
    Phase,
    TransferKind,
    day_start,
    ids,
)
from gpuledger.ledger import schema
from gpuledger.ledger.balances import Bal, Moment, account_of
from gpuledger.ledger.chain import Rendered
from gpuledger.ledger.codec import canonical, json_string
from gpuledger.ledger.idempotency import normal
from gpuledger.ledger.invariants import check_unit_of_work
from gpuledger.ledger.lot_book import no_later
from gpuledger.ledger.results import EventKind, Operation, Transfer
from gpuledger.ledger.verbs.movements import (
    check_movement,
    credit_account,
    short_of,
    source_account,
)
from gpuledger.ledger.work import Work, fetch_in

#: Movements per batch the lane takes at most (a bound: its state is held in memory).
MAX_BATCH = 100_000

_OPERATION = EventKind.OPERATION.value
_OP_TEXT = {k.value: json_string(k.value) for k in TransferKind}
_MOVEMENT_FIELDS = ("id", "op", "qty", "on", "org", "lot", "cluster", "known_on", "source")
# The rendering below writes these fields: a new field of Movement must be added there.
assert tuple(f.name for f in dataclasses.fields(Movement)) == _MOVEMENT_FIELDS


Key = tuple[str, str]  # an account as (owner, bucket): hashed in C, unlike Account


@dataclass(slots=True)
class Tally:
    """A lot's balances for the lane: units by account, and the latest times of its rows."""

    units: dict[Key, Bal] = field(default_factory=dict)
    latest: Moment | None = None

    @property
    def bal(self) -> dict[Account, Bal]:
        """The units by :class:`Account` (for ``invariants.check_unit_of_work``)."""
        return {account_of(owner, bucket): b for (owner, bucket), b in self.units.items()}

    def get(self, key: Key) -> Bal:
        """The balance of an account, created empty on first use."""
        found = self.units.get(key)
        if found is None:
            found = self.units[key] = Bal()
        return found


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for a batch, then restored as it was.

    A batch allocates objects by the tens of thousands (events, rows, balances)
    that all live until its write: each collection meanwhile walks the whole
    heap and frees nothing (a third of a batch's CPU time). Reference counting
    still frees what dies; cycles wait for the next collection. Threads that
    overlap may end the pause early, never leave it on (only a caller that had
    the collector off leaves it off).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def movements(work: Work, ops: Sequence[Any], *, actor: str) -> bool:
    """Queue ``ops`` through the lane; False, with nothing queued, when it does not apply.

    Raises the verbs' refusals (UnknownRecord, LedgerError, InsufficientUnits)
    for the first movement that breaks a rule, as the general path would.
    """
    batch = _covered(ops)
    if batch is None or work.new or work.rendered:
        return False
    # 1. Prior events, documents, balances.
    event_ids = [ids.movement_event(m.id) for m in batch]
    work.preload_events(event_ids)
    if any(work.event(i) is not None for i in event_ids):
        return False  # replays and conflicts: the general path's idempotency
    lots = sorted({m.lot or "" for m in batch})
    work.preload_docs(DocumentKind.ORG.value, {m.org for m in batch})
    work.preload_docs(DocumentKind.CLUSTER.value, {m.cluster for m in batch if m.cluster})
    work.preload_docs(DocumentKind.LOT.value, lots)
    orders = {doc[1]["order"] for i in lots if (doc := work.doc(DocumentKind.LOT.value, i))}
    work.preload_docs(DocumentKind.ORDER.value, orders)
    clusters = {m.cluster for m in batch if m.op is TransferKind.DEPLOY and m.cluster}
    if any(_at_site(work, cluster) for cluster in clusters):
        return False  # a site's power is checked against the lot rows
    tallies = read_tallies(work.conn, lots)
    # 2. Each movement in order; 3. the invariants, then queue.
    rendered = _check_and_render(work, batch, tallies, actor)
    if rendered is None:
        return False
    check_unit_of_work(tallies, lots)
    assert len(rendered) == len(batch), "one event per movement"
    work.rendered.extend(rendered)
    return True


def _covered(ops: Sequence[Any]) -> list[Movement] | None:
    """``ops`` when the lane covers every one of them, else None."""
    if not ops or len(ops) > MAX_BATCH:
        return None
    seen: set[str] = set()
    for m in ops:
        if type(m) is not Movement or not _plain(m) or m.id in seen:
            return None
        seen.add(m.id)
    return list(ops)


def _plain(m: Movement) -> bool:
    """True when the movement names its lot and holds the types its rendering expects."""
    return (
        type(m.lot) is str
        and type(m.id) is str
        and type(m.org) is str
        and type(m.op) is TransferKind
        and type(m.qty) is int
        and type(m.on) is date
        and (m.cluster is None or type(m.cluster) is str)
        and (m.known_on is None or type(m.known_on) is date)
        and (m.source is None or type(m.source) is str)
    )


def _at_site(work: Work, cluster: str) -> bool:
    """True for a cluster the books place at a site."""
    doc = work.doc(DocumentKind.CLUSTER.value, cluster)
    return doc is not None and doc[1].get("site") is not None


def _check_and_render(
    work: Work, batch: list[Movement], tallies: dict[str, Tally], actor: str
) -> list[Rendered] | None:
    """Each movement checked, applied to ``tallies`` and rendered; None to leave the lane.

    The checks and accounts of each (op, org, cluster[, vendor]), the times of
    each day and the SKU of each lot are found once per batch (pure functions of
    those, on documents the batch does not change).
    """
    now = work.now
    days: dict[date, tuple[datetime, str]] = {}
    skus: dict[str, tuple[str, str]] = {}
    sources: dict[tuple[str, str, str | None], Side] = {}
    credits: dict[tuple[str, str, str | None, str], Side] = {}
    out: list[Rendered] = []
    for m in batch:
        lot, op, qty = m.lot or "", m.op._value_, m.qty
        # The checks depend on the org, cluster and op, and on the qty being positive:
        # once passed for them (in these books, under this lock), they pass again.
        source = sources.get((op, m.org, m.cluster))
        if source is None or qty <= 0:
            check_movement(work, m)
            source = sources[(op, m.org, m.cluster)] = _side(source_account(m))
        tally = tallies[lot]
        b = tally.units.get(source[0])
        take = 0 if b is None else min(qty, b.posted - b.pend_debit)
        if take > 0 and lot not in skus:
            skus[lot] = _sku_and_vendor(work, lot)
        if b is None or take < qty:
            raise short_of(m, source[2], max(take, 0))
        day = days.get(m.on)
        if day is None:
            day = days[m.on] = (day_start(m.on), m.on.isoformat())
        at = day[0]
        if not no_later(tally.latest, at, now):
            return None  # the views as of earlier days need the lot's rows
        sku, vendor = skus[lot]
        credit = credits.get((op, m.org, m.cluster, vendor))
        if credit is None:
            credit = credits[(op, m.org, m.cluster, vendor)] = _side(credit_account(m, vendor))
        b.posted -= qty
        tally.get(credit[0]).posted += qty
        tally.latest = (at, now)
        piece = ids.movement_piece(m.id, 0)
        text = render_movement(m, day[1], source[1], credit[1], sku, piece)
        if not out:  # the rendering is the general path's: checked once per batch, always
            _check_rendering(m, source[2], credit[2], sku, text, at, now)
        row = (piece, op, _SINGLE, None, None, *source[0], *credit[0], sku, lot, qty)
        out.append(Rendered(ids.movement_event(m.id), _OPERATION, text, actor, at, now, [row]))
    return out


def _check_rendering(
    m: Movement, source: Account, credit: Account, sku: str, text: str, at: datetime, now: datetime
) -> None:
    """Assert that ``text`` is the body the general path writes for this movement."""
    piece = ids.movement_piece(m.id, 0)
    t = Transfer(piece, m.op, Phase.SINGLE, source, credit, sku, m.lot or "", m.qty, at, now)
    body = {"op": Operation.MOVEMENT.value, "input": normal(m), "transfers": [t.body()]}
    assert text == canonical(body), f"{m.id}: the lane renders the general path's body"


Side = tuple[Key, str, Account]  # an account's key, its JSON string, itself


def _side(account: Account) -> Side:
    """An account as the lane uses it."""
    return (account.owner, account.bucket.value), json_string(str(account)), account


_SINGLE = Phase.SINGLE.value


def _sku_and_vendor(work: Work, lot_id: str) -> tuple[str, str]:
    """The SKU and vendor of a lot's order, from the documents (UnknownRecord if missing)."""
    lot = work.doc(DocumentKind.LOT.value, lot_id)
    order = work.doc(DocumentKind.ORDER.value, lot[1]["order"]) if lot else None
    if order is None:
        found = work.lot_and_order(lot_id)[1]  # raises the general path's UnknownRecord
        return found.sku, found.vendor
    return str(order[1]["sku"]), str(order[1]["vendor"])


class _Texts(dict[str, str]):
    """Strings as JSON string literals, each distinct one escaped once (ids repeat)."""

    def __missing__(self, value: str) -> str:
        found = self[value] = json_string(value)
        return found


_TEXTS = _Texts()
_TEXTS_MAX = 100_000  # distinct strings kept, at most: cleared when full


def _text(value: str | None) -> str:
    return "null" if value is None else _TEXTS[value]


def render_movement(m: Movement, on: str, source: str, credit: str, sku: str, piece: str) -> str:
    """The canonical JSON body of a one-piece movement event (keys sorted, as ``canonical``).

    ``on`` is the movement's day in ISO form; ``source`` and ``credit`` are the
    accounts as JSON strings; ``piece`` is the id of its one transfer.
    """
    if len(_TEXTS) > _TEXTS_MAX:
        _TEXTS.clear()
    op, lot, qty, mid = _OP_TEXT[m.op._value_], _TEXTS[m.lot or ""], str(m.qty), json_string(m.id)
    known = "null" if m.known_on is None else f'"{m.known_on.isoformat()}"'
    return (
        f'{{"input":{{"cluster":{_text(m.cluster)},"id":{mid},'
        f'"known_on":{known},"lot":{lot},"on":"{on}","op":{op},'
        f'"org":{_TEXTS[m.org]},"qty":{qty},"source":{_text(m.source)}}},'
        f'"op":"movement","transfers":[{{"credit":{credit},'
        f'"debit":{source},"diversion":null,"id":{json_string(piece)},'
        f'"kind":{op},"lot":{lot},"pending_id":null,"phase":"single","qty":{qty},'
        f'"sku":{_TEXTS[sku]}}}]}}'
    )


_POSTED = (Phase.SINGLE.value, Phase.POST.value)
_RESOLVING = (Phase.POST.value, Phase.VOID.value)
_PENDING = Phase.PENDING.value


def read_tallies(conn: Connection, lots: Sequence[str]) -> dict[str, Tally]:
    """The balances of ``lots`` (every one present, empty if it has no rows), by lot.

    One aggregate query per chunk of lots: rows of the same accounts and phase
    are summed in the database (as BIGINT: PostgreSQL's SUM is a NUMERIC, read
    as a Decimal that costs more than the rest of the row); a pending row stays
    apart (by its id) and a post or void row by the pending row it resolves,
    which releases the reservation as :func:`balances.fold` does.
    """
    out = {lot: Tally() for lot in lots}
    table = conn.dialect.identifier_preparer.format_table(schema.transfers)
    key = "CASE WHEN phase = 'pending' THEN id ELSE pending_id END"
    groups = f"lot, phase, {key}, debit_owner, debit_bucket, credit_owner, credit_bucket"
    sql = (
        f"SELECT {groups}, CAST(SUM(qty) AS BIGINT), MAX(effective_at), MAX(recorded_at) "
        f"FROM {table} WHERE lot {{in_}} GROUP BY {groups}"
    )
    pending: dict[tuple[str, str], tuple[Key, Key, int]] = {}
    resolved: list[tuple[str, str]] = []
    latest: dict[str, list[Any]] = {}  # lot -> [effective, recorded] as stored (they sort)
    for lot, phase, pid, do, db, co, cb, q, eff, rec in fetch_in(conn, sql, lots, semijoin=True):
        units = out[lot].units
        debit, credit = units.get((do, db)), units.get((co, cb))
        if debit is None:
            debit = units[(do, db)] = Bal()
        if credit is None:
            credit = units[(co, cb)] = Bal()
        if phase in _POSTED:
            debit.posted -= q
            credit.posted += q
        if phase == _PENDING:
            debit.pend_debit += q
            credit.pend_credit += q
            pending[(lot, pid)] = ((do, db), (co, cb), q)
        elif phase in _RESOLVING:
            resolved.append((lot, pid))
        times = latest.get(lot)
        if times is None:
            latest[lot] = [eff, rec]
        else:
            if eff > times[0]:
                times[0] = eff
            if rec > times[1]:
                times[1] = rec
    for lot, pid in resolved:
        found = pending.pop((lot, pid), None)
        if found is not None:
            debit_key, credit_key, q = found
            out[lot].units[debit_key].pend_debit -= q
            out[lot].units[credit_key].pend_credit -= q
    when = schema.utc_memo()
    for lot, (eff, rec) in latest.items():
        out[lot].latest = (when(eff), when(rec))
    return out
