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
from collections.abc import Callable, Sequence
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
from gpuledger.ledger.balances import Bal, Moment, account_of, no_later
from gpuledger.ledger.chain import Rendered
from gpuledger.ledger.codec import canonical, json_string
from gpuledger.ledger.idempotency import normal
from gpuledger.ledger.invariants import check_unit_of_work
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
_OP_TEXT = {k: json_string(k.value) for k in TransferKind}
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
    if any(_at_site(work, m) for m in batch):
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


def _at_site(work: Work, m: Movement) -> bool:
    """True for a deploy to a cluster the books place at a site."""
    if m.op is not TransferKind.DEPLOY or m.cluster is None:
        return False
    doc = work.doc(DocumentKind.CLUSTER.value, m.cluster)
    return doc is not None and doc[1].get("site") is not None


def _check_and_render(
    work: Work, batch: list[Movement], tallies: dict[str, Tally], actor: str
) -> list[Rendered] | None:
    """Each movement checked, applied to ``tallies`` and rendered; None to leave the lane."""
    now = work.now
    days: dict[date, datetime] = {}
    skus: dict[str, tuple[str, str]] = {}
    out: list[Rendered] = []
    for m in batch:
        check_movement(work, m)
        lot = m.lot or ""
        source = _ACCOUNTS[source_account(m)]
        tally = tallies[lot]
        b = tally.units.get(source[0])
        take = 0 if b is None else min(m.qty, b.posted - b.pend_debit)
        if take > 0 and lot not in skus:
            skus[lot] = _sku_and_vendor(work, lot)
        if b is None or take < m.qty:
            raise short_of(m, source[2], max(take, 0))
        at = days.get(m.on)
        if at is None:
            at = days[m.on] = day_start(m.on)
        if not no_later(tally.latest, at, now):
            return None  # the views as of earlier days need the lot's rows
        sku, vendor = skus[lot]
        credit = _ACCOUNTS[credit_account(m, vendor)]
        b.posted -= m.qty
        tally.get(credit[0]).posted += m.qty
        tally.latest = (at, now)
        text = render_movement(m, source[1], credit[1], sku)
        piece = ids.movement_piece(m.id, 0)
        if not out:  # the rendering is the general path's: checked once per batch, always
            _check_rendering(m, source[2], credit[2], sku, text, at, now)
        row = (piece, m.op.value, _SINGLE, None, None, *source[0], *credit[0], sku, lot, m.qty)
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


class _AccountCache(dict[Account, tuple[Key, str, Account]]):
    """Account -> (its key, its JSON string, itself), built once per account."""

    def __missing__(self, account: Account) -> tuple[Key, str, Account]:
        found = self[account] = (
            (account.owner, account.bucket.value),
            json_string(str(account)),
            account,
        )
        return found


_ACCOUNTS = _AccountCache()
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


def render_movement(m: Movement, source: str, credit: str, sku: str) -> str:
    """The canonical JSON body of a one-piece movement event (keys sorted, as ``canonical``).

    ``source`` and ``credit`` are the accounts as JSON strings.
    """
    if len(_TEXTS) > _TEXTS_MAX:
        _TEXTS.clear()
    op, lot, qty, mid = _OP_TEXT[m.op], _TEXTS[m.lot or ""], str(m.qty), json_string(m.id)
    known = "null" if m.known_on is None else f'"{m.known_on.isoformat()}"'
    return (
        f'{{"input":{{"cluster":{_text(m.cluster)},"id":{mid},'
        f'"known_on":{known},"lot":{lot},"on":"{m.on.isoformat()}","op":{op},'
        f'"org":{_TEXTS[m.org]},"qty":{qty},"source":{_text(m.source)}}},'
        f'"op":"movement","transfers":[{{"credit":{credit},'
        f'"debit":{source},"diversion":null,"id":"movement:{mid[1:-1]}:0",'
        f'"kind":{op},"lot":{lot},"pending_id":null,"phase":"single","qty":{qty},'
        f'"sku":{_TEXTS[sku]}}}]}}'
    )


_POSTED = (Phase.SINGLE.value, Phase.POST.value)
_RESOLVING = (Phase.POST.value, Phase.VOID.value)
_PENDING = Phase.PENDING.value


def read_tallies(conn: Connection, lots: Sequence[str]) -> dict[str, Tally]:
    """The balances of ``lots`` (every one present, empty if it has no rows), by lot.

    One aggregate query per chunk of lots: rows of the same accounts and phase
    are summed in the database; a pending row stays apart (by its id) and a
    post or void row by the pending row it resolves, which releases the
    reservation as :func:`balances.fold` does.
    """
    out = {lot: Tally() for lot in lots}
    table = conn.dialect.identifier_preparer.format_table(schema.transfers)
    key = "CASE WHEN phase = 'pending' THEN id ELSE pending_id END"
    groups = f"lot, phase, {key}, debit_owner, debit_bucket, credit_owner, credit_bucket"
    sql = (
        f"SELECT {groups}, SUM(qty), MAX(effective_at), MAX(recorded_at) FROM {table} "
        f"WHERE lot IN {{in_}} GROUP BY {groups}"
    )
    when = _utc()
    pending: dict[tuple[str, str], tuple[Key, Key, int]] = {}
    resolved: list[tuple[str, str]] = []
    for lot, phase, pid, do, db, co, cb, qty, eff, rec in fetch_in(conn, sql, lots):
        tally, q = out[lot], int(qty)
        if phase in _POSTED:
            tally.get((do, db)).posted -= q
            tally.get((co, cb)).posted += q
        if phase == _PENDING:
            tally.get((do, db)).pend_debit += q
            tally.get((co, cb)).pend_credit += q
            pending[(lot, pid)] = ((do, db), (co, cb), q)
        elif phase in _RESOLVING:
            resolved.append((lot, pid))
        latest, e, r = tally.latest, when(eff), when(rec)
        tally.latest = (e, r) if latest is None else (max(latest[0], e), max(latest[1], r))
    for lot, pid in resolved:
        found = pending.pop((lot, pid), None)
        if found is not None:
            debit, credit, q = found
            out[lot].units[debit].pend_debit -= q
            out[lot].units[credit].pend_credit -= q
    return out


def _utc() -> Callable[[Any], datetime]:
    """Stored timestamps as aware UTC, each distinct raw value converted once."""
    seen: dict[Any, datetime] = {}

    def when(raw: Any) -> datetime:
        found = seen.get(raw)
        if found is None:
            found = seen[raw] = schema.utc_from_storage(raw)
        return found

    return when
