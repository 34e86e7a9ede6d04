"""``fair-share``: each day's pooled arrivals split by weighted max-min fairness.

1. Own pass: arrived stock fills its holder's family's targets (never pooled).
2. Pool pass: at each arrival day, per (pool, SKU), the units arriving that day
   are split among the targets whose need is still open: each gets
   ``min(weight x level, remaining need)`` with the level chosen so the shares sum
   to the units (water-filling, as Kueue and Slurm share running capacity), or
   everyone gets its full need when the units suffice. Fractional shares are
   rounded by largest remainder, ties by priority then id. Units nobody needs that
   day stay with their holder (*choice*: no carry-over).

Arithmetic is exact (issue 12, item 8): weights are read as the decimals they are
written as (``Fraction(repr(w))``: 0.1 is 1/10), scaled to integers by their
common denominator, and every share, level and remainder is an integer or a
ratio of integers, so no tie is decided by float noise. A weight <= 0 gets units
only once every positive-weight target of its group is capped; such targets then
share what is left equally (*choice*, the limit of a vanishing weight).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from gpuledger.domain import PolicyName
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

# Integer products stay below this bound on the int64 path; beyond it, Python ints.
_INT64_SAFE = 2**62

AnyIntArray = npt.NDArray[Any]  # int64, or object holding Python ints


def exact_weights(weights: FloatArray) -> AnyIntArray:
    """Weights as integers with the same ratios: ``w x lcm(denominators)``, 0 if w <= 0.

    Each weight is the decimal it prints as (``repr``), so 0.1, 0.2 and 0.3 become
    1, 2 and 3. Returns int64 when small enough, else an object array of ints.
    """
    uniq, inv = np.unique(weights, return_inverse=True)
    fracs = [Fraction(repr(float(w))) if w > 0 else Fraction(0) for w in uniq.tolist()]
    scale = math.lcm(*(f.denominator for f in fracs)) if fracs else 1
    ints = [int(f * scale) for f in fracs]
    out = np.array(ints, dtype=object)[inv.reshape(-1)]
    if max(ints, default=0) < 2**31:
        return out.astype(np.int64)
    return out


def _group_sum(values: AnyIntArray, starts: IntArray) -> AnyIntArray:
    """Sums of consecutive runs starting at ``starts`` (exact for int64 and Python ints)."""
    return np.add.reduceat(values, starts) if values.size else values


def _levels(
    starts: IntArray, counts: IntArray, need: AnyIntArray, w: AnyIntArray, amount: AnyIntArray
) -> tuple[npt.NDArray[np.bool_], AnyIntArray, AnyIntArray]:
    """Water-filling per group: who is capped, and each group's level as ``left / wsum``.

    Members with ``w == 0`` take no part. A member is capped when its need fits
    under its share at the current level (``need x wsum <= w x left``); removing
    it can only raise the level, so capping repeats until nothing changes.
    """
    capped = w == 0
    while True:
        free = ~capped
        wsum = _group_sum(np.where(free, w, 0), starts)
        left = amount - _group_sum(np.where(capped & (w > 0), need, 0), starts)
        new = free & (need * np.repeat(wsum, counts) <= w * np.repeat(left, counts))
        if not new.any():
            return capped, left, wsum
        capped = capped | new


def _fill(
    starts: IntArray,
    counts: IntArray,
    need: AnyIntArray,
    w: AnyIntArray,
    amount: AnyIntArray,
    tie: IntArray,
) -> AnyIntArray:
    """Integral max-min shares of ``amount`` per group (members sorted by group).

    Capped members get their need; the others ``w x left / wsum``, floored, plus one
    unit for the largest remainders (compared exactly: one denominator per group),
    ties by ``tie`` (the rank by priority then id).
    """
    capped, left, wsum = _levels(starts, counts, need, w, amount)
    part = w > 0
    free = part & ~capped
    num = w * np.repeat(left, counts)
    den = np.repeat(np.where(wsum > 0, wsum, 1), counts)
    base = np.where(free, num // den, np.where(part, need, 0))
    rem = np.where(free, num % den, -1)
    # 1. units left by the floors, per group
    total_need = _group_sum(np.where(part, need, 0), starts)
    short = np.minimum(amount, total_need) - _group_sum(base, starts)
    # 2. largest remainder first (exact: one denominator per group), then tie
    if rem.dtype == object:  # Python ints: rank them (lexsort needs fixed-width keys)
        rem = np.unique(rem, return_inverse=True)[1].reshape(-1)
    g = np.repeat(np.arange(starts.size), counts)
    order = np.lexsort((tie, -rem, g))
    pos = np.empty(g.size, dtype=np.int64)
    pos[order] = np.arange(g.size) - np.repeat(starts, counts)
    extra = free & (pos < np.repeat(short, counts).astype(np.int64))
    return base + extra


def _water_fill(
    group: IntArray, need: IntArray, w: AnyIntArray, tie: IntArray, amount: IntArray, kind: Any
) -> IntArray:
    """Shares of ``amount[group]`` units, positive weights first, then the rest equally.

    ``group`` must be sorted; ``kind`` is ``np.int64`` when every product fits in it,
    else ``object`` (Python ints).
    """
    new_group = np.flatnonzero(group[1:] != group[:-1]) + 1
    starts = np.concatenate(([0], new_group)).astype(np.int64)
    counts = np.diff(np.concatenate((starts, [group.size]))).astype(np.int64)
    n, wk = need.astype(kind), w.astype(kind)
    a = amount[group[starts]].astype(kind)
    give = _fill(starts, counts, n, wk, a, tie)
    rest = a - _group_sum(give, starts)
    zero = wk == 0
    if zero.any() and (rest > 0).any():
        give = give + _fill(starts, counts, n, zero.astype(kind), rest, tie)
    return np.asarray(give, dtype=np.int64)


def fair_share_pass(problem: Problem, residual: IntArray) -> Segments:
    """Pool pass of ``fair-share``: exact weighted max-min per arrival day."""
    s = problem.snapshot
    n_sku = len(s.skus)
    rows = np.flatnonzero(problem.row_ok & np.isin(s.supply_kind, sorted(NOT_ARRIVED)))
    targets = np.flatnonzero(residual > 0).astype(np.int64)
    if rows.size == 0 or targets.size == 0:
        return concat([])
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
    weight = exact_weights(s.target_weight[targets])
    tie = np.lexsort((problem.idrank[targets], s.target_priority[targets]))
    tie_rank = np.empty(targets.size, dtype=np.int64)
    tie_rank[tie] = np.arange(targets.size)
    arriving = np.zeros(groups.size, dtype=np.int64)
    # products of needs, weights and amounts fit in int64 on real fleets; else Python ints
    w_max, w_sum = int(np.max(weight, initial=0)), int(np.sum(weight, initial=0))
    big = int(remaining.max(initial=0)) * (w_sum + targets.size) + w_max * int(
        ev_amount.max(initial=0)
    )
    kind: Any = np.int64 if big < _INT64_SAFE else object
    shares: list[tuple[IntArray, IntArray, IntArray]] = []
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
                tie_rank[active],
                arriving,
                kind,
            )
            got = give > 0
            if got.any():
                who = active[got]
                remaining[who] -= give[got]
                ev_of_group = np.full(groups.size, -1, dtype=np.int64)
                ev_of_group[g_today] = ev
                shares.append((ev_of_group[tgt_group[who]], targets[who], give[got]))
        arriving[g_today] = 0
    if not shares:
        return concat([])
    # 3. Within each event, rows (in row order) fill the shares (in (priority, id) order).
    se, st, sq = (np.concatenate(x) for x in zip(*shares, strict=True))
    so = np.lexsort((problem.rank[st], se))
    ro = np.lexsort((rows, ev_index))
    seg = match(ev_index[ro], s.supply_qty[rows[ro]], se[so], sq[so])
    return Segments(rows[ro][seg.supply], st[so][seg.demand], seg.qty)


def _pair_index(pairs: IntArray, a: IntArray, b: IntArray) -> IntArray:
    """Index of each (a, b) in the sorted unique ``pairs`` array."""
    span = int(max(int(pairs[:, 1].max()), int(b.max()))) + 1
    keys = pairs[:, 0] * span + pairs[:, 1]
    return np.searchsorted(keys, a * span + b).astype(np.int64)


@dataclass(frozen=True)
class FairShare:
    """Own arrived stock by holder, then each day's pooled arrivals by max-min fairness."""

    name: PolicyName = PolicyName.FAIR_SHARE
    pools_supply: bool = True
    passes: tuple[OrderedPass, ...] | None = None
    own: tuple[OrderedPass, ...] = field(default=(OrderedPass(ARRIVED_ONLY, pooled=False),))

    def allocate(self, problem: Problem) -> Segments:
        """The own pass, then the fair-share pool pass on the needs left."""
        own, residual = run_passes(problem, self.own)
        given = concat([own, fair_share_pass(problem, residual)])
        return concat([given, substitute(problem, given, self.pools_supply)])


FAIR_SHARE = register(FairShare())
