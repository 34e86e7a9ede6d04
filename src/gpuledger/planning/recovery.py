"""Recovery options for a target a change leaves short (DESIGN section 5).

For each target the change harms (units it must get back by a date to be as well
off as before, see :mod:`gpuledger.planning.impact`):

- **reorder**: a replacement order of those units placed on the decision date
  arrives at decision + P50 and + P90 of the lead time in force that day, from the
  vendor of the lot concerned (the diverted or slipped lot, the new order's
  vendor; for a priority change the vendor of the target's last assigned lot);
  null without a lead-time model;
- **payback lots**: the receiver's future lots (expected lots and open orders of
  the SKU that the receiving org holds after the change, arriving after the
  decision date), earliest first, as many as cover the units (the last one
  partly); never the diverted lot itself (issue 12, item 9). The receiver is the
  diversion's ``to_org``; for other changes, the orgs of targets the change helped;
- **give way** (policies that pool supply): lower-priority targets of the same pool
  and SKU holding pooled units that arrive on or before ``max(by, completed
  before)``, lowest priority first, as many units as cover the shortfall.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from gpuledger.planning.changes import Change, DivertChange, NewOrderChange, SlipChange
from gpuledger.planning.plan import Plan
from gpuledger.planning.policies import get_policy
from gpuledger.planning.snapshot import PlanningSnapshot, SupplyKind

__all__ = ["GiveWay", "PaybackLot", "Recovery", "recovery_for"]


@dataclass(frozen=True)
class PaybackLot:
    """A receiver's future lot that could pay units back: ``qty`` of ``lot`` on ``arrives_on``."""

    lot: str
    qty: int
    arrives_on: date


@dataclass(frozen=True)
class GiveWay:
    """A lower-priority target that would give ``units`` pooled units way."""

    target: str
    units: int


@dataclass(frozen=True)
class Recovery:
    """How the units a change took from a target could be made good.

    Attributes:
        shortfall: units the target must get back, by ``needed_on``, to be as well
            off as before the change.
        needed_on: its due date, or its completion date before the change when that
            is later.
        reorder_on: the decision date a replacement order is placed on.
    """

    target: str
    shortfall: int
    needed_on: date
    reorder_on: date
    vendor: str | None
    reorder_arrives_p50: date | None
    reorder_arrives_p90: date | None
    payback_lots: tuple[PaybackLot, ...]
    give_way: tuple[GiveWay, ...] = ()


def recovery_for(
    i: int,
    shortfall: int,
    needed_on: date,
    decision: date,
    change: Change,
    before: Plan,
    after: Plan,
    receivers: set[int],
) -> Recovery:
    """The recovery options of target row ``i`` (see the module docstring)."""
    s = before.snapshot
    sku = int(s.target_sku[i])
    # 1. A replacement order on the decision date.
    v = _vendor(change, s, before, i)
    lt = s.lead_time(v, sku, decision.toordinal()) if v is not None else None
    # 2. The receiver's future lots, earliest first, enough to cover the shortfall.
    payback = _payback(i, shortfall, decision, change, after.snapshot, receivers)
    # 3. Under pooled policies, lower-priority targets of the pool that could give way.
    give = _give_way(i, shortfall, before, after) if get_policy(after.policy).pools_supply else ()
    return Recovery(
        target=s.target_id[i],
        shortfall=shortfall,
        needed_on=needed_on,
        reorder_on=decision,
        vendor=s.vendors[v] if v is not None else None,
        reorder_arrives_p50=decision + timedelta(days=lt[0]) if lt else None,
        reorder_arrives_p90=decision + timedelta(days=lt[1]) if lt else None,
        payback_lots=payback,
        give_way=give,
    )


def _vendor(change: Change, s: PlanningSnapshot, before: Plan, i: int) -> int | None:
    lot = change.lot if isinstance(change, (DivertChange, SlipChange)) else None
    if lot is not None and lot in s.supply_id:
        return int(s.supply_vendor[s.supply_id.index(lot)])
    if isinstance(change, NewOrderChange) and change.vendor in s.vendors:
        return s.vendors.index(change.vendor)
    mine = np.flatnonzero(before.assign_target == i)
    if mine.size:
        last = mine[np.argmax(before.assign_day[mine])]
        return int(s.supply_vendor[before.assign_row[last]])
    rows = np.flatnonzero(s.supply_sku == s.target_sku[i])
    return int(s.supply_vendor[rows[0]]) if rows.size else None


def _payback(
    i: int,
    shortfall: int,
    decision: date,
    change: Change,
    changed: PlanningSnapshot,
    receivers: set[int],
) -> tuple[PaybackLot, ...]:
    c = changed
    family = int(c.consumer_org[c.target_consumer[i]])
    diverted = change.lot if isinstance(change, DivertChange) else None
    mask = (
        np.isin(c.supply_holder, sorted(receivers - {family}))
        & (c.supply_sku == c.target_sku[i])
        & np.isin(c.supply_kind, [SupplyKind.EXPECTED, SupplyKind.OPEN_ORDER])
        & (c.supply_day > decision.toordinal())
        & (c.supply_qty > 0)
        & np.array([sid != diverted for sid in c.supply_id], dtype=bool)
    )
    rows = np.flatnonzero(mask)
    rows = rows[np.lexsort((rows, c.supply_day[rows]))]
    out: list[PaybackLot] = []
    left = shortfall
    for r in rows.tolist():
        if left <= 0:
            break
        q = min(left, int(c.supply_qty[r]))
        out.append(PaybackLot(c.supply_id[r], q, date.fromordinal(int(c.supply_day[r]))))
        left -= q
    return tuple(out)


def _give_way(i: int, shortfall: int, before: Plan, after: Plan) -> tuple[GiveWay, ...]:
    s = after.snapshot
    pool = s.org_pool[s.consumer_org[s.target_consumer]]
    cutoff = int(s.target_by[i])
    if before.target_completed_day[i] >= 0:
        cutoff = max(cutoff, int(before.target_completed_day[i]))
    t = after.assign_target
    r = after.assign_row
    pick = (
        (pool[t] == pool[i])
        & (s.target_sku[t] == s.target_sku[i])
        & (s.target_priority[t] > s.target_priority[i])
        & (s.supply_kind[r] != SupplyKind.ARRIVED)
        & (after.assign_day <= cutoff)
    )
    units = np.bincount(t[pick], weights=after.assign_qty[pick], minlength=len(s.target_id))
    who = np.flatnonzero(units > 0)
    who = who[np.lexsort((-s.target_by[who], -s.target_priority[who]))]
    out: list[GiveWay] = []
    left = shortfall
    for k in who.tolist():
        if left <= 0:
            break
        q = min(left, int(units[k]))
        out.append(GiveWay(s.target_id[k], q))
        left -= q
    return tuple(out)
