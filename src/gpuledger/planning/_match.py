"""Interval matching: hand ordered supply to ordered demands, group by group, vectorised.

Every policy ends in the same step: within a group (a pool and SKU, an arrival event,
an optimal class...), demands take supply units in order. Laying both out on one
number line of cumulative units turns that into a merge of breakpoints, which NumPy
does with ``cumsum`` and ``searchsorted`` instead of a Python loop per target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gpuledger.planning.snapshot import IntArray


@dataclass(frozen=True)
class Segments:
    """Pieces of a matching: ``qty`` units of supply ``supply`` went to demand ``demand``.

    Indices are positions in the arrays given to :func:`match` (not row ids).
    """

    supply: IntArray
    demand: IntArray
    qty: IntArray


def _empty() -> Segments:
    z = np.zeros(0, dtype=np.int64)
    return Segments(z, z.copy(), z.copy())


def match(
    supply_key: IntArray, supply_qty: IntArray, demand_key: IntArray, demand_qty: IntArray
) -> Segments:
    """Fill demands with supply, in array order, separately for each key.

    Both inputs must be sorted by key (ascending); within a key the array order is
    the order in which supply is used and demands are served. Demands beyond the
    supply of their key stay unmet; supply beyond the demands stays unused. Zero
    quantities are allowed and produce no segment.

    Args:
        supply_key: group key of each supply piece, sorted.
        supply_qty: units of each supply piece (>= 0).
        demand_key: group key of each demand, sorted.
        demand_qty: units each demand asks for (>= 0).

    Returns:
        The matched segments, ordered by position on the cumulative line.
    """
    ns, nd = supply_qty.size, demand_qty.size
    if ns == 0 or nd == 0:
        return _empty()
    cum = np.zeros(ns + 1, dtype=np.int64)
    np.cumsum(supply_qty, out=cum[1:])
    s_start, s_end = cum[:-1], cum[1:]
    # 1. Where each key's supply starts and ends on the cumulative line.
    lo = np.searchsorted(supply_key, demand_key, side="left")
    hi = np.searchsorted(supply_key, demand_key, side="right")
    base, top = cum[lo], cum[hi]
    # 2. Demand positions within their key, capped at the key's supply.
    dcum = np.cumsum(demand_qty)
    first = np.searchsorted(demand_key, demand_key, side="left")
    local_end = dcum - (dcum[first] - demand_qty[first])
    d_end = np.minimum(base + local_end, top)
    d_start = np.minimum(base + local_end - demand_qty, top)
    # 3. Merge breakpoints; each elementary interval belongs to one supply and one demand.
    points = np.unique(np.concatenate([s_start, s_end, d_start, d_end]))
    a, b = points[:-1], points[1:]
    si = np.searchsorted(s_end, a, side="right")
    di = np.searchsorted(d_end, a, side="right")
    ok = (si < ns) & (di < nd)
    si, di, a, b = si[ok], di[ok], a[ok], b[ok]
    ok = d_start[di] <= a
    si, di, qty = si[ok], di[ok], (b - a)[ok]
    if si.size == 0:
        return _empty()
    # 4. Join consecutive pieces of the same pair split by another key's breakpoint.
    new = np.ones(si.size, dtype=bool)
    new[1:] = (si[1:] != si[:-1]) | (di[1:] != di[:-1])
    starts = np.flatnonzero(new)
    return Segments(
        si[starts].astype(np.int64),
        di[starts].astype(np.int64),
        np.add.reduceat(qty, starts).astype(np.int64),
    )
