"""Build the planning snapshot (``planning.snapshot.PlanningSnapshot``) from the books.

The planner never reads the database: this module turns the books as of a day,
as known on a day, plus the expectations held in documents (lots not yet
shipped, open order quantity), into NumPy arrays. The transfer rows reach the
snapshot folded (:class:`RowState`): a state that ``Ledger`` keeps and brings
forward with the rows of the events after it, so a snapshot after a write folds
what the write added, not the whole log.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import Enum
from operator import attrgetter
from typing import NamedTuple, TypeVar

import numpy as np
from sqlalchemy import Connection

from gpuledger.domain import (
    Account,
    Bucket,
    OwnerKind,
    Parameters,
    Phase,
    Scenario,
    TransferKind,
    limits,
)
from gpuledger.ledger import balances
from gpuledger.ledger.balances import Bal, BalKey
from gpuledger.ledger.queries import read_transfers, scenario_from_books
from gpuledger.ledger.results import Transfer
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


_SUPPLY_ORDER = attrgetter("kind", "day", "id", "holder")

A = TypeVar("A", bound=np.ndarray)


def frozen(array: A) -> A:
    """``array`` made read-only in place (``flags.writeable`` False), for sharing."""
    array.flags.writeable = False
    return array


class _Held(Enum):
    """Where an account's posted units count as supply of its owner (see ``_held_supply``)."""

    DEPLOYED = "deployed"  # a cluster's: supply of the cluster's org
    STOCK = "stock"  # an org's, received
    IN_TRANSIT = "in_transit"  # an org's, shipped and not received


_HELD: dict[Account, tuple[_Held, str] | None] = {}  # accounts are few and immutable


def _held_as(account: Account) -> tuple[_Held, str] | None:
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
    kept state with the new rows equals folding every row. Never changed in
    place: :meth:`advance` copies the maps and every balance it touches.
    """

    seq: int  # the last event folded in
    bal: dict[BalKey, Bal]  # balances.fold of the rows
    open_pending: dict[str, Transfer]  # pending rows not yet resolved in the window, by id
    holdings: dict[tuple[str, _Held, str], int]  # (lot, how held, owner id) -> posted units
    received_on: dict[str, date]  # lot -> effective day of its first posted receive row
    shipped: frozenset[str]  # lots with a ship row
    posted: frozenset[str]  # diversions with a posted divert row
    latest_known: date | None  # the latest recorded day of a row

    @classmethod
    def of(cls, rows: Iterable[Transfer], seq: int = 0) -> RowState:
        """The state of ``rows`` (``Transfer`` rows in log order) up to event ``seq``."""
        return _EMPTY.advance(rows, seq)

    def advance(self, rows: Iterable[Transfer], seq: int) -> RowState:
        """This state with ``rows`` (the window's rows of events in ``(self.seq, seq]``) folded in.

        Phases: 1. fold the rows into copies of the touched balances; 2. carry
        the posted change of each touched balance into ``holdings``.
        """
        assert seq >= self.seq, "a row state only moves forward"
        bal: dict[BalKey, Bal] = defaultdict(Bal, self.bal)
        open_pending = dict(self.open_pending)
        received_on = dict(self.received_on)
        shipped, posted, latest = set(self.shipped), set(self.posted), self.latest_known
        before: dict[BalKey, int] = {}  # touched balance -> its posted units before

        def touch(key: BalKey) -> None:
            if key not in before:
                old = self.bal.get(key)
                before[key] = 0 if old is None else old.posted
                bal[key] = (
                    Bal() if old is None else Bal(old.posted, old.pend_debit, old.pend_credit)
                )

        # 1. Fold the rows; a balance shared with the kept state is copied before it changes.
        for t in rows:
            touch((t.debit, t.sku, t.lot))
            touch((t.credit, t.sku, t.lot))
            if t.phase is Phase.POST or t.phase is Phase.VOID:
                p = open_pending.get(t.pending_id or "")
                if p is not None:
                    touch((p.debit, p.sku, p.lot))
                    touch((p.credit, p.sku, p.lot))
            balances._apply(bal, open_pending, t)
            if t.kind is TransferKind.RECEIVE and t.phase is Phase.SINGLE:
                received_on.setdefault(t.lot, t.effective_at.date())
            elif t.kind is TransferKind.SHIP:
                shipped.add(t.lot)
            elif t.kind is TransferKind.DIVERT and t.phase is Phase.POST and t.diversion:
                posted.add(t.diversion)
            known = t.recorded_at.date()
            latest = known if latest is None or known > latest else latest
        # 2. Holdings: the posted change of each touched balance of a holding account.
        holdings = dict(self.holdings)
        for key, was in before.items():
            account, _, lot = key
            change = bal[key].posted - was
            how = _held_as(account) if change else None
            if how is not None:
                place = (lot, *how)
                total = holdings.get(place, 0) + change
                if total:
                    holdings[place] = total
                else:
                    holdings.pop(place, None)
        return RowState(
            seq, dict(bal), open_pending, holdings, received_on,
            frozenset(shipped), frozenset(posted), latest,
        )  # fmt: skip


_EMPTY = RowState(0, {}, {}, {}, {}, frozenset(), frozenset(), None)


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
    them (``Ledger`` keeps both and brings them forward from the events after a
    write); ``problem`` is ``domain.limits.record_problem`` or a remembered
    answer of it. Every array of the snapshot is read-only (``flags.writeable``
    False): snapshots are shared (``Ledger`` memoises them), so nothing may
    change one in place.
    """
    # 1. The documents (latest versions) and the transfers as of / as known on, folded.
    s: Scenario = scenario if scenario is not None else scenario_from_books(conn, as_of)
    if rows is None:
        rows = read_transfers(conn, as_of, known_on)
    state = rows if isinstance(rows, RowState) else RowState.of(rows)
    due = _Due(as_of)
    s = _within_bounds(s, due.notes, problem)
    orgs = {o.id for o in s.orgs}
    orders = {o.id for o in s.orders}
    # 2. Pieces held or in transit; lots not shipped; open order quantity.
    supply = _held_supply(s, state, due) + _expected_lots(s, state, due) + _open_orders(s, due)
    supply = [r for r in supply if r.holder in orgs and r.order in orders]
    supply.sort(key=_SUPPLY_ORDER)
    # 3. Arrays.
    latest_known = state.latest_known if state.latest_known is not None else as_of
    return _arrays(
        s,
        supply,
        due,
        known_on=known_on or max(as_of, latest_known),
        horizon=horizon_days if horizon_days is not None else s.parameters.horizon_days,
    )


def _within_bounds(
    s: Scenario, notes: list[str], problem_of: Callable[[object], str | None]
) -> Scenario:
    """The scenario without records outside ``domain.limits``, each one noted.

    The parsers refuse such values, but an older version or a hand-edited
    database may have stored them; the plan then leaves them out (their lots
    and paybacks with them) instead of failing every read.
    """
    R = TypeVar("R")

    def kept(kind: str, records: tuple[R, ...]) -> tuple[R, ...]:
        out = []
        for r in records:
            problem = problem_of(r)
            if problem is None:
                out.append(r)
            else:
                notes.append(f"{kind} {getattr(r, 'id', '?')}: {problem}; left out of the plan")
        return tuple(out)

    params = s.parameters
    if limits.record_problem(params) is not None:
        notes.append(f"parameters: {limits.record_problem(params)}; the default horizon is used")
        params = replace(params, horizon_days=Parameters().horizon_days)
    screened = replace(
        s,
        vendors=kept("vendor", s.vendors),
        orders=kept("order", s.orders),
        lots=kept("lot", s.lots),
        targets=kept("target", s.targets),
        claims=kept("claim", s.claims),
        diversions=kept("diversion", s.diversions),
        parameters=params,
    )
    orders = {o.id for o in screened.orders}
    lots = tuple(lot for lot in screened.lots if lot.order in orders)
    return replace(screened, lots=lots) if len(lots) != len(screened.lots) else screened


class _Due:
    """Supply days as the planner sees them: what is overdue comes tomorrow (noted)."""

    def __init__(self, as_of: date) -> None:
        self.as_of = as_of
        self.tomorrow = as_of + timedelta(days=1)
        self.notes: list[str] = []

    def __call__(self, day: date, what: str) -> date:
        if day <= self.as_of:
            self.notes.append(
                f"{what} was due {day} and is not in the books by {self.as_of}; "
                f"expected {self.tomorrow}"
            )
            return self.tomorrow
        return day


def _held_supply(s: Scenario, state: RowState, due: _Due) -> list[_Row]:
    """Pieces of lots each org holds (stock and deployed) or has in transit."""
    cluster_org = {c.id: c.org for c in s.clusters}
    held: dict[tuple[str, str], int] = defaultdict(int)
    moving: dict[tuple[str, str], int] = defaultdict(int)
    for (lot_id, kind, owner), posted in state.holdings.items():
        if kind is _Held.DEPLOYED:
            org = cluster_org.get(owner)
            if org is not None:
                held[(lot_id, org)] += posted
        elif kind is _Held.STOCK:
            held[(lot_id, owner)] += posted
        else:
            moving[(lot_id, owner)] += posted
    received_on = state.received_on
    lots = {lot.id: lot for lot in s.lots}
    orgs = {o.id for o in s.orgs}
    supply: list[_Row] = []
    for (lot_id, org), qty in sorted(held.items()):
        if qty > 0 and lot_id in lots and org in orgs:
            lot = lots[lot_id]
            day = received_on.get(lot_id, lot.arrives_on)
            supply.append(_Row(SupplyKind.ARRIVED, lot_id, lot.order, "", qty, day, org))
    for (lot_id, org), qty in sorted(moving.items()):
        if qty > 0 and lot_id in lots and org in orgs:
            lot = lots[lot_id]
            day = due(lot.arrives_on, f"lot {lot_id} ({org}, in transit)")
            supply.append(_Row(SupplyKind.IN_TRANSIT, lot_id, lot.order, "", qty, day, org))
    return supply


def _expected_lots(s: Scenario, state: RowState, due: _Due) -> list[_Row]:
    """Lots not shipped: the consignee's, less the paybacks of posted diversions."""
    shipped, posted = state.shipped, state.posted
    paid: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for d in s.diversions:
        if d.id in posted:
            for p in d.payback:
                paid[p.lot].append((d.from_org, p.qty))
    supply: list[_Row] = []
    for lot in s.lots:
        if lot.id in shipped:
            continue
        day = due(lot.arrives_on, f"lot {lot.id} (not shipped)")
        left = lot.qty
        for giver, qty in paid.get(lot.id, ()):
            take = min(qty, left)
            if take > 0:
                supply.append(_Row(SupplyKind.EXPECTED, lot.id, lot.order, "", take, day, giver))
                left -= take
        if left > 0:
            supply.append(
                _Row(SupplyKind.EXPECTED, lot.id, lot.order, "", left, day, lot.consignee)
            )
    return supply


def _open_orders(s: Scenario, due: _Due) -> list[_Row]:
    """Open order quantity: on the order's schedule, else at ordered_on + P50 lead time."""
    covered: dict[str, int] = defaultdict(int)
    for lot in s.lots:
        covered[lot.order] += lot.qty
    vendor_by_id = {v.id: v for v in s.vendors}
    supply: list[_Row] = []
    for order in s.orders:
        open_qty = order.qty - covered[order.id]
        if open_qty <= 0:
            continue
        skip = covered[order.id]
        for step in sorted(order.schedule, key=lambda x: x.on):
            take = max(0, step.qty - skip)
            skip = max(0, skip - step.qty)
            take = min(take, open_qty)
            if take > 0:
                day = due(step.on, f"order {order.id} delivery")
                supply.append(
                    _Row(SupplyKind.OPEN_ORDER, order.id, order.id, "", take, day, order.org)
                )
                open_qty -= take
        if open_qty > 0:
            vendor = vendor_by_id.get(order.vendor)
            lead = vendor.lead_time_on(order.sku, order.ordered_on) if vendor else None
            if lead is None:
                due.notes.append(
                    f"order {order.id}: no lead time for {order.sku}; expected {due.tomorrow}"
                )
                day = due.tomorrow
            else:
                day = due(order.ordered_on + timedelta(days=lead.p50_days), f"order {order.id}")
            supply.append(
                _Row(SupplyKind.OPEN_ORDER, order.id, order.id, "", open_qty, day, order.org)
            )
    return supply


def _ints(values: list[int]) -> IntArray:
    return frozen(np.asarray(values, dtype=np.int64))


def _arrays(
    s: Scenario, supply: list[_Row], due: _Due, *, known_on: date, horizon: int
) -> PlanningSnapshot:
    """The index spaces, targets and every array of the snapshot."""
    skus = tuple(k.id for k in s.skus)
    orgs = tuple(o.id for o in s.orgs)
    org_index = {o: i for i, o in enumerate(orgs)}
    pools = tuple([g.id for g in s.groups] + [o.id for o in s.orgs if o.group is None])
    pool_index = {p: i for i, p in enumerate(pools)}
    clusters = [c for c in s.clusters if c.org in org_index]
    consumers = orgs + tuple(c.id for c in clusters)
    consumer_index = {c: i for i, c in enumerate(consumers)}
    sku_index = {k: i for i, k in enumerate(skus)}
    targets = []
    for t in s.targets:
        if t.consumer not in consumer_index or t.sku not in sku_index:
            due.notes.append(
                f"target {t.id}: unknown consumer {t.consumer!r} or SKU {t.sku!r}; dropped"
            )
            continue
        targets.append(t)
    vendors = tuple(v.id for v in s.vendors)
    vendor_index = {v: i for i, v in enumerate(vendors)}
    orders = {o.id: o for o in s.orders}
    order_of = [orders[r.order] for r in supply]
    lead_rows = [(vi, lt) for vi, v in enumerate(s.vendors) for lt in v.lead_times]
    lead_rows = [(vi, lt) for vi, lt in lead_rows if lt.sku in sku_index]
    last_day = max([due.as_of, *(r.day for r in supply), *(t.by for t in targets)])
    return PlanningSnapshot(
        as_of=due.as_of,
        known_on=known_on,
        horizon_end=last_day + timedelta(days=horizon),
        skus=skus,
        orgs=orgs,
        org_pool=_ints([pool_index[o.group if o.group in pool_index else o.id] for o in s.orgs]),
        pools=pools,
        consumers=consumers,
        consumer_org=_ints([*range(len(orgs)), *(org_index[c.org] for c in clusters)]),
        vendors=vendors,
        supply_id=tuple(r.id for r in supply),
        supply_order=tuple(r.order for r in supply),
        supply_kind=_ints([int(r.kind) for r in supply]),
        supply_sku=_ints([sku_index.get(o.sku, -1) for o in order_of]),
        supply_qty=_ints([r.qty for r in supply]),
        supply_day=_ints([r.day.toordinal() for r in supply]),
        supply_holder=_ints([org_index[r.holder] for r in supply]),
        supply_vendor=_ints([vendor_index.get(o.vendor, -1) for o in order_of]),
        supply_ordered_day=_ints([o.ordered_on.toordinal() for o in order_of]),
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
        notes=tuple(due.notes),
    )
