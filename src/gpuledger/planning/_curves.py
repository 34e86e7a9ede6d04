"""Holdings curves and completion days, from assignments (and releases) of a plan.

A plan's units reach consumers in three ways: assigned pieces (a target's family
org, and its cluster for a cluster target, receive ``qty`` on the piece's day),
units no target took (the row's holder receives them on the row's day) and, only
in a plan that keeps a baseline's past (:mod:`gpuledger.planning.keep_past`),
*releases*: units a consumer gives up on a day (a diversion of stock). Without
releases every curve is non-decreasing; with them, a curve drops on the release
day and the gross curve (holdings plus the units released so far) is still
non-decreasing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gpuledger.planning.snapshot import IntArray, PlanningSnapshot

__all__ = ["Pieces", "build_holdings", "completion_days", "first_reach"]


@dataclass(frozen=True)
class Pieces:
    """Parallel arrays: ``qty`` units of supply row ``row`` for ``target`` on ``day``.

    For releases, ``target`` -1 means the row's holder (units no target held).
    """

    row: IntArray
    target: IntArray
    qty: IntArray
    day: IntArray

    @classmethod
    def empty(cls) -> Pieces:
        """No pieces."""
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z.copy(), z.copy(), z.copy())

    @classmethod
    def concat(cls, parts: list[Pieces]) -> Pieces:
        """All pieces of ``parts``, in order."""
        if not parts:
            return cls.empty()
        return cls(
            *(
                np.concatenate([getattr(p, name) for p in parts]).astype(np.int64)
                for name in ("row", "target", "qty", "day")
            )
        )


def leftover(snapshot: PlanningSnapshot, assigned: Pieces, released: Pieces) -> IntArray:
    """Per supply row within the horizon, units that reach its holder on the row's day.

    ``qty - assigned + released``: released units were the row's before they left,
    so they are counted on the row's day and taken away on the release's day.
    Rows after the horizon count for nothing.
    """
    s = snapshot
    n = s.supply_qty.size
    per_row = np.bincount(assigned.row, weights=assigned.qty, minlength=n).astype(np.int64)
    back = np.bincount(released.row, weights=released.qty, minlength=n).astype(np.int64)
    in_horizon = s.supply_day <= s.horizon_day
    return np.where(in_horizon, np.maximum(s.supply_qty, 0) - per_row + back, 0).astype(np.int64)


def build_holdings(
    snapshot: PlanningSnapshot, day0: int, n_days: int, assigned: Pieces, released: Pieces
) -> IntArray:
    """Cumulative holdings ``[consumer, sku, day - day0]`` (see the module docstring)."""
    s = snapshot
    n_orgs, n_cons, n_sku = len(s.orgs), len(s.consumers), len(s.skus)
    left = leftover(s, assigned, released)
    lrows = np.flatnonzero(left != 0)
    cons, skus, days, qtys = [], [], [], []

    def add(targets: IntArray, qty: IntArray, day: IntArray, holder_rows: IntArray) -> None:
        # a target's units count for its family org and, for a cluster target, its cluster
        own = targets >= 0
        t = targets[own]
        cons.extend([s.consumer_org[s.target_consumer[t]], s.supply_holder[holder_rows[~own]]])
        skus.extend([s.target_sku[t], s.supply_sku[holder_rows[~own]]])
        days.extend([day[own], day[~own]])
        qtys.extend([qty[own], qty[~own]])
        cl = s.target_consumer[t] >= n_orgs
        cons.append(s.target_consumer[t][cl])
        skus.append(s.target_sku[t][cl])
        days.append(day[own][cl])
        qtys.append(qty[own][cl])

    add(assigned.target, assigned.qty, assigned.day, assigned.row)
    add(np.full(lrows.size, -1, dtype=np.int64), left[lrows], s.supply_day[lrows], lrows)
    add(released.target, -released.qty, released.day, released.row)
    day = np.clip(np.concatenate(days) - day0, 0, None)
    keep = day < n_days
    flat = (np.concatenate(cons) * n_sku + np.concatenate(skus)) * n_days + day
    inc = np.bincount(
        flat[keep], weights=np.concatenate(qtys)[keep], minlength=n_cons * n_sku * n_days
    )
    return np.cumsum(np.rint(inc).astype(np.int64).reshape(n_cons, n_sku, n_days), axis=2)


def first_reach(curves: IntArray, row: IntArray, qty: IntArray) -> IntArray:
    """First column where ``curves[row]`` reaches ``qty``; 0 if qty <= 0; -1 if never.

    ``curves`` rows must be non-decreasing (a binary search per query).
    """
    n_days = curves.shape[1]
    out = np.full(row.size, -1, dtype=np.int64)
    if row.size == 0:
        return out
    uniq, inv = np.unique(row, return_inverse=True)
    sub = curves[uniq]
    # rows sit in disjoint bands of the number line (a dropping row stays in its band)
    span = int(sub.max(initial=0)) + 1
    offset = np.arange(uniq.size, dtype=np.int64) * span
    flat = (sub + offset[:, None]).ravel()
    q = np.clip(qty, 0, None)
    reachable = q <= sub[inv, -1]
    pos = np.searchsorted(flat, offset[inv] + q, side="left") - inv * n_days
    out[reachable] = pos[reachable]
    out[q <= 0] = 0
    return out


def completion_days(
    curves: IntArray, row: IntArray, qty: IntArray, by_col: IntArray, *, drops: bool
) -> IntArray:
    """Column on which each target completes; -1 if never within the curves.

    A target completes on the first day from which its consumer holds ``qty`` on
    every day up to its due date; when it does not hold ``qty`` on its due date,
    on the first day after it that it does. On non-decreasing curves this is the
    first day holdings reach ``qty``; a curve that drops (a release) makes a target
    that was complete before the drop and is short on its due date complete again
    only once it holds ``qty`` again. ``drops`` says whether any curve may drop
    (the plan has releases); when False every curve is known to be non-decreasing.
    """
    out = first_reach(curves, row, qty)
    if not drops or row.size == 0:
        return out
    uniq, inv = np.unique(row, return_inverse=True)
    rising = np.all(np.diff(curves[uniq], axis=1) >= 0, axis=1)[inv.reshape(-1)]
    for i in np.flatnonzero(~rising).tolist():
        ok = curves[row[i]] >= qty[i]
        b = int(by_col[i])
        if ok[b]:
            gaps = np.flatnonzero(~ok[:b])
            out[i] = int(gaps[-1]) + 1 if gaps.size else 0
        else:
            after = np.flatnonzero(ok[b:])
            out[i] = b + int(after[0]) if after.size else -1
    return out
