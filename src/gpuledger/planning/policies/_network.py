"""The time-expanded network of ``optimal``'s pool pass, for every block at once.

A *block* is what the LP cannot split: within a pool, the SKUs joined by targets
that accept more than their own SKU (a connected component of the graph whose
nodes are the pool's SKUs and whose edges join a target's SKU to each SKU it
accepts). Without ``accepts`` a block is one (pool, SKU). Blocks share nothing,
so their LPs are solved apart; they are laid out one after the other, so each
block is a contiguous range of the LP's variables and constraints.

Per block, over its event days ``0..ne-1`` (the days its rows arrive and its
targets are due, sorted):

- an *inventory chain* per SKU with rows in the block: ``ne`` nodes, holding is
  free, the last arc disposes of surplus;
- per *class* (targets of one block with the same weight and the same SKUs they
  take) a *backlog chain* of ``ne + 1`` nodes running backwards in time, arcs
  costing ``weight x days``, the last node being the virtual day ``never_day``
  fed by an unbounded source;
- a *pick-up* arc from each inventory chain to each class that takes its SKU, on
  every event day from the class's first due day on (a pick-up before any of
  the class's due days could never reach a demand).

Everything is built with NumPy over all blocks, without a loop per block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from gpuledger.planning.policies._base import NOT_ARRIVED, Problem
from gpuledger.planning.snapshot import FloatArray, IntArray

__all__ = ["Network", "build_network", "expand"]


@dataclass(frozen=True)
class Network:
    """The LP ``min cost x, A x = rhs, x >= 0`` of every block, and how to read it.

    Attributes:
        a_eq: the constraint matrix (CSC), block-diagonal.
        var_off: block ``b``'s variables are ``var_off[b]:var_off[b + 1]``.
        con_off: block ``b``'s constraints are ``con_off[b]:con_off[b + 1]``.
        pick_var: the variable of each pick-up arc (per pair and event day).
        pick_class: its class; ``pick_chain``: its inventory chain (a (pool, SKU)
            key); ``pick_day``: its day (an ordinal).
        rows, row_chain: the pooled supply rows and their chain key.
        targets, target_class: the open targets and their class.
    """

    a_eq: sp.csc_matrix
    rhs: FloatArray
    cost: FloatArray
    var_off: IntArray
    con_off: IntArray
    pick_var: IntArray
    pick_class: IntArray
    pick_chain: IntArray
    pick_day: IntArray
    rows: IntArray
    row_chain: IntArray
    targets: IntArray
    target_class: IntArray


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
    # 3. Chains: one per (block, SKU) with rows (a block holds one pool).
    ch_code, row_ch = np.unique(row_blk * n_sku + s.supply_sku[rows], return_inverse=True)
    # 4. Classes: (block, weight, SKUs taken), sorted by block.
    taken = np.zeros((targets.size, n_sku), dtype=np.float64)
    taken[take_pos, take_sku] = 1.0
    cls, tgt_cls = np.unique(
        np.column_stack([tgt_blk, s.target_weight[targets], taken]), axis=0, return_inverse=True
    )
    cl_blk = cls[:, 0].astype(np.int64)
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


def _local(blk_of: IntArray, nb: int) -> tuple[IntArray, IntArray]:
    """Per block the count of entities, and each entity's index within its block."""
    n = np.bincount(blk_of, minlength=nb).astype(np.int64)
    lo = np.cumsum(n) - n
    return n, np.arange(blk_of.size, dtype=np.int64) - lo[blk_of]


@dataclass(frozen=True)
class _Layout:
    """Where each block's nodes and variables sit: per block [chain nodes | backlog
    nodes] and [inventory | pick-up | backlog | source] variables."""

    p: _Parts
    n_ch: IntArray
    ch_l: IntArray
    n_cl: IntArray
    cl_l: IntArray
    n_pr: IntArray
    pr_l: IntArray
    con_off: IntArray
    var_off: IntArray

    @staticmethod
    def of(p: _Parts) -> _Layout:
        """The layout of ``p``'s blocks."""
        ne = p.ne
        n_ch, ch_l = _local(p.ch_blk, p.nb)
        n_cl, cl_l = _local(p.cl_blk, p.nb)
        n_pr, pr_l = _local(p.cl_blk[p.pr_cls], p.nb)
        nodes = n_ch * ne + n_cl * (ne + 1)
        nvars = (n_ch + n_pr + n_cl) * ne + n_cl
        con_off: IntArray = np.r_[0, np.cumsum(nodes)].astype(np.int64)
        var_off: IntArray = np.r_[0, np.cumsum(nvars)].astype(np.int64)
        return _Layout(p, n_ch, ch_l, n_cl, cl_l, n_pr, pr_l, con_off, var_off)

    def chain_node(self, ch: IntArray, i: IntArray) -> IntArray:
        """Node of chain ``ch`` on its block's event ``i``."""
        b = self.p.ch_blk[ch]
        out: IntArray = self.con_off[b] + self.ch_l[ch] * self.p.ne[b] + i
        return out

    def back_node(self, cl: IntArray, i: IntArray) -> IntArray:
        """Node of class ``cl``'s backlog chain on event ``i`` (``ne``: never)."""
        b, ne = self.p.cl_blk[cl], self.p.ne
        out: IntArray = self.con_off[b] + self.n_ch[b] * ne[b] + self.cl_l[cl] * (ne[b] + 1) + i
        return out


def build_network(problem: Problem, residual: IntArray) -> Network | None:
    """The network of every block of the pool pass (module docstring); None when no
    block has both pooled rows and open targets."""
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
    lay = _Layout.of(p)
    # 2. The matrix and costs.
    a_eq, cost, v_pick, pr, ip = _matrix(lay, problem.never_day)
    # 3. Supply at the chains' nodes, demand at the classes' due days.
    rhs = np.zeros(int(lay.con_off[-1]), dtype=np.float64)
    np.add.at(rhs, lay.chain_node(p.row_ch, p.row_ev), s.supply_qty[rows].astype(np.float64))
    np.add.at(rhs, lay.back_node(p.tgt_cls, p.tgt_ev), -residual[targets].astype(np.float64))
    return Network(
        a_eq=a_eq,
        rhs=rhs,
        cost=cost,
        var_off=lay.var_off,
        con_off=lay.con_off,
        pick_var=v_pick,
        pick_class=p.pr_cls[pr],
        pick_chain=p.pr_ch[pr],
        pick_day=p.ev_day[p.ev_lo[p.cl_blk[p.pr_cls[pr]]] + ip],
        rows=rows,
        row_chain=p.row_ch,
        targets=targets,
        target_class=p.tgt_cls,
    )


def _matrix(
    lay: _Layout, never_day: int
) -> tuple[sp.csc_matrix, FloatArray, IntArray, IntArray, IntArray]:
    """The constraint matrix, the costs, and the pick-up variables with their pair
    and event: ``(a_eq, cost, v_pick, pair, event)``."""
    p, ne, var_off = lay.p, lay.p.ne, lay.var_off
    n_ch, n_pr, n_cl = lay.n_ch, lay.n_pr, lay.n_cl
    # 1. Variables: inventory (chain, event), pick-up (pair, event), backlog (class,
    #    event), source (class).
    ch, i = expand(ne[p.ch_blk])
    b = p.ch_blk[ch]
    v_inv = var_off[b] + lay.ch_l[ch] * ne[b] + i
    nxt = i < ne[b] - 1
    pr, ip = expand(ne[p.cl_blk[p.pr_cls]])
    bp = p.cl_blk[p.pr_cls[pr]]
    v_pick = var_off[bp] + n_ch[bp] * ne[bp] + lay.pr_l[pr] * ne[bp] + ip
    cl, ic = expand(ne[p.cl_blk])
    bc = p.cl_blk[cl]
    v_back = var_off[bc] + (n_ch[bc] + n_pr[bc]) * ne[bc] + lay.cl_l[cl] * ne[bc] + ic
    v_src = var_off[p.cl_blk] + (n_ch + n_pr + n_cl)[p.cl_blk] * ne[p.cl_blk] + lay.cl_l
    every_cl = np.arange(p.cl_blk.size, dtype=np.int64)
    # 2. Entries (node, variable, +1 leaving the node / -1 entering it).
    entries = [
        (lay.chain_node(ch, i), v_inv, 1.0),
        (lay.chain_node(ch[nxt], i[nxt] + 1), v_inv[nxt], -1.0),
        (lay.chain_node(p.pr_ch[pr], ip), v_pick, 1.0),
        (lay.back_node(p.pr_cls[pr], ip), v_pick, -1.0),
        (lay.back_node(cl, ic + 1), v_back, 1.0),
        (lay.back_node(cl, ic), v_back, -1.0),
        (lay.back_node(every_cl, ne[p.cl_blk]), v_src, -1.0),
    ]
    a_eq = sp.csc_matrix(
        (
            np.concatenate([np.full(e[1].size, e[2]) for e in entries]),
            (np.concatenate([e[0] for e in entries]), np.concatenate([e[1] for e in entries])),
        ),
        shape=(int(lay.con_off[-1]), int(var_off[-1])),
    )
    # 3. A backlog arc costs weight x the days to the next event (or to never_day).
    cost = np.zeros(int(var_off[-1]), dtype=np.float64)
    at = p.ev_lo[bc] + ic
    last = ic + 1 >= ne[bc]
    next_day = np.where(last, never_day, p.ev_day[np.where(last, at, at + 1)])
    cost[v_back] = p.cl_w[cl] * (next_day - p.ev_day[at])
    return a_eq, cost, v_pick, pr, ip
