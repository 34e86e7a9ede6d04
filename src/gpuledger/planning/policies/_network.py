"""The LP of ``optimal``'s pool pass, for every block at once (cumulative deliveries).

A *block* is what the LP cannot split: within a pool, the SKUs joined by targets
that accept more than their own SKU (a connected component of the graph whose
nodes are the pool's SKUs and whose edges join a target's SKU to each SKU it
accepts). Without ``accepts`` a block is one (pool, SKU). Blocks share nothing,
so their LPs are solved apart; they are laid out one after the other, so each
block is a contiguous range of the LP's variables and constraints.

Per block, over its event days ``0..ne-1`` (the days its rows arrive and its
targets are due, sorted). A *class* is the block's targets of one weight taking
the same SKUs; a *pair* is a class and a SKU it takes. Within a class, units go
to its targets in due order, so what a plan decides is, per pair, ``X[p, i]``:
the units of the SKU delivered to the class by event ``i`` (cumulative). The LP:

- ``X[p, i]`` never decreases (a delivered unit stays delivered);
- ``sum over the class's pairs of X[p, i] <= D[c, i]``, the class's need due by
  event ``i`` (delivering ahead of the due day gains nothing: the unit waits in
  stock for free); a bound when the class takes one SKU;
- ``sum over the SKU's pairs of X[p, i] <= S[k, i]``, the SKU's units arrived by
  event ``i`` (dropped where the classes' needs cannot reach it);
- minimise ``-sum weight x X[p, i] x (days to the next event, or to never_day
  after the last)``: the class's weighted backlog, ``weight x (D - X)``, summed
  over the days, is the weighted unit-days late plus ``weight x (never_day -
  by)`` per unit never delivered, and ``D`` is fixed.

This is the time-expanded min-cost flow of the pool pass written in cumulative
variables: in increments, both families of constraints are prefix sums over
nested sets (a laminar family per SKU and one per class), whose matrix is totally
unimodular, and the prefix-sum map is unimodular, so an optimal vertex is
integral. It has fewer variables and rows than the flow's arcs and nodes, and
HiGHS' dual simplex solves it several times faster (issue 16). Variables before
a class's first due day are 0 and left out. Everything is built with NumPy over
all blocks, without a loop per block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from gpuledger.planning.policies._base import NOT_ARRIVED, Problem
from gpuledger.planning.snapshot import FloatArray, IntArray

__all__ = ["Network", "build_network", "expand"]


@dataclass(frozen=True)
class Network:
    """The LP ``min cost x, row_lo <= A x <= row_hi, 0 <= x <= col_hi`` of every
    block, and how to read its solution.

    Attributes:
        a: the constraint matrix (CSC), block-diagonal.
        var_off: block ``b``'s variables are ``var_off[b]:var_off[b + 1]``.
        con_off: block ``b``'s constraints are ``con_off[b]:con_off[b + 1]``.
        first: per variable, whether it is its pair's first (its increment is itself).
        var_class, var_chain, var_day: per variable, its class, its SKU's chain
            and its event day (an ordinal).
        rows, row_chain: the pooled supply rows and their chain.
        targets, target_class: the open targets and their class.
    """

    a: sp.csc_matrix
    row_lo: FloatArray
    row_hi: FloatArray
    col_hi: FloatArray
    cost: FloatArray
    var_off: IntArray
    con_off: IntArray
    first: npt.NDArray[np.bool_]
    var_class: IntArray
    var_chain: IntArray
    var_day: IntArray
    rows: IntArray
    row_chain: IntArray
    targets: IntArray
    target_class: IntArray

    def deliveries(self, x: FloatArray) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        """``(class, chain, day, units)`` delivered per pair and event (units > 0)."""
        xi = np.rint(x).astype(np.int64)
        inc = xi - np.where(self.first, 0, np.r_[0, xi[:-1]])
        assert np.all(inc >= 0), "a cumulative delivery decreased"
        took = np.flatnonzero(inc > 0)
        return self.var_class[took], self.var_chain[took], self.var_day[took], inc[took]


def expand(counts: IntArray) -> tuple[IntArray, IntArray]:
    """``(owner, i)`` for every ``i < counts[owner]``, owners in order."""
    total = int(counts.sum())
    owner = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    start = np.cumsum(counts) - counts
    return owner, np.arange(total, dtype=np.int64) - start[owner]


def _takes(problem: Problem, targets: IntArray) -> tuple[IntArray, IntArray]:
    """``(target position, SKU)`` for each SKU a target takes: its own first, then the
    SKUs it accepts."""
    s = problem.snapshot
    pos, sku = [np.arange(targets.size, dtype=np.int64)], [s.target_sku[targets]]
    acc = s.target_accepts
    if acc is not None and acc.shape[1]:
        a = acc[targets]
        t_i, j = np.nonzero(a >= 0)
        pos.append(t_i.astype(np.int64))
        sku.append(a[t_i, j])
    return np.concatenate(pos), np.concatenate(sku).astype(np.int64)


def _components(
    row_key: IntArray, take_pos: IntArray, take_key: IntArray, n_targets: int
) -> tuple[IntArray, IntArray]:
    """Component label of each row's (pool, SKU) key and of each target's own key.

    ``take_key[:n_targets]`` are the targets' own keys; the rest join a target's own
    key (``take_pos``) to a key it accepts.
    """
    keys, inv = np.unique(np.concatenate([row_key, take_key]), return_inverse=True)
    inv = inv.reshape(-1).astype(np.int64)
    r_k, t_k = inv[: row_key.size], inv[row_key.size :]
    own_k = t_k[:n_targets]
    if take_key.size > n_targets:  # some target accepts another SKU: join the keys
        graph = sp.coo_matrix(
            (np.ones(t_k.size), (own_k[take_pos], t_k)), shape=(keys.size, keys.size)
        ).tocsr()
        label = connected_components(graph, directed=False)[1].astype(np.int64)
    else:
        label = np.arange(keys.size, dtype=np.int64)
    return label[r_k], label[own_k]


@dataclass(frozen=True)
class _Parts:
    """The entities of every block, each sorted by block (so blocks are contiguous)."""

    nb: int
    ne: IntArray  # per block: event days
    ev_lo: IntArray  # per block: its first event in ev_day
    ev_day: IntArray  # per event (block-major): the day
    ch_blk: IntArray  # per chain
    cl_blk: IntArray  # per class
    cl_w: FloatArray  # per class: weight
    pr_cls: IntArray  # per (class, chain) pair
    pr_ch: IntArray
    row_ch: IntArray  # per row: its chain
    row_ev: IntArray  # per row: its event (local to its block)
    tgt_cls: IntArray  # per target: its class
    tgt_ev: IntArray  # per target: its due day's event (local)


def _parts(
    problem: Problem, rows: IntArray, targets: IntArray
) -> tuple[_Parts, IntArray, IntArray]:
    """Blocks, events, chains, classes and pairs; also the rows and targets kept."""
    s = problem.snapshot
    n_sku = len(s.skus)
    # 1. Blocks: components of (pool, SKU) keys, kept when they have rows and targets.
    row_key = (s.org_pool[s.supply_holder[rows]] * n_sku + s.supply_sku[rows]).astype(np.int64)
    take_pos, take_sku = _takes(problem, targets)
    take_key = (problem.target_pool[targets][take_pos] * n_sku + take_sku).astype(np.int64)
    row_c, tgt_c = _components(row_key, take_pos, take_key, targets.size)
    kept = np.intersect1d(row_c, tgt_c)
    r_ok, t_ok = np.isin(row_c, kept), np.isin(tgt_c, kept)
    rows, row_key, row_blk = rows[r_ok], row_key[r_ok], np.searchsorted(kept, row_c[r_ok])
    t_new = np.cumsum(t_ok) - 1
    keep_take = t_ok[take_pos]
    take_pos, take_sku = t_new[take_pos[keep_take]], take_sku[keep_take]
    targets, tgt_blk = targets[t_ok], np.searchsorted(kept, tgt_c[t_ok])
    nb = kept.size
    # 2. Event days per block, block-major.
    days = np.concatenate([s.supply_day[rows], s.target_by[targets]]).astype(np.int64)
    d0 = int(days.min(initial=0))
    span = int(days.max(initial=0)) - d0 + 1
    code = np.concatenate([row_blk, tgt_blk]) * span + (days - d0)
    ev_code = np.unique(code)
    ne = np.bincount(ev_code // span, minlength=nb).astype(np.int64)
    ev_lo = np.cumsum(ne) - ne
    ev_local = np.searchsorted(ev_code, code) - ev_lo[code // span]
    # 3. Classes: (block, weight, SKUs taken), sorted by block.
    taken = np.zeros((targets.size, n_sku), dtype=np.float64)
    taken[take_pos, take_sku] = 1.0
    cls, tgt_cls = np.unique(
        np.column_stack([tgt_blk, s.target_weight[targets], taken]), axis=0, return_inverse=True
    )
    cl_blk = cls[:, 0].astype(np.int64)
    # 4. Chains: one per (block, group of SKUs taken by the same classes) with rows.
    row_sku = _sku_groups(cl_blk, cls[:, 2:] > 0, row_blk, s.supply_sku[rows])
    ch_code, row_ch = np.unique(row_blk * n_sku + row_sku, return_inverse=True)
    # 5. Pairs: each class with each chain of its block whose SKU it takes.
    ch_blk = (ch_code // n_sku).astype(np.int64)
    ch_lo = np.searchsorted(ch_blk, np.arange(nb))
    n_ch = np.bincount(ch_blk, minlength=nb)
    pr_cls, j = expand(n_ch[cl_blk])
    pr_ch = ch_lo[cl_blk[pr_cls]] + j
    useful = cls[pr_cls, 2 + ch_code[pr_ch] % n_sku] > 0
    parts = _Parts(
        nb=nb,
        ne=ne,
        ev_lo=ev_lo.astype(np.int64),
        ev_day=(ev_code % span + d0).astype(np.int64),
        ch_blk=ch_blk,
        cl_blk=cl_blk,
        cl_w=cls[:, 1].astype(np.float64),
        pr_cls=pr_cls[useful],
        pr_ch=pr_ch[useful],
        row_ch=row_ch.reshape(-1).astype(np.int64),
        row_ev=ev_local[: rows.size].astype(np.int64),
        tgt_cls=tgt_cls.reshape(-1).astype(np.int64),
        tgt_ev=ev_local[rows.size :].astype(np.int64),
    )
    return parts, rows, targets


def _sku_groups(
    cl_blk: IntArray, taken: npt.NDArray[np.bool_], row_blk: IntArray, row_sku: IntArray
) -> IntArray:
    """Each row's SKU, or the first SKU of its block that the same classes take.

    SKUs that exactly the same classes take are interchangeable: any delivery
    plan over their sum splits into one over each, first in first out, so they
    share one inventory chain and the LP does not grow with them (issue 16: every
    target accepting every SKU made the LP several times larger). Without
    ``accepts`` a block has one SKU, and nothing changes.
    """
    out = row_sku.copy()
    n_sku = taken.shape[1]
    code = np.unique(row_blk * n_sku + row_sku)
    blk = code // n_sku
    multi = np.unique(blk[1:][blk[1:] == blk[:-1]])
    if multi.size == 0:
        return out
    cl_lo = np.searchsorted(cl_blk, multi, "left")
    cl_hi = np.searchsorted(cl_blk, multi, "right")
    by_blk = np.argsort(row_blk, kind="stable")
    r_lo = np.searchsorted(row_blk[by_blk], multi, "left")
    r_hi = np.searchsorted(row_blk[by_blk], multi, "right")
    for i, b in enumerate(multi.tolist()):
        skus = code[blk == b] % n_sku
        cols = taken[cl_lo[i] : cl_hi[i]][:, skus].T  # per SKU: which classes take it
        _, first, inv = np.unique(cols, axis=0, return_index=True, return_inverse=True)
        rep = skus[first[inv.reshape(-1)]]
        mine = by_blk[r_lo[i] : r_hi[i]]
        out[mine] = rep[np.searchsorted(skus, row_sku[mine])]
    return out


def _local(blk_of: IntArray, nb: int) -> tuple[IntArray, IntArray]:
    """Per block the count of entities, and each entity's index within its block."""
    n = np.bincount(blk_of, minlength=nb).astype(np.int64)
    lo = np.cumsum(n) - n
    return n, np.arange(blk_of.size, dtype=np.int64) - lo[blk_of]


def _cumulative(owner_ne: IntArray, owner: IntArray, ev: IntArray, qty: IntArray) -> IntArray:
    """Per owner (chain or class) and event, the running total of ``qty`` by that event;
    flat, owner-major, ``owner_ne[o]`` events each."""
    off = np.cumsum(owner_ne) - owner_ne
    flat = np.bincount(off[owner] + ev, weights=qty, minlength=int(owner_ne.sum()))
    run = np.cumsum(flat)
    before = np.r_[0.0, run][off]
    out: IntArray = np.rint(run - np.repeat(before, owner_ne)).astype(np.int64)
    return out


def build_network(problem: Problem, residual: IntArray) -> Network | None:
    """The LP of every block of the pool pass (module docstring); None when no block
    has both pooled rows and open targets."""
    s = problem.snapshot
    # 1. Pooled rows, open targets, and the parts of every block.
    ok = problem.row_ok & np.isin(s.supply_kind, sorted(NOT_ARRIVED))
    rows = np.flatnonzero(ok).astype(np.int64)
    targets = np.flatnonzero(residual > 0).astype(np.int64)
    if rows.size == 0 or targets.size == 0:
        return None
    p, rows, targets = _parts(problem, rows, targets)
    if p.nb == 0:
        return None
    ne = p.ne
    # 2. Running supply per chain and need per class, by event.
    ch_ne, cl_ne = ne[p.ch_blk], ne[p.cl_blk]
    supply = _cumulative(ch_ne, p.row_ch, p.row_ev, s.supply_qty[rows])
    need = _cumulative(cl_ne, p.tgt_cls, p.tgt_ev, residual[targets])
    ch_off, cl_off = np.cumsum(ch_ne) - ch_ne, np.cumsum(cl_ne) - cl_ne
    first_due = np.full(p.cl_blk.size, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_due, p.tgt_cls, p.tgt_ev)
    # 3. Variables X[pair, i] for i from the class's first due event, pair-major.
    pr_b = p.cl_blk[p.pr_cls]
    var_pair, j = expand(ne[pr_b] - first_due[p.pr_cls])
    var_cls, var_ch = p.pr_cls[var_pair], p.pr_ch[var_pair]
    var_ev = first_due[var_cls] + j
    var_blk = p.cl_blk[var_cls]
    d_var = need[cl_off[var_cls] + var_ev]
    s_var = supply[ch_off[var_ch] + var_ev]
    at = p.ev_lo[var_blk] + var_ev
    last = var_ev + 1 >= ne[var_blk]
    gap = np.where(last, problem.never_day, p.ev_day[np.where(last, at, at + 1)]) - p.ev_day[at]
    cost = -p.cl_w[var_cls] * gap
    n_pr_of_cls = np.bincount(p.pr_cls, minlength=p.cl_blk.size)
    col_hi = np.minimum(d_var, s_var).astype(np.float64)
    # 4. Constraints, each with its block: monotone, SKU supply, class need.
    a, row_lo, row_hi, con_off = _constraints(
        p.nb, var_pair, var_ch, var_cls, var_ev, var_blk, d_var, s_var, n_pr_of_cls
    )
    var_off = np.r_[0, np.cumsum(np.bincount(var_blk, minlength=p.nb))].astype(np.int64)
    return Network(
        a=a,
        row_lo=row_lo,
        row_hi=row_hi,
        col_hi=col_hi,
        cost=cost.astype(np.float64),
        var_off=var_off,
        con_off=con_off,
        first=j == 0,
        var_class=var_cls,
        var_chain=var_ch,
        var_day=p.ev_day[at],
        rows=rows,
        row_chain=p.row_ch,
        targets=targets,
        target_class=p.tgt_cls,
    )


def _constraints(
    nb: int,
    var_pair: IntArray,
    var_ch: IntArray,
    var_cls: IntArray,
    var_ev: IntArray,
    var_blk: IntArray,
    d_var: IntArray,
    s_var: IntArray,
    n_pr_of_cls: IntArray,
) -> tuple[sp.csc_matrix, FloatArray, FloatArray, IntArray]:
    """The rows (matrix, bounds, per-block offsets), grouped by block."""
    n_var = var_pair.size
    v = np.arange(n_var, dtype=np.int64)
    # 1. Monotone: X[p, i] - X[p, i - 1] >= 0 (entries on v and v - 1).
    mono = np.flatnonzero((v > 0) & (var_pair == np.r_[-1, var_pair[:-1]]))
    # 2. SKU supply per (chain, event): kept where the needs of the classes taking
    #    the SKU exceed what has arrived (otherwise the bounds already imply it).
    grp_s, s_inv = np.unique(var_ch * (var_ev.max() + 1) + var_ev, return_inverse=True)
    s_inv = s_inv.reshape(-1)
    s_need = np.bincount(s_inv, weights=d_var)
    s_cap = np.zeros(grp_s.size)
    s_cap[s_inv] = s_var
    s_cnt = np.bincount(s_inv)
    keep_s = (s_need > s_cap) & (s_cnt > 1)
    sv = np.flatnonzero(keep_s[s_inv])
    # 3. Class need per (class, event) for classes taking more than one SKU.
    multi = np.flatnonzero(n_pr_of_cls[var_cls] > 1)
    grp_d, d_inv = np.unique(
        var_cls[multi] * (var_ev.max() + 1) + var_ev[multi], return_inverse=True
    )
    d_inv = d_inv.reshape(-1)
    d_cap = np.zeros(grp_d.size)
    d_cap[d_inv] = d_var[multi]
    # 4. Rows in one numbering, then regrouped by block.
    s_row = np.cumsum(keep_s) - 1
    n_mono, n_s = mono.size, int(keep_s.sum())
    r_ent = np.r_[
        np.arange(n_mono), np.arange(n_mono), n_mono + s_row[s_inv[sv]], n_mono + n_s + d_inv
    ]
    c_ent = np.r_[mono, mono - 1, sv, multi]
    val = np.r_[np.ones(n_mono), -np.ones(n_mono), np.ones(sv.size), np.ones(multi.size)]
    row_blk = np.r_[
        var_blk[mono], np.zeros(n_s, dtype=np.int64), np.zeros(grp_d.size, dtype=np.int64)
    ]
    row_blk[n_mono + s_row[s_inv[sv]]] = var_blk[sv]
    row_blk[n_mono + n_s + d_inv] = var_blk[multi]
    lo = np.r_[np.zeros(n_mono), np.full(n_s + grp_d.size, -np.inf)]
    hi = np.r_[np.full(n_mono, np.inf), s_cap[keep_s], d_cap]
    order = np.argsort(row_blk, kind="stable")
    new_of = np.empty_like(order)
    new_of[order] = np.arange(order.size)
    a = sp.csc_matrix((val, (new_of[r_ent], c_ent)), shape=(order.size, n_var))
    con_off = np.r_[0, np.cumsum(np.bincount(row_blk, minlength=nb))].astype(np.int64)
    return a, lo[order], hi[order], con_off
