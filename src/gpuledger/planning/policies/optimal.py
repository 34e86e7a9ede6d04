"""``optimal``: minimise weighted unit-days late, a min-cost flow solved by HiGHS.

1. Own pass: arrived stock fills its holder's family's targets (never pooled).
2. Pool pass: minimises the sum over targets of ``weight x unit-days late`` plus,
   per unit never delivered, ``weight x (never_day - by)`` (more than any delivery
   within the horizon), as a min-cost flow on a time-expanded network with one
   backlog chain per weight class, so the network grows with event days x classes,
   not lots x targets (see :func:`optimal_pass`).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp

from gpuledger.domain import GpuledgerError, PolicyName
from gpuledger.planning._match import Segments, match
from gpuledger.planning.policies._base import (
    ARRIVED_ONLY,
    NOT_ARRIVED,
    OrderedPass,
    Problem,
    concat,
    register,
    run_passes,
    substitute,
)
from gpuledger.planning.snapshot import FloatArray, IntArray


def _pooled_rows(problem: Problem) -> IntArray:
    s = problem.snapshot
    ok = problem.row_ok & np.isin(s.supply_kind, sorted(NOT_ARRIVED))
    return np.flatnonzero(ok).astype(np.int64)


@dataclass(frozen=True)
class _Block:
    """One (pool, SKU) group's network: its LP entries and how to read its solution."""

    rows: IntArray  # constraint (node) index of each matrix entry, within the block
    cols: IntArray  # variable index of each entry, within the block
    vals: FloatArray
    cost: FloatArray  # per variable
    rhs: FloatArray  # per node: supply (+) or demand (-)
    events: IntArray  # the group's event days, sorted
    classes: FloatArray  # the weight classes
    target_class: IntArray  # per target of the group, its class
    targets: IntArray  # the group's targets


def _network(problem: Problem, residual: IntArray, g_rows: IntArray, g_tgts: IntArray) -> _Block:
    """The time-expanded network of one group (see :func:`optimal_pass`).

    Nodes: inventory ``0..ne-1`` on the event days; backlog ``(c, i) = ne + c*(ne+1)
    + i`` per weight class ``c``, ``i = ne`` being the virtual day ``never_day``.
    Variables: inventory arcs ``ne`` | pick-ups ``nc*ne`` | backlog arcs ``nc*ne`` |
    one unbounded source per class.
    """
    s = problem.snapshot
    arr_day, by = s.supply_day[g_rows], s.target_by[g_tgts]
    ev = np.unique(np.concatenate([arr_day, by]))
    ne = ev.size
    classes, cls = np.unique(s.target_weight[g_tgts], return_inverse=True)
    nc = classes.size
    b = np.zeros(ne + nc * (ne + 1), dtype=np.float64)
    np.add.at(b, np.searchsorted(ev, arr_day), s.supply_qty[g_rows].astype(np.float64))
    demand_node = ne + cls * (ne + 1) + np.searchsorted(ev, by)
    np.add.at(b, demand_node, -residual[g_tgts].astype(np.float64))
    inv_i = np.arange(ne)
    ci, ii = np.repeat(np.arange(nc), ne), np.tile(np.arange(ne), nc)
    v_pick = ne + np.arange(nc * ne)
    v_back = ne + nc * ne + np.arange(nc * ne)
    v_src = ne + 2 * nc * ne + np.arange(nc)
    bl = ne + ci * (ne + 1)  # backlog chain base per (c, i) entry
    never = ne + np.arange(nc) * (ne + 1) + ne  # each class's "never" node, fed by its source
    rows = [inv_i, inv_i[:-1] + 1, ii, bl + ii, bl + ii + 1, bl + ii, never]
    cols = [inv_i, inv_i[:-1], v_pick, v_pick, v_back, v_back, v_src]
    signs = [1.0, -1.0, 1.0, -1.0, 1.0, -1.0, -1.0]
    cost = np.zeros(ne + 2 * nc * ne + nc, dtype=np.float64)
    gaps = np.diff(np.r_[ev, problem.never_day]).astype(np.float64)
    cost[v_back] = classes[ci] * gaps[ii]
    return _Block(
        rows=np.concatenate(rows).astype(np.int64),
        cols=np.concatenate(cols).astype(np.int64),
        vals=np.concatenate([np.full(c.size, v) for c, v in zip(cols, signs, strict=True)]),
        cost=cost,
        rhs=b,
        events=ev.astype(np.int64),
        classes=classes,
        target_class=cls.reshape(-1).astype(np.int64),
        targets=g_tgts,
    )


def _solve(blocks: list[_Block]) -> list[IntArray]:
    """Solve every block's LP with HiGHS; each block's pick-ups ``[class, event]``.

    The blocks share nothing, so they are solved apart: consecutive small blocks in
    chunks of about :data:`CHUNK_VARS` variables (one solver call per chunk, which
    costs less than one per tiny block and far less than one LP of every block),
    chunks on :func:`solver_threads` threads when the whole is large enough to pay.

    Raises:
        GpuledgerError: the solver failed, or its vertex is not integral.
    """
    # 1. One block-diagonal matrix (columns) for all blocks; a chunk is a column range.
    var_off = np.cumsum([0] + [b.cost.size for b in blocks])
    con_off = np.cumsum([0] + [b.rhs.size for b in blocks])
    a_eq = sp.csc_matrix(
        (
            np.concatenate([b.vals for b in blocks]),
            (
                np.concatenate([b.rows + con_off[i] for i, b in enumerate(blocks)]),
                np.concatenate([b.cols + var_off[i] for i, b in enumerate(blocks)]),
            ),
        ),
        shape=(int(con_off[-1]), int(var_off[-1])),
    )
    b_eq = np.concatenate([b.rhs for b in blocks])
    cost = np.concatenate([b.cost for b in blocks])
    cuts = _chunks(var_off)
    # 2. Solve the chunks, on threads when the whole is large (see solver_threads).
    ranges = [(int(var_off[a]), int(var_off[b]), int(con_off[a]), int(con_off[b])) for a, b in cuts]
    x = np.empty(cost.size, dtype=np.float64)
    n_threads = solver_threads(cost.size)

    def solve_range(r: tuple[int, int, int, int]) -> None:
        x[r[0] : r[1]] = _solve_lp(a_eq, b_eq, cost, *r)

    if n_threads > 1 and len(ranges) > 1:
        with ThreadPoolExecutor(n_threads) as pool:
            list(pool.map(solve_range, ranges))
    else:
        for r in ranges:
            solve_range(r)
    # 3. A network LP with integral data has an integral optimal vertex: check, never
    #    round blindly.
    xi = np.rint(x)
    if np.abs(x - xi).max(initial=0.0) > 1e-6 or np.abs(a_eq @ xi - b_eq).max() > 1e-6:
        raise GpuledgerError("optimal policy: the LP solution is not integral; refusing to round")
    out = []
    for i, b in enumerate(blocks):
        ne, nc = b.events.size, b.classes.size
        first = int(var_off[i]) + ne
        out.append(xi[first : first + nc * ne].reshape(nc, ne).astype(np.int64))
    return out


# The solver core, not its ``Highs`` subclass: that one prints a banner on stdout when
# built, which would corrupt the CLI's JSON output. Same solver, same options.
_HIGHS = getattr(highspy, "_Highs")  # noqa: B009

CHUNK_VARS = 1_500
"""Consecutive blocks are solved together up to about this many variables."""

PARALLEL_VARS = 50_000
"""Below this many variables in all, one thread: starting threads would cost more."""


def solver_threads(n_vars: int) -> int:
    """Threads to solve ``n_vars`` variables of blocks on (1 when it would not pay)."""
    return 1 if n_vars < PARALLEL_VARS else max(1, min(2, os.cpu_count() or 1))


def _chunks(var_off: IntArray) -> list[tuple[int, int]]:
    """Block ranges ``[a, b)`` of about :data:`CHUNK_VARS` variables (a large block alone)."""
    cuts, a = [], 0
    for b in range(1, var_off.size):
        if var_off[b] - var_off[a] >= CHUNK_VARS or b == var_off.size - 1:
            cuts.append((a, b))
            a = b
    return cuts


def _solve_lp(
    a_eq: sp.csc_matrix, b_eq: FloatArray, cost: FloatArray, v0: int, v1: int, c0: int, c1: int
) -> FloatArray:
    """Solve ``min cost x, A x = b, x >= 0`` on columns ``[v0, v1)``, rows ``[c0, c1)``.

    Raises:
        GpuledgerError: HiGHS did not find an optimum.
    """
    p0, p1 = int(a_eq.indptr[v0]), int(a_eq.indptr[v1])
    n_col, n_row = v1 - v0, c1 - c0
    h = _HIGHS()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("solver", "simplex")
    h.setOptionValue("simplex_strategy", 1)  # dual simplex, as before
    h.passModel(
        n_col,
        n_row,
        p1 - p0,
        1,  # column-wise
        1,  # minimise
        0.0,
        cost[v0:v1],
        np.zeros(n_col),
        np.full(n_col, np.inf),
        b_eq[c0:c1],
        b_eq[c0:c1],
        (a_eq.indptr[v0:v1] - p0).astype(np.int32),
        (a_eq.indices[p0:p1] - c0).astype(np.int32),
        a_eq.data[p0:p1],
        np.zeros(n_col, dtype=np.int32),
    )
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise GpuledgerError(
            f"optimal policy: the LP solver failed ({h.modelStatusToString(status)})"
        )
    sol = np.asarray(h.getSolution().col_value, dtype=np.float64)
    assert sol.size == n_col, "HiGHS returned a solution of the wrong size"
    return sol


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
    # 1. The groups (pool, SKU) that have both pooled rows and open needs.
    rows = _pooled_rows(problem)
    targets = np.flatnonzero(residual > 0).astype(np.int64)
    row_key, tkey = _pool_key_rows(problem, rows), tkey_of(problem, targets)
    shared = np.intersect1d(row_key, tkey)
    rows, row_key = rows[np.isin(row_key, shared)], row_key[np.isin(row_key, shared)]
    targets, tkey = targets[np.isin(tkey, shared)], tkey[np.isin(tkey, shared)]
    if rows.size == 0 or targets.size == 0:
        return concat([])
    rord = np.lexsort((rows, s.supply_day[rows], row_key))
    rows, row_key = rows[rord], row_key[rord]
    tord = np.lexsort((problem.rank[targets], tkey))
    targets, tkey = targets[tord], tkey[tord]
    r_lo, r_hi = np.searchsorted(row_key, shared, "left"), np.searchsorted(row_key, shared, "right")
    t_lo, t_hi = np.searchsorted(tkey, shared, "left"), np.searchsorted(tkey, shared, "right")
    # 2. Every group's network, solved as one LP.
    blocks = [
        _network(problem, residual, rows[r_lo[g] : r_hi[g]], targets[t_lo[g] : t_hi[g]])
        for g in range(shared.size)
    ]
    picks = _solve(blocks)
    # 3. Pick-ups per class go to the class's targets in (by, priority, id) order.
    p_key, p_day, p_qty, d_key, d_tgt = [], [], [], [], []
    n_cls = 0
    for b, pk in zip(blocks, picks, strict=True):
        nc, ne = pk.shape
        p_key.append(np.repeat(np.arange(nc) + n_cls, ne))
        p_day.append(np.tile(b.events, nc))
        p_qty.append(pk.ravel())
        o = np.lexsort((problem.rank[b.targets], s.target_by[b.targets], b.target_class))
        d_key.append(b.target_class[o] + n_cls)
        d_tgt.append(b.targets[o])
        n_cls += nc
    dt = np.concatenate(d_tgt)
    seg = match(np.concatenate(p_key), np.concatenate(p_qty), np.concatenate(d_key), residual[dt])
    deliv_tgt, deliv_day, deliv_qty = dt[seg.demand], np.concatenate(p_day)[seg.supply], seg.qty
    # 4. First in, first out: pick-ups in day order take the earliest arrived rows.
    deliv_group = np.searchsorted(shared, tkey_of(problem, deliv_tgt))
    o = np.lexsort((problem.rank[deliv_tgt], deliv_day, deliv_group))
    rgroup = np.searchsorted(shared, row_key)
    seg2 = match(rgroup, s.supply_qty[rows], deliv_group[o], deliv_qty[o])
    return Segments(rows[seg2.supply], deliv_tgt[o][seg2.demand], seg2.qty)


def _pool_key_rows(problem: Problem, rows: IntArray) -> IntArray:
    """The (pool, SKU) key of supply rows."""
    s = problem.snapshot
    return (s.org_pool[s.supply_holder[rows]] * len(s.skus) + s.supply_sku[rows]).astype(np.int64)


def tkey_of(problem: Problem, targets: IntArray) -> IntArray:
    """The (pool, SKU) key of targets."""
    s = problem.snapshot
    return (problem.target_pool[targets] * len(s.skus) + s.target_sku[targets]).astype(np.int64)


@dataclass(frozen=True)
class Optimal:
    """Own arrived stock by holder, then the pool as a min-cost flow."""

    name: PolicyName = PolicyName.OPTIMAL
    pools_supply: bool = True
    passes: tuple[OrderedPass, ...] | None = None
    own: tuple[OrderedPass, ...] = field(default=(OrderedPass(ARRIVED_ONLY, pooled=False),))

    def allocate(self, problem: Problem) -> Segments:
        """The own pass, then the optimal pool pass on the needs left."""
        own, residual = run_passes(problem, self.own)
        given = concat([own, optimal_pass(problem, residual)])
        return concat([given, substitute(problem, given, self.pools_supply)])


OPTIMAL = register(Optimal())
