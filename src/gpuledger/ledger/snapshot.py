"""Build the planning snapshot (``planning.snapshot.PlanningSnapshot``) from the books.

The planner never reads the database: this module turns the books as of a day,
as known on a day, plus the expectations held in documents (lots not yet
shipped, open order quantity), into NumPy arrays. The transfer rows reach the
snapshot folded (:class:`RowState`), and the snapshot is kept with what it was
made of (:class:`SnapshotBase`): ``Ledger`` brings both forward with the rows of
the events after a write, so a snapshot after a write redoes the supply rows of
the lots the write touched, not of every lot.

Over 500 lines: building a snapshot and bringing one forward apply the same
rules per lot and per order (``_lot_rows``, ``_order_rows``); in two modules,
one rule would have two rooms and the equality of the two paths two owners.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import Enum
from itertools import compress
from operator import attrgetter, is_not
from typing import Any, NamedTuple, TypeVar

import numpy as np
from sqlalchemy import Connection

from gpuledger.domain import (
    Account,
    Bucket,
    Diversion,
    Lot,
    Order,
    OwnerKind,
    Parameters,
    Phase,
    Scenario,
    Target,
    TransferKind,
    Vendor,
    limits,
)
from gpuledger.ledger.queries import read_transfers
from gpuledger.ledger.results import Transfer
from gpuledger.ledger.scenario_base import scenario_from_books
from gpuledger.planning.snapshot import IntArray, PlanningSnapshot, SupplyKind


class _Row(NamedTuple):
    """One supply row before the arrays (a named tuple: thousands are made per snapshot)."""

    kind: SupplyKind
    id: str
    order: str
    sku: str
    qty: int
    day: date
    holder: str


# Rows sort by this key, stably. Two rows share a key only when they come from one
# source (the kind and the id name a lot or an order), so a lot's rows may be taken
# out and put back by bisection without moving any other row.
_SUPPLY_ORDER = attrgetter("kind", "day", "id", "holder")

A = TypeVar("A", bound=np.ndarray)


def frozen(array: A) -> A:
    """``array`` made read-only in place (``flags.writeable`` False), for sharing."""
    array.flags.writeable = False
    return array


class _Held(Enum):
    """Where an account's posted units count as supply of its owner (see ``_lot_rows``)."""

    DEPLOYED = "deployed"  # a cluster's: supply of the cluster's org
    STOCK = "stock"  # an org's, received
    IN_TRANSIT = "in_transit"  # an org's, shipped and not received


Holding = tuple[_Held, str]  # how a lot's units are held, and the owner's id
_HELD: dict[Account, Holding | None] = {}  # accounts are few and immutable


def _held_as(account: Account) -> Holding | None:
    """How ``account``'s posted units count as supply, and the owner's id (None: they do not)."""
    if account in _HELD:
        return _HELD[account]
    kind, bucket, found = account.owner_kind, account.bucket, None
    if kind is OwnerKind.CLUSTER and bucket is Bucket.DEPLOYED:
        found = (_Held.DEPLOYED, account.owner_id)
    elif kind is OwnerKind.ORG and bucket is Bucket.STOCK:
        found = (_Held.STOCK, account.owner_id)
    elif kind is OwnerKind.ORG and bucket is Bucket.IN_TRANSIT:
        found = (_Held.IN_TRANSIT, account.owner_id)
    _HELD[account] = found
    return found


@dataclass(frozen=True)
class RowState:
    """The transfer rows of one window (as of / as known on) folded: what a snapshot needs of them.

    Made by :meth:`of` from rows in log order, and brought forward by
    :meth:`advance` with the rows of later events alone: a row's place in the
    window depends on its own times only, and events append, so folding the
    kept state with the new rows equals folding every row. Holdings are the
    posted units of ``balances.fold`` (single and post rows; a post counts
    whether or not its pending row is in the window), summed per lot and
    holding. Never changed in place: :meth:`advance` copies a map only when
    it changes, and of ``holdings`` only the touched lots' maps.
    """

    seq: int  # the last event folded in
    holdings: dict[str, dict[Holding, int]]  # lot -> holding -> posted units (never 0, never {})
    received_on: dict[str, date]  # lot -> effective day of its first posted receive row
    shipped: frozenset[str]  # lots with a ship row
    posted: frozenset[str]  # diversions with a posted divert row
    latest_known: date | None  # the latest recorded day of a row
    # The lots whose rows the last advance folded: the only ones whose holdings,
    # arrival or shipment may differ from the state it advanced from.
    touched: frozenset[str] = field(default=frozenset(), compare=False)

    @classmethod
    def of(cls, rows: Iterable[Transfer], seq: int = 0) -> RowState:
        """The state of ``rows`` (``Transfer`` rows in log order) up to event ``seq``."""
        return _EMPTY.advance(rows, seq)

    def advance(self, rows: Iterable[Transfer], seq: int) -> RowState:
        """This state with ``rows`` (the window's rows of events in ``(self.seq, seq]``) folded in.

        Phases: 1. sum each row's posted change per (lot, holding) and note its
        lot, shipment, receipt, posted diversion and recorded day; 2. carry the
        changes into copies of the touched lots' holdings.
        """
        assert seq >= self.seq, "a row state only moves forward"
        change: dict[tuple[str, Holding], int] = defaultdict(int)
        touched: set[str] = set()
        received_on, shipped, posted = self.received_on, set(), set()
        latest = self.latest_known
        # 1. The rows.
        for t in rows:
            touched.add(t.lot)
            if t.phase is Phase.SINGLE or t.phase is Phase.POST:
                debit, credit = _held_as(t.debit), _held_as(t.credit)
                if debit is not None:
                    change[(t.lot, debit)] -= t.qty
                if credit is not None:
                    change[(t.lot, credit)] += t.qty
            if t.kind is TransferKind.RECEIVE and t.phase is Phase.SINGLE:
                if t.lot not in received_on:
                    if received_on is self.received_on:
                        received_on = dict(received_on)
                    received_on[t.lot] = t.effective_at.date()
            elif t.kind is TransferKind.SHIP:
                shipped.add(t.lot)
            elif t.kind is TransferKind.DIVERT and t.phase is Phase.POST and t.diversion:
                posted.add(t.diversion)
            known = t.recorded_at.date()
            latest = known if latest is None or known > latest else latest
        # 2. Holdings: a touched lot's map is copied before it changes; empty ones go.
        holdings = _changed_holdings(self.holdings, change)
        return RowState(
            seq, holdings, received_on,
            self.shipped | shipped if shipped - self.shipped else self.shipped,
            self.posted | posted if posted - self.posted else self.posted,
            latest, frozenset(touched),
        )  # fmt: skip


def _changed_holdings(
    holdings: dict[str, dict[Holding, int]], change: dict[tuple[str, Holding], int]
) -> dict[str, dict[Holding, int]]:
    """``holdings`` with ``change`` added (a new map sharing the lots it does not change)."""
    changed = [(place, units) for place, units in change.items() if units]
    if not changed:
        return holdings
    out = dict(holdings)
    copied: set[str] = set()
    for (lot, how), units in changed:
        if lot not in copied:
            copied.add(lot)
            out[lot] = dict(out.get(lot, {}))
        total = out[lot].get(how, 0) + units
        if total:
            out[lot][how] = total
        else:
            del out[lot][how]
    for lot in copied:
        if not out[lot]:
            del out[lot]
    assert all(units for lot in copied if lot in out for units in out[lot].values()), "a 0 kept"
    return out


_EMPTY = RowState(0, {}, {}, frozenset(), frozenset(), None)


def build_snapshot(
    conn: Connection,
    as_of: date,
    known_on: date | None = None,
    horizon_days: int | None = None,
    *,
    scenario: Scenario | None = None,
    rows: list[Transfer] | RowState | None = None,
    problem: Callable[[object], str | None] = limits.record_problem,
) -> PlanningSnapshot:
    """The planning snapshot as of ``as_of``, as known on ``known_on`` (None: all known).

    Edge cases: supply that should have arrived by ``as_of`` but has not (a lot
    not shipped or not received in the books, an overdue open order) is
    expected the day after ``as_of`` and noted; open quantity of an order whose
    vendor has no lead time for the SKU is expected the day after ``as_of``
    (noted); targets of unknown consumers are dropped (noted).
    ``horizon_end`` = max(as_of, latest supply day, latest target ``by``) +
    ``horizon_days`` (default: the scenario parameter, 730). ``scenario`` is
    ``scenario_from_books(conn, as_of)`` and ``rows`` is ``read_transfers(conn,
    as_of, known_on)`` (or its :class:`RowState`) when the caller already has
    them; ``problem`` is ``domain.limits.record_problem`` or a remembered
    answer of it. Every array of the snapshot is read-only (``flags.writeable``
    False): snapshots are shared (``Ledger`` memoises them), so nothing may
    change one in place.
    """
    s: Scenario = scenario if scenario is not None else scenario_from_books(conn, as_of)
    if rows is None:
        rows = read_transfers(conn, as_of, known_on)
    state = rows if isinstance(rows, RowState) else RowState.of(rows)
    return SnapshotBase.build(s, state, as_of, known_on, horizon_days, problem).snapshot


def _kept(
    kind: str,
    records: tuple[Any, ...],
    notes: list[str],
    problem_of: Callable[[object], str | None],
) -> tuple[Any, ...]:
    """``records`` without those outside ``domain.limits`` (``records`` itself when none is)."""
    out = []
    for r in records:
        problem = problem_of(r)
        if problem is None:
            out.append(r)
        else:
            notes.append(f"{kind} {getattr(r, 'id', '?')}: {problem}; left out of the plan")
    return records if len(out) == len(records) else tuple(out)


def _within_bounds(
    s: Scenario, notes: list[str], problem_of: Callable[[object], str | None]
) -> Scenario:
    """The scenario without records outside ``domain.limits``, each one noted.

    The parsers refuse such values, but an older version or a hand-edited
    database may have stored them; the plan then leaves them out (their lots
    and paybacks with them) instead of failing every read. Diversions are left
    as they are: :func:`_diversions_within_bounds` screens them, after the rest
    (their notes come last), and again alone when they change.
    """
    params = s.parameters
    if limits.record_problem(params) is not None:
        notes.append(f"parameters: {limits.record_problem(params)}; the default horizon is used")
        params = replace(params, horizon_days=Parameters().horizon_days)
    screened = replace(
        s,
        vendors=_kept("vendor", s.vendors, notes, problem_of),
        orders=_kept("order", s.orders, notes, problem_of),
        lots=_kept("lot", s.lots, notes, problem_of),
        targets=_kept("target", s.targets, notes, problem_of),
        claims=_kept("claim", s.claims, notes, problem_of),
        parameters=params,
    )
    orders = {o.id for o in screened.orders}
    lots = tuple(lot for lot in screened.lots if lot.order in orders)
    return replace(screened, lots=lots) if len(lots) != len(screened.lots) else screened


def _diversions_within_bounds(
    diversions: tuple[Diversion, ...], problem_of: Callable[[object], str | None]
) -> tuple[tuple[Diversion, ...], tuple[str, ...]]:
    """The diversions within ``domain.limits``, and a note for each one left out."""
    notes: list[str] = []
    return _kept("diversion", diversions, notes, problem_of), tuple(notes)


class _Due:
    """Supply days as the planner sees them: what is overdue comes tomorrow (noted)."""

    def __init__(self, as_of: date) -> None:
        self.as_of = as_of
        self.tomorrow = as_of + timedelta(days=1)

    def __call__(self, day: date, what: str, notes: list[str]) -> date:
        """``day``, or tomorrow when ``day`` is past (a note about ``what`` added to ``notes``)."""
        if day <= self.as_of:
            notes.append(
                f"{what} was due {day} and is not in the books by {self.as_of}; "
                f"expected {self.tomorrow}"
            )
            return self.tomorrow
        return day


class _LotRows(NamedTuple):
    """One lot's supply rows, in the order made, and the notes made with them."""

    rows: tuple[_Row, ...]
    transit_notes: tuple[str, ...]  # pieces in transit and overdue, by org
    expected_notes: tuple[str, ...]  # not shipped and overdue


_NO_ROWS = _LotRows((), (), ())


@dataclass(frozen=True)
class _Frame:
    """What every lot's rows read besides the lot's own state: the same for all lots."""

    due: _Due
    orgs: frozenset[str]
    cluster_org: dict[str, str]  # cluster -> its org


def _lot_rows(
    lot: Lot, state: RowState, paid: Sequence[tuple[str, int]], frame: _Frame
) -> _LotRows:
    """A lot's rows: pieces each org holds (stock and deployed), has in transit, or expects.

    Pieces held or in transit are summed per org (a cluster's under its org),
    in org order; a lot not shipped is expected by the orgs its posted
    diversions pay back (``paid``: giver and units, in diversion order), the
    rest by its consignee. Rows of holders that are not orgs are left out.
    """
    held: dict[str, int] = defaultdict(int)
    moving: dict[str, int] = defaultdict(int)
    for (how, owner), posted in state.holdings.get(lot.id, {}).items():
        if how is _Held.DEPLOYED:
            org = frame.cluster_org.get(owner)
            if org is not None:
                held[org] += posted
        elif how is _Held.STOCK:
            held[owner] += posted
        else:
            moving[owner] += posted
    orgs, due = frame.orgs, frame.due
    rows: list[_Row] = []
    transit_notes: list[str] = []
    expected_notes: list[str] = []
    received = state.received_on.get(lot.id, lot.arrives_on)
    for org, qty in sorted(held.items()):
        if qty > 0 and org in orgs:
            rows.append(_Row(SupplyKind.ARRIVED, lot.id, lot.order, "", qty, received, org))
    for org, qty in sorted(moving.items()):
        if qty > 0 and org in orgs:
            day = due(lot.arrives_on, f"lot {lot.id} ({org}, in transit)", transit_notes)
            rows.append(_Row(SupplyKind.IN_TRANSIT, lot.id, lot.order, "", qty, day, org))
    if lot.id not in state.shipped:
        day = due(lot.arrives_on, f"lot {lot.id} (not shipped)", expected_notes)
        left = lot.qty
        for giver, qty in paid:
            take = min(qty, left)
            if take > 0:
                rows.append(_Row(SupplyKind.EXPECTED, lot.id, lot.order, "", take, day, giver))
                left -= take
        if left > 0:
            rows.append(_Row(SupplyKind.EXPECTED, lot.id, lot.order, "", left, day, lot.consignee))
    if not rows and not transit_notes and not expected_notes:
        return _NO_ROWS
    kept = tuple(r for r in rows if r.holder in orgs)
    return _LotRows(kept, tuple(transit_notes), tuple(expected_notes))


def _paid(
    diversions: tuple[Diversion, ...], posted: frozenset[str]
) -> dict[str, tuple[tuple[str, int], ...]]:
    """Lot -> the paybacks on it of posted diversions: (giver, units), in diversion order."""
    paid: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for d in diversions:
        if d.id in posted:
            for p in d.payback:
                paid[p.lot].append((d.from_org, p.qty))
    return {lot: tuple(found) for lot, found in paid.items()}


class _OrderRows(NamedTuple):
    """One order's open quantity as supply rows, and the notes made with them."""

    rows: tuple[_Row, ...]
    notes: tuple[str, ...]


def _covered(lots: Iterable[Lot]) -> dict[str, int]:
    """Order -> the units its lots cover."""
    covered: dict[str, int] = defaultdict(int)
    for lot in lots:
        covered[lot.order] += lot.qty
    return dict(covered)


def _recovered(covered: dict[str, int], lots: dict[str, Lot], new: list[Lot]) -> dict[str, int]:
    """``covered`` (by ``lots``) with the ``new`` versions of some lots, or new lots, in."""
    out = dict(covered)
    for lot in new:
        was = lots.get(lot.id)
        if was is not None:
            out[was.order] -= was.qty
        out[lot.order] = out.get(lot.order, 0) + lot.qty
    return out


def _order_rows(order: Order, covered: int, vendor: Vendor | None, frame: _Frame) -> _OrderRows:
    """Open order quantity (beyond the ``covered`` units of its lots): on the order's
    schedule, the rest at ordered_on + the vendor's P50 lead time (tomorrow when it has none).

    Rows of an order whose org is not an org are left out.
    """
    due = frame.due
    notes: list[str] = []
    rows: list[_Row] = []
    open_qty = order.qty - covered
    if open_qty <= 0:
        return _OrderRows((), ())
    skip = covered
    for step in sorted(order.schedule, key=lambda x: x.on):
        take = max(0, step.qty - skip)
        skip = max(0, skip - step.qty)
        take = min(take, open_qty)
        if take > 0:
            day = due(step.on, f"order {order.id} delivery", notes)
            rows.append(_Row(SupplyKind.OPEN_ORDER, order.id, order.id, "", take, day, order.org))
            open_qty -= take
    if open_qty > 0:
        lead = vendor.lead_time_on(order.sku, order.ordered_on) if vendor else None
        if lead is None:
            notes.append(f"order {order.id}: no lead time for {order.sku}; expected {due.tomorrow}")
            day = due.tomorrow
        else:
            day = due(order.ordered_on + timedelta(days=lead.p50_days), f"order {order.id}", notes)
        rows.append(_Row(SupplyKind.OPEN_ORDER, order.id, order.id, "", open_qty, day, order.org))
    kept = tuple(r for r in rows if r.holder in frame.orgs)
    return _OrderRows(kept, tuple(notes))


def _ints(values: list[int]) -> IntArray:
    return frozen(np.asarray(values, dtype=np.int64))


@dataclass(frozen=True)
class _Index:
    """A snapshot's index spaces as its supply rows use them."""

    org: dict[str, int]  # org id -> index into orgs
    order: dict[str, tuple[int, int, int]]  # order id -> (SKU index, vendor index, ordered day)


def _frame_arrays(
    s: Scenario, as_of: date, notes: list[str]
) -> tuple[dict[str, Any], _Index, date]:
    """Every field of the snapshot but the supply rows', the dates and the notes.

    Returns the fields, the index spaces the supply rows need, and the latest of
    ``as_of`` and the kept targets' ``by``. Targets of unknown consumers or SKUs
    are dropped (noted in ``notes``).
    """
    skus = tuple(k.id for k in s.skus)
    orgs = tuple(o.id for o in s.orgs)
    org_index = {o: i for i, o in enumerate(orgs)}
    pools = tuple([g.id for g in s.groups] + [o.id for o in s.orgs if o.group is None])
    pool_index = {p: i for i, p in enumerate(pools)}
    clusters = [c for c in s.clusters if c.org in org_index]
    consumers = orgs + tuple(c.id for c in clusters)
    consumer_index = {c: i for i, c in enumerate(consumers)}
    sku_index = {k: i for i, k in enumerate(skus)}
    targets: list[Target] = []
    for t in s.targets:
        if t.consumer not in consumer_index or t.sku not in sku_index:
            notes.append(
                f"target {t.id}: unknown consumer {t.consumer!r} or SKU {t.sku!r}; dropped"
            )
            continue
        targets.append(t)
    vendors = tuple(v.id for v in s.vendors)
    vendor_index = {v: i for i, v in enumerate(vendors)}
    lead_rows = [(vi, lt) for vi, v in enumerate(s.vendors) for lt in v.lead_times]
    lead_rows = [(vi, lt) for vi, lt in lead_rows if lt.sku in sku_index]
    index = _Index(
        org_index,
        {
            o.id: (
                sku_index.get(o.sku, -1),
                vendor_index.get(o.vendor, -1),
                o.ordered_on.toordinal(),
            )
            for o in s.orders
        },
    )
    fields = dict(
        skus=skus,
        orgs=orgs,
        org_pool=_ints([pool_index[o.group if o.group in pool_index else o.id] for o in s.orgs]),
        pools=pools,
        consumers=consumers,
        consumer_org=_ints([*range(len(orgs)), *(org_index[c.org] for c in clusters)]),
        vendors=vendors,
        target_id=tuple(t.id for t in targets),
        target_consumer=_ints([consumer_index[t.consumer] for t in targets]),
        target_sku=_ints([sku_index[t.sku] for t in targets]),
        target_qty=_ints([t.qty for t in targets]),
        target_by=_ints([t.by.toordinal() for t in targets]),
        target_priority=_ints([t.priority for t in targets]),
        target_weight=frozen(np.asarray([t.weight for t in targets], dtype=np.float64)),
        lead_vendor=_ints([vi for vi, _ in lead_rows]),
        lead_sku=_ints([sku_index[lt.sku] for _, lt in lead_rows]),
        lead_from_day=_ints([lt.from_date.toordinal() for _, lt in lead_rows]),
        lead_p50_days=_ints([lt.p50_days for _, lt in lead_rows]),
        lead_p90_days=_ints([lt.p90_days for _, lt in lead_rows]),
        sku_annual_failure_rate=frozen(
            np.asarray([k.annual_failure_rate for k in s.skus], dtype=np.float64)
        ),
        vendor_slip_p50_days=_ints([v.transit_slip_p50_days for v in s.vendors]),
        vendor_slip_p90_days=_ints([v.transit_slip_p90_days for v in s.vendors]),
        gpu_hour_price_usd=s.parameters.gpu_hour_price_usd,
    )
    return fields, index, max([as_of, *(t.by for t in targets)])


_SUPPLY_TUPLES = ("supply_id", "supply_order")
_SUPPLY_INTS = (
    "supply_kind", "supply_sku", "supply_qty", "supply_day", "supply_holder", "supply_vendor",
    "supply_ordered_day",
)  # fmt: skip


def _supply_values(rows: Sequence[_Row], index: _Index) -> dict[str, list[Any]]:
    """The values of the supply fields for ``rows``, field by field (in ``rows`` order)."""
    order_of = [index.order[r.order] for r in rows]
    return {
        "supply_id": [r.id for r in rows],
        "supply_order": [r.order for r in rows],
        "supply_kind": [int(r.kind) for r in rows],
        "supply_sku": [o[0] for o in order_of],
        "supply_qty": [r.qty for r in rows],
        "supply_day": [r.day.toordinal() for r in rows],
        "supply_holder": [index.org[r.holder] for r in rows],
        "supply_vendor": [o[1] for o in order_of],
        "supply_ordered_day": [o[2] for o in order_of],
    }


def _horizon_end(supply_day: IntArray, last_target: date, horizon: int) -> date:
    """max(as_of, latest supply day, latest target ``by``) + ``horizon`` days."""
    last = last_target
    if supply_day.size:
        last = max(last, date.fromordinal(int(supply_day.max())))
    return last + timedelta(days=horizon)


def _same(a: object, b: object) -> bool:
    """Equal parts of two scenarios (the same tuple, or equal records: cheap when shared)."""
    return a is b or a == b


#: The parts of a scenario a change of which builds the snapshot afresh (lots and
#: diversions are brought forward; the others are small or seldom written).
_FRAME_PARTS = ("skus", "vendors", "groups", "orgs", "clusters", "orders", "targets", "claims",
                "parameters")  # fmt: skip


@dataclass(frozen=True)
class SnapshotBase:
    """A planning snapshot kept with what it was made of, to bring it forward after writes.

    Made by :meth:`build` (:func:`build_snapshot` returns its snapshot) and
    brought forward by :meth:`advance` with the rows of later events and the
    books' scenario then: only the lots those rows touched, those whose record
    or paybacks changed, and the orders those lots cover get their rows made
    again, and the sorted supply and its arrays are patched where those rows
    were; the result equals :meth:`build` on the same inputs. What did not
    change is shared with the base it came from (snapshots and their arrays
    are read-only).
    """

    snapshot: PlanningSnapshot
    state: RowState
    scenario: Scenario  # as given: its parts are compared with the next one's
    screened: Scenario  # within bounds
    frame_notes: tuple[str, ...]  # of screening, but for the diversions'
    diversion_notes: tuple[str, ...]  # of screening the diversions
    target_notes: tuple[str, ...]  # of targets dropped
    lots: dict[str, Lot]  # the screened lots by id
    frame: _Frame
    index: _Index
    paid: dict[str, tuple[tuple[str, int], ...]]  # lot -> paybacks of posted diversions
    covered: dict[str, int]  # order -> units its (screened) lots cover
    lot_rows: dict[str, _LotRows]  # lot -> its rows and notes
    order_rows: dict[str, _OrderRows]  # order -> its open quantity's rows and notes
    supply: list[_Row]  # every supply row, sorted by ``_SUPPLY_ORDER``; never changed
    last_target: date  # max(as_of, the kept targets' ``by``)
    known_on: date | None  # as asked (None: all known)
    horizon_days: int | None  # as asked (None: the scenario parameter)

    @classmethod
    def build(
        cls,
        scenario: Scenario,
        state: RowState,
        as_of: date,
        known_on: date | None,
        horizon_days: int | None,
        problem: Callable[[object], str | None],
    ) -> SnapshotBase:
        """The snapshot of ``scenario`` and ``state`` (see :func:`build_snapshot`), made afresh.

        Phases: 1. screen the scenario; 2. each lot's rows, each order's open
        quantity; 3. sort them; 4. the arrays.
        """
        # 1. The records within bounds (the diversions' notes last).
        frame_notes: list[str] = []
        s = _within_bounds(scenario, frame_notes, problem)
        diversions, diversion_notes = _diversions_within_bounds(scenario.diversions, problem)
        s = replace(s, diversions=diversions)
        # 2. Each lot's pieces held, in transit or expected; each order's open quantity.
        frame = _Frame(
            _Due(as_of), frozenset(o.id for o in s.orgs), {c.id: c.org for c in s.clusters}
        )
        paid = _paid(s.diversions, state.posted)
        lot_rows = {lot.id: _lot_rows(lot, state, paid.get(lot.id, ()), frame) for lot in s.lots}
        covered, vendors = _covered(s.lots), {v.id: v for v in s.vendors}
        order_rows = {
            o.id: _order_rows(o, covered.get(o.id, 0), vendors.get(o.vendor), frame)
            for o in s.orders
        }
        # 3. Sorted (stably: a lot's or an order's rows with one key stay in the order made).
        supply = [r for found in lot_rows.values() for r in found.rows]
        supply += [r for found in order_rows.values() for r in found.rows]
        supply.sort(key=_SUPPLY_ORDER)
        # 4. Arrays.
        target_notes: list[str] = []
        fields, index, last_target = _frame_arrays(s, as_of, target_notes)
        values = _supply_values(supply, index)
        for name in _SUPPLY_TUPLES:
            fields[name] = tuple(values[name])
        for name in _SUPPLY_INTS:
            fields[name] = _ints(values[name])
        horizon = horizon_days if horizon_days is not None else s.parameters.horizon_days
        base = cls(
            PlanningSnapshot(
                as_of=as_of,
                known_on=_known_on(known_on, as_of, state),
                horizon_end=_horizon_end(fields["supply_day"], last_target, horizon),
                notes=(),
                **fields,
            ),
            state, scenario, s, tuple(frame_notes), diversion_notes, tuple(target_notes),
            {lot.id: lot for lot in s.lots}, frame, index, paid, covered, lot_rows, order_rows,
            supply, last_target, known_on, horizon_days,
        )  # fmt: skip
        return base.with_notes()

    def with_notes(self) -> SnapshotBase:
        """This base with its snapshot's notes assembled from its parts.

        In order: screening (diversions last), lots in transit and overdue (by
        lot, then org), lots not shipped and overdue (in the scenario's lot
        order), open order quantity (in its order), targets dropped.
        """
        lot_rows = self.lot_rows
        notes = [*self.frame_notes, *self.diversion_notes]
        for lot_id in sorted(i for i, found in lot_rows.items() if found.transit_notes):
            notes += lot_rows[lot_id].transit_notes
        for lot in self.screened.lots:
            notes += lot_rows[lot.id].expected_notes
        for order in self.screened.orders:
            notes += self.order_rows[order.id].notes
        notes += self.target_notes
        return replace(self, snapshot=replace(self.snapshot, notes=tuple(notes)))

    def advance(
        self,
        rows: Iterable[Transfer],
        seq: int,
        scenario: Scenario,
        problem: Callable[[object], str | None],
    ) -> SnapshotBase:
        """This base brought forward to event ``seq``: equal to :meth:`build` at ``seq``.

        ``rows`` are the window's rows of the events in ``(state.seq, seq]``,
        ``scenario`` the books' at ``seq``. A change of a scenario part other
        than the lots and the diversions (see ``_FRAME_PARTS``), or of lots
        that are or were out of bounds, builds afresh.

        Phases: 1. fold the rows; 2. the lots and the diversions that changed,
        and the paybacks; 3. the rows of the touched lots and of the orders
        their changes uncover; 4. the supply and the arrays patched where
        those rows were.
        """
        # 1. The rows folded into the kept state.
        state = self.state.advance(rows, seq)
        new_lots = self._new_lots(scenario, problem)
        if new_lots is None or not all(
            _same(getattr(scenario, p), getattr(self.scenario, p)) for p in _FRAME_PARTS
        ):
            as_of, known_on, horizon_days = self.snapshot.as_of, self.known_on, self.horizon_days
            return SnapshotBase.build(scenario, state, as_of, known_on, horizon_days, problem)
        # 2. New or changed lots; diversions screened again if they changed; paybacks.
        screened, diversion_notes = self.screened, self.diversion_notes
        lots, covered = self.lots, self.covered
        if new_lots:
            screened = replace(screened, lots=scenario.lots)
            covered = _recovered(covered, lots, new_lots)
            lots = {**lots, **{lot.id: lot for lot in new_lots}}
        if not _same(scenario.diversions, self.scenario.diversions):
            diversions, diversion_notes = _diversions_within_bounds(scenario.diversions, problem)
            screened = replace(screened, diversions=diversions)
        paid = self.paid
        if (
            screened.diversions is not self.screened.diversions
            or state.posted is not self.state.posted
        ):
            paid = _paid(screened.diversions, state.posted)
        # 3. The rows of each lot touched by the rows, changed, or whose paybacks changed,
        # and of each order whose lots cover another quantity.
        touched = set(state.touched) | {lot.id for lot in new_lots}
        touched.update(
            lot for lot in paid.keys() | self.paid.keys() if paid.get(lot) != self.paid.get(lot)
        )
        lot_rows: dict[str, _LotRows] = {}
        for lot_id in touched:
            lot = lots.get(lot_id)
            if lot is not None:
                found = _lot_rows(lot, state, paid.get(lot_id, ()), self.frame)
                if found != self.lot_rows.get(lot_id, _NO_ROWS):
                    lot_rows[lot_id] = found
        order_rows = self._changed_orders(covered)
        # 4. The supply and its arrays, patched where the changed rows were.
        base = replace(
            self, state=state, scenario=scenario, screened=screened,
            diversion_notes=diversion_notes, lots=lots, paid=paid, covered=covered,
        )  # fmt: skip
        if lot_rows or order_rows:
            base = base._patched(lot_rows, order_rows)
        known = _known_on(self.known_on, self.snapshot.as_of, state)
        if known != base.snapshot.known_on:
            base = replace(base, snapshot=replace(base.snapshot, known_on=known))
        notes_changed = (
            diversion_notes != self.diversion_notes
            or any(found.notes != self.order_rows[i].notes for i, found in order_rows.items())
            or any(found[1:] != self.lot_rows.get(i, _NO_ROWS)[1:] for i, found in lot_rows.items())
        )
        return base.with_notes() if notes_changed else base

    def _changed_orders(self, covered: dict[str, int]) -> dict[str, _OrderRows]:
        """The rows of the orders whose lots cover other units than here, where they differ."""
        changed: dict[str, _OrderRows] = {}
        if covered is self.covered:
            return changed
        vendors = {v.id: v for v in self.screened.vendors}
        for order in self.screened.orders:
            units = covered.get(order.id, 0)
            if units != self.covered.get(order.id, 0):
                found = _order_rows(order, units, vendors.get(order.vendor), self.frame)
                if found != self.order_rows[order.id]:
                    changed[order.id] = found
        return changed

    def _new_lots(
        self, scenario: Scenario, problem: Callable[[object], str | None]
    ) -> list[Lot] | None:
        """The lots of ``scenario`` new or changed since this base's (in the scenario's order).

        None when the change cannot be brought forward: a lot out of bounds, or
        of an order the snapshot does not know, now or before (screening drops
        it and notes it); lots gone or reordered (the books only add).
        """
        old, new = self.scenario.lots, scenario.lots
        if _same(old, new):
            return []
        if len(self.screened.lots) != len(old) or len(new) < len(old):
            return None  # some lot was screened out (the kept ones are a part of them)
        at = [i for i in compress(range(len(old)), map(is_not, new, old)) if new[i] != old[i]]
        if any(new[i].id != old[i].id for i in at):
            return None
        changed = [new[i] for i in at] + list(new[len(old) :])
        orders = self.index.order
        if any(problem(lot) is not None or lot.order not in orders for lot in changed):
            return None
        return changed

    def _patched(
        self, lot_rows: dict[str, _LotRows], order_rows: dict[str, _OrderRows]
    ) -> SnapshotBase:
        """This base with the rows of some lots and orders in place of their kept ones.

        Their kept rows are found by bisection on their keys (no other source's
        row shares one) and taken out; their new rows go in, sorted, where
        bisection puts them. Every supply field is spliced at the same places.
        """
        key, old = _SUPPLY_ORDER, self.supply
        gone: set[int] = set()
        kept_rows = [self.lot_rows.get(i, _NO_ROWS).rows for i in lot_rows]
        kept_rows += [self.order_rows[i].rows for i in order_rows]
        for r in (r for rows in kept_rows for r in rows):
            k = key(r)
            gone.update(range(bisect_left(old, k, key=key), bisect_right(old, k, key=key)))
        out = sorted(gone)
        new_rows = [found.rows for found in lot_rows.values()]
        new_rows += [found.rows for found in order_rows.values()]
        added = sorted((r for rows in new_rows for r in rows), key=key)
        left = _spliced(old, out, [], [])
        at = [bisect_left(left, key(r), key=key) for r in added]
        values = _supply_values(added, self.index)
        snapshot = self.snapshot
        fields: dict[str, Any] = {}
        for name in _SUPPLY_TUPLES:
            fields[name] = tuple(_spliced(getattr(snapshot, name), out, at, values[name]))
        for name in _SUPPLY_INTS:
            kept = np.delete(getattr(snapshot, name), out)
            fields[name] = frozen(np.insert(kept, at, np.asarray(values[name], dtype=np.int64)))
        assert (
            len(fields["supply_id"])
            == fields["supply_qty"].size
            == len(old) - len(out) + len(added)
        ), "every supply field spliced alike"
        horizon = self.horizon_days
        if horizon is None:
            horizon = self.screened.parameters.horizon_days
        fields["horizon_end"] = _horizon_end(fields["supply_day"], self.last_target, horizon)
        return replace(
            self,
            snapshot=replace(snapshot, **fields),
            lot_rows={**self.lot_rows, **lot_rows},
            order_rows={**self.order_rows, **order_rows},
            supply=_spliced(old, out, at, added),
        )


def _spliced(items: Sequence[Any], out: list[int], at: list[int], new: Sequence[Any]) -> list[Any]:
    """``items`` without the positions ``out`` (ascending), then with ``new[j]`` put
    before the ``at[j]``-th item left (``at`` non-decreasing, as ``numpy.insert``)."""
    spliced = list(items)
    for i in reversed(out):
        del spliced[i]
    for j, (i, item) in enumerate(zip(at, new, strict=True)):
        spliced.insert(i + j, item)
    return spliced


def _known_on(known_on: date | None, as_of: date, state: RowState) -> date:
    """The snapshot's ``known_on``: as asked, else the latest day the rows were recorded on
    (``as_of`` when later or when there are none)."""
    if known_on is not None:
        return known_on
    latest = state.latest_known
    return as_of if latest is None else max(as_of, latest)
