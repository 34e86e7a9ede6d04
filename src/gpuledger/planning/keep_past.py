"""A plan that keeps a baseline's past: a change decided on a day alters nothing before it.

DESIGN section 5: "a change never alters the past: before its date both plans are
the books". :func:`plan_from` plans a changed snapshot from the change's day on,
keeping every assignment of the baseline plan that arrives before that day.

Phases (day ``D`` = the change's date, ``S`` the baseline's snapshot, ``S'`` the
changed one, whose first rows are ``S``'s rows in the same order):

1. **Check** that the change leaves the past alone: rows arriving before ``D``
   keep their day and holder and may only lose units (to a diversion of stock);
   rows arriving on or after ``D`` stay there.
2. **Keep** the baseline's pieces arriving before ``D``.
3. **Release** the units the change took from rows arriving before ``D`` (stock
   diverted on ``D``): from the row's units no target held first, then from the
   targets holding them, org targets before cluster targets, latest in fill order
   first (*choice*). They leave on ``D``; the receiver gets them on ``D`` (a row of
   the changed snapshot).
4. **Residual needs**: what each target still asks for. When the change leaves a
   family's needs as they were, a target's need minus what it kept; when it
   changes them (a priority change reorders cumulative targets), the family's kept
   units are credited anew along the new fill order, a cluster's units to its
   own targets first, then to the org's (*choice*).
5. **Plan the rest**: the policy hands out supply arriving on or after ``D``, plus
   each row's units no target held before ``D`` (stock on ``D``, its holder's for
   good), to the residual needs.

So for ``consigned``, ``priority`` and ``fair-share`` (each a day-by-day process),
``plan_from(plan(S), S, D)`` is ``plan(S)``; for ``optimal`` it is a re-optimised
continuation with the same objective. Both sides of an impact go through it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np

from gpuledger.domain import GpuledgerError, InsufficientUnits
from gpuledger.planning._curves import Pieces
from gpuledger.planning.order import ServingOrder, serving_order
from gpuledger.planning.plan import Plan, assemble, make_problem, plan_day0
from gpuledger.planning.policies import get_policy
from gpuledger.planning.snapshot import BoolArray, IntArray, PlanningSnapshot, SupplyKind

__all__ = ["plan_from"]


def plan_from(before: Plan, changed: PlanningSnapshot, on: date) -> Plan:
    """The plan of ``changed`` that keeps ``before`` on every day before ``on``.

    ``before`` must be a plan (:func:`~gpuledger.planning.plan`) of the snapshot
    ``changed`` was derived from. See the module docstring for the phases.

    Raises:
        GpuledgerError: the change moves supply arriving before ``on``, or brings
            supply in before ``on``.
        InsufficientUnits: a diversion of stock takes more units than its giver
            holds of the lot on ``on`` under the plan.
    """
    s, day = before.snapshot, on.toordinal()
    # 1. The change must leave the past alone.
    _check_past(s, changed, day)
    # 2. The baseline's pieces before the day.
    early = before.assign_day < day
    kept = Pieces(
        before.assign_row[early],
        before.assign_target[early],
        before.assign_qty[early],
        before.assign_day[early],
    )
    # 3. Units the change took from rows arriving before the day leave on it.
    n = s.supply_qty.size
    past = s.supply_day < day
    taken = np.where(past, s.supply_qty - changed.supply_qty[:n], 0)
    released = _release(s, serving_order(s), kept, taken, day)
    # 4. What each target still asks for.
    order = serving_order(changed)
    residual = _residual(changed, before.target_need, order, kept, released)
    # 5. The rest: supply on or after the day, and each row's unheld units as stock.
    rest = _rest(changed, past, _stock(changed, past, kept, released), day)
    day0 = min(before.day0, plan_day0(changed))
    row_ok = (rest.supply_qty > 0) & (rest.supply_day <= rest.horizon_day)
    chosen = get_policy(before.policy)
    seg = chosen.allocate(make_problem(rest, order, row_ok, residual, day0))
    later = Pieces(seg.supply, seg.demand, seg.qty, rest.supply_day[seg.supply])
    # stock handed out on the day leaves its holder's unheld units then (no double count)
    from_stock = np.r_[past, np.zeros(rest.supply_qty.size - n, dtype=bool)][seg.supply]
    n_stock = int(from_stock.sum())
    restocked = Pieces(
        seg.supply[from_stock],
        np.full(n_stock, -1, dtype=np.int64),
        seg.qty[from_stock],
        np.full(n_stock, day, dtype=np.int64),
    )
    return assemble(
        changed,
        chosen.name,
        day0,
        order.need,
        Pieces.concat([kept, later]),
        Pieces.concat([released, restocked]),
        changes=before.changes,
        past_kept_before=day,
    )


def _check_past(s: PlanningSnapshot, changed: PlanningSnapshot, day: int) -> None:
    """Raise GpuledgerError naming the supply a change moves across (or before) its date."""
    n = s.supply_qty.size
    on = date.fromordinal(day).isoformat()
    if changed.supply_id[:n] != s.supply_id:
        raise GpuledgerError("a change must keep the snapshot's supply rows in their order")
    old, new = s.supply_day, changed.supply_day[:n]
    past = old < day
    kept_past = (
        (new == old)
        & (changed.supply_holder[:n] == s.supply_holder)
        & (changed.supply_qty[:n] >= 0)
        & (changed.supply_qty[:n] <= s.supply_qty)
    )
    moved = np.flatnonzero(past & ~kept_past)
    if moved.size:
        r = int(moved[0])
        raise GpuledgerError(
            f"{s.supply_id[r]} arrives on {date.fromordinal(int(old[r])).isoformat()}, before "
            f"the change's date {on}: a change on {on} cannot move it"
        )
    later = np.concatenate([~past, np.ones(changed.supply_qty.size - n, dtype=bool)])
    early = np.flatnonzero(later & (changed.supply_day < day))
    if early.size:
        r = int(early[0])
        raise GpuledgerError(
            f"{changed.supply_id[r]} would arrive on "
            f"{date.fromordinal(int(changed.supply_day[r])).isoformat()}, before the change's "
            f"date {on}: a change cannot bring supply in before its date"
        )


def _release(
    s: PlanningSnapshot, order: ServingOrder, kept: Pieces, taken: IntArray, day: int
) -> Pieces:
    """Pieces released on ``day``: per row, ``taken`` units (see phase 3)."""
    n_orgs = len(s.orgs)
    held = np.bincount(kept.row, weights=kept.qty, minlength=s.supply_qty.size).astype(np.int64)
    out: list[tuple[int, int, int]] = []  # (row, target or -1, units)
    for r in np.flatnonzero(taken > 0).tolist():
        left = int(taken[r])
        # 1. the row's units no target held
        free = min(left, max(int(s.supply_qty[r]) - int(held[r]), 0))
        if free:
            out.append((r, -1, free))
            left -= free
        # 2. its units held by targets: org targets first, latest in fill order first
        mine = np.flatnonzero(kept.row == r)
        t = kept.target[mine]
        is_cluster = s.target_consumer[t] >= n_orgs
        for k in mine[np.lexsort((-order.rank[t], is_cluster))].tolist():
            if left == 0:
                break
            q = min(left, int(kept.qty[k]))
            out.append((r, int(kept.target[k]), q))
            left -= q
        if left:
            holder = s.orgs[int(s.supply_holder[r])]
            raise InsufficientUnits(
                f"{s.supply_id[r]}: {holder} holds {int(taken[r]) - left:,} units of it on "
                f"{date.fromordinal(day).isoformat()} under this plan; cannot move "
                f"{int(taken[r]):,}"
            )
    cols = np.array(out, dtype=np.int64).reshape(-1, 3)
    return Pieces(cols[:, 0], cols[:, 1], cols[:, 2], np.full(len(out), day, dtype=np.int64))


def _kept_per_target(n_targets: int, kept: Pieces, released: Pieces) -> IntArray:
    """Units each target still holds from before the day, after the releases."""
    out = np.bincount(kept.target, weights=kept.qty, minlength=n_targets)
    held = released.target >= 0
    out -= np.bincount(released.target[held], weights=released.qty[held], minlength=n_targets)
    return out.astype(np.int64)


def _residual(
    changed: PlanningSnapshot,
    need_before: IntArray,
    order: ServingOrder,
    kept: Pieces,
    released: Pieces,
) -> IntArray:
    """What each target still asks for from the day on (phase 4)."""
    s = changed
    n_orgs = len(s.orgs)
    has = _kept_per_target(len(s.target_id), kept, released)
    residual = np.maximum(order.need - has, 0)
    family = s.consumer_org[s.target_consumer]
    key = family * len(s.skus) + s.target_sku
    moved = np.unique(key[order.need != need_before])
    for k in moved.tolist():
        members = np.flatnonzero(key == k)
        members = members[np.argsort(order.rank[members], kind="stable")].tolist()
        is_cluster = {i: int(s.target_consumer[i]) >= n_orgs for i in members}
        credit: dict[int, int] = {}
        for i in members:
            c = int(s.target_consumer[i]) if is_cluster[i] else -1
            credit[c] = credit.get(c, 0) + int(has[i])
        # 1. cluster targets take their own cluster's units, in the new fill order
        for i in (i for i in members if is_cluster[i]):
            c = int(s.target_consumer[i])
            got = min(int(order.need[i]), credit[c])
            credit[c] -= got
            residual[i] = int(order.need[i]) - got
        # 2. org targets take the org's units, then what the clusters did not use
        spare = sum(credit.values())
        for i in (i for i in members if not is_cluster[i]):
            got = min(int(order.need[i]), spare)
            spare -= got
            residual[i] = int(order.need[i]) - got
    out: IntArray = residual.astype(np.int64)
    return out


def _stock(changed: PlanningSnapshot, past: BoolArray, kept: Pieces, released: Pieces) -> IntArray:
    """Per row arriving before the day, its units no target holds after the releases."""
    n = past.size
    per_row = np.bincount(kept.row, weights=kept.qty, minlength=n).astype(np.int64)
    held = released.target >= 0
    per_row -= np.bincount(released.row[held], weights=released.qty[held], minlength=n).astype(
        np.int64
    )
    stock: IntArray = np.where(past, np.maximum(changed.supply_qty[:n], 0) - per_row, 0)
    return stock.astype(np.int64)


def _rest(
    changed: PlanningSnapshot, past: BoolArray, stock: IntArray, day: int
) -> PlanningSnapshot:
    """The supply left to plan: rows before the day become their stock, held from the day."""
    extra = changed.supply_qty.size - past.size
    was = np.r_[past, np.zeros(extra, dtype=bool)]
    return replace(
        changed,
        supply_qty=np.where(was, np.r_[stock, np.zeros(extra, dtype=np.int64)], changed.supply_qty),
        supply_day=np.where(was, day, changed.supply_day).astype(np.int64),
        supply_kind=np.where(was, int(SupplyKind.ARRIVED), changed.supply_kind).astype(np.int64),
    )
