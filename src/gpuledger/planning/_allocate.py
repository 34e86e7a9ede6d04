"""The four policies: who receives which supply units (DESIGN section 4).

Every policy runs the same two passes over a :class:`Problem`:

1. **Own pass.** Supply that is already the holder's for good fills the targets of
   the holder's *family* (the org and its clusters) in fill order (priority, by,
   id), each target taking the earliest-arriving units. Under ``consigned`` every
   supply row is the holder's; under the pooled policies only ``ARRIVED`` rows are.
2. **Pool pass** (pooled policies only). Supply not yet arrived (``IN_TRANSIT``,
   ``EXPECTED``, ``OPEN_ORDER``) is pooled per (pool, SKU) and shared among the
   residual needs of the pool's targets:

   - ``priority``: strictly by (priority, by, id); each target takes the
     earliest-arriving units;
   - ``fair-share``: at each arrival day the units arriving that day are split among
     unmet targets by weighted max-min fairness (water-filling on weight, capped by
     each target's remaining need); the fractional shares are rounded by largest
     remainder, ties by priority then id. A weight <= 0 counts as 1e-9: such a
     target gets units only once every positive-weight target is capped;
   - ``optimal``: a min-cost flow on a time-expanded network solved as an LP by
     HiGHS (see :func:`optimal_pass`).

Results are :class:`Segments` of (supply row, target, units); units no target takes
stay with their holder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import linprog

from gpuledger.domain import GpuledgerError, PolicyName
from gpuledger.planning._match import Segments, match
from gpuledger.planning.snapshot import FloatArray, IntArray, PlanningSnapshot, SupplyKind

_MIN_WEIGHT = 1e-9

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Problem:
    """The planning inputs reduced to what the passes need.

    ``row_ok`` masks supply rows the planner uses (qty > 0, arriving by the horizon).
    ``need`` is each target's increment: its quantity minus what earlier targets of
    its family already ask for (see ``plan.compute_needs``). ``rank`` orders
    targets by (priority, by, id) and ``idrank`` by id alone.
    """

    snapshot: PlanningSnapshot
    row_ok: BoolArray
    target_family: IntArray  # org index of the target's consumer
    target_pool: IntArray
    need: IntArray
    rank: IntArray
    idrank: IntArray
    never_day: int  # the virtual day a never-delivered unit counts as delivered on


def _concat(parts: list[Segments]) -> Segments:
    parts = [p for p in parts if p.qty.size]
    if not parts:
        z = np.zeros(0, dtype=np.int64)
        return Segments(z, z.copy(), z.copy())
    return Segments(
        np.concatenate([p.supply for p in parts]),
        np.concatenate([p.demand for p in parts]),
        np.concatenate([p.qty for p in parts]),
    )


def _ordered_match(
    rows: IntArray,
    row_key: IntArray,
    targets: IntArray,
    target_key: IntArray,
    target_qty: IntArray,
    snapshot: PlanningSnapshot,
    rank: IntArray,
) -> Segments:
    """Targets (in ``rank`` order within their key) take the earliest rows of their key."""
    so = np.lexsort((rows, snapshot.supply_day[rows], row_key))
    to = np.lexsort((rank[targets], target_key))
    seg = match(row_key[so], snapshot.supply_qty[rows[so]], target_key[to], target_qty[to])
    return Segments(rows[so][seg.supply], targets[to][seg.demand], seg.qty)


def own_pass(problem: Problem, policy: PolicyName) -> Segments:
    """Fill each family's targets from the supply it holds for good (phase 1)."""
    s = problem.snapshot
    n_sku = len(s.skus)
    own = problem.row_ok.copy()
    if policy is not PolicyName.CONSIGNED:
        own &= s.supply_kind == SupplyKind.ARRIVED
    rows = np.flatnonzero(own).astype(np.int64)
    targets = np.flatnonzero(problem.need > 0).astype(np.int64)
    row_key = s.supply_holder[rows] * n_sku + s.supply_sku[rows]
    tkey = problem.target_family[targets] * n_sku + s.target_sku[targets]
    return _ordered_match(rows, row_key, targets, tkey, problem.need[targets], s, problem.rank)


def _pooled_rows(problem: Problem) -> IntArray:
    s = problem.snapshot
    return np.flatnonzero(problem.row_ok & (s.supply_kind != SupplyKind.ARRIVED)).astype(np.int64)


def priority_pass(problem: Problem, residual: IntArray) -> Segments:
    """Pool pass of ``priority``: strict (priority, by, id), earliest units first."""
    s = problem.snapshot
    n_sku = len(s.skus)
    rows = _pooled_rows(problem)
    targets = np.flatnonzero(residual > 0).astype(np.int64)
    row_key = s.org_pool[s.supply_holder[rows]] * n_sku + s.supply_sku[rows]
    tkey = problem.target_pool[targets] * n_sku + s.target_sku[targets]
    return _ordered_match(rows, row_key, targets, tkey, residual[targets], s, problem.rank)


def fair_share_pass(problem: Problem, residual: IntArray) -> Segments:
    """Pool pass of ``fair-share``: weighted max-min per arrival day, largest remainder."""
    s = problem.snapshot
    n_sku = len(s.skus)
    rows = _pooled_rows(problem)
    targets = np.flatnonzero(residual > 0).astype(np.int64)
    if rows.size == 0 or targets.size == 0:
        return _concat([])
    # 1. Groups (pool, SKU) and arrival events (group, day).
    row_group_raw = s.org_pool[s.supply_holder[rows]] * n_sku + s.supply_sku[rows]
    tgt_group_raw = problem.target_pool[targets] * n_sku + s.target_sku[targets]
    groups, inv = np.unique(np.concatenate([row_group_raw, tgt_group_raw]), return_inverse=True)
    row_group, tgt_group = inv[: rows.size], inv[rows.size :]
    days = s.supply_day[rows]
    ev_pairs = np.unique(np.stack([days, row_group], axis=1), axis=0)  # sorted by day
    ev_amount = np.zeros(ev_pairs.shape[0], dtype=np.int64)
    ev_index = _pair_index(ev_pairs, days, row_group)
    np.add.at(ev_amount, ev_index, s.supply_qty[rows])
    # 2. Targets sorted by group once; per day only the groups with arrivals are active.
    order = np.lexsort((problem.rank[targets], tgt_group))
    targets, tgt_group = targets[order], tgt_group[order]
    remaining = residual[targets].astype(np.int64).copy()
    weight = np.maximum(s.target_weight[targets], _MIN_WEIGHT)
    prio = s.target_priority[targets]
    idr = problem.idrank[targets]
    arriving = np.zeros(groups.size, dtype=np.int64)
    share_event: list[IntArray] = []
    share_target: list[IntArray] = []
    share_qty: list[IntArray] = []
    day_breaks = np.flatnonzero(np.diff(ev_pairs[:, 0])) + 1
    for ev in np.split(np.arange(ev_pairs.shape[0]), day_breaks):
        g_today = ev_pairs[ev, 1]
        arriving[g_today] = ev_amount[ev]
        active = np.flatnonzero((arriving[tgt_group] > 0) & (remaining > 0))
        if active.size:
            give = _water_fill(
                tgt_group[active],
                remaining[active],
                weight[active],
                prio[active],
                idr[active],
                arriving,
            )
            got = give > 0
            if got.any():
                who = active[got]
                remaining[who] -= give[got]
                ev_of_group = np.full(groups.size, -1, dtype=np.int64)
                ev_of_group[g_today] = ev
                share_event.append(ev_of_group[tgt_group[who]])
                share_target.append(targets[who])
                share_qty.append(give[got])
        arriving[g_today] = 0
    if not share_qty:
        return _concat([])
    # 3. Within each event, rows (in row order) fill the shares (in (priority, id) order).
    se = np.concatenate(share_event)
    st = np.concatenate(share_target)
    sq = np.concatenate(share_qty)
    so = np.lexsort((problem.rank[st], se))
    ro = np.lexsort((rows, ev_index))
    seg = match(ev_index[ro], s.supply_qty[rows[ro]], se[so], sq[so])
    return Segments(rows[ro][seg.supply], st[so][seg.demand], seg.qty)


def _pair_index(pairs: IntArray, a: IntArray, b: IntArray) -> IntArray:
    """Index of each (a, b) in the sorted unique ``pairs`` array."""
    span = int(max(int(pairs[:, 1].max()), int(b.max()))) + 1
    keys = pairs[:, 0] * span + pairs[:, 1]
    return np.searchsorted(keys, a * span + b).astype(np.int64)


def _water_fill(
    group: IntArray,
    need: IntArray,
    weight: FloatArray,
    prio: IntArray,
    idr: IntArray,
    amount: IntArray,
) -> IntArray:
    """Weighted max-min shares of ``amount[group]`` units, integral by largest remainder.

    ``group`` must be sorted. Each member gets ``min(weight * level, need)`` with the
    level chosen so the group's shares sum to its amount (or everyone is capped).
    """
    # 1. Sort members of each group by need/weight: the order in which they cap.
    ratio = need / weight
    o = np.lexsort((ratio, group))
    g, r, w, rt = group[o], need[o].astype(np.float64), weight[o], ratio[o]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    counts = np.diff(np.r_[starts, g.size])
    a = amount[g[starts]].astype(np.float64)
    a_m = np.repeat(a, counts)
    # 2. Amount given if the level were this member's ratio: capped below, shared above.
    cr = np.cumsum(r)
    cr_excl = cr - r - np.repeat((cr - r)[starts], counts)
    cw = np.cumsum(w[::-1])[::-1]  # suffix sums over the whole array
    ends = np.r_[starts[1:], g.size]
    after = np.r_[cw, 0.0][ends]
    suf_w = cw - np.repeat(after, counts)
    f = cr_excl + suf_w * rt
    pos = np.arange(g.size)
    hit = np.where(f >= a_m, pos, g.size)
    k = np.minimum.reduceat(hit, starts)
    # 3. The level per group; groups where no one binds take every need in full.
    level = np.full(starts.size, np.inf)
    bind = k < g.size
    kb = k[bind]
    level[bind] = (a[bind] - cr_excl[kb]) / suf_w[kb]
    x = np.minimum(w * np.repeat(level, counts), r)
    base = np.floor(x + 1e-9).astype(np.int64)
    base = np.minimum(base, need[o])
    # 4. Largest remainder, ties by priority then id, never beyond a member's need.
    total = np.add.reduceat(base, starts)
    left = np.maximum(np.minimum(amount[g[starts]], np.add.reduceat(need[o], starts)) - total, 0)
    frac = np.where(base < need[o], x - base, -1.0)
    o2 = np.lexsort((idr[o], prio[o], -frac, g))
    rank_in_group = np.empty(g.size, dtype=np.int64)
    rank_in_group[o2] = pos - np.repeat(starts, counts)
    extra = (rank_in_group < np.repeat(left, counts)) & (frac >= 0)
    give = np.empty(g.size, dtype=np.int64)
    give[o] = base + extra
    return give


def optimal_pass(problem: Problem, residual: IntArray) -> Segments:
    """Pool pass of ``optimal``: a min-cost flow on a time-expanded network (HiGHS LP).

    Per (pool, SKU) group, over its event days (arrival days and due days, sorted):
    an inventory chain (holding is free; the last node may dispose of surplus), and
    per weight class a backlog chain running backwards in time whose arcs cost
    ``weight x days``. A class's demand sits at its due day on its backlog chain; a
    unit picked up from inventory on a later day pays the days late. Each backlog
    chain ends at the virtual day ``never_day`` fed by an unbounded source: a unit
    never delivered costs ``weight x (never_day - by)``, more than any delivery
    within the horizon. The network has integral data, so a vertex solution is
    integral; it is rounded and checked exactly. Each class's pick-ups then go to the
    class's targets in (by, priority, id) order, and pick-ups take arrived units
    first-in first-out, which never makes a unit later than its pick-up day.
    """
    s = problem.snapshot
    n_sku = len(s.skus)
    rows = _pooled_rows(problem)
    targets = np.flatnonzero(residual > 0).astype(np.int64)
    if rows.size == 0 or targets.size == 0:
        return _concat([])
    row_key = s.org_pool[s.supply_holder[rows]] * n_sku + s.supply_sku[rows]
    tkey = problem.target_pool[targets] * n_sku + s.target_sku[targets]
    shared = np.intersect1d(row_key, tkey)
    rows, row_key = rows[np.isin(row_key, shared)], row_key[np.isin(row_key, shared)]
    keep = np.isin(tkey, shared)
    targets, tkey = targets[keep], tkey[keep]
    if rows.size == 0 or targets.size == 0:
        return _concat([])
    # 1. Build every group's network into one block-diagonal LP.
    rord = np.lexsort((rows, s.supply_day[rows], row_key))
    rows, row_key = rows[rord], row_key[rord]
    tord = np.lexsort((problem.rank[targets], tkey))
    targets, tkey = targets[tord], tkey[tord]
    r_bounds = (
        np.searchsorted(row_key, shared, side="left"),
        np.searchsorted(row_key, shared, side="right"),
    )
    t_bounds = (
        np.searchsorted(tkey, shared, side="left"),
        np.searchsorted(tkey, shared, side="right"),
    )
    a_rows: list[IntArray] = []
    a_cols: list[IntArray] = []
    a_vals: list[FloatArray] = []
    costs: list[FloatArray] = []
    rhs: list[FloatArray] = []
    blocks: list[tuple[int, int, IntArray, FloatArray, IntArray, IntArray]] = []
    n_var = n_con = 0
    for gi in range(shared.size):
        g_rows = rows[r_bounds[0][gi] : r_bounds[1][gi]]
        g_tgts = targets[t_bounds[0][gi] : t_bounds[1][gi]]
        arr_day = s.supply_day[g_rows]
        by = s.target_by[g_tgts]
        ev = np.unique(np.concatenate([arr_day, by]))
        ne = ev.size
        classes, cls = np.unique(s.target_weight[g_tgts], return_inverse=True)
        nc = classes.size
        chain_days = np.r_[ev, problem.never_day]
        # node ids: inventory 0..ne-1; backlog (c, i) = ne + c*(ne+1) + i, i = ne is "never"
        n_nodes = ne + nc * (ne + 1)
        b = np.zeros(n_nodes, dtype=np.float64)
        np.add.at(b, np.searchsorted(ev, arr_day), s.supply_qty[g_rows].astype(np.float64))
        np.add.at(
            b,
            ne + cls * (ne + 1) + np.searchsorted(ev, by),
            -residual[g_tgts].astype(np.float64),
        )
        inv_i = np.arange(ne)
        ci = np.repeat(np.arange(nc), ne)
        ii = np.tile(np.arange(ne), nc)
        # variables: inventory ne | pick nc*ne | backlog nc*ne | source nc
        v_inv = inv_i
        v_pick = ne + np.arange(nc * ne)
        v_back = ne + nc * ne + np.arange(nc * ne)
        v_src = ne + 2 * nc * ne + np.arange(nc)
        nv = ne + 2 * nc * ne + nc
        bl = ne + ci * (ne + 1)  # backlog chain base per (c, i) entry
        r_ = [
            inv_i,
            inv_i[:-1] + 1,
            ii,
            bl + ii,
            bl + ii + 1,
            bl + ii,
            ne + np.arange(nc) * (ne + 1) + ne,
        ]
        c_ = [v_inv, v_inv[:-1], v_pick, v_pick, v_back, v_back, v_src]
        val = [
            np.ones(ne),
            -np.ones(ne - 1),
            np.ones(nc * ne),
            -np.ones(nc * ne),
            np.ones(nc * ne),
            -np.ones(nc * ne),
            -np.ones(nc),
        ]
        cost = np.zeros(nv, dtype=np.float64)
        gaps = np.diff(chain_days).astype(np.float64)  # day_{i+1} - day_i, i = 0..ne-1
        cost[v_back] = classes[ci] * gaps[ii]
        a_rows += [x + n_con for x in r_]
        a_cols += [x + n_var for x in c_]
        a_vals += val
        costs.append(cost)
        rhs.append(b)
        blocks.append((n_var, ne, ev, classes, cls, g_tgts))
        n_var += nv
        n_con += n_nodes
    a_eq = sp.csr_matrix(
        (np.concatenate(a_vals), (np.concatenate(a_rows), np.concatenate(a_cols))),
        shape=(n_con, n_var),
    )
    b_eq = np.concatenate(rhs)
    # 2. Solve; a network LP with integral data has an integral optimal vertex.
    res = linprog(np.concatenate(costs), A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs-ds")  # type: ignore[call-overload]
    if res.status != 0 or res.x is None:
        raise GpuledgerError(f"optimal policy: the LP solver failed ({res.message})")
    x = np.rint(res.x)
    if np.abs(res.x - x).max(initial=0.0) > 1e-6 or np.abs(a_eq @ x - b_eq).max() > 1e-6:
        raise GpuledgerError("optimal policy: the LP solution is not integral; refusing to round")
    # 3. Pick-ups per class go to the class's targets in (by, priority, id) order.
    pk_key: list[IntArray] = []
    pk_day: list[IntArray] = []
    pk_qty: list[IntArray] = []
    dm_key: list[IntArray] = []
    dm_tgt: list[IntArray] = []
    n_cls = 0
    for off, ne, ev, classes, cls, g_tgts in blocks:
        nc = classes.size
        picks = x[off + ne : off + ne + nc * ne].reshape(nc, ne).astype(np.int64)
        pk_key.append(np.repeat(np.arange(nc) + n_cls, ne))
        pk_day.append(np.tile(ev, nc))
        pk_qty.append(picks.ravel())
        o = np.lexsort((problem.rank[g_tgts], s.target_by[g_tgts], cls))
        dm_key.append(cls[o] + n_cls)
        dm_tgt.append(g_tgts[o])
        n_cls += nc
    p_key, p_day, p_qty = np.concatenate(pk_key), np.concatenate(pk_day), np.concatenate(pk_qty)
    d_key, d_tgt = np.concatenate(dm_key), np.concatenate(dm_tgt)
    seg = match(p_key, p_qty, d_key, residual[d_tgt])
    deliv_tgt, deliv_day, deliv_qty = d_tgt[seg.demand], p_day[seg.supply], seg.qty
    # 4. First in, first out: pick-ups in day order take the earliest arrived rows.
    deliv_group = np.searchsorted(shared, tkey_of(problem, deliv_tgt, n_sku))
    o = np.lexsort((problem.rank[deliv_tgt], deliv_day, deliv_group))
    rgroup = np.searchsorted(shared, row_key)
    seg2 = match(rgroup, s.supply_qty[rows], deliv_group[o], deliv_qty[o])
    return Segments(rows[seg2.supply], deliv_tgt[o][seg2.demand], seg2.qty)


def tkey_of(problem: Problem, targets: IntArray, n_sku: int) -> IntArray:
    """The (pool, SKU) key of targets."""
    return problem.target_pool[targets] * n_sku + problem.snapshot.target_sku[targets]


def allocate(problem: Problem, policy: PolicyName) -> Segments:
    """Run the policy's passes and return every (row, target, units) segment."""
    own = own_pass(problem, policy)
    if policy is PolicyName.CONSIGNED:
        return own
    residual = problem.need.copy()
    np.subtract.at(residual, own.demand, own.qty)
    if policy is PolicyName.PRIORITY:
        pool = priority_pass(problem, residual)
    elif policy is PolicyName.FAIR_SHARE:
        pool = fair_share_pass(problem, residual)
    else:
        pool = optimal_pass(problem, residual)
    return _concat([own, pool])
