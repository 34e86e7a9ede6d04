"""``optimal``: minimise weighted unit-days late, a min-cost flow solved by HiGHS.

1. Own pass: arrived stock fills its holder's family's targets (never pooled), of
   the target's SKU first, then of the SKUs it accepts (the substitution rule of
   every policy, on the holder's own arrived stock only).
2. Pool pass: minimises the sum over targets of ``weight x unit-days late`` plus,
   per unit never delivered, ``weight x (never_day - by)`` (more than any delivery
   within the horizon): a min-cost flow, solved as an LP in cumulative deliveries
   per (class, SKU) and event day (class: targets of one weight taking the same
   SKUs), so the LP grows with event days x classes, not lots x targets (see
   :func:`optimal_pass` and :mod:`._network`). A target that
   accepts other SKUs makes one LP of its pool's SKUs it joins (issue 13): which
   SKU fills which target is part of the optimum, not a substitution afterwards.
   When several plans reach the same objective, which one is returned is the
   solver's choice (*choice*).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import highspy
import numpy as np

from gpuledger.domain import GpuledgerError, PolicyName
from gpuledger.planning._match import Segments, match
from gpuledger.planning.policies._base import (
    ARRIVED_ONLY,
    OrderedPass,
    Problem,
    concat,
    register,
    run_passes,
    substitute,
)
from gpuledger.planning.policies._network import Network, build_network
from gpuledger.planning.snapshot import FloatArray, IntArray


def _solve(net: Network) -> FloatArray:
    """Solve every block's LP with HiGHS; the solution, checked integral.

    The blocks share nothing, so they are solved apart: consecutive small blocks in
    chunks of about :data:`CHUNK_VARS` variables (one solver call per chunk, which
    costs less than one per tiny block and far less than one LP of every block),
    chunks on :func:`solver_threads` threads when the whole is large enough to pay.

    Raises:
        GpuledgerError: the solver failed, or its vertex is not integral.
    """
    # 1. A chunk is a range of blocks, so a range of columns and of rows.
    var_off, con_off = net.var_off, net.con_off
    cuts = _chunks(var_off)
    ranges = [(int(var_off[a]), int(var_off[b]), int(con_off[a]), int(con_off[b])) for a, b in cuts]
    x = np.empty(net.cost.size, dtype=np.float64)
    n_threads = solver_threads(net.cost.size)

    def solve_range(r: tuple[int, int, int, int]) -> None:
        x[r[0] : r[1]] = _solve_lp(net, *r)

    # 2. Solve the chunks, on threads when the whole is large (see solver_threads).
    if n_threads > 1 and len(ranges) > 1:
        with ThreadPoolExecutor(n_threads) as pool:
            list(pool.map(solve_range, ranges))
    else:
        for r in ranges:
            solve_range(r)
    # 3. A totally unimodular LP with integral data has an integral optimal vertex:
    #    check, never round blindly.
    xi = np.rint(x)
    ax = net.a @ xi
    if (
        np.abs(x - xi).max(initial=0.0) > 1e-6
        or np.any(ax < net.row_lo - 1e-6)
        or np.any(ax > net.row_hi + 1e-6)
        or np.any(xi < 0)
        or np.any(xi > net.col_hi)
    ):
        raise GpuledgerError(
            "optimal policy: the LP solution is not integral or breaks a bound; refusing to round"
        )
    return xi


# The solver core, not its ``Highs`` subclass: that one prints a banner on stdout when
# built, which would corrupt the CLI's JSON output. Same solver, same options.
_HIGHS = getattr(highspy, "_Highs")  # noqa: B009

CHUNK_VARS = 800
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


def _solve_lp(net: Network, v0: int, v1: int, c0: int, c1: int) -> FloatArray:
    """Solve the blocks on columns ``[v0, v1)`` and rows ``[c0, c1)`` of ``net``.

    Dual simplex without presolve: the blocks are small and already reduced
    (presolve cost more than it saved, issue 16).

    Raises:
        GpuledgerError: HiGHS did not find an optimum.
    """
    a = net.a
    p0, p1 = int(a.indptr[v0]), int(a.indptr[v1])
    n_col, n_row = v1 - v0, c1 - c0
    h = _HIGHS()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("solver", "simplex")
    h.setOptionValue("simplex_strategy", 1)  # dual simplex
    h.setOptionValue("presolve", "off")
    h.passModel(
        n_col,
        n_row,
        p1 - p0,
        1,  # column-wise
        1,  # minimise
        0.0,
        net.cost[v0:v1],
        np.zeros(n_col),
        net.col_hi[v0:v1],
        net.row_lo[c0:c1],
        net.row_hi[c0:c1],
        (a.indptr[v0:v1] - p0).astype(np.int32),
        (a.indices[p0:p1] - c0).astype(np.int32),
        a.data[p0:p1],
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
    """Pool pass of ``optimal``: a min-cost flow, solved as an LP by HiGHS.

    Per block (a pool's SKUs joined by targets that accept other SKUs; one (pool,
    SKU) without ``accepts``), over its event days (arrival days and due days,
    sorted), the LP of :mod:`._network` chooses how many units of each SKU each
    class (targets of one weight taking the same SKUs) has received by each day,
    never ahead of the class's due needs nor of the SKU's arrivals, minimising the
    classes' weighted backlog over the days up to ``never_day``: the weighted
    unit-days late, plus ``weight x (never_day - by)`` per unit never delivered,
    more than any delivery within the horizon. Its matrix is totally unimodular,
    so the optimal vertex is integral; it is rounded and checked exactly. Each
    class's deliveries (by day) then go to the class's targets in (by, priority,
    id) order, and take arrived units of their SKU first-in first-out, which never
    makes a unit later than its delivery day.
    """
    s = problem.snapshot
    # 1. The LP of every block, solved.
    net = build_network(problem, residual)
    if net is None:
        return concat([])
    x = _solve(net)
    # 2. Deliveries per class, by day, go to the class's targets in (by, priority, id) order.
    p_cls, p_ch, p_day, p_qty = net.deliveries(x)
    po = np.lexsort((p_ch, p_day, p_cls))
    tg = net.targets
    to = np.lexsort((problem.rank[tg], s.target_by[tg], net.target_class))
    seg = match(p_cls[po], p_qty[po], net.target_class[to], residual[tg[to]])
    d_tgt, d_day, d_ch = tg[to][seg.demand], p_day[po][seg.supply], p_ch[po][seg.supply]
    # 3. First in, first out: per chain, pick-ups in day order take the earliest rows.
    do = np.lexsort((problem.rank[d_tgt], d_day, d_ch))
    rows = net.rows
    ro = np.lexsort((rows, s.supply_day[rows], net.row_chain))
    seg2 = match(net.row_chain[ro], s.supply_qty[rows[ro]], d_ch[do], seg.qty[do])
    out = Segments(rows[ro][seg2.supply], d_tgt[do][seg2.demand], seg2.qty)
    assert np.all(s.supply_day[out.supply] <= d_day[do][seg2.demand]), "a unit came late"
    return out


@dataclass(frozen=True)
class Optimal:
    """Own arrived stock by holder, then the pool as a min-cost flow."""

    name: PolicyName = PolicyName.OPTIMAL
    pools_supply: bool = True
    passes: tuple[OrderedPass, ...] | None = None
    own: tuple[OrderedPass, ...] = field(default=(OrderedPass(ARRIVED_ONLY, pooled=False),))

    def allocate(self, problem: Problem) -> Segments:
        """The own pass (own SKU, then accepted SKUs), then the pool as one min-cost
        flow over the SKUs each target takes."""
        own, _ = run_passes(problem, self.own)
        own = concat([own, substitute(problem, own, self.pools_supply, self.own)])
        residual = problem.need - np.bincount(
            own.demand, weights=own.qty, minlength=problem.need.size
        ).astype(np.int64)
        return concat([own, optimal_pass(problem, residual)])


OPTIMAL = register(Optimal())
